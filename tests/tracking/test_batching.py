"""Curves go in log_batch chunks of at most 1000 metrics, with step = epoch."""

from gdlab.tracking.batching import curve_metrics, log_metrics, log_params


class CountingClient:
    def __init__(self):
        self.calls = []

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=True):
        self.calls.append((len(metrics), len(params), len(tags)))


def test_chunks_of_at_most_1000():
    curves = {"train_loss": [1.0] * 1200, "val_loss": [2.0] * 1200, "grad_norm": [None] * 5}
    metrics = curve_metrics(curves, timestamp_ms=1)
    assert len(metrics) == 2400
    assert [m.step for m in metrics[:3]] == [0, 1, 2]
    client = CountingClient()
    assert log_metrics(client, "r", metrics) == 3
    assert [c[0] for c in client.calls] == [1000, 1000, 400]


def test_params_in_chunks_of_100():
    client = CountingClient()
    assert log_params(client, "r", {f"p{i}": i for i in range(250)}) == 3
    assert max(c[1] for c in client.calls) == 100


def test_run_data_goes_in_as_few_batches_as_the_limits_allow(tmp_path):
    """Tags, params and metrics of one run share a log_batch; beyond 100 params or 1000
    entities the rest goes in further calls, and nothing is lost."""
    from mlflow.entities import Metric

    from gdlab.tracking.batching import log_run_data
    from gdlab.tracking.runs import connect, ensure_experiment

    client = connect(f"sqlite:///{tmp_path / 'm.db'}")
    run = client.create_run(ensure_experiment(client, "batch", tmp_path)).info.run_id
    calls = []
    original = client.log_batch
    client.log_batch = lambda *a, **k: calls.append(k) or original(*a, **k)
    metrics = [Metric("loss", float(i), 0, i) for i in range(950)]
    params = {f"p{i:03d}": i for i in range(120)}
    n = log_run_data(client, run, params=params, tags={"a": 1, "none": None}, metrics=metrics)
    assert n == len(calls) == 2
    assert [len(c["params"]) for c in calls] == [100, 20]
    assert sum(len(c["params"]) + len(c["tags"]) + len(c["metrics"]) for c in calls) == 1071
    assert all(len(c["params"]) + len(c["tags"]) + len(c["metrics"]) <= 1000 for c in calls)
    data = client.get_run(run).data
    assert data.params == {k: str(v) for k, v in params.items()} and data.tags["a"] == "1"
    assert "none" not in data.tags
    assert len(client.get_metric_history(run, "loss")) == 950


class RecordingClient:
    def __init__(self):
        self.params, self.tags = {}, {}

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=True):
        self.params.update({p.key: p.value for p in params})
        self.tags.update({t.key: t.value for t in tags})


def test_a_password_inside_a_longer_param_or_tag_value_is_redacted():
    """A value that only holds a URI was redacted; one that quoted a URI among other words
    (a message, a list of stores) went to MLflow with the password."""
    from gdlab.tracking.batching import log_run_data

    secret = "s3cret-Pa55"
    values = {
        "whole": f"http://alice:{secret}@tracking.example:5000",
        "quoted": f"cannot reach http://alice:{secret}@tracking.example:5000/api, retrying",
        "two": f"from postgresql://u:{secret}@db/ml to https://bob:{secret}@h/x?token=abc",
        "plain": "sgd with lr 0.1 (see https://example.org/docs)",
        # a database URL first: read as one URI it re-rendered (percent-encoded) what follows
        "db_first": f"postgresql://u:{secret}@db/ml and https://bob:{secret}@h/x",
        "listed": f"http://u:{secret}@h,http://v:{secret}@h;http://w:{secret}@h",
        "after_token": f"http://h/x?token=abc and later words http://u:{secret}@h2",
        "comma_in_password": "http://u:pa,ss;w0rd@h:5000",
    }
    client = RecordingClient()
    log_run_data(client, "r", params=values, tags=values)
    for logged in (client.params, client.tags):
        assert secret not in str(logged) and "token=abc" not in str(logged)
        assert logged["whole"] == "http://alice:***@tracking.example:5000"
        assert logged["quoted"] == (
            "cannot reach http://alice:***@tracking.example:5000/api, retrying"
        )
        assert logged["two"] == "from postgresql://u:***@db/ml to https://bob:***@h/x?token=***"
        assert logged["plain"] == values["plain"]
        assert logged["db_first"] == "postgresql://u:***@db/ml and https://bob:***@h/x"
        assert logged["listed"] == "http://u:***@h,http://v:***@h;http://w:***@h"
        assert logged["after_token"] == "http://h/x?token=*** and later words http://u:***@h2"
        assert logged["comma_in_password"] == "http://u:***@h:5000"

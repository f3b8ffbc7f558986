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

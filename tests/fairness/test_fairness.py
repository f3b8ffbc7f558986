"""Issue 6, point 6: fairness by group in evaluate and its gate on registration.

The report's numbers are fairlearn's (MetricFrame by group; demographic parity and equalized
odds differences) and agree with a direct computation; evaluate writes them as DVC metrics
(``reports/fairness.json``) and MLflow metrics with a by-group figure; a threshold that is
exceeded keeps the model from becoming champion, with the reason in ``reports/registry.json``
and on the MLflow run.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from gdlab.config import ConfigError, validate_params
from gdlab.reporting.fairness import (
    classification_fairness,
    fairness_report,
    regression_fairness,
)
from tests.reliability.harness import REPO, assert_succeeded, make_project


def synthetic(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n)
    y = (rng.random(n) < np.where(group == "a", 0.3, 0.6)).astype(int)
    pred = np.where(rng.random(n) < np.where(group == "c", 0.6, 0.85), y, 1 - y)
    return y, pred, group


def test_classification_metrics_by_group_are_fairlearns_and_correct():
    y, pred, group = synthetic()
    report = classification_fairness(y, pred, group, classes=[0, 1], sensitive_name="g")
    for g in ("a", "b", "c"):
        yt, yp = y[group == g], pred[group == g]
        assert report.group_sizes[g] == len(yt)
        assert report.by_group["accuracy"][g] == pytest.approx(np.mean(yt == yp))
        assert report.by_group["selection_rate"][g] == pytest.approx(np.mean(yp == 1))
        assert report.by_group["true_positive_rate"][g] == pytest.approx(np.mean(yp[yt == 1]))
        assert report.by_group["false_positive_rate"][g] == pytest.approx(np.mean(yp[yt == 0]))
    diffs = report.differences
    assert diffs["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=group)
    )
    assert diffs["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=group)
    )
    rates = report.by_group["selection_rate"].values()
    assert diffs["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates))
    assert report.overall["accuracy"] == pytest.approx(np.mean(y == pred))


def test_positive_label_picks_the_favourable_class():
    y, pred, group = synthetic()
    labels = np.array(["no", "yes"])
    report = classification_fairness(
        labels[y], labels[pred], group, classes=["no", "yes"], positive_label="no"
    )
    assert report.positive_label == "no"
    assert report.by_group["selection_rate"]["a"] == pytest.approx(np.mean(pred[group == "a"] == 0))
    with pytest.raises(ValueError, match=r"fairness\.positive_label: 'maybe' is not a class"):
        classification_fairness(
            labels[y], labels[pred], group, classes=["no", "yes"], positive_label="maybe"
        )


def test_regression_error_metrics_by_group_and_gate():
    rng = np.random.default_rng(1)
    group = rng.choice(["a", "b"], size=400)
    y = rng.normal(size=400)
    pred = y + rng.normal(size=400) * np.where(group == "a", 0.1, 0.5)
    report = regression_fairness(y, pred, group, thresholds={"error_difference": 0.1})
    mae = {g: np.mean(np.abs(y - pred)[group == g]) for g in ("a", "b")}
    assert report.by_group["mae"] == pytest.approx(mae)
    assert report.differences["error_difference"] == pytest.approx(abs(mae["a"] - mae["b"]))
    rmse = {g: np.sqrt(np.mean(((y - pred) ** 2)[group == g])) for g in ("a", "b")}
    assert report.by_group["rmse"] == pytest.approx(rmse)
    assert report.differences["rmse_difference"] == pytest.approx(abs(rmse["a"] - rmse["b"]))
    means = {g: np.mean(pred[group == g]) for g in ("a", "b")}
    assert report.by_group["mean_prediction"] == pytest.approx(means)
    assert report.group_sizes == {g: int(np.sum(group == g)) for g in ("a", "b")}
    assert not report.passed and report.violations[0].startswith("error_difference ")


@pytest.mark.parametrize("value", ["n/a/", "x/..", "a//b", "../../escape", "./x"])
def test_a_group_with_slashes_gives_metric_names_mlflow_accepts(value):
    """A sensitive value is data: "n/a/" or "x/.." made a metric name MLflow refuses ("Names
    may be treated as files"), so evaluate died with an MlflowException after writing its
    reports."""
    from mlflow.utils.validation import _validate_metric_name

    rng = np.random.default_rng(2)
    group = rng.choice(["b", value], size=200)
    y = rng.normal(size=200)
    report = regression_fairness(y, y + 0.1, group, thresholds={"error_difference": 0.1})
    names = report.mlflow_metrics()
    per_group = sum(len(groups) for groups in report.by_group.values())
    assert len(names) == len(report.differences) + per_group  # no two groups on one name
    for name in names:
        _validate_metric_name(name)
        assert "/" not in name


def test_groups_that_clean_to_the_same_text_keep_their_own_metric_names():
    """'a/b' and 'a_b' both became 'fairness_mae.a_b': one group's values overwrote the
    other's in MLflow."""
    rng = np.random.default_rng(3)
    long = "x" * 70
    group = rng.choice(["a/b", "a_b", long, long + "y"], size=400)
    y = rng.normal(size=400)
    error = np.where(group == "a/b", 0.1, 0.0)
    report = regression_fairness(y, y + error, group, thresholds={"error_difference": 1.0})
    names = report.mlflow_metrics()
    per_group = sum(len(groups) for groups in report.by_group.values())
    assert len(names) == len(report.differences) + per_group
    assert names["fairness_mae.a_b"] == 0.0  # a value kept as it is keeps its plain name
    slashed = [k for k in names if k.startswith("fairness_mae.a_b-")]
    assert len(slashed) == 1 and names[slashed[0]] == pytest.approx(0.1)


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_fairness_figure_numeric_groups_legible_and_legend_off_the_bars(kept, tmp_path):
    """diabetes' ``sex`` column holds -0.044641636506989144 and 0.05068011873981862: their full
    text ran into each other under the bars, and the "overall" legend (lower right) sat on
    the bars."""
    from gdlab.reporting.fairness import fairness_figure

    rng = np.random.default_rng(3)
    group = rng.choice(["-0.044641636506989144", "0.05068011873981862"], size=300)
    y = rng.normal(150.0, 70.0, size=300)
    report = regression_fairness(y, y + rng.normal(0, 50.0, size=300), group,
                                 sensitive_name="sex")
    fairness_figure(report, tmp_path / "f.png")
    (fig,) = kept
    fig.canvas.draw()
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticklabels() if t.get_text()]
        assert [t.get_text().split("\n")[0] for t in ticks] == ["-0.04464", "0.05068"]
        boxes = [t.get_window_extent() for t in ticks]
        assert not _overlap(*boxes), [t.get_text() for t in ticks]
        legend = ax.get_legend().get_window_extent()
        for bar in ax.patches:
            assert not _overlap(legend, bar.get_window_extent()), ax.get_title()


def test_fairness_figure_many_long_group_names_do_not_overlap(kept, tmp_path):
    from gdlab.reporting.fairness import fairness_figure

    rng = np.random.default_rng(0)
    names = ["African-American", "Caucasian", "Hispanic", "Asian", "Native American", "Other"]
    group = rng.choice(names, 600)
    y = rng.integers(0, 2, 600)
    report = classification_fairness(y, 1 - y, group, classes=[0, 1], positive_label=None)
    fairness_figure(report, tmp_path / "f.png")
    (fig,) = kept
    fig.canvas.draw()
    for ax in fig.axes:
        boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
        assert len(boxes) == len(names)
        assert not any(_overlap(a, b) for a, b in zip(boxes, boxes[1:], strict=False))
        assert all(box.y0 >= fig.bbox.y0 for box in boxes)  # none cut at the bottom


def test_fairness_figure_keeps_group_names_that_would_read_alike(kept, tmp_path):
    from gdlab.reporting.fairness import fairness_figure

    group = np.repeat(["0.100000001", "0.1000000002"], 50)
    y = np.arange(100.0)
    report = regression_fairness(y, y + 1.0, group)
    fairness_figure(report, tmp_path / "f.png")
    ticks = [t.get_text().split("\n")[0] for t in kept[0].axes[0].get_xticklabels()]
    assert ticks == list(report.group_sizes)  # both 0.1 at 4 digits: written out in full


def test_a_difference_equal_to_its_maximum_passes_the_gate():
    """The thresholds are maxima (``fairness.max_*``): a difference equal to one passes, the
    next float above it fails. (Comparing with >= blocked a model sitting exactly on the
    configured maximum.)"""
    y, pred, group = synthetic()
    measured = classification_fairness(y, pred, group, classes=[0, 1]).differences
    for name in ("demographic_parity_difference", "equalized_odds_difference"):
        value = measured[name]
        assert 0 < value < 1
        at = classification_fairness(y, pred, group, classes=[0, 1], thresholds={name: value})
        assert at.passed and at.violations == [] and at.gate_status == "passed"
        below = math.nextafter(value, 0.0)
        over = classification_fairness(y, pred, group, classes=[0, 1], thresholds={name: below})
        assert not over.passed and over.violations[0].startswith(f"{name} ")
        assert over.gate_reason.startswith("fairness gate failed on ")
    rng = np.random.default_rng(4)
    groups = rng.choice(["a", "b"], size=300)
    target = rng.normal(size=300)
    guess = target + np.where(groups == "a", 0.2, 0.5)
    error = regression_fairness(target, guess, groups).differences["error_difference"]
    at = regression_fairness(target, guess, groups, thresholds={"error_difference": error})
    assert at.passed
    over = regression_fairness(
        target, guess, groups, thresholds={"error_difference": math.nextafter(error, 0.0)}
    )
    assert not over.passed


def test_an_undefined_difference_fails_the_gate():
    y = np.array([0, 0, 0, 1, 1, 0])
    pred = np.array([0, 1, 0, 1, 0, 0])
    group = np.array(["a", "a", "a", "b", "b", "b"])  # group a has no positives: TPR undefined
    report = classification_fairness(
        y, pred, group, classes=[0, 1], thresholds={"equalized_odds_difference": 0.5}
    )
    assert math.isnan(report.by_group["true_positive_rate"]["a"])
    assert report.violations == [
        "equalized_odds_difference is undefined (a group lacks the rows to measure it)"
    ]


class Echo:
    """A fitted classifier stand-in: predicts the first column (0/1) of X."""

    classes_ = np.array([0, 1])

    def predict(self, X):
        return np.asarray(X)[:, 0].astype(int)


def gender_split():
    """Test rows of female/male (both classes in each), and training rows with one more group
    no test row has: ``intersex``, one row."""
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    X = np.array([[0], [1], [1], [1], [0], [0], [0], [1]])
    test = np.array(["female"] * 4 + ["male"] * 4, dtype=object)
    train = np.array(["female"] * 30 + ["male"] * 28 + ["intersex"], dtype=object)
    return X, y, test, train


def test_a_training_group_without_test_rows_is_recorded_and_fails_the_gate():
    """A group of the training rows that the test split lacks was silently left out: the
    difference over the other groups passed the gate and the model became champion (while one
    test row of that group failed it as undefined). Now the report names it with its training
    rows and a configured gate fails as undefined, as for a group without positives."""
    X, y, test, train = gender_split()
    config = validate_params({"fairness": {"max_equalized_odds_difference": 1.0}}).fairness
    report = fairness_report(Echo(), X, y, test, task="classification", config=config,
                             sensitive_name="gender", train_sensitive=train)
    assert report.differences["equalized_odds_difference"] <= 1.0  # the other groups pass
    assert report.groups_not_evaluated == {"intersex": 1}
    assert report.document()["groups_not_evaluated"] == {"intersex": 1}
    assert report.document()["group_sizes"] == {"female": 4, "male": 4}
    assert report.violations == [
        "equalized_odds_difference is undefined (no test rows of training group 'intersex' "
        "to measure it)"
    ]
    assert report.gate_status == "failed" and report.document()["gate"]["passed"] is False
    # without a gate nothing fails, but the group is still named
    loose = validate_params({"fairness": {"max_equalized_odds_difference": None}}).fairness
    ungated = fairness_report(Echo(), X, y, test, task="classification", config=loose,
                              sensitive_name="gender", train_sensitive=train)
    assert ungated.gate_status == "not configured"
    assert ungated.groups_not_evaluated == {"intersex": 1}
    # regression: the same rule
    target = np.linspace(0.0, 1.0, 8)
    regression = regression_fairness(
        target, target + 0.1, test, thresholds={"error_difference": 10.0},
        not_evaluated={"intersex": 1},
    )
    assert regression.violations == [
        "error_difference is undefined (no test rows of training group 'intersex' to measure it)"
    ]


def test_fairness_figure_names_the_groups_not_evaluated(tmp_path, monkeypatch):
    from gdlab.reporting import fairness

    titles = []
    monkeypatch.setattr(fairness, "save_figure",
                        lambda fig, path: titles.append(fig._suptitle.get_text()))
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    group = np.array(["female"] * 4 + ["male"] * 4)
    for missing in ({"intersex": 1}, {}):
        report = classification_fairness(y, y, group, classes=[0, 1], sensitive_name="gender",
                                         not_evaluated=missing)
        fairness.fairness_figure(report, tmp_path / "f.png")
    assert "not evaluated, no test rows: intersex (1 training row)" in titles[0]
    assert "not evaluated" not in titles[1]


def test_every_training_group_in_the_test_split_leaves_the_report_unchanged():
    X, y, test, train = gender_split()
    train = train[train != "intersex"]
    config = validate_params({"fairness": {"max_equalized_odds_difference": 1.0}}).fairness
    args = (Echo(), X, y, test)
    kwargs = {"task": "classification", "config": config, "sensitive_name": "gender"}
    with_train = fairness_report(*args, **kwargs, train_sensitive=train)
    assert with_train.groups_not_evaluated == {}
    assert with_train.passed and with_train.gate_status == "passed"
    assert with_train.document() == fairness_report(*args, **kwargs).document()


def test_fairness_thresholds_in_the_schema():
    with pytest.raises(ConfigError, match=r"fairness\.max_demographic_parity_difference"):
        validate_params({"fairness": {"max_demographic_parity_difference": 1.5}})
    # a gate of the other task, or data without a sensitive column, does not block switching
    gates = {"max_equalized_odds_difference": 0.2, "max_error_difference": 0.5}
    assert validate_params({"data": {"source": "breast_cancer"}, "fairness": gates})
    regression = validate_params({"model": {"task": "regression"}, "fairness": gates})
    assert regression.fairness.thresholds("regression") == {"error_difference": 0.5}
    assert regression.fairness.thresholds("classification") == {"equalized_odds_difference": 0.2}


def test_evaluate_writes_dvc_and_mlflow_fairness_metrics_and_a_figure(baseline):
    document = json.loads((baseline.root / "reports/fairness.json").read_text())
    assert document["enabled"] and document["sensitive"] == "group"
    assert set(document["by_group"]) == {
        "accuracy",
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
    }
    assert set(document["by_group"]["accuracy"]) == {"0", "1"}
    assert {"demographic_parity_difference", "equalized_odds_difference"} <= set(
        document["differences"]
    )
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    declared = [next(iter(m)) for m in stages["evaluate"]["metrics"]]
    assert "reports/fairness.json" in declared  # `dvc metrics show` reads it
    figure = baseline.root / "reports/figures/fairness_by_group.png"
    import matplotlib.image

    pixels = matplotlib.image.imread(figure)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 600

    handle = json.loads((baseline.root / "models/run.json").read_text())
    client = baseline.client()
    run = client.get_run(handle["run_id"])
    metrics = run.data.metrics
    for name in ("demographic_parity_difference", "equalized_odds_difference"):
        assert metrics[f"fairness_{name}"] == pytest.approx(document["differences"][name])
    assert metrics["fairness_selection_rate.1"] == pytest.approx(
        document["by_group"]["selection_rate"]["1"]
    )
    assert run.data.tags["gdlab.fairness_gate"] == "passed"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"fairness.json", "model_card.md", "figures"} <= artifacts
    figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert "figures/fairness_by_group.png" in figures


def test_positive_label_that_is_no_class_fails_evaluate_clearly(untouched):
    untouched.write_params({"fairness": {"positive_label": "yes"}})
    result = untouched.stage("evaluate")
    assert result.code == 1 and "fairness.positive_label: 'yes' is not a class" in result.err


def test_gate_keeps_the_model_from_champion_and_records_why(tmp_path):
    tight = {
        "fairness": {
            "max_demographic_parity_difference": 0.01,
            "max_equalized_odds_difference": None,
        },
        "register": {"model_name": "gdlab-gate"},
    }
    project = make_project(tmp_path / "gate", tight)
    client = project.client()

    # 1. the first version fails the gate: registered, but there is no champion at all
    assert_succeeded(project.repro())
    registry = json.loads((project.root / "reports/registry.json").read_text())
    assert registry["registered"] and registry["version"] == "1"
    assert not registry["promoted"] and registry["champion"] is None
    assert registry["reason"].startswith(
        "fairness gate failed on 'group': demographic_parity_difference "
    )
    assert registry["fairness_gate"]["passed"] is False
    assert "champion" not in client.get_registered_model("gdlab-gate").aliases
    run = client.get_run(registry["run_id"])
    assert run.data.tags["gdlab.fairness_gate"] == "failed"
    assert run.data.tags["gdlab.promoted"] == "false"
    assert run.data.tags["gdlab.promotion_reason"] == registry["reason"]
    assert "> 0.01" in run.data.tags["gdlab.fairness_reason"]
    # the version spells the gate as the run does (it read 'False')
    assert client.get_model_version("gdlab-gate", "1").tags["gdlab.fairness_gate"] == "failed"

    # 2. without the gate, a weak model (a few small steps) becomes the first champion (at
    # 1e-4 its intercept, started at the class prior, outweighs its weights: it predicts one
    # class for every row, which no gate on predictions can fail; 1e-3 keeps it weak but
    # reading the features)
    good_optimizer = dict(project.base["optimizer"])
    project.base["fairness"]["max_demographic_parity_difference"] = None
    project.base["optimizer"]["learning_rate"] = 1e-3
    project.write_params()
    assert_succeeded(project.repro())
    assert str(client.get_model_version_by_alias("gdlab-gate", "champion").version) == "2"

    # 3. a better model that fails the gate does not displace it
    project.base["fairness"]["max_demographic_parity_difference"] = 0.01
    project.base["optimizer"] = good_optimizer
    project.write_params()
    assert_succeeded(project.repro())
    registry = json.loads((project.root / "reports/registry.json").read_text())
    assert registry["version"] == "3" and not registry["promoted"]
    assert registry["reason"].startswith("fairness gate failed")
    assert registry["value"] < registry["previous_value"]  # it would have won on log_loss
    assert str(client.get_model_version_by_alias("gdlab-gate", "champion").version) == "2"
    assert str(client.get_model_version_by_alias("gdlab-gate", "challenger").version) == "3"
    # ... and the champion, promoted without the gate, is flagged when it fails it too
    assert registry["champion_review"].startswith(
        "champion v2 fails today's fairness gate too: demographic_parity_difference ")
    assert "> 0.01; it keeps the alias" in registry["champion_review"]
    review = client.get_model_version("gdlab-gate", "2").tags["gdlab.fairness_review"]
    assert review == registry["champion_review"]


def people_csv(n: int = 200, seed: int = 3) -> str:
    """``gender`` female/male, two features and a 0/1 target; row 1 is ``intersex``."""
    rng = np.random.default_rng(seed)
    lines = ["gender,x1,x2,y"]
    for i in range(n):
        x1, x2 = rng.normal(size=2)
        y = int(x1 + 0.5 * rng.normal() > 0)
        gender = "intersex" if i == 1 else ("female", "male")[i % 2]
        lines.append(f"{gender},{x1:.6f},{x2:.6f},{y}")
    return "\n".join(lines) + "\n"


def test_a_group_only_in_the_training_split_fails_the_gate_in_the_pipeline(tmp_path):
    """One ``intersex`` row that the split put in training: evaluate left the group out of
    fairness.json, the gate passed and register promoted the model; the card said every metric
    was reported for each group. Now fairness.json and MLflow name it, the gate fails and the
    model is registered without becoming champion; a champion promoted without the gate is
    flagged by the review."""
    project = make_project(tmp_path / "people", {
        "data": {"source": "csv", "path": "raw/people.csv", "target": "y", "sensitive": "gender",
                 "pii": {"drop": [], "pseudonymise": []}},
        "fairness": {"max_demographic_parity_difference": None,
                     "max_equalized_odds_difference": None},
        "register": {"model_name": "gdlab-people"},
    })
    (project.root / "raw").mkdir()
    (project.root / "raw" / "people.csv").write_text(people_csv())
    client = project.client()

    # 1. no gate: promoted, but the group is named in fairness.json, MLflow and the card
    assert_succeeded(project.repro())
    train = pd.read_parquet(project.root / "data/prepared/train.parquet")
    assert (train["sensitive"] == "intersex").sum() == 1  # the split put it in training
    document = json.loads((project.root / "reports/fairness.json").read_text())
    assert set(document["group_sizes"]) == {"female", "male"}
    assert document["groups_not_evaluated"] == {"intersex": 1}
    registry = json.loads((project.root / "reports/registry.json").read_text())
    assert registry["promoted"] and registry["fairness_gate"]["status"] == "not configured"
    assert client.get_run(registry["run_id"]).data.metrics["fairness_groups_not_evaluated"] == 1
    card = (project.root / "reports/model_card.md").read_text()
    assert "**Groups not evaluated:** `intersex` (1 training row)" in card
    assert "for each group of `gender` as well as overall" not in card

    # 2. a gate the groups with test rows pass: undefined for the missing group, not champion
    project.base["fairness"]["max_equalized_odds_difference"] = 1.0
    project.write_params()
    assert_succeeded(project.repro())
    document = json.loads((project.root / "reports/fairness.json").read_text())
    assert document["differences"]["equalized_odds_difference"] <= 1.0
    assert document["gate"]["passed"] is False
    assert document["gate"]["violations"] == [
        "equalized_odds_difference is undefined (no test rows of training group 'intersex' "
        "to measure it)"
    ]
    registry = json.loads((project.root / "reports/registry.json").read_text())
    assert registry["version"] == "2" and not registry["promoted"]
    assert registry["reason"].startswith("fairness gate failed on 'gender': ")
    assert str(client.get_model_version_by_alias("gdlab-people", "champion").version) == "1"
    assert registry["champion_review"] == (
        "champion v1 fails today's fairness gate too: equalized_odds_difference undefined "
        "(1 group of the training rows had no test rows); it keeps the alias until a version "
        "passes"
    )


def test_without_a_sensitive_column_fairness_is_not_measured_and_does_not_gate(tmp_path):
    project = make_project(
        tmp_path / "plain",
        {"data": {"synthetic": {"sensitive_group": False}}, "register": {"model_name": "plain"}},
    )
    assert_succeeded(project.repro())
    document = json.loads((project.root / "reports/fairness.json").read_text())
    assert document["enabled"] is False and "no sensitive column" in document["reason"]
    assert (project.root / "reports/figures/fairness_by_group.png").stat().st_size > 1000
    registry = json.loads((project.root / "reports/registry.json").read_text())
    assert registry["promoted"] and registry["fairness_gate"] == {"status": "not measured"}
    client = project.client()
    run = client.get_run(registry["run_id"])
    assert run.data.tags["gdlab.fairness_gate"] == "not measured"
    version = client.get_model_version("plain", registry["version"])
    assert version.tags["gdlab.fairness_gate"] == "not measured"  # it read 'True'
    # register run by hand without evaluate's fairness.json fails closed (it took the gate as
    # passed) and registers nothing
    fairness = (project.root / "reports/fairness.json").read_text()
    (project.root / "reports/fairness.json").unlink()
    result = project.stage("register")
    assert result.code == 1 and "fairness.json is missing: run evaluate first" in result.err
    assert len(client.search_model_versions("name='plain'")) == 1
    # ... and so does it without train's run.json, with a message, not a traceback
    (project.root / "reports/fairness.json").write_text(fairness)
    (project.root / "models/run.json").unlink()
    result = project.stage("register")
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert "run.json is missing: run the train stage first" in result.err
    assert len(client.search_model_versions("name='plain'")) == 1
    card = (project.root / "reports/model_card.md").read_text()
    assert "was **not** evaluated" in card


def test_fairness_figure_draws_every_rate_on_one_zero_to_one_scale(kept, tmp_path):
    """Accuracy and TPR panels ran to ~1.2 (headroom for a legend) and each rate had its own
    range, so an FPR gap of 0.05 looked as large as a selection-rate gap of 0.3."""
    from gdlab.reporting.fairness import CLASSIFICATION_METRICS, fairness_figure

    rng = np.random.default_rng(0)
    group = rng.choice(["a", "b"], 600)
    y = rng.integers(0, 2, 600)
    y_pred = np.where(rng.random(600) < 0.8, y, 1 - y)
    report = classification_fairness(y, y_pred, group, classes=[0, 1], positive_label=None)
    fairness_figure(report, tmp_path / "f.png")
    (fig,) = kept
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == [
        m.replace("_", " ") for m in CLASSIFICATION_METRICS]
    for ax in fig.axes:
        assert ax.get_ylim() == (0.0, 1.0) and ax.get_legend() is None
    title = fig._suptitle.get_text()
    assert "(dashed line: overall)" in title
    shown = {k.replace("_", " "): v for k, v in report.differences.items()}
    for name, value in shown.items():  # every difference with three decimals
        assert f"{name} {value:.3f}" in title


@pytest.mark.parametrize(("classes", "positive"), [([0, 1], 1), (list(range(10)), 9),
                                                   (["no", "yes", "maybe"], "no")])
def test_fairness_figure_names_the_class_its_rates_count(kept, tmp_path, classes, positive):
    """A 10-class model's panels read "selection rate", "true positive rate" (0.50 / 0.56):
    nothing said they were class 9 against the rest (only fairness.json's positive_label)."""
    from gdlab.reporting.fairness import fairness_figure

    rng = np.random.default_rng(1)
    group = rng.choice(["a", "b"], 400)
    y = rng.choice(classes, 400)
    report = classification_fairness(y, rng.choice(classes, 400), group, classes=classes,
                                     positive_label=None if positive == classes[-1] else positive,
                                     sensitive_name="group")
    if positive == classes[-1] and len(classes) > 2:  # one-vs-rest: the worst class shown
        positive = report.worst_class["equalized_odds_difference"]
    assert report.positive_label == positive
    fairness_figure(report, tmp_path / "f.png")
    (fig,) = kept
    named = f"class {positive} as positive"
    titles = {ax.get_title().split("\n")[0]: ax.get_title() for ax in fig.axes}
    for rate in ("selection rate", "true positive rate", "false positive rate"):
        assert named in titles[rate]
    assert titles["accuracy"] == "accuracy"  # accuracy counts every class
    assert named in fig._suptitle.get_text()


def test_fairness_line_says_metrics_were_measured_when_only_the_gate_is_unset():
    """evaluate printed "fairness not configured" for a run whose group metrics were measured
    and drawn: only the gate's thresholds were null."""
    y, pred, group = synthetic()
    ungated = classification_fairness(y, pred, group, classes=[0, 1], sensitive_name="group")
    line = ungated.status_line
    assert line.startswith("measured by group of 'group' and drawn; no fairness gate set")
    assert "fairness.max_demographic_parity_difference" in line
    assert "fairness.max_equalized_odds_difference" in line and "not configured" not in line
    regression = regression_fairness(y * 1.0, pred * 1.0, group, sensitive_name="group")
    assert "(fairness.max_error_difference: null)" in regression.status_line
    gated = classification_fairness(y, pred, group, classes=[0, 1],
                                     thresholds={"equalized_odds_difference": 1.0})
    assert gated.status_line == "gate passed"
    from gdlab.reporting.fairness import disabled

    assert disabled("classification", "no sensitive column").status_line == (
        "not measured (no sensitive column)")


def labelled(groups: dict[str, dict[str, tuple[int, int, str]]]):
    """Test rows built from ``{group: {class: (rows, predicted right, predicted else as)}}``."""
    y, pred, group = [], [], []
    for g, classes in groups.items():
        for label, (rows, right, wrong_as) in classes.items():
            y += [label] * rows
            pred += [label] * right + [wrong_as] * (rows - right)
            group += [g] * rows
    return np.array(y, dtype=object), np.array(pred, dtype=object), np.array(group, dtype=object)


ANIMALS = ["cat", "dog", "eel", "fox", "gnu"]


def test_a_rare_class_with_few_rows_per_group_does_not_fail_the_gate_alone():
    """5 imbalanced classes, a sensitive column unrelated to anything: the gate judged only the
    last class, 'gnu', from 9 rows per group (TPR 0 against 0.33), and blocked promotion on
    that noise although each group had 300 test rows."""
    common = {"cat": (180, 162, "dog"), "dog": (60, 54, "cat"), "eel": (36, 32, "cat"),
              "fox": (15, 15, "cat")}
    y, pred, group = labelled({"north": {**common, "gnu": (9, 0, "cat")},
                               "south": {**common, "gnu": (9, 3, "cat")}})
    gnu = equalized_odds_difference(y == "gnu", pred == "gnu", sensitive_features=group)
    assert gnu > 0.2  # the gap the old gate failed on
    report = classification_fairness(y, pred, group, classes=ANIMALS, sensitive_name="region",
                                     thresholds={"equalized_odds_difference": 0.2})
    assert report.passed, report.violations
    assert report.per_class["gnu"]["equalized_odds_difference"] == pytest.approx(gnu)
    assert report.per_class["gnu"]["test_rows_of_class"] == {"north": 9, "south": 9}
    assert not report.per_class["gnu"]["enough_rows"]
    assert not report.per_class["fox"]["enough_rows"]
    assert all(report.per_class[c]["enough_rows"] for c in ("cat", "dog", "eel"))
    judged = max(equalized_odds_difference(y == c, pred == c, sensitive_features=group)
                 for c in ("cat", "dog", "eel"))
    assert report.differences["equalized_odds_difference"] == pytest.approx(judged)
    assert "'gnu' 0.333 (too few rows, not judged)" in report.class_line
    assert report.document()["per_class"]["gnu"]["enough_rows"] is False


def test_a_disparity_on_a_well_populated_class_fails_the_gate_naming_it():
    """Three classes, 'dog' recalled 95% in group a and 50% in b: the gate judged only 'eel'
    (the last class, treated alike in both groups) and passed the model."""
    y, pred, group = labelled({
        "a": {"cat": (100, 90, "eel"), "dog": (60, 57, "cat"), "eel": (40, 36, "cat")},
        "b": {"cat": (100, 90, "eel"), "dog": (60, 30, "cat"), "eel": (40, 36, "cat")},
    })
    dog = equalized_odds_difference(y == "dog", pred == "dog", sensitive_features=group)
    eel = equalized_odds_difference(y == "eel", pred == "eel", sensitive_features=group)
    assert dog > 0.2 > eel
    report = classification_fairness(y, pred, group, classes=["cat", "dog", "eel"],
                                     sensitive_name="g",
                                     thresholds={"equalized_odds_difference": 0.2})
    assert report.differences["equalized_odds_difference"] == pytest.approx(dog)
    assert report.positive_label == report.worst_class["equalized_odds_difference"] == "dog"
    assert report.by_group["true_positive_rate"] == pytest.approx({"a": 0.95, "b": 0.5})
    (violation,) = report.violations
    assert violation.startswith(f"equalized_odds_difference {dog:.4g} > 0.2 (class 'dog', ")
    assert report.gate_reason.startswith("fairness gate failed on 'g'")
    explicit = classification_fairness(y, pred, group, classes=["cat", "dog", "eel"],
                                       positive_label="eel",
                                       thresholds={"equalized_odds_difference": 0.2})
    assert explicit.passed and explicit.positive_label == "eel"  # a named class is judged
    assert explicit.differences["equalized_odds_difference"] == pytest.approx(eel)


def test_a_binary_gate_on_few_positive_rows_says_so():
    """Two classes, 7 and 12 positive rows in groups of 300: the gate still judges them (as it
    judges a small group) but its message said nothing of the noise the gap may be."""
    y, pred, group = labelled({"north": {0: (293, 280, 1), 1: (7, 0, 0)},
                               "south": {0: (288, 275, 1), 1: (12, 4, 0)}})
    gap = equalized_odds_difference(y == 1, pred == 1, sensitive_features=group)
    report = classification_fairness(y, pred, group, classes=[0, 1],
                                     thresholds={"equalized_odds_difference": 0.2})
    assert report.differences["equalized_odds_difference"] == pytest.approx(gap)
    assert report.violations == [
        f"equalized_odds_difference {gap:.4g} > 0.2 (class 1: group 'north' has 7 test rows of "
        "class 1; group 'south' has 12 test rows of class 1, fewer than "
        "fairness.min_group_size 30, so the gap may be noise)"]
    enough = classification_fairness(y, pred, group, classes=[0, 1], min_group_size=7,
                                     thresholds={"equalized_odds_difference": 0.2})
    assert enough.violations == [f"equalized_odds_difference {gap:.4g} > 0.2"]  # as before


def test_fairness_figure_one_vs_rest_title_fits_and_names_each_differences_class(kept, tmp_path):
    """The one-vs-rest figure's title ran off both edges of the figure."""
    from gdlab.reporting.fairness import fairness_figure

    common = {"cat": (180, 162, "dog"), "dog": (60, 54, "cat"), "eel": (36, 32, "cat"),
              "fox": (15, 15, "cat")}
    y, pred, group = labelled({"north": {**common, "gnu": (9, 0, "cat")},
                               "south": {**common, "gnu": (9, 3, "cat")}})
    report = classification_fairness(y, pred, group, classes=ANIMALS, sensitive_name="region",
                                     thresholds={"equalized_odds_difference": 0.2})
    fairness_figure(report, tmp_path / "f.png")
    (fig,) = kept
    title = fig._suptitle
    box = title.get_window_extent(fig.canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width
    text = title.get_text()
    shown = report.positive_label
    assert f"class {shown} as positive (worst equalized odds of 5 classes one-vs-rest)" in text
    dp = report.differences["demographic_parity_difference"]
    assert f"demographic parity difference {dp:.3f}" in text
    report.worst_class["demographic_parity_difference"] = "gnu"  # another class's gap: named
    fairness_figure(report, tmp_path / "g.png")
    title = kept[-1]._suptitle
    assert f"demographic parity difference {dp:.3f} (class gnu)" in title.get_text()
    box = title.get_window_extent(kept[-1].canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= kept[-1].bbox.width


def _few_rows_of_every_class():
    """Three classes, 20 test rows of each per group (fewer than min_group_size 30), 'c'
    recalled 90% in north and 40% in south: no class has enough rows to be judged."""
    return labelled({"north": {"a": (20, 18, "b"), "b": (20, 18, "a"), "c": (20, 18, "a")},
                     "south": {"a": (20, 18, "b"), "b": (20, 18, "a"), "c": (20, 8, "a")}})


def test_when_no_class_has_enough_rows_the_log_says_every_class_was_judged_on_few():
    """The gate judged every class and failed on 'c', while the log line said "'c' 0.5 (too
    few rows, not judged)": it now says they were judged on few rows."""
    y, pred, group = _few_rows_of_every_class()
    report = classification_fairness(y, pred, group, classes=["a", "b", "c"],
                                     sensitive_name="region", min_group_size=30,
                                     thresholds={"equalized_odds_difference": 0.2})
    gaps = {c: equalized_odds_difference(y == c, pred == c, sensitive_features=group)
            for c in "abc"}
    worst = max(gaps, key=gaps.get)
    assert worst == "c" and gaps["c"] > 0.2
    assert not report.passed and report.worst_class["equalized_odds_difference"] == "c"
    assert "not judged" not in report.class_line
    assert f"'c' {gaps['c']:.3g} (few rows, judged: may be noise)" in report.class_line
    assert report.judged_on_few_rows
    # no gate set: nothing was judged, and the line does not say it was
    ungated = classification_fairness(y, pred, group, classes=["a", "b", "c"],
                                      sensitive_name="region", min_group_size=30,
                                      thresholds=None)
    assert not ungated.judged_on_few_rows and "judged: may be noise" not in ungated.class_line

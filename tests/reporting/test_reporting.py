"""DVC metrics documents, per-fold curve files and the loss figure."""

import csv
import json
import math

from gdlab.experiment import CVResult, FoldResult
from gdlab.reporting import (
    cv_document,
    loss_curves_figure,
    metrics_document,
    read_json,
    write_fold_curves,
    write_json,
)


def _cv():
    return CVResult(
        task="regression",
        folds=[
            FoldResult(
                fold=k,
                n_train=8,
                n_val=2,
                n_iter=3 + k,
                curves={
                    "train_loss": [1.0 / (e + 1) for e in range(3 + k)],
                    "val_loss": [1.5 / (e + 1) for e in range(3 + k)],
                },
                scores={"rmse": float(k), "mae": 0.5, "r2": math.nan},
                fit_time=0.01,
            )
            for k in (1, 2)
        ],
    )


def test_json_is_strict_and_sorted(tmp_path):
    path = write_json(tmp_path / "r" / "m.json", {"b": math.nan, "a": [math.inf, 1.0]})
    text = path.read_text()
    assert json.loads(text) == {"a": [None, 1.0], "b": None}
    assert text.index('"a"') < text.index('"b"')


def test_cv_and_metrics_documents(tmp_path):
    cv_doc = cv_document(_cv())
    assert cv_doc["fold_2"]["rmse"] == 2.0 and cv_doc["fold_2"]["n_iter"] == 5
    assert cv_doc["mean"]["rmse"] == 1.5 and cv_doc["std"]["rmse"] == 0.5
    write_json(tmp_path / "cv.json", cv_doc)
    doc = metrics_document({"rmse": 0.7}, read_json(tmp_path / "cv.json"))
    assert doc["test"] == {"rmse": 0.7}
    assert doc["cv"]["rmse"] == {"mean": 1.5, "std": 0.5}
    assert doc["cv"]["r2"]["mean"] is None  # NaN written as null


def test_fold_curves_one_file_per_fold(tmp_path):
    out = tmp_path / "plots"
    (out.mkdir())
    (out / "fold_9.csv").write_text("stale")
    paths = write_fold_curves(_cv(), out)
    assert sorted(p.name for p in out.iterdir()) == ["fold_1.csv", "fold_2.csv"]
    rows = list(csv.DictReader(paths[1].open()))
    assert len(rows) == 5
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "fold"]
    assert rows[4]["epoch"] == "5" and rows[4]["fold"] == "2"  # epochs count from 1
    assert float(rows[1]["val_loss"]) == 0.75


def test_figure_draws_every_folds_training_and_validation_curve(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    closed, close = [], plt.close
    monkeypatch.setattr(plt, "close", closed.append)  # keep the figure to look at its data
    cv = _cv()
    path = loss_curves_figure(cv, tmp_path / "fig" / "loss.png")
    (fig,) = closed
    (ax,) = fig.axes
    drawn = {line.get_label(): line for line in ax.get_lines()}
    assert len(drawn) == 4
    for fold in cv.folds:
        for key, style in (("train_loss", "-"), ("val_loss", "--")):
            line = drawn[f"fold {fold.fold} {key.split('_')[0]}"]
            assert list(line.get_xdata()) == list(range(1, fold.n_iter + 1))  # from 1
            assert list(line.get_ydata()) == fold.curves[key]
            assert line.get_linestyle() == style
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(drawn)
    close(fig)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cv_line_gives_each_metric_with_its_spread_over_the_folds():
    """The train stage's last line: the CV score ± its std over the folds (the line said only
    'mean rmse 1.5', so a reader could not tell a stable 1.5 from folds of 0.5 and 2.5)."""
    from gdlab.reporting import cv_line

    assert cv_line(_cv()) == "rmse 1.5 ± 0.5, mae 0.5 ± 0, r2 nan"


def test_the_test_line_and_metrics_carry_each_metric_s_95_percent_interval():
    from gdlab.reporting.metrics import interval_document, interval_metrics, test_line

    scores = {"accuracy": 1.0, "roc_auc": float("nan")}
    intervals = {"accuracy": (0.5101, 1.0), "roc_auc": (float("nan"), float("nan"))}
    assert test_line(scores, intervals) == "accuracy 1 [95% CI 0.51, 1], roc_auc nan"
    assert interval_document(intervals)["accuracy"] == {"low": 0.5101, "high": 1.0}
    assert interval_metrics(intervals) == {"test_accuracy_ci95_low": 0.5101,
                                           "test_accuracy_ci95_high": 1.0}

"""The comparison: sgd, momentum, nesterov and adam on the default problem, same folds and
data; the summary's ranking and numbers are the drawn curves' data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gdlab.config import with_overrides
from gdlab.core.loop import DivergenceError
from gdlab.experiment import build_pipeline, decode_target
from gdlab.experiment.compare import plan_variants
from gdlab.experiment.folds import make_folds
from gdlab.experiment.model import fit_pipeline
from gdlab.experiment.target import final_estimator
from gdlab.reporting.compare import metrics_summary, write_comparison
from tests.compare.helpers import run_comparison


def test_four_optimisers_on_the_default_problem(default_problem, tmp_path):
    params, data, _ = default_problem
    assert params.compare.values == ["sgd", "momentum", "nesterov", "adam"]
    comparison = run_comparison(params, data)
    written = write_comparison(comparison, tmp_path / "compare", tmp_path / "figures")
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "overlay.png", "trajectories.png"
    ]
    summary = json.loads((tmp_path / "compare" / "summary.json").read_text())
    # the file is the summary without its sentences (in summary.md: a DVC metrics file pads
    # every row of `dvc metrics diff` to its widest value)
    assert summary == json.loads(json.dumps(metrics_summary(written["summary"])))
    assert set(summary["variants"]) == {"sgd", "momentum", "nesterov", "adam"}
    assert summary["folds"] == 5 and summary["vary"] == "optimizer.name"

    overlay = written["figures"]["overlay"].data["variants"]
    assert set(overlay) == set(summary["variants"])  # one chart, every variant on it
    finals = {label: lines["train"][-1, 1] for label, lines in overlay.items()}
    assert summary["ranking"] == sorted(finals, key=finals.get)
    target = summary["target_loss"]
    assert target == pytest.approx(min(finals.values()) * 1.05)
    for label, row in summary["variants"].items():
        drawn = overlay[label]["train"][:, 1]
        assert not row["diverged"] and row["final_loss"] == pytest.approx(drawn[-1])
        assert row["rank"] == summary["ranking"].index(label) + 1
        assert row["epochs"] == len(drawn)
        e = row["epochs_to_target"]
        assert e is not None and drawn[e - 1] <= target and (e == 1 or drawn[e - 2] > target)
        # the chart counts epochs from 1 as the table does: its ● sits at epoch e, on the curve
        assert overlay[label]["train"][0, 0] == 1
        assert overlay[label]["at_target"] == (e, drawn[e - 1])
        clock = overlay[label]["time"]  # training loss against time: the same curve
        np.testing.assert_allclose(clock[:, 1], drawn)
        assert row["time_to_target_s"] == pytest.approx(clock[e - 1, 0])
        assert 0 < row["time_to_target_s"] <= row["total_time_s"]
    # momentum methods beat plain SGD at the same step size
    assert summary["ranking"].index("sgd") > summary["ranking"].index("momentum")
    assert summary["variants"]["sgd"]["epochs_to_target"] > (
        summary["variants"]["nesterov"]["epochs_to_target"]
    )

    table = (tmp_path / "compare" / "summary.md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| ") and line[2].isdigit()]
    assert [r.split(" | ")[1] for r in rows] == summary["ranking"]
    csv = (tmp_path / "compare" / "curves" / "sgd.csv").read_text().splitlines()
    assert csv[0] == "epoch,train_loss,val_loss,time_s,variant"
    assert csv[1].split(",")[0] == "1"  # epochs count from 1, as the table's
    assert float(csv[-1].split(",")[1]) == pytest.approx(finals["sgd"])
    trajectories = written["figures"]["trajectories"].data
    assert set(trajectories) == set(summary["variants"])
    for panel in trajectories.values():
        assert panel["path"][0].tolist() == [0.0, 0.0]  # every variant starts at θ = 0
    # each panel is its own variant's path: it ends at the parameters of that variant fitted
    # on all the rows here (its loss there, as drawn, is the loss at those parameters)
    X, y = np.asarray(data.X_train), decode_target(data.y_train, data.classes)
    ends = {}
    for label, panel in trajectories.items():
        variant = comparison.variant(label)
        fitted = final_estimator(fit_pipeline(build_pipeline(variant.params), X, y).model)
        end = np.concatenate([np.ravel(p) for p in fitted.params_])
        np.testing.assert_allclose(variant.trajectory.points[-1], end, rtol=1e-9, atol=1e-12)
        assert panel["path_loss"][-1] == pytest.approx(variant.trajectory.objective(end))
        ends[label] = panel["path_loss"][-1]
    assert len(set(ends.values())) == 4  # four different end points


def test_variants_share_folds_and_data(default_problem):
    params, data, _ = default_problem
    same = with_overrides(
        params,
        # the huber threshold: a key of the model that the log-loss never reads
        {"compare.vary": "model.epsilon", "compare.values": [1.0, 2.0], "cv.folds": 3,
         "train.max_epochs": 5},
    )
    comparison = run_comparison(same, data, trajectories=False)
    a, b = comparison.variants
    assert [f.fold for f in a.folds] == [1, 2, 3]
    for fa, fb in zip(a.folds, b.folds, strict=True):
        assert fa.curves["train_loss"] == fb.curves["train_loss"]
        assert fa.curves["val_loss"] == fb.curves["val_loss"]


def test_a_diverging_variant_is_reported_and_ranked_last(default_problem, tmp_path):
    params, data, _ = default_problem
    rates = with_overrides(
        params,
        {"optimizer.name": "sgd", "compare.vary": "optimizer.learning_rate",
         "compare.values": [0.1, 1.0e6], "cv.folds": 2, "train.max_epochs": 10},
    )
    comparison = run_comparison(rates, data)
    written = write_comparison(comparison, tmp_path / "c", tmp_path / "f")
    summary = written["summary"]
    assert summary["ranking"] == ["learning_rate=0.1", "learning_rate=1000000.0"]
    bad = summary["variants"]["learning_rate=1000000.0"]
    assert bad["diverged"] and bad["diverged_folds"] == [1, 2]
    assert bad["final_loss"] is None and bad["epochs_to_target"] is None
    table = (tmp_path / "c" / "summary.md").read_text()
    # its rate, then no final losses and no gap either
    assert "| 2 | learning_rate=1000000.0 | 1e+06 | — | — | — | — | 3 | — | — |" in table
    assert "| yes (fold 1: epoch " in table.splitlines()[-1]  # where it diverged, named
    overlay = written["figures"]["overlay"].data["variants"]
    assert overlay["learning_rate=0.1"]["train"][-1, 1] == pytest.approx(
        summary["variants"]["learning_rate=0.1"]["final_loss"])
    # the estimator's own error on the same fold's rows gives the epoch
    variant = plan_variants(rates)[1]
    X, y = np.asarray(data.X_train), decode_target(data.y_train, data.classes)
    expected = []
    for fold in make_folds(y, 2, task="classification", seed=rates.seed):
        pipe = build_pipeline(variant.params)
        with pytest.raises(DivergenceError) as err:
            pipe.fit(X[fold.train_idx], y[fold.train_idx])
        expected.append({"fold": fold.index, "epoch": err.value.epoch,
                         "learning_rate": 1.0e6})
    assert bad["divergence"] == expected
    where = "; ".join(f"fold {d['fold']}: epoch {d['epoch']}, learning_rate=1e+06"
                      for d in expected)
    assert f"| yes ({where}) |" in table
    # the shared settings the legend does not name are on the overlay
    title = written["figures"]["overlay"].data["title"]
    assert "every variant: optimizer sgd, batch size 64, schedule constant" in title


def test_a_variant_that_ends_above_its_start_is_flagged_unstable(default_problem, tmp_path):
    params, data, _ = default_problem
    rates = with_overrides(
        params,
        {"optimizer.name": "sgd", "compare.vary": "optimizer.learning_rate",
         "compare.values": [0.1, 20.0], "cv.folds": 2, "train.max_epochs": 10},
    )
    written = write_comparison(run_comparison(rates, data), tmp_path / "c", tmp_path / "f")
    rows = written["summary"]["variants"]
    curves = written["figures"]["overlay"].data["variants"]
    for label, row in rows.items():
        train = curves[label]["train"][:, 1]
        assert not row["diverged"]
        assert row["unstable"] == (train[-1] > train[0])  # the drawn curve's own data
    assert rows["learning_rate=20.0"]["unstable"] and not rows["learning_rate=0.1"]["unstable"]
    table = (tmp_path / "c" / "summary.md").read_text()
    assert "| learning_rate=20.0 |" in table and "no, but unstable" in table
    legend = written["figures"]["overlay"].data["legend"]  # the chart says so too, best first
    assert legend[0].startswith("learning_rate=0.1 (rank 1): ")
    assert legend[1].startswith("learning_rate=20.0 (rank 2, unstable): ")


def test_the_warm_up_runs_the_timed_fits_path_on_the_folds_rows(default_problem, monkeypatch):
    """The clock of the first variant in a worker started after compilation, cache loading and
    thread start-up only if the warm-up ran the same kernels: row views of the fold's rows
    (block gathering by threads past a size) and a validation loss. Warming up on 129 copied
    rows without validation rows left sgd, listed first, ~40 ms late on every fold."""
    from gdlab.estimators.base import BaseGD
    from gdlab.experiment.compare import _fit_fold
    from gdlab.experiment.folds import make_folds
    from gdlab.experiment.model import build_pipeline

    params, data, _ = default_problem
    X = np.asarray(data.X_train)
    y = decode_target(data.y_train, data.classes)
    fold = make_folds(y, 5, task="classification", seed=0)[0]
    calls, view = [], BaseGD._fit_view

    def spy(self, X, y, rows, **kw):
        calls.append((self.max_epochs, np.asarray(rows), kw.get("eval_rows")))
        return view(self, X, y, rows, **kw)

    monkeypatch.setattr(BaseGD, "_fit_view", spy)
    _fit_fold(build_pipeline(plan_variants(params)[0].params), X, y, fold)
    assert [c[0] for c in calls] == [1, params.train.max_epochs]  # warm-up, then the fit
    for _, rows, eval_rows in calls:
        np.testing.assert_array_equal(rows, fold.train_idx)
        np.testing.assert_array_equal(eval_rows, fold.val_idx)


def test_progress_line_per_finished_fit(default_problem, monkeypatch, capsys):
    """A long comparison says something as every fit ends (which variant and fold, epochs,
    time, how many of all): it printed nothing between its first line and the end of the
    last of its variants x folds + trajectories fits, many minutes on a large data set."""
    monkeypatch.delenv("CI")
    params, data, _ = default_problem
    params = with_overrides(
        params, {"compare.values": ["sgd", "adam"], "cv.folds": 2, "train.max_epochs": 4}
    )
    run_comparison(params, data)
    lines = [line for line in capsys.readouterr().err.splitlines() if "/6 " in line]
    assert [line.split(" ")[1] for line in lines] == [f"{n}/6" for n in range(1, 7)]
    assert lines[0].startswith("compare: 1/6 sgd fold 1: 4 epochs, ")
    assert all("; ETA ~" in line for line in lines[:-1])  # the time left, once a fit is done
    assert lines[-1] == "compare: 6/6 adam trajectory"


def test_a_batch_size_above_the_rows_is_said_once_for_all_variants(monkeypatch, capfd):
    """On a small data set the estimator's warning came from every variant's folds, warm-ups
    and trajectory, printed raw with its source line by each worker process; now one
    BatchSizeWarning names train.batch_size, its values and the fits' fewest and most rows."""
    import warnings

    from gdlab import BatchSizeWarning
    from gdlab.config import Params
    from gdlab.experiment.compare import compare_variants

    monkeypatch.setenv("GDLAB_JIT", "0")  # the fits in loky worker processes
    rng = np.random.default_rng(0)
    X = rng.normal(size=(46, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    params = Params.model_validate({
        "model": {"task": "classification"}, "train": {"max_epochs": 3, "tol": None},
        "compare": {"vary": "train.batch_size", "values": [16, 40, 64]},
    })
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every fit's warning would count
        compare_variants(plan_variants(params), X, y, vary="train.batch_size",
                         task="classification", folds=3, seed=0, n_jobs=2)
    said = [str(w.message) for w in caught if issubclass(w.category, BatchSizeWarning)]
    # folds train on 30 or 31 rows, the trajectories on 46: 40 is above the folds', 64 all
    assert said == [
        "train.batch_size: 40, 64 are above the training rows of the fits (30 to 46 rows): "
        "every epoch is one full-batch step, not mini-batches; lower train.batch_size below "
        "30, or set it to null for full batch"
    ]
    err = capfd.readouterr().err
    assert "n_samples" not in err and "Warning" not in err  # no worker printed its own


def test_each_variant_warms_up_before_the_eta_clock_starts(default_problem, monkeypatch):
    """The first fit's ETA line counted the kernels' one-off compilation (seconds on a first
    run: 'ETA ~5m' for a comparison of seconds). Every variant's configuration now runs its
    untimed epoch on the first fold's rows before the clock starts."""
    from gdlab.experiment import compare as compare_module
    from gdlab.experiment import model as model_module

    params, data, _ = default_problem
    params = with_overrides(
        params, {"compare.values": ["sgd", "adam"], "cv.folds": 2, "train.max_epochs": 2}
    )
    events: list[str] = []
    monkeypatch.setattr(model_module, "_WARMED", set())  # this process has warmed nothing
    monkeypatch.setattr(model_module, "warm_up_rows",
                        lambda pipeline, *a, **k:
                        events.append(f"warm up {final_estimator(pipeline).optimizer}"))
    eta = compare_module.Eta
    monkeypatch.setattr(compare_module, "Eta",
                        lambda *a, **k: events.append("eta clock") or eta(*a, **k))
    run_comparison(params, data, trajectories=False)
    assert events == ["warm up sgd", "warm up adam", "eta clock"]


def test_the_comparisons_folds_keep_a_rows_copies_on_its_side(monkeypatch):
    """compare's folds held copies of a row on both sides of a fold."""
    from gdlab.config import Params
    from gdlab.experiment import compare

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    rows = rng.permutation(np.r_[np.arange(60), np.arange(30)])
    made = []
    monkeypatch.setattr(compare, "make_folds",
                        lambda *a, **k: made.extend(make_folds(*a, **k)) or list(made))
    params = Params.model_validate({
        "model": {"task": "classification"}, "train": {"max_epochs": 2, "tol": None},
        "compare": {"vary": "optimizer.learning_rate", "values": [0.01, 0.1]},
    })
    compare.compare_variants(plan_variants(params), X[rows], y[rows],
                             vary="optimizer.learning_rate", task="classification", folds=3,
                             seed=0, n_jobs=1, trajectories=False)
    assert len(made) == 3
    for fold in made:
        assert not np.intersect1d(rows[fold.train_idx], rows[fold.val_idx]).size

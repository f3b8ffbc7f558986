"""Cross-validation: per-fold curves of n_iter_ points, validation loss from eval_set,
preprocessing fitted inside the fold, same result with one or two workers."""

import time

import numpy as np
import pytest

from gdlab.experiment import cross_validate, fit_pipeline, make_folds

from .conftest import make_pipeline


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_cross_validate_returns_curves_and_scores(task, regression_data, classification_data):
    X, y = regression_data if task == "regression" else classification_data
    folds = make_folds(y, 3, task=task, seed=0)
    started = time.time()
    result = cross_validate(make_pipeline(task), X, y, folds, task=task, n_jobs=1)
    finished = time.time()
    assert [f.fold for f in result.folds] == [1, 2, 3]
    for fold in result.folds:
        assert fold.n_iter == 15
        for key in ("train_loss", "val_loss", "learning_rate", "grad_norm"):
            assert len(fold.curves[key]) == fold.n_iter
            assert all(v is not None and np.isfinite(v) for v in fold.curves[key])
        assert set(fold.scores) == set(result.metric_names)
        assert fold.n_train + fold.n_val == len(y)
        # when each epoch ended (the MLflow timestamps of its points): within the fold's fit,
        # in order, as far apart as the estimator's per-epoch clock says
        ends = fold.epoch_ends
        assert len(ends) == fold.n_iter and started <= ends[0] and ends[-1] <= finished
        assert all(b >= a for a, b in zip(ends, ends[1:], strict=False))
    assert set(result.mean()) == set(result.metric_names)
    assert all(v >= 0 for v in result.std().values())


def test_parallel_folds_match_sequential(regression_data):
    X, y = regression_data
    folds = make_folds(y, 2, task="regression", seed=0)
    seq = cross_validate(make_pipeline("regression"), X, y, folds, task="regression", n_jobs=1)
    par = cross_validate(make_pipeline("regression"), X, y, folds, task="regression", n_jobs=2)
    for a, b in zip(seq.folds, par.folds, strict=True):
        assert a.curves == b.curves
        assert a.scores == b.scores


def test_fit_pipeline_uses_train_statistics_and_validation_loss(regression_data):
    X, y = regression_data
    X_tr, y_tr, X_val, y_val = X[:200], y[:200], X[200:], y[200:]
    outcome = fit_pipeline(make_pipeline("regression"), X_tr, y_tr, eval_set=(X_val, y_val))
    scaler = outcome.model.named_steps["preprocess"]
    np.testing.assert_allclose(scaler.mean_, X_tr.mean(axis=0))
    estimator = outcome.model.named_steps["model"]
    Xt_val = scaler.transform(X_val)
    expected = 0.5 * np.mean((estimator.predict(Xt_val) - y_val) ** 2)
    # the last recorded validation loss is the data loss of the final parameters
    assert outcome.curves["val_loss"][-1] == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_callbacks_run_and_are_removed(regression_data):
    X, y = regression_data
    seen = []
    outcome = fit_pipeline(make_pipeline("regression", 5), X, y, callbacks=[seen.append])
    assert [r["epoch"] for r in seen] == [0, 1, 2, 3, 4]
    assert outcome.model.named_steps["model"].get_params()["callbacks"] is None
    assert outcome.curves["val_loss"] == [None] * 5


def test_fold_lines_give_the_time_left(regression_data, fake_clock, capsys):
    """Each 'fold k/K done' line says how many folds are done and, from then on, the time
    left for the others (there was no estimate anywhere)."""
    X, y = regression_data
    fake_clock.step = 0.01  # every reading of the progress clock: 10 ms later
    folds = make_folds(y, 3, task="regression", seed=0)
    cross_validate(make_pipeline("regression"), X, y, folds, task="regression", n_jobs=1)
    lines = [line for line in capsys.readouterr().err.splitlines() if " done" in line]
    assert [line.split(" done:")[0] for line in lines] == ["fold 1/3", "fold 2/3", "fold 3/3"]
    assert lines[0].endswith("(1 of 3 done); ETA ~1s") and "; ETA ~" in lines[1]
    assert lines[2].endswith("(3 of 3 done)")


def test_fold_lines_name_the_class_f1_scores(classification_data, capsys):
    """A fold's line says which class its f1 and average_precision score, as evaluate does
    (it said plain 'f1 0.9' while the f1 was of the positive class 'no')."""
    X, y = classification_data
    folds = make_folds(y, 2, task="classification", seed=0)
    cross_validate(make_pipeline("classification"), X, y, folds, task="classification",
                   n_jobs=1, positive="no")
    lines = [line for line in capsys.readouterr().err.splitlines() if " done:" in line]
    assert len(lines) == 2
    assert all("f1 (class 'no') " in line and "average_precision (class 'no') " in line
               for line in lines)
    y3 = np.where(X[:, 2] > 1, "maybe", y)
    folds = make_folds(y3, 2, task="classification", seed=0)
    cross_validate(make_pipeline("classification"), X, y3, folds, task="classification",
                   n_jobs=1)
    lines = [line for line in capsys.readouterr().err.splitlines() if " done:" in line]
    assert len(lines) == 2 and all("f1 (macro) " in line for line in lines)


@pytest.mark.parametrize("jit", ["1", "0"])
def test_compiled_folds_run_as_threads_others_as_processes(regression_data, monkeypatch, jit):
    """Compiled training releases the GIL: its folds are threads of this process (each on one
    core, without worker processes); the numpy path keeps joblib's processes. The threads give
    the sequential result exactly; a worker process may differ from it in the last bit (once
    in a CI run: a 1-ulp difference of the first epoch's gradient norm), since numpy's SIMD
    kernels can sum in an order that depends on where an array sits in memory, which differs
    between processes."""
    import threading

    from gdlab.experiment.cv import fold_workers

    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = regression_data
    folds = make_folds(y, 2, task="regression", seed=0)
    pipeline = make_pipeline("regression")
    assert fold_workers(pipeline) == ("threads" if jit == "1" else None)

    seen: set[str] = set()

    def where(record):  # runs where the fold trains: a thread here, or a worker process
        seen.add(threading.current_thread().name)

    seq = cross_validate(pipeline, X, y, folds, task="regression", n_jobs=1)
    par = cross_validate(pipeline, X, y, folds, task="regression", n_jobs=2,
                         fold_callbacks=lambda fold: [where])
    for a, b in zip(seq.folds, par.folds, strict=True):
        if jit == "1":
            assert a.curves == b.curves and a.scores == b.scores
        else:
            assert a.curves.keys() == b.curves.keys() and a.scores.keys() == b.scores.keys()
            for key in a.curves:
                np.testing.assert_allclose(b.curves[key], a.curves[key], rtol=1e-13, atol=0)
            for key in a.scores:
                np.testing.assert_allclose(b.scores[key], a.scores[key], rtol=1e-12, atol=0)
    if jit == "1":  # the callbacks ran in this process, off the main thread
        assert seen and threading.main_thread().name not in seen
    else:  # they ran in the worker processes: nothing was recorded here
        assert seen == set()


def test_an_mlp_or_a_plugin_optimizer_keeps_worker_processes(regression_data):
    from gdlab.experiment.cv import fold_workers

    mlp = make_pipeline("regression")
    mlp.named_steps["model"].set_params(model="mlp")
    assert fold_workers(mlp) is None
    plugin = make_pipeline("regression")
    plugin.named_steps["model"].set_params(optimizer="examples.lion:lion")
    assert fold_workers(plugin) is None


def test_an_interrupt_stops_fold_threads_at_their_next_epoch(regression_data, monkeypatch):
    """Threads cannot be killed: on SIGINT/SIGTERM (here a KeyboardInterrupt raised in the
    main thread by an alarm) every fold thread ends at its next epoch, instead of training
    for the remaining hundreds of thousands of epochs before the process can exit."""
    import signal
    import threading
    import time

    monkeypatch.setenv("GDLAB_JIT", "1")
    X, y = regression_data
    folds = make_folds(y, 2, task="regression", seed=0)
    pipeline = make_pipeline("regression", max_epochs=1_000_000)
    epochs = {1: 0, 2: 0}
    started = threading.Barrier(3)

    def counter(fold):
        def count(record):
            if epochs[fold.index] == 0:
                started.wait(timeout=60)  # both folds are training when the alarm is set
            epochs[fold.index] += 1
        return [count]

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            threading.Thread(target=lambda: (started.wait(60), signal.alarm(1))).start()
            cross_validate(pipeline, X, y, folds, task="regression", n_jobs=2,
                           fold_callbacks=counter)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    at_raise = dict(epochs)
    assert 0 < at_raise[1] < 1_000_000 and 0 < at_raise[2] < 1_000_000
    time.sleep(1.0)  # ample for a thread to finish the epoch it was in (µs here)
    settled = dict(epochs)
    time.sleep(1.0)
    assert epochs == settled  # no fold trains any more
    assert all(settled[k] - at_raise[k] <= 1 for k in settled), (at_raise, settled)


@pytest.mark.parametrize(("n_jobs", "jit"), [(1, "0"), (2, "0"), (2, "1")])
def test_folds_that_stop_at_max_epochs_warn_once(regression_data, monkeypatch, capfd, n_jobs,
                                                 jit):
    """A ConvergenceWarning per fold (each with its source line, printed by every worker
    process into the terminal's progress bar) is summarised as one warning naming the folds,
    whether the folds run here, as threads or in worker processes."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = regression_data
    folds = make_folds(y, 3, task="regression", seed=0)
    pipeline = make_pipeline("regression", max_epochs=2)
    pipeline.named_steps["model"].set_params(tol=1e-4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cross_validate(pipeline, X, y, folds, task="regression", n_jobs=n_jobs)
    converging = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(converging) == 1, [str(w.message) for w in converging]
    message = str(converging[0].message)
    assert message.startswith("3 of 3 folds (1, 2, 3): GDRegressor: max_epochs=2 reached")
    assert "ConvergenceWarning" not in capfd.readouterr().err  # none from a worker either
    assert [f.n_iter for f in result.folds] == [2, 2, 2]
    # folds that converge say nothing
    pipeline.named_steps["model"].set_params(max_epochs=200, tol=10.0, n_iter_no_change=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cross_validate(pipeline, X, y, folds, task="regression", n_jobs=n_jobs)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_no_fold_thread_silences_convergence_warnings(regression_data, monkeypatch):
    """Warnings filters are shared by every thread: a fold thread that silenced warnings
    (``simplefilter("ignore")``, around the constant baseline's scoring) let another fold's
    ConvergenceWarning fall through while it did, and "3 of 3 folds" read "2 of 3 folds (1,
    3)" now and then. No filter a fold thread sets may cover ConvergenceWarning (scikit-learn's
    own, ``error`` for ComplexWarning in check_array, does not)."""
    import threading
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    monkeypatch.setenv("GDLAB_JIT", "1")  # folds as threads
    set_in_threads: list[tuple[str, type]] = []
    for name in ("simplefilter", "filterwarnings"):
        original = getattr(warnings, name)

        def recording(action, *args, _original=original, _name=name, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                category = kwargs.get("category", Warning)
                if args:
                    category = args[0] if _name == "simplefilter" else (
                        args[1] if len(args) > 1 else category)
                set_in_threads.append((action, category))
            return _original(action, *args, **kwargs)

        monkeypatch.setattr(warnings, name, recording)
    X, y = regression_data
    folds = make_folds(y, 3, task="regression", seed=0)
    pipeline = make_pipeline("regression", max_epochs=2)
    fold_threads: set[str] = set()

    def record_thread(fold):
        return [lambda record: fold_threads.add(threading.current_thread().name)]

    result = cross_validate(pipeline, X, y, folds, task="regression", n_jobs=2,
                            fold_callbacks=record_thread)
    assert fold_threads and threading.main_thread().name not in fold_threads  # as threads
    covering = [(action, category) for action, category in set_in_threads
                if issubclass(ConvergenceWarning, category) and action != "always"]
    assert not covering, covering
    assert all(f.baseline_scores["train_r2"] == 0.0 for f in result.folds)


def test_each_process_warms_a_configuration_up_once_before_its_first_timed_fit(
    regression_data, monkeypatch
):
    """A worker's first fold and the refit counted the kernels' cache loading in their
    fit_time (~0.25 s against ~0.015 s): one untimed epoch first, once per process and
    configuration, on the path the timed fit takes; the results are the same as without."""
    from gdlab.config import validate_params
    from gdlab.experiment import fit_pipeline_rows, run_training
    from gdlab.experiment import model as model_module
    from gdlab.experiment import training as training_module
    from gdlab.experiment.target import final_estimator

    X, y = regression_data
    folds = make_folds(y, 3, task="regression", seed=0)
    pipeline = make_pipeline("regression")
    events: list[str] = []
    real_rows, real_fit = model_module.warm_up_rows, model_module.fit_pipeline

    def fits(name):
        def fit(p, *args, **kwargs):
            events.append(f"{name} {final_estimator(p).max_epochs}")
            return real_fit(p, *args, **kwargs)
        return fit

    monkeypatch.setattr(model_module, "_WARMED", set())
    monkeypatch.setattr(model_module, "warm_up_rows",
                        lambda *a, **k: (events.append("warm rows"), real_rows(*a, **k))[1])
    warmed = cross_validate(pipeline, X, y, folds, task="regression", n_jobs=1)
    again = cross_validate(pipeline, X, y, folds, task="regression", n_jobs=1)
    assert events == ["warm rows"]  # before the first fold of the first run only
    for fold, ours, other in zip(folds, warmed.folds, again.folds, strict=True):
        plain = fit_pipeline_rows(pipeline, X, y, fold.train_idx, fold.val_idx)
        assert ours.curves == other.curves == plain.curves  # the warm-up changes nothing
    # the refit: one epoch of it on all the rows, untimed, then the timed refit
    monkeypatch.setattr(model_module, "fit_pipeline", fits("warm-up"))
    monkeypatch.setattr(training_module, "fit_pipeline", fits("refit"))
    params = validate_params({"model": {"task": "regression"}, "cv": {"folds": 2, "n_jobs": 1},
                              "train": {"max_epochs": 7}}, "test")
    events.clear()
    run_training(params, X, y, progress=False)
    run_training(params, X, y, progress=False)
    assert [e for e in events if e != "warm rows"] == ["warm-up 1", "refit 7", "refit 7"]


def test_folds_stopped_on_an_oscillating_loss_warn_once_with_their_own_fold(monkeypatch):
    """Folds the tol rule stopped while their loss oscillated (adam at learning rate 3 on
    standardised breast-cancer rows) gave one warning that read as if all of them had fold
    2's numbers, and told the user to scale features the pipeline had standardised."""
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from gdlab import GDClassifier

    X, y = load_breast_cancer(return_X_y=True)
    folds = make_folds(y, 5, task="classification", seed=0)
    estimator = GDClassifier(learning_rate=3.0, batch_size=None, random_state=0)
    pipeline = Pipeline([("preprocess", StandardScaler()), ("model", estimator)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cross_validate(pipeline, X, y, folds, task="classification", progress=False)
    said = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    stopped = [f for f in result.folds if f.warning]
    assert len(stopped) >= 2 and len({f.warning for f in stopped}) > 1
    assert all("the training loss oscillates" in f.warning for f in stopped)
    numbers = ", ".join(str(f.fold) for f in stopped)
    assert said == [f"{len(stopped)} of 5 folds ({numbers}); fold {stopped[0].fold}: "
                    f"{stopped[0].warning}"]
    assert "scale the features" not in said[0]


def test_fold_warnings_of_two_kinds_are_said_apart():
    """A fold that reached max_epochs and one the tol rule stopped on an oscillating loss
    were said as one line in the first fold's words ('2 of 3 folds (1, 3): ... max_epochs=50
    reached ...')."""
    from gdlab.experiment.cv import FoldResult, fold_warnings

    def fold(index, warning):
        return FoldResult(fold=index, n_train=10, n_val=5, n_iter=50, curves={}, scores={},
                          fit_time=0.0, warning=warning)

    reached = ("GDRegressor: max_epochs=50 reached before the loss improved by less than "
               "tol=0.0001 for 10 epochs; increase max_epochs or the learning rate.")
    swinging = ("GDRegressor: the tol rule (tol=0.0001, n_iter_no_change=10) stopped the "
                "fit, but the training loss oscillates: it ended at 2 in epoch 12, ...")
    results = [fold(1, reached), fold(2, None), fold(3, swinging), fold(4, reached)]
    assert fold_warnings(results, 4) == [f"2 of 4 folds (1, 4): {reached}",
                                         f"1 of 4 folds (3): {swinging}"]
    assert fold_warnings([fold(1, None), fold(2, None)], 2) == []


def test_folds_stopped_before_they_trained_warn_once_as_their_own_kind():
    """Folds the tol rule stopped untrained (sgd at learning rate 1e-12 on standardised
    rows) were silent; a stalled fold and an oscillating one must not be said as one."""
    import warnings

    from sklearn.datasets import load_diabetes
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from gdlab import GDRegressor
    from gdlab.experiment.cv import FoldResult, fold_warnings

    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    folds = make_folds(y, 3, task="regression", seed=0)
    estimator = GDRegressor(optimizer="sgd", learning_rate=1e-12, random_state=0)
    pipeline = Pipeline([("preprocess", StandardScaler()), ("model", estimator)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cross_validate(pipeline, X, y, folds, task="regression", progress=False)
    said = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(said) == 1 and said[0].startswith("3 of 3 folds (1, 2, 3)"), said
    assert "barely trained" in said[0] and "try a larger one (e.g. 1e-11)" in said[0]
    assert all(f.scores["r2"] < 0.05 for f in result.folds)

    def fold(index, warning):
        return FoldResult(fold=index, n_train=10, n_val=5, n_iter=11, curves={}, scores={},
                          fit_time=0.0, warning=warning)

    swinging = ("GDRegressor: the tol rule (tol=0.0001, n_iter_no_change=10) stopped the "
                "fit, but the training loss oscillates: it ended at 2 in epoch 12, ...")
    stalled = result.folds[0].warning
    assert fold_warnings([fold(1, swinging), fold(2, stalled)], 2) == [
        f"1 of 2 folds (1): {swinging}", f"1 of 2 folds (2): {stalled}"]

"""Live view: per-epoch metrics reach MLflow in batches while a model trains, and the
terminal shows a progress bar (epoch, loss, learning rate, time left); a log (or CI) gets it
as plain lines at a bounded rate."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from gdlab import GDRegressor
from gdlab.experiment.progress_bar import ProgressBoard
from gdlab.tracking.live import LiveCurves

HERE = Path(__file__).parent


@pytest.fixture
def client(tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    client.create_experiment("live", artifact_location=(tmp_path / "mlruns").as_uri())
    return client


def _history(client, run_id, key="train_loss"):
    return sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)


def test_curve_is_readable_from_mlflow_while_the_fit_runs(client, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(HERE))
    run_id = client.create_run(client.get_experiment_by_name("live").experiment_id).info.run_id
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -1.0, 2.0] + rng.normal(scale=0.1, size=200)
    board = ProgressBoard(io.StringIO(), enabled=True)
    live = LiveCurves(client, interval=0.3, board=board)
    records: list[dict] = []
    gate = tmp_path / "go-on"  # the fit waits at epoch 10 until it exists
    est = GDRegressor(optimizer="slow_opts:slow_sgd",
                      optimizer_params={"pause": 0.01, "hold_at": 10, "gate": str(gate)},
                      learning_rate=0.05, batch_size=None, max_epochs=80, tol=None,
                      callbacks=[live.callback(run_id, "fit", 80), records.append])
    fit = threading.Thread(target=est.fit, args=(X, y))
    with live:
        fit.start()
        seen = []
        deadline = time.monotonic() + 60
        while len(seen) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
            seen = _history(client, run_id)
        assert fit.is_alive()
        gate.touch()
        assert 5 <= len(seen) < 10, "MLflow showed no point while the fit ran"
        steps = [m.step for m in seen]
        assert steps == list(range(len(steps)))  # a prefix of the curve, in order
        assert [m.value for m in seen] == pytest.approx([r["loss"] for r in records[: len(seen)]])
        fit.join()
    final = _history(client, run_id)
    assert [m.step for m in final] == list(range(80))  # every epoch once, no duplicates
    assert [m.value for m in final] == pytest.approx(est.history_["loss"])
    assert [m.value for m in _history(client, run_id, "learning_rate")] == [0.05] * 80
    # each point stamped when its epoch ended, not when its batch was sent (a batch's points
    # shared one instant: MLflow's time axes drew a curve as a few vertical lines)
    stamps = np.array([m.timestamp for m in final]) / 1000
    assert np.all(np.diff(stamps) >= 0) and len(set(stamps)) > 60
    np.testing.assert_allclose(np.diff(stamps), np.diff(est.history_["time"]), atol=0.02)
    assert live.logged() == {run_id: 80}
    assert 3 <= live.batches < 80  # batched, not one call per epoch
    assert "fit" in board.stream.getvalue()


def _feed(live, run_id, epochs):
    callback = live.callback(run_id, "fit", epochs)
    for epoch in range(epochs):
        callback({"epoch": epoch, "loss": 1.0 / (epoch + 1), "learning_rate": 0.1})


def test_points_pending_at_the_end_are_left_to_the_final_logging(client):
    """flush_on_close=False (the train stage): what the interval has not sent yet stays out of
    MLflow, and logged() says so, so the run's final log_batch carries it."""
    experiment_id = client.get_experiment_by_name("live").experiment_id
    run_id = client.create_run(experiment_id).info.run_id
    with LiveCurves(client, interval=60.0, board=ProgressBoard(enabled=False),
                    flush_on_close=False) as live:
        _feed(live, run_id, 7)
    assert live.logged() == {run_id: 0} and live.batches == 0
    assert _history(client, run_id) == []


def test_points_pending_when_training_fails_are_flushed(client):
    """After an exception nothing else will log the curve: the failed run still shows it."""
    experiment_id = client.get_experiment_by_name("live").experiment_id
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(RuntimeError, match="diverged"), LiveCurves(
        client, interval=60.0, board=ProgressBoard(enabled=False), flush_on_close=False
    ) as live:
        _feed(live, run_id, 7)
        raise RuntimeError("diverged")
    assert live.logged() == {run_id: 7}
    assert [m.value for m in _history(client, run_id)] == pytest.approx(
        [1.0 / (e + 1) for e in range(7)])


def test_progress_line_shows_epoch_loss_and_learning_rate(monkeypatch):
    # draw() fits the line to the terminal's width: make it as wide as line(columns=200)
    # below (pytest-xdist's workers, and an 80-column terminal, have COLUMNS=80)
    monkeypatch.setenv("COLUMNS", "200")
    board = ProgressBoard(io.StringIO(), enabled=True, plain_every=0.0)
    board.add("a", "fold 1", 100)
    board.add("b", "fold 2", 100)
    board.update("a", {"epoch": 41, "loss": 0.31234, "learning_rate": 0.01})
    board.update("b", {"epoch": 9, "loss": 0.5, "learning_rate": 0.001})
    line = board.line(columns=200)
    assert "fold 1" in line and "42/100" in line and "loss 0.3123" in line and "lr 0.01" in line
    assert "fold 2" in line and "10/100" in line and "lr 0.001" in line
    board.draw()  # not a terminal: a plain line, as the other stages' epoch lines
    plain = board.stream.getvalue().strip()
    assert plain == board.line(plain=True) and "█" not in plain
    assert plain == ("[fold 1] epoch 42/100 loss 0.3123 lr 0.01 │ "
                     "[fold 2] epoch 10/100 loss 0.5 lr 0.001")
    board.finish("a")
    line = board.line(columns=200)  # a finished fit leaves the bars for a short note
    eta, line = line.split(" │ ", 1)  # led by the time left for the fits still running
    assert eta.startswith("ETA ~")
    assert line.startswith("fold 2 ") and line.endswith("done: fold 1 (42 epochs)")


def test_ci_log_lines_are_bounded_and_give_the_time_left(monkeypatch, fake_clock):
    """CI=true, even on a (pseudo-)terminal: plain lines, at most one per plain_every seconds
    of a 10-minute CV, led by the time left once a fold has finished. The bar printed
    nothing under CI: a CI log was silent for the whole training."""
    monkeypatch.setenv("CI", "true")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    board = ProgressBoard(Tty())
    for k in range(1, 6):
        board.add(k, f"fold {k}/5", 1000)
    board.add("refit", "refit", 1000)
    for k in (1, 2, 3, 4, 5, "refit"):  # one after the other, 100 s each, drawn every 0.25 s
        for epoch in range(400):
            fake_clock.advance(0.25)
            board.update(k, {"epoch": epoch, "loss": 0.5, "learning_rate": 0.1})
            board.draw()
        board.finish(k)
    board.close()
    lines = board.stream.getvalue().splitlines()
    assert "\r" not in board.stream.getvalue()
    assert 600 / 5.0 - 2 <= len(lines) <= 600 / 5.0 + 1
    assert not any("ETA" in line for line in lines[:19])  # fold 1 runs: no estimate yet
    assert lines[20].startswith("[fold 2/5] epoch ")
    assert lines[20].endswith("; ETA ~8m")  # 100 s per fit, 5 fits left
    assert "; ETA ~" in lines[-1] and lines[-1].startswith("[refit]")


def test_terminal_bar_redraws_in_place():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    board = ProgressBoard(Tty(), enabled=True)
    board.add("a", "refit", 4)
    for epoch in range(4):
        board.update("a", {"epoch": epoch, "loss": 1.0 / (epoch + 1), "learning_rate": 0.1})
        board.draw()
    board.close()
    text = board.stream.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n") and "4/4" in text


def test_a_warning_prints_above_the_terminal_bar(client):
    """A warning of the stage process (the refit's ConvergenceWarning, MLflow's) is written on
    a line of its own above the bar, which is then redrawn: it went to stderr after the
    bar's text, on the same line."""
    import warnings

    class Tty(io.StringIO):
        def isatty(self):
            return True

    board = ProgressBoard(Tty(), enabled=True)
    previous = warnings.showwarning
    with LiveCurves(client, interval=60.0, board=board) as live:
        live.board.add("a", "refit", 10)
        live.board.update("a", {"epoch": 3, "loss": 0.5, "learning_rate": 0.1})
        live.board.draw()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("max_epochs=10 reached", UserWarning, stacklevel=1)
    assert warnings.showwarning is previous  # restored
    text = board.stream.getvalue()
    bar, rest = text.split("\r\x1b[K", 1)  # the bar is cleared first
    assert "refit" in bar and "UserWarning: max_epochs=10 reached" in rest.splitlines()[0]
    assert "\rrefit" in rest  # and redrawn below it


def test_fits_cut_short_by_an_interrupt_are_not_shown_as_done(client):
    """Ctrl-C during the folds: the last progress line said 'done: fold 1 (56), fold 2 (59)'
    of folds that were stopped half-way."""
    run_ids = [client.create_run(client.get_experiment_by_name("live").experiment_id)
               .info.run_id for _ in range(2)]
    board = ProgressBoard(io.StringIO(), enabled=True, plain_every=0.0)
    with pytest.raises(KeyboardInterrupt), LiveCurves(
        client, interval=60.0, board=board, flush_on_close=False
    ) as live:
        first, second = (live.callback(r, f"fold {i}", 10) for i, r in enumerate(run_ids, 1))
        for epoch in range(10):
            first({"epoch": epoch, "loss": 1.0, "learning_rate": 0.1})
        live.finish(run_ids[0])  # fold 1 ended; fold 2 is interrupted in its epoch 5
        for epoch in range(4):
            second({"epoch": epoch, "loss": 1.0, "learning_rate": 0.1})
        raise KeyboardInterrupt
    assert board.stream.getvalue().splitlines()[-1] == "stopped: fold 2 (4 epochs)"
    # the line a terminal shows
    assert board.line(200) == "done: fold 1 (10 epochs) │ stopped: fold 2 (4 epochs)"


def test_log_lines_are_whole_and_leave_out_the_finished_fits(monkeypatch):
    """Not a terminal (``dvc repro > log.txt``, CI, a queued experiment): a plain line is the
    running fits, whole. It was cut to the terminal's width (80 or 120 columns, whatever the
    log's reader has) and repeated 'done: fold 1 (300), fold 2 (300), ...', which the
    'fold k/K done' lines already say, on every line; the run's end added one more."""
    monkeypatch.setenv("COLUMNS", "80")
    board = ProgressBoard(io.StringIO(), enabled=True, plain_every=0.0)
    for k in range(1, 6):
        board.add(k, f"fold {k}", 300)
        board.update(k, {"epoch": 150 + k, "loss": 0.25, "learning_rate": 0.01})
    board.finish(1)
    board.finish(2)
    board.draw()
    printed = board.stream.getvalue().splitlines()
    assert len(printed) == 1 and "…" not in printed[0] and "done" not in printed[0]
    line, eta = printed[0].rsplit("; ", 1)
    assert eta.startswith("ETA ~")
    assert [p.split("]")[0] for p in line.split(" │ ")] == ["[fold 3", "[fold 4", "[fold 5"]
    assert line.endswith("epoch 156/300 loss 0.25 lr 0.01")
    for k in (3, 4, 5):
        board.finish(k)
    board.close()
    assert board.stream.getvalue().splitlines() == printed  # nothing new at the end

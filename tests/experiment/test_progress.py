"""Progress lines: durations readable at every scale; time left; a bounded rate in a log."""

import io
import sys

import pytest

from gdlab.experiment import progress
from gdlab.experiment.progress import EpochProgress, Eta, roughly, say, seconds


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(("duration", "shown"), [
    (0.0004, "0.0004s"), (0.043, "0.043s"), (0.2, "0.2s"), (1.23, "1.2s"), (75.4, "75s"),
])
def test_a_duration_is_shown_with_its_significant_digits(duration, shown):
    assert seconds(duration) == shown


@pytest.mark.parametrize(("left", "shown"), [
    (0.2, "~1s"), (42.4, "~42s"), (185.0, "~3m"), (3599.0, "~1h00m"), (3900.0, "~1h05m"),
])
def test_time_left_is_said_roughly(left, shown):
    assert roughly(left) == shown


def test_eta_is_elapsed_per_unit_times_the_units_left(fake_clock):
    eta = Eta(10)
    assert eta.text() == ""  # nothing done: no estimate
    fake_clock.advance(20.0)
    eta.tick()
    assert eta.text() == "ETA ~3m"  # 20 s per unit x 9 units
    fake_clock.advance(160.0)
    eta.tick(8)
    assert eta.text() == "ETA ~20s"  # 20 s x 1
    eta.tick()
    assert eta.text() == ""  # all done


def test_eta_of_a_budget_with_a_timeout(fake_clock):
    alone = Eta(None, deadline=600.0)  # a timeout alone: its rest
    capped = Eta(10, deadline=100.0)  # n_trials and a timeout: whichever ends first
    fake_clock.advance(30.0)
    capped.tick()
    assert capped.text() == "ETA ~1m"  # not 30 s x 9
    fake_clock.advance(70.0)
    assert alone.text() == "ETA ~8m"


def _long_fit(fake_clock, callback, epochs=8000, step=0.125):
    for epoch in range(epochs):
        fake_clock.advance(step)
        callback({"epoch": epoch, "loss": 1.0 / (epoch + 1)})


def test_epoch_lines_in_a_log_are_bounded(fake_clock, monkeypatch, capsys):
    """A log (not a terminal) gets one epoch line every LOG_EVERY seconds of a 1000 s fit,
    not one per epoch nor one per fit start; parallel workers (share) split that rate."""
    monkeypatch.delenv("CI", raising=False)
    _long_fit(fake_clock, EpochProgress("fold 1/5", 8000))
    lines = capsys.readouterr().err.splitlines()
    assert 1000 / progress.LOG_EVERY - 2 <= len(lines) <= 1000 / progress.LOG_EVERY
    assert lines[0] == "[fold 1/5] epoch 41/8000 loss 0.0243902"  # 5 s after the first
    assert all("\r" not in line for line in lines)
    _long_fit(fake_clock, EpochProgress("fold 2/5", 8000, share=4))
    assert len(capsys.readouterr().err.splitlines()) <= 1000 / (4 * progress.LOG_EVERY)


def test_ci_gets_log_lines_even_on_a_terminal(fake_clock, monkeypatch):
    """CI=true: plain bounded lines (it printed nothing at all, so a CI log stayed silent
    for the minutes a fit took); a terminal without CI: the first epoch at once, then every
    TERMINAL_EVERY seconds."""
    for ci, first in (("true", False), ("", True)):
        monkeypatch.setenv("CI", ci)
        stream = Tty()
        monkeypatch.setattr(sys, "stderr", stream)
        monkeypatch.setattr(progress, "_last_line", float("-inf"))
        _long_fit(fake_clock, EpochProgress("refit", 100), epochs=100, step=1.0)
        lines = stream.getvalue().splitlines()
        every = progress.LOG_EVERY if ci else progress.TERMINAL_EVERY
        assert lines[0].startswith("[refit] epoch 1/100") is first
        assert 100 / every - 2 <= len(lines) <= 100 / every + 1


def test_messages_print_under_ci(monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    say("fold 1/5 done")
    assert capsys.readouterr().err == "fold 1/5 done\n"


def test_many_short_fits_print_no_line_each(fake_clock, monkeypatch):
    """A search's 250 short fits (50 trials x 5 folds, 0.1 s each) on a terminal: about one
    epoch line every TERMINAL_EVERY seconds, not each fit's first epoch (250 lines)."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", Tty())
    for fit in range(250):
        _long_fit(fake_clock, EpochProgress(f"tune: trial {fit // 5} fold {fit % 5 + 1}/5", 10),
                  epochs=10, step=0.01)
    lines = sys.stderr.getvalue().splitlines()
    assert len(lines) <= 25 / progress.TERMINAL_EVERY + 1
    assert lines[0] == "[tune: trial 0 fold 1/5] epoch 1/10 loss 1"


@pytest.mark.parametrize("value", ["off", "0", "false", "NO"])
def test_gdlab_progress_off_silences_lines_and_the_bar(fake_clock, monkeypatch, value):
    """CI now means plain lines, not silence: GDLAB_PROGRESS=off is the way to turn them off."""
    from gdlab.experiment.progress_bar import ProgressBoard

    monkeypatch.setenv("GDLAB_PROGRESS", value)
    for ci in ("true", ""):
        monkeypatch.setenv("CI", ci)
        stream = Tty()
        monkeypatch.setattr(sys, "stderr", stream)
        say("fold 1/5 done")
        _long_fit(fake_clock, EpochProgress("refit", 100), epochs=100, step=1.0)
        board = ProgressBoard(stream)
        board.add("refit", "refit", 100)
        board.update("refit", {"epoch": 3, "loss": 0.5})
        board.draw(force=True)
        board.close()
        assert stream.getvalue() == ""
    monkeypatch.setenv("GDLAB_PROGRESS", "on")
    say("fold 2/5 done")
    assert sys.stderr.getvalue() == "fold 2/5 done\n"

"""Progress lines on stderr (fold k/K, trial, epoch, loss, ETA).

On a terminal the train stage draws a bar (:mod:`gdlab.experiment.progress_bar`) and per-epoch
lines come every ``TERMINAL_EVERY`` seconds. Elsewhere (a log file, CI, a queued experiment;
``CI`` set counts as a log even on a pseudo-terminal) everything is a plain line, never a
carriage return, and per-epoch lines come at most every ``LOG_EVERY`` seconds per process
(divided among parallel workers, see ``EpochProgress``), besides one line as each unit (fold,
trial, variant) ends. :class:`Eta` gives those lines an estimate of the time left.
``GDLAB_PROGRESS=off`` turns all of it off (:func:`silenced`).

``EpochProgress`` is a picklable estimator callback (``cb(record)``), so it travels to joblib
workers. Times come from :data:`clock` (tests replace it with a fake clock).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

TERMINAL_EVERY = 2.0
"""Seconds between two per-epoch lines of a fit on a terminal."""
LOG_EVERY = 5.0
"""Seconds between two periodic progress lines of a stage when stderr is not a terminal."""

clock: Callable[[], float] = time.monotonic
"""The clock of progress lines and estimates (a fake clock in tests)."""


def ci() -> bool:
    """True when ``CI`` is set (to anything but "" / "0" / "false" / "no")."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def silenced() -> bool:
    """True when ``GDLAB_PROGRESS`` is ``off`` (or ``0`` / ``false`` / ``no``): no progress line
    and no bar; errors, warnings and each stage's closing line still print."""
    return os.environ.get("GDLAB_PROGRESS", "").strip().lower() in ("off", "0", "false", "no")


def to_terminal(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (stderr) is a terminal a bar may redraw in place: not under CI,
    whose log shows every carriage return as a line."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)()) and not ci()


_printer: Callable[[str], None] | None = None
_last_line = float("-inf")  # clock() of this process's last progress line


def set_printer(printer: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Route :func:`say` through ``printer`` (a progress bar that keeps its own line below the
    messages); ``None`` restores plain printing. Returns the previous printer."""
    global _printer
    previous, _printer = _printer, printer
    return previous


def say(message: str) -> None:
    """Print one progress line to stderr (none when :func:`silenced`)."""
    global _last_line
    _last_line = clock()
    if silenced():
        return
    if _printer is not None:
        _printer(message)
    else:
        print(message, file=sys.stderr, flush=True)


def seconds(duration: float) -> str:
    """A duration for a progress line: ``0.043s``, ``1.2s``, ``75s`` (never a bare 0.0s)."""
    if duration < 1.0:
        return f"{duration:.2g}s"
    return f"{duration:.1f}s" if duration < 60 else f"{duration:.0f}s"


def roughly(duration: float) -> str:
    """A time left, rounded as a person would say it: ``~40s``, ``~3m``, ``~1h05m``."""
    duration = max(duration, 0.0)
    if duration < 59.5:
        return f"~{max(round(duration), 1)}s"
    minutes = round(duration / 60)
    if minutes < 60:
        return f"~{minutes}m"
    return f"~{minutes // 60}h{minutes % 60:02d}m"


class Eta:
    """Time left for ``total`` units (folds, trials, variants) of similar cost: elapsed / done
    × remaining, once one unit is done; capped by a ``deadline`` (seconds from the start:
    a search's timeout), which alone gives the estimate when ``total`` is unknown."""

    def __init__(self, total: int | None, *, deadline: float | None = None):
        self.total = total
        self.deadline = deadline
        self.done = 0
        self.start = clock()

    def tick(self, n: int = 1) -> None:
        """``n`` more units done."""
        self.done += n

    def left(self) -> float | None:
        """Seconds left, or None while they cannot be estimated (or nothing is left)."""
        elapsed = clock() - self.start
        estimates = []
        if self.total is not None:
            if self.done >= self.total:
                return None
            if self.done > 0:
                estimates.append(elapsed / self.done * (self.total - self.done))
        if self.deadline is not None and (self.done > 0 or self.total is None):
            estimates.append(self.deadline - elapsed)
        return max(min(estimates), 0.0) if estimates else None

    def text(self) -> str:
        """``ETA ~3m``, or "" while it cannot be estimated."""
        left = self.left()
        return "" if left is None else f"ETA {roughly(left)}"


def with_eta(line: str, eta: Eta) -> str:
    """``line`` followed by ``; ETA ~3m`` when the estimate is known."""
    text = eta.text()
    return f"{line}; {text}" if text else line


class EpochProgress:
    """Estimator callback printing ``[label] epoch e/max loss ... val_loss ...`` now and then:
    once ``interval`` seconds passed without a progress line from this process (of any fit:
    the many short fits of a search print no line each), whichever fit's epoch it is then.

    On a terminal ``interval`` is ``TERMINAL_EVERY`` and a process's first epoch prints at
    once. Otherwise (a log) it is ``LOG_EVERY`` × ``share``, counted in a worker from its first
    epoch; ``share`` is the number of processes printing such lines side by side (parallel
    folds or trials), so a stage prints about one line every ``LOG_EVERY`` seconds whatever
    runs in parallel."""

    def __init__(self, label: str, max_epochs: int | None = None,
                 interval: float | None = None, share: int = 1):
        self.label = label
        self.max_epochs = max_epochs
        self.interval = interval
        self.share = max(int(share), 1)

    def __call__(self, record: dict[str, Any]) -> None:
        global _last_line
        now = clock()
        if to_terminal():
            interval = TERMINAL_EVERY if self.interval is None else self.interval
        else:
            interval = LOG_EVERY * self.share if self.interval is None else self.interval
            if _last_line == float("-inf"):  # a worker's first epoch: the clock starts
                _last_line = now
        if now - _last_line < interval:
            return
        epoch = int(record.get("epoch", 0)) + 1
        total = f"/{self.max_epochs}" if self.max_epochs else ""
        line = f"[{self.label}] epoch {epoch}{total} loss {record.get('loss', float('nan')):.6g}"
        if record.get("val_loss") is not None:
            line += f" val_loss {record['val_loss']:.6g}"
        say(line)

"""A terminal progress bar for one or several concurrent fits: epoch, loss, learning rate.

:class:`ProgressBoard` keeps the latest per-epoch record of every labelled fit (CV folds, the
refit...) and renders them on one line, led by the estimated time left for all of them
(``ETA ~3m``, once one has finished): redrawn in place (``\\r``) on a terminal, printed as a
plain line of the running fits at most every ``plain_every`` seconds otherwise (a log file, or
``CI`` set: :func:`gdlab.experiment.progress.to_terminal`). It is fed from one thread; it
never computes.
"""

from __future__ import annotations

import shutil
import sys
import threading
from dataclasses import dataclass
from typing import Any, TextIO

from gdlab.experiment import progress
from gdlab.experiment.progress import LOG_EVERY, Eta, to_terminal


@dataclass
class _Fit:
    label: str
    max_epochs: int | None
    epoch: int = 0
    loss: float | None = None
    learning_rate: float | None = None
    done: bool = False
    stopped: bool = False  # cut short (an interrupt, a failure): not "done"


def _epochs(n: int) -> str:
    """``1 epoch``, ``40 epochs``: how far a finished or stopped fit got."""
    return f"{n} epoch" + ("" if n == 1 else "s")


def bar(fraction: float, width: int = 12) -> str:
    """``███████░░░░░`` for ``fraction`` in [0, 1]."""
    fraction = min(max(fraction, 0.0), 1.0)
    full = int(round(fraction * width))
    return "█" * full + "░" * (width - full)


def describe(fit: _Fit, width: int = 12) -> str:
    """One fit's part of the line: label, bar, epochs, loss, learning rate. ``width`` 0 (a
    log): ``[label] epoch 18/100 ...``, as the other stages' epoch lines, without a bar."""
    total = f"/{fit.max_epochs}" if fit.max_epochs else ""
    fraction = 1.0 if fit.done else (fit.epoch / fit.max_epochs if fit.max_epochs else 0.0)
    if width:
        parts = [f"{fit.label} {bar(fraction, width)} {fit.epoch}{total}"]
    else:
        parts = [f"[{fit.label}] epoch {fit.epoch}{total}"]
    if fit.loss is not None:
        parts.append(f"loss {fit.loss:.4g}")
    if fit.learning_rate is not None:
        parts.append(f"lr {fit.learning_rate:.3g}")
    if fit.done:
        parts.append("✓")
    return " ".join(parts)


class ProgressBoard:
    """The progress of every registered fit, drawn on one line of ``stream`` (stderr)."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None,
                 plain_every: float = LOG_EVERY):
        self.stream = stream or sys.stderr
        self.enabled = not progress.silenced() if enabled is None else enabled
        self.tty = to_terminal(self.stream)
        self.plain_every = plain_every
        self._fits: dict[str, _Fit] = {}
        self._eta: Eta | None = None  # over every registered fit, from the first one's add
        self._last_plain = float("-inf")
        self._drawn = False
        self._lock = threading.RLock()

    def add(self, key: str, label: str, max_epochs: int | None) -> None:
        with self._lock:
            self._fits[key] = _Fit(label, max_epochs)
            if self._eta is None:
                self._eta = Eta(None)
            self._eta.total = len(self._fits)

    def update(self, key: str, record: dict[str, Any]) -> None:
        with self._lock:
            fit = self._fits.get(key)
            if fit is None:
                return
            fit.epoch = int(record.get("epoch", 0)) + 1
            fit.loss = record.get("loss")
            fit.learning_rate = record.get("learning_rate")

    def finish(self, key: str, *, stopped: bool = False) -> None:
        """Mark a fit finished, or ``stopped`` before its end (it leaves the line while
        others run)."""
        with self._lock:
            fit = self._fits.get(key)
            if fit is not None:
                if not fit.done and not stopped and self._eta is not None:
                    self._eta.tick()
                fit.done = True
                fit.stopped = stopped

    def print_line(self, message: str) -> None:
        """Print a message line above the bar (for :func:`gdlab.experiment.progress.say`)."""
        with self._lock:
            if self.tty and self._drawn:
                self.stream.write("\r\x1b[K")
                self._drawn = False
            self.stream.write(message + "\n")
            self.stream.flush()
            if self.tty:
                self.draw()

    def line(self, columns: int | None = None, *, plain: bool = False) -> str:
        """The terminal's line: the fits still running and a note of the finished ones,
        fitted to ``columns`` characters. ``plain`` (a log): the running fits whole, and the
        stopped ones; the finished ones have had their 'fold k/K done' lines."""
        with self._lock:
            fits = list(self._fits.values())
        running = [f for f in fits if f.epoch and not f.done]
        finished = [] if plain else [f for f in fits if f.epoch and f.done and not f.stopped]
        stopped = [f for f in fits if f.epoch and f.stopped]
        width = 0 if plain else 12 if len(running) <= 2 else 6
        eta = self._eta.text() if self._eta is not None and running and not stopped else ""
        parts = [] if plain or not eta else [eta]
        parts += [describe(f, width) for f in running]
        for note, group in (("done", finished), ("stopped", stopped)):
            if group:  # compact: label and epochs run
                listed = ", ".join(f"{f.label} ({_epochs(f.epoch)})" for f in group)
                parts.append(f"{note}: {listed}")
        text = " │ ".join(parts)
        if plain:
            return f"{text}; {eta}" if text and eta else text
        columns = columns or shutil.get_terminal_size((120, 20)).columns
        return text if len(text) < columns else text[: max(columns - 2, 10)] + "…"

    def draw(self, force: bool = False) -> None:
        """Redraw the line (terminal) or print it when ``plain_every`` seconds passed."""
        if not self.enabled:
            return
        with self._lock:
            text = self.line(plain=not self.tty)
            if not text:
                return
            if self.tty:
                self.stream.write("\r" + text + "\x1b[K")
                self._drawn = True
            else:
                now = progress.clock()
                if not force and now - self._last_plain < self.plain_every:
                    return
                self._last_plain = now
                self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Leave the last state on screen and move to a new line."""
        with self._lock:
            if self.enabled and self._fits:
                self.draw(force=True)
                if self.tty and self._drawn:
                    self.stream.write("\n")
                    self.stream.flush()
                    self._drawn = False

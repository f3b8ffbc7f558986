"""Progress lines on stderr (fold k/K, epoch, loss); silent when the ``CI`` variable is set.

``EpochProgress`` is a picklable estimator callback (``cb(record)``), so it travels to joblib
workers; it prints at most every ``interval`` seconds plus the first epoch.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any


def quiet() -> bool:
    """True when progress output is off: ``CI`` is set (to anything but "" / "0" / "false")."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


_printer: Callable[[str], None] | None = None


def set_printer(printer: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Route :func:`say` through ``printer`` (a progress bar that keeps its own line below the
    messages); ``None`` restores plain printing. Returns the previous printer."""
    global _printer
    previous, _printer = _printer, printer
    return previous


def say(message: str) -> None:
    """Print one progress line to stderr unless ``quiet()``."""
    if not quiet():
        if _printer is not None:
            _printer(message)
        else:
            print(message, file=sys.stderr, flush=True)


def seconds(duration: float) -> str:
    """A duration for a progress line: ``0.043s``, ``1.2s``, ``75s`` (never a bare 0.0s)."""
    if duration < 1.0:
        return f"{duration:.2g}s"
    return f"{duration:.1f}s" if duration < 60 else f"{duration:.0f}s"


class EpochProgress:
    """Estimator callback printing ``[label] epoch e loss ... val_loss ...`` now and then."""

    def __init__(self, label: str, max_epochs: int | None = None, interval: float = 2.0):
        self.label = label
        self.max_epochs = max_epochs
        self.interval = interval
        self._last = 0.0

    def __call__(self, record: dict[str, Any]) -> None:
        now = time.monotonic()
        if record.get("epoch", 0) != 0 and now - self._last < self.interval:
            return
        self._last = now
        epoch = int(record.get("epoch", 0)) + 1
        total = f"/{self.max_epochs}" if self.max_epochs else ""
        line = f"[{self.label}] epoch {epoch}{total} loss {record.get('loss', float('nan')):.6g}"
        if record.get("val_loss") is not None:
            line += f" val_loss {record['val_loss']:.6g}"
        say(line)

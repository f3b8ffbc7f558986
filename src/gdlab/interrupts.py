"""Ctrl-C or SIGTERM while a stage script is still starting: one line, not a traceback.

A stage spends its first seconds importing MLflow, scikit-learn, pandas, ...; an interrupt
then printed a ``KeyboardInterrupt`` traceback through the import machinery and exited -2
(SIGTERM: -15, silently). :func:`quiet_interrupts`, called at the top of each stage script
before those imports, makes it ``<stage>: interrupted (SIGINT); rerun `dvc repro` to
continue`` and exit 128 + signal, as an interrupt outside the stage's MLflow run does later
(:func:`~gdlab.tracking.safety.stage_exit` handles the signals while the stage works). Only
the standard library is imported here.
"""

from __future__ import annotations

import signal
import sys
from typing import Any


def interrupted_text(stage: str, signum: int) -> str:
    """``train: interrupted (SIGINT)``: how every interrupt line of a stage begins."""
    return f"{stage}: interrupted ({signal.Signals(signum).name})"


def quiet_interrupts(stage: str) -> None:
    """From now on SIGINT and SIGTERM print one line for ``stage`` and exit 128 + signal."""

    def handler(signum: int, _frame: Any) -> None:
        sys.stderr.write(f"{interrupted_text(stage, signum)}; rerun `dvc repro` to continue\n")
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)

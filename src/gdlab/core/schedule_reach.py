"""Whether a learning-rate schedule can change the rate before a fit stops: pure rules.

Shared by the estimators (a ``UserWarning`` at ``fit``) and the params schema
(:mod:`gdlab.config.schedule_reach`, which refuses or warns in ``validate``); standard
library only, so the engine and the schema both import it.

The learning rate of epoch ``e`` (from 0) is the schedule's value after ``e`` steps
(:mod:`gdlab.core.schedules`), so a fit of ``epochs`` epochs uses the rates of epochs
``0 .. epochs - 1``:

* ``step`` first lowers the rate in epoch ``step_size``: never when ``step_size >= epochs``;
* ``multistep`` lowers it in each milestone epoch: never when every milestone is
  ``>= epochs``;
* after a warm-up, the ``then`` schedule counts its epochs from the end of the warm-up
  (``epochs - warmup_epochs`` of them).

``plateau`` and the ``tol`` stopping rule count bad epochs of the same loss. Plateau's bad
epoch (a relative improvement below ``threshold``) is a bad epoch of the stopping rule (an
improvement below ``tol``) whenever ``threshold × loss < tol``, so the stopping count is
never behind plateau's; plateau lowers the rate when its count exceeds ``patience``, the
stop comes when the stopping count reaches ``n_iter_no_change``: with
``patience >= n_iter_no_change - 1`` the stop comes first, or in the same epoch, before the
lowered rate is used (:func:`plateau_outwaited`). A loss of ``tol / threshold`` or more breaks
that chain, so callers warn rather than refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PLATEAU_PATIENCE = 10
"""``plateau``'s default ``patience`` (:class:`gdlab.core.schedules.Plateau`)."""


def unreachable_parameter(name: str, values: Mapping[str, Any], epochs: int) -> str | None:
    """The parameter (``"step_size"`` or ``"milestones"``) that makes the ``step`` /
    ``multistep`` schedule ``name`` (its ``values``) first change the rate at or after
    ``epochs``, the epochs it runs for; None when it changes it in time (or is another
    schedule, or its values are not numbers: refused elsewhere)."""
    if name == "step":
        size = values.get("step_size")
        if isinstance(size, int) and not isinstance(size, bool) and size >= epochs:
            return "step_size"
    if name == "multistep":
        milestones = values.get("milestones")
        try:
            if milestones and min(milestones) >= epochs:
                return "milestones"
        except TypeError:
            return None
    return None


def plateau_outwaited(patience: int, n_iter_no_change: int) -> bool:
    """Whether the ``tol`` rule (``n_iter_no_change`` epochs without improvement) ends a fit
    before ``plateau`` (``patience``) can lower the rate (see the module docstring)."""
    return patience >= n_iter_no_change - 1

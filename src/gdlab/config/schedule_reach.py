"""Schedules that cannot lower the learning rate before training ends.

Epochs are counted from 0 and the learning rate of epoch ``e`` is the schedule's value after
``e`` steps (:mod:`gdlab.core.schedules`), so a fit of ``max_epochs`` epochs uses the rates of
epochs ``0 .. max_epochs - 1``:

* ``step`` first lowers the rate in epoch ``step_size``: never when ``step_size >= max_epochs``;
* ``multistep`` lowers it in each milestone epoch: never when every milestone is
  ``>= max_epochs``;
* after a warm-up, the ``then`` schedule counts its epochs from the end of the warm-up, so the
  same rules hold with ``max_epochs - warmup_epochs``.

The rules themselves are :mod:`gdlab.core.schedule_reach`'s (the estimators warn by them at
``fit``). Those are refused in params.yaml (:func:`unreachable_problems`): nothing at run time could
change them. They are inert (:attr:`gdlab.config.errors.Problem.inert`), not broken: a
tune.space value or a compare value that gives one (the max_epochs 20 end of a range with
step_size 30) is a legitimate, constant point of the sweep and is accepted.

``plateau`` and the stopping rule (``train.tol``, ``train.n_iter_no_change``) count bad epochs
of the same loss (the validation loss with ``early_stopping``, else the training loss).
Plateau's bad epoch (a relative improvement below ``threshold``) is a bad epoch of the
stopping rule (an improvement below ``tol``) whenever ``threshold × loss < tol`` (with the
defaults: the loss is below 1), so the stopping rule's count is never behind plateau's.
Plateau lowers the rate when its count exceeds ``patience``; the stop comes when the stopping
count reaches ``n_iter_no_change``: with ``patience >= n_iter_no_change - 1`` the stop comes
first, or in the same epoch, before the lowered rate is used. A loss of ``tol / threshold``
or more (an unscaled regression target) breaks that chain, so this is a warning
(:func:`plateau_stopping_warning`), not a refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gdlab.config.errors import Problem
from gdlab.core.schedule_reach import plateau_outwaited, unreachable_parameter
from gdlab.core.schedules import epochs_after_warmup

if TYPE_CHECKING:
    from gdlab.config.schema import Params


def unreachable_problems(
    name: str, values: dict[str, Any], epochs: int, prefix: str, span: str
) -> list[Problem]:
    """Problems of a ``step`` / ``multistep`` schedule (its resolved ``values``, at
    ``prefix``) whose first change comes at or after ``epochs``, the epochs it runs for
    (``span`` says what those are, e.g. ``train.max_epochs (100)``)."""
    which = unreachable_parameter(name, values, epochs)
    if which == "step_size":
        size = values["step_size"]
        return [
            Problem(
                f"{prefix}.step_size",
                f"{size} is not below {span}: step lowers the rate every step_size epochs, "
                f"first in epoch {size + 1}, which training never reaches (the schedule "
                f"would be constant); use a step_size below {epochs} or schedule constant",
                f"1 to {epochs - 1}" if epochs > 1 else "no value: use schedule constant",
                inert=True,
            )
        ]
    if which == "milestones":
        milestones = values["milestones"]
        return [
            Problem(
                f"{prefix}.milestones",
                f"{milestones}: every milestone is at or after {span}, so training never "
                f"reaches one and the learning rate never changes; put milestones below "
                f"{epochs} (e.g. [{epochs // 3}, {2 * epochs // 3}]) or use schedule constant",
                f"at least one milestone from 0 to {epochs - 1}",
                inert=True,
            )
        ]
    return []


def schedule_reach_problems(params: Params, full: dict[str, Any]) -> list[Problem]:
    """:func:`unreachable_problems` of ``schedule`` (resolved as ``full``) and, after a
    warm-up, of its ``then`` schedule."""
    name, max_epochs = params.schedule.name, params.train.max_epochs
    problems = unreachable_problems(
        name, full, max_epochs, "schedule.params", f"train.max_epochs ({max_epochs})"
    )
    if name == "warmup" and full["warmup_epochs"] < max_epochs:  # else refused on its own
        warm = full["warmup_epochs"]
        problems += unreachable_problems(
            full["then"],
            full["then_params"],
            epochs_after_warmup(warm, max_epochs),
            "schedule.params.then_params",
            f"the {max_epochs - warm} epochs after the warm-up (train.max_epochs "
            f"{max_epochs} - warmup_epochs {warm})",
        )
    return problems


def plateau_stopping_warning(params: Params) -> str | None:
    """A warning when ``schedule: plateau`` cannot lower the rate before ``train.tol``'s
    stopping rule ends the fit (see the module's docstring), else None."""
    if params.schedule.name != "plateau" or params.train.tol is None:
        return None
    full = params.schedule.resolved_params(params.train.max_epochs)
    patience, stop = full["patience"], params.train.n_iter_no_change
    if not plateau_outwaited(patience, stop):
        return None
    tol, threshold = params.train.tol, full["threshold"]
    below = f"below tol / threshold = {tol / threshold:.3g}" if threshold else "any loss"
    fix = (
        f"set schedule.params.patience to {stop - 2} or less (e.g. {min(5, stop - 2)})"
        if stop >= 2
        else f"raise train.n_iter_no_change above {patience + 1}"
    )
    return (
        f"schedule.params.patience ({patience}) is not below train.n_iter_no_change ({stop}) "
        f"- 1: the stopping rule ends training before plateau can lower the learning rate "
        f"(plateau waits for more than patience epochs without a relative improvement of "
        f"threshold {threshold}; training stops after n_iter_no_change epochs without an "
        f"improvement above train.tol {tol}; for a loss {below} every epoch plateau counts, "
        f"the stopping rule counts too), so the fit equals schedule constant. {fix[0].upper()}"
        f"{fix[1:]}, or set train.tol: null to run all train.max_epochs"
    )

"""A learning-rate schedule that never changed the rate in any fold, and why.

``validate`` refuses a ``step`` / ``multistep`` schedule that cannot act within
``train.max_epochs`` (:mod:`gdlab.config.schedule_reach`). Whether it acts before ``train.tol``
ends a fit is only known once the folds ran: with the default problem every fit stops after
~24 epochs, before ``step_size`` 30 or the milestone 30. :func:`idle_schedule_warning` reads
the folds' ``learning_rate`` curves and, when the rate never changed in any of them (after
the warm-up for ``warmup``), says so with the epochs the fits stopped at and what stopped them.
Plug-in schedules and ``constant`` are not checked; nor is a schedule whose rates over all
``max_epochs`` never change (a ``gamma`` of 1: nothing to lower).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from gdlab.core.schedules import make_schedule


class _Fold(Protocol):
    curves: Mapping[str, Sequence[float | None]]


_SHOWN = {"step": ("step_size",), "multistep": ("milestones",), "exponential": ("gamma",),
          "cosine": ("T_max",), "invscaling": ("power_t",), "plateau": ("patience",)}
"""The parameters named when a schedule did not act."""


def _planned(name: str, lr: float, params: Mapping[str, Any], epochs: int) -> list[float]:
    """The rates of epochs ``0 .. epochs - 1`` of an epoch schedule."""
    schedule = make_schedule(name, lr, params)
    rates: list[float] = []
    for _ in range(epochs):
        rates.append(float(schedule.learning_rate))
        schedule.step(None)
    return rates


def _first_change(rates: Sequence[float]) -> int | None:
    """Index of the first epoch whose rate differs from epoch 0's, or None."""
    return next((e for e, r in enumerate(rates) if r != rates[0]), None)


def _described(name: str, params: Mapping[str, Any]) -> str:
    keys = _SHOWN.get(name, ())
    return f"{name} (" + ", ".join(f"{k} {params[k]}" for k in keys if k in params) + ")" \
        if keys else name


def idle_schedule_warning(params: Any, folds: Sequence[_Fold]) -> str | None:
    """Why the schedule of ``params`` (validated :class:`gdlab.config.Params`) never changed
    the learning rate in any of ``folds`` (each with a ``learning_rate`` curve), or None when
    it did in one of them, when it is not one that changes the rate, or there are no folds."""
    name, max_epochs = params.schedule.name, params.train.max_epochs
    curves = [[r for r in f.curves.get("learning_rate", []) if r is not None] for f in folds]
    if name == "constant" or ":" in name or not curves or not all(curves):
        return None
    full = params.schedule.resolved_params(max_epochs)
    start = 0
    if name == "warmup":
        name, start, full = full["then"], full["warmup_epochs"], full["then_params"]
        if name == "constant" or ":" in name:
            return None
    if any(len(set(c[start:])) > 1 for c in curves):
        return None
    epochs = sorted(len(c) for c in curves)
    ran = f"{epochs[0]}" if epochs[0] == epochs[-1] else f"{epochs[0]}-{epochs[-1]}"
    what = _described(name, full)
    after, constant = "", "schedule constant"
    if start:
        what = f"warmup then {what}"
        after, constant = f" after the {start}-epoch warm-up", "a warm-up then constant"
    train = params.train
    ran_out = epochs[0] >= max_epochs  # no fold was ended by the tol rule
    if train.tol is None:
        stopped = "they ran all train.max_epochs"
    elif ran_out:
        stopped = f"they ran all train.max_epochs ({max_epochs}); train.tol never ended them"
    else:
        loss = "validation loss" if train.early_stopping else "training loss"
        stopped = (
            f"train.tol ({train.tol}) and train.n_iter_no_change ({train.n_iter_no_change}) "
            f"ended them ({train.n_iter_no_change} epochs without a {loss} improvement "
            f"above tol)"
        )
    head = f"schedule {what} never changed the learning rate{after} in any of the " \
        f"{len(curves)} folds: the fits stopped at epoch{'s' * (ran != str(epochs[0]))} {ran}"
    if name == "plateau":
        patience = full["patience"]
        if train.tol is None or ran_out:
            return (f"{head}, and the loss improved by more than threshold "
                    f"({full['threshold']}) at least every {patience + 1} epochs; "
                    "a smaller patience or a larger threshold lets plateau act")
        fix = "train.tol: null"
        example = min(train.n_iter_no_change // 2, patience - 1)
        if example >= 0:  # a patience the tol rule leaves room for, below the one that idled
            fix = (f"schedule.params.patience below train.n_iter_no_change - 1 "
                   f"(e.g. {example}), or {fix}")
        return (f"{head}, before {patience + 1} epochs without a relative improvement "
                f"of threshold ({full['threshold']}) let plateau act: {stopped}. The run "
                f"equals schedule constant; set {fix}")
    rates = _planned(name, params.optimizer.learning_rate, full, max_epochs - start)
    first = _first_change(rates)
    if first is None:  # e.g. gamma 1: it never changes the rate, whatever the fits do
        return None
    key = {"step": "schedule.params.step_size below", "multistep": "a milestone below"}
    earlier = key.get(name, "the schedule acting before epoch")
    if start:
        earlier = earlier.replace("schedule.params.", "schedule.params.then_params.")
    return (f"{head}, before epoch {start + first + 1}, where {name} would first change it: "
            f"{stopped}. The run equals {constant}; set train.tol: null to run all "
            f"train.max_epochs, or {earlier} {max(epochs[0] - start, 1)}")


def warn_idle_schedule(stage: str, params: Any, folds: Sequence[_Fold]) -> None:
    """Print :func:`idle_schedule_warning` on stderr as ``<stage>: warning: ...``, if any."""
    warning = idle_schedule_warning(params, folds)
    if warning:
        print(f"{stage}: warning: {warning}", file=sys.stderr, flush=True)

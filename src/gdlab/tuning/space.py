"""The search space of ``tune.space`` as Optuna sees it: define-by-run suggestions (conditional
dimensions only when their ``when`` holds), the finite grid for ``GridSampler``, and the
learning-rate range centred on the LR range test's suggestion."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from gdlab.config.sections.tune import (
    SearchDimension,
    conditions_met,
    dimension_order,
    lattice_point,
    lattice_size,
)

LEARNING_RATE = "optimizer.learning_rate"


@dataclass(frozen=True)
class Space:
    """Dimensions in suggestion order (the ones named in a ``when`` come first)."""

    dims: dict[str, SearchDimension]

    @classmethod
    def from_config(cls, space: Mapping[str, SearchDimension | Mapping[str, Any]]) -> Space:
        dims = {
            k: v if isinstance(v, SearchDimension) else SearchDimension.model_validate(dict(v))
            for k, v in space.items()
        }
        order, complete = dimension_order(dims)
        if not complete:
            raise ValueError("tune.space: the when conditions form a cycle or name no dimension")
        return cls({k: dims[k] for k in order})

    @property
    def conditional(self) -> bool:
        """True when some dimension has a ``when`` condition."""
        return any(d.when for d in self.dims.values())

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Ask ``trial`` for every active dimension; returns ``{dotted path: value}`` (the
        overrides to apply to params)."""
        chosen: dict[str, Any] = {}
        for key, dim in self.dims.items():
            if conditions_met(dim.when, chosen):
                chosen[key] = _suggest(trial, key, dim)
        return chosen

    def active(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values of dimensions active under ``values`` (a trial's params, as Optuna
        stores them: list choices as their JSON text), in suggestion order, as params take
        them (list choices as lists)."""
        chosen: dict[str, Any] = {}
        for key, dim in self.dims.items():
            if key in values and conditions_met(dim.when, chosen):
                chosen[key] = from_optuna(dim, values[key])
        return chosen

    def grid(self, points: int) -> dict[str, list[Any]]:
        """Candidate values per dimension for ``GridSampler`` (as Optuna stores them): the
        choices, or ``points`` values spread over a range (log-spaced with ``log``, on the
        ``step`` lattice)."""
        return {
            key: [to_optuna(v) for v in grid_values(dim, points)] for key, dim in self.dims.items()
        }

    def grid_size(self, points: int) -> int:
        """Number of grid points (the product over dimensions, conditional ones included)."""
        return int(np.prod([len(v) for v in self.grid(points).values()]))

    def centred(self, key: str, centre: float, decades: float) -> Space:
        """A copy whose ``key`` range is ``centre · 10^±decades`` (log-uniform)."""
        if key not in self.dims:
            return self
        old = self.dims[key]
        new = SearchDimension(
            type="float",
            low=_nice(centre * 10.0**-decades),
            high=_nice(centre * 10.0**decades),
            log=True,
            when=dict(old.when),
        )
        return Space({k: (new if k == key else v) for k, v in self.dims.items()})

    def distributions(self) -> dict[str, BaseDistribution]:
        """Each dimension's Optuna distribution, as a trial asking for it records it (see
        :func:`distribution`)."""
        return {key: distribution(dim) for key, dim in self.dims.items()}

    def dump(self) -> dict[str, Any]:
        """Plain data (for hashing, logging and worker processes)."""
        return {k: v.model_dump(mode="json") for k, v in self.dims.items()}


def config_key(values: Mapping[str, Any]) -> str:
    """A canonical text of a trial's active values: equal configurations, equal keys."""
    return json.dumps(dict(sorted(values.items())), sort_keys=True)


def to_optuna(value: Any) -> Any:
    """A choice as Optuna stores it: a list (a choice for a list-valued key such as
    ``optimizer.params.betas``) as its JSON text, which Optuna's categorical distributions
    and storages keep; any other value as it is."""
    return json.dumps(value) if isinstance(value, list) else value


def from_optuna(dim: SearchDimension, value: Any) -> Any:
    """The inverse of :func:`to_optuna` for a value of ``dim``: the list choice whose JSON
    text ``value`` is, else ``value``."""
    for choice in dim.choices or ():
        if isinstance(choice, list) and value == json.dumps(choice):
            return list(choice)
    return value


def distribution(dim: SearchDimension) -> BaseDistribution:
    """The Optuna distribution of ``dim``: the one :func:`_suggest`'s call records in the
    trial (Optuna builds it from the same arguments)."""
    kind = dim.kind
    if kind == "categorical":
        return CategoricalDistribution([to_optuna(c) for c in dim.choices or []])
    if kind == "int":
        return IntDistribution(int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log)
    return FloatDistribution(float(dim.low), float(dim.high), step=dim.step, log=dim.log)


def _suggest(trial: Any, key: str, dim: SearchDimension) -> Any:
    kind = dim.kind
    if kind == "categorical":
        stored = [to_optuna(c) for c in dim.choices or []]
        return from_optuna(dim, trial.suggest_categorical(key, stored))
    if kind == "int":
        return trial.suggest_int(
            key, int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log
        )
    return trial.suggest_float(key, float(dim.low), float(dim.high), step=dim.step, log=dim.log)


def grid_values(dim: SearchDimension, points: int) -> list[Any]:
    """The grid of one dimension (see :meth:`Space.grid`). With ``step``, up to ``points``
    values of the lattice ``low + k·step`` spread from ``low`` to ``high`` (which the schema
    keeps on it), computed as Optuna checks them, so every one is a value the dimension's
    distribution contains; never a value outside ``[low, high]``."""
    if dim.choices is not None:
        return list(dim.choices)
    low, high = float(dim.low), float(dim.high)  # type: ignore[arg-type]
    if dim.step is not None:
        size = lattice_size(dim.low, dim.high, dim.step)  # type: ignore[arg-type]
        idx = np.unique(np.round(np.linspace(0, size - 1, min(points, size))))
        lattice = [lattice_point(dim.low, dim.step, int(k)) for k in idx]  # type: ignore[arg-type]
        if dim.kind == "int":
            return [int(v) for v in lattice]
        return [float(v) for v in lattice]
    if dim.log:
        values = np.geomspace(low, high, points)
    else:
        values = np.linspace(low, high, points)
    if dim.kind == "int":
        return sorted({int(round(v)) for v in values})
    out = [_nice(v) for v in values]
    out[0], out[-1] = low, high
    return sorted(set(out))


def _nice(value: float) -> float:
    """``value`` to 4 significant digits (readable grid points and ranges)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.4g}")

"""One run of each plug-in model's probe per validate: validate checks params.yaml and then
every variant of it (each compare value, each tune choice), which all name the same plug-in
model in the same dtype, and the probe (:func:`gdlab.core.plugins.probe_model`) ran for each
of them (23 runs of the plug-in's code for the shipped params.yaml). Within
:func:`probe_scope` (which :func:`gdlab.config.loader.validate_params` enters, and nested
calls share) each distinct probe runs once and its problems are reused; outside one, a probe
runs every time."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from gdlab.config.errors import Problem

_RESULTS: ContextVar[dict[Hashable, list[Problem]] | None] = ContextVar(
    "gdlab_plugin_probes", default=None)
"""The probes run in the current scope, by what was probed; None outside a scope."""


@contextmanager
def probe_scope() -> Iterator[None]:
    """Share probe results until the outermost scope ends (an inner one joins it)."""
    if _RESULTS.get() is not None:
        yield
        return
    token = _RESULTS.set({})
    try:
        yield
    finally:
        _RESULTS.reset(token)


def probed_once(what: Hashable, probe: Callable[[], list[Problem]]) -> list[Problem]:
    """The problems ``probe()`` finds for ``what`` (e.g. plug-in path, its params, dtype),
    run once per :func:`probe_scope`."""
    results = _RESULTS.get()
    if results is None:
        return probe()
    if what not in results:
        results[what] = probe()
    return list(results[what])

"""Shared helpers for the config tests: build params dicts from dotted overrides."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gdlab.config import ConfigError, Params, validate_params

BASE: dict[str, Any] = Params().model_dump(mode="json")


def params_dict(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default parameters as a plain dict, with dotted keys set."""
    data = copy.deepcopy(BASE)
    for key, value in (overrides or {}).items():
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return data


def config_error(overrides: dict[str, Any]) -> ConfigError:
    """The ConfigError these overrides cause (fails the test when they are accepted)."""
    with pytest.raises(ConfigError) as info:
        validate_params(params_dict(overrides))
    return info.value


def assert_problem(err: ConfigError, path: str, fragment: str = "") -> None:
    """``err`` lists a problem at ``path`` whose text contains ``fragment``."""
    lines = [str(p) for p in err.problems if p.path == path]
    assert lines, f"no problem at {path!r} in:\n{err}"
    assert any(fragment in line for line in lines), f"{fragment!r} not in {lines}"
    assert f"  {path}: " in str(err)

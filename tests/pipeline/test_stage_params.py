"""The stages that train the configured pipeline (tune, train, compare) declare, as DVC params,
every parameter the pipeline is built from: a change to any of them must make DVC rerun them
(a missing one leaves a stale model that ``dvc repro`` calls up to date)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from gdlab.config import load_params, with_overrides
from gdlab.experiment import build_pipeline

REPO = Path(__file__).resolve().parents[2]
TRAINING_STAGES = ("tune", "train", "compare")
# run_training and the tuning objective read these beside build_pipeline
ALSO_READ = {"cv.folds", "seed"}


class _Recorder:
    """Stands for a validated params object and records the dotted path of every value read."""

    def __init__(self, obj: Any, path: str, seen: set[str]):
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_seen", seen)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._obj, name)
        path = f"{self._path}.{name}" if self._path else name
        if isinstance(value, BaseModel):
            return _Recorder(value, path, self._seen)
        if not callable(value):
            self._seen.add(path)
        return value


def _declared(stage: str) -> list[str]:
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]
    keys: list[str] = []
    for entry in spec.get("params", []):
        if isinstance(entry, dict):
            for values in entry.values():
                keys.extend(values or [])
        else:
            keys.append(entry)
    return keys


def _read_by_pipeline(overrides: dict) -> set[str]:
    params = with_overrides(load_params(REPO / "params.yaml"), overrides)
    seen: set[str] = set()
    build_pipeline(_Recorder(params, "", seen))
    return seen | ALSO_READ


CONFIGS = {
    "default": {},
    "imputing": {"data.missing": "median"},
    "mlp-adam-cosine": {"model.kind": "mlp", "optimizer.name": "adam",
                        "schedule.name": "cosine", "schedule.params": {"T_max": 10}},
}


@pytest.mark.parametrize("stage", TRAINING_STAGES)
@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_every_parameter_the_pipeline_reads_is_a_declared_param(stage, config):
    declared = _declared(stage)
    read = _read_by_pipeline(CONFIGS[config])
    assert "data.missing" in read  # the recorder sees the preprocessing's parameters
    undeclared = sorted(p for p in read
                        if not any(p == d or p.startswith(f"{d}.") for d in declared))
    assert not undeclared, f"dvc.yaml stage {stage!r} does not declare {undeclared}"

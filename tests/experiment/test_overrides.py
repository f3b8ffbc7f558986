"""Tuned overrides are applied by dotted path and re-validated by the params schema."""

import json

import pydantic
import pytest

from gdlab.experiment import apply_overrides, load_overrides


class Optimizer(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    name: str = "adam"
    learning_rate: float = pydantic.Field(0.01, gt=0)


class Params(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    seed: int = 0
    optimizer: Optimizer = Optimizer()


def test_missing_file_means_no_overrides(tmp_path):
    assert load_overrides(tmp_path / "absent.json") == {}


def test_flat_and_nested_documents(tmp_path):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"optimizer.learning_rate": 0.003}))
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"params": {"optimizer.name": "sgd"}, "score": 1.0}))
    assert load_overrides(flat) == {"optimizer.learning_rate": 0.003}
    assert load_overrides(nested) == {"optimizer.name": "sgd"}


def test_apply_overrides_validates():
    params = Params()
    tuned = apply_overrides(params, {"optimizer.learning_rate": 0.5, "seed": 3})
    assert tuned.optimizer.learning_rate == 0.5 and tuned.seed == 3
    assert params.optimizer.learning_rate == 0.01
    with pytest.raises(pydantic.ValidationError):
        apply_overrides(params, {"optimizer.learning_rate": -1.0})
    with pytest.raises(ValueError, match="not a known parameter"):
        apply_overrides(params, {"optimizer.momentum": 0.9})

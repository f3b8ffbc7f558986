"""Fixtures for the data tests: small params and a helper that writes CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdlab.config import validate_params
from tests.config.helpers import params_dict


def make_params(**overrides):
    """Validated params from dotted overrides given as keyword args with ``__`` for ``.``."""
    return validate_params(params_dict({k.replace("__", "."): v for k, v in overrides.items()}))


@pytest.fixture
def small():
    """Small synthetic classification params."""
    return make_params(
        data__synthetic__n_samples=300,
        data__synthetic__n_features=5,
        data__synthetic__n_informative=3,
    )


@pytest.fixture
def write_csv(tmp_path: Path):
    """``write_csv(text, name="d.csv", encoding="utf-8") -> Path``."""

    def write(text: str, name: str = "d.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write

"""Fixtures of the fairness tests: the shared baseline project (see harness.py)."""

from __future__ import annotations

import pytest

from tests.reliability.harness import Project, shared_baseline


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> Project:
    return shared_baseline(tmp_path_factory)


@pytest.fixture
def untouched(baseline):
    """Asserts after the test that the baseline's outputs, runs and registry did not change,
    and restores its good params.yaml."""
    before = baseline.snapshot()
    yield baseline
    baseline.write_params()
    after = baseline.snapshot()
    assert after.files == before.files, "stage outputs changed"
    assert after.runs == before.runs, "MLflow runs were added or changed status"
    assert after.versions == before.versions, "model versions changed"
    assert after.aliases == before.aliases, "registry aliases moved"

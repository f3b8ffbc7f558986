"""A user's CSV under data/raw/ is a DVC dependency of validate and prepare: editing it makes
``dvc repro`` prepare the data again (a file elsewhere is read too, with a warning that DVC
cannot see it change)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gdlab.data import dataset_digest

from .conftest import Project

pytestmark = pytest.mark.slow


def _csv(path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["price"] = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=120)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def csv_project(tmp_path_factory) -> Project:
    project = Project.copied(tmp_path_factory.mktemp("raw"), {
        "data": {"source": "csv", "path": "data/raw/houses.csv", "target": "price",
                 "sensitive": None, "synthetic": {"sensitive_group": False}},
        "model": {"task": "regression"},
        "fairness": {"max_equalized_odds_difference": None},
    })
    _csv(project.root / "data/raw/houses.csv", seed=0)
    project.commit_all()
    return project


def test_editing_the_csv_reruns_prepare(csv_project):
    csv_project.dvc("repro", "prepare", timeout=300)
    assert "up to date" in csv_project.dvc("status", "prepare").stdout
    before = dataset_digest(csv_project.root / "data/prepared")
    _csv(csv_project.root / "data/raw/houses.csv", seed=1)  # the user fixes their data
    status = csv_project.dvc("status", "prepare").stdout
    assert "data/raw" in status and "modified" in status
    csv_project.dvc("repro", "prepare", timeout=300)
    assert dataset_digest(csv_project.root / "data/prepared") != before


def test_a_csv_outside_data_raw_is_read_with_a_warning(csv_project):
    root = csv_project.root
    _csv(root / "elsewhere.csv", seed=2)
    params = csv_project.params()
    params["data"]["path"] = "elsewhere.csv"
    csv_project.write_params(params)
    proc = csv_project.run("python", "pipeline/validate.py")
    assert "validate: warning: data.path: elsewhere.csv is outside data/raw/" in proc.stderr

"""The compare stage under the real DVC: a disabled comparison's outputs survive experiments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.pipeline.conftest import Project

pytestmark = pytest.mark.slow

COMPARE_OUTPUTS = ("reports/compare", "reports/figures/compare")
TINY = {
    "data": {"synthetic": {"n_samples": 200, "n_features": 3, "n_informative": 2}},
    "train": {"max_epochs": 3},
    "cv": {"folds": 2, "n_jobs": 1},
    "tune": {"enabled": False},
    "compare": {"values": ["sgd"]},
}


def _compare_only(root: Path) -> None:
    """dvc.yaml with the compare stage, the stages it needs and its plots only (no train: a
    whole pipeline per experiment would cost a minute, and ``dvc exp apply`` fails to check out
    a stage's cached outputs that never ran)."""
    path = root / "dvc.yaml"
    pipeline = yaml.safe_load(path.read_text())
    pipeline["stages"] = {k: pipeline["stages"][k] for k in ("validate", "prepare", "compare")}
    pipeline["plots"] = [p for p in pipeline["plots"] if _draws_compare_outputs(p)]
    assert len(pipeline["plots"]) == 3, pipeline["plots"]
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))


def _draws_compare_outputs(plot: str | dict) -> bool:
    """A plot of dvc.yaml named by a compare output, or drawn from one (``y: {file: ...}``)."""
    if not isinstance(plot, dict):
        return plot.startswith(COMPARE_OUTPUTS)
    ((name, spec),) = plot.items()
    files = list(spec["y"]) if isinstance(spec, dict) and isinstance(spec.get("y"), dict) else []
    return any(f.startswith(COMPARE_OUTPUTS) for f in [name, *files])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(root)): f.read_bytes()
        for top in COMPARE_OUTPUTS for f in sorted((root / top).rglob("*")) if f.is_file()
    }


def test_exp_apply_of_a_disabled_comparison_restores_its_outputs(tmp_path):
    """With compare.enabled: false the stage left reports/compare/curves and
    reports/figures/compare empty (DVC warned "'reports/compare/curves' is empty"), and both
    were `cache: false`: `dvc exp apply` of the disabled experiment after another one kept the
    other's curves and figures (apply keeps workspace files its commit lacks, and git keeps no
    empty directory), so `dvc status` reported the compare stage changed."""
    project = Project.copied(tmp_path, TINY)
    _compare_only(tmp_path)
    project.commit_all()

    off = project.dvc("exp", "run", "-n", "off", "-S", "compare.enabled=false")
    assert "is empty" not in off.stdout + off.stderr, off.stderr
    disabled = _snapshot(tmp_path)
    for top in ("reports/compare/curves", "reports/figures/compare"):
        assert any(name.startswith(top + "/") for name in disabled), (top, sorted(disabled))

    project.dvc("exp", "run", "-n", "on", "-S", "compare.enabled=true")
    assert (tmp_path / "reports/compare/curves/sgd.csv").is_file()

    project.dvc("exp", "apply", "off")
    assert json.loads(project.dvc("status", "compare", "--json").stdout) == {}
    assert _snapshot(tmp_path) == disabled

    shown = json.loads(project.dvc("plots", "show", "--json").stdout)
    assert not shown.get("errors"), shown["errors"]
    plotted = {name: [p["type"] for p in plots] for name, plots in shown["data"].items()}
    assert plotted == {  # the overlaid charts have no variant to draw (the header only)
        "compare_val_loss": [],
        "compare_train_loss": [],
        "reports/figures/compare/compare_disabled.svg": ["image"],
    }

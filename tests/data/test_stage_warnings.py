"""validate and prepare print the data warnings (one line each) and stop on a date column."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RAW = "data/raw/churn.csv"


def _stage(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_stage", REPO / "pipeline" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A git repository with params.yaml reading data/raw/churn.csv (not yet written)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "data/raw").mkdir(parents=True)
    params = {
        "data": {"source": "csv", "path": RAW, "target": "churn", "sensitive": None,
                 "min_rows_per_class": 2, "synthetic": {"sensitive_group": False}},
        "fairness": {"max_equalized_odds_difference": None},
        "cv": {"folds": 2},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(root: Path, first: str, values: list) -> None:
    rows = "".join(f"{v},{i % 7 * 0.5},{i % 2}\n" for i, v in enumerate(values))
    (root / RAW).write_text(f"{first},spend,churn\n{rows}")


def test_validate_and_prepare_warn_of_an_identifier_and_an_untracked_file(project, capsys):
    _write(project, "customer_id", range(1, 41))
    assert _stage("validate")(["--out", "validated.json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(
        line.startswith("validate: warning: column 'customer_id'") and "data.drop" in line
        for line in err
    ), err
    assert f"validate: warning: data.path: {RAW} is tracked by neither DVC nor git" in "\n".join(
        err
    )
    assert any(f"`dvc add {RAW}`" in line for line in err)

    assert _stage("prepare")(["--out", "prepared"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "warning" in line] == [
        line for line in err if line.startswith("prepare: warning: column 'customer_id'")
    ] != []


def test_validate_stops_on_a_date_column(project, capsys):
    _write(project, "order_date", [f"2024-01-{d % 28 + 1:02d}" for d in range(40)])
    assert _stage("validate")(["--out", "validated.json"]) == 1
    err = capsys.readouterr().err
    assert "validate: " in err and "column 'order_date' holds dates or times" in err
    assert not (project / "validated.json").exists()


@pytest.mark.parametrize("setting", [None, "off"])
def test_validate_and_prepare_say_their_phases_unless_silenced(project, capfd, monkeypatch,
                                                               setting):
    """The stages printed nothing between their start and their last line (a minute at a
    million rows); now a line as reading, checking and hashing, splitting and writing end,
    and GDLAB_PROGRESS=off silences those lines (not the stages' own last line)."""
    if setting is not None:
        monkeypatch.setenv("GDLAB_PROGRESS", setting)
    _write(project, "spend2", [i % 5 * 1.5 for i in range(40)])
    assert _stage("validate")(["--out", "validated.json"]) == 0
    assert _stage("prepare")(["--out", "prepared"]) == 0
    out, err = capfd.readouterr()
    phases = [line.rsplit(" in ", 1)[0] for line in err.splitlines()
              if "warning" not in line]
    assert phases == ([] if setting else [
        f"validate: read 40 rows x 3 columns ({RAW})",
        "validate: checked 40 rows (2 features) and hashed them for exact copies",
        "validate: split 32 train / 8 test rows",
        f"prepare: read 40 rows x 3 columns ({RAW})",
        "prepare: checked 40 rows (2 features) and hashed them for exact copies",
        "prepare: split 32 train / 8 test rows",
        "prepare: wrote 32 train / 8 test rows to prepared",
    ]), err
    assert "validate: params.yaml is valid" in out and "prepare: csv (classification" in out

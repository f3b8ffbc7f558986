"""Issue 7, acceptance 4: ``.github/workflows/ci.yml`` is a valid GitHub Actions workflow
(the JSON schema of workflows that check-jsonschema ships, checked offline) with the steps CI
needs, and ``make ci`` runs the same steps. ``make ci`` itself was run by hand (it reruns the
whole test suite, so it cannot be one of its tests)."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True; GitHub (YAML 1.2) reads it as "on"
    if True in data:
        data["on"] = data.pop(True)
    return data


def run_lines(workflow: dict) -> list[str]:
    return [step["run"].strip() for step in workflow["jobs"]["test"]["steps"] if "run" in step]


def test_workflow_matches_githubs_json_schema(workflow):
    import jsonschema

    resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((resource / "github-workflows.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(workflow), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_workflow_runs_on_push_and_pull_requests(workflow):
    triggers = workflow["on"]
    assert "main" in triggers["push"]["branches"]
    assert "pull_request" in triggers
    job = workflow["jobs"]["test"]
    assert job["runs-on"].startswith("ubuntu")
    assert job["timeout-minutes"] <= 90


def test_workflow_checks_out_history_and_installs_python_311(workflow):
    steps = workflow["jobs"]["test"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # main must be there to diff against
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(python["with"]["python-version"]) == "3.11"
    assert "bash scripts/install_postgres.sh" in run_lines(workflow)


def _make_prerequisites(target: str) -> list[str]:
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:([^#\n]*)", text, re.MULTILINE)
    assert match, f"no {target} target in the Makefile"
    return match.group(1).split()


def test_make_ci_runs_the_workflows_steps(workflow):
    """The workflow's make targets, in order, are the prerequisites of ``make ci``."""
    targets = [line.split()[1] for line in run_lines(workflow) if line.startswith("make ")]
    assert targets == ["install", "lint", "test", "ci-pipeline"]
    assert _make_prerequisites("ci") == targets
    assert "scripts/ci_pipeline.py" in (ROOT / "Makefile").read_text()


def test_ci_pipeline_reruns_dvc_and_diffs_against_main():
    source = (ROOT / "scripts" / "ci_pipeline.py").read_text()
    for command in ('[dvc, "repro"]', '"metrics", "diff", base', '"params", "diff", base'):
        assert command in source
    assert 'default=os.environ.get("GDLAB_CI_BASE", "main")' in source


def test_small_config_is_valid_on_top_of_params_yaml():
    import sys

    from gdlab.config import validate_params

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from ci_pipeline import deep_update
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    small = yaml.safe_load((ROOT / "scripts" / "ci_params.yaml").read_text())
    validated = validate_params(deep_update(params, small), "ci_params.yaml")
    assert validated.data.synthetic.n_samples <= 1000 and validated.cv.folds <= 3


def test_ci_run_installs_postgres_before_the_tests():
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    install = next(i for i, ln in enumerate(lines) if "scripts/install_postgres.sh" in ln)
    test = next(i for i, ln in enumerate(lines) if ln.startswith("make test"))
    assert install < test


@pytest.mark.slow
def test_ci_pipeline_reruns_the_pipeline_and_reports_the_diffs(tmp_path):
    """The step ``make ci-pipeline`` and the workflow run, executed: ``dvc repro`` on the small
    config in a throw-away worktree, then the metrics and params diffs against main, with the
    project's own tree untouched (until now only its source text was checked)."""
    from tests.pipeline.conftest import VENV_BIN, Project

    project = Project.copied(tmp_path / "repo")
    project.commit_all()  # branch main
    project.run("git", "checkout", "-q", "-b", "feature")
    own_params = (project.root / "params.yaml").read_text()
    # the shipped small config without the tuning and comparison stages (tested on their own),
    # to keep the suite's time down
    small = yaml.safe_load((ROOT / "scripts" / "ci_params.yaml").read_text())
    small["tune"] = {**small.get("tune", {}), "enabled": False}
    small["compare"] = {**small.get("compare", {}), "enabled": False}
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(small))
    report = tmp_path / "report.md"
    summary = tmp_path / "summary.md"
    project.env["GITHUB_STEP_SUMMARY"] = str(summary)
    proc = project.run(
        str(VENV_BIN / "python"), "scripts/ci_pipeline.py",
        "--params", str(tmp_path / "small.yaml"), "--report", str(report), timeout=900,
    )
    assert "Running stage 'train'" in proc.stdout and "Running stage 'register'" in proc.stdout
    text = report.read_text()
    assert summary.read_text() == text and text in proc.stdout
    metrics = text.split("### dvc metrics diff main", 1)[1].split("### dvc params diff", 1)[0]
    params = text.split("### dvc params diff main", 1)[1]
    # metrics of the small run (main has none yet): the test and CV metrics are listed
    for key in ("test.log_loss", "test.accuracy", "mean.log_loss"):
        assert re.search(rf"\| reports/\w+\.json\s*\| {re.escape(key)}\s*\|", metrics), metrics
    # the small config's values against main's params.yaml
    assert re.search(r"\| params\.yaml\s*\| data\.synthetic\.n_samples\s*\| 4000\s*\| 600\s*\|",
                     params), params
    assert (project.root / "params.yaml").read_text() == own_params
    assert not (project.root / "reports").exists() or not any(
        (project.root / "reports").rglob("metrics.json"))
    worktrees = project.run("git", "worktree", "list").stdout.strip().splitlines()
    assert len(worktrees) == 1, worktrees

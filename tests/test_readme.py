"""The README documents what issues 3 and 6 ask of it: the two commands (and what ``make run``
does), how to switch data, model, optimiser and schedule and compare runs, where every output
of dvc.yaml lands, and a section "When things go wrong" with a row for each failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The body of the section whose heading line is ``heading`` (``## …`` or ``### …``), up
    to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, flags=re.M)
    assert match, f"README.md has no section {heading!r}"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def test_make_run_creates_the_venv_installs_and_runs_dvc_repro():
    """``make -n`` prints the recipe without running it: on a machine with no virtual
    environment yet (a fresh clone), ``make run`` creates it, installs gdlab, then runs
    ``dvc repro`` with the environment's ``dvc``."""
    venv = ".venv-never-created-by-this-test"
    out = subprocess.run(
        ["make", "-n", "run", f"VENV={venv}"], cwd=REPO, capture_output=True, text=True,
        check=True,
    ).stdout.splitlines()
    steps = [
        next(i for i, line in enumerate(out) if f"-m venv {venv}" in line),
        next(i for i, line in enumerate(out) if "pip install" in line and "-e '.[dev]'" in line),
        next(i for i, line in enumerate(out) if line.endswith(f"{venv}/bin/dvc repro")),
    ]
    assert steps == sorted(steps), out
    assert not (REPO / venv).exists()


def test_readme_says_how_mlflow_steps_count():
    """Steps count epochs (and a trial's folds) from 0, while ``n_iter`` counts from 1."""
    text = readme()
    assert "`step = epoch`" not in text and "(step = fold)" not in text
    assert "counting epochs\nfrom 0" in text or "counting epochs from 0" in text
    assert "step counts folds from 0" in text


def test_readme_documents_the_two_commands_and_how_to_switch_and_compare():
    text = readme()
    commands = section(text, "The two commands")
    assert "make run" in commands and "make test" in commands
    switching = section(text, "Switching data, model, optimiser and schedule")
    for key in ("data.source", "model.kind", "optimizer.name", "schedule.name", "dvc exp run -S"):
        assert f"`{key}" in switching, key
    session = section(text, "A first session")
    assert "dvc exp show" in session and "make ui" in session
    assert "Compare" in session  # selecting runs in the MLflow UI overlays their curves


def test_readme_says_where_every_dvc_output_lands():
    """Every output, metrics and plots path a stage of dvc.yaml declares is under a path of
    the table in *Where every output lands*."""
    table = section(readme(), "Where every output lands")
    listed = [p.rstrip("/") for p in re.findall(r"^\| `([^`]+)`", table, flags=re.M)]
    listed += [p.rstrip("/") for p in re.findall(r"^\| `[^`]+`, `([^`]+)`", table, flags=re.M)]
    assert listed
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    declared = [
        entry if isinstance(entry, str) else next(iter(entry))
        for stage in stages.values()
        for kind in ("outs", "metrics", "plots")
        for entry in stage.get(kind) or []
    ]
    assert declared
    missing = [
        path for path in declared
        if not any(path == p or path.startswith(p + "/") for p in listed)
    ]
    assert not missing, missing
    # outside dvc.yaml: MLflow's store and its artifacts (the models and figures)
    assert {"mlflow.db", "mlruns"} <= set(listed)


# one row per failure issue 6 names: a needle from the row's first cell
FAILURES = {
    "bad params": "a wrong parameter",
    "bad data": "bad data",
    "personal data": "e-mail addresses or phone numbers",
    "divergence": "training diverges",
    "any exception": "any other exception",
    "interrupt": "Ctrl-C or SIGTERM",
    "unreachable tracking server": "tracking server is unreachable",
    "credentials": "a password in the tracking URI",
    "fairness gate": "fails the fairness gate",
    "foreign model": "names another model",
    "untrusted model file": "outside gdlab's and skops' trusted list",
    "bad request": "a request to the served model",
    "concurrency": "fold workers, queued experiments",
}


def test_readme_says_what_each_failure_does():
    rows = [
        line.split(" | ")
        for line in section(readme(), "When things go wrong").splitlines()
        if line.startswith("| ") and not line.startswith("| what goes wrong")
    ]
    firsts = [cells[0] for cells in rows if len(cells) >= 2]
    for failure, needle in FAILURES.items():
        matches = [cells for cells in rows if needle in cells[0]]
        assert matches, f"no row for {failure} ({needle!r}) in {firsts}"
        assert matches[0][1].strip(), f"the row for {failure} does not say what happens"


def test_the_parallel_snippet_runs_as_written_without_a_warning(tmp_path):
    # the Dask paragraph's Python block, run where params.yaml is this repository's with
    # parallel.backend: joblib (no cluster is started; tests/scale/test_dask.py covers the Dask
    # backend); a ConvergenceWarning there would tell the reader the example's model is not
    # fitted
    text = section(readme(), "Scaling out: a Dask cluster, a shared server, data beyond memory")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                if "parallel_backend" in b]
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["parallel"] = {**params.get("parallel", {}), "backend": "joblib"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = (
        "import warnings\n"
        "from sklearn.exceptions import ConvergenceWarning\n"
        "warnings.simplefilter('error', ConvergenceWarning)\n"
        + textwrap.dedent(block)
        + "    assert scores['test_score'].mean() > 0.9, scores\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stderr, proc.stderr[-3000:]
    assert "joblib" in proc.stdout, proc.stdout


def test_the_lr_range_test_snippet_runs_as_written(tmp_path):
    # the Python block of "Tuning and learning-rate guidance": a sweep of a pipeline, plotted
    text = section(readme(), "Tuning and learning-rate guidance")
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    proc = subprocess.run(
        [sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    suggestion, valley, descended = proc.stdout.split()
    assert 0 < float(suggestion) < float(valley) and descended in ("True", "False")
    assert (tmp_path / "lr_find.png").stat().st_size > 0


def test_the_readme_serves_and_loads_the_champion_with_gdlab_not_mlflows_loaders():
    """``mlflow models serve`` and ``mlflow.*.load_model`` on a registry URI run whatever code
    the model's logger chose: no recipe of the README uses them, its serving recipe is a
    ``gdlab serve`` command the real parser takes, on 127.0.0.1, and the README says why."""
    import shlex

    from gdlab.cli import build_parser
    from gdlab.urls import is_loopback

    text = readme()
    blocks = re.findall(r"```(?:bash|python)\n(.*?)```", text, flags=re.S)
    mlflow_loaders = re.compile(r"models serve|mlflow\.\w+\.load_model\(")
    unsafe = [line for block in blocks for line in block.splitlines()
              if mlflow_loaders.search(line) and "models:/" in line]
    assert not unsafe, unsafe
    commands = [line for block in blocks for line in block.splitlines()
                if line.startswith(".venv/bin/gdlab serve")]
    assert commands
    for command in commands:
        args = build_parser().parse_args(shlex.split(command)[1:])
        assert args.func.__name__ == "_serve" and is_loopback(args.host), command
    assert any("load_registered_model(\"models:/gdlab-model@champion\")" in block
               for block in blocks)
    assert "run whatever code\nthe model's logger put there" in text

"""The tune stage's files when tuning is off, as DVC reads them."""

from __future__ import annotations

import json
import os
import subprocess

from gdlab.tuning import report
from tests.stage_env import VENV_BIN


def test_disabled_figures_dir_is_kept_and_dvc_plots_show_loads_it(tmp_path):
    """With tune.enabled: false the stage left reports/tuning/figures/.gitkeep (so git keeps
    the output directory in an experiment's commit); dvc.yaml lists that directory under
    plots:, and `dvc plots show` (the README's command) then failed on the .gitkeep, printing
    "DVC failed to load some plots for following revisions: 'workspace'" after every run with
    tuning off. What it leaves there must be a file DVC renders."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(*command):
        proc = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        return proc.stdout

    run("git", "init", "-q")
    run("dvc", "init", "-q")
    (tmp_path / "dvc.yaml").write_text("plots:\n  - reports/tuning/figures\n")
    report.write_disabled(tmp_path / "reports" / "tuning")

    figures = tmp_path / "reports" / "tuning" / "figures"
    kept = sorted(p.name for p in figures.iterdir())
    assert kept, "an empty directory is not kept in an experiment's git commit"
    shown = json.loads(run("dvc", "plots", "show", "--json"))
    assert not shown.get("errors"), shown.get("errors")
    assert sorted(os.path.basename(name) for name in shown["data"]) == kept

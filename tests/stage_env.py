"""Copies of the repository for tests that run DVC and the stage scripts, and the environment
they run in: this venv first on PATH, the copy's own ``src`` imported, no MLflow/DVC/git
settings of the caller leaking in, CI mode (no progress bars), a fixed git identity for commits
in the copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VENV_BIN = os.path.dirname(sys.executable)
REPO = Path(__file__).resolve().parents[1]


def copy_working_tree(dest: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Copy the repository's working tree (tracked and untracked, minus ignored files) to
    ``dest``, leaving out paths that start with one of ``skip``."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file() and not name.startswith(skip):
            target = Path(dest) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def stage_env(root: Path, **extra: str) -> dict[str, str]:
    """``os.environ`` cleaned for a repository copy at ``root``, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "DVC_", "GIT_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(Path(root) / "src"),
        CI="1",
        GIT_AUTHOR_NAME="gdlab tests",
        GIT_AUTHOR_EMAIL="tests@gdlab.local",
        GIT_COMMITTER_NAME="gdlab tests",
        GIT_COMMITTER_EMAIL="tests@gdlab.local",
    )
    env.update(extra)
    return env

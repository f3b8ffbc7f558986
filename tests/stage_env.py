"""The environment in which tests run DVC and the stage scripts in a copy of the repository:
this venv first on PATH, the copy's own ``src`` imported, no MLflow/DVC/git settings of the
caller leaking in, CI mode (no progress bars), a fixed git identity for commits in the copy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

VENV_BIN = os.path.dirname(sys.executable)


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

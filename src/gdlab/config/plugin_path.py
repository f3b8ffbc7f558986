"""Where plug-ins named in params.yaml are imported from: the project, like ``python -m``.

``python pipeline/train.py`` puts ``pipeline/`` first on ``sys.path``, not the directory it
runs in, so a user's ``my_opts.py`` (or ``examples/lion.py``) next to params.yaml would not be
importable. Before a plug-in is resolved, the working directory — the project root when DVC
runs a stage — is appended to ``sys.path`` (appended: it never shadows installed packages).
joblib's workers start with the parent's ``sys.path``, so they find the plug-in too.
"""

from __future__ import annotations

import os
import sys


def make_project_importable(directory: str | None = None) -> str:
    """Append ``directory`` (default: the working directory) to ``sys.path`` once; returns it."""
    path = os.path.abspath(directory or os.getcwd())
    if path not in (os.path.abspath(p or os.curdir) for p in sys.path):
        sys.path.append(path)
    return path

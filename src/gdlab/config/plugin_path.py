"""Where plug-ins named in params.yaml are imported from: the project, like ``python -m``.

``python pipeline/train.py`` puts ``pipeline/`` first on ``sys.path``, not the directory it
runs in, so a user's ``my_opts.py`` (or ``examples/lion.py``) next to params.yaml would not be
importable. Before a plug-in is resolved, the working directory — the project root when DVC
runs a stage — is appended to ``sys.path`` (appended: it never shadows installed packages).
joblib's workers start with the parent's ``sys.path``, so they find the plug-in too.

:func:`import_paths` lists the plug-ins a configuration or a fitted model names: their
modules are the ones a saved model may need beyond gdlab (see ``gdlab.experiment.persist``).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def make_project_importable(directory: str | None = None) -> str:
    """Append ``directory`` (default: the working directory) to ``sys.path`` once; returns it."""
    path = os.path.abspath(directory or os.getcwd())
    if path not in (os.path.abspath(p or os.curdir) for p in sys.path):
        sys.path.append(path)
    return path


def import_paths(value: Any) -> list[str]:
    """Every plug-in import path (``"package.module:factory"``) inside ``value``: a validated
    ``Params``, a fitted pipeline or estimator (its constructor parameters), or plain data."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    elif hasattr(value, "steps"):  # a scikit-learn Pipeline
        return sorted({p for _, step in value.steps for p in import_paths(step)})
    elif hasattr(value, "get_params"):
        value = value.get_params(deep=False)
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and _IMPORT_PATH.match(item):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return sorted(found)


def plugin_modules(paths: list[str]) -> list[str]:
    """The modules of import paths: ``"examples.lion:lion"`` -> ``"examples.lion"``."""
    return sorted({p.partition(":")[0] for p in paths})


def plugin_sources(paths: list[str], root: str | None = None) -> list[str]:
    """The files or package directories of the plug-in modules that live in the project
    (under ``root``, default the working directory): what a logged model must carry to load
    elsewhere. Installed packages are left out (they are requirements, not code)."""
    import importlib.util

    root_path = os.path.abspath(root or os.getcwd())
    sources: set[str] = set()
    for module in plugin_modules(paths):
        top = module.split(".", 1)[0]
        if top == "gdlab":  # logged with the model anyway
            continue
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        locations = list(spec.submodule_search_locations or [])
        source = locations[0] if locations else spec.origin
        source = os.path.abspath(source) if source else ""
        installed = source.startswith(tuple(os.path.abspath(p) + os.sep for p in _installed()))
        if source.startswith(root_path + os.sep) and not installed:
            sources.add(source)
    return sorted(sources)


def _installed() -> set[str]:
    import site
    import sysconfig

    paths = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    return paths | set(site.getsitepackages()) | {sys.prefix, sys.base_prefix}

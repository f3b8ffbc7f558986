"""Where plug-ins named in params.yaml are imported from: the project, like ``python -m``.

``python pipeline/train.py`` puts ``pipeline/`` first on ``sys.path``, not the directory it
runs in, so a user's ``my_opts.py`` (or ``examples/lion.py``) next to params.yaml would not be
importable. Before a plug-in is resolved, the working directory — the project root when DVC
runs a stage — is appended to ``sys.path`` (appended: it never shadows installed packages).
joblib's workers start with the parent's ``sys.path``, so they find the plug-in too.

:func:`import_paths` lists the plug-ins a configuration or a fitted model names: their
modules are the ones a saved model may need beyond gdlab (see ``gdlab.experiment.persist``),
so it reads only the fields that name a plug-in (:data:`PLUGIN_FIELDS`, and the values a
comparison or a search may put in them): a free-text value such as ``model_card.owner:
"os:system"`` has the same form but must not make ``os`` a trusted module.
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


PLUGIN_FIELDS = ("model.kind", "optimizer.name", "schedule.name", "schedule.params.then")
"""The params.yaml keys whose value may be a plug-in ``"package.module:factory"`` (their
``x-allowed`` in the schema says so; tests/plugins/test_trust.py keeps the two in step)."""

ESTIMATOR_FIELDS = ("model", "optimizer", "schedule", "schedule_params.then")
"""The same keys among a gdlab estimator's constructor parameters."""


def import_paths(value: Any) -> list[str]:
    """The plug-in import paths (``"package.module:factory"``) ``value`` names in the fields
    that take one: a validated ``Params`` or its plain-data dump (:data:`PLUGIN_FIELDS`, and
    the ``compare.values`` or ``tune.space`` choices that may replace them), or a fitted
    pipeline or estimator (:data:`ESTIMATOR_FIELDS` of its constructor parameters, and those
    of the estimators it wraps, e.g. a TransformedTargetRegressor's ``regressor``)."""
    if hasattr(value, "steps"):  # a scikit-learn Pipeline
        return sorted({p for _, step in value.steps for p in import_paths(step)})
    if hasattr(value, "get_params") and not hasattr(value, "model_dump"):
        own = value.get_params(deep=False)
        named = [_lookup(own, key) for key in ESTIMATOR_FIELDS]
        wrapped = [v for v in own.values() if hasattr(v, "get_params") and not isinstance(v, type)]
        named += [p for inner in wrapped for p in import_paths(inner)]
    else:
        data = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
        named = _params_candidates(data) if isinstance(data, dict) else []
    return sorted({v for v in named if isinstance(v, str) and _IMPORT_PATH.match(v)})


def _params_candidates(data: dict[str, Any]) -> list[Any]:
    """The values of params' plug-in fields, and those a comparison or a search may set."""
    found = [_lookup(data, key) for key in PLUGIN_FIELDS]
    compare = data.get("compare")
    if isinstance(compare, dict) and compare.get("vary") in PLUGIN_FIELDS:
        found += list(compare.get("values") or [])
    space = _lookup(data, "tune.space")
    if isinstance(space, dict):
        for key, dimension in space.items():
            if key in PLUGIN_FIELDS and isinstance(dimension, dict):
                found += list(dimension.get("choices") or [])
    return found


def _lookup(data: Any, dotted: str) -> Any:
    """``data[a][b]...`` for ``"a.b..."``, or None where a key is missing."""
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def plugin_modules(paths: list[str]) -> list[str]:
    """The modules of import paths: ``"examples.lion:lion"`` -> ``"examples.lion"``."""
    return sorted({p.partition(":")[0] for p in paths})


def plugin_sources(paths: list[str], root: str | None = None) -> list[str]:
    """The files or package directories of the plug-in modules that live in the project
    (under ``root``, default the working directory): what a logged model must carry to load
    elsewhere. Installed packages are left out (they are requirements, not code). A package
    directory is given whole: log :func:`python_sources` of it, not the directory itself."""
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
        if source.startswith(root_path + os.sep) and not is_installed(source):
            sources.add(source)
    return sorted(sources)


def python_sources(source: str, staging: str) -> str:
    """What of the plug-in ``source`` (a :func:`plugin_sources` entry) a logged model carries:
    a module file as it is; for a package directory, a copy under ``staging`` (same name)
    holding only its Python source, ``*.py`` in the package's own structure (subpackages:
    directories whose name is an identifier; no ``__pycache__``). A package's data files,
    checkpoints or notes are no code the model needs, and were uploaded with every logged
    model (a 30 MB checkpoint, a secrets file)."""
    import shutil

    if not os.path.isdir(source):
        return source
    target = os.path.join(staging, os.path.basename(os.path.normpath(source)))
    os.makedirs(target, exist_ok=True)
    for directory, subdirectories, files in os.walk(source):
        subdirectories[:] = sorted(
            d for d in subdirectories if d.isidentifier() and d != "__pycache__"
        )
        relative = os.path.relpath(directory, source)
        for name in sorted(f for f in files if f.endswith(".py")):
            destination = os.path.normpath(os.path.join(target, relative, name))
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            shutil.copyfile(os.path.join(directory, name), destination)
    return target


def is_installed(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` lies in an installation directory (site-packages, the interpreter's
    prefix): a package installed there is a requirement, not the project's own code."""
    path = os.path.abspath(path)
    return path.startswith(tuple(os.path.abspath(p) + os.sep for p in _installed()))


def _installed() -> set[str]:
    import site
    import sysconfig

    paths = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    return paths | set(site.getsitepackages()) | {sys.prefix, sys.base_prefix}

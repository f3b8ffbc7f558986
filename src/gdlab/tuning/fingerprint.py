"""The code a search's trials run, as a digest: part of the study's identity, so that a change
to that code (the reason ``dvc repro`` reruns the tune stage) starts a new study instead of
resuming one whose trials the old code scored, while an unchanged rerun resumes.

What is hashed: the gdlab sources the tune stage depends on (:data:`STAGE_SOURCES`, the tune
stage's ``deps`` under ``src/gdlab`` in dvc.yaml; tests/tuning/test_fingerprint.py keeps the two
in step), the code of every plug-in the params name (``"package.module:factory"``, see
:func:`gdlab.config.plugin_path.import_paths`: its module, and every file of its package when
the package is the project's own, as ``examples/``; :func:`plugin_files`) and any ``extra``
file (the stage script: a study planned from Python without it is not the stage's). Only
``*.py`` files, by their path relative to the package and their bytes: a copy of the project
elsewhere, a touched file or a fresh bytecode cache gives the same digest. About 0.5 MB is
read: milliseconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gdlab
from gdlab.config.plugin_path import import_paths, is_installed, make_project_importable

STAGE_SOURCES = (
    "core",
    "estimators",
    "config",
    "data/preprocessing.py",
    "data/copies.py",
    "data/positive.py",
    "data/prepared.py",
    "experiment",
    "tuning",
    "reporting/canvas.py",
    "reporting/files.py",
)
"""Files and directories of the gdlab package whose code the tune stage runs (relative to the
package directory): dvc.yaml's tune deps under ``src/gdlab``."""

PACKAGE_DIR = Path(gdlab.__file__).resolve().parent


def code_fingerprint(
    params: Any = None, *, extra: Iterable[str | Path] = (), package_dir: str | Path | None = None
) -> str:
    """A 16-hex-digit digest of the code a search runs: :data:`STAGE_SOURCES` under
    ``package_dir`` (default: the imported gdlab), the modules of the plug-ins ``params`` names
    (validated ``Params`` or their plain-data dump) and the ``extra`` files."""
    root = Path(package_dir) if package_dir is not None else PACKAGE_DIR
    digest = hashlib.sha256()
    for name, path in _package_files(root):
        _add(digest, f"gdlab/{name}", path)
    for module, path in plugin_files(params):
        _add(digest, f"plugin:{module}", path)
    for path in sorted(Path(p).resolve() for p in extra):
        _add(digest, f"extra:{path.name}", path)
    return digest.hexdigest()[:16]


def _package_files(root: Path) -> list[tuple[str, Path]]:
    """``(relative posix name, path)`` of the ``*.py`` files of :data:`STAGE_SOURCES`."""
    files: dict[str, Path] = {}
    for source in STAGE_SOURCES:
        path = root / source
        found = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else []
        for file in found:
            files[file.relative_to(root).as_posix()] = file
    return sorted(files.items())


def plugin_files(params: Any) -> list[tuple[str, Path]]:
    """``(name, source file)`` of the code of each plug-in ``params`` names: its module and,
    for a module of a package that is not installed (``examples.lion``: the project's
    ``examples/``), every ``*.py`` file of that package, so an edited helper the plug-in
    imports counts too (what ``dvc repro`` reruns tune for). A module on its own counts
    alone; a plug-in whose module cannot be found is left out (validation names it)."""
    if params is None:
        return []
    make_project_importable()  # where the stages import plug-ins from
    found: dict[str, Path] = {}
    for import_path in import_paths(params):
        module = import_path.partition(":")[0]
        origin = _origin(module)
        if origin is None:
            continue
        found[module] = origin
        top = module.partition(".")[0]
        for directory in _package_dirs(top) if top != module else []:
            for file in sorted(directory.rglob("*.py")):
                found[f"{top}/{file.relative_to(directory).as_posix()}"] = file
    return sorted(found.items())


def _spec(name: str) -> Any:
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def _origin(module: str) -> Path | None:
    origin = getattr(_spec(module), "origin", None)
    return Path(origin) if origin and Path(origin).is_file() else None


def _package_dirs(package: str) -> list[Path]:
    """The directories of ``package`` when it is the project's own (not installed)."""
    locations = getattr(_spec(package), "submodule_search_locations", None) or []
    return [Path(d) for d in locations if Path(d).is_dir() and not is_installed(d)]


def _add(digest: Any, name: str, path: Path) -> None:
    data = path.read_bytes()
    digest.update(f"{name}\0{len(data)}\0".encode())
    digest.update(data)

"""The gdlab code this process runs, as a digest a Dask worker can be compared by.

Version strings cannot tell two checkouts apart (gdlab is 0.1.0 at every commit), and a
long-running process keeps the modules it imported: after an edit of ``src/gdlab`` its files
say one thing and its code does another. :func:`running_code` answers both:

- ``code``: a digest of gdlab's ``*.py`` files (by their path inside the package and their
  bytes, so a copy of the same commit elsewhere gives the same digest), and one per plug-in
  module the caller names (its file and, for the project's own package, every ``*.py`` file of
  that package), read the first time this process is asked and kept for its lifetime: a
  worker asked before an edit keeps answering with the code it ran then;
- ``edited``: the files of the modules this process has loaded that changed after gdlab was
  imported here (``gdlab.IMPORTED_NS``, taken at ``import gdlab``: one clock read), whose
  code in memory may therefore be older than the files; this catches a process that
  imported gdlab before it was first asked.

:func:`gdlab.parallel.check_workers` runs this on every Dask worker (``Client.run``) and
refuses those whose answer differs from the stage's own. Reading ~1 MB costs a few
milliseconds once per process; checking ``edited`` stats the loaded modules' files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gdlab

PACKAGE_DIR = Path(gdlab.__file__).resolve().parent

_digests: dict[str, str | None] = {}
"""This process's digests, by ``"gdlab"`` or plug-in module name: computed once."""


def running_code(plugins: Sequence[str] = ()) -> dict[str, Any]:
    """``{"code": {"gdlab": digest, <plug-in module>: digest or None}, "edited": [files]}``
    for this process (see the module docstring). ``plugins`` are plug-in import paths
    (``"package.module:factory"``) or module names; a module this process cannot find has
    digest None."""
    modules = sorted({p.partition(":")[0] for p in plugins} - {""})
    code = {"gdlab": _digest("gdlab", _package_files)}
    for module in modules:
        code[module] = _digest(module, lambda m=module: _plugin_files(m))
    return {"code": code, "edited": edited_since_import(modules)}


def edited_since_import(plugin_modules: Sequence[str] = ()) -> list[str]:
    """The files of loaded gdlab (and ``plugin_modules``) modules changed after ``import
    gdlab`` in this process: their code in memory may be older than the files. Inode-change
    time counts too, so a file replaced with an older modification time is seen."""
    since = gdlab.IMPORTED_NS
    tops = tuple(m.partition(".")[0] for m in plugin_modules)
    edited = []
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        if top != "gdlab" and top not in tops:
            continue
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py"):
            continue
        try:
            stat = os.stat(path)
        except OSError:  # deleted since: the module in memory is what is left of it
            edited.append(path)
            continue
        if max(stat.st_mtime_ns, stat.st_ctime_ns) > since:
            edited.append(path)
    return sorted(edited)


def _digest(key: str, files: Any) -> str | None:
    if key not in _digests:
        found = files()
        if found is None:
            _digests[key] = None
        else:
            digest = hashlib.sha256()
            for name, path in found:
                data = path.read_bytes()
                digest.update(f"{name}\0{len(data)}\0".encode())
                digest.update(data)
            _digests[key] = digest.hexdigest()[:16]
    return _digests[key]


def _package_files() -> list[tuple[str, Path]]:
    return sorted(
        (f"gdlab/{p.relative_to(PACKAGE_DIR).as_posix()}", p)
        for p in PACKAGE_DIR.rglob("*.py")
        if "__pycache__" not in p.parts
    )


def _plugin_files(module: str) -> list[tuple[str, Path]] | None:
    """The plug-in module's file and, when its top package is not installed (the project's
    own, e.g. ``examples``), every ``*.py`` file of that package; None when not found."""
    from gdlab.config.plugin_path import is_installed

    spec = _spec(module)
    origin = getattr(spec, "origin", None)
    if not origin or not Path(origin).is_file():
        return None
    found = {module: Path(origin)}
    top = module.partition(".")[0]
    if top != module:
        for directory in getattr(_spec(top), "submodule_search_locations", None) or []:
            if Path(directory).is_dir() and not is_installed(directory):
                for file in Path(directory).rglob("*.py"):
                    found[f"{top}/{file.relative_to(directory).as_posix()}"] = file
    return sorted(found.items())


def _spec(name: str) -> Any:
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None

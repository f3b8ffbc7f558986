"""The gdlab code this process runs, as a digest a Dask worker can be compared by.

Version strings cannot tell two checkouts apart (gdlab is 0.1.0 at every commit), and a
long-running process keeps the modules it imported: after an edit of ``src/gdlab`` its files
say one thing and its code does another. :func:`running_code` answers both, by content (a
file's timestamps say nothing: ``touch``, an editor saving unchanged or a ``git checkout``
there and back change them, not the code):

- ``code``: a digest of gdlab's ``*.py`` files (by their path inside the package and their
  text, line endings normalised, so a copy of the same commit elsewhere, LF or CRLF, gives
  the same digest), read when gdlab is imported (``import gdlab`` imports this module: ~5
  milliseconds for ~1 MB) and kept for the process's lifetime; and one per plug-in module
  the caller names (its file and, for the project's own package, every ``*.py`` file of that
  package), read the first time this process is asked (plug-ins are imported later, when a
  stage's tasks arrive) and kept too;
- ``edited``: those files whose content now differs from what was read then (or that were
  added or deleted since): this process may run, and its digest describes, the code as it
  was, not the files.

:func:`gdlab.parallel.check_workers` runs this on every Dask worker (``Client.run``) and
refuses those whose answer differs from the stage's own, or that have ``edited`` files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

try:  # hashlib would load OpenSSL (~2 ms) at every ``import gdlab``: the built-in BLAKE2 is
    from _blake2 import blake2b  # the same function, without it
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))

Files = dict[str, str]
"""A module's files (paths) by the name they are hashed under."""


def file_digests(files: Files) -> dict[str, str | None]:
    """Each file's BLAKE2b (16 hex digits) of its bytes with CRLF read as LF; None for a file
    that cannot be read (deleted)."""
    digests: dict[str, str | None] = {}
    for name, path in sorted(files.items()):
        try:
            data = _contents(path)
        except OSError:
            digests[name] = None
            continue
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        digests[name] = blake2b(data, digest_size=8).hexdigest()
    return digests


def _contents(path: str) -> bytes:
    """The file's bytes (``os.read``: without ``open``'s buffered file object, which costs
    a third of the time spent at ``import gdlab``)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def code_digest(digests: dict[str, str | None]) -> str:
    """One digest of :func:`file_digests`' answer: the files' names and contents."""
    text = "".join(f"{name}\0{digest}\n" for name, digest in sorted(digests.items()))
    return blake2b(text.encode(), digest_size=8).hexdigest()


def package_files(directory: str = PACKAGE_DIR) -> Files:
    """The ``*.py`` files under the package ``directory``, by their path from its parent
    (``gdlab/core/loop.py``)."""
    top = os.path.basename(directory)
    found = {}
    for parent, subdirectories, names in os.walk(directory):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        relative = os.path.relpath(parent, directory).replace(os.sep, "/")
        prefix = top if relative == "." else f"{top}/{relative}"
        for name in names:
            if name.endswith(".py"):
                found[f"{prefix}/{name}"] = os.path.join(parent, name)
    return found


def _read_files(files: Files | None) -> tuple[str | None, dict[str, str | None]]:
    digests = file_digests(files) if files is not None else {}
    return (code_digest(digests) if files is not None else None), digests


_read: dict[str, tuple[str | None, dict[str, str | None]]] = {
    "gdlab": _read_files(package_files()),
}
"""This process's code by ``"gdlab"`` (read at import) or plug-in module name (read when
first asked): its digest (None for a plug-in not found) and each file's digest."""


def running_code(plugins: Sequence[str] = ()) -> dict[str, Any]:
    """``{"code": {"gdlab": digest, <plug-in module>: digest or None}, "edited": [files]}``
    for this process (see the module docstring). ``plugins`` are plug-in import paths
    (``"package.module:factory"``) or module names; a module this process cannot find has
    digest None."""
    modules = sorted({p.partition(":")[0] for p in plugins} - {""})
    for module in modules:
        if module not in _read:
            _read[module] = _read_files(_plugin_files(module))
    code = {key: _read[key][0] for key in ["gdlab", *modules]}
    return {"code": code, "edited": edited(["gdlab", *modules])}


def edited(keys: Sequence[str] = ("gdlab",)) -> list[str]:
    """The files of gdlab (and of the plug-in modules ``keys`` names, once asked about) whose
    content differs from what this process read (at import, or when first asked), or that
    were added or deleted since: its code may be the files' as they were."""
    changed: set[str] = set()
    for key in keys:
        digest, then = _read.get(key, (None, {}))
        if digest is None:
            continue
        files = package_files() if key == "gdlab" else (_plugin_files(key) or {})
        now = file_digests(files)
        changed.update(name for name in then.keys() | now.keys()
                       if then.get(name) != now.get(name))
    return sorted(changed)


def _plugin_files(module: str) -> Files | None:
    """The plug-in module's file and, when its top package is not installed (the project's
    own, e.g. ``examples``), every ``*.py`` file of that package; None when not found."""
    from gdlab.config.plugin_path import is_installed

    spec = _spec(module)
    origin = getattr(spec, "origin", None)
    if not origin or not os.path.isfile(origin):
        return None
    own = "/".join(module.split("."))
    own += "/__init__.py" if os.path.basename(origin) == "__init__.py" else ".py"
    found = {own: origin}
    top = module.partition(".")[0]
    if top != module:
        for directory in getattr(_spec(top), "submodule_search_locations", None) or []:
            if os.path.isdir(directory) and not is_installed(directory):
                found.update(package_files(os.path.realpath(directory)))
    return found


def _spec(name: str) -> Any:
    import importlib.util

    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None

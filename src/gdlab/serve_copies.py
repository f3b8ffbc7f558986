"""The local model copies ``gdlab serve`` saves and serves: one directory per ``gdlab serve``
process, ``$TMPDIR/gdlab-serve-<pid>-<random>`` (:func:`tempfile.gettempdir`, else ``/tmp``),
removed when it stops. A copy whose process was killed (SIGKILL: nothing of it can run) is
removed by the next ``gdlab serve`` (:func:`remove_stale_copies`): only a directory with that
name, owned by this user, whose process no longer exists."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "gdlab-serve-"
_COPY_NAME = re.compile(rf"{re.escape(PREFIX)}([1-9][0-9]*)-[a-z0-9_]+")


def make_copy_directory(directory: str | Path | None = None) -> Path:
    """A new empty directory, ``gdlab-serve-<this process's id>-<random>`` in ``directory``
    (default :func:`tempfile.gettempdir`), for this process's model copy."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=directory))


def process_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, another user's
        return True
    return True


def remove_stale_copies(directory: str | Path | None = None) -> list[Path]:
    """Remove the model copies left in ``directory`` (default :func:`tempfile.gettempdir`) by
    ``gdlab serve`` processes that no longer exist; the removed paths. Only directories (not a
    symbolic link) named ``gdlab-serve-<pid>-<random>``, owned by this user, whose ``pid`` is
    no process are removed; nothing else is touched."""
    root = Path(directory if directory is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:  # no such directory, unreadable: nothing to remove
        return removed
    for entry in entries:
        match = _COPY_NAME.fullmatch(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        if process_exists(int(match[1])):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed

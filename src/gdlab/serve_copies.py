"""The local model copies ``gdlab serve`` saves and serves: one directory per ``gdlab serve``
process, ``$TMPDIR/gdlab-serve-<machine>-<pid>-<random>`` (:func:`tempfile.gettempdir`, else
``/tmp``), removed when it stops. ``<machine>`` (:func:`machine_id`) names where ``<pid>`` is
a process id: this host (its name) and this PID namespace (a container has its own), so
that a copy made by a ``gdlab serve`` on another host sharing the
directory, or in another container, is never taken for one whose process is gone. A copy
whose process was killed (SIGKILL: nothing of it can run) is removed by the next ``gdlab
serve`` of the same machine (:func:`remove_stale_copies`): only a directory with that name and
this machine's ``<machine>``, owned by this user, whose process no longer exists."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path

PREFIX = "gdlab-serve-"
MACHINE_ID_LENGTH = 12
_COPY_NAME = re.compile(
    rf"{re.escape(PREFIX)}([0-9a-f]{{{MACHINE_ID_LENGTH}}})-([1-9][0-9]*)-[a-z0-9_]+")
_PID_NAMESPACE = "/proc/self/ns/pid"


def _pid_namespace() -> str:
    try:
        info = os.stat(_PID_NAMESPACE)
    except OSError:  # no PID namespaces here (not Linux): the host alone says it
        return ""
    return f"{info.st_dev}:{info.st_ino}"


def machine_id() -> str:
    """Where this process's id is meaningful, as ``MACHINE_ID_LENGTH`` hex digits: a hash of
    this host's name and this process's PID namespace (the device and inode of
    ``/proc/self/ns/pid``, where it exists). Not the boot: a process of an earlier boot is
    gone, so its copy is removed like any other whose process is gone (a live process that
    now has its id keeps it until it ends); two PID namespaces that live at the same time
    never share an inode."""
    where = "\0".join((socket.gethostname(), _pid_namespace()))
    return hashlib.sha256(where.encode()).hexdigest()[:MACHINE_ID_LENGTH]


def make_copy_directory(directory: str | Path | None = None) -> Path:
    """A new empty directory, ``gdlab-serve-<machine>-<this process's id>-<random>`` in
    ``directory`` (default :func:`tempfile.gettempdir`), for this process's model copy."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{machine_id()}-{os.getpid()}-",
                                 dir=directory))


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
    ``gdlab serve`` processes of this machine (:func:`machine_id`) that no longer exist; the
    removed paths. Only directories (not a symbolic link) named
    ``gdlab-serve-<machine>-<pid>-<random>`` with this process's ``<machine>``, owned by this
    user, whose ``pid`` is no process are removed; nothing else is touched (a copy of another
    host or PID namespace, whose ``pid`` means nothing here, is kept)."""
    root = Path(directory if directory is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:  # no such directory, unreadable: nothing to remove
        return removed
    here = machine_id()
    for entry in entries:
        match = _COPY_NAME.fullmatch(entry.name)
        if match is None or match[1] != here:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        if process_exists(int(match[2])):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed

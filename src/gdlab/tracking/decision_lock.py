"""One registry decision at a time per registered model name on this machine.

``register`` reads the current champion, registers the new version, then moves ``champion``
to it when it beats what it read. Two register stages at once (``dvc queue start -j 2``) both
read the same champion, and the one that ended last held the alias even when the other beat
it. The lock is a file in the system's temporary directory named by a digest of the registry
URI and the model name, so every process of this machine deciding for that name (queue
workers, a workspace run) takes turns; processes on other machines sharing a tracking server
are not covered.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["decision_lock", "lock_path"]


def lock_path(registry_uri: str, model_name: str) -> Path:
    """The lock file of ``model_name`` in the registry at ``registry_uri``."""
    digest = hashlib.sha256(f"{registry_uri}\0{model_name}".encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"gdlab-registry-{digest}.lock"


@contextmanager
def decision_lock(registry_uri: str, model_name: str) -> Iterator[None]:
    """Hold an exclusive lock for deciding about ``model_name``'s aliases; released on exit."""
    import fcntl

    # read-only is enough for flock, and opens a file another user created (0644 under umask)
    fd = os.open(lock_path(registry_uri, model_name), os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock

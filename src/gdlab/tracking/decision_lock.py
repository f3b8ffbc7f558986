"""One registry decision at a time per registered model name on this machine.

``register`` reads the current champion, registers the new version, then moves ``champion``
to it when it beats what it read. Two register stages at once (``dvc queue start -j 2``) both
read the same champion, and the one that ended last held the alias even when the other beat
it. So every process of this machine deciding for that name (queue workers, a workspace run)
takes turns on a lock file named by a digest of the registry URI and the model name:

* a SQLite store (the default ``mlflow.db``): next to the database file, in the directory
  whoever writes the store must be able to write anyway (SQLite keeps its journal there), so
  every user of that store on this machine shares it;
* any other store (a tracking server, PostgreSQL): in this user's cache directory
  (``$XDG_CACHE_HOME/gdlab``, default ``~/.cache/gdlab``), so one user's processes take
  turns; other users and other machines sharing the store are not covered.

Never in the shared temporary directory, where another user's file of the same name could not
be opened (``fs.protected_regular``, a 0600 file) or could block everyone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gdlab.tracking.safety import _sqlite_path

__all__ = ["decision_lock", "lock_path"]


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gdlab"


def lock_path(registry_uri: str, model_name: str) -> Path:
    """The lock file of ``model_name`` in the registry at ``registry_uri``."""
    digest = hashlib.sha256(f"{registry_uri}\0{model_name}".encode()).hexdigest()[:24]
    database = _sqlite_path(registry_uri)
    if database is not None:
        return database.resolve().parent / f".{database.name}.gdlab-registry-{digest}.lock"
    return _cache_dir() / f"registry-{digest}.lock"


@contextmanager
def decision_lock(registry_uri: str, model_name: str) -> Iterator[None]:
    """Hold an exclusive lock for deciding about ``model_name``'s aliases; released on exit.
    A lock file that cannot be created or opened raises ValueError naming it (nothing has
    been registered yet)."""
    import fcntl

    path = lock_path(registry_uri, model_name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # read-only is enough for flock, and opens a file another user of the store created
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError as exc:
        raise ValueError(
            f"cannot open the registry decision lock {path} ({exc.strerror or exc}): "
            "register takes it so that two registrations of register.model_name "
            f"{model_name!r} do not decide at once; make it readable to this user or remove "
            "it (when no register runs), then rerun"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock

"""Write files atomically: a temporary file next to the target, flushed to disk and renamed
over it (:func:`atomic_path`). A process killed or failing mid-write leaves the previous file
whole (or none), never a half-written one that a later stage or DVC would take for valid.

Used by every layer that writes an output (models, run handles, reports, figures); it imports
nothing of gdlab.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path in ``path``'s directory (parents created) to write instead of ``path``;
    when the block ends normally the file is synced to disk and renamed over ``path``, when it
    raises the file is removed and ``path`` is left as it was. The temporary name ends with
    ``path``'s suffix, so a writer that picks the format from it (matplotlib's ``savefig``)
    still does; it is created empty, with the permissions a plain ``open`` would give."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
    return path


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    return write_bytes_atomic(path, text.encode(encoding))

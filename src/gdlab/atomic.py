"""Write files atomically: a temporary file next to the target, flushed to disk and renamed
over it (:func:`atomic_path`). A process killed or failing mid-write leaves the previous file
whole (or none), never a half-written one that a later stage or DVC would take for valid.

A write the file system refuses (permission denied, read-only, disk full, a file size limit)
raises :class:`OutputNotWritten`, an ``OSError`` whose message names the output and the
reason, which a stage prints as one line; so does refusing to create, empty or clean up an
output directory (:func:`output_dir`, :func:`cleared_dir`, :func:`discarded`).

Used by every layer that writes an output (models, run handles, reports, figures); it imports
nothing of gdlab.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_REFUSED = {  # errno of a write the file system refused -> (what it means, what to do)
    errno.EACCES: ("permission denied", "make {dir} writable"),
    errno.EPERM: ("not permitted", "make {dir} writable (`chmod u+w`, `chattr -i`)"),
    errno.EROFS: ("read-only file system", "write the outputs to a writable file system"),
    errno.ENOSPC: ("the disk is full", "free space on {dir}"),
    errno.EDQUOT: ("disk quota exceeded", "free space on {dir} or raise the quota"),
    errno.EFBIG: ("file too large", "lift the file size limit (`ulimit -f`)"),
    errno.EIO: ("I/O error", "check the disk holding {dir}"),
    errno.ENOTDIR: ("a file stands where a directory should", "move that file away"),
    errno.EEXIST: ("a file stands where a directory should", "move that file away"),
    errno.EISDIR: ("a directory stands where the file should", "move that directory away"),
}


class OutputNotWritten(OSError):
    """The file system refused to write output ``path`` (its errno and strerror kept)."""

    def __init__(self, path: Path, cause: OSError):
        super().__init__(cause.errno, cause.strerror, cause.filename)
        self.path = path
        self.cause = cause

    def __reduce__(self):
        """Pickle by constructor arguments (a worker process's refusal reaches the stage)."""
        return (type(self), (self.path, self.cause))

    def __str__(self) -> str:
        meaning, todo = _REFUSED[self.errno]
        todo = todo.format(dir=self.path.parent)
        said = f"[Errno {self.errno}] {self.strerror}"  # not the temporary file's name
        return (f"cannot write {self.path}: {meaning} ({type(self.cause).__name__}: {said}); "
                f"{todo} and run the stage again")


def output_dir(directory: str | Path) -> Path:
    """Create output directory ``directory`` (and its parents) if needed; the file system
    refusing raises :class:`OutputNotWritten` naming it."""
    directory = Path(directory)
    with _refusals(directory):
        directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def _refusals(path: Path) -> Iterator[None]:
    """The file system refusing what the block does to output ``path`` raises
    :class:`OutputNotWritten` naming it; other errors pass."""
    try:
        yield
    except OutputNotWritten:
        raise
    except OSError as exc:
        if exc.errno not in _REFUSED:
            raise
        raise OutputNotWritten(path, exc) from exc


def cleared_dir(directory: str | Path) -> Path:
    """Empty output directory ``directory``: a previous run's directory is removed with what it
    holds (stale files must not survive), then it is created (with its parents). The file
    system refusing either (a file where the directory should be, a directory or parent that
    refuses changes) raises :class:`OutputNotWritten` naming ``directory``; a file standing
    there is left as it is."""
    directory = Path(directory)
    with _refusals(directory):
        if directory.is_dir() and not directory.is_symlink():
            shutil.rmtree(directory)
    return output_dir(directory)


def discarded(path: str | Path) -> Path:
    """Remove output file ``path`` if it is there (a previous run's output this run does not
    write); the file system refusing raises :class:`OutputNotWritten` naming it."""
    path = Path(path)
    with _refusals(path):
        path.unlink(missing_ok=True)
    return path


def _refused(path: Path, exc: OSError, tmp: Path) -> OutputNotWritten | None:
    """``exc`` as OutputNotWritten when it is the file system refusing a write of ``path``
    (through ``tmp``, or with no file named: ``write()`` on a full disk); else None."""
    if isinstance(exc, OutputNotWritten) or exc.errno not in _REFUSED:
        return None
    named = {str(path), str(tmp)}
    if exc.filename is not None and str(exc.filename) not in named:
        return None
    return OutputNotWritten(path, exc)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path in ``path``'s directory (parents created) to write instead of ``path``;
    when the block ends normally the file is synced to disk and renamed over ``path``, when it
    raises the file is removed and ``path`` is left as it was. The temporary name ends with
    ``path``'s suffix, so a writer that picks the format from it (matplotlib's ``savefig``)
    still does; it is created empty, with the permissions a plain ``open`` would give.

    The file system refusing the directory, the file, a write to it (with no other file
    named) or the rename raises :class:`OutputNotWritten`."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    output_dir(path.parent)
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:  # only the output's own directory and file were touched
        if exc.errno not in _REFUSED:
            raise
        raise OutputNotWritten(path, exc) from exc
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        refused = _refused(path, exc, tmp)
        if refused is None:
            raise
        raise refused from exc
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

"""One line on stderr, once per process, when numba compiles gdlab's epoch kernels.

numba compiles a kernel the first time it is called with new argument types, unless its
on-disk cache (``cache=True``) holds it. In a fresh environment the epoch kernels take tens of
seconds to compile, and the first ``fit`` would seem to hang without a word. numba fires its
``numba:compile`` event (:mod:`numba.core.event`) only for a real compilation, not for a load
from the cache, so the line appears only when compiling happens; later compilations in the
same process (another dtype or batch mode) say nothing more. The row shuffle
(:mod:`gdlab.core.fast.shuffle`, a second to compile, used with ``GDLAB_JIT=0`` too) gets no
notice.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from numba.core import event

_KERNELS = "gdlab.core.fast.kernels"
_lock = threading.Lock()
_installed = False
_told = False


def notice_text(cache_dir: str) -> str:
    """The line printed before the first compilation of the process."""
    return (
        "gdlab: compiling the numba kernels (one time: cached in "
        f"{cache_dir}); the first fit of each dtype and batch mode can take up to a minute. "
        "GDLAB_JIT=0 skips them (slower numpy epochs)."
    )


class _CompileNotice(event.Listener):
    """Prints :func:`notice_text` when a compilation of an epoch kernel starts, once."""

    def on_start(self, ev: Any) -> None:
        global _told
        dispatcher = (ev.data or {}).get("dispatcher")
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        if _told or module != _KERNELS:
            return
        with _lock:
            if _told:
                return
            _told = True
        print(notice_text(dispatcher.stats.cache_path), file=sys.stderr, flush=True)

    def on_end(self, ev: Any) -> None:
        pass


def announce_compilation() -> None:
    """Listen for numba compiling the epoch kernels (idempotent; :mod:`gdlab.core.fast.kernels`
    calls it on import)."""
    global _installed
    with _lock:
        if not _installed:
            event.register("numba:compile", _CompileNotice())
            _installed = True

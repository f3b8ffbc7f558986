"""The one-line notice when numba compiles gdlab's epoch kernels
(:mod:`gdlab.core.fast.compile_notice`): printed once in a process that compiles, never in one
that loads the kernels from the cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gdlab

# ``_sq_norm`` is the smallest epoch kernel (a second to compile): the first run compiles it
# for float64 and float32, the second loads both from the cache. Both also compile the row
# shuffle and a function of their own, which get no notice.
SCRIPT = """
import numba
import numpy as np

from gdlab.core.fast import kernels
from gdlab.core.sampling import epoch_order

epoch_order(np.random.default_rng(0), 5)
kernels._sq_norm(np.ones(3))
kernels._sq_norm(np.ones(3))
kernels._sq_norm(np.ones(3, dtype=np.float32))


@numba.njit
def not_gdlabs(x):
    return x + 1


not_gdlabs(1)
print("done")
"""


def _run(cache_dir: Path) -> subprocess.CompletedProcess:
    src = str(Path(gdlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src, "NUMBA_CACHE_DIR": str(cache_dir)}
    env.pop("NUMBA_DISABLE_JIT", None)
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300, check=True)


def test_compiling_prints_one_line_naming_the_cache_and_a_cached_run_prints_none(tmp_path):
    cache_dir = tmp_path / "numba-cache"
    first = _run(cache_dir)
    notices = [line for line in first.stderr.splitlines() if line.startswith("gdlab: compiling")]
    assert first.stdout.strip() == "done"
    assert len(notices) == 1, first.stderr
    assert str(cache_dir) in notices[0]
    assert "one time" in notices[0] and "GDLAB_JIT=0" in notices[0]
    assert any(cache_dir.rglob("*.nbi")), "the kernels were not cached"

    second = _run(cache_dir)
    assert second.stdout.strip() == "done"
    assert "gdlab: compiling" not in second.stderr, second.stderr

"""Data beyond memory: mini-batch training streamed from a memory-mapped ``.npy`` file.

A 10 000 000 × 50 float32 training split (2.0 GB, plus y) is written chunk-wise in the prepared
data's ``.npy`` layout (``X_train.npy``, ``y_train.npy``) with plain file writes — generation
never holds more than one 65 536-row block, and happens in this process, not the measured one.
A fresh interpreter then opens it as gdlab's train stage does (``gdlab.data.open_arrays``:
``np.load(mmap_mode="r")``), warms up (imports, JIT) on 512 rows, trains ``GDRegressor``
mini-batch (batch 256, shuffled, SGD, float32, one epoch) on the whole map and reports its
peak resident set (``VmHWM``, the whole process: interpreter, libraries, every page of the file
it touched, buffers). Target: peak RSS ≤ 1.3 × the data's size, i.e. nothing of X is copied.

    python -m bench --only memmap            # 10M rows; --scale 0.1 for 1M
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, Settings

NAME = "memmap"
TITLE = "mini-batch training from a memory-mapped .npy (peak RSS / data size)"
ROWS, COLS = 10_000_000, 50
BLOCK = 65_536
THRESHOLD = 1.3
MB = 2**20


def write_npy(path: Path, shape: tuple[int, ...], dtype: str, blocks) -> None:
    """Write a ``.npy`` file from an iterator of row blocks, never holding the whole array."""
    with open(path, "wb") as fh:
        header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_2_0(fh, header)
        for block in blocks:
            fh.write(np.ascontiguousarray(block, dtype=dtype).tobytes())


def generate(directory: Path, n: int, d: int, seed: int = 0) -> int:
    """A linear-regression training split of ``n`` × ``d`` float32 in ``directory``; returns
    the bytes written. X is written first, then y from the same blocks regenerated."""
    w = np.random.default_rng(seed + 1).standard_normal(d).astype(np.float32) / np.sqrt(d)

    def x_blocks():
        rng = np.random.default_rng(seed)
        for s in range(0, n, BLOCK):
            yield rng.standard_normal((min(n, s + BLOCK) - s, d), dtype=np.float32)

    def y_blocks():
        noise = np.random.default_rng(seed + 2)
        for block in x_blocks():
            yield block @ w + 0.3 + 0.1 * noise.standard_normal(len(block), dtype=np.float32)

    write_npy(directory / "X_train.npy", (n, d), "float32", x_blocks())
    write_npy(directory / "y_train.npy", (n,), "float32", y_blocks())
    return sum((directory / f).stat().st_size for f in ("X_train.npy", "y_train.npy"))


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    """In a fresh interpreter: open the arrays memory-mapped, train, report the peak RSS."""
    import warnings

    warnings.simplefilter("ignore")
    import gdlab
    from gdlab.data.prepared import open_arrays

    X, y = open_arrays(spec["dir"], "train")
    assert isinstance(X, np.memmap) and X.dtype == np.float32
    params = {"batch_size": spec["batch_size"], "max_epochs": spec["epochs"], "tol": None,
              "optimizer": "sgd", "learning_rate": 0.01, "alpha": 0.0, "dtype": "float32",
              "shuffle": True, "random_state": 0}
    gdlab.GDRegressor(**params).fit(X[:512], y[:512])  # imports and JIT, not measured
    before = _status()
    t0 = time.perf_counter()
    est = gdlab.GDRegressor(**params).fit(X, y)
    wall = time.perf_counter() - t0
    after = _status()
    data = int(X.nbytes + y.nbytes)
    return {
        "rows": int(X.shape[0]), "cols": int(X.shape[1]), "data_bytes": data,
        "rss_before_fit_bytes": before["VmRSS"], "peak_rss_bytes": after["VmHWM"],
        "rss_anon_end_bytes": after.get("RssAnon"), "rss_file_end_bytes": after.get("RssFile"),
        "peak_over_data": after["VmHWM"] / data, "fit_s": wall,
        "final_loss": float(est.loss_curve_[-1]), "epochs": int(est.n_iter_),
        "is_memmap": True,
    }


def run(settings: Settings) -> dict[str, Any]:
    n = settings.rows(ROWS, minimum=100_000)
    base = Path(os.environ.get("GDLAB_BENCH_TMP") or tempfile.gettempdir())
    need = n * (COLS + 1) * 4
    free = shutil.disk_usage(base).free
    if free < 1.2 * need:
        settings.note(f"memmap: skipped, {free / MB:.0f} MB free in {base} < {need / MB:.0f} MB")
        return {"status": "skipped", "ratios": {}, "targets": []}
    directory = Path(tempfile.mkdtemp(prefix="gdlab-memmap-", dir=base))
    try:
        t0 = time.perf_counter()
        size = generate(directory, n, COLS, seed=settings.seed)
        gen_s = time.perf_counter() - t0
        print(f"    wrote {n:,} x {COLS} float32 (+ y): {size / MB:.0f} MB in {gen_s:.1f}s",
              flush=True)
        spec = {"dir": str(directory), "batch_size": 256, "epochs": 1}
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        proc = subprocess.run(
            [sys.executable, "-m", "bench.memmap", json.dumps(spec)],
            capture_output=True, text=True, timeout=3600, env=env, cwd=str(ROOT),
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE-RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise RuntimeError(f"memmap probe exited {proc.returncode}: {tail}")
        res = json.loads(lines[-1][len("PROBE-RESULT "):])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    res["generate_s"] = gen_s
    ratio = res["peak_over_data"]
    print(f"    data {res['data_bytes'] / MB:.0f} MB, peak RSS {res['peak_rss_bytes'] / MB:.0f} MB"
          f" ({ratio:.3f}x data; at the end {res['rss_file_end_bytes'] / MB:.0f} MB file-backed"
          f" + {res['rss_anon_end_bytes'] / MB:.0f} MB anonymous), one epoch in "
          f"{res['fit_s']:.1f}s, final loss {res['final_loss']:.4g}", flush=True)
    target = {
        "id": "memmap_peak_rss",
        "target": f"{ROWS // 1_000_000}M x {COLS} float32 mini-batch from .npy memmap: "
                  f"peak RSS <= {THRESHOLD}x data",
        "measured": ratio, "threshold": THRESHOLD, "unit": "x data", "kind": "target",
    }
    if n != ROWS:
        target["status"] = "SKIP"
        target["note"] = (f"measured at {n:,} rows (scale {settings.scale:g}); the target is "
                          "judged at 10M rows, where the interpreter's own ~150 MB is small")
    return {"sizes": {"n": n, "d": COLS}, "probe": res, "ratios": {"peak_rss/data": ratio},
            "targets": [target]}


if __name__ == "__main__":
    print("PROBE-RESULT " + json.dumps(probe(json.loads(sys.argv[1]))), flush=True)

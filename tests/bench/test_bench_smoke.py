"""Smoke test of the benchmark suite: it runs and writes sane results (no timing asserted).

Runs ``python -m bench --quick --only fullbatch`` at a tiny scale in a subprocess, without
torch (CI has none), and checks the shape of results.json.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_fullbatch_writes_results(tmp_path):
    out = tmp_path / "results.json"
    docs = tmp_path / "benchmarks.md"
    # one thread per pool: a functional check, not a measurement, and it must not stall when
    # the machine is busy (a 2-thread parallel region waits for both threads to be scheduled)
    env = dict(os.environ, GDLAB_BENCH_NO_TORCH="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "fullbatch", "--scale", "0.001",
         "--repeat", "2", "--no-torch", "--keep-blas-env", "--out", str(out),
         "--docs", str(docs)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "summary" in proc.stdout

    res = json.loads(out.read_text())
    assert {"meta", "workloads", "targets", "ratios", "notes"} <= set(res)
    meta = res["meta"]
    assert meta["quick"] is True and meta["scale"] == 0.001
    assert meta["workloads"] == ["fullbatch"]
    machine = meta["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["versions"]["numpy"]
    assert isinstance(machine["threadpools"], list)

    fb = res["workloads"]["fullbatch"]
    assert fb["status"] == "ok", fb
    assert set(fb["configs"]) == {"linear_float64", "linear_float32", "logistic_float64",
                                  "logistic_float32"}
    for key in fb["configs"]:
        for anchor in ("gdlab_fit_epoch/read", "gdlab_core_epoch/read", "numpy_naive/read"):
            value = fb["ratios"][f"{key}.{anchor}"]
            assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)
        assert f"{key}.torch/read" not in fb["ratios"]  # torch disabled
    assert all(k.startswith("fullbatch.") for k in res["ratios"])

    ids = {t["id"]: t for t in res["targets"]}
    for dtype in ("float64", "float32"):
        t = ids[f"fullbatch_linear_{dtype}"]
        assert t["status"] in {"PASS", "FAIL"}
        assert t["threshold"] == 1.5 and t["measured"] > 0
    text = docs.read_text()
    assert "Full-batch epoch" in text and "Targets" in text

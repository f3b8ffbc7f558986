"""One memory measurement in a fresh interpreter: ``python -m bench._probe '<json spec>'``.

The probe builds its data, runs the operation once on 512 rows (imports, JIT compilation),
records the resident set (VmRSS), resets the kernel's peak counter (``/proc/self/clear_refs``
← 5; falls back to ``ru_maxrss``), runs the operation and prints ``PROBE-RESULT {json}`` with
the peak (VmHWM) and the extra memory beyond the data. With ``"tree": true`` a sampler thread
also follows the process tree (joblib/loky workers) and reports the peak of the summed RSS
and PSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
import warnings

MB = 2**20


def _status() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM", "VmRSS")):
                    key, value = line.split(":")
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class TreeSampler(threading.Thread):
    """Peak of the summed RSS / PSS / per-process VmHWM over this process and its children."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.me = psutil.Process()
        self.interval = interval
        self.stop = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.hwm: dict[int, int] = {}
        self.max_procs = 1

    def run(self) -> None:
        ps = self.psutil
        while not self.stop.is_set():
            try:
                procs = [self.me, *self.me.children(recursive=True)]
            except ps.Error:
                procs = [self.me]
            rss = pss = 0
            for p in procs:
                try:
                    full = p.memory_full_info()
                    rss += full.rss
                    pss += getattr(full, "pss", full.rss)
                    with open(f"/proc/{p.pid}/status") as fh:
                        for line in fh:
                            if line.startswith("VmHWM"):
                                self.hwm[p.pid] = int(line.split(":")[1].split()[0]) * 1024
                except (ps.Error, OSError):
                    continue
            self.max_procs = max(self.max_procs, len(procs))
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.stop.wait(self.interval)


def _data(spec):
    from bench.common import make_data

    return make_data(spec["kind"], spec["n"], spec["d"], spec.get("dtype", "float64"),
                     spec.get("seed", 0))


def _op_gdlab_fit(spec, X, y):
    import gdlab

    cls = gdlab.GDClassifier if spec["kind"] == "logistic" else gdlab.GDRegressor
    cls(**spec["params"]).fit(X, y)


def _op_numpy_grad(spec, X, y):
    import numpy as np

    w = np.zeros(X.shape[1], dtype=X.dtype)
    for _ in range(2):
        w -= 0.01 * (X.T @ (X @ w - y) / X.shape[0])


def _op_torch_fullbatch(spec, X, y):
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Linear(X.shape[1], 1, dtype=Xt.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        loss = 0.5 * ((model(Xt).squeeze(1) - yt) ** 2).mean()
        loss.backward()
        opt.step()


def _op_torch_minibatch(spec, X, y):
    from bench.minibatch import torch_epoch_fn

    torch_epoch_fn(X, y, spec["batch_size"])()


def _op_sklearn_sgd(spec, X, y):
    from sklearn.linear_model import SGDRegressor

    SGDRegressor(max_iter=1, tol=None, random_state=0).fit(X, y)


def _op_cv(spec, X, y):
    from bench.cv import run_cv

    return run_cv(spec, X, y)


OPS = {
    "gdlab_fit": _op_gdlab_fit,
    "numpy_grad": _op_numpy_grad,
    "torch_fullbatch": _op_torch_fullbatch,
    "torch_minibatch": _op_torch_minibatch,
    "sklearn_sgd": _op_sklearn_sgd,
    "cv": _op_cv,
}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    warnings.simplefilter("ignore")
    if spec["op"] == "cv":
        from bench.cv import make_cv_data

        X, y = make_cv_data(spec)
    else:
        X, y = _data(spec)
    if spec["op"] != "cv":
        # warm-up on 512 rows: imports and JIT compilation are not what this probe measures
        m = min(512, X.shape[0])
        OPS[spec["op"]](spec, X[:m].copy(), y[:m].copy())
    import gc

    gc.collect()
    data_bytes = int(X.nbytes + y.nbytes)
    before = _status()
    reset = _reset_peak()
    sampler = None
    if spec.get("tree"):
        sampler = TreeSampler()
        sampler.start()
    t0 = time.perf_counter()
    extra = OPS[spec["op"]](spec, X, y)
    wall = time.perf_counter() - t0
    after = _status()
    result = {
        "op": spec["op"],
        "wall_s": wall,
        "data_bytes": data_bytes,
        "rss_before_bytes": before.get("VmRSS"),
        "peak_bytes": after.get("VmHWM") if reset else None,
        "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_counter_reset": reset,
    }
    if reset and before.get("VmRSS") is not None:
        result["extra_bytes"] = after["VmHWM"] - before["VmRSS"]
        result["extra_over_data"] = result["extra_bytes"] / max(data_bytes, 1)
    if sampler is not None:
        sampler.stop.set()
        sampler.join(timeout=5)
        children = {pid: v for pid, v in sampler.hwm.items() if pid != os.getpid()}
        result.update({
            "tree_peak_rss_bytes": sampler.peak_rss,
            "tree_peak_pss_bytes": sampler.peak_pss,
            "tree_max_processes": sampler.max_procs,
            "children_hwm_bytes": sorted(children.values(), reverse=True),
        })
    if isinstance(extra, dict):
        result.update(extra)
    print("PROBE-RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

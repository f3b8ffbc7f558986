"""Where gdlab's time goes per mini-batch step (input for optimisation work, no target).

For each configuration the core loop (``run_epochs`` with what ``fit`` built) runs one epoch
uninstrumented (µs per step) and one epoch under cProfile (self time per function, per step;
cProfile inflates the cost of Python calls, so read the shares, not the absolute figures).
The same epoch is also timed with numpy's BLAS limited to one thread (threadpoolctl), which
shows what BLAS threading costs on small per-batch matrices. A floor is measured beside it:
the numpy primitives one step cannot avoid (the row gather into a reused buffer, ``Xb @ w``,
``Xbᵀ @ r``) and the cost of one tiny ufunc call.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from bench.common import FULL, Settings, capture_run_epochs, make_data, measure, quiet_warnings

NAME = "profile"
TITLE = "per-step profile"
TOP = 14


def _configs():
    import gdlab

    def lin(bs):
        return lambda: gdlab.GDRegressor(batch_size=bs, max_epochs=1, tol=None, optimizer="sgd",
                                         learning_rate=0.01, alpha=0.0, random_state=0)

    def adam(bs):
        return lambda: gdlab.GDRegressor(batch_size=bs, max_epochs=1, tol=None,
                                         optimizer="adam", learning_rate=1e-3, alpha=1e-4,
                                         random_state=0)

    def mlp():
        return gdlab.GDRegressor(model="mlp", hidden_layer_sizes=(64, 64), batch_size=256,
                                 max_epochs=1, tol=None, optimizer="adam", learning_rate=1e-3,
                                 alpha=0.0, random_state=0)

    return [
        ("linear_sgd_bs32", "linear", FULL["n"], 32, lin(32)),
        ("linear_sgd_bs256", "linear", FULL["n"], 256, lin(256)),
        ("linear_adam_alpha_bs256", "linear", FULL["n"], 256, adam(256)),
        ("mlp64x64_adam_bs256", "mlp", 200_000, 256, mlp),
    ]


def _floor(X, y, bs) -> dict:
    rng = np.random.default_rng(0)
    idx = rng.permutation(X.shape[0])[:bs]
    buf = np.empty((bs, X.shape[1]))
    ybuf = np.empty(bs)
    w = np.zeros(X.shape[1])
    r = np.zeros(bs)
    tiny = np.zeros(1)
    out = {}
    for label, fn in (
        ("gather X rows (np.take into buffer)", lambda: np.take(X, idx, axis=0, out=buf)),
        ("gather y (np.take into buffer)", lambda: np.take(y, idx, out=ybuf)),
        ("Xb @ w", lambda: buf @ w),
        ("Xb.T @ r", lambda: buf.T @ r),
        ("one tiny ufunc call (a += 1)", lambda: np.add(tiny, 1.0, out=tiny)),
    ):
        out[label] = measure(fn, repeat=5, min_sample=0.01).best * 1e6
    return out


def run(settings: Settings) -> dict:
    results, rows = {}, []
    for name, kind, n_full, bs, make in _configs():
        n = settings.rows(n_full)
        X, y = make_data(kind, n, FULL["d"], "float64", settings.seed)
        est = make()
        with capture_run_epochs(type(est)) as cap, quiet_warnings():
            est.fit(X, y)
        if "call" not in cap:
            results[name] = {"error": cap.get("error", "run_epochs not captured")}
            continue
        call = cap["call"]
        steps = -(-n // bs)
        reps = min(settings.repeat, 3)
        with quiet_warnings():
            plain = measure(partial(call, 1), repeat=reps, min_sample=settings.min_sample).best
            with threadpool_limits(limits=1, user_api="blas"):
                blas1 = measure(partial(call, 1), repeat=reps,
                                min_sample=settings.min_sample).best
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.runcall(call, 1)
            profiled = time.perf_counter() - t0
        stats = pstats.Stats(prof)
        entries = []
        for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
            short = file.split("site-packages/")[-1].split("/src/")[-1]
            entries.append({"function": f"{short}:{line}({func})", "calls_per_step":
                            ncalls / steps, "self_us_per_step": tottime / steps * 1e6,
                            "cum_us_per_step": cumtime / steps * 1e6,
                            "share": tottime / max(stats.total_tt, 1e-12)})
        entries.sort(key=lambda e: -e["self_us_per_step"])
        calls_per_step = sum(e["calls_per_step"] for e in entries)
        res = {"n": n, "batch_size": bs, "steps": steps,
               "us_per_step": plain / steps * 1e6,
               "us_per_step_blas_1_thread": blas1 / steps * 1e6,
               "profiled_us_per_step": profiled / steps * 1e6,
               "python_calls_per_step": calls_per_step,
               "top": entries[:TOP]}
        if kind == "linear":
            res["floor_us"] = _floor(X, y, bs) if X.dtype == np.float64 else {}
        results[name] = res
        print(f"    {name:26s} {res['us_per_step']:7.1f} us/step uninstrumented "
              f"({res['us_per_step_blas_1_thread']:.1f} with 1 BLAS thread), "
              f"{calls_per_step:.0f} profiled calls/step; top self time: "
              + ", ".join(f"{e['function'].split('(')[-1].rstrip(')')} "
                          f"{e['share'] * 100:.0f}%" for e in entries[:5]), flush=True)
        rows.append({"config": name, "us_per_step": res["us_per_step"],
                     "us_per_step_blas_1_thread": res["us_per_step_blas_1_thread"],
                     "calls_per_step": calls_per_step})
    return {"configs": results, "ratios": {}, "rows": rows, "targets": []}

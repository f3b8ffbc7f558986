"""(a) Full-batch epoch, linear (squared_error) and logistic, 1 000 000 × 50, float64 / float32.

gdlab's epoch is measured twice: as the slope of ``fit`` time against ``max_epochs`` (what a
user pays per extra epoch; the per-fit validation cost cancels) and as the core loop alone
(``run_epochs`` re-run with what ``fit`` built). Anchors in the same process: one streaming
read of X (``X.sum()``), the naive numpy gradient step ``w -= lr · Xᵀ(Xw − y)/n`` and a torch
autograd full-batch step (forward, loss, backward, ``optimizer.step``).
"""

from __future__ import annotations

import numpy as np

from bench.common import (
    FULL,
    Settings,
    core_epoch,
    epoch_figure,
    fit_slope,
    get_torch,
    make_data,
    measure,
    measure_torch,
    ratio,
)

NAME = "fullbatch"
TITLE = "(a) full-batch epoch"
LR = 0.01


def _estimator(kind, dtype):
    import gdlab

    cls = gdlab.GDClassifier if kind == "logistic" else gdlab.GDRegressor

    def make(k):
        return cls(batch_size=None, max_epochs=k, tol=None, optimizer="sgd", learning_rate=LR,
                   alpha=0.0, dtype=dtype, random_state=0)

    return make


def numpy_step_fn(kind, X, y):
    """The naive numpy full-batch gradient step (two passes over X)."""
    n = X.shape[0]
    w = np.zeros(X.shape[1], dtype=X.dtype)
    yy = y.astype(X.dtype)

    def step():
        z = X @ w
        if kind == "logistic":
            r = 1.0 / (1.0 + np.exp(-z)) - yy
        else:
            r = z - yy
        w[:] -= (LR / n) * (X.T @ r)

    return step


def torch_step_fn(torch, kind, X, y):
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(X.dtype))
    model = torch.nn.Linear(X.shape[1], 1, dtype=Xt.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad(set_to_none=True)
        z = model(Xt).squeeze(1)
        if kind == "logistic":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, yt)
        else:
            loss = 0.5 * ((z - yt) ** 2).mean()
        loss.backward()
        opt.step()

    return step


def run(settings: Settings) -> dict:
    n, d = settings.rows(FULL["n"]), FULL["d"]
    torch = get_torch(settings)
    configs, ratios, rows, targets = {}, {}, [], []
    for kind in ("linear", "logistic"):
        for dtype in ("float64", "float32"):
            key = f"{kind}_{dtype}"
            print(f"  {key}: n={n} d={d}", flush=True)
            X, y = make_data(kind, n, d, dtype, settings.seed)
            read = measure(X.sum, repeat=max(settings.repeat, 7), min_sample=settings.min_sample)
            res = {"read": read.as_dict()}
            make = _estimator(kind, dtype)
            core = core_epoch(make, X, y, settings)
            res["gdlab_core"] = core
            hint = core.get("epoch_s") or read.best * 5
            slope = fit_slope(make, X, y, settings, hint)
            res["gdlab_fit"] = slope
            npy = measure(numpy_step_fn(kind, X, y), repeat=settings.repeat,
                          min_sample=settings.min_sample)
            res["numpy_naive"] = npy.as_dict()
            t_torch = None
            if torch is not None:
                tt, by = measure_torch(torch, torch_step_fn, (torch, kind, X, y),
                                       repeat=settings.repeat, min_sample=settings.min_sample)
                res["torch"] = {**tt.as_dict(), "best_s_by_threads": by}
                t_torch = tt.best
            configs[key] = res
            g_fit, g_core = slope["epoch_s"], core.get("epoch_s")
            g, source = epoch_figure(core, slope)
            res["gdlab_epoch_s"], res["gdlab_epoch_source"] = g, source
            r = {
                f"{key}.gdlab_epoch/read": ratio(g, read.best),
                f"{key}.gdlab_fit_epoch/read": ratio(g_fit, read.best),
                f"{key}.gdlab_core_epoch/read": ratio(g_core, read.best),
                f"{key}.numpy_naive/read": ratio(npy.best, read.best),
                f"{key}.torch/read": ratio(t_torch, read.best),
                f"{key}.gdlab_epoch/torch": ratio(g, t_torch),
                f"{key}.gdlab_epoch/numpy_naive": ratio(g, npy.best),
            }
            ratios.update({k: v for k, v in r.items() if v is not None})
            rows.append({
                "config": key, "read_ms": read.best * 1e3, "gdlab_ms": g * 1e3,
                "gdlab_fit_ms": g_fit * 1e3,
                "gdlab_core_ms": g_core * 1e3 if g_core else None,
                "fixed_fit_cost_ms": slope["fixed_cost_s"] * 1e3,
                "numpy_ms": npy.best * 1e3, "torch_ms": t_torch * 1e3 if t_torch else None,
                "gdlab/read": r[f"{key}.gdlab_epoch/read"],
                "fit/read": r[f"{key}.gdlab_fit_epoch/read"],
                "numpy/read": r[f"{key}.numpy_naive/read"],
                "torch/read": r[f"{key}.torch/read"],
            })
            print(f"    read {read.best * 1e3:.2f} ms | gdlab epoch (core) "
                  + (f"{g_core * 1e3:.2f} ms = {ratio(g_core, read.best):.2f}x" if g_core
                     else f"n/a ({core.get('error')})")
                  + f" | fit slope {g_fit * 1e3:.2f} ms = {ratio(g_fit, read.best):.2f}x"
                  + f" | numpy {npy.best * 1e3:.2f} ms = {ratio(npy.best, read.best):.2f}x"
                  + (f" | torch {t_torch * 1e3:.2f} ms = {ratio(t_torch, read.best):.2f}x"
                     if t_torch else " | torch skipped"), flush=True)
            if kind == "linear":
                targets.append({
                    "id": f"fullbatch_linear_{dtype}",
                    "target": f"full-batch linear epoch ({dtype}) <= 1.5x read of X",
                    "measured": r[f"{key}.gdlab_epoch/read"], "threshold": 1.5,
                    "unit": "x read", "kind": "target",
                    "note": f"fit slope {r[f'{key}.gdlab_fit_epoch/read']:.2f}x",
                })
    return {"sizes": {"n": n, "d": d}, "configs": configs, "ratios": ratios, "rows": rows,
            "targets": targets}

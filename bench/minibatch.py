"""(b) Mini-batch epoch at batch 256 and 32, linear regression on the same 1 000 000 × 50 data.

gdlab: plain SGD (lr 0.01), shuffled, epoch time as the fit slope and as the core loop.
Anchors: one streaming read of X; a plain numpy loop (fancy-index gather, two mat-vecs, update);
torch without a DataLoader (index tensors, forward, backward, ``optimizer.step`` per batch);
scikit-learn's per-sample ``SGDRegressor`` for one epoch (``max_iter=1, tol=None``). For
reference, two prices of visiting rows in a random order are timed too: one shuffled copy of X
into a reused buffer (``np.take``), and the floor of any shuffled epoch, one read of every row
in a shuffled order by all cores with software prefetch (``shuffled_read``, compiled; it only
sums the rows, so no epoch that visits rows in a random order can be faster).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from bench.common import (
    FULL,
    Settings,
    core_epoch,
    epoch_figure,
    epochs_in_fit,
    fit_slope,
    get_torch,
    make_data,
    measure,
    measure_torch,
    quiet_warnings,
    ratio,
)

NAME = "minibatch"
TITLE = "(b) mini-batch epoch"
LR = 0.01
BATCHES = (256, 32)
TARGETS = {256: 4.0, 32: 10.0}


def _f(v) -> str:
    return "–" if v is None else f"{v:.2f}"


def _estimator(dtype, bs):
    import gdlab

    def make(k):
        return gdlab.GDRegressor(batch_size=bs, max_epochs=k, tol=None, optimizer="sgd",
                                 learning_rate=LR, alpha=0.0, dtype=dtype, shuffle=True,
                                 random_state=0)

    return make


def numpy_epoch_fn(X, y, bs, seed=0):
    """A plain numpy mini-batch SGD epoch (what a user would write by hand)."""
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w = np.zeros(d, dtype=X.dtype)
    b = np.zeros(1, dtype=X.dtype)

    def epoch():
        perm = rng.permutation(n)
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            Xb = X[idx]
            r = Xb @ w
            r += b
            r -= y[idx]
            w[:] -= (LR / idx.shape[0]) * (Xb.T @ r)
            b[:] -= LR * r.mean()

    return epoch


def torch_epoch_fn(X, y, bs, lr=LR):
    import torch

    n, d = X.shape
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(X.dtype))
    model = torch.nn.Linear(d, 1, dtype=Xt.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def epoch():
        perm = torch.randperm(n)
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            xb, yb = Xt[idx], yt[idx]
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * ((model(xb).squeeze(1) - yb) ** 2).mean()
            loss.backward()
            opt.step()

    return epoch


def sklearn_epoch_fn(X, y):
    from sklearn.linear_model import SGDRegressor

    def epoch():
        with quiet_warnings():
            SGDRegressor(max_iter=1, tol=None, random_state=0).fit(X, y)

    return epoch


def _shuffled_read_kernels():
    from numba import njit, prange

    from gdlab.core.fast.prefetch import prefetch

    @njit(fastmath=True)
    def part(X, order, lo, hi):
        d = X.shape[1]
        line = max(1, 64 // X.itemsize)
        total = 0.0
        for t in range(lo, hi):
            if t + 16 < hi:
                j = order[t + 16]
                for f in range(0, d, line):
                    prefetch(X, j, f)
                prefetch(X, j, d - 1)
            i = order[t]
            for f in range(d):
                total += X[i, f]
        return total

    @njit(parallel=True)
    def shuffled_read(X, order, parts):
        n = order.shape[0]
        per = (n + parts - 1) // parts
        sums = np.zeros(parts)
        for p in prange(parts):
            sums[p] = part(X, order, min(n, p * per), min(n, p * per + per))
        return sums.sum()

    return shuffled_read


def shuffled_read_fn(X, perm):
    """One read of every row of X in the order ``perm``, by all numba threads (or None)."""
    try:
        import numba

        kernel = _shuffled_read_kernels()
    except ImportError:
        return None
    return partial(kernel, X, perm, numba.get_num_threads())


def _measure_config(dtype, bs, X, y, read, floor, t_sk, torch, settings: Settings) -> dict:
    """Every timing of one configuration (first pass)."""
    budget = settings.budget
    res = {"dtype": dtype, "bs": bs, "read": read.as_dict(), "read_s": read.best,
           "floor_s": floor.best if floor else None, "steps_per_epoch": -(-len(X) // bs)}
    make = _estimator(dtype, bs)
    core = core_epoch(make, X, y, settings)
    res["gdlab_core"] = core
    res["gdlab_fit"] = fit_slope(make, X, y, settings, core.get("epoch_s") or read.best * 20)
    npl = measure(numpy_epoch_fn(X, y, bs), repeat=settings.repeat, min_sample=0.0,
                  budget=budget)
    res["numpy_loop"] = npl.as_dict()
    res["numpy_loop_s"] = npl.best
    res["torch_s"] = None
    if torch is not None:
        tt, by = measure_torch(torch, torch_epoch_fn, (X, y, bs),
                               repeat=min(settings.repeat, 3), min_sample=0.0, budget=budget)
        res["torch"] = {**tt.as_dict(), "best_s_by_threads": by}
        res["torch_s"] = tt.best
    res["sklearn_sgd_epoch_s"] = t_sk
    return res


def _another_pass(res: dict, X, y, settings: Settings) -> None:
    """Time the read anchor and gdlab's single epochs (core loop, and inside one fit) again and
    keep each one's best. This virtual machine has spells of one to several minutes in which
    two-thread kernels run at one-thread speed; both sides get the same further chances, and
    every pass is recorded in ``res["passes"]``."""
    make = _estimator(res["dtype"], res["bs"])
    read = measure(X.sum, repeat=max(settings.repeat, 7), min_sample=settings.min_sample)
    core = core_epoch(make, X, y, settings)
    in_fit = epochs_in_fit(make, X, y, res["gdlab_fit"]["epochs"][1])
    passes = res.setdefault("passes", {
        "read_s": [res["read_s"]],
        "core_epoch_s": [res["gdlab_core"].get("epoch_s")],
        "in_fit_epoch_min_s": [res["gdlab_fit"].get("in_fit_epoch_min_s")],
    })
    passes["read_s"].append(read.best)
    passes["core_epoch_s"].append(core.get("epoch_s"))
    passes["in_fit_epoch_min_s"].append(min(in_fit) if in_fit else None)
    if read.best < res["read_s"]:
        res["read"], res["read_s"] = read.as_dict(), read.best
    best_core = res["gdlab_core"].get("epoch_s")
    if core.get("epoch_s") and (not best_core or core["epoch_s"] < best_core):
        res["gdlab_core"] = core
    in_fit_times = [t for t in passes["in_fit_epoch_min_s"] if t]
    if in_fit_times:
        res["gdlab_fit"]["in_fit_epoch_min_s"] = min(in_fit_times)


def _passes(result: dict, settings: Settings, label: str) -> None:
    n, d = result["sizes"]["n"], result["sizes"]["d"]
    print(f"  {label} (read, gdlab core loop and epochs in a fit again; each keeps its best):",
          flush=True)
    for key, res in result["configs"].items():
        if key.startswith("bs"):
            _another_pass(res, *make_data("linear", n, d, res["dtype"], settings.seed),
                          settings)


def _summarise_all(result: dict) -> dict:
    """The configurations' ratios, table rows and targets from their timings so far."""
    result["rows"], result["targets"] = [], []
    for key, res in result["configs"].items():
        if key.startswith("bs"):
            r, row, target = _summarise(key, res)
            result["ratios"].update(r)
            result["rows"].append(row)
            result["targets"].append(target)
    return result


def recheck(result: dict, settings: Settings) -> dict:
    """A last pass at the end of the suite, minutes after the first two (full runs only)."""
    _passes(result, settings, "last pass")
    return _summarise_all(result)


def _summarise(key: str, res: dict) -> tuple[dict, dict, dict]:
    """(ratios, table row, target) of one configuration; prints its line."""
    read, steps, bs = res["read_s"], res["steps_per_epoch"], res["bs"]
    core, slope = res["gdlab_core"], res["gdlab_fit"]
    g_fit, g_core = slope["epoch_s"], core.get("epoch_s")
    g, source = epoch_figure(core, slope)
    res["gdlab_epoch_s"], res["gdlab_epoch_source"] = g, source
    npl, t_torch, t_sk = res["numpy_loop_s"], res["torch_s"], res["sklearn_sgd_epoch_s"]
    r = {
        f"{key}.gdlab_epoch/read": ratio(g, read),
        f"{key}.gdlab_fit_epoch/read": ratio(g_fit, read),
        f"{key}.gdlab_core_epoch/read": ratio(g_core, read),
        f"{key}.numpy_loop/read": ratio(npl, read),
        f"{key}.torch/read": ratio(t_torch, read),
        f"{key}.sklearn_sgd/read": ratio(t_sk, read),
        f"{key}.gdlab_epoch/torch": ratio(g, t_torch),
        f"{key}.gdlab_epoch/sklearn_sgd": ratio(g, t_sk),
        f"{key}.gdlab_epoch/numpy_loop": ratio(g, npl),
        f"{key}.gdlab_epoch/shuffled_read": ratio(g, res["floor_s"]),
    }
    row = {
        "config": key, "read_ms": read * 1e3, "gdlab_ms": g * 1e3,
        "gdlab_fit_ms": g_fit * 1e3,
        "gdlab_core_ms": g_core * 1e3 if g_core else None,
        "us_per_step": g / steps * 1e6,
        "numpy_loop_ms": npl * 1e3,
        "torch_ms": t_torch * 1e3 if t_torch else None,
        "sklearn_ms": t_sk * 1e3 if t_sk else None,
        "gdlab/read": r[f"{key}.gdlab_epoch/read"],
        "fit/read": r[f"{key}.gdlab_fit_epoch/read"],
        "numpy/read": r[f"{key}.numpy_loop/read"],
        "torch/read": r[f"{key}.torch/read"],
        "sklearn/read": r[f"{key}.sklearn_sgd/read"],
        "gdlab/torch": r[f"{key}.gdlab_epoch/torch"],
        "gdlab/sklearn": r[f"{key}.gdlab_epoch/sklearn_sgd"],
    }
    print(f"  {key}: read {read * 1e3:.2f} ms | gdlab epoch ({source}) {g * 1e3:.1f} ms "
          f"= {ratio(g, read):.1f}x ({g / steps * 1e6:.1f} us/step) | fit slope "
          f"{g_fit * 1e3:.1f} ms"
          + f" | numpy loop {npl * 1e3:.1f} ms = {ratio(npl, read):.1f}x"
          + (f" | torch {t_torch * 1e3:.1f} ms = {ratio(t_torch, read):.1f}x"
             if t_torch else " | torch skipped")
          + (f" | sklearn {t_sk * 1e3:.1f} ms = {ratio(t_sk, read):.1f}x" if t_sk else ""),
          flush=True)
    passes = res.get("passes")
    target = {
        "id": f"minibatch_{bs}_{res['dtype']}",
        "target": f"mini-batch {bs} epoch ({res['dtype']}) <= {TARGETS[bs]:g}x read of X",
        "measured": r[f"{key}.gdlab_epoch/read"], "threshold": TARGETS[bs],
        "unit": "x read", "kind": "target",
        "note": f"fit slope {r[f'{key}.gdlab_fit_epoch/read']:.2f}x; "
                f"{_f(r[f'{key}.gdlab_epoch/shuffled_read'])}x the shuffled-order "
                f"read floor; vs torch "
                f"{_f(r[f'{key}.gdlab_epoch/torch'])}x, vs sklearn "
                f"{_f(r[f'{key}.gdlab_epoch/sklearn_sgd'])}x"
                + (f"; by pass: core loop {_ms(passes['core_epoch_s'])} ms, in fit "
                   f"{_ms(passes['in_fit_epoch_min_s'])} ms, read "
                   f"{_ms(passes['read_s'])} ms" if passes else ""),
    }
    return {k: v for k, v in r.items() if v is not None}, row, target


def _ms(values) -> str:
    return " / ".join("–" if v is None else f"{v * 1e3:.1f}" for v in values)


def run(settings: Settings) -> dict:
    n, d = settings.rows(FULL["n"]), FULL["d"]
    torch = get_torch(settings)
    configs, ratios = {}, {}
    budget = settings.budget
    for dtype in ("float64", "float32"):
        X, y = make_data("linear", n, d, dtype, settings.seed)
        read = measure(X.sum, repeat=max(settings.repeat, 7), min_sample=settings.min_sample)
        perm = np.random.default_rng(settings.seed).permutation(n)
        gather = measure(partial(np.take, X, perm, axis=0, out=np.empty_like(X)),
                         repeat=min(settings.repeat, 5), min_sample=0.0, budget=budget)
        configs[f"shuffle_gather_{dtype}"] = gather.as_dict()
        ratios[f"shuffle_gather_{dtype}/read"] = ratio(gather.best, read.best)
        floor_fn = shuffled_read_fn(X, perm)
        floor = None
        if floor_fn is not None:
            floor = measure(floor_fn, repeat=max(settings.repeat, 5),
                            min_sample=settings.min_sample)
            configs[f"shuffled_read_{dtype}"] = floor.as_dict()
            ratios[f"shuffled_read_{dtype}/read"] = ratio(floor.best, read.best)
        print(f"  {dtype}: read {read.best * 1e3:.2f} ms; one shuffled copy of X into a reused "
              f"buffer (np.take) {gather.best * 1e3:.1f} ms = "
              f"{ratio(gather.best, read.best):.1f}x read"
              + (f"; one shuffled-order read, all cores {floor.best * 1e3:.1f} ms = "
                 f"{ratio(floor.best, read.best):.1f}x read" if floor else ""), flush=True)
        t_sk = None
        if dtype == "float64":
            sk = measure(sklearn_epoch_fn(X, y), repeat=settings.repeat, min_sample=0.0,
                         budget=budget)
            t_sk = sk.best
            configs["sklearn_sgd_float64"] = sk.as_dict()
        for bs in BATCHES:
            key = f"bs{bs}_{dtype}"
            print(f"  {key}: n={n} d={d}", flush=True)
            configs[key] = _measure_config(dtype, bs, X, y, read, floor, t_sk, torch, settings)
    result = {"sizes": {"n": n, "d": d, "batch_sizes": list(BATCHES)}, "configs": configs,
              "ratios": ratios}
    if not settings.quick:
        _passes(result, settings, "second pass")
    return _summarise_all(result)

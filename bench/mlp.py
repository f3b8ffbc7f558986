"""(d) MLP with two hidden layers of 64 (ReLU) on 200 000 × 50, batch 256, Adam (lr 1e-3).

gdlab: GDRegressor(model="mlp", hidden_layer_sizes=(64, 64), batch_size=256, alpha=0), epoch
time as the fit slope and as the core loop. Anchor: the same network in torch (nn.Sequential,
Adam, ½·MSE), index tensors per batch, no DataLoader; both in float64 and float32.
"""

from __future__ import annotations

from bench.common import (
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

NAME = "mlp"
TITLE = "(d) MLP 64-64 epoch"
N, D, HIDDEN, BS, LR = 200_000, 50, (64, 64), 256, 1e-3


def _estimator(dtype):
    import gdlab

    def make(k):
        return gdlab.GDRegressor(model="mlp", hidden_layer_sizes=HIDDEN, activation="relu",
                                 batch_size=BS, max_epochs=k, tol=None, optimizer="adam",
                                 learning_rate=LR, alpha=0.0, dtype=dtype, random_state=0)

    return make


def torch_epoch_fn(torch, X, y):
    n, d = X.shape
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(X.dtype))
    layers, fan_in = [], d
    for h in HIDDEN:
        layers += [torch.nn.Linear(fan_in, h, dtype=Xt.dtype), torch.nn.ReLU()]
        fan_in = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(fan_in, 1, dtype=Xt.dtype))
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def epoch():
        perm = torch.randperm(n)
        for s in range(0, n, BS):
            idx = perm[s:s + BS]
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * ((model(Xt[idx]).squeeze(1) - yt[idx]) ** 2).mean()
            loss.backward()
            opt.step()

    return epoch


def run(settings: Settings) -> dict:
    n = settings.rows(N)
    torch = get_torch(settings)
    configs, ratios, rows, targets = {}, {}, [], []
    for dtype in ("float64", "float32"):
        X, y = make_data("mlp", n, D, dtype, settings.seed)
        print(f"  mlp_{dtype}: n={n} d={D} hidden={HIDDEN} batch={BS}", flush=True)
        read = measure(X.sum, repeat=max(settings.repeat, 7), min_sample=settings.min_sample)
        make = _estimator(dtype)
        core = core_epoch(make, X, y, settings)
        slope = fit_slope(make, X, y, settings, core.get("epoch_s") or 1.0)
        res = {"read": read.as_dict(), "gdlab_core": core, "gdlab_fit": slope}
        t_torch = None
        if torch is not None:
            tt, by = measure_torch(torch, torch_epoch_fn, (torch, X, y),
                                   repeat=min(settings.repeat, 3), min_sample=0.0,
                                   budget=settings.budget)
            res["torch"] = {**tt.as_dict(), "best_s_by_threads": by}
            t_torch = tt.best
        configs[dtype] = res
        g_fit = slope["epoch_s"]
        g, source = epoch_figure(core, slope)
        res["gdlab_epoch_s"], res["gdlab_epoch_source"] = g, source
        r = {
            f"{dtype}.gdlab_epoch/torch": ratio(g, t_torch),
            f"{dtype}.gdlab_fit_epoch/torch": ratio(g_fit, t_torch),
            f"{dtype}.gdlab_epoch/read": ratio(g, read.best),
            f"{dtype}.torch/read": ratio(t_torch, read.best),
        }
        ratios.update({k: v for k, v in r.items() if v is not None})
        rows.append({"config": f"mlp_{dtype}", "gdlab_ms": g * 1e3, "gdlab_fit_ms": g_fit * 1e3,
                     "gdlab_core_ms": core["epoch_s"] * 1e3 if core.get("epoch_s") else None,
                     "torch_ms": t_torch * 1e3 if t_torch else None,
                     "gdlab/torch": r[f"{dtype}.gdlab_epoch/torch"]})
        print(f"    gdlab epoch ({source}) {g * 1e3:.0f} ms | fit slope {g_fit * 1e3:.0f} ms"
              + (f" | torch {t_torch * 1e3:.0f} ms | gdlab/torch {g / t_torch:.2f}"
                 if t_torch else " | torch skipped"), flush=True)
        if t_torch is not None:
            targets.append({
                "id": f"mlp_{dtype}", "kind": "goal",
                "target": f"MLP 64-64 epoch ({dtype}) faster than torch (<= 1x)",
                "measured": r[f"{dtype}.gdlab_epoch/torch"], "threshold": 1.0,
                "unit": "x torch",
            })
    return {"sizes": {"n": n, "d": D, "hidden": list(HIDDEN), "batch_size": BS},
            "configs": configs, "ratios": ratios, "rows": rows, "targets": targets}

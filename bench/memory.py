"""Peak memory of one fit beyond the data, each measured in its own fresh interpreter.

Every probe (``python -m bench._probe``) builds the 1 000 000 × 50 data, resets the kernel's
peak-RSS counter, runs one operation and reports the peak minus the resident set before it:
the extra memory the operation needed (copies of X, per-epoch buffers, autograd graphs).
"""

from __future__ import annotations

from bench.common import FULL, Settings, get_torch, run_probe

NAME = "memory"
TITLE = "peak memory beyond the data"
MB = 2**20


def _gd(dtype, bs, epochs):
    return {"batch_size": bs, "max_epochs": epochs, "tol": None, "optimizer": "sgd",
            "learning_rate": 0.01, "alpha": 0.0, "dtype": dtype, "random_state": 0}


def run(settings: Settings) -> dict:
    n, d = settings.rows(FULL["n"]), FULL["d"]
    base = {"kind": "linear", "n": n, "d": d, "seed": settings.seed}
    probes = {
        "gdlab_fullbatch_float64": {**base, "op": "gdlab_fit", "params": _gd("float64", None, 2)},
        "gdlab_fullbatch_float32": {**base, "op": "gdlab_fit", "dtype": "float32",
                                    "params": _gd("float32", None, 2)},
        "gdlab_fullbatch_float64_to_float32": {**base, "op": "gdlab_fit",
                                               "params": _gd("float32", None, 2)},
        "gdlab_minibatch256_float64": {**base, "op": "gdlab_fit",
                                       "params": _gd("float64", 256, 1)},
        "numpy_naive_float64": {**base, "op": "numpy_grad"},
        "sklearn_sgd_float64": {**base, "op": "sklearn_sgd"},
    }
    if get_torch(settings) is not None:
        probes["torch_fullbatch_float64"] = {**base, "op": "torch_fullbatch"}
    results, ratios, rows = {}, {}, []
    for name, spec in probes.items():
        res = run_probe(spec)
        results[name] = res
        if "error" in res:
            print(f"    {name}: {res['error']}", flush=True)
            rows.append({"probe": name, "error": res["error"]})
            continue
        extra = res.get("extra_bytes")
        ratios[f"{name}.extra/data"] = res.get("extra_over_data")
        rows.append({"probe": name, "data_mb": res["data_bytes"] / MB,
                     "extra_mb": extra / MB if extra is not None else None,
                     "extra/data": res.get("extra_over_data"), "wall_s": res["wall_s"]})
        print(f"    {name:38s} data {res['data_bytes'] / MB:7.1f} MB, extra peak "
              + (f"{extra / MB:7.1f} MB ({res['extra_over_data']:.2f}x data)"
                 if extra is not None else "n/a"), flush=True)
    ratios = {k: v for k, v in ratios.items() if v is not None}
    return {"sizes": {"n": n, "d": d}, "probes": results, "ratios": ratios, "rows": rows,
            "targets": []}

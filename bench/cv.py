"""(e) 5-fold cross-validation of the default pipeline, and MLflow's share of the train stage.

Three measurements, each skipped with a printed reason when its piece is not there yet:

* ``cv_default``: ``gdlab.experiment.cross_validate`` of ``build_pipeline(params.yaml)`` with
  the file's folds and ``n_jobs`` on synthetic data shaped as ``data.synthetic`` asks (the
  training split, ``1 - test_size`` of the rows): wall time and peak memory of the process tree.
* ``cv_large``: the same with n_jobs=2 on 1 000 000 × 50 (scaled) with ``max_epochs=1``: the
  peak memory of the process tree (the parent and its joblib workers, sampled every 50 ms;
  summed PSS counts pages shared through memory mapping once, summed RSS counts them per
  process) against the issue's bound 1.5 × dataset bytes + 300 MB.
* ``mlflow_share``: the ``train`` stage of dvc.yaml at default params, run by ``dvc repro`` in
  a temporary copy of the workspace (its own ``mlflow.db``; the repository is not touched;
  not in ``--quick``)
  with ``bench/_mlflow_site`` on PYTHONPATH, which sums the time spent inside MLflow's entry
  points and MLflow's import time (see that module) and hides the bench-only torch, as in the
  environment ``make run`` installs.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import FULL, ROOT, Settings, run_probe

NAME = "cv"
TITLE = "(e) cross-validation and MLflow share"
MB = 2**20
SITE = Path(__file__).resolve().parent / "_mlflow_site"
# The bench extra, absent from the environment `make run` installs. Hidden from the measured
# stage: skops imports torch when it can (~2 s), which would pad the stage's wall time.
BENCH_ONLY_MODULES = ("torch",)
COPY_IGNORE = (".venv", "mlflow.db", "mlruns", "mlartifacts", "tmp", "__pycache__",
               ".pytest_cache", ".ruff_cache", "results.json")


# ------------------------------------------------------------------ run inside a probe
def _params(spec):
    from gdlab.config import load_params, with_overrides

    params = load_params(ROOT / "params.yaml")
    overrides = dict(spec.get("overrides") or {})
    return with_overrides(params, overrides) if overrides else params


def make_cv_data(spec):
    """The probe's data: ``data.synthetic``'s shape (default) or ``n`` × ``d`` (large)."""
    import numpy as np

    params = _params(spec)
    task = params.model.task
    if spec.get("dataset") == "large":
        from bench.common import make_data

        kind = "logistic" if task == "classification" else "linear"
        return make_data(kind, spec["n"], spec["d"], "float64", spec.get("seed", 0))
    syn = params.data.synthetic
    n = int(round(syn.n_samples * (1 - params.data.test_size)))
    if task == "classification":
        from sklearn.datasets import make_classification

        X, y = make_classification(n_samples=n, n_features=syn.n_features,
                                   n_informative=syn.n_informative, n_classes=syn.n_classes,
                                   random_state=params.seed)
    else:
        from sklearn.datasets import make_regression

        X, y = make_regression(n_samples=n, n_features=syn.n_features,
                               n_informative=syn.n_informative, noise=syn.noise,
                               random_state=params.seed)
    return np.ascontiguousarray(X), y


def run_cv(spec, X, y):
    from gdlab.experiment import build_pipeline, cross_validate, make_folds

    params = _params(spec)
    task = params.model.task
    pipeline = build_pipeline(params)
    folds = make_folds(y, params.cv.folds, task=task, seed=params.seed)
    n_jobs = spec.get("n_jobs") or params.cv.n_jobs
    t0 = time.perf_counter()
    res = cross_validate(pipeline, X, y, folds, task=task, n_jobs=n_jobs, progress=False)
    wall = time.perf_counter() - t0
    return {"cv_wall_s": wall, "n_folds": len(folds), "n_jobs": n_jobs, "task": task,
            "rows": int(X.shape[0]), "features": int(X.shape[1]),
            "epochs_per_fold": [f.n_iter for f in res.folds]}


# ------------------------------------------------------------------ helpers
def _missing_cv_piece() -> str | None:
    probe = ("import gdlab.config, gdlab.experiment as e; "
             "e.cross_validate, e.build_pipeline, e.make_folds; "
             "import gdlab.data.preprocessing")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=300)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"gdlab.experiment.cross_validate / build_pipeline not usable ({last})"
    if not (ROOT / "params.yaml").exists():
        return "params.yaml not found"
    return None


def _venv_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra or {})
    return env


def dvc_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "dvc"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dvc"]


def _train_stage() -> tuple[str | None, str | None]:
    dvc_yaml = ROOT / "dvc.yaml"
    if not dvc_yaml.exists():
        return None, "no dvc.yaml yet (the DVC pipeline is not built)"
    import yaml

    stages = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages") or {}
    if "train" in stages:
        return "train", None
    named = [s for s in stages if "train" in s]
    if named:
        return named[0], None
    return None, f"dvc.yaml has no train stage (stages: {', '.join(stages) or 'none'})"


_COPY: list = []


def fresh_workspace_copy(prefix: str = "gdlab-bench-") -> Path:
    """A new copy of the workspace (git and DVC metadata included; no venv, no MLflow store)
    in a temporary directory, where the pipeline can run without touching the repository;
    removed at exit."""
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    atexit.register(tmp.cleanup)
    work = Path(tmp.name) / "repo"
    shutil.copytree(ROOT, work, symlinks=True, ignore=shutil.ignore_patterns(*COPY_IGNORE))
    return work


def workspace_copy() -> Path:
    """:func:`fresh_workspace_copy`, made once per run and shared by the workloads that need
    it."""
    if not _COPY:
        _COPY.append(fresh_workspace_copy())
    return _COPY[0]


def mlflow_share(settings: Settings) -> dict:
    stage, why = _train_stage()
    if stage is None:
        return {"status": "skipped", "why": why}
    if settings.quick:
        return {"status": "skipped",
                "why": "--quick does not run the real train stage (use the full run)"}
    work = workspace_copy()
    with tempfile.TemporaryDirectory(prefix="gdlab-bench-mlflow-") as tmp:
        out = Path(tmp) / "mlflow-times"
        out.mkdir()
        env = _venv_env({
            "GDLAB_BENCH_MLFLOW_OUT": str(out),
            "GDLAB_BENCH_HIDE": ",".join(BENCH_ONLY_MODULES),
            "PYTHONPATH": os.pathsep.join([str(SITE), str(ROOT)]
                                          + ([os.environ["PYTHONPATH"]]
                                             if os.environ.get("PYTHONPATH") else [])),
        })
        env.pop("MLFLOW_TRACKING_URI", None)
        # 1: bring the stage's inputs up to date in the copy (may run the stage: warm-up)
        first = subprocess.run([*dvc_cmd(), "repro", stage], cwd=work, env=env,
                               capture_output=True, text=True, timeout=3600)
        if first.returncode != 0:
            tail = " | ".join((first.stderr or first.stdout).strip().splitlines()[-3:])
            return {"status": "error", "why": f"dvc repro {stage} failed in the copy: {tail}"}
        for f in out.iterdir():
            f.unlink()
        # 2: the measured run of the train stage alone
        t0 = time.perf_counter()
        proc = subprocess.run(
            [*dvc_cmd(), "repro", "--force", "--single-item", "--no-run-cache", stage],
            cwd=work, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            return {"status": "error", "why": f"forced dvc repro {stage} failed: {tail}"}
        records = [json.loads(p.read_text()) for p in out.glob("*.json")]
    stage_records = [r for r in records
                     if not any("loky" in a or a.endswith("/dvc") for a in r["argv"][:1])]
    if not stage_records:
        return {"status": "skipped", "why": "the train stage never imported MLflow",
                "dvc_repro_wall_s": wall}
    main = max(stage_records, key=lambda r: r["wall_s"])
    share = main["mlflow_calls_s"] / main["wall_s"]
    share_imp = (main["mlflow_calls_s"] + main["mlflow_import_s"]) / main["wall_s"]
    return {"status": "ok", "stage": stage, "dvc_repro_wall_s": wall,
            "stage_wall_s": main["wall_s"], "mlflow_calls_s": main["mlflow_calls_s"],
            "mlflow_import_s": main["mlflow_import_s"], "mlflow_n_calls": main["mlflow_n_calls"],
            "share_calls": share, "share_calls_and_import": share_imp, "top": main["top"],
            "argv": main["argv"], "other_processes": len(records) - 1}


# ------------------------------------------------------------------ workload
def run(settings: Settings) -> dict:
    out = {"ratios": {}, "rows": [], "targets": []}
    missing = _missing_cv_piece()
    if missing:
        print(f"    cv: skipped: {missing}", flush=True)
        out["cv_default"] = out["cv_large"] = {"status": "skipped", "why": missing}
    else:
        spec_default = {"op": "cv", "dataset": "default", "tree": True}
        res = run_probe(spec_default, timeout=3600)
        out["cv_default"] = res
        if "error" in res:
            print(f"    cv_default: error: {res['error']}", flush=True)
        else:
            print(f"    cv_default: {res['n_folds']} folds, n_jobs={res['n_jobs']}, "
                  f"{res['rows']}x{res['features']}: {res['cv_wall_s']:.2f}s, tree peak PSS "
                  f"{res['tree_peak_pss_bytes'] / MB:.0f} MB (RSS sum "
                  f"{res['tree_peak_rss_bytes'] / MB:.0f} MB)", flush=True)
            out["rows"].append({"measure": "5-fold CV, default params", "wall_s":
                                res["cv_wall_s"], "peak_pss_mb": res["tree_peak_pss_bytes"] / MB,
                                "peak_rss_sum_mb": res["tree_peak_rss_bytes"] / MB})
        n = settings.rows(FULL["n"])
        spec_large = {"op": "cv", "dataset": "large", "tree": True, "n": n, "d": FULL["d"],
                      "n_jobs": 2, "overrides": {"train.max_epochs": 1, "cv.n_jobs": 2}}
        res = run_probe(spec_large, timeout=3600)
        out["cv_large"] = res
        if "error" in res:
            print(f"    cv_large: error: {res['error']}", flush=True)
        else:
            data = res["data_bytes"]
            bound = 1.5 * data + 300 * MB
            pss, rss = res["tree_peak_pss_bytes"], res["tree_peak_rss_bytes"]
            out["ratios"]["cv_large.peak_pss/bound"] = pss / bound
            out["ratios"]["cv_large.peak_rss_sum/bound"] = rss / bound
            print(f"    cv_large: {n}x{FULL['d']} ({data / MB:.0f} MB), n_jobs=2, 1 epoch: "
                  f"{res['cv_wall_s']:.1f}s; tree peak PSS {pss / MB:.0f} MB, RSS sum "
                  f"{rss / MB:.0f} MB; bound {bound / MB:.0f} MB", flush=True)
            out["rows"].append({"measure": f"5-fold CV n_jobs=2, {n}x{FULL['d']}, 1 epoch",
                                "wall_s": res["cv_wall_s"], "peak_pss_mb": pss / MB,
                                "peak_rss_sum_mb": rss / MB, "bound_mb": bound / MB})
            out["targets"].append({
                "id": "cv_peak_rss", "kind": "target",
                "target": "5-fold CV n_jobs=2: peak memory <= 1.5x dataset + 300 MB "
                          "(process tree PSS)",
                "measured": pss / MB, "threshold": bound / MB, "unit": "MB",
                "note": f"summed RSS {rss / MB:.0f} MB; dataset {data / MB:.0f} MB",
            })
    ms = mlflow_share(settings)
    out["mlflow_share"] = ms
    if ms["status"] != "ok":
        print(f"    mlflow share: {ms['status']}: {ms['why']}", flush=True)
    else:
        print(f"    mlflow share of the {ms['stage']} stage: {ms['share_calls'] * 100:.1f}% "
              f"of {ms['stage_wall_s']:.1f}s in calls ({ms['mlflow_n_calls']} calls), "
              f"{ms['share_calls_and_import'] * 100:.1f}% with the import", flush=True)
        out["ratios"]["mlflow_share_calls"] = ms["share_calls"]
        out["ratios"]["mlflow_share_calls_and_import"] = ms["share_calls_and_import"]
        out["targets"].append({
            "id": "mlflow_share", "kind": "target",
            "target": "MLflow calls <= 5% of the train stage's wall time (default params)",
            "measured": ms["share_calls"] * 100, "threshold": 5.0, "unit": "%",
            "note": f"with `import mlflow`: {ms['share_calls_and_import'] * 100:.1f}%",
        })
    skipped = [k for k in ("cv_default", "cv_large", "mlflow_share")
               if out.get(k, {}).get("status") == "skipped"]
    if skipped:
        out["skipped"] = {k: out[k]["why"] for k in skipped}
    ids = {t["id"] for t in out["targets"]}
    large = out.get("cv_large", {})
    for tid, text, note in (
        ("cv_peak_rss", "5-fold CV n_jobs=2: peak memory <= 1.5x dataset + 300 MB",
         large.get("why") or large.get("error")),
        ("mlflow_share", "MLflow calls <= 5% of the train stage's wall time (default params)",
         ms.get("why")),
    ):
        if tid not in ids:
            out["targets"].append({"id": tid, "kind": "target", "status": "SKIP",
                                   "target": text, "note": note})
    return out

"""(f) A no-op ``dvc repro``, and the full default ``dvc repro`` (issue 3: ``make run`` under
3 minutes once installed).

First one full ``dvc repro`` at the repository's params in a fresh temporary copy of the
workspace (no MLflow store, no DVC outputs, an empty numba cache: a fresh clone's first
``make run`` after the install), timed (``--no-dvc-copy`` and ``--quick`` skip it). Then the
no-op: in the repository root when ``dvc status`` reports nothing to do there (so ``dvc repro``
can change nothing), else in that copy: one warm-up ``dvc repro`` and three timed ones
(median reported). The repository is not touched. No dvc.yaml: "skipped: <why>".
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path

import yaml

from bench.common import ROOT, Settings
from bench.cv import _venv_env, dvc_cmd, fresh_workspace_copy

NAME = "dvc_noop"
TITLE = "(f) no-op dvc repro"
TIMED = 3
TARGET = "no-op `dvc repro` <= 5 s"
FULL_TARGET = "default `dvc repro` from a fresh copy (`make run` once installed) < 3 min"
FULL_LIMIT_S = 180.0


def _skip(why: str) -> dict:
    print(f"    skipped: {why}", flush=True)
    return {"status": "skipped", "why": why, "ratios": {}, "rows": [], "targets": [{
        "id": "dvc_noop", "kind": "target", "status": "SKIP", "target": TARGET, "note": why}]}


def _tail(proc) -> str:
    return " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])[-300:]


def _dvc(where: Path, env: dict, *args: str, timeout: float = 600):
    """``dvc <args>`` in ``where``: (the finished process, its wall time in seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.run([*dvc_cmd(), *args], cwd=where, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.perf_counter() - t0


def _status(where: Path, env: dict) -> tuple[dict | None, float, str | None]:
    st, dt = _dvc(where, env, "status", "--json")
    if st.returncode != 0:
        return None, dt, f"`dvc status` failed: {_tail(st)}"
    text = st.stdout.strip()
    try:
        return (json.loads(text.splitlines()[-1]) if text else {}), dt, None
    except json.JSONDecodeError:
        return {"unparsed": text[-200:]}, dt, None


def _time_noop(where: Path, env: dict) -> tuple[list[float] | None, str | None]:
    times = []
    for i in range(TIMED + 1):
        proc, dt = _dvc(where, env, "repro")
        if proc.returncode != 0:
            return None, f"`dvc repro` failed: {_tail(proc)}"
        if i:
            times.append(dt)
    return times, None


def _result(times, t_status, where_label) -> dict:
    med = statistics.median(times)
    print(f"    {where_label}: dvc status {t_status:.2f}s; no-op dvc repro median {med:.2f}s "
          f"(best {min(times):.2f}s)", flush=True)
    return {"where": where_label, "status_s": t_status, "repro_s": times,
            "repro_median_s": med, "ratios": {"dvc_noop_s": med},
            "rows": [{"measure": "no-op dvc repro", "where": where_label, "median_s": med,
                      "best_s": min(times), "dvc_status_s": t_status}],
            "targets": [{"id": "dvc_noop", "kind": "target", "target": TARGET,
                         "measured": med, "threshold": 5.0, "unit": "s",
                         "note": where_label}]}


def _full_repro(env: dict) -> tuple[dict | None, Path | None, str | None]:
    """One full ``dvc repro`` at the repository's params in a fresh copy of the workspace (no
    MLflow store, no DVC outputs) with an empty numba cache: what ``make run`` runs on a fresh
    clone once installed. Returns (the target row, the copy, why it failed)."""
    work = fresh_workspace_copy("gdlab-bench-repro-")
    # as on a fresh clone: no lock file (every stage counts as changed); --no-run-cache below
    # keeps DVC from restoring outputs of an earlier identical run from the copied cache
    (work / "dvc.lock").unlink(missing_ok=True)
    numba_cache = work.parent / "numba-cache"
    numba_cache.mkdir()
    cold = {**env, "NUMBA_CACHE_DIR": str(numba_cache)}
    full, t_full = _dvc(work, cold, "repro", "--no-run-cache", timeout=3600)
    if full.returncode != 0:
        return None, None, f"full `dvc repro` failed in the temporary copy: {_tail(full)}"
    ran = [line.split("'")[1] for line in (full.stdout + full.stderr).splitlines()
           if line.startswith("Running stage '")]
    stages = list((yaml.safe_load((work / "dvc.yaml").read_text()) or {}).get("stages", {}))
    if missing := [name for name in stages if name not in ran]:
        return None, None, (f"the full `dvc repro` in the copy did not run {', '.join(missing)} "
                            f"(ran: {', '.join(ran) or 'nothing'})")
    print(f"    full dvc repro in a fresh copy (cold JIT cache): {t_full:.1f}s "
          f"(stages: {', '.join(ran)})", flush=True)
    return {"id": "dvc_full", "kind": "target", "target": FULL_TARGET, "measured": t_full,
            "threshold": FULL_LIMIT_S, "unit": "s", "stages": ran,
            "note": "fresh copy of the workspace, empty numba cache; stages: "
                    + ", ".join(ran)}, work, None


def run(settings: Settings) -> dict:
    if not (ROOT / "dvc.yaml").exists():
        return _skip("no dvc.yaml yet (the DVC pipeline is not built)")
    env = _venv_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    full, work, err = (None, None, None)
    if settings.dvc_copy and not settings.quick:
        full, work, err = _full_repro(env)
        if err:
            return _skip(err)
    status, t_status, err = _status(ROOT, env)
    if err:
        return _skip(err)
    if not status:
        where, label = ROOT, "repository root"
    elif work is not None:
        stale = ", ".join(list(status)[:6])
        status, t_status, err = _status(work, env)
        if err or status:
            return _skip(err or "`dvc status` still not clean after `dvc repro` in the copy")
        where = work
        label = f"temporary copy of the workspace (repository pipeline was not up to date: {stale})"
    else:
        stale = ", ".join(list(status)[:6])
        return _skip(f"`dvc status` is not clean (a repro would run: {stale}); run `make run`"
                     + (" (--quick does not run the pipeline in a copy)" if settings.quick
                        else ""))
    times, err = _time_noop(where, env)
    if err:
        return _skip(err)
    res = _result(times, t_status, label)
    if full is not None:
        res["full_repro_s"] = full["measured"]
        res["ratios"]["dvc_full_repro_s"] = full["measured"]
        res["targets"].append(full)
    return res

"""(f) A no-op ``dvc repro``.

In the repository root when dvc.yaml exists and ``dvc status`` reports nothing to do (so
``dvc repro`` can change nothing): one warm-up ``dvc repro`` and three timed ones (median
reported). When the repository's pipeline is not up to date, the same is measured in a
temporary copy of the workspace after one full ``dvc repro`` there (the repository is not
touched; ``--no-dvc-copy`` and ``--quick`` skip instead). No dvc.yaml: "skipped: <why>".
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path

from bench.common import ROOT, Settings
from bench.cv import _venv_env, dvc_cmd, workspace_copy

NAME = "dvc_noop"
TITLE = "(f) no-op dvc repro"
TIMED = 3
TARGET = "no-op `dvc repro` <= 5 s"


def _skip(why: str) -> dict:
    print(f"    skipped: {why}", flush=True)
    return {"status": "skipped", "why": why, "ratios": {}, "rows": [], "targets": [{
        "id": "dvc_noop", "kind": "target", "status": "SKIP", "target": TARGET, "note": why}]}


def _tail(proc) -> str:
    return " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])[-300:]


def _status(where: Path, env: dict) -> tuple[dict | None, float, str | None]:
    t0 = time.perf_counter()
    st = subprocess.run([*dvc_cmd(), "status", "--json"], cwd=where, env=env,
                        capture_output=True, text=True, timeout=600)
    dt = time.perf_counter() - t0
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
        t0 = time.perf_counter()
        proc = subprocess.run([*dvc_cmd(), "repro"], cwd=where, env=env, capture_output=True,
                              text=True, timeout=600)
        dt = time.perf_counter() - t0
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


def run(settings: Settings) -> dict:
    if not (ROOT / "dvc.yaml").exists():
        return _skip("no dvc.yaml yet (the DVC pipeline is not built)")
    env = _venv_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    status, t_status, err = _status(ROOT, env)
    if err:
        return _skip(err)
    if not status:
        times, err = _time_noop(ROOT, env)
        return _skip(err) if err else _result(times, t_status, "repository root")
    stale = ", ".join(list(status)[:6])
    if not settings.dvc_copy or settings.quick:
        return _skip(f"`dvc status` is not clean (a repro would run: {stale}); run `make run`"
                     + (" (--quick does not run the pipeline in a copy)" if settings.quick
                        else ""))
    print(f"    repository pipeline not up to date ({stale}): measuring in a temporary copy "
          "after a full `dvc repro` there", flush=True)
    work = workspace_copy()
    t0 = time.perf_counter()
    full = subprocess.run([*dvc_cmd(), "repro"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=3600)
    t_full = time.perf_counter() - t0
    if full.returncode != 0:
        return _skip(f"full `dvc repro` failed in the temporary copy: {_tail(full)}")
    status, t_status, err = _status(work, env)
    if err or status:
        return _skip(err or "`dvc status` still not clean after `dvc repro` in the copy")
    times, err = _time_noop(work, env)
    if err:
        return _skip(err)
    res = _result(times, t_status, "temporary copy of the workspace (repository pipeline "
                                   f"was not up to date: {stale})")
    res["full_repro_in_copy_s"] = t_full
    return res

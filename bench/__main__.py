"""``python -m bench [--quick] [--scale S] [--only NAME ...]``: run the benchmark suite.

See docs/benchmarks.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
WORKLOADS = ("fullbatch", "minibatch", "time_to_target", "mlp", "memory", "profile", "cv",
             "dvc_noop", "memmap")
MODULES = {"fullbatch": "bench.fullbatch", "minibatch": "bench.minibatch",
           "time_to_target": "bench.time_to_target", "mlp": "bench.mlp",
           "memory": "bench.memory", "profile": "bench.profile", "cv": "bench.cv",
           "dvc_noop": "bench.dvc_noop", "memmap": "bench.memmap"}
ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke test: every size ~20x smaller (scale 0.05), fewer repeats, "
                        "short caps; the suite runs in < 2 min")
    p.add_argument("--scale", type=float, default=None,
                   help="multiply every row count (default 1, or 0.05 with --quick)")
    p.add_argument("--only", nargs="+", metavar="NAME", choices=WORKLOADS,
                   help=f"run only these workloads: {', '.join(WORKLOADS)}")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--repeat", type=int, default=None, help="timed samples per measurement")
    p.add_argument("--cap", type=float, default=None,
                   help="time-to-target cap per candidate, seconds (default 120; 8 quick)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json",
                   help="results file (default bench/results.json)")
    p.add_argument("--docs", type=Path, default=None,
                   help="markdown file to write the tables into (default: docs/benchmarks.md "
                        "after a full run: scale 1, all workloads)")
    p.add_argument("--no-docs", action="store_true", help="do not write the markdown")
    p.add_argument("--no-torch", action="store_true", help="skip the torch anchors")
    p.add_argument("--no-dvc-copy", action="store_true",
                   help="(f): no full `dvc repro` in a fresh workspace copy, and skip the "
                        "no-op measurement when the repository's pipeline is not up to date")
    p.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                   help="only re-render the summary and the markdown (--docs, default "
                        "docs/benchmarks.md) from an existing results file")
    p.add_argument("--keep-blas-env", action="store_true",
                   help=f"do not re-run without {' / '.join(BLAS_ENV)}")
    return p.parse_args(argv)


def _reexec_without_blas_env(args: argparse.Namespace) -> None:
    present = [k for k in BLAS_ENV if k in os.environ]
    if not present or args.keep_blas_env or os.environ.get("GDLAB_BENCH_REEXEC"):
        return
    env = {k: v for k, v in os.environ.items() if k not in BLAS_ENV}
    env["GDLAB_BENCH_REEXEC"] = "1"
    env["GDLAB_BENCH_UNSET"] = ",".join(f"{k}={os.environ[k]}" for k in present)
    print(f"bench: re-running without {', '.join(present)} (they slow current numpy; "
          "--keep-blas-env keeps them)", flush=True)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "bench", *sys.argv[1:]], env)


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.list:
        for name in WORKLOADS:
            mod = importlib.import_module(MODULES[name])
            print(f"{name:15s} {mod.TITLE}")
        return 0
    if args.render:
        from bench import report

        results = json.loads(args.render.read_text())
        results["targets"] = report.collect_targets(results)
        docs = args.docs or ROOT / "docs" / "benchmarks.md"
        report.write_docs(results, docs)
        for line in report.summary_lines(results):
            print(line)
        print(f"\ntables: {docs}")
        return 0
    _reexec_without_blas_env(args)

    from bench import common, report

    settings = common.Settings(
        scale=args.scale if args.scale is not None else (0.05 if args.quick else 1.0),
        quick=args.quick,
        use_torch=not args.no_torch and not os.environ.get("GDLAB_BENCH_NO_TORCH"),
        dvc_copy=not args.no_dvc_copy,
    )
    if args.quick:
        settings.repeat, settings.slope_span, settings.ttt_cap = 3, 0.3, 8.0
        settings.budget, settings.min_sample, settings.max_slope_epochs = 2.0, 0.005, 100
    if args.repeat:
        settings.repeat = args.repeat
    if args.cap:
        settings.ttt_cap = args.cap
    names = list(args.only) if args.only else list(WORKLOADS)
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])

    started = time.time()
    load_start = common.loadavg()
    print(f"gdlab bench: {', '.join(names)} (scale {settings.scale:g}"
          f"{', quick' if settings.quick else ''})", flush=True)
    machine = common.machine_info(settings)
    print(f"machine: {machine['cpu_model']}, {machine['cpu_count']} CPUs; "
          f"{common.blas_summary(machine)}; load {load_start}", flush=True)
    if os.environ.get("GDLAB_BENCH_UNSET"):
        print(f"  ({os.environ['GDLAB_BENCH_UNSET']} unset for this run)", flush=True)
    elif any(machine["env"].get(k) for k in BLAS_ENV):
        settings.note(f"{'/'.join(BLAS_ENV)} set during this run (--keep-blas-env): numpy may "
                      "be slower than it can be")

    workloads = {}
    for name in names:
        mod = importlib.import_module(MODULES[name])
        print(f"\n== {name}: {mod.TITLE}", flush=True)
        t0 = time.perf_counter()
        try:
            res = mod.run(settings)
            res.setdefault("status", "ok")
        except Exception as exc:  # noqa: BLE001 - one broken workload must not stop the suite
            traceback.print_exc()
            res = {"status": "error", "error": f"{type(exc).__name__}: {exc}", "ratios": {},
                   "targets": []}
            print(f"  {name}: error: {res['error']}", flush=True)
        res["duration_s"] = time.perf_counter() - t0
        workloads[name] = res
        partial = args.out.with_suffix(".partial.json")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(_jsonable({"workloads": workloads}), indent=1) + "\n")
        if name in ("time_to_target", "mlp"):
            common.drop_data()

    if not settings.quick:  # workloads timed in passes get a last one, minutes later
        for name in names:
            mod = importlib.import_module(MODULES[name])
            if hasattr(mod, "recheck") and workloads[name].get("status") == "ok":
                print(f"\n== {name}: last pass", flush=True)
                t0 = time.perf_counter()
                workloads[name] = mod.recheck(workloads[name], settings)
                workloads[name]["duration_s"] += time.perf_counter() - t0

    results = {
        "meta": {
            "command": command,
            "argv": sys.argv,
            "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "duration_s": time.time() - started,
            "scale": settings.scale,
            "quick": settings.quick,
            "workloads": names,
            "blas_env_unset": os.environ.get("GDLAB_BENCH_UNSET"),
            "loadavg_start": load_start,
            "loadavg_end": common.loadavg(),
            "machine": machine,
        },
        "workloads": workloads,
        "notes": settings.notes,
    }
    results["targets"] = report.collect_targets(results)
    results["ratios"] = {f"{w}.{k}": v for w, res in workloads.items()
                         for k, v in (res.get("ratios") or {}).items()}
    results = _jsonable(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    args.out.with_suffix(".partial.json").unlink(missing_ok=True)

    docs = args.docs
    if docs is None and settings.scale == 1.0 and not args.quick and not args.only:
        docs = ROOT / "docs" / "benchmarks.md"
    if docs is not None and not args.no_docs:
        report.write_docs(results, docs)
    print("\n== summary (ratios from this run)")
    for line in report.summary_lines(results):
        print(line)
    print(f"\nresults: {args.out}" + (f"; tables: {docs}" if docs and not args.no_docs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

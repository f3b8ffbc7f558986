"""DVC stage ``compare``: train every variant of ``compare.vary`` on the same folds and data.

Writes ``reports/compare/summary.json`` (DVC metrics: per variant final loss, epochs and time
to the target loss, diverged), ``summary.md`` (the same as a table), ``overlay.csv`` (every
variant's curves in one file: dvc.yaml's overlaid plots), ``curves/<variant>.csv`` and
``reports/figures/compare/`` (``overlay.png``, ``trajectories.png``); with ``compare.enabled:
false``, ``overlay.csv`` with its header only and ``compare_disabled.svg`` in both
directories.
MLflow: a parent run ``compare-<key>`` with the figures and summary, one child run per variant.

    python pipeline/compare.py [--params params.yaml] [--data data/prepared]
"""

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the imports below run: one line, exit 130
    from gdlab.interrupts import quiet_interrupts

    quiet_interrupts("compare")

import atexit
import gc

# A stage imports ~600 000 objects (MLflow, scikit-learn, pandas, ...) that live until it exits;
# with the default threshold (700) the collector rescans them ~1 s per stage, and the full
# collection at interpreter exit takes ~1.5 s more. Frozen objects are skipped by it; registered
# first, the freeze runs after every other exit handler.
gc.set_threshold(50_000, 20, 20)
atexit.register(gc.freeze)

import argparse
import sys
from pathlib import Path

from gdlab.config import ConfigError, flatten_params, load_params
from gdlab.reporting.compare_disabled import write_disabled  # light: all a disabled stage needs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--reports", default="reports/compare")
    parser.add_argument("--figures", default="reports/figures/compare")
    args = parser.parse_args(argv)
    reports, figures = Path(args.reports), Path(args.figures)

    try:
        params = load_params(args.params)
    except ConfigError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 1
    if not params.compare.enabled:
        write_disabled(reports, figures)
        print("compare: compare.enabled is false, nothing compared")
        return 0
    from gdlab.config.inert_dimensions import inert_compare_warnings
    from gdlab.config.sections.compare import ranked_penalty_warning

    for warning in filter(None, [*inert_compare_warnings(params), ranked_penalty_warning(params)]):
        print(f"compare: warning: {warning}", file=sys.stderr)
    from gdlab.tracking.safety import stage_exit  # imports MLflow: only when comparing

    return stage_exit("compare", lambda: compare(params, args.data, reports, figures))


def compare(params, data_dir: str, reports: Path, figures: Path) -> int:
    """Train the variants, write the files, log the runs (their modules are imported here, so
    a disabled stage does not import them)."""
    from gdlab.config.plugin_path import import_paths
    from gdlab.config.sections.compare import RATE_KEYS
    from gdlab.data import DataError, load_prepared
    from gdlab.experiment import decode_target
    from gdlab.experiment.compare import compare_variants, plan_variants, verdict_text
    from gdlab.experiment.idle_schedule import warn_idle_schedule
    from gdlab.experiment.progress import say
    from gdlab.parallel import parallel_backend
    from gdlab.reporting.compare import write_comparison
    from gdlab.tracking import child_tags, lineage_tags, log_params, open_session, pipeline_run
    from gdlab.tracking.compare import log_comparison
    from gdlab.tracking.notes import NOTE_TAG, compare_note
    from gdlab.tracking.run_kind import COMPARE, RUN_KIND_TAG, without_keys

    try:
        data = load_prepared(data_dir)
    except DataError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 1
    spec = params.compare
    session = open_session(params.tracking.uri, params.tracking.experiment)  # fail first
    variants = plan_variants(params)
    # local processes or a Dask cluster whose workers run this code and these plug-ins
    with parallel_backend(params.parallel, import_paths(params)) as backend:
        say(f"compare: parallel work on {backend.describe()}")
        comparison = compare_variants(
            variants,
            data.X_train,
            decode_target(data.y_train, data.classes),
            vary=spec.vary,
            task=params.model.task,
            folds=params.cv.folds,
            seed=params.seed,
            n_jobs=params.cv.n_jobs,
            target_loss=spec.target_loss,
            feature_names=data.feature_names,
            learning_rate=spec.learning_rate,
            rank_by=spec.rank_by,
            metric=spec.resolved_metric(params.model.task),
        )
    for variant in comparison.variants:  # a schedule that tol stopped before it acted
        if not variant.diverged:
            warn_idle_schedule(f"compare: {variant.label}", variant.params, variant.folds)
    written = write_comparison(comparison, reports, figures)

    tags = {**lineage_tags(data.digest, data_dir=data_dir), "gdlab.stage": "compare",
            "gdlab.task": data.task, RUN_KIND_TAG: COMPARE}
    tags[NOTE_TAG] = compare_note(params, rows=len(data.y_train),
                                  n_features=len(data.feature_names),
                                  ranking=written["summary"]["ranking"],
                                  verdict=verdict_text(written["summary"]))
    with pipeline_run(
        experiment_id=session.experiment_id,
        run_name=f"compare-{spec.vary}",
        tags=tags,
        uri=session.uri,
    ) as run:
        run_id = run.info.run_id
        # the compared key is its variants' (compare.values lists them), not params.yaml's;
        # so is the learning rate each variant's range test picks (compare.learning_rate)
        varied = [spec.vary, *(RATE_KEYS if spec.learning_rate == "lr_find" else ())]
        log_params(session.client, run_id, without_keys(flatten_params(params), varied))
        log_comparison(
            session.client,
            session.experiment_id,
            run_id,
            comparison,
            flat_params={v.label: flatten_params(v.params) for v in comparison.variants},
            tags=child_tags(tags),
        )
        for figure in written["figures"].values():
            session.client.log_artifact(run_id, str(figure.path), "figures")
        for name in ("summary.json", "summary.md"):
            session.client.log_artifact(run_id, str(reports / name), "compare")
    ranking = " > ".join(written["summary"]["ranking"])
    verdict = verdict_text(written["summary"])
    print(f"compare: {spec.vary}: {ranking}; {verdict} -> {reports / 'summary.md'}; run {run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""DVC stage ``tune``: search the space of ``tune.space`` with the train stage's cross-validation.

Reads params.yaml and ``data/prepared``. Writes ``reports/tuning/`` (best_params.json, read by
train; trials.csv, heatmap.csv, guidance.json, figures/). With ``tune.enabled: false`` it only
writes an empty best_params.json, so train uses params.yaml as it is.
The Optuna study lives in ``tune.storage`` (default ``.optuna/gdlab.journal``, outside DVC's
outputs): rerunning an interrupted stage resumes it. MLflow: a parent run ``tune-<strategy>``
with one nested run per trial, the best one tagged, figures and LR guidance attached.

    python pipeline/tune.py [--params params.yaml] [--data data/prepared] [--out reports/tuning]
"""

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the imports below run: one line, exit 130
    from gdlab.interrupts import quiet_interrupts

    quiet_interrupts("tune")

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
from functools import partial

from gdlab.config import ConfigError, flatten_params, load_params
from gdlab.config.inert_dimensions import inert_dimension_warnings
from gdlab.tuning import report as files  # light: a disabled stage imports no more than this


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--out", default="reports/tuning")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        if not params.tune.enabled:
            files.write_disabled(args.out)
            print("tune: tune.enabled is false; train uses params.yaml as it is")
            return 0
        problems = params.tune.space_problems(params)
        if problems:
            raise ConfigError(problems, args.params)
        for warning in inert_dimension_warnings(params):
            print(f"tune: warning: {warning}", file=sys.stderr)
    except ConfigError as exc:
        print(f"tune: {exc}", file=sys.stderr)
        return 1
    from gdlab.data import DataError, load_prepared  # pandas, scikit-learn: only when tuning is on

    try:
        data = load_prepared(args.data)
    except DataError as exc:
        print(f"tune: {exc}", file=sys.stderr)
        return 1
    from gdlab.tracking.safety import stage_exit  # imports MLflow: only when tuning is on

    return stage_exit("tune", lambda: search(params, data, args.out, args.data))


def search(params, data, out_dir: str, data_dir: str = "data/prepared") -> int:
    """The search with everything around it (MLflow is imported only when tuning is on);
    ``data_dir``: where ``data`` was read (its md5 in dvc.lock is a lineage tag)."""
    import optuna

    from gdlab.config.plugin_path import import_paths
    from gdlab.experiment import decode_target
    from gdlab.experiment.progress import say
    from gdlab.parallel import parallel_backend
    from gdlab.reporting import write_json
    from gdlab.tracking import (
        child_tags,
        lineage_tags,
        log_params,
        log_tags,
        open_session,
        pipeline_run,
        project_root,
        redact_uri,
    )
    from gdlab.tracking.notes import NOTE_TAG, tune_note
    from gdlab.tracking.run_kind import RUN_KIND_TAG, TUNE, without_keys
    from gdlab.tuning import plan_heatmap, plan_search, resolve_storage, run_search, trials_table
    from gdlab.tuning.figures import heatmap_cells, heatmap_figure, lr_find_figure, study_figures
    from gdlab.tuning.fingerprint import code_fingerprint
    from gdlab.tuning.guidance import lr_guidance
    from gdlab.tuning.search import check_study_space
    from gdlab.tuning.stored_space import SpaceChanged
    from gdlab.tuning.study import UID as STUDY_UID
    from gdlab.tuning.study import DamagedJournal, StorageUnavailable, check_storage
    from gdlab.tuning.tracking import TrialLogger, log_search_summary

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tune, task = params.tune, data.task
    plugins = import_paths(params)  # Dask workers must run this code and these plug-ins
    code = code_fingerprint(params, extra=[__file__])  # changed code: a new study
    y = decode_target(data.y_train, data.classes)
    storage = resolve_storage(tune.storage, project_root())
    try:  # a damaged journal or an unreachable database fails before any output or run
        check_storage(storage)
    except (DamagedJournal, StorageUnavailable) as exc:
        print(f"tune: {exc}", file=sys.stderr)
        return 1
    session = open_session(params.tracking.uri, params.tracking.experiment)  # fail first
    guidance = lr_guidance(params, data.X_train, y)  # the space may be centred on it
    plan = plan_search(
        params,
        data.X_train,
        y,
        storage=storage,
        data_digest=data.digest,
        lr_suggestion=guidance.suggestion,
        code_digest=code,
    )
    try:  # a kept study whose trials searched another space fails before any output or run
        check_study_space(plan)
    except SpaceChanged as exc:
        print(f"tune: {exc}", file=sys.stderr)
        return 1
    out = files.reset_outputs(out_dir)
    figures = out / files.FIGURES

    tags = {**lineage_tags(data.digest, data_dir=data_dir), "gdlab.stage": "tune",
            "gdlab.task": task, RUN_KIND_TAG: TUNE}
    tags["gdlab.parallel"] = params.parallel.backend
    describe = partial(  # the run's description; the best trial joins it at the end
        tune_note, params, rows=len(y), n_features=len(data.feature_names),
        metric=tune.resolved_metric(task),
    )
    tags[NOTE_TAG] = describe()
    with pipeline_run(
        experiment_id=session.experiment_id,
        run_name=f"tune-{tune.strategy}",
        tags=tags,
        uri=session.uri,
    ) as run:
        run_id, client = run.info.run_id, session.client
        # the searched keys are its trials' (tune.space.* holds their ranges, best.* the winner's)
        log_params(client, run_id, without_keys(flatten_params(params), tune.space))
        for line in guidance.lines():
            say(f"tune: {line}")
        if guidance.range_test is not None:
            lr_find_figure(
                guidance.range_test, figures / "lr_find.png", smoothness=guidance.smoothness,
                target_scaled=guidance.target_scaled, setting=guidance.setting,
            )

        uid = plan.spec.create().user_attrs[STUDY_UID]
        logger = TrialLogger(
            client, session.experiment_id, run_id, plan.spec.name, uid, plan.metric,
            tags=child_tags(tags),
        )
        log_tags(client, run_id, {"gdlab.study": plan.spec.name, "gdlab.study_uid": uid})
        where = redact_uri(storage)
        say(f"tune: study {plan.spec.name} in {where} ({tune.strategy}, n_jobs={tune.n_jobs})")

        # parallel.backend: trials (tune.n_jobs > 1) on local processes or a Dask cluster;
        # they return their records and this process alone logs them
        with parallel_backend(params.parallel, plugins) as backend:
            say(f"tune: parallel work on {backend.describe()}")
            outcome = run_search(plan, logger.log, progress="tune")  # a line per trial
        logger.log_missing(outcome.trials(), owner=plan.owner)  # other hosts log their own
        note = outcome.budget_note()
        if note:
            print(f"tune: {note}")
        best = outcome.best_trial
        if best is None:  # every trial pruned or failed: nothing to hand to train
            first = next((t.reason for t in outcome.records if t.reason), "")
            print(f"tune: no trial completed {outcome.counts()}; {first}", file=sys.stderr)
            raise SystemExit(1)  # the tuning run ends FAILED
        best_run = logger.mark_best(best.number)

        heat_cells = []
        if tune.heatmap.enabled:
            with parallel_backend(params.parallel, plugins):
                heat = run_search(
                    plan_heatmap(
                        params, data.X_train, y, storage=storage, data_digest=data.digest,
                        code_digest=code, folds=plan.folds,
                    ),
                    progress="tune: heat map",
                )
            heat_cells = heatmap_cells(heat.trials())
            heatmap_figure(
                heat_cells,
                tune.heatmap.learning_rates,
                tune.heatmap.batch_sizes,
                figures / "lr_batch_heatmap.png",
                metric=plan.metric,
                n_folds=len(plan.folds),
                greater_is_better=plan.greater_is_better,
                title=f"learning rate × batch size with {params.optimizer.name} (params.yaml's "
                "optimiser; red box: best; grey: diverged or failed)",
            )
        covered = outcome.budget_study()  # without trials past n_trials from earlier runs
        study_figures(covered, figures, metric=plan.metric)

        document = {
            "enabled": True,
            "params": outcome.best_params(),
            "metric": plan.metric,
            "direction": plan.spec.direction,
            "score": best.value,
            "best_trial": best.number,
            "study": plan.spec.name,
            "strategy": tune.strategy,
            "trials": outcome.counts(),
            "tuning_run_id": run_id,
            "best_trial_run_id": best_run,
        }
        write_json(out / files.BEST_PARAMS, document)
        files.write_rows(
            out / files.TRIALS,
            trials_table(covered, plan.space, len(plan.folds)),
            files.TRIAL_COLUMNS,
        )
        files.write_rows(out / files.HEATMAP, files.heatmap_rows(heat_cells), files.HEATMAP_COLUMNS)
        write_json(out / files.GUIDANCE, guidance.as_dict())
        numbers = {k: v for k, v in guidance.as_dict().items() if isinstance(v, float)}
        log_search_summary(
            client,
            run_id,
            metric=plan.metric,
            counts=outcome.counts(),
            best_value=best.value,
            best_params=document["params"],
            extra_metrics=numbers,
            tags={
                "gdlab.best_trial_number": best.number,
                "gdlab.best_trial_run_id": best_run,
                "gdlab.storage": redact_uri(storage),
                NOTE_TAG: describe(best=(best.number, best.value, document["params"]),
                                   counts=outcome.counts()),
            },
        )
        for path in sorted(out.glob("*.csv")) + sorted(out.glob("*.json")):
            client.log_artifact(run_id, str(path), "tuning")
        client.log_artifacts(run_id, str(figures), "figures")
    print(
        f"tune: {plan.spec.name}: {outcome.counts()} ({len(outcome.records)} run now, "
        f"{outcome.elapsed:.1f}s); best trial {best.number} {plan.metric} {best.value:.4g} "
        f"{document['params']}; run {run_id}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

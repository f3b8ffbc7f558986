"""DVC stage ``train``: k-fold cross-validation of the configured pipeline, then a refit.

Reads params.yaml (plus ``reports/tuning/best_params.json`` when a tune stage wrote it) and
``data/prepared``. Writes ``models/model.skops`` and ``models/run.json`` (the MLflow parent run
that evaluate and register resume), ``reports/cv.json``, ``reports/trained.json`` (the values
it trained with), ``reports/plots/folds/fold_<k>.csv`` and ``reports/figures/cv_loss_curves.png``,
``reports/figures/train/`` (loss bands, learning rate and gradient norm, the refit's trajectory
on the loss surface).
MLflow: one parent run with params, lineage tags, the dataset, the refit's curves, figures,
model, ``cv.json`` and ``trained.json``, and one nested run per fold with its training and
validation curves; the curves reach MLflow every ``live.interval`` seconds while training (a
progress bar shows them on the terminal).

    python pipeline/train.py [--params params.yaml] [--data data/prepared]
"""

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the imports below run: one line, exit 130
    from gdlab.interrupts import quiet_interrupts

    quiet_interrupts("train")

import atexit
import gc

# A stage imports ~600 000 objects (MLflow, scikit-learn, pandas, ...) that live until it exits;
# with the default threshold (700) the collector rescans them ~1 s per stage, and the full
# collection at interpreter exit takes ~1.5 s more. Frozen objects are skipped by it; registered
# first, the freeze runs after every other exit handler.
gc.set_threshold(50_000, 20, 20)
atexit.register(gc.freeze)

import argparse
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import mlflow

from gdlab.atomic import atomic_path
from gdlab.config import ConfigError, flatten_params
from gdlab.config.plugin_path import import_paths
from gdlab.core.loop import DivergenceError
from gdlab.data import DataError, load_prepared
from gdlab.data.fingerprint import fingerprint
from gdlab.experiment import (
    decode_target,
    describe_tuned,
    input_example,
    run_training,
    trained_params,
    trained_values,
)
from gdlab.experiment.faults import explain_divergence
from gdlab.experiment.fitcheck import diagnose_fit, refit_line
from gdlab.experiment.idle_schedule import warn_idle_schedule
from gdlab.experiment.persist import save_model
from gdlab.experiment.progress import say, seconds
from gdlab.experiment.trajectory import refit_trajectory
from gdlab.parallel import parallel_backend
from gdlab.reporting import (
    cv_document,
    cv_line,
    loss_curves_figure,
    write_fold_curves,
    write_json,
)
from gdlab.reporting.figure_sets import training_figures
from gdlab.tracking import (
    RunHandle,
    child_tags,
    lineage_tags,
    log_fold_runs,
    log_params,
    log_prepared_split,
    log_sklearn_model,
    log_training,
    open_session,
    pipeline_run,
)
from gdlab.tracking.live import live_fold_runs
from gdlab.tracking.notes import NOTE_TAG, train_note
from gdlab.tracking.run_kind import MODEL, RUN_KIND_TAG
from gdlab.tracking.safety import stage_exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--tuned", default="reports/tuning/best_params.json")
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--models", default="models")
    parser.add_argument("--reports", default="reports")
    args = parser.parse_args(argv)
    models, reports = Path(args.models), Path(args.reports)

    try:
        params, tuned = trained_params(args.params, args.tuned)
        data = load_prepared(args.data, mmap=True)  # X streamed from the .npy memory map
    except (ConfigError, DataError, ValueError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 1
    y = decode_target(data.y_train, data.classes)
    if tuned:  # a warning, not progress: GDLAB_PROGRESS=off keeps it
        print(f"train: {describe_tuned(tuned)}", file=sys.stderr, flush=True)

    session = open_session(params.tracking.uri, params.tracking.experiment)
    say(f"train: MLflow {session.safe_uri}, experiment {session.experiment_name!r}")
    run_name = os.environ.get("DVC_EXP_NAME") or f"{params.model.kind}-{params.optimizer.name}"
    tags = {**lineage_tags(data.digest, data_dir=args.data), "gdlab.stage": "train",
            "gdlab.task": data.task, RUN_KIND_TAG: MODEL}  # folds: run_kind 'fold'
    tags["gdlab.parallel"] = params.parallel.backend
    if data.task == "regression":  # train_loss / val_loss of scaled and raw runs differ ~std**2
        scaled = params.preprocess.scale_target
        tags["gdlab.loss_units"] = "standardised target" if scaled else "target"
    if tuned:
        tags["gdlab.tuned_from"] = args.tuned
        record = json.loads(Path(args.tuned).read_text())  # written by pipeline/tune.py
        tags["gdlab.tuning_run_id"] = record.get("tuning_run_id")
        tags["gdlab.tuning_study"] = record.get("study")
    describe = partial(  # the run's description; the CV score joins it with the final metrics
        train_note, params, rows=len(y), n_features=len(data.feature_names), tuned=tuned,
        study=tags.get("gdlab.tuning_study"), tuning_run_id=tags.get("gdlab.tuning_run_id"),
    )
    tags[NOTE_TAG] = describe()
    # models/ is renamed into place as ``publish`` closes: after the run has ended FINISHED
    with ExitStack() as publish, pipeline_run(
        experiment_id=session.experiment_id, run_name=run_name, tags=tags, uri=session.uri
    ) as run:
        run_id, client = run.info.run_id, session.client
        flat = flatten_params(params)
        log_params(client, run_id, flat)
        log_prepared_split(client, run_id, data, "train", args.data)
        try:  # parallel.backend: folds on local processes or a Dask cluster; this process logs
            with parallel_backend(params.parallel, import_paths(params)) as backend, live_fold_runs(
                client,
                session.experiment_id,
                run_id,
                range(1, params.cv.folds + 1),
                interval=params.live.interval,  # curves reach MLflow while training
                max_epochs=params.train.max_epochs,
                tags=child_tags(tags),  # the fold runs' lineage: commit, data, stage
            ) as live:
                say(f"train: parallel work on {backend.describe()}")
                result = run_training(
                    params,
                    data.X_train,
                    y,
                    feature_names=data.feature_names,
                    fold_callbacks=live.fold_callbacks,
                    refit_callbacks=live.refit_callbacks(),
                    epoch_lines=not live.shows_progress,
                    on_fold_done=live.fold_done,
                )
        except DivergenceError as exc:  # run ends FAILED (kind divergence); no model is written
            standardize = params.preprocess.standardize
            raw = params.model.task == "regression" and not params.preprocess.scale_target
            raise explain_divergence(exc, data.X_train, data.feature_names, standardize,
                                     raw_target=y if raw else None) from None
        # the model first: a model that cannot be saved fails the stage before any report of
        # it is written. It is saved to a temporary file that becomes models/model.skops (with
        # models/run.json) only once MLflow holds everything and the run has ended; a failed or
        # interrupted train removes it: no model without its run.json, none of a failed run
        handle_file = publish.enter_context(atomic_path(models / "run.json"))
        model_file = publish.enter_context(atomic_path(models / "model.skops"))
        save_model(result.refit.model, model_file)
        streamed = live.logged()  # epochs already in MLflow are not logged twice
        log_fold_runs(
            client, session.experiment_id, run_id, result.cv, flat,
            run_ids=live.fold_run_ids, logged=streamed,
        )
        fit = diagnose_fit(result.cv)  # over- or under-fitting, from the folds
        step = log_training(client, run_id, result.cv, result.refit,
                            logged=streamed.get(run_id, 0),
                            tags={NOTE_TAG: describe(cv=result.cv), "gdlab.fit": fit.line()})

        figure = loss_curves_figure(result.cv, reports / "figures" / "cv_loss_curves.png",
                                    diagnosis=fit)
        client.log_artifact(run_id, str(figure), "figures")
        say(f"train: figures and the model to MLflow (the loss-surface trajectory refits "
            f"{result.refit.n_iter} epochs once more)")
        trajectory = refit_trajectory(
            params, data.X_train, y, data.feature_names, n_iter=result.refit.n_iter
        )
        drawn = training_figures(result.cv, reports / "figures" / "train", trajectory)
        for extra in drawn.values():
            client.log_artifact(run_id, str(extra.path), "figures")
        example = input_example(data.X_train, data.feature_names)  # no real training row
        # at the refit's last epoch: MLflow links that step's metrics to the model; served, it
        # refuses rows that are no encoding of the text columns prepare one-hot encoded; the
        # hashes of its training rows, which register leaves out of a champion comparison, go
        # to this run (fingerprints/), never into the model handed to whoever serves it
        rows = fingerprint(data.X_train, y, data.feature_names)
        info = log_sklearn_model(result.refit.model, example, name="model", step=step,
                                 one_hot=data.meta.get("one_hot"), training_rows=rows,
                                 skops_file=model_file)  # its bytes: no second serialisation
        mlflow.set_tag("gdlab.model_id", info.model_id)
        RunHandle(
            run_id=run_id,
            experiment_id=session.experiment_id,
            experiment_name=session.experiment_name,
            model_uri=info.model_uri,
            model_id=info.model_id,
        ).write(handle_file)
        # what it trained with (tune may replace params.yaml's): a metrics file of its own, which
        # dvc.yaml's top-level `metrics` lists after every stage's, so `dvc exp show` lays its
        # columns out after metrics.json's test.* (cv.json's came before them)
        # (unsorted: make exps' columns first, the optimiser before what a terminal cuts)
        documents = {"cv.json": (cv_document(result.cv), True),
                     "trained.json": ({"trained": trained_values(params, tuned)}, False)}
        with tempfile.TemporaryDirectory(prefix="gdlab-train-") as staged:
            for name, (document, sort_keys) in documents.items():  # the bytes DVC gets
                write_json(Path(staged) / name, document, sort_keys=sort_keys)
            client.log_artifacts(run_id, staged)  # both in one call, beside the model
        # the reports, once MLflow has taken everything
        for name, (document, sort_keys) in documents.items():
            write_json(reports / name, document, sort_keys=sort_keys)
        write_fold_curves(result.cv, reports / "plots" / "folds")
    refit = result.refit
    warn_idle_schedule("train", params, result.cv.folds)  # a schedule tol stopped before it acted
    print(f"train: fit: {fit.line()}")
    scores = cv_line(result.cv, getattr(refit.model, "classes_", None))  # f1 (macro) ...
    print(
        f"train: {len(result.cv.folds)}-fold CV {scores}; "
        f"{refit_line(result.cv, refit.n_iter)} in {seconds(refit.fit_time)} -> "
        f"{models / 'model.skops'}, {reports / 'cv.json'}; run {run_id}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(stage_exit("train", main))

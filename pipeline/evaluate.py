"""DVC stage ``evaluate``: score the refitted model on the held-out test split.

Writes ``reports/metrics.json`` (``test.<metric>``, its 95% interval ``test_ci95.<metric>.low/high``
and ``cv.<metric>.mean/std``, a DVC metrics file) and logs the test metrics, their intervals and
the test dataset to the parent MLflow run made by train, or, when that run records another DVC
experiment or other evaluate-stage params (a cached train reused), to an evaluation run nested
in it (:mod:`gdlab.tracking.evaluation_run`). A test split too small to rank models
(:data:`gdlab.experiment.uncertainty.MIN_RANKED_ROWS` rows) is warned about, named in
``metrics.json``'s ``test_warning`` and the run's ``gdlab.test_warning`` tag. A classifier's
``metrics.json`` also says how ``f1`` and ``average_precision`` are averaged (``f1_average``:
macro for more than two classes, with ``roc_auc``'s ``roc_auc_average`` and
``roc_auc_multi_class``: macro one-vs-rest; for two, ``f1_pos_label``: the positive class,
``metrics.positive_label``, which the ROC, precision-recall and calibration figures draw too),
each class's test recall (``per_class``), the classes no test row is predicted as
(``never_predicted``) and every class of recall 0 (``never_recalled``: those, and the ones
predicted only for other classes' rows), warned about on the console and in the
``gdlab.never_recalled`` tag; a class with fewer than
:data:`gdlab.experiment.uncertainty.MIN_CLASS_ROWS` test rows, whose metrics' intervals are
unreliable, in ``class_warning`` and the ``gdlab.class_warning`` tag.
The constant prediction fitted on the training rows (the class prior, the mean target:
:mod:`gdlab.experiment.baseline`, what cross-validation's under-fitting verdict compares with)
is scored on the test rows with every metric: ``metrics.json``'s ``baseline`` (``constant``,
its ``value`` and ``test`` scores), a console line, the model card and the run's
``baseline_test_<metric>`` metrics; register refuses to promote a model that does not beat it
(``register.beat_baseline``).
Fairness (issue 6): fairlearn metrics by group of the sensitive column and the gate verdict in
``reports/fairness.json`` (DVC metrics) and MLflow (a group of the training rows without a test
row in ``groups_not_evaluated``), ``reports/figures/fairness_by_group.png``,
and the model card ``reports/model_card.md`` (also logged to the run). Figures of the test
split in ``reports/figures/evaluate/``: residuals and predicted against actual (regression), or
ROC, precision-recall, calibration and confusion matrix (classification), logged to the run's
``figures/``.

The card and the plug-in trust use the parameters the model was trained with: params.yaml
plus the tuned values of ``reports/tuning/best_params.json``.

    python pipeline/evaluate.py [--params params.yaml] [--data data/prepared]
"""

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the imports below run: one line, exit 130
    from gdlab.interrupts import quiet_interrupts

    quiet_interrupts("evaluate")

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

import mlflow

from gdlab.atomic import write_text_atomic
from gdlab.config import flatten_params
from gdlab.config.plugin_path import import_paths
from gdlab.data import load_prepared
from gdlab.data.positive import training_positive
from gdlab.experiment import as_frame, decode_target, trained_params
from gdlab.experiment.baseline import baseline_document
from gdlab.experiment.metrics import predictions
from gdlab.experiment.per_class import class_recalls
from gdlab.experiment.persist import load_model
from gdlab.experiment.uncertainty import (
    scores_with_intervals,
    too_few_class_rows,
    too_few_rows,
)
from gdlab.reporting import metrics_document, read_json, write_json
from gdlab.reporting.evaluation import evaluation_figures
from gdlab.reporting.fairness import fairness_figure, fairness_report
from gdlab.reporting.metrics import (
    baseline_line,
    class_document,
    interval_document,
    interval_metrics,
    never_recalled_advice,
    never_recalled_text,
    test_line,
)
from gdlab.reporting.model_card import CardInputs, model_card, run_summary
from gdlab.tracking import (
    RunHandle,
    TrackingUnavailable,
    log_metrics,
    log_params,
    log_prepared_split,
    open_session,
    pipeline_run,
    scalar_metrics,
)
from gdlab.tracking.evaluation_run import (
    HANDLE_FILE,
    Target,
    current_evaluation,
    handle_document,
    new_run_name,
    new_run_tags,
)
from gdlab.tracking.evaluation_run import target as evaluation_target
from gdlab.tracking.safety import check_resumable, stage_exit
from gdlab.tracking.session import Session

FIGURE = "figures/fairness_by_group.png"


def evaluation_run(where: Target, session: Session):
    """The run ``where`` names reopened, or a new evaluation run (child of train's run, the
    params logged as train logs them) when there is none yet."""
    if where.run_id is not None:
        return pipeline_run(run_id=where.run_id, uri=session.uri, stage="evaluate")
    return pipeline_run(experiment_id=where.train_run.info.experiment_id, uri=session.uri,
                        run_name=new_run_name(where.train_run, where.evaluation),
                        tags=new_run_tags(where.train_run, where.evaluation))


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
        params, _ = trained_params(args.params, args.tuned)
        data = load_prepared(args.data, mmap=True)  # test rows mapped; train.parquet not decoded
        handle = RunHandle.read(models / "run.json")
        session = open_session(params.tracking.uri, params.tracking.experiment)
        check_resumable(session.client, handle.run_id, str(models / "run.json"))
        model = load_model(models / "model.skops", plugins=import_paths(params))
    except (TrackingUnavailable, ValueError) as exc:  # ConfigError, DataError, untrusted types
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    X_test = as_frame(data.X_test, data.feature_names)
    y_test = decode_target(data.y_test, data.classes)
    # the class f1, average_precision and the curves are of: the training labels' (as train's)
    y_train = decode_target(data.y_train, data.classes)
    positive = training_positive(params, y_train)
    predicted = predictions(model, X_test, data.task)  # once: scores, intervals, classes
    test_scores, intervals = scores_with_intervals(model, X_test, y_test, data.task,
                                                   seed=params.seed, predicted=predicted,
                                                   positive=positive)
    caution = too_few_rows(len(y_test), params.data.test_size)
    recalls = (None if data.task == "regression"
               else class_recalls(model, X_test, y_test, predicted=predicted))
    by_class = {} if recalls is None else class_document(recalls, list(model.classes_),
                                                           positive)
    few = None if recalls is None else too_few_class_rows(recalls.support, params.data.test_size)
    cautions = {**({"test_warning": caution} if caution else {}),
                **({"class_warning": few} if few else {})}
    baseline = baseline_document(y_train, y_test, data.task, positive=positive)
    document = metrics_document(test_scores, read_json(reports / "cv.json"), n_test=len(y_test),
                                test_ci95=interval_document(intervals), baseline=baseline,
                                **cautions, **by_class)
    missed = never_recalled_text(document)
    try:
        fairness = fairness_report(
            model,
            X_test,
            y_test,
            data.sensitive_test,
            task=data.task,
            config=params.fairness,
            sensitive_name=data.meta.get("sensitive"),
            train_sensitive=data.sensitive_train,
        )
    except ValueError as exc:  # e.g. fairness.positive_label is not a class
        print(f"evaluate: {exc}", file=sys.stderr)
        return 1
    write_json(reports / "metrics.json", document)
    figure = fairness_figure(fairness, reports / FIGURE)
    shown_dir = reports / "figures" / "evaluate"
    test_figures = evaluation_figures(model, X_test, y_test, data.task, shown_dir, positive,
                                      target=data.meta.get("target"))

    flat = flatten_params(params)
    where = evaluation_target(session.client, handle.run_id, current_evaluation(flat))
    with evaluation_run(where, session) as active:
        run_id = active.info.run_id
        if where.run_id is None:  # a new evaluation run records its params as train's does
            log_params(session.client, run_id, flat)
        # the test split first: the test and fairness metrics name it (and the model)
        test_set = log_prepared_split(session.client, run_id, data, "test", args.data)
        scores = {**{f"test_{k}": v for k, v in test_scores.items()},
                  **interval_metrics(intervals), **fairness.mlflow_metrics()}
        constant = {f"baseline_test_{k}": v for k, v in baseline["test"].items()}
        log_metrics(session.client, run_id,  # the constant's: no model's
                    scalar_metrics(scores, model_id=handle.model_id, dataset=test_set)
                    + scalar_metrics(constant, dataset=test_set))
        mlflow.set_tags({**fairness.tags(), **{f"gdlab.{k}": v for k, v in cautions.items()},
                         **({"gdlab.never_recalled": missed} if missed else {})})
        mlflow.log_dict(fairness.document(), "fairness.json")
        mlflow.log_artifact(str(reports / "metrics.json"))  # beside train's cv.json
        mlflow.log_artifact(str(figure), "figures")
        for drawn in test_figures.values():
            mlflow.log_artifact(str(drawn.path), "figures")
        run = run_summary(where.train_run, experiment=handle.experiment_name,
                          model_uri=handle.model_uri)
        card = model_card(CardInputs(params, data.meta, document, fairness, run, FIGURE))
        write_text_atomic(reports / "model_card.md", card)
        mlflow.log_artifact(str(reports / "model_card.md"))
    write_json(reports / "fairness.json", fairness.document())
    write_json(reports / HANDLE_FILE, handle_document(where, run_id))  # register reopens it
    if where.separate:
        print(f"evaluate: train's run {handle.run_id} records another experiment or other "
              f"evaluate params: this evaluation is run {run_id}, its child")
    print(f"evaluate: test {test_line(test_scores, intervals, document)} ({len(y_test)} rows) "
          f"-> {reports / 'metrics.json'}")
    print(f"evaluate: {baseline_line(document)} (fitted on the training rows)")
    for warning in cautions.values():
        print(f"evaluate: warning: {warning}", file=sys.stderr)
    if missed:
        print(f"evaluate: warning: {missed}: "
              f"{never_recalled_advice(params.model.class_weight)}", file=sys.stderr)
    print(f"evaluate: fairness {fairness.status_line} -> {reports / 'fairness.json'}")
    if fairness.class_line:
        print(f"evaluate: fairness {fairness.class_line}")
    return 0


if __name__ == "__main__":
    sys.exit(stage_exit("evaluate", main))

"""DVC stage ``register``: register the refitted model and move the registry aliases.

The new version gets the alias ``challenger``; ``champion`` moves to it only when it beats the
current champion on ``register.metric`` on the same test rows (a champion tested on other
prepared data is scored, with the new model, on the rows of ``data/prepared``'s test split
that neither trained on; with too few such rows, or other input columns, the two are not
compared, and the new version stays challenger), by more than the noise of those rows
(``register.min_confidence``: a paired bootstrap of the two models on them, seeded with
``seed``, must be that confident the new one is better), and passes the fairness gate
(``reports/fairness.json``, written by evaluate) and the baseline gate (its test
``register.metric`` beats a constant prediction's on the same rows, ``metrics.json``'s
``baseline``: :func:`gdlab.experiment.baseline.baseline_gate`; ``register.beat_baseline: false``
turns it off). A version either gate stops is registered and aliased ``challenger``. The
decision is written to ``reports/registry.json`` and tagged on the run evaluate logged to
(train's, or its evaluation run: :mod:`gdlab.tracking.evaluation_run`). Only the model
logged by the pipeline's own train run is registered. Before anything is registered, the
logged model's skops file in the MLflow store is checked to be byte for byte the
``models/model.skops`` evaluate tested. With ``register.enabled: false`` nothing is
registered.

    python pipeline/register.py [--params params.yaml] [--data data/prepared]
"""

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the imports below run: one line, exit 130
    from gdlab.interrupts import quiet_interrupts

    quiet_interrupts("register")

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

from gdlab.config import ConfigError, load_params
from gdlab.reporting.files import read_json, write_json  # light: all a disabled stage needs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--models", default="models")
    parser.add_argument("--reports", default="reports")
    args = parser.parse_args(argv)
    models, reports = Path(args.models), Path(args.reports)

    try:
        params = load_params(args.params)
    except ConfigError as exc:
        print(f"register: {exc}", file=sys.stderr)
        return 1
    if not params.register.enabled:
        write_json(reports / "registry.json", {"registered": False, "reason": "disabled"})
        print("register: register.enabled is false, nothing registered")
        return 0
    from gdlab.tracking.safety import stage_exit  # imports MLflow: only when registering

    return stage_exit("register", lambda: register(params, args.data, models, reports))


def register(params, data_dir: str, models: Path, reports: Path) -> int:
    """Register the model and move the aliases (their modules are imported here, so a disabled
    stage does not import them)."""
    import mlflow

    from gdlab.config import flatten_params
    from gdlab.config.plugin_path import import_paths
    from gdlab.data import load_prepared
    from gdlab.data.positive import training_positive
    from gdlab.experiment import as_frame, decode_target
    from gdlab.experiment.baseline import baseline_gate
    from gdlab.tracking import (
        RunHandle,
        TrackingUnavailable,
        UntrustedModelSource,
        check_own_model_uri,
        open_session,
        pipeline_run,
        register_and_gate,
    )
    from gdlab.tracking.champion import ChampionNotComparable, TestSet
    from gdlab.tracking.evaluation_run import (
        HANDLE_FILE,
        current_evaluation,
        logged_target,
        tag_evaluation_run,
    )
    from gdlab.tracking.logged_model import check_logged_model, check_reused_version
    from gdlab.tracking.registry import (
        MODEL_DIGEST_TAG,
        fairness_gate,
        review_champion,
        run_lineage,
        version_description,
    )
    from gdlab.tracking.registry_record import registry_record, run_tags
    from gdlab.tracking.safety import check_resumable

    for needed in ("metrics.json", "fairness.json"):  # evaluate's; the gate fails closed
        if not (reports / needed).exists():
            print(f"register: {reports / needed} is missing: run evaluate first "
                  "(dvc repro runs it)", file=sys.stderr)
            return 1
    metrics = read_json(reports / "metrics.json")
    metric = params.register.resolved_metric(params.model.task)
    value = metrics["test"].get(metric)
    if value is None:
        print(f"register: test {metric} is not finite, refusing to register", file=sys.stderr)
        return 1
    fairness = read_json(reports / "fairness.json")
    gate_status, unfair = fairness_gate(fairness)
    baseline_status, no_better = baseline_gate(metrics, metric, params.register.beat_baseline)
    blocked = "; ".join(reason for reason in (unfair, no_better) if reason) or None
    try:
        data = load_prepared(data_dir, mmap=True)  # the rows evaluate scored the model on
        test_set = TestSet(as_frame(data.X_test, data.feature_names),
                           decode_target(data.y_test, data.classes), data.task, data.digest,
                           tuple(import_paths(params)),
                           training_positive(params, decode_target(data.y_train, data.classes)))
        handle = RunHandle.read(models / "run.json")
        session = open_session(params.tracking.uri, params.tracking.experiment)
        check_resumable(session.client, handle.run_id, str(models / "run.json"))
        model_uri = check_own_model_uri(session.client, handle.model_uri, run_id=handle.run_id)
        # the logged file must be the models/model.skops evaluate tested (its sha256 is tagged)
        model_digest = check_logged_model(model_uri, models / "model.skops")
    except (TrackingUnavailable, UntrustedModelSource, ValueError) as exc:
        print(f"register: {exc}", file=sys.stderr)
        return 1
    # the run evaluate logged to: train's, or its evaluation run under another experiment/params
    where = logged_target(session.client, handle.run_id, reports / HANDLE_FILE,
                          current_evaluation(flatten_params(params)))
    if where.run_id is None:
        print(f"register: train's run {handle.run_id} has no evaluation run of this experiment "
              "and these evaluate params: run evaluate first (dvc repro runs it)",
              file=sys.stderr)
        return 1
    lineage = run_lineage(session.client, handle.run_id)
    card = f"runs:/{where.run_id}/model_card.md"  # logged by evaluate
    with pipeline_run(run_id=where.run_id, uri=session.uri, stage="register"):
        try:
            decision = register_and_gate(
                session.client,
                model_name=params.register.model_name,
                model_uri=model_uri,
                run_id=handle.run_id,
                metric=metric,
                value=float(value),
                tags={
                    MODEL_DIGEST_TAG: model_digest,
                    "gdlab.run_id": handle.run_id,
                    "gdlab.fairness_gate": gate_status,
                    "gdlab.baseline_gate": baseline_status,
                    "gdlab.model_card": card,
                    **lineage,
                },
                blocked=blocked,
                task=params.model.task,
                description=version_description(handle.run_id, lineage, card),
                test_set=test_set,
                verify_reused=lambda name, version: check_reused_version(
                    name, version, models / "model.skops"),
                min_confidence=params.register.min_confidence,
                seed=params.seed,
            )
        except ChampionNotComparable as exc:  # checked before anything is written
            print(f"register: {exc}; nothing registered, no alias moved ({exc.remedy})",
                  file=sys.stderr)
            return 1
        except ValueError as exc:  # the name holds models of another task
            print(f"register: {exc}", file=sys.stderr)
            return 1
        record = registry_record(session.client, decision)  # a reused version: another run's
        mlflow.set_tags({**run_tags(record), "gdlab.baseline_gate": baseline_status})
        tag_evaluation_run(session.client, decision, where.run_id if where.separate else None,
                           reused=record["reused"])  # a reused version keeps its own run's
        thresholds = fairness.get("gate", {}).get("thresholds") or {}
        review = review_champion(session.client, decision, thresholds)
    gate = {"status": gate_status, **fairness.get("gate", {})}
    constant = metrics.get("baseline") or {}
    document = {"registered": True, **record,
                "fairness_gate": gate, "champion_review": review,
                "baseline_gate": {"status": baseline_status, "metric": metric,
                                  "value": float(value), "constant": constant.get("constant"),
                                  "baseline": (constant.get("test") or {}).get(metric),
                                  "reason": no_better}}
    write_json(reports / "registry.json", document)
    alias = "champion" if decision.promoted else "challenger"
    print(
        f"register: {decision.model_name} v{decision.version} is {alias} ({decision.reason}); "
        + (f"champion is v{decision.champion}" if decision.champion else "no champion yet")
    )
    if review:
        print(f"register: warning: {review}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The descriptions of the pipeline's parent runs (MLflow's ``mlflow.note.content`` tag, shown
as the run's *Description*): what the run is, the model, optimiser and schedule, the data it
saw, where tuned values came from, and its score once known.

A description is a tag: it travels in a call the stage makes anyway (the tags of
``start_run``, or the batch that logs the final metrics), never in a call of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gdlab.urls import redact_uri

NOTE_TAG = "mlflow.note.content"
"""The tag MLflow's UI shows and edits as a run's description."""


def data_line(params: Any, rows: int, n_features: int) -> str:
    """``4000 training rows × 20 features of synthetic data (make_classification)``: the rows
    and where they came from (a file's path with any credential redacted)."""
    data = params.data
    if data.source == "synthetic":
        maker = "make_regression" if params.model.task == "regression" else "make_classification"
        source = f"synthetic data ({maker})"
    elif data.source in ("csv", "parquet"):
        path = str(data.path)
        source = f"{data.source} file {redact_uri(path) if '://' in path else path}"
    else:
        source = f"scikit-learn's {data.source} data set"
    return f"{rows} training rows × {n_features} features of {source}"


def model_line(params: Any) -> str:
    """``linear classification model (log_loss), adam (learning rate 0.01), schedule
    constant``."""
    model, opt = params.model, params.optimizer
    kind = model.kind
    if kind == "mlp":
        kind = f"mlp {list(model.hidden_layer_sizes)} ({model.activation})"
    return (
        f"{kind} {model.task} model ({model.resolved_loss}), optimiser {opt.name} "
        f"(learning rate {opt.learning_rate:g}), schedule {params.schedule.name}"
    )


def batches(batch_size: int | None) -> str:
    """``batch size 64``, or ``full batch`` for ``train.batch_size: null``."""
    return "full batch" if batch_size is None else f"batch size {batch_size}"


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def train_note(
    params: Any,
    *,
    rows: int,
    n_features: int,
    tuned: Mapping[str, tuple[Any, Any]] | None = None,
    study: str | None = None,
    tuning_run_id: str | None = None,
    cv: Any = None,
) -> str:
    """The train run's description; with ``cv`` (the cross-validation's result) it ends with
    the CV score (mean ± std over the folds of each metric)."""
    lines = [
        f"gdlab train run: {params.cv.folds}-fold cross-validation, then a refit on every "
        f"training row, of a {model_line(params)}; {batches(params.train.batch_size)}, "
        f"up to {params.train.max_epochs} epochs.",
        f"Data: {data_line(params, rows, n_features)}.",
    ]
    if tuned:
        values = ", ".join(f"{key}={_value(new)}" for key, (_, new) in tuned.items())
        origin = f"study {study}" if study else "the tune stage"
        if tuning_run_id:
            origin += f" (tune run {tuning_run_id})"
        lines.append(f"Tuned values from {origin}: {values}.")
    else:
        lines.append("Trained with params.yaml as written (no tuned values).")
    if cv is not None:
        mean, std = cv.mean(), cv.std()
        score = ", ".join(f"{name} {value:.4g} ± {std[name]:.2g}" for name, value in mean.items())
        lines.append(f"CV score (mean ± std over {len(cv.folds)} folds): {score}.")
    return "\n\n".join(lines)


def search_budget(tune: Any) -> str:
    """``12 trials``, ``the whole grid`` or ``trials until 600 s``, with the time limit too."""
    if tune.n_trials:
        budget = f"{tune.n_trials} trials"
    elif tune.strategy == "grid":
        budget = "the whole grid"
    else:
        budget = "trials"
    if tune.timeout:
        budget += f" until {tune.timeout:g} s" if budget == "trials" else (
            f", at most {tune.timeout:g} s")
    return budget


def tune_note(
    params: Any,
    *,
    rows: int,
    n_features: int,
    metric: str,
    best: tuple[int, float, Mapping[str, Any]] | None = None,
    counts: Mapping[str, int] | None = None,
) -> str:
    """The tune run's description; with ``best`` (trial number, CV score, its values) and
    the trials' ``counts`` per state it ends with the outcome."""
    tune = params.tune
    budget = search_budget(tune)
    lines = [
        f"gdlab tune run: {tune.strategy} search ({budget}) of {', '.join(tune.space)}, "
        f"each trial a {params.cv.folds}-fold CV scored by {metric}, around a "
        f"{model_line(params)}.",
        f"Data: {data_line(params, rows, n_features)}.",
    ]
    if best is not None:
        number, value, values = best
        shown = ", ".join(f"{key}={_value(v)}" for key, v in values.items())
        tally = ", ".join(f"{n} {state.lower()}" for state, n in (counts or {}).items() if n)
        lines.append(
            f"Best: trial {number}, CV {metric} {value:.4g} with {shown}"
            + (f" ({tally})." if tally else ".")
        )
    return "\n\n".join(lines)


def _ranked(rank_by: str, metric: str) -> str:
    """What ranks the variants, in words (``final mean training loss``, ``mean held-out
    rmse``); ``metric``: the comparison's held-out metric (``compare.metric`` resolved)."""
    if rank_by == "val_metric":
        return f"mean held-out {metric}"
    return f"final mean {'validation' if rank_by == 'val_loss' else 'training'} loss"


def compare_note(
    params: Any, *, rows: int, n_features: int, ranking: Sequence[str],
    verdict: str | None = None,
) -> str:
    """The compare run's description: what varied, over which values, the ranking and the
    verdict (a winner, or the variants the fold-by-fold comparison cannot tell apart)."""
    spec = params.compare
    return "\n\n".join([
        f"gdlab compare run: {spec.vary} varied over {len(ranking)} values, each a "
        f"{params.cv.folds}-fold CV of a {model_line(params)} (one child run per variant).",
        f"Data: {data_line(params, rows, n_features)}.",
        f"Ranking by {_ranked(spec.rank_by, spec.resolved_metric(params.model.task))}: "
        f"{' > '.join(ranking)}."
        + (f" Verdict: {verdict}." if verdict else ""),
    ])

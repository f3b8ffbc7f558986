"""The model card (Mitchell et al., 2019, "Model Cards for Model Reporting"): nine sections in
markdown, filled from what the run actually did — parameters, prepared data, metrics overall
and by group, the fairness gate — plus the intended use and caveats given in ``model_card:``.

    text = model_card(CardInputs(params=..., meta=..., metrics=..., fairness=..., run=...))
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from gdlab.experiment.baseline import shortfall
from gdlab.reporting.fairness import FairnessReport
from gdlab.reporting.metrics import metric_label, never_recalled_advice, never_recalled_text

SECTIONS = (
    "Model Details",
    "Intended Use",
    "Factors",
    "Metrics",
    "Evaluation Data",
    "Training Data",
    "Quantitative Analyses",
    "Ethical Considerations",
    "Caveats and Recommendations",
)
"""The nine sections of Mitchell et al. (2019), in their order."""


@dataclass
class CardInputs:
    """Everything the card is filled from (plain data: validated params as a dict works too)."""

    params: Any
    """Validated ``Params``."""
    meta: dict[str, Any]
    """``data/prepared/meta.json``."""
    metrics: dict[str, Any]
    """``reports/metrics.json``: ``test`` scores and ``cv`` mean/std (a classifier's also
    ``f1_average``, ``per_class`` recall, ``never_predicted``, ``never_recalled`` and
    ``class_warning``)."""
    fairness: FairnessReport
    run: dict[str, Any] = field(default_factory=dict)
    """``run_id``, ``experiment``, ``model_uri``, ``git_commit``, ``n_iter`` (see run_summary)."""
    figure: str | None = None
    """Path of the by-group figure relative to the card."""


def run_summary(run: Any, *, experiment: str, model_uri: str | None) -> dict[str, Any]:
    """``CardInputs.run`` from an MLflow ``Run`` (or ``ActiveRun``) of the train stage; its date
    is the run's start (UTC), so the card of one run reads the same whenever it is written."""
    data = run.data
    started = dt.datetime.fromtimestamp(run.info.start_time / 1000, tz=dt.UTC)
    return {
        "run_id": run.info.run_id,
        "date": started.date().isoformat(),
        "experiment": experiment,
        "model_uri": model_uri,
        "git_commit": data.tags.get("mlflow.source.git.commit"),
        "n_iter": int(data.metrics["n_iter"]) if "n_iter" in data.metrics else None,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _details(c: CardInputs) -> str:
    p = c.params
    estimator = "GDClassifier" if p.model.task == "classification" else "GDRegressor"
    schedule = p.schedule.name + (f" {p.schedule.params}" if p.schedule.params else "")
    optimizer = p.optimizer.name + (f" {p.optimizer.params}" if p.optimizer.params else "")
    loss = p.model.resolved_loss + (f" (epsilon {p.model.epsilon:g})"
                                    if p.model.resolved_loss == "huber" else "")
    if p.model.task == "classification" and p.model.class_weight is not None:
        loss += f", class weights {_class_weights(p.model.class_weight)}"
    kind = p.model.kind + (f" {list(p.model.hidden_layer_sizes)} {p.model.activation}"
                           if p.model.kind == "mlp" else
                           f" {p.model.params}" if p.model.params else "")  # a plug-in's
    run = c.run
    lines = [
        f"- **Owner:** {p.model_card.owner}",
        f"- **Date:** {run.get('date', 'n/a')} (training run started)",
        f"- **Type:** gdlab {estimator} ({kind} model, loss {loss}, {p.model.task}) behind a "
        f"scikit-learn preprocessing pipeline (standardize: "
        f"{str(p.preprocess.standardize).lower()}, polynomial degree "
        f"{p.preprocess.polynomial_degree}, missing values: {p.data.missing})"
        + (", trained on the standardised target (predictions in target units)"
           if p.model.task == "regression" and p.preprocess.scale_target else ""),
        f"- **Training algorithm:** {optimizer}, learning rate "
        f"{p.optimizer.learning_rate:g}, schedule {schedule}, batch size "
        f"{p.train.batch_size if p.train.batch_size is not None else 'full'}, at most "
        f"{p.train.max_epochs} epochs"
        + (f" (refit ran {run['n_iter']})" if run.get("n_iter") is not None else "")
        + f"; penalty alpha {p.model.alpha:g}, l1_ratio {p.model.l1_ratio:g}; seed {p.seed}",
        f"- **Version:** MLflow run `{run.get('run_id', 'n/a')}` in experiment "
        f"`{run.get('experiment', p.tracking.experiment)}`, model `{run.get('model_uri', 'n/a')}`,"
        f" git commit `{run.get('git_commit') or 'n/a'}`",
        f"- **Registry:** `{p.register.model_name}`; promotion to `champion` on test "
        f"{p.register.resolved_metric(p.model.task)}"
        + (" and the fairness gate" if c.fairness.thresholds else "")
        + " (decision in reports/registry.json)",
        "- **Serialization:** skops with an explicit list of trusted types (no pickle)",
    ]
    return "\n".join(lines)


def _class_weights(class_weight: Any) -> str:
    """``model.class_weight`` as the card says it: ``balanced`` or ``fraud 50, ok 1``."""
    if isinstance(class_weight, str):
        return class_weight
    return ", ".join(f"{label} {weight:g}" for label, weight in class_weight.items())


def _intended(c: CardInputs) -> str:
    card = c.params.model_card
    return "\n".join(
        [
            f"- **Primary intended uses:** {card.intended_use}",
            f"- **Out-of-scope uses:** {card.out_of_scope_use}",
        ]
    )


def _factors(c: CardInputs) -> str:
    f = c.fairness
    if not f.enabled:
        return (
            f"No sensitive attribute was configured ({f.reason}): how the model performs for "
            "different groups of people was **not** evaluated."
        )
    groups = ", ".join(f"`{g}` ({n} test rows)" for g, n in f.group_sizes.items())
    text = (
        f"- **Relevant factor:** the sensitive attribute `{f.sensitive}` with groups {groups}. "
        "It is kept out of the model's features and used only to evaluate it.\n"
    )
    if not f.groups_not_evaluated:
        return text + (
            "- **Evaluation factors:** every metric below is reported for each group of "
            f"`{f.sensitive}` as well as overall."
        )
    return text + (
        f"- **Evaluation factors:** every metric below is reported for each group of "
        f"`{f.sensitive}` with test rows as well as overall.\n"
        f"- **Groups not evaluated:** {_not_evaluated(f)}: in the training data but without a "
        "test row, so how the model performs for them was **not** measured."
    )


def _not_evaluated(f: FairnessReport) -> str:
    """```intersex` (1 training row), ...``: the groups of the training rows no test row has."""
    return ", ".join(
        f"`{g}` ({n} training row{'s' if n != 1 else ''})"
        for g, n in f.groups_not_evaluated.items()
    )


def _metrics(c: CardInputs) -> str:
    p = c.params
    task = p.model.task
    chosen = p.register.resolved_metric(task)
    if task == "classification":
        measured = (f"accuracy, balanced accuracy (the mean of the classes' recalls), "
                    f"{_f1_words(c.metrics)}, {_roc_auc_words(c.metrics)} and log loss")
        fairness = (
            "by group: accuracy, selection rate (share predicted "
            f"`{_fmt(c.fairness.positive_label)}`), true and false positive rate; demographic "
            "parity difference (largest gap in selection rate) and equalized odds difference "
            "(largest gap in TPR or FPR), both from fairlearn"
        )
        if c.fairness.one_vs_rest:
            fairness += (
                f", for every class against the rest; the gate judges the worst class with at "
                f"least {c.fairness.min_group_size} test rows of it and of the other classes "
                "in every group (fairness.min_group_size; every class when none has), and the "
                f"rates by group shown are class `{_fmt(c.fairness.positive_label)}`'s, the "
                "worst on equalized odds"
            )
        decision = "the predicted class is the most probable one (argmax of predict_proba)"
    else:
        measured = "RMSE, MAE and R²"
        fairness = (
            "by group: MAE, RMSE and mean prediction; error difference (largest gap in MAE "
            "between groups)"
        )
        decision = "the prediction is used as is"
    gates = ", ".join(f"{k} ≤ {v:g}" for k, v in c.fairness.thresholds.items()) or "none"
    return "\n".join(
        [
            f"- **Performance measures:** {measured}; the registry compares test {chosen}"
            + (f", and promotes no model whose test {chosen} does not beat the constant "
               "prediction's (register.beat_baseline)." if p.register.beat_baseline else "."),
            f"- **Fairness measures:** {fairness}. Gate on promotion: {gates}.",
            f"- **Decision threshold:** {decision}.",
            f"- **Variation:** {p.cv.folds}-fold cross-validation on the training split "
            "(mean ± standard deviation over folds) next to the single held-out test split.",
        ]
    )


def _f1_words(metrics: dict[str, Any]) -> str:
    """How the card's F1 and average precision are computed (``metrics.json``'s
    ``f1_average`` and ``f1_pos_label``)."""
    average = metrics.get("f1_average")
    if average == "macro":
        return ("F1 and average precision (macro: the unweighted mean over the classes, each "
                "against the rest, so a rare class counts as much as a common one)")
    if average == "binary" and "f1_pos_label" in metrics:
        return (f"F1 and average precision of the positive class "
                f"`{_fmt(metrics['f1_pos_label'])}` (metrics.positive_label)")
    return "F1, average precision"


def _roc_auc_words(metrics: dict[str, Any]) -> str:
    """How the card's ROC AUC is computed over more than two classes (``metrics.json``'s
    ``roc_auc_average`` and ``roc_auc_multi_class``)."""
    if "roc_auc_multi_class" not in metrics:
        return "ROC AUC"
    shown = metric_label("roc_auc", metrics).removeprefix("roc_auc ")  # (macro one-vs-rest)
    return (f"ROC AUC {shown[:-1]}: the mean over the classes, unweighted, of each class's "
            "area against the rest)")


def _source(c: CardInputs) -> str:
    m = c.meta
    source = m.get("source", "n/a")
    if m.get("path"):
        source += f" (`{m['path']}`)"
    return source


def _evaluation_data(c: CardInputs) -> str:
    p, m = c.params, c.meta
    stratified = ", stratified by class" if p.model.task == "classification" else ""
    sha = (m.get("sha256") or {}).get("test.parquet")
    return (
        f"The held-out test split of {_source(c)}: {m.get('n_test', 'n/a')} rows "
        f"({p.data.test_size:g} of the data, seeded split with seed {p.seed}{stratified}), "
        f"never used for training or tuning; register chooses the champion on it "
        f"(test {p.register.resolved_metric(p.model.task)})."
        + _copies_note(m)
        + (f" File SHA-256 `{sha[:16]}…`." if sha else "")
    )


def _copies_note(meta: dict[str, Any]) -> str:
    """What the split did with rows that are exact copies of another row (none: nothing)."""
    copies = int(meta.get("copied_rows") or 0)
    if copies == 0:
        return ""
    return (
        f" The data held {copies} row{'s' if copies > 1 else ''} that "
        f"{'are exact copies' if copies > 1 else 'is an exact copy'} of another row (features "
        "and target): each row and its copies were kept on one side of the split (and of "
        "every CV fold), so no test row is a copy of a training row."
    )


def _training_data(c: CardInputs) -> str:
    p, m = c.params, c.meta
    names = m.get("feature_names") or []
    shown = ", ".join(f"`{n}`" for n in names[:12]) + (" …" if len(names) > 12 else "")
    pii, left_out = p.data.pii, getattr(p.data, "drop", [])
    lines = [
        f"- **Source:** {_source(c)}, target `{m.get('target', 'n/a')}`; "
        f"{m.get('n_train', 'n/a')} training rows.",
        f"- **Features ({len(names)}):** {shown or 'n/a'}.",
    ]
    if m.get("classes"):
        lines.append(f"- **Classes:** {', '.join(f'`{k}`' for k in m['classes'])}.")
    if left_out:
        lines.append(
            "- **Columns left out** (data.drop, not read): "
            f"{', '.join(f'`{n}`' for n in left_out)}."
        )
    if pii.drop or pii.pseudonymise:
        lines.append(
            "- **Personal data:** dropped on load: "
            f"{', '.join(f'`{n}`' for n in pii.drop) or 'none'}; pseudonymised with "
            f"HMAC-SHA256 (key outside the repository): "
            f"{', '.join(f'`{n}`' for n in pii.pseudonymise) or 'none'}."
        )
    if pii.keep:
        lines.append(
            "- **Kept as they are, declared not personal data** (they look like e-mail "
            f"addresses or phone numbers): {', '.join(f'`{n}`' for n in pii.keep)}."
        )
    return "\n".join(lines)


def _interval(bounds: dict[str, Any] | None) -> str:
    """``0.51 – 1`` (a test metric's 95% interval), or n/a."""
    if not bounds or bounds.get("low") is None or bounds.get("high") is None:
        return "n/a"
    return f"{_fmt(bounds['low'])} – {_fmt(bounds['high'])}"


def _quantitative(c: CardInputs) -> str:
    test = c.metrics.get("test", {})
    cv = c.metrics.get("cv", {})
    ci = c.metrics.get("test_ci95", {})
    baseline = c.metrics.get("baseline") or {}
    constant = baseline.get("test", {})
    rows = [
        [metric_label(name, c.metrics), test.get(name), _interval(ci.get(name)),
         *([constant.get(name)] if baseline else []),
         (cv.get(name) or {}).get("mean"), (cv.get(name) or {}).get("std")]
        for name in test
    ]
    shown = [f"test, constant prediction ({baseline['constant']})"] if baseline else []
    parts = [
        "Overall:\n\n",
        _table(["metric", "test", "test 95% CI", *shown, "CV mean", "CV std"], rows),
    ]
    if baseline:
        parts.append(
            f"\n\nThe constant prediction ({baseline['constant']}, fitted on the training rows"
            ") is what a model that learned nothing scores on the same test rows.")
    per_class = c.metrics.get("per_class")
    if per_class:
        never = {str(label) for label in c.metrics.get("never_predicted") or []}
        wrong = {str(label) for label in c.metrics.get("never_recalled") or []} - never
        parts += [
            "\n\nBy class (test split; recall: the share of the class's rows predicted as it):"
            "\n\n",
            _table(
                ["class", "test rows", "predicted as it", "recall"],
                [[f"`{label}`" + (" (never predicted)" if label in never else
                                  " (never predicted right)" if label in wrong else ""),
                  row.get("support"), row.get("predicted"), row.get("recall")]
                 for label, row in per_class.items()],
            ),
        ]
    f = c.fairness
    if f.enabled:
        groups = list(f.group_sizes)
        by_group = [
            [metric, f.overall.get(metric), *[f.by_group[metric].get(g) for g in groups]]
            for metric in f.by_group
        ]
        by_group.append(["test rows", sum(f.group_sizes.values()), *f.group_sizes.values()])
        parts += [
            f"\n\nBy group of `{f.sensitive}` (test split"
            + (f"; not evaluated, no test rows: {_not_evaluated(f)}"
               if f.groups_not_evaluated else "")
            + "):\n\n",
            _table(["metric", "overall", *[f"`{g}`" for g in groups]], by_group),
            "\n\nDisparities"
            + (" (the worst of the judged classes one-vs-rest)" if f.one_vs_rest else "")
            + ":\n\n",
            _table(
                ["difference", "value", "threshold"],
                [[k + (f" (class `{f.worst_class[k]}`)" if k in f.worst_class else ""),
                  v, f.thresholds.get(k)] for k, v in f.differences.items()],
            ),
            "\n\n**Fairness gate:** "
            + (
                "not configured."
                if not f.thresholds
                else ("passed." if f.passed else f"FAILED — {'; '.join(f.violations)}.")
            ),
        ]
        if f.one_vs_rest:
            parts += [
                "\n\nBy class, one-vs-rest (judged: every group has at least "
                f"{f.min_group_size} test rows of the class and of the others"
                + ("; no class has, so the gate judges every class on few rows"
                   if f.judged_on_few_rows else "")
                + "):\n\n",
                _table(
                    ["class", "equalized_odds_difference", "demographic_parity_difference",
                     "fewest test rows of it in a group", "judged"],
                    [[f"`{label}`", e["equalized_odds_difference"],
                      e["demographic_parity_difference"],
                      min(e["test_rows_of_class"].values(), default=0),
                      "yes" if e["enough_rows"] else
                      "yes, on few rows (may be noise)" if f.judged_on_few_rows else
                      "no (too few rows)"]
                     for label, e in f.per_class.items()],
                ),
            ]
        if c.figure:
            parts.append(f"\n\n![metrics by group]({c.figure})")
    return "".join(parts)


def _ethics(c: CardInputs) -> str:
    p, f = c.params, c.fairness
    lines = []
    if f.enabled:
        lines.append(
            f"- The sensitive attribute `{f.sensitive}` is excluded from the features, but "
            "other features may still act as proxies for it: check the by-group metrics, not "
            "only the overall ones."
        )
        if f.differences.get("demographic_parity_difference") is not None:
            lines.append(
                "- Demographic parity and equalized odds cannot in general both hold when base "
                "rates differ between groups; the gate encodes which one matters here."
            )
    else:
        lines.append(
            "- Fairness was not assessed; do not use the model where outcomes affect people "
            "before it is."
        )
    pii = p.data.pii
    if pii.pseudonymise:
        lines.append(
            "- Pseudonymised columns are still personal data (GDPR): whoever holds the key "
            f"(environment variable `{pii.key_env}`) can re-identify them."
        )
    if p.data.source == "synthetic":
        lines.append("- Trained on synthetic data: no real person's data is involved.")
    if p.model_card.ethical_considerations:
        lines.append(f"- {p.model_card.ethical_considerations}")
    return "\n".join(lines)


def _caveats(c: CardInputs) -> str:
    p, f = c.params, c.fairness
    lines = []
    small = [g for g, n in f.group_sizes.items() if n < p.fairness.min_group_size]
    if small:
        lines.append(
            f"- Group(s) {', '.join(f'`{g}`' for g in small)} have fewer than "
            f"{p.fairness.min_group_size} test rows: their metrics are too noisy to trust."
        )
    if f.enabled and f.one_vs_rest:
        if thin := [label for label, e in f.per_class.items() if not e["enough_rows"]]:
            lines.append(
                f"- Class(es) {', '.join(f'`{label}`' for label in thin)} have fewer than "
                f"{f.min_group_size} test rows (of them, or of the other classes) in some group "
                f"of `{f.sensitive}`: their gaps between groups are too noisy to trust"
                + ("; no class has that many, so the fairness gate judges every class on them "
                   "anyway, and the gap it passes or fails on may be noise."
                   if f.judged_on_few_rows else " and the fairness gate does not judge them.")
            )
    elif f.enabled and (thin := f.thin_rows()):
        lines.append(
            f"- The true and false positive rates of class `{f.positive_label}` rest on few "
            f"rows ({'; '.join(thin)}; fewer than {f.min_group_size}): their gaps between "
            "groups are too noisy to trust."
        )
    if f.groups_not_evaluated:
        lines.append(
            f"- Group(s) {_not_evaluated(f)} of `{f.sensitive}` have no test rows: the model was "
            "not evaluated for them. Do not use it for them until it is (more rows of them, "
            "or a larger data.test_size)."
        )
    if f.enabled and not f.passed:
        lines.append(f"- {f.gate_reason}: this model must not be promoted to champion.")
    if short := shortfall(c.metrics, p.register.resolved_metric(p.model.task)):
        lines.append(f"- {short}: this model must not be promoted to champion." if
                     p.register.beat_baseline else f"- {short}; register.beat_baseline is "
                     "false, so the registry may promote it all the same.")
    if c.metrics.get("test_warning"):
        lines.append(f"- Too small a test split: {c.metrics['test_warning']}.")
    if c.metrics.get("class_warning"):
        lines.append(f"- Too few test rows of a class: {c.metrics['class_warning']}.")
    if missed := never_recalled_text(c.metrics):
        lines.append(
            f"- Classes never recalled: {missed}. "
            f"{never_recalled_advice(p.model.class_weight).capitalize()}."
        )
    if p.data.source == "synthetic":
        lines.append(
            "- Synthetic data: the metrics say how well the optimiser fits this generator, "
            "not how a model would do on real data."
        )
    lines.append(
        "- One seeded train/test split: test metrics carry sampling noise; compare them with "
        "the CV spread above before reading small differences."
    )
    if p.model_card.caveats:
        lines.append(f"- {p.model_card.caveats}")
    return "\n".join(lines)


def model_card(c: CardInputs) -> str:
    """The markdown model card, sections in Mitchell et al.'s order."""
    body = [
        _details(c),
        _intended(c),
        _factors(c),
        _metrics(c),
        _evaluation_data(c),
        _training_data(c),
        _quantitative(c),
        _ethics(c),
        _caveats(c),
    ]
    title = f"# Model card: {c.params.register.model_name}\n\n"
    intro = (
        "Written by the gdlab evaluate stage from the run it describes (Mitchell et al., 2019, "
        "*Model Cards for Model Reporting*).\n"
    )
    sections = [
        f"\n## {i}. {name}\n\n{text}\n"
        for i, (name, text) in enumerate(zip(SECTIONS, body, strict=True), 1)
    ]
    return title + intro + "".join(sections)

"""Group fairness of the test predictions with fairlearn, the gate it puts on promotion, and a
by-group figure.

Classification: fairlearn's ``MetricFrame`` by group of accuracy, selection rate, true and false
positive rate (the ``positive`` class is the favourable outcome), plus
``demographic_parity_difference`` and ``equalized_odds_difference``. Regression: MAE, RMSE and
the mean prediction by group, and the largest between-group difference of MAE
(``error_difference``) and RMSE. A difference above its configured threshold, or one that is
undefined (a group without positives, say), fails the gate. So does a group of the training
rows that no test row belongs to (``groups_not_evaluated``, with its training rows): nothing
was measured for it, so no difference can say how the model treats it.

A true positive rate rests on a group's rows of the positive class, a false positive rate on
its rows of the other classes: a group with fewer than ``fairness.min_group_size`` of them is
named (``per_class``, the gate's message, the model card). With more than two classes and no
``fairness.positive_label`` every class is measured one-vs-rest and the gate judges the worst
class that has enough rows in every group (every class when none has), naming it.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn import metrics as skm

from gdlab.atomic import output_dir
from gdlab.config.sections.fairness import CLASSIFICATION_GATES, REGRESSION_GATES
from gdlab.data.positive import match_label, match_or_refuse
from gdlab.reporting.canvas import save_figure
from gdlab.reporting.files import finite

CLASSIFICATION_METRICS = ("accuracy", "selection_rate", "true_positive_rate", "false_positive_rate")
REGRESSION_METRICS = ("mae", "rmse", "mean_prediction")
NOT_EVALUATED_METRIC = "fairness_groups_not_evaluated"
"""The MLflow metric: how many groups of the training rows had no test row (logged when any)."""


@dataclass
class FairnessReport:
    """What evaluate measured per group; ``violations`` lists every failed threshold."""

    enabled: bool
    task: str
    sensitive: str | None = None
    positive_label: Any = None
    overall: dict[str, float] = field(default_factory=dict)
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)
    group_sizes: dict[str, int] = field(default_factory=dict)
    groups_not_evaluated: dict[str, int] = field(default_factory=dict)
    """Groups of the training rows without a test row -> their training rows."""
    differences: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    reason: str | None = None
    per_class: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Classification: each measured class (one-vs-rest) -> its differences, its test rows and
    the other classes' rows by group, and whether every group has ``min_group_size`` of both."""
    worst_class: dict[str, Any] = field(default_factory=dict)
    """One-vs-rest over several classes: difference -> the class whose gap the report holds."""
    min_group_size: int | None = None

    @property
    def passed(self) -> bool:
        """True when no configured threshold is exceeded (always true when disabled)."""
        return not self.violations

    @property
    def gate_reason(self) -> str | None:
        """Why the model may not be promoted, or None."""
        if self.passed:
            return None
        return f"fairness gate failed on {self.sensitive!r}: " + "; ".join(self.violations)

    @property
    def gate_status(self) -> str:
        """``not measured`` | ``not configured`` | ``passed`` | ``failed``."""
        if not self.enabled:
            return "not measured"
        if not self.thresholds:
            return "not configured"
        return "passed" if self.passed else "failed"

    @property
    def status_line(self) -> str:
        """What evaluate's console line says: the gate's verdict, or that the group metrics
        were measured (and drawn) while no gate is set ("not configured" read as if fairness
        itself were off), or why nothing was measured."""
        if not self.enabled:
            return f"not measured ({self.reason})"
        if self.thresholds:
            return f"gate {self.gate_status}"
        gates = CLASSIFICATION_GATES if self.task == "classification" else REGRESSION_GATES
        unset = ", ".join(f"fairness.{name}" for name in gates)
        return (f"measured by group of {self.sensitive!r} and drawn; no fairness gate set "
                f"({unset}: null)")

    @property
    def positive_name(self) -> str | None:
        """``class 9 as positive``: the class the selection rate, TPR and FPR count (the rest
        are negative); None for regression."""
        if self.task != "classification" or self.positive_label is None:
            return None
        return f"class {self.positive_label} as positive"

    @property
    def one_vs_rest(self) -> bool:
        """Several classes without ``fairness.positive_label``: every class was measured
        against the rest and the report holds the worst gaps."""
        return bool(self.worst_class)

    @property
    def judged_on_few_rows(self) -> bool:
        """One-vs-rest and no class has ``min_group_size`` test rows of it and of the others in
        every group, and a gate is set: it judged every class anyway, on gaps that may be
        noise (no gate: nothing was judged)."""
        return (bool(self.thresholds) and self.one_vs_rest
                and not any(e["enough_rows"] for e in self.per_class.values()))

    @property
    def class_line(self) -> str | None:
        """``equalized odds difference by class (one-vs-rest): 'cat' 0.03, ..., 'gnu' 0.33 (too
        few rows, not judged)`` for evaluate's log (``(few rows, judged: may be noise)`` when
        no class has enough and the gate judged them all); None unless :attr:`one_vs_rest`."""
        if not self.one_vs_rest:
            return None
        few = ("few rows, judged: may be noise" if self.judged_on_few_rows
               else "too few rows, not judged")
        shown = ", ".join(
            f"{label!r} {_fmt(entry['equalized_odds_difference'])}"
            + ("" if entry["enough_rows"] else f" ({few})")
            for label, entry in self.per_class.items()
        )
        return f"equalized odds difference by class (one-vs-rest): {shown}"

    def thin_rows(self) -> list[str]:
        """What the shown class's rates rest on too few rows of: ``group 'north' has 7 test rows
        of class 'gnu'`` (empty when every group has ``min_group_size``)."""
        entry = self.per_class.get(str(self.positive_label))
        if not entry or self.min_group_size is None:
            return []
        return _thin(self.positive_label, entry, self.min_group_size)

    def tags(self) -> dict[str, str]:
        """MLflow run tags: the gate status, and the reason when it failed."""
        tags = {"gdlab.fairness_gate": self.gate_status}
        if self.gate_reason:
            tags["gdlab.fairness_reason"] = self.gate_reason
        return tags

    def document(self) -> dict[str, Any]:
        """``reports/fairness.json`` (a DVC metrics file)."""
        doc: dict[str, Any] = {"enabled": self.enabled, "task": self.task}
        if not self.enabled:
            doc["reason"] = self.reason
            return doc
        doc.update(
            sensitive=self.sensitive,
            positive_label=self.positive_label,
            overall=self.overall,
            by_group=self.by_group,
            group_sizes=self.group_sizes,
            groups_not_evaluated=self.groups_not_evaluated,
            differences=self.differences,
        )
        if self.task == "classification":
            doc.update(per_class=self.per_class, min_group_size=self.min_group_size)
            if self.one_vs_rest:
                doc["worst_class"] = self.worst_class
        doc.update(
            gate={
                "thresholds": self.thresholds,
                "passed": self.passed,
                "violations": self.violations,
                "reason": self.gate_reason,
            },
        )
        return finite(doc)

    def mlflow_metrics(self) -> dict[str, float]:
        """``fairness_<difference>`` and ``fairness_<metric>.<group>`` (finite values only), and
        ``fairness_groups_not_evaluated`` (how many groups of the training rows had no test
        row) when there is one."""
        values = {f"fairness_{k}": v for k, v in self.differences.items()}
        if self.groups_not_evaluated:
            values[NOT_EVALUATED_METRIC] = len(self.groups_not_evaluated)
        for metric, groups in self.by_group.items():
            for group, value in groups.items():
                values[f"fairness_{metric}.{_key(group)}"] = value
        return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def _fmt(value: Any) -> str:
    return "undefined" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _thin(label: Any, entry: dict[str, Any], least: int) -> list[str]:
    """``group 'north' has 7 test rows of class 'gnu'`` for every group below ``least``."""
    out = [f"group {g!r} has {n} test row{'s' if n != 1 else ''} of class {label!r}"
           for g, n in entry["test_rows_of_class"].items() if n < least]
    out += [f"group {g!r} has {n} test row{'s' if n != 1 else ''} of classes other than {label!r}"
            for g, n in entry["test_rows_of_other_classes"].items() if n < least]
    return out


def _key(group: str) -> str:
    """``group`` in an MLflow metric name: no ``/``, which MLflow reads as a path (a value such
    as ``n/a/`` or ``x/..`` made a name it refuses, failing evaluate). A value changed or cut
    on the way gets 8 hex digits of its sha256, so two groups never share a name ('a/b' and
    'a_b' both became 'a_b', one group's values overwriting the other's)."""
    key = re.sub(r"[^A-Za-z0-9_\-. ]", "_", group)[:60]
    if key == group and key:
        return key
    return f"{key or '_'}-{hashlib.sha256(group.encode()).hexdigest()[:8]}"


def disabled(task: str, reason: str) -> FairnessReport:
    """The report when there is nothing to measure (no sensitive column)."""
    return FairnessReport(enabled=False, task=task, reason=reason)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def positive_class(classes: list[Any], configured: Any) -> Any:
    """The favourable class: ``configured`` matched by value or text, else the last class."""
    if configured is None:
        return classes[-1]
    return match_label(classes, configured, "fairness.positive_label")


def check_positive_label(configured: Any, meta: dict[str, Any], source: str) -> None:
    """:class:`~gdlab.config.ConfigError` when ``fairness.positive_label`` is none of the
    target's classes (``meta``: what prepare found). Validate checks it with :func:`positive_class`,
    evaluate's own rule, so a label evaluate would refuse fails before train runs."""
    if configured is not None:
        match_or_refuse(meta["classes"], configured, "fairness.positive_label", meta["target"],
                        source)


def _by_group(frame: MetricFrame) -> dict[str, dict[str, float]]:
    table = frame.by_group
    return {
        str(metric): {str(_plain(g)): float(v) for g, v in table[metric].items()}
        for metric in table.columns
        if metric != "count"
    }


def _sizes(frame: MetricFrame) -> dict[str, int]:
    return {str(_plain(g)): int(v) for g, v in frame.by_group["count"].items()}


def groups_not_evaluated(train_groups: np.ndarray | None, test_groups: Any) -> dict[str, int]:
    """The groups of ``train_groups`` (one per training row) that no test row belongs to, with
    their training rows; groups compared as text, as the report names them."""
    if train_groups is None:
        return {}
    tested = {str(_plain(g)) for g in test_groups}
    names, counts = np.unique([str(_plain(g)) for g in train_groups], return_counts=True)
    return {str(g): int(n) for g, n in zip(names, counts, strict=True) if g not in tested}


def _violations(
    differences: dict[str, float],
    thresholds: dict[str, float],
    not_evaluated: dict[str, int] | None = None,
    notes: dict[str, str] | None = None,
) -> list[str]:
    """The failed thresholds; ``notes``: difference -> what its value rests on (the class it
    is of, groups with too few rows of it), added to an exceeded threshold's message."""
    out = []
    missing = ", ".join(map(repr, not_evaluated or {}))
    for name, limit in thresholds.items():
        value = differences.get(name)
        if missing:
            groups = "group" if len(not_evaluated or {}) == 1 else "groups"
            out.append(f"{name} is undefined (no test rows of training {groups} {missing} "
                       "to measure it)")
        elif value is None or not math.isfinite(value):
            out.append(f"{name} is undefined (a group lacks the rows to measure it)")
        elif value > limit:
            note = (notes or {}).get(name)
            out.append(f"{name} {value:.4g} > {limit:.4g}" + (f" ({note})" if note else ""))
    return out


@dataclass
class _ClassRates:
    """One class against the rest: its rates by group and overall, and its two differences."""

    label: Any
    frame: MetricFrame
    entry: dict[str, Any]

    @property
    def eo(self) -> float:
        return self.entry["equalized_odds_difference"]


def _one_class(
    y_true: np.ndarray, y_pred: np.ndarray, sensitive: np.ndarray, label: Any, least: int
) -> _ClassRates:
    """``label`` as positive, every other class negative: fairlearn's rates by group and its
    demographic parity and equalized odds differences, with the rows each rate rests on."""
    t = (y_true == label).astype(int)
    p = (y_pred == label).astype(int)
    rates = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "true_positive_rate": lambda yt, yp: _rate(true_positive_rate, yt, yp),
            "false_positive_rate": lambda yt, yp: _rate(false_positive_rate, yt, yp),
        },
        y_true=t,
        y_pred=p,
        sensitive_features=sensitive,
    )
    named = np.asarray([str(_plain(g)) for g in sensitive], dtype=object)
    groups = sorted(set(named))
    own = {g: int(np.sum(t[named == g])) for g in groups}
    other = {g: int(np.sum(named == g)) - own[g] for g in groups}
    entry = {
        "demographic_parity_difference": float(
            demographic_parity_difference(t, p, sensitive_features=sensitive)
        ),
        "equalized_odds_difference": _equalized_odds(t, p, sensitive, _by_group(rates)),
        "test_rows_of_class": own,
        "test_rows_of_other_classes": other,
        "enough_rows": min([*own.values(), *other.values()], default=0) >= least,
    }
    return _ClassRates(_plain(label), rates, entry)


def _worst(measured: list[_ClassRates], name: str) -> _ClassRates:
    """The class with the largest ``name`` difference (an undefined one counts as largest)."""
    def size(m: _ClassRates) -> float:
        value = m.entry[name]
        return math.inf if not math.isfinite(value) else value

    return max(measured, key=size)


def _notes(
    measured: dict[Any, _ClassRates], judged: list[_ClassRates], worst: dict[str, Any],
    least: int,
) -> dict[str, str]:
    """What each difference the gate compares rests on, for its message."""
    notes = {}
    for name, label in worst.items():
        thin = _thin(label, measured[label].entry, least)
        if len(measured) == 1:
            if thin:
                notes[name] = (f"class {label!r}: " + "; ".join(thin) + f", fewer than "
                               f"fairness.min_group_size {least}, so the gap may be noise")
            continue
        if judged:
            skipped = [c for c, m in measured.items() if not m.entry["enough_rows"]]
            notes[name] = (
                f"class {label!r}, the worst of the classes one-vs-rest with at least {least} "
                "test rows of the class and of the others in every group"
                + (f"; not judged, too few rows: {', '.join(map(repr, skipped))}"
                   if skipped else "")
            )
        else:
            notes[name] = (
                f"class {label!r}, the worst class one-vs-rest; no class has {least} test rows "
                "of it and of the others in every group (fairness.min_group_size), so the gap "
                "may be noise: " + "; ".join(thin)
            )
    return notes


def classification_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: np.ndarray,
    *,
    classes: list[Any],
    positive_label: Any = None,
    thresholds: dict[str, float] | None = None,
    sensitive_name: str | None = None,
    not_evaluated: dict[str, int] | None = None,
    min_group_size: int = 30,
) -> FairnessReport:
    """By-group accuracy, selection rate, TPR and FPR (``positive`` vs the rest) and the two
    fairlearn disparity differences. ``not_evaluated``: groups of the training rows without a
    test row (:func:`groups_not_evaluated`); any fails a configured gate.

    Two classes, or ``positive_label`` set: that class is judged, its groups with fewer than
    ``min_group_size`` rows of it (or of the other classes) named in the gate's message. More
    than two and ``positive_label`` None: every class one-vs-rest; each difference is the
    largest over the classes with ``min_group_size`` rows of them and of the others in every
    group (over every class when none has), and the rates shown are those of the class worst
    on equalized odds."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    sensitive = np.asarray(sensitive, dtype=object)
    if positive_label is None and len(classes) > 2:
        labels = list(classes)
    else:
        labels = [positive_class(list(classes), positive_label)]
    measured = {
        _plain(c): _one_class(y_true, y_pred, sensitive, c, min_group_size) for c in labels
    }
    judged = [m for m in measured.values() if m.entry["enough_rows"]]
    pool = judged or list(measured.values())
    names = ("demographic_parity_difference", "equalized_odds_difference")
    worst = {name: _worst(pool, name) for name in names}
    shown = worst["equalized_odds_difference"]
    correct = (y_true == y_pred).astype(int)
    frame = MetricFrame(
        metrics={
            "accuracy": lambda yt, yp: float(np.mean(yp)),  # yp is `correct` here
            "count": count,
        },
        y_true=correct,
        y_pred=correct,
        sensitive_features=sensitive,
    )
    by_group = {**_by_group(frame), **_by_group(shown.frame)}
    overall = {"accuracy": float(np.mean(correct))}
    overall.update({str(k): float(v) for k, v in shown.frame.overall.items()})
    differences = {name: worst[name].entry[name] for name in names}
    differences["accuracy_difference"] = float(frame.difference()["accuracy"])
    thresholds = dict(thresholds or {})
    worst_class = {name: m.label for name, m in worst.items()}
    notes = _notes(measured, judged, {n: worst_class[n] for n in thresholds if n in names},
                   min_group_size)
    return FairnessReport(
        enabled=True,
        task="classification",
        sensitive=sensitive_name,
        positive_label=shown.label,
        overall=overall,
        by_group=by_group,
        group_sizes=_sizes(frame),
        groups_not_evaluated=dict(not_evaluated or {}),
        differences=differences,
        thresholds=thresholds,
        violations=_violations(differences, thresholds, not_evaluated, notes),
        per_class={str(label): m.entry for label, m in measured.items()},
        worst_class=worst_class if len(measured) > 1 else {},
        min_group_size=min_group_size,
    )


def _equalized_odds(
    t: np.ndarray, p: np.ndarray, sensitive: np.ndarray, by_group: dict[str, dict[str, float]]
) -> float:
    """fairlearn's equalized odds difference, or NaN when a group's TPR or FPR is undefined
    (fairlearn would count that group's rate as 0 and report a gap that is not there)."""
    rates = [*by_group["true_positive_rate"].values(), *by_group["false_positive_rate"].values()]
    if any(not math.isfinite(v) for v in rates):
        return float("nan")
    return _quiet(lambda: float(equalized_odds_difference(t, p, sensitive_features=sensitive)))


def _rate(fn: Any, yt: np.ndarray, yp: np.ndarray) -> float:
    """TPR/FPR with ``pos_label=1``; NaN (undefined, not fairlearn's 0) when the group has no
    row of the class the rate is conditioned on."""
    conditioned = 1 if fn is true_positive_rate else 0
    if not np.any(np.asarray(yt) == conditioned):
        return float("nan")
    return _quiet(lambda: float(fn(yt, yp, pos_label=1)))


def _quiet(fn: Any) -> float:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except (ValueError, ZeroDivisionError):
            return float("nan")


def regression_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: np.ndarray,
    *,
    thresholds: dict[str, float] | None = None,
    sensitive_name: str | None = None,
    not_evaluated: dict[str, int] | None = None,
) -> FairnessReport:
    """By-group MAE, RMSE and mean prediction; ``error_difference`` is the MAE gap.
    ``not_evaluated`` as in :func:`classification_fairness`."""
    frame = MetricFrame(
        metrics={
            "mae": skm.mean_absolute_error,
            "rmse": lambda yt, yp: float(np.sqrt(skm.mean_squared_error(yt, yp))),
            "mean_prediction": lambda yt, yp: float(np.mean(yp)),
            "count": count,
        },
        y_true=np.asarray(y_true, dtype=float),
        y_pred=np.asarray(y_pred, dtype=float),
        sensitive_features=sensitive,
    )
    gaps = frame.difference()
    differences = {
        "error_difference": float(gaps["mae"]),
        "rmse_difference": float(gaps["rmse"]),
        "mean_prediction_difference": float(gaps["mean_prediction"]),
    }
    thresholds = dict(thresholds or {})
    return FairnessReport(
        enabled=True,
        task="regression",
        sensitive=sensitive_name,
        overall={str(k): float(v) for k, v in frame.overall.items() if k != "count"},
        by_group=_by_group(frame),
        group_sizes=_sizes(frame),
        groups_not_evaluated=dict(not_evaluated or {}),
        differences=differences,
        thresholds=thresholds,
        violations=_violations(differences, thresholds, not_evaluated),
    )


def fairness_report(
    model: Any,
    X_test: Any,
    y_test: np.ndarray,
    sensitive: np.ndarray | None,
    *,
    task: str,
    config: Any,
    sensitive_name: str | None = None,
    train_sensitive: np.ndarray | None = None,
) -> FairnessReport:
    """Predict ``X_test`` with ``model`` and measure fairness over ``sensitive`` using the
    ``fairness:`` section ``config``; a disabled report when there is no sensitive column.
    ``train_sensitive``: the training rows' values of the column; a group of them no test row
    belongs to is recorded in ``groups_not_evaluated`` and fails a configured gate."""
    if sensitive is None:
        return disabled(
            task,
            "no sensitive column configured (data.sensitive, or "
            "data.synthetic.sensitive_group for synthetic data)",
        )
    groups = np.asarray([str(_plain(v)) for v in sensitive], dtype=object)
    not_evaluated = groups_not_evaluated(train_sensitive, groups)
    y_pred = np.asarray(model.predict(X_test))
    thresholds = config.thresholds(task)
    if task == "classification":
        return classification_fairness(
            y_test,
            y_pred,
            groups,
            classes=[_plain(c) for c in model.classes_],
            positive_label=config.positive_label,
            thresholds=thresholds,
            min_group_size=config.min_group_size,
            sensitive_name=sensitive_name,
            not_evaluated=not_evaluated,
        )
    return regression_fairness(
        y_test, y_pred, groups, thresholds=thresholds, sensitive_name=sensitive_name,
        not_evaluated=not_evaluated,
    )


def group_names(groups: list[str]) -> list[str]:
    """Groups as the figure names them: a number to 4 significant digits (diabetes' ``sex`` is
    -0.044641636506989144 and 0.05068011873981862, whose full text ran into each other)
    unless two groups would then read alike; other names as they are."""
    def short(group: str) -> str:
        try:
            return f"{float(group):.4g}"
        except ValueError:
            return group

    names = [short(g) for g in groups]
    return names if len(set(names)) == len(names) else list(groups)


def _ticks_collide(fig: Any, axes: Any) -> bool:
    """Whether two x tick labels of one panel overlap once drawn."""
    fig.canvas.draw()
    for ax in axes:
        boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
        if any(a.x1 > b.x0 for a, b in zip(boxes, boxes[1:], strict=False)):
            return True
    return False


def fairness_figure(report: FairnessReport, path: str | Path) -> Path:
    """Bar charts of every by-group metric (one panel each, dashed line = overall), the group
    sizes in the tick labels and the disparity differences in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    output_dir(path.parent)
    if not report.enabled:
        fig, ax = plt.subplots(figsize=(6, 2), dpi=100)
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            f"fairness not measured:\n{report.reason}",
            ha="center",
            va="center",
            wrap=True,
            fontsize=9,
        )
        try:
            save_figure(fig, path)
        finally:
            plt.close(fig)
        return path
    metrics = list(report.by_group)
    groups = list(report.group_sizes)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.8), dpi=100)
    axes = np.atleast_1d(axes)
    try:
        labels = [f"{name}\n(n={report.group_sizes[g]})"
                  for g, name in zip(groups, group_names(groups), strict=True)]
        for ax, metric in zip(axes, metrics, strict=True):
            values = [report.by_group[metric].get(g, float("nan")) for g in groups]
            ax.bar(range(len(groups)), values, color=[f"C{i % 10}" for i in range(len(groups))])
            overall = report.overall.get(metric)
            rate = metric in CLASSIFICATION_METRICS
            if overall is not None and math.isfinite(overall):
                ax.axhline(overall, linestyle="--", color="black", linewidth=1, label="overall")
                if not rate:  # the rates' key is in the title: their axis stays 0 to 1
                    low, high = ax.get_ylim()  # headroom above the bars for the legend
                    ax.set_ylim(low, high + 0.25 * (high - low))
                    ax.legend(fontsize=7, loc="upper right")
            if rate:  # one 0-1 scale for every rate: equal gaps look equal across panels
                ax.set_ylim(0.0, 1.0)
            ax.set_xticks(range(len(groups)), labels, fontsize=8)
            title = metric.replace("_", " ")
            if report.positive_name and metric != "accuracy":  # the rates count one class
                title += f"\n({report.positive_name})"
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(str(report.sensitive), fontsize=8)
            ax.grid(axis="y", alpha=0.3)
        shown = ", ".join(
            (f"{k.replace('_', ' ')} {v:.3f}" if abs(v) < 1 else f"{k.replace('_', ' ')} {v:.4g}")
            + (f" (class {report.worst_class[k]})"
               if report.worst_class.get(k, report.positive_label) != report.positive_label
               else "")
            for k, v in report.differences.items()
            if v is not None and math.isfinite(v)
        )
        if any(m in CLASSIFICATION_METRICS for m in metrics):
            shown += "\n(dashed line: overall)"
        if report.groups_not_evaluated:
            shown += "\nnot evaluated, no test rows: " + ", ".join(
                f"{g} ({n} training row{'s' if n != 1 else ''})"
                for g, n in report.groups_not_evaluated.items()
            )
        verdict = (
            ""
            if not report.thresholds
            else ("  [gate passed]" if report.passed else "  [gate FAILED]")
        )
        positive = f", {report.positive_name}" if report.positive_name else ""
        if report.one_vs_rest:
            positive += (f" (worst equalized odds of {len(report.per_class)} classes "
                         "one-vs-rest)")
        gap = ":\n" if report.one_vs_rest else ": "  # a long title's differences on their line
        fig.suptitle(f"by group of {report.sensitive!r}{positive}{gap}{shown}{verdict}",
                     fontsize=9)
        fig.tight_layout()
        if _ticks_collide(fig, axes):  # many or long group names: one line each, upright
            fig.set_figheight(fig.get_figheight() + 1.2)  # the bars keep their height
            for ax in axes:
                ax.set_xticks(range(len(groups)), [t.replace("\n", " ") for t in labels],
                              fontsize=8, rotation=90)
            fig.tight_layout()
        save_figure(fig, path)
    finally:
        plt.close(fig)
    return path

"""Figures of a fitted model on held-out rows: regression residuals and predicted against
actual, or classification ROC, precision-recall (one-vs-rest per class when there are more
than two), calibration and confusion matrix.

The predicted-against-actual and calibration plots are scikit-learn's own displays
(``PredictionErrorDisplay``, ``CalibrationDisplay``) drawn on our axes."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    auc,
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_curve,
)

from gdlab.atomic import discarded
from gdlab.experiment.metrics import binary_positive
from gdlab.reporting.canvas import Figure, canvas, line_data

CURVE_CLASSES = 10
"""A multi-class model's ROC and precision-recall figures draw the one-vs-rest curve of every
class up to this many (matplotlib's ten distinct colours); of more, :func:`curve_classes`."""
CALIBRATION_CLASSES = 4
"""A multi-class model's calibration plot draws one-vs-rest curves of at most this many
classes (reliability curves cross and zigzag: ten on one plot could not be told apart), chosen
by :func:`curve_classes`: the rarest test class and those with the most test rows."""
TITLE_WIDTH = 64
"""Characters per line of a figure title that fits the 6-inch figures at font size 10."""
ROWS_PER_BIN = 20
"""Test rows per calibration bin (quantile bins: equally many rows each), at most 10 bins and
at least 2: uniform bins on a small test split left bins of a handful of rows whose fraction
of positives swung from 0 to 1."""


def _target_name(target: str | None) -> str:
    return f" of {target!r}" if target else ""


def prediction_error_figure(
    y_true: Any, y_pred: Any, path: str | Path, *, target: str | None = None
) -> Figure:
    """Predicted against actual value (scikit-learn's ``PredictionErrorDisplay``, every test
    row, the diagonal = a perfect prediction), both axes in the target's units."""
    from matplotlib.ticker import AutoLocator
    from sklearn.metrics import PredictionErrorDisplay, r2_score

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    with canvas(path, size=(5.6, 5.2)) as (fig, axes):
        ax = axes[0, 0]
        display = PredictionErrorDisplay.from_predictions(
            y_true, y_pred, kind="actual_vs_predicted", subsample=None, ax=ax,
            scatter_kwargs={"s": 9, "alpha": 0.5, "color": "C0",
                            "label": f"{len(y_true)} test rows"},
            line_kwargs={"color": "k", "linewidth": 1, "linestyle": "--",
                          "label": "perfect prediction"},
        )
        for axis in (ax.xaxis, ax.yaxis):  # the display ticks 5 raw values (20.6, 79.7, ...)
            axis.set_major_locator(AutoLocator())
        name = _target_name(target)
        ax.set_xlabel(f"predicted value ŷ{name} (target units)")
        ax.set_ylabel(f"actual value y{name} (target units)")
        ax.set_title(f"predicted against actual on {len(y_true)} test rows "
                     f"(R² {r2_score(y_true, y_pred):.3f})", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
    return Figure(Path(path), {
        "points": np.asarray(display.scatter_.get_offsets(), dtype=float),
        "diagonal": line_data(display.line_),
    })


def curve_classes(y_true: Any, classes: Any, positive: Any = None,
                  limit: int = CURVE_CLASSES) -> list[Any]:
    """The classes a one-vs-rest figure draws: of two, the positive one (``positive``, as the
    metrics; None: its default on ``y_true``); of more, every class when there are at most
    ``limit``, else the rarest class with a test row (the one whose curves an imbalanced data
    set most needs; ties: the first in class order) and the ``limit - 1`` others with the most
    test rows (the least noisy curves), in class order."""
    classes = list(classes)
    y_true = np.asarray(y_true)
    if len(classes) == 2:
        return [binary_positive(np.asarray(classes), y_true, positive)[0]]
    if len(classes) <= limit:
        return classes
    counts = [int(np.sum(y_true == c)) for c in classes]
    present = [k for k in range(len(classes)) if counts[k] > 0] or list(range(len(classes)))
    rarest = min(present, key=lambda k: counts[k])
    others = sorted((k for k in range(len(classes)) if k != rarest), key=lambda k: -counts[k])
    return [classes[k] for k in sorted([rarest, *others[: limit - 1]])]


def calibration_classes(y_true: Any, classes: Any, positive: Any = None) -> list[Any]:
    """The classes a calibration plot draws (:func:`curve_classes`, at most
    :data:`CALIBRATION_CLASSES`)."""
    return curve_classes(y_true, classes, positive, CALIBRATION_CLASSES)


def _which(y_true: Any, shown: list[Any], classes: list[Any]) -> str:
    """``(4 of 10 classes: the rarest, 'c9' (15 test rows), and the 3 with the most test
    rows)`` wrapped to fit a title, or "" when every class is drawn (or two, of the positive
    one)."""
    if len(classes) <= 2 or len(shown) == len(classes):
        return ""
    counts = {str(c): int(np.sum(np.asarray(y_true) == c)) for c in shown}
    rarest = min(shown, key=lambda c: counts[str(c)])
    rows = counts[str(rarest)]
    return textwrap.fill(
        f"({len(shown)} of {len(classes)} classes: the rarest, {str(rarest)!r} ({rows} test "
        f"row{'' if rows == 1 else 's'}), and the {len(shown) - 1} with the most test rows)",
        TITLE_WIDTH)


def calibration_bins(n_rows: int) -> int:
    """Quantile bins for ``n_rows`` test rows: :data:`ROWS_PER_BIN` rows each, 2 to 10."""
    return int(min(10, max(2, n_rows // ROWS_PER_BIN)))


def calibration_figure(
    y_true: Any, proba: np.ndarray, classes: Any, path: str | Path, positive: Any = None
) -> Figure:
    """Reliability diagram (scikit-learn's ``CalibrationDisplay``): the fraction of test rows
    of a class against the mean predicted probability of it, per quantile bin; one-vs-rest
    curves for :func:`calibration_classes` (two classes: of ``positive``)."""
    from sklearn.calibration import CalibrationDisplay

    y_true = np.asarray(y_true)
    classes = list(classes)
    shown = calibration_classes(y_true, classes, positive)
    n_bins = calibration_bins(len(y_true))
    data: dict[str, Any] = {"n_bins": n_bins}
    with canvas(path, size=(6, 5.2)) as (fig, axes):
        ax = axes[0, 0]
        for k, label in enumerate(shown):
            column = classes.index(label)
            name = f"class {label} {'as positive' if len(classes) == 2 else 'vs rest'}"
            display = CalibrationDisplay.from_predictions(
                y_true == label, proba[:, column], n_bins=n_bins, strategy="quantile",
                pos_label=True, name=name, ax=ax, ref_line=k == 0, color=f"C{k % 10}",
            )
            data[str(label)] = {
                "prob_true": display.prob_true,
                "prob_pred": display.prob_pred,
                "drawn": line_data(display.line_),
            }
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("mean predicted probability of the class (per bin)")
        ax.set_ylabel("fraction of test rows in the class (per bin)")
        which = _which(y_true, shown, classes)
        bins = f"{n_bins} quantile bins of ~{len(y_true) // n_bins} rows"
        ax.set_title(f"calibration on {len(y_true)} test rows ({bins})"
                     + (f"\n{which}" if which else ""), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
    return Figure(Path(path), data)


def residuals_figure(y_true: Any, y_pred: Any, path: str | Path) -> Figure:
    """Residuals (y − ŷ) against the prediction (left) and their histogram (right)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    residuals = y_true - y_pred
    rmse = float(np.sqrt(np.mean(residuals**2)))
    with canvas(path, ncols=2, size=(6, 4.3)) as (fig, axes):
        left, right = axes[0]
        points = left.scatter(
            y_pred, residuals, s=9, alpha=0.5, color="C0", label=f"{len(residuals)} test rows"
        )
        left.axhline(0.0, color="k", linewidth=1, linestyle="--", label="zero residual")
        left.set_xlabel("predicted value ŷ")
        left.set_ylabel("residual y − ŷ")
        left.set_title(f"residuals against prediction (RMSE {rmse:.4g})")
        left.grid(alpha=0.3)
        left.legend(fontsize=8)
        counts, edges, _ = right.hist(
            residuals, bins=min(40, max(5, len(residuals) // 10)), color="C0", alpha=0.8
        )
        right.axvline(0.0, color="k", linewidth=1, linestyle="--")
        right.set_xlabel("residual y − ŷ")
        right.set_ylabel("number of test rows")
        right.set_title(f"residual distribution (mean {residuals.mean():.3g})")
        right.grid(alpha=0.3)
        fig.tight_layout()
    return Figure(
        Path(path),
        {
            "points": np.asarray(points.get_offsets(), dtype=float),
            "counts": counts,
            "edges": edges,
            "rmse": rmse,
        },
    )


def _one_vs_rest(
    y_true: Any, proba: np.ndarray, classes: Any, positive: Any = None
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, is_positive, score)`` per curve: one for two classes (``positive`` as the
    positive class, the metrics' :func:`gdlab.data.positive.positive_class`; None: its
    default on ``y_true``), one per class of :func:`curve_classes` otherwise."""
    y_true = np.asarray(y_true)
    listed = list(classes)
    return [(str(c), y_true == c, proba[:, listed.index(c)])
            for c in curve_classes(y_true, listed, positive)]


def _curves_title(title: str, y_true: Any, classes: Any, curves: list) -> str:
    """``title``, with which classes are drawn when not all of them (:func:`_which`)."""
    listed = list(classes)
    shown = [c for c in listed if str(c) in {label for label, _, _ in curves}]
    which = _which(y_true, shown, listed)
    return title + (f"\n{which}" if which else "")


def roc_figure(
    y_true: Any, proba: np.ndarray, classes: Any, path: str | Path, positive: Any = None
) -> Figure:
    """ROC curve(s) with their AUC and the chance diagonal (two classes: of ``positive``)."""
    data: dict[str, Any] = {}
    with canvas(path, size=(6, 5.2)) as (fig, axes):
        ax = axes[0, 0]
        curves = _one_vs_rest(y_true, proba, classes, positive)
        for k, (label, positive, score) in enumerate(curves):
            fpr, tpr, _ = roc_curve(positive, score)
            area = auc(fpr, tpr)
            name = f"class {label} {'as positive' if len(curves) == 1 else 'vs rest'}"
            (line,) = ax.plot(
                fpr, tpr, color=f"C{k % 10}", linewidth=1.6, label=f"{name} (AUC {area:.3f})"
            )
            data[label] = {"fpr": fpr, "tpr": tpr, "auc": float(area), "drawn": line_data(line)}
        ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="chance")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(_curves_title("ROC curve on the test split", y_true, classes, curves),
                     fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
    return Figure(Path(path), data)


def precision_recall_figure(
    y_true: Any, proba: np.ndarray, classes: Any, path: str | Path, positive: Any = None
) -> Figure:
    """Precision-recall curve(s) with their average precision and the positive rate (two
    classes: of ``positive``, the class the metrics' f1 and average_precision score)."""
    data: dict[str, Any] = {}
    curves = _one_vs_rest(y_true, proba, classes, positive)
    with canvas(path, size=(6, 5.2)) as (fig, axes):
        ax = axes[0, 0]
        for k, (label, positive, score) in enumerate(curves):
            precision, recall, _ = precision_recall_curve(positive, score)
            ap = average_precision_score(positive, score)
            colour = f"C{k % 10}"
            (line,) = ax.plot(
                recall,
                precision,
                color=colour,
                linewidth=1.6,
                label=f"class {label} as positive (AP {ap:.3f})",
            )
            ax.axhline(float(np.mean(positive)), color=colour, linestyle=":", linewidth=1)
            data[label] = {
                "precision": precision,
                "recall": recall,
                "ap": float(ap),
                "drawn": line_data(line),
            }
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(_curves_title("precision-recall on the test split (dotted: positive rate)",
                                   y_true, classes, curves), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
        fig.tight_layout()
    return Figure(Path(path), data)


def confusion_figure(y_true: Any, y_pred: Any, classes: Any, path: str | Path) -> Figure:
    """Confusion matrix: counts, rows = true class, columns = predicted class."""
    classes = list(classes)
    matrix = confusion_matrix(y_true, y_pred, labels=classes)
    size = max(4.5, 0.6 * len(classes) + 3)
    with canvas(path, size=(size + 1, size)) as (fig, axes):
        ax = axes[0, 0]
        image = ax.imshow(matrix, cmap="Blues", vmin=0)  # the palest cell is zero rows
        fig.colorbar(image, ax=ax, shrink=0.85).set_label("number of test rows")
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if count > threshold else "black",
            )
        ticks = range(len(classes))
        ax.set_xticks(ticks, [str(c) for c in classes])
        ax.set_yticks(ticks, [str(c) for c in classes])
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        accuracy = np.trace(matrix) / max(matrix.sum(), 1)
        ax.set_title(f"confusion matrix on the test split (accuracy {accuracy:.3f})")
        fig.tight_layout()
    return Figure(Path(path), {"matrix": np.asarray(image.get_array()), "classes": classes,
                               "colour_range": (image.norm.vmin, image.norm.vmax)})


def evaluation_figures(
    model: Any, X: Any, y: Any, task: str, directory: str | Path, positive: Any = None, *,
    target: str | None = None,
) -> dict[str, Figure]:
    """Every evaluation figure for ``task`` in ``directory``: ``residuals.png`` and
    ``predicted_actual.png`` (regression; ``target``: the target's name for their axes) or
    ``roc.png``, ``precision_recall.png``, ``calibration.png``, ``confusion_matrix.png``
    (classification; two classes: ``positive`` as the positive one)."""
    directory = Path(directory)
    other = (("roc", "precision_recall", "calibration", "confusion_matrix")
             if task == "regression" else ("residuals", "predicted_actual"))
    for name in other:  # a figure of the other task, from an earlier run
        discarded(directory / f"{name}.png")
    if task == "regression":
        predicted = model.predict(X)
        return {
            "residuals": residuals_figure(y, predicted, directory / "residuals.png"),
            "predicted_actual": prediction_error_figure(
                y, predicted, directory / "predicted_actual.png", target=target
            ),
        }
    classes = model.classes_
    proba = model.predict_proba(X)
    return {
        "roc": roc_figure(y, proba, classes, directory / "roc.png", positive),
        "precision_recall": precision_recall_figure(
            y, proba, classes, directory / "precision_recall.png", positive
        ),
        "calibration": calibration_figure(
            y, proba, classes, directory / "calibration.png", positive
        ),
        "confusion_matrix": confusion_figure(
            y, model.predict(X), classes, directory / "confusion_matrix.png"
        ),
    }

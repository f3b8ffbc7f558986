"""Figures of a fitted model on held-out rows: regression residuals, or classification ROC,
precision-recall (one-vs-rest per class when there are more than two) and confusion matrix."""

from __future__ import annotations

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
from gdlab.reporting.canvas import Figure, canvas, line_data


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
    y_true: Any, proba: np.ndarray, classes: Any
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, is_positive, score)`` per curve: one for two classes (the second class is
    positive, as scikit-learn's), one per class otherwise."""
    y_true = np.asarray(y_true)
    classes = list(classes)
    if len(classes) == 2:
        return [(str(classes[1]), y_true == classes[1], proba[:, 1])]
    return [(str(c), y_true == c, proba[:, k]) for k, c in enumerate(classes)]


def roc_figure(y_true: Any, proba: np.ndarray, classes: Any, path: str | Path) -> Figure:
    """ROC curve(s) with their AUC and the chance diagonal."""
    data: dict[str, Any] = {}
    with canvas(path, size=(6, 5.2)) as (fig, axes):
        ax = axes[0, 0]
        curves = _one_vs_rest(y_true, proba, classes)
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
        ax.set_title("ROC curve on the test split")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
    return Figure(Path(path), data)


def precision_recall_figure(
    y_true: Any, proba: np.ndarray, classes: Any, path: str | Path
) -> Figure:
    """Precision-recall curve(s) with their average precision and the positive rate."""
    data: dict[str, Any] = {}
    with canvas(path, size=(6, 5.2)) as (fig, axes):
        ax = axes[0, 0]
        for k, (label, positive, score) in enumerate(_one_vs_rest(y_true, proba, classes)):
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
        ax.set_title("precision-recall on the test split (dotted: positive rate)")
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
    model: Any, X: Any, y: Any, task: str, directory: str | Path
) -> dict[str, Figure]:
    """Every evaluation figure for ``task`` in ``directory``: ``residuals.png`` (regression) or
    ``roc.png``, ``precision_recall.png``, ``confusion_matrix.png`` (classification)."""
    directory = Path(directory)
    other = ("roc", "precision_recall", "confusion_matrix") if task == "regression" else (
        "residuals",)
    for name in other:  # a figure of the other task, from an earlier run
        discarded(directory / f"{name}.png")
    if task == "regression":
        return {"residuals": residuals_figure(y, model.predict(X), directory / "residuals.png")}
    classes = model.classes_
    proba = model.predict_proba(X)
    return {
        "roc": roc_figure(y, proba, classes, directory / "roc.png"),
        "precision_recall": precision_recall_figure(
            y, proba, classes, directory / "precision_recall.png"
        ),
        "confusion_matrix": confusion_figure(
            y, model.predict(X), classes, directory / "confusion_matrix.png"
        ),
    }

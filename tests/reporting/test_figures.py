"""The data behind the training and evaluation figures: bands, learning rate, gradient norm,
residuals, ROC, precision-recall and confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

from gdlab.experiment import CVResult, FoldResult
from gdlab.reporting.curves import loss_band_figure, lr_grad_figure
from gdlab.reporting.evaluation import evaluation_figures


def _fold(k: int, n: int, scale: float) -> FoldResult:
    epochs = np.arange(n)
    return FoldResult(
        fold=k, n_train=90, n_val=10, n_iter=n,
        curves={
            "train_loss": list(scale / (epochs + 1)),
            "val_loss": list(1.2 * scale / (epochs + 1)),
            "learning_rate": list(0.1 * 0.5 ** (epochs // 2)),
            "grad_norm": list(scale * 0.9**epochs),
        },
        scores={"rmse": 1.0}, fit_time=0.1,
    )


@pytest.fixture
def cv():
    return CVResult(task="regression", folds=[_fold(1, 6, 1.0), _fold(2, 4, 2.0)])


def test_loss_band_is_the_fold_mean_with_stopped_folds_held(cv, tmp_path):
    figure = loss_band_figure(cv, tmp_path / "band.png")
    assert figure.path.stat().st_size > 10_000
    fold1 = 1.0 / (np.arange(6) + 1)
    fold2 = 2.0 / (np.minimum(np.arange(6), 3) + 1)  # stopped after 4 epochs: held at 2/4
    expected = (fold1 + fold2) / 2
    for scale in ("linear", "log"):
        drawn = figure.data[f"{scale}_train"]
        np.testing.assert_allclose(drawn[:, 0], np.arange(6))
        np.testing.assert_allclose(drawn[:, 1], expected)
        np.testing.assert_allclose(figure.data[f"{scale}_val"][:, 1], 1.2 * expected)
    np.testing.assert_allclose(figure.data["train"]["std"], np.abs(fold1 - fold2) / 2)


def test_learning_rate_and_gradient_norm_per_epoch(cv, tmp_path):
    figure = lr_grad_figure(cv, tmp_path / "lr.png")
    lr = figure.data["learning_rate"]
    np.testing.assert_allclose(lr[:, 1], 0.1 * 0.5 ** (np.arange(6) // 2))
    grad = figure.data["grad_norm"]  # over the folds still training: fold 2 stops after 4
    expected = 0.9 ** np.arange(6)
    expected[:4] = (expected[:4] + 2.0 * 0.9 ** np.arange(4)) / 2
    np.testing.assert_allclose(grad[:, 1], expected)
    np.testing.assert_array_equal(figure.data["grad"]["count"], [2, 2, 2, 2, 1, 1])


def test_regression_residuals(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.normal(scale=0.3, size=120)
    model = LinearRegression().fit(X, y)
    figures = evaluation_figures(model, X, y, "regression", tmp_path)
    assert set(figures) == {"residuals"}
    data = figures["residuals"].data
    predicted = model.predict(X)
    np.testing.assert_allclose(data["points"][:, 0], predicted)
    np.testing.assert_allclose(data["points"][:, 1], y - predicted)
    assert data["counts"].sum() == 120
    assert data["rmse"] == pytest.approx(np.sqrt(np.mean((y - predicted) ** 2)))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classification_roc_pr_and_confusion(n_classes, tmp_path):
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(300, 4))
    logits = X @ rng.normal(size=(4, n_classes)) + rng.normal(scale=1.0, size=(300, n_classes))
    labels = np.array(["ant", "bee", "cat"][:n_classes])
    y = labels[logits.argmax(axis=1)]
    model = LogisticRegression().fit(X, y)
    figures = evaluation_figures(model, X, y, "classification", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "confusion_matrix.png", "precision_recall.png", "roc.png"
    ]
    proba = model.predict_proba(X)
    roc, pr = figures["roc"].data, figures["precision_recall"].data
    positives = labels[1:] if n_classes == 2 else labels
    assert set(roc) == set(pr) == set(positives)
    for label in positives:
        k = list(labels).index(label)
        assert roc[label]["auc"] == pytest.approx(roc_auc_score(y == label, proba[:, k]))
        assert pr[label]["ap"] == pytest.approx(average_precision_score(y == label, proba[:, k]))
        np.testing.assert_allclose(roc[label]["drawn"], np.column_stack(
            [roc[label]["fpr"], roc[label]["tpr"]]))
        assert roc[label]["drawn"][0].tolist() == [0.0, 0.0]
        assert roc[label]["drawn"][-1].tolist() == [1.0, 1.0]
    matrix = figures["confusion_matrix"].data["matrix"]
    np.testing.assert_array_equal(matrix, confusion_matrix(y, model.predict(X), labels=labels))
    assert matrix.sum() == 300

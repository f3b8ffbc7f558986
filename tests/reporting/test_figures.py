"""The data behind the training and evaluation figures: bands, learning rate, gradient norm,
residuals, predicted against actual, ROC, precision-recall, calibration and confusion matrix."""

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
        np.testing.assert_allclose(drawn[:, 0], np.arange(1, 7))  # epochs from 1
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
    assert set(figures) == {"residuals", "predicted_actual"}
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
        "calibration.png", "confusion_matrix.png", "precision_recall.png", "roc.png"
    ]
    proba = model.predict_proba(X)
    roc, pr = figures["roc"].data, figures["precision_recall"].data
    # two classes: the positive one is the rarer (the metrics' default, no label 1 here)
    counts = [int(np.sum(y == c)) for c in labels]
    positives = [labels[int(np.argmin(counts))]] if n_classes == 2 else labels
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
    # the colour scale starts at zero rows, not at the smallest count (which would look empty)
    assert figures["confusion_matrix"].data["colour_range"] == (0, matrix.max())


def _log_labels(ax) -> list[str]:
    """The y tick labels a log axis shows once drawn (major and minor, in view, non-empty)."""
    assert ax.get_yscale() == "log"
    ax.figure.canvas.draw()
    low, high = sorted(ax.get_ylim())
    ticks = [*zip(ax.yaxis.get_majorticklocs(), ax.yaxis.get_majorticklabels(), strict=True),
             *zip(ax.yaxis.get_minorticklocs(), ax.yaxis.get_minorticklabels(), strict=True)]
    return [t.get_text() for y, t in ticks if low <= y <= high and t.get_text()]


def _narrow_cv() -> CVResult:
    """Losses between 0.3 and 0.7 (under a decade), gradient norms between 0.15 and 0.45."""
    epochs = np.arange(30)
    decay = np.exp(-epochs / 5)
    fold = FoldResult(
        fold=1, n_train=90, n_val=10, n_iter=30,
        curves={"train_loss": list(0.3 + 0.4 * decay), "val_loss": list(0.32 + 0.35 * decay),
                "learning_rate": [0.01] * 30, "grad_norm": list(0.15 + 0.3 * decay)},
        scores={"log_loss": 0.3}, fit_time=0.1,
    )
    return CVResult(task="classification", folds=[fold])


def test_log_axes_within_a_decade_read_as_plain_numbers(kept, tmp_path):
    from gdlab.reporting import loss_curves_figure

    cv = _narrow_cv()
    loss_band_figure(cv, tmp_path / "band.png")
    lr_grad_figure(cv, tmp_path / "lr.png")
    loss_curves_figure(cv, tmp_path / "curves.png")
    band, grad, curves = kept
    axes = {"band": band.axes[1], "grad": grad.axes[1], "curves": curves.axes[0]}
    for name, ax in axes.items():
        labels = _log_labels(ax)
        assert not any("times" in label or "^" in label for label in labels), (name, labels)
        assert "0.4" in labels and "0.3" in labels, (name, labels)


def test_a_log_axis_over_less_than_a_factor_of_two_still_has_several_labels(kept, tmp_path):
    """A loss from 0.38 to 0.55 (the sgd run's loss band) showed two labels, 0.4 and 0.5."""
    epochs = np.arange(30)
    loss = list(0.38 + 0.17 * np.exp(-epochs / 5))
    fold = FoldResult(fold=1, n_train=90, n_val=10, n_iter=30,
                      curves={"train_loss": loss, "val_loss": loss},
                      scores={"log_loss": 0.38}, fit_time=0.1)
    loss_band_figure(CVResult(task="classification", folds=[fold]), tmp_path / "band.png")
    labels = _log_labels(kept[0].axes[1])
    assert {"0.4", "0.45", "0.5"} <= set(labels), labels
    assert all(float(label) == pytest.approx(round(float(label) * 20) / 20) for label in labels)


def test_log_axes_over_many_decades_keep_powers_of_ten(kept, tmp_path):
    epochs = np.arange(40)
    fold = FoldResult(
        fold=1, n_train=90, n_val=10, n_iter=40,
        curves={"train_loss": list(10.0 ** -(epochs / 4)), "val_loss": list(10.0 ** -(epochs / 4)),
                "learning_rate": [0.1] * 40, "grad_norm": list(10.0 ** -(epochs / 4))},
        scores={"rmse": 1e-5}, fit_time=0.1,
    )
    loss_band_figure(CVResult(task="regression", folds=[fold]), tmp_path / "band.png")
    labels = _log_labels(kept[0].axes[1])
    assert "$\\mathdefault{10^{-4}}$" in labels and "0.0001" not in labels


def test_comparison_and_lr_range_log_axes_read_as_plain_numbers(kept, tmp_path):
    from gdlab.core.diagnostics import LRRangeResult
    from gdlab.experiment.compare import Comparison, Variant, VariantFold
    from gdlab.reporting.compare import overlay_figure
    from gdlab.tuning.figures import lr_find_figure

    epochs = np.arange(20)
    variants = []
    for k, rate in enumerate((3.0, 8.0)):
        loss = list(0.3 + 0.4 * np.exp(-epochs / rate))
        fold = VariantFold(1, {"train_loss": loss, "val_loss": loss,
                               "time_s": list(0.01 * (epochs + 1))}, False, 0.2)
        variants.append(Variant(f"v{k}", k, None, [fold]))
    overlay_figure(Comparison("optimizer.name", variants, target_loss=0.32), tmp_path / "o.png")
    rates = np.logspace(-7, 1, 60)
    losses = 0.69 - 0.3 * (rates > 0.01)
    lr_find_figure(LRRangeResult(rates, losses, losses, 0.05, False, 0.1), tmp_path / "lr.png")
    overlay, lr_find = kept
    for ax in [*overlay.axes, *lr_find.axes]:
        labels = _log_labels(ax)
        assert not any("times" in label for label in labels), labels
        assert "0.4" in labels, labels


def test_a_log_axis_under_a_decade_has_several_labels(kept, tmp_path):
    from gdlab.core.diagnostics import LRRangeResult
    from gdlab.tuning.figures import lr_find_figure

    rates = np.logspace(-7, 1, 60)
    losses = np.linspace(19000.0, 7500.0, 60)  # a squared error in the thousands (diabetes)
    lr_find_figure(LRRangeResult(rates, losses, losses, 1.0, False, 10.0), tmp_path / "lr.png")
    labels = _log_labels(kept[0].axes[0])
    assert {"8000", "9000", "10000"} <= set(labels), labels


def _inside_figure(fig, artist) -> bool:
    """Whether ``artist``'s drawn extent lies within ``fig`` (not clipped by its edges)."""
    fig.canvas.draw()
    box, frame = artist.get_window_extent(), fig.bbox
    return (box.x0 >= frame.x0 - 1 and box.x1 <= frame.x1 + 1
            and box.y0 >= frame.y0 - 1 and box.y1 <= frame.y1 + 1)


def test_overlay_axis_labels_on_a_standardised_target_fit_in_the_figure(kept, tmp_path):
    from gdlab.experiment.compare import Comparison, Variant, VariantFold
    from gdlab.reporting.compare import overlay_figure

    epochs = np.arange(20)
    loss = list(0.25 + 0.25 * np.exp(-epochs / 3))  # positive: every loss axis is log
    fold = VariantFold(1, {"train_loss": loss, "val_loss": loss,
                           "time_s": list(0.01 * (epochs + 1))}, False, 0.2)
    variants = [Variant("adam", "adam", None, [fold], target_scaled=True)]
    overlay_figure(Comparison("optimizer.name", variants), tmp_path / "o.png")
    (fig,) = kept
    for ax in fig.axes:
        label = ax.yaxis.label
        assert "standardised target" in label.get_text()
        assert "log scale" in label.get_text()
        assert _inside_figure(fig, label), label.get_text()


def test_fold_curves_log_axis_says_so_and_has_its_grid(kept, tmp_path):
    """cv_loss_curves.png's log loss axis was labelled plain "loss", and its labelled minor
    ticks (0.3 ... 0.6 within a decade) had no grid lines across."""
    from gdlab.reporting import loss_curves_figure

    cv = _narrow_cv()
    cv.target_scaled = True
    loss_curves_figure(cv, tmp_path / "curves.png")
    ax = kept[0].axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "loss (log scale, standardised target)"
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    minor = [t for t in ax.yaxis.get_minor_ticks() if low <= t.get_loc() <= high]
    assert minor and all(t.gridline.get_visible() for t in minor)


def test_epoch_axes_of_a_short_run_have_whole_epochs(kept, cv, tmp_path):
    """Six epochs were ticked 0, 0.5, 1.0 ... (and the overlay of one fold said '1 folds')."""
    from gdlab.experiment.compare import Comparison, Variant, VariantFold
    from gdlab.reporting import loss_curves_figure
    from gdlab.reporting.compare import overlay_figure

    loss_band_figure(cv, tmp_path / "band.png")
    lr_grad_figure(cv, tmp_path / "lr.png")
    loss_curves_figure(cv, tmp_path / "curves.png")
    epochs = np.arange(6)
    loss = list(0.3 + 0.4 * np.exp(-epochs / 3))
    fold = VariantFold(1, {"train_loss": loss, "val_loss": loss,
                           "time_s": list(0.01 * (epochs + 1))}, False, 0.2)
    overlay_figure(Comparison("optimizer.name", [Variant("adam", "adam", None, [fold])]),
                   tmp_path / "o.png")
    *figures, overlay = kept
    axes = [ax for fig in figures for ax in fig.axes if ax.get_xlabel() == "epoch"]
    axes += [ax for ax in overlay.axes if ax.get_xlabel() == "epoch"]
    assert len(axes) == 2 + 2 + 1 + 2
    for ax in axes:
        ax.figure.canvas.draw()
        ticks = ax.get_xticks()
        assert np.array_equal(ticks, np.round(ticks)), ticks
    heading = overlay.get_suptitle().splitlines()
    assert heading[:2] == ["comparison of optimizer.name on the same 1 fold",
                           "no winner (fewer than two variants to compare)"]


def _band_edges(collection) -> dict[float, tuple[float, float]]:
    """{x: (lowest y, highest y)} of a drawn fill_between polygon."""
    vertices = np.concatenate([p.vertices for p in collection.get_paths()])
    return {float(x): (vertices[vertices[:, 0] == x, 1].min(),
                       vertices[vertices[:, 0] == x, 1].max()) for x in np.unique(vertices[:, 0])}


def test_drawn_bands_span_mean_minus_to_mean_plus_std(cv, tmp_path, kept):
    """The shaded bands as drawn (the polygons on the axes, not the arrays handed to them):
    the training and validation loss bands and the gradient-norm band reach from mean − std
    to mean + std over the folds at every epoch."""
    loss_band_figure(cv, tmp_path / "band.png")
    lr_grad_figure(cv, tmp_path / "lr.png")
    band, grad = kept
    fold1 = 1.0 / (np.arange(6) + 1)
    fold2 = 2.0 / (np.minimum(np.arange(6), 3) + 1)  # held at its last value after 4 epochs
    mean, std = (fold1 + fold2) / 2, np.abs(fold1 - fold2) / 2
    for ax in band.axes:
        train, val = ax.collections
        for fill, scale in ((train, 1.0), (val, 1.2)):
            edges = _band_edges(fill)
            assert sorted(edges) == list(range(1, 7))  # epochs count from 1
            for epoch, (low, high) in edges.items():
                e = int(epoch) - 1
                assert low == pytest.approx(scale * (mean[e] - std[e]))
                assert high == pytest.approx(scale * (mean[e] + std[e]))
    # gradient norm: over the folds still training (fold 2 stops after 4 epochs)
    g1, g2 = 0.9 ** np.arange(6), 2.0 * 0.9 ** np.arange(4)
    (fill,) = grad.axes[1].collections
    for epoch, (low, high) in _band_edges(fill).items():
        e = int(epoch) - 1
        values = [g1[e], g2[e]] if e < 4 else [g1[e]]
        assert (low, high) == pytest.approx((np.mean(values) - np.std(values),
                                             np.mean(values) + np.std(values)))


def test_predicted_against_actual_draws_every_test_row_in_target_units(kept, tmp_path):
    """Regression had residuals only: no predicted-against-actual plot. It is scikit-learn's
    PredictionErrorDisplay, every row drawn (its default subsample is 1000 rows)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 3))
    y = 150.0 + X @ [30.0, 20.0, -10.0] + rng.normal(scale=20.0, size=1500)
    model = LinearRegression().fit(X, y)
    figure = evaluation_figures(model, X, y, "regression", tmp_path,
                                target="progression")["predicted_actual"]
    assert figure.path == tmp_path / "predicted_actual.png" and figure.path.is_file()
    predicted = model.predict(X)
    np.testing.assert_allclose(figure.data["points"], np.column_stack([predicted, y]))
    ax = kept[-1].axes[0]
    assert "'progression'" in ax.get_xlabel() and "target units" in ax.get_xlabel()
    assert "'progression'" in ax.get_ylabel() and ax.get_xlabel().startswith("predicted")
    assert "1500 test rows" in ax.get_title()
    low, high = figure.data["diagonal"][[0, -1], 0]
    assert low <= min(y.min(), predicted.min()) and high >= max(y.max(), predicted.max())


@pytest.mark.parametrize("n_classes", [2, 10])
def test_calibration_plot_is_sklearns_calibration_curve(n_classes, kept, tmp_path):
    """log_loss ranks and registers the models but no figure showed whether the predicted
    probabilities are calibrated. Binary: the second class as positive (as the ROC);
    multi-class: one-vs-rest for the rarest class and the three with the most test rows (it
    drew the four most frequent, leaving out the rarest, whose calibration matters most)."""
    from sklearn.calibration import calibration_curve

    from gdlab.reporting.evaluation import calibration_bins

    rng = np.random.default_rng(n_classes)
    # classes 1, 3, 5 the most frequent (of ten), 9 the rarest
    counts = [250, 250] if n_classes == 2 else [30, 70, 30, 65, 30, 60, 30, 55, 30, 15]
    y = rng.permutation(np.repeat(np.arange(n_classes), counts))
    X = rng.normal(size=(len(y), 6)) + rng.normal(size=(n_classes, 6))[y]
    labels = np.array([f"c{k}" for k in range(n_classes)])
    y = labels[y]
    model = LogisticRegression(max_iter=500).fit(X, y)
    figure = evaluation_figures(model, X, y, "classification", tmp_path)["calibration"]
    proba = model.predict_proba(X)
    shown = ["c1"] if n_classes == 2 else ["c1", "c3", "c5", "c9"]
    assert sorted(k for k in figure.data if k != "n_bins") == shown
    n_bins = figure.data["n_bins"]
    assert n_bins == calibration_bins(len(y)) == 10
    for label in shown:
        k = list(labels).index(label)
        prob_true, prob_pred = calibration_curve(y == label, proba[:, k], n_bins=n_bins,
                                                 strategy="quantile")
        np.testing.assert_allclose(figure.data[label]["prob_true"], prob_true)
        np.testing.assert_allclose(figure.data[label]["drawn"],
                                   np.column_stack([prob_pred, prob_true]))
    ax = kept[-2].axes[0]  # the confusion matrix is drawn after it
    assert f"{len(y)} test rows" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    if n_classes == 2:
        assert "class c1 as positive" in legend
    else:
        assert {f"class {c} vs rest" for c in shown} <= set(legend)
        assert ("4 of 10 classes: the rarest, 'c9' (15 test rows), and the 3 with the most "
                "test rows") in " ".join(ax.get_title().split())


@pytest.mark.parametrize("n_classes", [5, 12])
def test_roc_and_pr_draw_every_class_up_to_ten_and_say_which_beyond(n_classes, kept, tmp_path):
    """The README promised the curves of the four classes with the most test rows while roc.png
    and precision_recall.png drew every class: they draw every class up to ten (distinct
    colours); beyond, the rarest and the nine with the most test rows, as the title says.
    Calibration keeps four, the rarest among them."""
    rng = np.random.default_rng(n_classes)
    counts = [40 + 10 * k for k in range(n_classes)]
    counts[2] = 12  # the rarest, not first nor last in class order
    y = rng.permutation(np.repeat(np.arange(n_classes), counts))
    X = rng.normal(size=(len(y), 6)) + 2 * rng.normal(size=(n_classes, 6))[y]
    labels = np.array([f"k{k:02d}" for k in range(n_classes)])
    y = labels[y]
    model = LogisticRegression(max_iter=500).fit(X, y)
    figures = evaluation_figures(model, X, y, "classification", tmp_path)
    proba = model.predict_proba(X)
    by_rows = sorted(range(n_classes), key=lambda k: -counts[k])
    drawn = (list(labels) if n_classes <= 10
             else sorted(labels[[2, *[k for k in by_rows if k != 2][:9]]]))
    assert sorted(figures["roc"].data) == sorted(figures["precision_recall"].data) == drawn
    for label in drawn:
        k = list(labels).index(label)
        assert figures["roc"].data[label]["auc"] == pytest.approx(
            roc_auc_score(y == label, proba[:, k]))
    calibrated = sorted(labels[[2, *by_rows[:3]]])
    assert sorted(k for k in figures["calibration"].data if k != "n_bins") == calibrated
    titles = {" ".join(fig.axes[0].get_title().split()) for fig in kept}  # wrapped lines
    rarest = "the rarest, 'k02' (12 test rows)"
    assert any(f"4 of {n_classes} classes: {rarest}, and the 3 with" in t for t in titles)
    limited = [t for t in titles if f"10 of {n_classes} classes: {rarest}, and the 9" in t]
    assert len(limited) == (2 if n_classes > 10 else 0)  # ROC and precision-recall
    for fig in kept:  # the title saying which classes fits in the figure
        fig.canvas.draw()
        box = fig.axes[0].title.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height


def test_calibration_bins_keep_about_twenty_rows_each():
    from gdlab.reporting.evaluation import calibration_bins

    assert [calibration_bins(n) for n in (10, 45, 89, 200, 5000)] == [2, 2, 4, 10, 10]


def test_two_string_classes_draw_the_rare_class_as_positive(tmp_path):
    """'fraud' < 'legit': the ROC and precision-recall figures drew 'legit', the majority
    class (classes_[1]), as positive. They draw the metrics' positive class: the rarer one by
    default, or the one passed."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = np.where(X[:, 0] + rng.normal(scale=0.5, size=600) > 1.6, "fraud", "legit")
    assert 0 < np.mean(y == "fraud") < 0.2
    model = LogisticRegression().fit(X, y)
    proba = model.predict_proba(X)
    figures = evaluation_figures(model, X, y, "classification", tmp_path)
    pr, roc = figures["precision_recall"].data, figures["roc"].data
    assert set(pr) == set(roc) == {"fraud"}
    assert {k for k in figures["calibration"].data if k != "n_bins"} == {"fraud"}
    assert pr["fraud"]["ap"] == pytest.approx(average_precision_score(y == "fraud", proba[:, 0]))
    assert roc["fraud"]["auc"] == pytest.approx(roc_auc_score(y == "fraud", proba[:, 0]))
    chosen = evaluation_figures(model, X, y, "classification", tmp_path, positive="legit")
    assert set(chosen["precision_recall"].data) == {"legit"}
    assert {k for k in chosen["calibration"].data if k != "n_bins"} == {"legit"}
    assert chosen["precision_recall"].data["legit"]["ap"] == pytest.approx(
        average_precision_score(y == "legit", proba[:, 1]))

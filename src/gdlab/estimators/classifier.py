"""GDClassifier: logistic / softmax regression or an MLP classifier by gradient descent."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from gdlab.core.models.losses import sigmoid, softmax
from gdlab.estimators._docs import FIT, PARAMETERS
from gdlab.estimators.base import BaseGD

INTERCEPT_INIT = """intercept_init : {"prior", "zero"}, default="prior"
        Where the output bias starts (``intercept_``; an MLP's last-layer bias).
        ``"prior"``: at the log class prior of the training rows, weighted by
        ``sample_weight`` and ``class_weight``: log(p / (1 − p)) for two classes (p the
        share of ``classes_[1]``), log p_k for more. These are the logits of the best
        constant model (``DummyClassifier(strategy="prior")``), so the first epoch starts
        from the class entropy, not log 2, and the steps go to the weights. Measured on 2%
        positives (5000 rows, 20 standardised features, 70/30 split): the default fit ends
        at test log loss 0.049 in 136 epochs, from ``"zero"`` at 0.079 in 634
        (LogisticRegression: 0.040); balanced classes start at 0 either way. A class
        without weight starts at a share of 0.5 / n (n the rows with weight), not at
        log 0. ``partial_fit``'s first call takes the prior of its own rows (a class of
        ``classes`` missing from them: 0.5 / n); its later calls and a ``warm_start`` fit
        continue the intercept they have. ``"zero"``: every row starts at p = 1/2 (1/K),
        where scikit-learn's SGDClassifier and LogisticRegression start (they have no such
        parameter). A plug-in ``model`` keeps its own ``init_params``."""


class GDClassifier(ClassifierMixin, BaseGD):
    __doc__ = (
        """Logistic (two classes, one logit), softmax (multinomial) or MLP classification.

    The objective is the (sample-weighted) mean log-loss plus the elastic-net penalty.
    Sample weights count in every batch mode: a mini-batch B steps on
    Σ_B wᵢ ∇ℓᵢ / (|B|·w̄), w̄ the mean weight of the training rows, an unbiased estimate
    of the objective's gradient (with ``optimizer="sgd"`` and ``batch_size=1`` a row of
    weight 3 takes a step three times as long as one of weight 1).

    ``class_weight`` multiplies each row's sample weight by its class's weight, as
    LogisticRegression and SGDClassifier do.
    """
        + PARAMETERS.replace("{loss_doc}",
            '``"log_loss"`` (the default): log(1 + eᶻ) − y z for two classes, '
            "logsumexp(z) − z_y for more."
        ).replace("{intercept_init_doc}", INTERCEPT_INIT)
        .replace("\n    Attributes\n", """    class_weight : dict, "balanced" or None, default=None
        Weight of each class, multiplied into ``sample_weight``: None (every class 1), a
        dict ``{label: weight}`` (weights ≥ 0; a class not named weighs 1) or
        ``"balanced"``: ``n_samples / (n_classes * np.bincount(y))``, from the rows of
        ``y`` (not weighted by ``sample_weight``), as
        ``sklearn.utils.class_weight.compute_sample_weight`` and SGDClassifier compute it.
        ``partial_fit`` refuses ``"balanced"`` (as SGDClassifier does: one chunk's class
        frequencies are not the data's); compute the weights with
        ``compute_class_weight("balanced", classes=classes, y=y)`` on a sample and pass
        them as a dict.

    Attributes
""", 1)
        + """    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted (``np.unique`` of ``y``, or of ``classes`` given to the
        first ``partial_fit``); column k of ``predict_proba`` is the probability of
        ``classes_[k]``.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights (linear model), shaped as LogisticRegression's.
    intercept_ : ndarray of shape (1,) or (n_classes,)
"""
    )

    _default_loss = "log_loss"
    _allowed_losses = ("log_loss",)
    _intercept_inits = ("prior", "zero")

    def __init__(
        self,
        *,
        model="linear",
        loss=None,
        epsilon=1.0,
        optimizer="adam",
        optimizer_params=None,
        learning_rate=0.01,
        schedule="constant",
        schedule_params=None,
        batch_size=None,
        max_epochs=1000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        alpha=1e-4,
        l1_ratio=0.0,
        clip_norm=None,
        hidden_layer_sizes=(100,),
        activation="relu",
        model_params=None,
        shuffle=True,
        random_state=None,
        warm_start=False,
        dtype="float64",
        verbose=0,
        callbacks=None,
        class_weight=None,
        intercept_init="prior",
    ):
        super().__init__(
            model=model, loss=loss, epsilon=epsilon, optimizer=optimizer,
            optimizer_params=optimizer_params, learning_rate=learning_rate,
            schedule=schedule, schedule_params=schedule_params, batch_size=batch_size,
            max_epochs=max_epochs, tol=tol, n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            alpha=alpha, l1_ratio=l1_ratio, clip_norm=clip_norm,
            hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            model_params=model_params, shuffle=shuffle, random_state=random_state,
            warm_start=warm_start, dtype=dtype, verbose=verbose, callbacks=callbacks,
            intercept_init=intercept_init,
        )
        self.class_weight = class_weight

    def _validate_hyperparameters(self) -> None:
        super()._validate_hyperparameters()
        cw = self.class_weight
        if not (cw is None or (isinstance(cw, str) and cw == "balanced")
                or isinstance(cw, Mapping)):
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got {cw!r}"
            )
        if isinstance(cw, Mapping):
            for label, weight in cw.items():
                if (isinstance(weight, bool) or not isinstance(weight, numbers.Real)
                        or not np.isfinite(weight) or weight < 0):
                    raise ValueError(
                        f"class_weight[{label!r}] must be a finite number >= 0, got {weight!r}"
                    )

    def _class_weights(self, y_enc: np.ndarray, *, incremental: bool) -> np.ndarray | None:
        """``class_weight`` as one weight per class of ``classes_`` (None: no weighting)."""
        cw = self.class_weight
        if cw is None:
            return None
        if incremental and isinstance(cw, str):
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit (one call's class "
                "frequencies are not the data's). In order to use 'balanced' weights, use "
                "compute_class_weight('balanced', classes=classes, y=y). In place of y you "
                "can use a large enough sample of the full training set target to properly "
                "estimate the class frequency distributions. Pass the resulting weights as "
                "the class_weight parameter."
            )
        return compute_class_weight(cw, classes=self.classes_, y=self.classes_[y_enc])

    def _prepare_targets(self, y, *, fitting: bool, classes=None, name="y", rows=None):
        if fitting:
            check_classification_targets(y)
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if labels.shape[0] < 2 and classes is not None:
                raise ValueError(
                    f"classes must hold every label (at least 2), got {labels.tolist()!r}: "
                    "pass all the classes y can hold on the first call to partial_fit"
                )
            if labels.shape[0] < 2:
                raise ValueError(
                    "GDClassifier needs at least 2 classes, but only one class is present "
                    f"in y: {labels.tolist()[0]!r}"
                )
            self.classes_ = labels
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.unique(classes).tolist()!r} is not the same as on the first call "
                f"to partial_fit, {self.classes_.tolist()!r}"
            )
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(self._unseen_message(np.asarray(y), unseen, classes is not None))
        return np.searchsorted(self.classes_, y).astype(np.intp)

    def _unseen_message(self, y: np.ndarray, unseen: np.ndarray, given: bool) -> str:
        """Name the labels of ``y`` outside ``classes_`` and where ``classes_`` came from;
        a label type differing from the classes' (int y, str classes) is said too."""
        labels = np.unique(y[unseen]).tolist()
        known = self.classes_.tolist()
        if given:
            text = f"y holds labels that are not in classes={known!r}: {labels!r}"
        else:
            text = f"y contains labels not seen in training (classes_={known!r}): {labels!r}"
        if y.dtype.kind != self.classes_.dtype.kind and {y.dtype.kind, self.classes_.dtype.kind
                                                         } & {"U", "S", "O"}:
            text += (f" (y's labels are {y.dtype}, the classes are {self.classes_.dtype}: "
                     "pass classes of the same type as y)")
        return text

    def _n_outputs(self) -> int:
        k = self.classes_.shape[0]
        return 1 if k == 2 else k

    def _publish_linear(self, W, b) -> None:
        self.coef_ = W.T.copy()
        self.intercept_ = b.copy()

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        eval_set: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> GDClassifier:
        return self._fit(X, y, sample_weight, eval_set)

    fit.__doc__ = FIT.format(step="gdclassifier")

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> GDClassifier:
        """Run one epoch; ``classes`` (all labels) is required on the first call and, when
        given again, must be the same set. ``early_stopping`` is ignored here. As for
        GDRegressor, the parameters the carried state was built from (``STATE_PARAMS``) must
        not change between calls, and losses of different calls are not compared by the
        divergence guard: only a non-finite loss or parameter raises ``DivergenceError``,
        restoring the parameters the call started from. ``sample_weight`` counts across
        calls as in ``GDRegressor.partial_fit``: w̄ in a batch's step Σ_B wᵢ ∇ℓᵢ / (|B|·w̄)
        is the running mean weight of every row the calls have trained on (this call's
        included; ``fit`` starts again), so a one-row call's weight, or a chunk weighing
        100 instead of 1, changes the training."""
        if not hasattr(self, "_state") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, sample_weight, incremental=True, n_epochs=1, classes=classes)

    def _split_validation(self, n, y, rng):
        """Stratified held-out fraction for early stopping."""
        from sklearn.model_selection import train_test_split

        idx = np.arange(n)
        seed = int(rng.integers(np.iinfo(np.int32).max))
        try:
            tr, va = train_test_split(
                idx, test_size=self.validation_fraction, stratify=y, random_state=seed
            )
        except ValueError:
            tr, va = train_test_split(idx, test_size=self.validation_fraction, random_state=seed)
        return tr, va

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Logits: shape (n_samples,) for two classes, (n_samples, n_classes) otherwise."""
        Z = self._raw(X)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        Z = self._raw(X)
        if Z.shape[1] == 1:
            p = sigmoid(Z[:, 0])
            return np.column_stack([1.0 - p, p])
        return softmax(Z)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`, computed from the logits (a log-sigmoid or
        log-softmax), so it stays finite where a probability rounds to 0 or 1."""
        Z = self._raw(X)
        if Z.shape[1] == 1:  # log σ(z) = -log(1 + e^-z); log(1 - σ(z)) = -log(1 + e^z)
            z = Z[:, 0]
            return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])
        shifted = Z - Z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted class labels."""
        Z = self._raw(X)
        idx = (Z[:, 0] > 0).astype(np.intp) if Z.shape[1] == 1 else Z.argmax(axis=1)
        return self.classes_[idx]

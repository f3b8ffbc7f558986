"""GDRegressor: regression by gradient descent, scikit-learn compatible."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin

from gdlab.estimators._docs import FIT, PARAMETERS
from gdlab.estimators.base import BaseGD
from gdlab.estimators.nonfinite import vector_refusal

INTERCEPT_INIT = """intercept_init : {"zero", "auto", "mean", "median"}, default="zero"
        Where the output bias starts (``intercept_``; an MLP's last-layer bias).
        ``"zero"``: at 0, where scikit-learn's SGDRegressor starts (it has no such
        parameter). ``"mean"``: at the weighted mean of the training targets, the best
        constant under squared_error; ``"median"``: at their weighted median, nearer
        huber's best constant when outliers pull the mean; ``"auto"``: the mean for
        squared_error, the median for huber (where scikit-learn's gradient boosting starts
        them). It takes the target's offset out of the way, not its spread: the weights
        still start at 0, so a target far from unit scale still wants scaling (see above),
        and a standardised target (the pipeline's ``preprocess.scale_target``) has mean 0,
        where nothing changes. Measured on diabetes (y mean 152, std 77; standardised
        features, the other defaults): test R² 0.34 from ``"auto"``, −3.7 from ``"zero"``
        (least squares: 0.36); huber on a unit-scale target offset by 3, 10% of it pulled
        up by outliers: the fit stopped after 62 epochs with the intercept at 3.098 from
        the median (3000 epochs: 3.099), after 299 at 3.160 from the mean, after 427 at
        3.022 from zero. ``partial_fit``'s first call takes its own rows' statistic; its
        later calls and a ``warm_start`` fit continue the intercept they have. A plug-in
        ``model`` keeps its own ``init_params``."""


class GDRegressor(RegressorMixin, BaseGD):
    __doc__ = (
        """Linear regression or an MLP regressor trained by gradient descent.

    The objective is the (sample-weighted) mean loss plus the elastic-net penalty,
    minimised with any gdlab optimiser, schedule and batch mode.
    Sample weights count in every batch mode: a mini-batch B steps on
    Σ_B wᵢ ∇ℓᵢ / (|B|·w̄), w̄ the mean weight of the training rows, an unbiased estimate
    of the objective's gradient (with ``optimizer="sgd"`` and ``batch_size=1`` a row of
    weight 3 takes a step three times as long as one of weight 1).

    Scale the target as you scale the features: a linear model's weights start at zero (an
    MLP's small and random) and Adam moves each by about ``learning_rate`` per step, so on a
    target in the hundreds the defaults stop far from the fit (R² near 0 with a
    ConvergenceWarning), as scikit-learn's ``MLPRegressor`` does. ``intercept_init="auto"``
    starts the intercept at the target's mean (median for huber), which takes the target's
    offset off the way but not its spread.
    ``TransformedTargetRegressor(GDRegressor(), transformer=StandardScaler())`` does it, as
    the pipeline's ``preprocess.scale_target`` does.
    """
        + PARAMETERS.replace("{loss_doc}",
            '``"squared_error"`` (½(ŷ − y)², the default) or ``"huber"``.'
        ).replace("{intercept_init_doc}", INTERCEPT_INIT)
        + """    coef_ : ndarray of shape (n_features,)
        Weights (linear model).
    intercept_ : ndarray of shape (1,)
        Intercept (linear model).
"""
    )

    _default_loss = "squared_error"
    _allowed_losses = ("squared_error", "huber")
    _advises_target_scale = True
    _intercept_inits = ("auto", "mean", "median", "zero")

    def _start_statistic(self) -> str | None:
        """``"auto"``: the mean for squared_error, the median for huber."""
        if self.intercept_init == "auto":
            return "median" if self._loss_name() == "huber" else "mean"
        return super()._start_statistic()

    def _prepare_targets(self, y, *, fitting: bool, classes=None, name="y", rows=None):
        """``y`` in the model's dtype; a float32 model refuses a finite target beyond
        float32's range (the cast makes it infinity, and the first loss inf was called a
        divergence), naming ``name`` and the row (``rows``: the rows of ``y``'s entries)."""
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
        dtype = self._dtype()
        if dtype is np.float32 and y.dtype.kind == "f" and y.dtype.itemsize > 4:
            message = vector_refusal(type(self).__name__, y, name=name, dtype=dtype, rows=rows)
            if message is not None:
                raise ValueError(message)
        return y.astype(dtype, copy=False)

    def _n_outputs(self) -> int:
        return 1

    def _publish_linear(self, W, b) -> None:
        self.coef_ = W[:, 0].copy()
        self.intercept_ = b.copy()

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        eval_set: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> GDRegressor:
        return self._fit(X, y, sample_weight, eval_set)

    fit.__doc__ = FIT.format(step="gdregressor")

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> GDRegressor:
        """Run one epoch on (X, y), carrying parameters, optimiser and schedule state. The
        parameters that state was built from (``STATE_PARAMS``: model, optimiser, learning
        rate, schedule, dtype...) must not change between calls; the others (alpha,
        batch_size, ...) are read on every call. ``early_stopping`` is ignored (no
        held-out split, no stopping, no restore of the best weights). Each call's rows differ,
        so the divergence guard never compares losses of different calls (a drifting stream
        is no divergence): only a non-finite loss or parameter raises ``DivergenceError``,
        with the parameters restored to those the call started from.

        ``sample_weight`` counts across calls, as the weights of one ``fit`` on all the rows
        seen so far would: a batch steps on Σ_B wᵢ ∇ℓᵢ / (|B|·w̄) with w̄ the running mean
        weight of every row the ``partial_fit`` calls have trained on (this call's
        included; ``fit`` starts the count again; a call that diverged does not count), not
        the call's own mean. So a one-row call's weight scales its step, and a chunk whose
        rows weigh 100 pulls 100 times as hard as one weighing 1 (unit weights and no
        weights train alike). The loss recorded for the call (``loss_curve_``) is its rows'
        weighted mean."""
        return self._fit(X, y, sample_weight, incremental=True, n_epochs=1)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted targets, shape (n_samples,)."""
        return self._raw(X)[:, 0]

"""The parameter documentation shared by GDRegressor and GDClassifier."""

PARAMETERS = r"""
    Parameters
    ----------
    model : {"linear", "mlp"} or str, default="linear"
        Model family. ``"linear"``: Z = X W + b, W started from zeros. ``"mlp"``: a
        fully connected network (``hidden_layer_sizes``, ``activation``), Glorot-initialised
        from ``random_state``, hidden biases zero. The output bias (b) starts as
        ``intercept_init`` says. ``"package.module:factory"``: a user's model object
        (``init_params``, ``forward``, ``backward``, ``penalized``; see
        :mod:`gdlab.core.models.base`), built as ``factory(**model_params)``.
    loss : str, default=None
        {loss_doc}
    epsilon : float, default=1.0
        Threshold ε of the huber loss: ½ r² for |r| ≤ ε, else ε(|r| − ½ε).
    optimizer : str, default="adam"
        ``sgd``, ``momentum`` (sgd, μ=0.9), ``nesterov`` (sgd, μ=0.9, nesterov), ``adagrad``,
        ``rmsprop``, ``adam``, ``adamw``, ``nadam`` — each exactly torch.optim's algorithm
        (see :mod:`gdlab.core.optim.alias` for the pseudocode) — or
        ``"package.module:factory"`` returning a gradient transformation.
    optimizer_params : dict, default=None
        The optimiser's own hyper-parameters, named as torch names them: ``momentum``,
        ``dampening``, ``nesterov``, ``weight_decay`` (g ← g + λθ; decoupled for adamw:
        θ ← θ − γλθ), ``lr_decay``, ``initial_accumulator_value``, ``eps``, ``alpha``,
        ``centered``, ``betas``, ``amsgrad``, ``momentum_decay``. Values are checked at
        ``fit`` (:data:`gdlab.core.rules.OPTIMIZER_RULES`, at least torch's own checks):
        real numbers (not bools or strings), finite, ``eps`` > 0, ``weight_decay``,
        ``lr_decay``, ``initial_accumulator_value`` and ``momentum_decay`` ≥ 0, ``betas``,
        ``alpha`` and ``momentum`` in [0, 1), ``dampening`` in [0, 1]; the flags are bools.
    learning_rate : float, default=0.01
        Base step size γ₀ > 0; the schedule scales it per epoch.
    schedule : str, default="constant"
        Learning-rate schedule stepped once per epoch: ``constant``, ``step``,
        ``multistep``, ``exponential``, ``cosine``, ``warmup``, ``invscaling``, ``plateau``
        (see :mod:`gdlab.core.schedules` for the formulas) or ``"package.module:factory"``.
    schedule_params : dict, default=None
        The schedule's parameters, named as torch's schedulers: ``step_size``, ``gamma``,
        ``milestones``, ``T_max``, ``eta_min``, ``warmup_epochs``, ``start_factor``,
        ``then``, ``then_params``, ``power_t``, ``factor``, ``patience``, ``threshold``,
        ``cooldown``, ``min_lr``, ``eps`` (plateau: a reduction smaller than ``eps``
        is skipped). A schedule that can never change the rate before the fit stops
        (``step_size`` or every milestone at or after ``max_epochs``, plateau's
        ``patience`` not below ``n_iter_no_change - 1`` with ``tol`` set) warns at ``fit``
        (``gdlab.ScheduleReachWarning``). Types and ranges are checked at ``fit``, before
        the first epoch
        (:data:`gdlab.core.rules.SCHEDULE_RULES`): epoch counts are integers, ``gamma``
        in (0, 1], ``milestones`` a list of integers ≥ 0. ``cosine`` without ``T_max``
        anneals over ``max_epochs`` (a warm-up's ``then`` over the epochs after it), as
        params.yaml's ``T_max: null`` does. ``plateau`` monitors the
        validation loss whenever there is a validation set (``eval_set``, or the
        ``early_stopping`` split), else the training loss. gdlab's cross-validation folds
        (the pipeline's CV, tune, compare) only record their held-out rows' loss: plateau
        steps on the training loss there (the ``early_stopping`` split with it), as in the
        refit, never on the rows a fold is scored on.
    batch_size : int or None, default=None
        ``None``: full batch (one step per epoch); ``k``: mini-batches of k rows (the last
        partial batch is used); ``1``: stochastic gradient descent. A ``k`` above the
        number of training rows is clipped to it (full batch) with a warning.
    max_epochs : int, default=1000
        Maximum number of passes over the training data.
    tol : float or None, default=1e-4
        Stop when the monitored loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs (loss > best − tol counts as no
        improvement). ``None`` runs exactly ``max_epochs``; otherwise reaching
        ``max_epochs`` first emits a ``ConvergenceWarning`` (naming an unscaled target or
        unscaled features when the data show one), and so does a fit the rule stops while
        its training loss oscillates (it ends above its first epoch's, or above twice its
        lowest having given back part of its descent: see
        :mod:`gdlab.estimators.advice`); the weights returned are then the last epoch's.
        ``tol`` is an absolute change in the loss: a fit whose steps change it by less
        (features or a target far below unit scale, a tiny learning rate) stops before it
        trains, and warns too, naming the cause (:mod:`gdlab.core.stall`).
    n_iter_no_change : int, default=10
        Number of epochs without improvement tolerated before stopping.
    early_stopping : bool, default=False
        Monitor the validation loss instead of the training loss, and restore the best
        weights. The validation set is ``eval_set`` when given to ``fit``, else a held-out
        ``validation_fraction`` of the training data. In a ``Pipeline`` an ``eval_set``
        reaches the estimator untransformed (see ``fit``): transform it first, or use
        ``validation_fraction``. ``partial_fit`` ignores it (no
        split, no stopping, no restore: each call runs one epoch).
    validation_fraction : float, default=0.1
        Share of the training data held out for ``early_stopping``; in (0, 1).
    alpha : float, default=1e-4
        Penalty strength α ≥ 0: α (ρ‖w‖₁ + ½(1 − ρ)‖w‖²) on weights, never intercepts,
        added to the loss averaged over the rows: scikit-learn's ``SGDRegressor`` /
        ``SGDClassifier`` ``alpha`` is the same α; ``Ridge(alpha=n α)`` and
        ``LogisticRegression(C=1 / (n α))`` fit the same linear model on n rows (n: the sum
        of the sample weights when given). scikit-learn's ``MLPRegressor`` /
        ``MLPClassifier`` divide their ``alpha`` by the rows of each mini-batch: their
        ``alpha`` is about α × ``batch_size`` here (their 0.1 at batch 32 is α ≈ 0.003; the
        same 0.1 here shrinks the weights 32 times harder).
    l1_ratio : float, default=0.0
        Elastic-net mixing ρ in [0, 1]: 0 is ridge (L2), 1 is lasso (L1). The L1 part is
        applied as a subgradient (α ρ sign(w) added to the gradient): weights shrink toward
        zero but are not set exactly to zero, unlike scikit-learn's ``Lasso`` or
        ``SGDRegressor(penalty="l1")`` (a proximal / truncated step); threshold small
        coefficients yourself if you need a sparse model.
    clip_norm : float or None, default=None
        Global-norm gradient clipping (torch's ``clip_grad_norm_``):
        g ← g · min(1, c / (‖g‖ + 1e-6)), after the penalty gradient, before the optimiser.
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units per hidden layer of the MLP (``model="mlp"``); an int is one layer. Each
        must be an integer ≥ 1.
    activation : {"relu", "tanh", "logistic"}, default="relu"
        Hidden activation of the MLP.
    model_params : dict, default=None
        Keyword arguments of a plug-in model factory; refused (when not empty) with
        ``"linear"`` or ``"mlp"``, which take none.
    {intercept_init_doc}
    shuffle : bool, default=True
        Visit rows in a new random order every epoch (mini-batch modes).
    random_state : int, RandomState or None, default=None
        Seeds initialisation, shuffling and the early-stopping split; the same integer
        gives bit-identical results.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution (the optimiser and schedule restart). A
        fit whose parameters would be shaped otherwise (another number of features, other
        classes, another ``model`` or ``hidden_layer_sizes``) is refused with a ValueError
        naming what changed (set ``warm_start=False`` to start afresh).
    dtype : {"float64", "float32"}, np.float64, np.float32 or a numpy dtype, default="float64"
        Floating-point type of the data and parameters, end to end.
    verbose : int, default=0
        Print one line per epoch when > 0 (0 or a negative value: silent).
    callbacks : callable or list of callables, default=None
        Each is called after every epoch with a dict ``{epoch, loss, val_loss,
        learning_rate, grad_norm, time, params}`` (``params``: the live parameter
        arrays — copy them to keep a trajectory); raising aborts training.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X`` when it was fitted with string column names (a DataFrame);
        absent otherwise.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Mean training loss (with penalty) per epoch.
    history_ : dict of lists
        Per epoch: ``loss``, ``val_loss`` (None without a validation set: ``eval_set`` or
        the ``early_stopping`` split),
        ``learning_rate``, ``grad_norm`` (mean over steps, before clipping), ``time``
        (seconds since the start of training).
    best_loss_ : float
        Best monitored loss: the lowest validation loss with ``early_stopping``, else the
        lowest training loss.
    best_epoch_ : int
        The epoch (counted from 1, as ``n_iter_`` and the verbose lines count) of
        ``best_loss_``: ``history_["val_loss"][best_epoch_ - 1]`` with ``early_stopping``,
        whose weights are the ones restored and returned (the fit may have run on to
        ``n_iter_``); else ``loss_curve_[best_epoch_ - 1]``, while the weights returned are
        the last epoch's. With ``verbose`` the last line names it.
    params_ : list of ndarray
        Raw parameter tensors ([W, b] for linear models; [W₁, b₁, …] for the MLP).
    model_ : object
        The model object that maps ``params_`` to outputs (``LinearModel``, ``MLP`` or
        the plug-in model), with ``forward(params, X)``.
    coefs_, intercepts_ : lists of ndarray
        MLP weights and biases per layer (``model="mlp"``).
"""


FIT = """Train from scratch (or from the last solution with ``warm_start``); return self.

        ``eval_set=(X_val, y_val)`` records a per-epoch validation loss; it is the set
        monitored by ``early_stopping`` and, whether or not early stopping is on, by
        ``schedule="plateau"``. In a scikit-learn ``Pipeline``,
        ``pipe.fit(X, y, {step}__eval_set=(X_val, y_val))`` hands ``X_val`` to this
        estimator *untransformed* (scikit-learn never transforms fit parameters): the
        validation loss, the epoch ``early_stopping`` keeps and the plateau schedule then
        read unscaled features. Transform it with the pipeline's preprocessing first
        (``pre = pipe[:-1].fit(X, y)``, then ``pipe[-1].fit(pre.transform(X), y,
        eval_set=(pre.transform(X_val), y_val))``), or use ``early_stopping`` with
        ``validation_fraction``, whose rows are split from the transformed training data.
        """
"""``fit``'s docstring; ``{step}``: the estimator's step name in ``make_pipeline``."""

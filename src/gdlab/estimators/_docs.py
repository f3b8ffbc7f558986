"""The parameter documentation shared by GDRegressor and GDClassifier."""

PARAMETERS = r"""
    Parameters
    ----------
    model : {"linear", "mlp"} or str, default="linear"
        Model family. ``"linear"``: Z = X W + b, started from zeros. ``"mlp"``: a
        fully connected network (``hidden_layer_sizes``, ``activation``), Glorot-initialised
        from ``random_state``. ``"package.module:factory"``: a user's model object
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
        ``centered``, ``betas``, ``amsgrad``, ``momentum_decay``.
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
        is skipped).
    batch_size : int or None, default=None
        ``None``: full batch (one step per epoch); ``k``: mini-batches of k rows (the last
        partial batch is used); ``1``: stochastic gradient descent.
    max_epochs : int, default=200
        Maximum number of passes over the training data.
    tol : float or None, default=1e-4
        Stop when the monitored loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs (loss > best − tol counts as no
        improvement). ``None`` runs exactly ``max_epochs``; otherwise reaching
        ``max_epochs`` first emits a ``ConvergenceWarning``.
    n_iter_no_change : int, default=10
        Number of epochs without improvement tolerated before stopping.
    early_stopping : bool, default=False
        Monitor the validation loss instead of the training loss, and restore the best
        weights. The validation set is ``eval_set`` when given to ``fit``, else a held-out
        ``validation_fraction`` of the training data.
    validation_fraction : float, default=0.1
        Share of the training data held out for ``early_stopping``; in (0, 1).
    alpha : float, default=1e-4
        Penalty strength α ≥ 0: α (ρ‖w‖₁ + ½(1 − ρ)‖w‖²) on weights, never intercepts.
    l1_ratio : float, default=0.0
        Elastic-net mixing ρ in [0, 1]: 0 is ridge (L2), 1 is lasso (L1).
    clip_norm : float or None, default=None
        Global-norm gradient clipping (torch's ``clip_grad_norm_``):
        g ← g · min(1, c / (‖g‖ + 1e-6)), after the penalty gradient, before the optimiser.
    hidden_layer_sizes : tuple of int, default=(100,)
        Units per hidden layer of the MLP (``model="mlp"``).
    activation : {"relu", "tanh", "logistic"}, default="relu"
        Hidden activation of the MLP.
    model_params : dict, default=None
        Keyword arguments of a plug-in model factory.
    shuffle : bool, default=True
        Visit rows in a new random order every epoch (mini-batch modes).
    random_state : int, RandomState or None, default=None
        Seeds initialisation, shuffling and the early-stopping split; the same integer
        gives bit-identical results.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution (the optimiser and schedule restart).
    dtype : {"float64", "float32"}, default="float64"
        Floating-point type of the data and parameters, end to end.
    verbose : int, default=0
        Print one line per epoch when > 0.
    callbacks : list of callables, default=None
        Each is called after every epoch with a dict ``{epoch, loss, val_loss,
        learning_rate, grad_norm, time, params}`` (``params``: the live parameter
        arrays — copy them to keep a trajectory); raising aborts training.

    Attributes
    ----------
    n_features_in_ : int
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Mean training loss (with penalty) per epoch.
    history_ : dict of lists
        Per epoch: ``loss``, ``val_loss`` (None without a validation set),
        ``learning_rate``, ``grad_norm`` (mean over steps, before clipping), ``time``
        (seconds since the start of training).
    best_loss_ : float
        Best monitored loss.
    params_ : list of ndarray
        Raw parameter tensors ([W, b] for linear models; [W₁, b₁, …] for the MLP).
    coefs_, intercepts_ : lists of ndarray
        MLP weights and biases per layer (``model="mlp"``).
"""

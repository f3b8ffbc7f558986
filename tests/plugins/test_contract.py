"""A plug-in that breaks the contract of docs/plugins.md is refused with an error naming it and
what the contract expects, when it is built or at the step it breaks it, never trained on
silently (a wrong-shape update would broadcast into the parameters, a negative learning rate
would climb the loss)."""

from __future__ import annotations

import sys
import types
from functools import partial

import numpy as np
import pytest

from gdlab import GDClassifier, GDRegressor
from gdlab.core.optim import GradientTransformation, chain, scale_by_learning_rate, sgd


def _boom():
    raise RuntimeError("boom in factory")


def _short_update():
    return GradientTransformation(lambda params: (), lambda grads, state, params: (grads, state))


def _none_update():
    def update(grads, state, params, learning_rate):
        for g in grads:
            g *= -learning_rate  # forgot to return

    return GradientTransformation(lambda params: (), update)


def _flat_update():
    def update(grads, state, params, learning_rate):
        return [-learning_rate * g.ravel()[:1] for g in grads], state

    return GradientTransformation(lambda params: (), update)


def _fails_at_step(n: int = 3):
    def update(grads, state, params, learning_rate):
        (count,) = state
        if int(count) >= n:
            raise IndexError("list index out of range")
        return grads, (count + 1,)

    return chain(GradientTransformation(lambda params: (np.zeros((), np.int64),), update),
                 scale_by_learning_rate())


def _negative_after(base_lr: float, epoch: int) -> float:
    return -base_lr if epoch >= 2 else base_lr


class _NoPenalized:
    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs), dtype)]

    def forward(self, params, X):
        return X @ params[0], X

    def backward(self, params, cache, dZ, grads):
        grads[0][...] = cache.T @ dZ


PLUGINS = {
    "boom": _boom,
    "wrong_type": lambda: sgd,  # the factory, not what it builds
    "pair": lambda: tuple(sgd()),
    "short_update": _short_update,
    "none_update": _none_update,
    "flat_update": _flat_update,
    "fails_at_step": _fails_at_step,
    "number_schedule": lambda base_lr: base_lr,
    "negative_schedule": lambda base_lr: partial(_negative_after, base_lr),
    "no_penalized": _NoPenalized,
}

LAMBDAS = """
from gdlab.core.optim import GradientTransformation


def lambda_schedule(base_lr):
    return lambda epoch: base_lr


def lambda_state():
    return GradientTransformation(
        lambda params: (lambda: None,), lambda g, state, params, lr: ([-lr * x for x in g], state)
    )
"""


@pytest.fixture(autouse=True)
def contract_plugins(monkeypatch):
    module = types.ModuleType("contract_plugins")
    module.__dict__.update(PLUGINS)
    exec(LAMBDAS, module.__dict__)  # noqa: S102 - functions of the module, as in a user's file
    monkeypatch.setitem(sys.modules, "contract_plugins", module)
    monkeypatch.setenv("GDLAB_JIT", "0")


def _fit(**kwargs):
    X = np.random.default_rng(0).normal(size=(40, 3))
    kwargs = {"max_epochs": 5, "tol": None, "random_state": 0, **kwargs}
    return GDRegressor(**kwargs).fit(X, X @ [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "contract_plugins:boom"},
         "optimizer 'contract_plugins:boom': the factory raised RuntimeError: boom in factory"),
        ({"optimizer": "contract_plugins:wrong_type"},
         "optimizer 'contract_plugins:wrong_type' returned function, expected an object with "
         "init(params) and update(grads, state, params, learning_rate)"),
        ({"optimizer": "contract_plugins:pair"},
         "optimizer 'contract_plugins:pair' returned tuple"),
        ({"optimizer": "contract_plugins:short_update"},
         "optimizer 'contract_plugins:short_update': its update(grads, state, params) cannot be "
         "called as update(grads, state, params, learning_rate)"),
        ({"optimizer": "contract_plugins:none_update"},
         "optimizer 'contract_plugins:none_update': update returned NoneType, expected the pair "
         "(updates, state)"),
        ({"optimizer": "contract_plugins:flat_update"},
         "optimizer 'contract_plugins:flat_update': update returned updates of shapes "
         "[(1,), (1,)], expected one array per parameter of shapes [(3, 1), (1,)]"),
        ({"schedule": "contract_plugins:boom"},
         "schedule 'contract_plugins:boom': the factory raised TypeError"),
        ({"schedule": "contract_plugins:number_schedule"},
         "schedule 'contract_plugins:number_schedule' returned float, expected a function epoch "
         "-> learning rate or an object with a learning_rate attribute and step(metric)"),
        ({"schedule": "contract_plugins:negative_schedule"},
         "the schedule 'contract_plugins:negative_schedule' gave the learning rate -0.01 for "
         "epoch 3; a learning rate must be a finite number >= 0"),
        ({"model": "contract_plugins:no_penalized"},
         "model 'contract_plugins:no_penalized' returned _NoPenalized without penalized: a model "
         "needs init_params"),
    ],
)
@pytest.mark.parametrize("batch_size", [None, 8])
def test_a_broken_plugin_is_refused_naming_it_and_the_contract(kwargs, message, batch_size):
    with pytest.raises(ValueError) as caught:
        _fit(batch_size=batch_size, **kwargs)
    assert message in str(caught.value)


def test_an_exception_inside_a_plugin_update_keeps_its_type_and_names_the_plugin():
    with pytest.raises(IndexError) as caught:
        _fit(optimizer="contract_plugins:fails_at_step", batch_size=8)  # step 4: epoch 1
    assert caught.value.__notes__ == [
        "raised in the update of the plug-in optimizer 'contract_plugins:fails_at_step'"
    ]


def test_a_plugin_keeping_the_contract_trains_as_before():
    est = _fit(optimizer="contract_plugins:fails_at_step", optimizer_params={"n": 10**6},
               learning_rate=0.1)
    ref = _fit(optimizer="sgd", learning_rate=0.1)
    np.testing.assert_array_equal(est.coef_, ref.coef_)


@pytest.mark.parametrize(
    "kwargs",
    [{"schedule": "contract_plugins:lambda_schedule"},
     {"optimizer": "contract_plugins:lambda_state"}],
)
def test_a_model_that_could_not_be_loaded_back_is_not_written(kwargs, tmp_path):
    """skops writes a lambda (a schedule function, or in the optimiser state) but cannot load
    it: save_model refuses, naming it, instead of leaving a model.skops evaluate cannot read."""
    from gdlab.experiment.persist import save_model

    est = _fit(**kwargs)
    with pytest.raises(ValueError, match=r"holds contract_plugins\.<lambda>, which could be "
                       r"written but never loaded"):
        save_model(est, tmp_path / "model.skops")
    assert not (tmp_path / "model.skops").exists()


class _FlatOutput(_NoPenalized):
    """Returns Z as a vector (n,) instead of the column (n, 1)."""

    def forward(self, params, X):
        return (X @ params[0]).ravel(), X

    def penalized(self, params):
        return [True]


class _TwoColumns(_FlatOutput):
    """Returns two columns where the task has one output."""

    def forward(self, params, X):
        Z = X @ params[0]
        return np.hstack([Z, Z]), X


@pytest.mark.parametrize(
    ("model", "shape"), [(_FlatOutput, "(40,)"), (_TwoColumns, "(40, 2)")]
)
@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_a_plugin_model_whose_forward_returns_the_wrong_shape_is_named(
    model, shape, estimator, monkeypatch
):
    # unchecked, a vector failed inside the loss with numpy's "einsum subscripts string
    # contains too many subscripts" (or an IndexError), and two columns for a binary
    # classifier trained without a word
    monkeypatch.setattr(sys.modules["contract_plugins"], "bad_model", model, raising=False)
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = X @ [1.0, 2.0, 3.0]
    with pytest.raises(ValueError) as caught:
        estimator(model="contract_plugins:bad_model", max_epochs=3, tol=None).fit(
            X, y if estimator is GDRegressor else (y > 0).astype(int)
        )
    assert str(caught.value) == (
        f"model 'contract_plugins:bad_model': forward returned Z of shape {shape} for X of "
        "shape (40, 3), expected (40, 1): one row per row of X and one column per output "
        "(docs/plugins.md)"
    )


class _Wide(_FlatOutput):
    def __init__(self, width: int = 3):
        self.width = width

    def forward(self, params, X):
        return X @ params[0], X

    def penalized(self, params):
        return [True]


def test_the_checked_plugin_model_still_shows_the_plugins_attributes(monkeypatch, tmp_path):
    import copy

    from gdlab.experiment.persist import load_model, save_model

    module = sys.modules["contract_plugins"]
    monkeypatch.setattr(module, "wide", _Wide, raising=False)
    monkeypatch.setattr(module, "_Wide", _Wide, raising=False)  # skops loads it by name
    monkeypatch.setattr(_Wide, "__module__", "contract_plugins")
    X = np.random.default_rng(0).normal(size=(40, 3))
    est = GDRegressor(model="contract_plugins:wide", model_params={"width": 7}, max_epochs=2,
                      tol=None).fit(X, X @ [1.0, 2.0, 3.0])
    assert est.model_.width == 7 and isinstance(est.model_.model, _Wide)
    assert copy.deepcopy(est).model_.width == 7
    save_model(est, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops", plugins=["contract_plugins:wide"])
    assert loaded.model_.width == 7
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_the_import_path_names_the_module_the_factory_comes_from(tmp_path, monkeypatch):
    """Two user modules each define a factory called ``sgd`` (a built-in's name too): the
    import path decides which one trains. One full-batch epoch from θ = 0 on least squares
    takes exactly one step, checked against the gradient written out: −γ·sign(g) for
    ``plain_team:sgd``, −2γ·g for ``doubled_team:sgd``, −γ·g for the built-in ``sgd``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    header = "import numpy as np\nfrom gdlab.core.optim import GradientTransformation\n\n"
    (tmp_path / "plain_team.py").write_text(header + (
        "def sgd():\n"
        "    def update(grads, state, params, learning_rate):\n"
        "        return [-learning_rate * np.sign(g) for g in grads], state\n"
        "    return GradientTransformation(lambda params: (), update)\n"))
    (tmp_path / "doubled_team.py").write_text(header + (
        "def sgd():\n"
        "    def update(grads, state, params, learning_rate):\n"
        "        return [-2.0 * learning_rate * g for g in grads], state\n"
        "    return GradientTransformation(lambda params: (), update)\n"))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0
    lr = 0.01
    # ½·mean((Xw + b − y)²) at w = 0, b = 0: its gradient is −(Xᵀy/n, mean(y))
    grad = -np.append(X.T @ y / len(y), y.mean())
    expected = {"plain_team:sgd": -lr * np.sign(grad), "doubled_team:sgd": -2 * lr * grad,
                "sgd": -lr * grad}
    for name, step in expected.items():
        est = GDRegressor(optimizer=name, learning_rate=lr, batch_size=None, max_epochs=1,
                          tol=None, alpha=0.0, random_state=0).fit(X, y)
        theta = np.concatenate([np.ravel(p) for p in est.params_])
        np.testing.assert_allclose(theta, step, rtol=1e-10, atol=1e-12, err_msg=name)

"""A plug-in factory named from a module that re-exports it (``mypkg/api.py``: ``from
mypkg.model import quadratic``) builds classes or functions that module does not define, and a
saved model trusts only those of the module a plug-in is named by (or a module below it).
Before, validate and cross-validation accepted it and train crashed at the save with advice
that could not help (name every plug-in: it was named); now validate refuses it at the key
naming it, and a save or load refused says which name to use."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from gdlab import GDRegressor
from gdlab.config import ConfigError, validate_params
from gdlab.experiment.persist import UntrustedTypes, load_model, save_model

FILES = {
    "__init__.py": "",
    "model.py": '''
        import numpy as np


        class Quadratic:
            def init_params(self, n_features, n_outputs, rng, dtype):
                return [np.zeros((n_features, n_outputs), dtype),
                        np.zeros((n_features, n_outputs), dtype), np.zeros(n_outputs, dtype)]

            def forward(self, params, X):
                w, v, b = params
                return X @ w + (X * X) @ v + b, X

            def backward(self, params, X, dZ, grads):
                grads[0][...] = X.T @ dZ
                grads[1][...] = (X * X).T @ dZ
                grads[2][...] = dZ.sum(axis=0)

            def penalized(self, params):
                return [True, True, False]


        def quadratic():
            return Quadratic()
    ''',
    "sched.py": '''
        from functools import partial


        def _linear(base_lr, total, epoch):
            return base_lr * max(0.1, 1.0 - epoch / total)


        def linear_decay(base_lr, total=50):
            return partial(_linear, base_lr, total)
    ''',
    "api.py": '''
        from origin_pkg.model import Quadratic, quadratic  # noqa: F401
        from origin_pkg.sched import linear_decay  # noqa: F401


        def wrapped_quadratic():
            """A factory of this module building a class of another."""
            return Quadratic()
    ''',
}
SUFFIX = ("(allowed: 'module:factory' of the module defining what it builds)")


@pytest.fixture
def project(tmp_path, monkeypatch):
    package = tmp_path / "origin_pkg"
    package.mkdir()
    for name, text in FILES.items():
        (package / name).write_text(textwrap.dedent(text))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("GDLAB_JIT", "0")
    for module in [m for m in sys.modules if m.split(".")[0] == "origin_pkg"]:
        monkeypatch.delitem(sys.modules, module)
    return tmp_path


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"model": {"kind": "origin_pkg.api:quadratic", "task": "regression"}}, "model.kind",
         "model 'origin_pkg.api:quadratic' builds origin_pkg.model.Quadratic, which its module "
         "'origin_pkg.api' does not define: a saved model trusts only what the module a plug-in "
         "is named by (or a module below it) defines, so train could not save it; name it as "
         "'origin_pkg.model:quadratic' (where Quadratic is defined)"),
        ({"schedule": {"name": "origin_pkg.api:linear_decay"}}, "schedule.name",
         "name it as 'origin_pkg.sched:linear_decay' (where _linear is defined)"),
        ({"schedule": {"name": "warmup", "params": {"warmup_epochs": 2,
                                                    "then": "origin_pkg.api:linear_decay"}}},
         "schedule.params.then",
         "name it as 'origin_pkg.sched:linear_decay' (where _linear is defined)"),
        ({"model": {"kind": "origin_pkg.api:wrapped_quadratic", "task": "regression"}},
         "model.kind", "builds origin_pkg.model.Quadratic, which its module 'origin_pkg.api' "
         "does not define: a saved model trusts only what the module a plug-in is named by (or "
         "a module below it) defines, so train could not save it; define the factory in "
         "origin_pkg.model (where Quadratic is defined) and name it there"),
    ],
    ids=["model", "schedule", "warmup-then", "factory-elsewhere"],
)
def test_validate_refuses_a_reexported_factory_naming_the_key_and_the_name_to_use(
    project, data, path, message
):
    with pytest.raises(ConfigError) as caught:
        validate_params(data, "params.yaml")
    (problem,) = caught.value.problems
    assert problem.path == path
    assert message in problem.message
    assert f"  {path}: " in str(caught.value) and str(caught.value).endswith(SUFFIX)


def test_the_factorys_own_module_or_a_package_above_it_is_accepted(project):
    params = validate_params({
        "model": {"kind": "origin_pkg.model:quadratic", "task": "regression"},
        "schedule": {"name": "origin_pkg.sched:linear_decay", "params": {"total": 20}},
    })
    assert params.model.kind == "origin_pkg.model:quadratic"
    # named from the package above the defining module: trusted there, so accepted
    (project / "origin_pkg" / "__init__.py").write_text(
        "from origin_pkg.model import quadratic  # noqa: F401\n")
    sys.modules.pop("origin_pkg", None)
    assert validate_params({"model": {"kind": "origin_pkg:quadratic",
                                      "task": "regression"}}).model.kind == "origin_pkg:quadratic"


def _fit(**kwargs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    return GDRegressor(max_epochs=3, random_state=0, **kwargs).fit(X, X[:, 0] ** 2), X


def test_a_refused_save_says_which_name_to_use(project):
    model, _ = _fit(model="origin_pkg.api:quadratic", schedule="origin_pkg.api:linear_decay")
    with pytest.raises(UntrustedTypes) as refused:
        save_model(model, project / "model.skops")
    text = str(refused.value)
    assert "refusing to trust: origin_pkg.model.Quadratic, origin_pkg.sched._linear; " in text
    assert ("the plug-in 'origin_pkg.api:linear_decay' builds origin_pkg.sched._linear, which "
            "its module 'origin_pkg.api' does not define: name it as "
            "'origin_pkg.sched:linear_decay' (where _linear is defined)") in text
    assert ("the plug-in 'origin_pkg.api:quadratic' builds origin_pkg.model.Quadratic, which "
            "its module 'origin_pkg.api' does not define: name it as "
            "'origin_pkg.model:quadratic' (where Quadratic is defined)") in text
    assert "load_model(path, plugins=" not in text  # the advice that could not help
    assert not (project / "model.skops").exists()

    renamed, X = _fit(model="origin_pkg.model:quadratic", schedule="origin_pkg.sched:linear_decay")
    save_model(renamed, project / "model.skops")  # the names advised: saved and loaded
    loaded = load_model(project / "model.skops", plugins=["origin_pkg.model:quadratic",
                                                          "origin_pkg.sched:linear_decay"])
    np.testing.assert_array_equal(loaded.predict(X), renamed.predict(X))

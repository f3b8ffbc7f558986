"""The shipped example optimisers (examples/lion.py) and the code in docs/plugins.md."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import gdlab
from examples.lion import lion, sign_sgd
from gdlab import GDClassifier, GDRegressor
from gdlab.core.optim import apply_updates
from gdlab.experiment.persist import load_model, save_model
from tests.plugins.test_optimizer_buffers import rprop

REPO = Path(__file__).resolve().parents[2]


def _lion_reference(theta, grads, lr, b1, b2, wd):
    """Lion as written in Chen et al. (2023), Algorithm 2, one tensor."""
    theta, m = theta.copy(), np.zeros_like(theta)
    out = []
    for g in grads:
        c = b1 * m + (1 - b1) * g
        theta = theta - lr * (np.sign(c) + wd * theta)
        m = b2 * m + (1 - b2) * g
        out.append(theta.copy())
    return out


def _run(opt, theta, grads, lr):
    params = [theta.copy()]
    state = opt.init(params)
    out = []
    for g in grads:
        updates, state = opt.update([g.copy()], state, params, lr)
        apply_updates(params, updates)
        out.append(params[0].copy())
    return out


def test_lion_follows_the_paper():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) for _ in range(6)]
    got = _run(lion(b1=0.8, b2=0.95, weight_decay=0.1), theta, grads, 0.01)
    want = _lion_reference(theta, grads, 0.01, 0.8, 0.95, 0.1)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_sign_sgd_and_signum():
    theta = np.array([1.0, -2.0, 3.0])
    grads = [np.array([0.5, -0.1, 0.0]), np.array([-1.0, -0.1, 2.0])]
    got = _run(sign_sgd(), theta, grads, 0.1)
    np.testing.assert_allclose(got[0], theta - 0.1 * np.sign(grads[0]))
    np.testing.assert_allclose(got[1], got[0] - 0.1 * np.sign(grads[1]))
    m1 = 0.1 * grads[0]
    m2 = 0.9 * m1 + 0.1 * grads[1]
    got = _run(sign_sgd(momentum=0.9), theta, grads, 0.1)
    np.testing.assert_allclose(got[1], theta - 0.1 * np.sign(m1) - 0.1 * np.sign(m2))
    with pytest.raises(ValueError, match="momentum"):
        sign_sgd(momentum=1.0)


def test_lion_by_import_path_reaches_the_least_squares_optimum(monkeypatch):
    monkeypatch.setenv("GDLAB_JIT", "0")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = X @ [1.5, -2.0, 0.5] + 0.3 + rng.normal(scale=0.1, size=300)
    est = GDRegressor(optimizer="examples.lion:lion", optimizer_params={"b2": 0.99},
                      learning_rate=0.05, schedule="exponential",
                      schedule_params={"gamma": 0.99}, batch_size=None, max_epochs=600,
                      tol=None, alpha=0.0, random_state=0).fit(X, y)
    optimum = np.linalg.lstsq(np.column_stack([X, np.ones(300)]), y, rcond=None)[0]
    # sign steps of a decaying size settle within about the last step size of the optimum
    np.testing.assert_allclose(np.append(est.coef_, est.intercept_), optimum, atol=2e-4)


def test_a_model_trained_with_lion_is_saved_and_loaded_for_the_registry(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    pipe = Pipeline([("preprocess", StandardScaler()),
                     ("model", GDClassifier(optimizer="examples.lion:lion", learning_rate=0.01,
                                            batch_size=32, max_epochs=20, tol=None,
                                            random_state=0))])
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    save_model(pipe, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def _doc_blocks() -> list[str]:
    text = (REPO / "docs" / "plugins.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _torch_block() -> str:
    (block,) = [b for b in _doc_blocks() if "import torch" in b]
    return block


def test_the_docs_torch_comparison_passes_the_built_ins_and_catches_a_wrong_one():
    """The recipe docs/plugins.md gives for testing a plug-in against torch.optim runs as
    written, accepts gdlab's own Adam and SGD and refuses an Adam with a slip."""
    torch = pytest.importorskip("torch")
    from gdlab.core.optim import adam, chain, scale_by_adam, scale_by_learning_rate, sgd

    namespace: dict = {}
    exec(compile(_torch_block(), "docs/plugins.md", "exec"), namespace)  # noqa: S102
    check = namespace["assert_matches_torch"]
    check(adam(weight_decay=0.01), torch.optim.Adam, weight_decay=0.01)
    check(sgd(momentum=0.9, nesterov=True), torch.optim.SGD, momentum=0.9, nesterov=True)
    slipped = chain(scale_by_adam(b2=0.99), scale_by_learning_rate())  # torch: 0.999
    with pytest.raises(AssertionError):
        check(slipped, torch.optim.Adam)
    # it reuses one gradient buffer, as training does: an Rprop keeping grads fails it (the
    # recipe handed a fresh copy each step, and passed it while training went wrong)
    check(rprop(copy=True), torch.optim.Rprop)
    with pytest.raises(AssertionError):
        check(rprop(), torch.optim.Rprop)


def test_the_docs_examples_run_and_check_grad_catches_a_wrong_gradient(monkeypatch):
    monkeypatch.setenv("GDLAB_JIT", "0")
    blocks = [b for b in _doc_blocks() if "import torch" not in b]
    assert len(blocks) == 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/plugins.md", "exec"), namespace)  # noqa: S102
    # the documented optimiser and schedule drive an estimator, as plug-ins would
    import types

    module = types.ModuleType("doc_plugins")
    module.__dict__.update(namespace)
    monkeypatch.setitem(sys.modules, "doc_plugins", module)
    X = np.random.default_rng(0).normal(size=(40, 3))
    est = GDRegressor(optimizer="doc_plugins:sign_descent", learning_rate=0.01,
                      schedule="doc_plugins:halving", schedule_params={"every": 2},
                      max_epochs=5, tol=None, random_state=0).fit(X, X[:, 0])
    np.testing.assert_allclose(est.history_["learning_rate"], [0.01, 0.01, 0.005, 0.005, 0.0025])
    assert est.history_["loss"][-1] < est.history_["loss"][0]
    assert namespace["result"].ok

    class Wrong(namespace["Quadratic"]):
        def backward(self, params, cache, dZ, grads):
            super().backward(params, cache, dZ, grads)
            grads[1] *= 2.0  # a typical slip: a factor 2 on the square term

    bad = gdlab.check_grad(Wrong(), namespace["X"], namespace["y"], alpha=0.01)
    assert not bad.ok and bad.max_abs_error > 1e-3


@pytest.mark.parametrize("optimizer", [
    {"name": "examples.lion:lino"},
    {"name": "my_opts:lion"},
    {"name": "examples.lion:lion", "params": {"b3": 0.5}},
])
def test_the_validate_lines_docs_plugins_md_quotes_are_the_real_ones(optimizer, monkeypatch):
    from gdlab.config import ConfigError, validate_params

    monkeypatch.chdir(REPO)
    with pytest.raises(ConfigError) as refused:
        validate_params({"optimizer": optimizer, "tune": {"enabled": False}}, "params.yaml")
    (line,) = [s for s in str(refused.value).splitlines() if s.startswith("  optimizer.")]
    text = (REPO / "docs" / "plugins.md").read_text()
    assert line.replace(str(REPO), "/path/to/project") in text.splitlines()

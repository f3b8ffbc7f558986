"""Every public parameter of the estimators is documented in their docstrings (issue 2, build 7)."""

import inspect
import re

import pytest

from gdlab import GDClassifier, GDRegressor
from gdlab.core.optim import OPTIMIZERS
from gdlab.core.schedules import SCHEDULES


def _section(doc: str, title: str) -> str:
    start = doc.index(f"    {title}\n    {'-' * len(title)}\n")
    rest = doc[start + 2 * (len(title) + 5):]
    end = re.search(r"^    \w+\n    -+\n", rest, flags=re.M)
    return rest if end is None else rest[: end.start()]


def _entries(section: str) -> dict[str, str]:
    """``name -> description`` of a numpydoc section (entries ``    name : type``)."""
    out, name = {}, None
    for line in section.splitlines():
        head = re.match(r"^    (\w+(?:, \w+)*) :", line) or re.match(r"^    (\w+)$", line)
        if head:
            name = head.group(1)
            out[name] = ""
        elif name is not None:
            out[name] += line.strip() + " "
    return out


@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_every_constructor_parameter_is_documented(estimator):
    params = set(inspect.signature(estimator.__init__).parameters) - {"self"}
    documented = _entries(_section(estimator.__doc__, "Parameters"))
    assert set(documented) == params, (params - set(documented), set(documented) - params)
    assert all(len(text) > 20 for text in documented.values()), documented


@pytest.mark.parametrize("estimator,extra", [
    (GDRegressor, {"coef_", "intercept_"}),
    (GDClassifier, {"coef_", "intercept_", "classes_"}),
])
def test_fitted_attributes_are_documented(estimator, extra):
    attributes = set()
    for name in _entries(_section(estimator.__doc__, "Attributes")):
        attributes.update(name.split(", "))
    assert {"n_features_in_", "feature_names_in_", "model_", "n_iter_", "loss_curve_",
            "history_", *extra} <= attributes


@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_optimizer_and_schedule_parameters_are_named_in_the_docs(estimator):
    documented = _entries(_section(estimator.__doc__, "Parameters"))
    for name, factory in OPTIMIZERS.items():
        for param in inspect.signature(factory).parameters:
            assert f"``{param}``" in documented["optimizer_params"], (name, param)
    for name, factory in SCHEDULES.items():
        for param in list(inspect.signature(factory).parameters)[1:]:  # after base_lr
            assert f"``{param}``" in documented["schedule_params"], (name, param)


PRESETS = {"momentum": "sgd", "nesterov": "sgd"}
"""Optimisers that are another one with set options: their docstring points to its formula."""


def test_optimizers_and_schedules_give_their_formula():
    for name, factory in {**OPTIMIZERS, **SCHEDULES}.items():
        doc = inspect.getdoc(factory) or ""
        if name in PRESETS:
            assert f":func:`{PRESETS[name]}`" in doc, name
            continue
        # an update rule or a closed form (not merely "name=value" options)
        assert re.search(r"[←·γ]", doc), name


@pytest.mark.parametrize("estimator", [GDRegressor, GDClassifier])
def test_eval_set_in_a_pipeline_is_not_transformed_as_its_docstring_says(estimator):
    """scikit-learn hands ``step__eval_set`` to the estimator as given: the docstring warns,
    and its recipe (transform X_val with the fitted preprocessing) gives the validation
    loss of the scaled features."""
    import numpy as np
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = 100.0 + 50.0 * rng.normal(size=(80, 3))
    y = X @ [0.01, 0.02, 0.03]
    y = y if estimator is GDRegressor else (y > np.median(y)).astype(int)
    Xv, yv = X[:20], y[:20]
    kw = {"max_epochs": 3, "tol": None, "random_state": 0}
    name = estimator.__name__.lower()
    pipe = make_pipeline(StandardScaler(), estimator(**kw))
    pipe.fit(X, y, **{f"{name}__eval_set": (Xv, yv)})
    pre = pipe[:-1]
    raw = estimator(**kw).fit(pre.transform(X), y, eval_set=(Xv, yv))  # Xv as given
    recipe = estimator(**kw).fit(pre.transform(X), y, eval_set=(pre.transform(Xv), yv))
    assert pipe[-1].history_["val_loss"] == raw.history_["val_loss"]
    assert recipe.history_["val_loss"] != raw.history_["val_loss"]
    doc = inspect.getdoc(estimator.fit)
    assert f"{name}__eval_set" in doc and "untransformed" in doc
    assert "pre.transform(X_val)" in doc and "validation_fraction" in doc

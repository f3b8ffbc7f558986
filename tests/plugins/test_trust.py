"""A saved model trusts the modules of the plug-ins params.yaml names in the fields that take
one (model.kind, optimizer.name, schedule.name, schedule.params.then, and the compare values
or tune.space choices that replace them), never a free-text value of the same form."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import skops.io as sio

from gdlab.config import validate_params
from gdlab.config.docs import iter_fields
from gdlab.config.plugin_path import PLUGIN_FIELDS, import_paths
from gdlab.experiment import build_pipeline
from gdlab.experiment.persist import load_model, save_model

PLUGIN = "trust_plugins:halving"
MODULE = textwrap.dedent('''
    from functools import partial


    def _halving(base_lr, every, epoch):
        return base_lr * 0.5 ** (epoch // every)


    def halving(base_lr, every=10):
        return partial(_halving, base_lr, every)
''')
# free text in the form of an import path, in fields that name no plug-in
FREE_TEXT = {
    "model_card": {"owner": "os:system", "intended_use": "subprocess:run"},
    "tracking": {"experiment": "os:popen"},
    "compare": {"vary": "train.batch_size", "values": [16, 32]},
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "trust_plugins.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("GDLAB_JIT", "0")
    monkeypatch.delitem(sys.modules, "trust_plugins", raising=False)
    return tmp_path


def test_plugin_fields_are_the_schema_fields_that_accept_an_import_path():
    documented = {f.path for f in iter_fields() if "'package.module:factory'" in (f.allowed or "")}
    assert set(PLUGIN_FIELDS) == documented


def test_free_text_in_import_path_form_does_not_widen_trust(tmp_path):
    params = validate_params(FREE_TEXT)
    assert import_paths(params) == []
    assert import_paths(params.model_dump(mode="json")) == []
    # os.popen and subprocess.run as skops names them: refused, as without the free text
    for payload in (functools.partial(os.popen, "true"), functools.partial(subprocess.run, [])):
        path = tmp_path / "model.skops"
        path.write_bytes(sio.dumps(payload))
        with pytest.raises(ValueError, match=r"refusing to trust: .*(os\.popen|subprocess\.run)"):
            load_model(path, plugins=import_paths(params))


@pytest.mark.parametrize(
    "named",
    [
        {"schedule": {"name": PLUGIN, "params": {"every": 5}}},
        {"schedule": {"name": "warmup", "params": {"warmup_epochs": 2, "then": PLUGIN}}},
        {"compare": {"vary": "schedule.name", "values": ["constant", PLUGIN]}},
        {"tune": {"space": {"schedule.name": {"choices": ["constant", PLUGIN]}}}},
    ],
    ids=["schedule.name", "warmup-then", "compare-values", "tune-choices"],
)
def test_a_real_plugin_is_still_trusted(named, project):
    params = validate_params({**FREE_TEXT, **named})
    assert import_paths(params) == [PLUGIN]
    trained = validate_params(
        {"model": {"task": "regression"}, "schedule": {"name": PLUGIN}, "train": {"max_epochs": 8}}
    )
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = build_pipeline(trained).fit(X, y)
    assert "trust_plugins:halving" in import_paths(model)  # the estimator's schedule
    assert "trust_plugins._halving" in save_model(model, project / "model.skops")
    loaded = load_model(project / "model.skops", plugins=import_paths(params))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_fitted_warmup_names_its_then_plugin(project):
    params = validate_params(
        {"schedule": {"name": "warmup", "params": {"warmup_epochs": 2, "then": PLUGIN}},
         "model": {"task": "regression"}, "train": {"max_epochs": 6}}
    )
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    model = build_pipeline(params).fit(X, X[:, 0])
    assert import_paths(model) == [PLUGIN]


def _not_importable(monkeypatch, directory, module):
    """``module`` (a file in ``directory``) no longer importable: off ``sys.path`` and out of
    ``sys.modules``, as in another working directory without PYTHONPATH."""
    here = os.path.abspath(directory)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if os.path.abspath(p or ".") != here])
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.chdir(directory.parent)


def test_a_named_plugin_that_cannot_be_imported_is_said_so_not_untrusted(project, monkeypatch):
    """Loading from another directory with the plug-in named: the error says its module
    cannot be imported and what to do, not that its types are untrusted or the plug-in was
    not named (advice that cannot help)."""
    from gdlab import GDRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    model = GDRegressor(schedule=PLUGIN, max_epochs=3, random_state=0).fit(X, X[:, 0])
    save_model(model, project / "model.skops")
    _not_importable(monkeypatch, project, "trust_plugins")
    with pytest.raises(ValueError) as refused:
        load_model(project / "model.skops", plugins=[PLUGIN])
    assert str(refused.value) == (
        "cannot import module 'trust_plugins' (No module named 'trust_plugins'): run from the "
        "project directory (where the plug-in's package lives) or put it on PYTHONPATH")
    with pytest.raises(ValueError, match="refusing to trust: trust_plugins._halving"):
        load_model(project / "model.skops")  # not named: untrusted, as before

"""skops round trip trusting only gdlab's own types."""

import functools
import os

import numpy as np
import pytest

from gdlab.experiment import fit_pipeline
from gdlab.experiment.persist import load_model, save_model, trusted_types

from .conftest import make_pipeline


def test_round_trip(tmp_path, classification_data):
    X, y = classification_data
    model = fit_pipeline(make_pipeline("classification", 5), X, y).model
    types = save_model(model, tmp_path / "m" / "model.skops")
    assert any(t.startswith("gdlab.") for t in types)
    loaded = load_model(tmp_path / "m" / "model.skops")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_foreign_types_are_refused():
    with pytest.raises(ValueError, match="refusing to trust"):
        trusted_types({"f": functools.partial(os.system, "true")})


@pytest.mark.parametrize("missing", ["mean", "median", "most_frequent"])
@pytest.mark.parametrize("degree", [1, 2])
def test_every_configurable_preprocessing_saves_and_loads(tmp_path, missing, degree):
    from pathlib import Path

    from gdlab.config import load_params, with_overrides
    from gdlab.experiment import build_pipeline

    repo_params = load_params(Path(__file__).resolve().parents[2] / "params.yaml")
    params = with_overrides(repo_params, {"data.missing": missing, "train.max_epochs": 3,
                                          "preprocess.polynomial_degree": degree})
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    X[[2, 7], [1, 0]] = np.nan  # what the imputer is there for
    model = build_pipeline(params).fit(X, y)
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def _model_file(model, path, clock: float):
    """``save_model``'s bytes when the wall clock reads ``clock``."""
    import time
    from unittest import mock

    with mock.patch.object(time, "time", return_value=clock):
        save_model(model, path)
    return path.read_bytes()


def test_identical_trainings_give_identical_files(tmp_path, classification_data):
    """skops names members and references after id() and stamps the current time, and the
    estimators record each epoch's wall-clock time: two identical trainings, saved an hour
    apart, wrote different bytes."""
    X, y = classification_data
    model = fit_pipeline(make_pipeline("classification", 5), X, y).model
    twin = fit_pipeline(make_pipeline("classification", 5), X, y).model  # other id()s, times
    first = _model_file(model, tmp_path / "a.skops", 1.8e9)
    second = _model_file(twin, tmp_path / "b.skops", 1.8e9 + 3600)
    assert first == second
    loaded = load_model(tmp_path / "b.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded[-1].history_["loss"] == model[-1].history_["loss"]
    assert loaded[-1].history_["time"] == [None] * model[-1].n_iter_  # not recorded
    assert all(t > 0 for t in model[-1].history_["time"])  # the model itself keeps its times


def test_canonical_bytes_keep_shared_references_and_every_member():
    import io
    import zipfile

    import skops.io as sio

    from gdlab.experiment.persist import canonical_bytes

    shared = np.arange(6.0).reshape(2, 3)
    obj = {"a": shared, "b": shared, "c": np.ones(4), "raw": b"\x00\x01"}
    data = canonical_bytes(sio.dumps(obj))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(names) == ["1.npy", "2.npy", "3.bin", "schema.json"]  # shared array once
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert loaded["a"] is loaded["b"]
    np.testing.assert_array_equal(loaded["a"], shared)
    np.testing.assert_array_equal(loaded["c"], np.ones(4))
    assert loaded["raw"] == b"\x00\x01"
    assert canonical_bytes(data) == data  # already canonical


def test_skops_is_imported_only_by_a_save_or_load():
    # importing skops walks every scikit-learn module (and torch, when installed): the stages
    # that never save or load a model (register, compare) and fold workers must not pay it
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    code = (
        "import sys, runpy\n"
        "for stage in ('register', 'compare', 'train', 'evaluate'):\n"
        "    source = open(f'pipeline/{stage}.py').read().split('\\ndef main')[0]\n"
        "    exec(compile(source, stage, 'exec'), {'__name__': stage})\n"
        "import gdlab.experiment, gdlab.tracking, gdlab.experiment.persist as persist\n"
        "assert 'skops' not in sys.modules, 'skops imported before any save or load'\n"
        "persist.trusted_types({'a': 1})\n"
        "assert 'skops.io' in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo, env=env)

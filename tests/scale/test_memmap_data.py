"""Issue 7, acceptance 3 (the parts that are tests; the 10M-row peak-RSS figure is the
``python -m bench --only memmap`` benchmark): prepare also stores the rows as ``.npy`` arrays,
``load_prepared(mmap=True)`` / ``open_arrays`` map them with ``np.load(mmap_mode="r")`` (same
values as the Parquet files), and training mini-batch from the map gives the same model as
from memory without copying X."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gdlab.config import validate_params
from gdlab.data import DataError, load_prepared, prepare_dataset
from gdlab.data.prepared import open_arrays


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    params = validate_params(
        {
            "data": {
                "synthetic": {
                    "n_samples": 300,
                    "n_features": 5,
                    "n_informative": 3,
                    "sensitive_group": True,
                },
                "sensitive": "group",
            },
            "cv": {"folds": 3, "n_jobs": 1},
            "train": {"max_epochs": 6, "tol": None},
            "compare": {"enabled": False},
        },
        "test",
    )
    directory = tmp_path_factory.mktemp("prepared")
    prepare_dataset(params, directory)
    return params, directory


def test_npy_arrays_hold_the_parquet_values_and_are_hashed(prepared):
    _, directory = prepared
    meta = json.loads((directory / "meta.json").read_text())
    assert {"X_train.npy", "y_train.npy", "X_test.npy", "y_test.npy"} <= set(meta["sha256"])
    parquet = load_prepared(directory)
    mapped = load_prepared(directory, mmap=True)
    for name in ("X_train", "y_train", "X_test", "y_test"):
        array = getattr(mapped, name)
        assert isinstance(array, np.memmap) and not array.flags.writeable, name
        assert array.dtype == np.float64
        np.testing.assert_array_equal(array, getattr(parquet, name))
    assert mapped.X_train.flags.c_contiguous and mapped.X_train.shape == (240, 5)
    np.testing.assert_array_equal(mapped.sensitive_train, parquet.sensitive_train)
    assert mapped.digest == parquet.digest and mapped.feature_names == parquet.feature_names


def test_changed_or_missing_npy_is_refused(prepared, tmp_path):
    _, directory = prepared
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    X = np.load(copy / "X_train.npy")
    X[0, 0] += 1.0
    np.save(copy / "X_train.npy", X)
    with pytest.raises(DataError, match="X_train.npy changed after it was prepared"):
        load_prepared(copy, mmap=True)
    (copy / "y_test.npy").unlink()
    with pytest.raises(DataError, match="y_test.npy"):
        open_arrays(copy, "test")


def test_training_from_the_memory_map_equals_training_in_memory(prepared):
    from gdlab.experiment import run_training

    params, directory = prepared
    mapped = load_prepared(directory, mmap=True)
    in_memory = load_prepared(directory)
    a = run_training(params, mapped.X_train, mapped.y_train, progress=False)
    b = run_training(params, in_memory.X_train, in_memory.y_train, progress=False)
    for fa, fb in zip(a.cv.folds, b.cv.folds, strict=True):  # folds gather rows: exact
        assert fa.curves == fb.curves and fa.scores == fb.scores
    # the refit scales X where it lies: numpy's SIMD sums may round the last bit differently
    # for a differently aligned buffer
    assert set(a.refit.curves) == set(b.refit.curves)
    for key, curve in a.refit.curves.items():
        other = b.refit.curves[key]
        assert [v is None for v in curve] == [v is None for v in other], key
        mine = [u for u in curve if u is not None]
        theirs = [v for v in other if v is not None]
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)


def test_minibatch_fit_streams_from_the_map_without_copying_x(tmp_path):
    """The estimator reads mini-batches from ``np.load(mmap_mode="r")``: the Python heap never
    holds a copy of X (tracemalloc sees numpy's allocations)."""
    import tracemalloc

    from bench.memmap import generate
    from gdlab import GDRegressor

    n, d = 200_000, 20
    generate(tmp_path, n, d)
    X, y = open_arrays(tmp_path, "train")
    assert isinstance(X, np.memmap) and X.dtype == np.float32 and X.shape == (n, d)
    kwargs = {"batch_size": 256, "max_epochs": 1, "tol": None, "optimizer": "sgd",
              "learning_rate": 0.01, "dtype": "float32", "random_state": 0}
    GDRegressor(**kwargs).fit(X[:512], y[:512])  # imports and compilation first
    tracemalloc.start()
    try:
        est = GDRegressor(**kwargs).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes, f"peak {peak} bytes for X of {X.nbytes}"
    reference = GDRegressor(**kwargs).fit(np.asarray(X).copy(), np.asarray(y).copy())
    np.testing.assert_array_equal(est.coef_, reference.coef_)
    assert est.loss_curve_[-1] < 0.1

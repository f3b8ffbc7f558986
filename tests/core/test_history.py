"""The stored form of a history: arrays with NaN for None, and back to the same lists."""

import pickle

import numpy as np
import skops.io as sio

from gdlab import GDRegressor
from gdlab.core.history import pack_history, unpack_history
from gdlab.experiment.persist import trusted_types


def test_pack_unpack_round_trip_keeps_none_and_values():
    history = {"loss": [3.0, 2.5, 0.1], "val_loss": [None, None, None], "time": []}
    packed = pack_history(history)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in packed.values())
    assert unpack_history(packed) == history
    assert unpack_history(history) == history  # lists (older files) pass through


def _fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=200)
    return GDRegressor(batch_size=16, max_epochs=150, tol=None, random_state=1).fit(X, y), X, y


def test_saved_model_keeps_lists_and_is_compact():
    est, X, y = _fitted()
    data = sio.dumps(est)
    loaded = sio.loads(data, trusted=trusted_types(data=data))
    assert loaded.history_ == est.history_ and loaded.loss_curve_ == est.loss_curve_
    assert loaded.history_["val_loss"] == [None] * 150
    assert all(type(v) is float for v in loaded.loss_curve_)
    # the 150 epochs x 5 curves x 2 copies as JSON nodes took 0.53 MB; as arrays ~60 KB in all
    assert len(data) < 100_000, len(data)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_pickled_model_continues_training_exactly_like_the_original():
    est, X, y = _fitted()
    copy = pickle.loads(pickle.dumps(est))
    assert copy._state.history == est._state.history
    est.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(copy.coef_, est.coef_)
    assert copy.loss_curve_ == est.loss_curve_ and len(est.loss_curve_) == 151

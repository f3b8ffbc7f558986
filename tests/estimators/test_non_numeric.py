"""A DataFrame column of text is refused naming the column
(:mod:`gdlab.estimators.non_numeric`): scikit-learn's "could not convert string to float:
'a'" or "Cannot cast str dtype to float64" named none."""

import numpy as np
import pandas as pd
import pytest

from gdlab import GDClassifier, GDRegressor


def _frame(kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    city = rng.choice(["Paris", "Oslo"], 40)
    column = {"category": pd.Categorical(city), "object": city.astype(object),
              "string": pd.array(city, dtype="string")}[kind]
    return pd.DataFrame({"size": rng.normal(size=40), "city": column})


@pytest.mark.parametrize("kind", ["category", "object", "string"])
@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
def test_a_text_column_is_refused_by_name(kind, Estimator):
    X = _frame(kind)
    y = np.arange(40) % 2
    with pytest.raises(ValueError) as info:
        Estimator(max_epochs=2).fit(X, y)
    msg = str(info.value)
    assert msg.startswith(f"{Estimator.__name__} needs numbers in X: column 'city' (")
    assert f"holds {X['city'].iloc[0]!r}" in msg and "'size'" not in msg
    assert "OneHotEncoder" in msg


def test_predict_names_the_text_column_too():
    X = _frame("category")
    est = GDRegressor(max_epochs=2, tol=None).fit(X[["size"]].assign(city=1.0), np.arange(40.0))
    with pytest.raises(ValueError, match=r"column 'city' \(category\) holds"):
        est.predict(X)


def test_a_categorical_of_numbers_still_fits():
    X = _frame("category").assign(city=pd.Categorical(np.arange(40) % 3))
    GDRegressor(max_epochs=2, tol=None).fit(X, np.arange(40.0))


@pytest.mark.parametrize("dates", [
    pd.date_range("2024-01-01", periods=40, freq="D"),
    pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC"),
    pd.to_timedelta(np.arange(40), unit="h"),
])
def test_a_date_column_is_named_beside_the_text_ones(dates):
    """numpy accepted a datetime column as floats in the column check, so it was never named;
    encoding the text columns named then gave numpy's DTypePromotionError, naming none."""
    X = _frame("string").assign(day=dates)
    with pytest.raises(ValueError) as info:
        GDRegressor(max_epochs=2).fit(X, np.arange(40.0))
    msg = str(info.value)
    assert "column 'city' (string) holds" in msg and "column 'day' (" in msg
    with pytest.raises(ValueError, match=r"needs numbers in X: column 'day' \("):
        GDRegressor(max_epochs=2).fit(X.drop(columns="city"), np.arange(40.0))

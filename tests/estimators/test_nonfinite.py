"""predict refuses NaN and infinity naming the columns and rows (scikit-learn's own check only
says "Input X contains NaN"), and still raises the ValueError scikit-learn's checks expect."""

import re

import numpy as np
import pandas as pd
import pytest

from gdlab import GDClassifier, GDRegressor


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((40, 3)), columns=["age", "income", "score"])
    return X, X["age"].to_numpy() - X["score"].to_numpy()


def test_predict_names_the_columns_and_rows_of_nan_and_infinity(frame):
    X, y = frame
    model = GDRegressor(max_epochs=5, tol=None).fit(X, y)
    bad = X.copy()
    bad.iloc[2, 1] = np.nan
    bad.iloc[[4, 7], 2] = [np.inf, -np.inf]
    with pytest.raises(ValueError) as info:
        model.predict(bad)
    message = str(info.value)
    assert message.startswith("GDRegressor needs finite numbers in X: ")
    assert "column 'income' holds NaN in row 2" in message
    assert "column 'score' holds infinity in rows 4, 7" in message
    assert "'age'" not in message  # a clean column is not blamed
    assert "rows count from 0" in message and "SimpleImputer" in message
    # the rows named are the ones that break it: without them predict answers
    good = bad.drop(index=[2, 4, 7])
    np.testing.assert_allclose(model.predict(good), model.predict(X.drop(index=[2, 4, 7])))
    # other input errors keep scikit-learn's message
    with pytest.raises(ValueError, match="X has 2 features, but GDRegressor is expecting 3"):
        model.predict(X.to_numpy()[:, :2])


def test_predict_numbers_the_columns_without_feature_names_and_bounds_the_rows(frame):
    X, y = frame
    model = GDClassifier(max_epochs=5, tol=None).fit(X.to_numpy(), y > 0)
    bad = X.to_numpy().copy()
    bad[3:20, 0] = np.nan  # 17 rows: five listed, then how many more
    for method in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(ValueError, match=re.escape(
            "GDClassifier needs finite numbers in X: column 0 holds NaN in rows 3, 4, 5, 6, 7 "
            "and 12 more (rows count from 0)"
        )):
            method(bad)



def test_a_feature_name_holding_the_word_nan_is_no_refusal_of_nan(frame):
    # the kinds were read from any mention of "NaN" in an error: a feature-name mismatch
    # naming a column 'x_NaN' was taken for a NaN refusal and checked again inside the handler
    X, y = frame
    model = GDRegressor(max_epochs=3, tol=None).fit(X, y)
    renamed = X.rename(columns={"age": "x_NaN"})
    with pytest.raises(ValueError, match="x_NaN") as info:
        model.predict(renamed)
    assert info.value.__context__ is None  # raised once, not re-raised while handling another
    assert "needs finite numbers" not in str(info.value)

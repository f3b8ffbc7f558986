"""Every data check fires with a message naming the key, column and rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gdlab.data import DataError, RawTable, check_table
from gdlab.data.files import read_csv, read_parquet


def table(frame: pd.DataFrame, target: str = "y", **kw) -> RawTable:
    return RawTable(frame=frame, target=target, source="test", **kw)


def refused(tab: RawTable, match: str, **kw) -> str:
    kw.setdefault("task", "regression")
    with pytest.raises(DataError, match=match) as info:
        check_table(tab, **kw)
    return str(info.value)


REG = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0], "y": [1.0, 2, 3, 5]})


# --- files ---------------------------------------------------------------------------------


def test_file_not_found(tmp_path):
    with pytest.raises(DataError, match="data.path: file .* not found"):
        read_csv(tmp_path / "nope.csv", "y")


def test_empty_file(write_csv):
    with pytest.raises(DataError, match="data.path: file .* is empty"):
        read_csv(write_csv(""), "y")


def test_header_only_file(write_csv):
    tab = read_csv(write_csv("a,y\n"), "y")
    refused(tab, "has a header but no rows")


def test_wrong_delimiter(write_csv):
    with pytest.raises(
        DataError, match="data.delimiter: .* single column .* set data.delimiter: ';'"
    ):
        read_csv(write_csv("a;b;y\n1;2;3\n"), "y")


def test_undecodable_encoding_names_the_line(write_csv):
    path = write_csv("a,y\n1,2\ncaf\u00e9,3\n", encoding="latin-1")
    with pytest.raises(DataError, match="data.encoding: .* not valid utf-8 at line 3"):
        read_csv(path, "y")
    assert read_csv(path, "y", encoding="latin-1").frame.shape == (2, 2)


def test_duplicated_column_names_in_csv(write_csv):
    with pytest.raises(DataError, match="duplicated column names: 'a'"):
        read_csv(write_csv("a,a,y\n1,2,3\n"), "y")


def test_unnamed_column_in_csv(write_csv):
    with pytest.raises(DataError, match="have no name"):
        read_csv(write_csv(",a,y\n0,1,2\n"), "y")


def test_ragged_rows(write_csv):
    with pytest.raises(DataError, match="cannot be parsed"):
        read_csv(write_csv("a,y\n1,2\n1,2,3,4\n"), "y")


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "d.parquet"
    path.write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_parquet(path, "y")


# --- shape and columns ---------------------------------------------------------------------


def test_single_row():
    refused(table(REG.head(1)), "single row")


def test_duplicated_column_names_in_frame():
    frame = pd.DataFrame([[1, 2, 3], [4, 5, 6]], columns=["a", "a", "y"])
    refused(table(frame), "duplicated column names: 'a'")


def test_missing_target_column_suggests_a_name():
    msg = refused(table(REG, target="Y"), "data.target: column 'Y' not found")
    assert "did you mean 'y'?" in msg


def test_missing_sensitive_column():
    refused(table(REG, sensitive="sex"), "data.sensitive: column 'sex' not found")


def test_no_feature_columns():
    refused(table(REG[["y"]]), "no feature columns")


# --- target --------------------------------------------------------------------------------


def test_constant_target():
    refused(table(REG.assign(y=1.0)), "data.target: .* is constant")


def test_missing_target_values_name_rows():
    refused(table(REG.assign(y=[1.0, np.nan, 2.0, 3.0])), r"missing values at row 1\b")


def test_infinite_target():
    refused(table(REG.assign(y=[1.0, np.inf, 2.0, 3.0])), "target column 'y' has infinite")


def test_infinite_class_label_names_the_row_not_mixed_types():
    msg = refused(
        table(REG.assign(y=[0.0, 1.0, -np.inf, 1.0])),
        r"target column 'y' has infinite values at row 2\b",
        task="classification",
    )
    assert "mixes value types" not in msg


def test_text_target_for_regression():
    refused(table(REG.assign(y=["a", "b", "a", "b"])), "model.task: regression needs a numeric")


def test_single_class():
    refused(table(REG.assign(y=[1, 1, 1, 1])), "single class", task="classification")


def test_continuous_target_for_classification():
    refused(
        table(REG.assign(y=[0.5, 1.5, 2.25, 3.0])),
        "set model.task: regression",
        task="classification",
    )


def test_too_few_rows_per_class():
    frame = pd.DataFrame({"a": range(7), "y": ["a", "a", "a", "b", "b", "b", "c"]})
    msg = refused(
        table(frame), "data.min_rows_per_class", task="classification", min_rows_per_class=3
    )
    assert "1 of the 3 classes of 'y' have fewer than 3 rows: 'c': 1;" in msg
    assert "'a'" not in msg


def test_many_rare_classes_are_counted_not_all_listed():
    # 200 singleton classes gave a one-line message of ~3 kB
    frame = pd.DataFrame({"a": range(210), "y": [*range(200), *([999] * 10)]})
    msg = refused(
        table(frame), "data.min_rows_per_class", task="classification", min_rows_per_class=2
    )
    assert "200 of the 201 classes of 'y' have fewer than 2 rows: 0: 1, 1: 1," in msg
    assert "9: 1 and 190 more;" in msg and "10: 1" not in msg
    assert len(msg) < 400


def test_whole_number_quantity_for_classification_suggests_regression():
    # a house price in whole euros is "multiclass" to scikit-learn: with model.task left at
    # params.yaml's classification the message only said to collect rows or merge classes
    frame = pd.DataFrame({"a": range(40), "y": [100_000 + 1_000 * i for i in range(40)]})
    msg = refused(table(frame), "data.min_rows_per_class", task="classification")
    assert "40 distinct numbers in 40 rows" in msg
    assert msg.endswith("set model.task: regression")


def test_rare_text_classes_do_not_suggest_regression():
    frame = pd.DataFrame({"a": range(12), "y": [*"abcdefghij", "k", "k"]})
    msg = refused(table(frame), "data.min_rows_per_class", task="classification")
    assert "model.task" not in msg


def test_a_few_rare_numeric_classes_do_not_suggest_regression():
    frame = pd.DataFrame({"a": range(13), "y": [0] * 6 + [1] * 6 + [2]})
    msg = refused(table(frame), "data.min_rows_per_class", task="classification")
    assert "1 of the 3 classes" in msg and "model.task" not in msg


# --- features ------------------------------------------------------------------------------


def test_missing_values_refused_names_column_and_rows():
    frame = REG.assign(a=[1.0, np.nan, 3.0, np.nan])
    msg = refused(table(frame, first_line=2), "data.missing: missing values are refused")
    assert "column 'a': 2 missing at rows 1, 3 (file lines 3, 5)" in msg


def test_missing_values_kept_for_imputation():
    checked = check_table(
        table(REG.assign(a=[1.0, np.nan, 3.0, 4.0])), task="regression", missing="median"
    )
    assert np.isnan(checked.features["a"][1])


def test_all_missing_column_refused_even_when_imputing():
    refused(table(REG.assign(a=np.nan)), "no values at all", missing="mean")


def test_infinite_feature_names_column_and_row():
    refused(table(REG.assign(b=[0.0, 1.0, -np.inf, 1.0])), r"column 'b' at row 2")


def test_non_numeric_refused():
    refused(
        table(REG.assign(c=["x", "y", "x", "y"])),
        "data.categorical: non-numeric feature column.* 'c'",
        categorical="refuse",
    )


def test_a_missing_text_value_is_no_level_when_imputing():
    """As data.missing documents: a text column's missing value is not imputed, its row
    holds no level (every one-hot column 0), and the levels stay those seen."""
    checked = check_table(
        table(REG.assign(c=["x", None, "y", "x"])), task="regression", missing="most_frequent"
    )
    dummies = checked.features[["c=x", "c=y"]].to_numpy()
    assert dummies.tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    assert not any("nan" in c.lower() or "none" in c.lower() for c in checked.features.columns)


def test_non_numeric_one_hot():
    checked = check_table(table(REG.assign(c=["x", "y", "x", "z"])), task="regression")
    assert [c for c in checked.features.columns if c.startswith("c=")] == ["c=x", "c=y", "c=z"]
    assert checked.features.dtypes.eq("float64").all()


def test_numbers_with_a_typo_are_refused():
    refused(table(REG.assign(a=["1", "2", "?", "4"])), r"column 'a' is numeric except at row 2")


def test_numbers_as_text_become_numbers():
    checked = check_table(table(REG.assign(a=["1", "2", "3", "4"])), task="regression")
    assert checked.features["a"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_identifier_column_refused():
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(30)], "y": np.arange(30.0)})
    refused(table(frame), "30 distinct values")


def _products(n_levels: int = 150, n_rows: int = 5000) -> pd.DataFrame:
    """A text column of ``n_levels`` real categories, ~33 rows each (a product line)."""
    rng = np.random.default_rng(0)
    product = [f"p{i % n_levels:03d}" for i in range(n_rows)]
    return pd.DataFrame({"product": product, "x": rng.normal(size=n_rows),
                         "y": rng.normal(size=n_rows)})


def test_many_levels_refused_naming_data_max_categories():
    """A 150-level column of ~33 rows a level was refused with no setting to allow it
    (MAX_CATEGORIES = 100 hard-coded, 'drop it or encode it yourself'); the refusal now names
    data.max_categories and what raising it does."""
    msg = refused(table(_products()), r"^data\.max_categories: column 'product' has 150")
    assert "raise data.max_categories to one-hot encode it" in msg
    assert "more than data.max_categories (100)" in msg


def test_raised_max_categories_one_hot_encodes_every_level():
    frame = _products()
    checked = check_table(table(frame), task="regression", max_categories=150)
    expected = pd.get_dummies(frame["product"], prefix="product", prefix_sep="=", dtype=float)
    assert checked.one_hot["product"] == list(expected.columns)
    assert len(expected.columns) == 150
    pd.testing.assert_frame_equal(checked.features[list(expected.columns)], expected)
    refused(table(frame), "has 150 distinct values, more than data.max_categories .149.",
            max_categories=149)


def test_a_value_on_every_row_is_refused_whatever_max_categories():
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(30)], "y": np.arange(30.0)})
    msg = refused(table(frame), "^data.categorical: column 'id' has 30 distinct values, a "
                  "different one on every row", max_categories=1000)
    assert "max_categories" not in msg


def test_dates_refused():
    refused(table(REG.assign(d=pd.date_range("2024-01-01", periods=4))), "dates or times")


def test_reserved_feature_name():
    refused(table(REG.assign(target=1.0)), "reserved")


def test_sensitive_missing_values():
    refused(table(REG.assign(g=[0, None, 1, 0]), sensitive="g"), "data.sensitive: .* missing")


# --- dates and identifiers read from text files ----------------------------------------------


def _churn_csv(write_csv, column: str, values: list) -> str:
    rows = "".join(f"{v},{i % 3 * 0.5},{i % 2}\n" for i, v in enumerate(values))
    return write_csv(f"{column},spend,churn\n{rows}")


@pytest.mark.parametrize(
    "values",
    [
        [str(d.date()) for d in pd.date_range("2024-01-01", periods=90)],  # was one-hot: 90 days
        [str(d.date()) for d in pd.date_range("2024-01-01", periods=150)],  # was "identifier?"
        [f"2024-03-{d:02d}T10:{d:02d}:00Z" for d in range(1, 29)],
        [d.strftime("%d/%m/%Y") for d in pd.date_range("2024-01-01", periods=40)],
    ],
)
def test_dates_read_as_text_are_refused_as_dates(write_csv, values):
    """pd.read_csv leaves ISO dates as text: a CSV's order_date was one-hot encoded (a
    column per day, unseen days all zeros) or refused as an identifier, never as a date."""
    tab = read_csv(_churn_csv(write_csv, "order_date", values), "churn")
    message = refused(tab, "holds dates or times", task="classification", min_rows_per_class=2)
    assert "column 'order_date'" in message and "days since a date" in message


def test_a_few_malformed_dates_still_name_the_column_as_dates(write_csv):
    values = [str(d.date()) for d in pd.date_range("2024-01-01", periods=40)]
    values[3] = "unknown"
    tab = read_csv(_churn_csv(write_csv, "order_date", values), "churn")
    refused(tab, "column 'order_date' holds dates", task="classification", min_rows_per_class=2)


@pytest.mark.parametrize(
    "values",
    [
        ["Mon", "Tue", "Wed"] * 10,  # weekdays are a category, not dates
        ["1-2", "3-5", "6-10"] * 10,  # ranges
        ["A12", "B7", "C3"] * 10,
        ["1.2.10", "1.3.12", "2.0.1"] * 10,  # versions
    ],
)
def test_text_that_only_resembles_dates_is_still_one_hot(write_csv, values):
    tab = read_csv(_churn_csv(write_csv, "kind", values), "churn")
    checked = check_table(tab, task="classification", min_rows_per_class=2)
    assert sorted(c for c in checked.features.columns if c.startswith("kind=")) == sorted(
        f"kind={v}" for v in set(values)
    )


def test_an_integer_identifier_is_kept_with_a_warning(write_csv):
    """customer_id 1..n became a feature silently (the same ids as text are refused)."""
    tab = read_csv(_churn_csv(write_csv, "customer_id", list(range(1, 31))), "churn")
    checked = check_table(tab, task="classification", min_rows_per_class=2)
    assert "customer_id" in checked.features.columns  # numeric: a warning, not a refusal
    [warning] = checked.warnings
    assert "column 'customer_id'" in warning and "distinct whole number on every row" in warning
    assert "data.drop" in warning and "\n" not in warning


@pytest.mark.parametrize(
    ("column", "values", "warned"),
    [
        ("account", [f"{1000 + 7 * i}" for i in range(30)], True),  # unique integers, any name
        ("id", [5, 3, 9, 1, 7, 2], True),  # named id: a few rows are enough
        ("CustomerID", [5, 3, 9, 1, 7, 2], True),
        ("paid", [5, 3, 9, 1, 7, 2], False),  # not *_id, too few rows to tell
        ("spend2", [0.5 + i for i in range(30)], False),  # not whole numbers
        ("visits", [i % 5 for i in range(30)], False),  # repeated values
        ("customer_id", [*range(29), None], False),  # missing: not an identifier of every row
    ],
)
def test_which_numeric_columns_are_warned_as_identifiers(write_csv, column, values, warned):
    path = _churn_csv(write_csv, column, ["" if v is None else v for v in values])
    checked = check_table(
        read_csv(path, "churn"), task="classification", missing="mean", min_rows_per_class=2
    )
    named = [w for w in checked.warnings if f"column {column!r}" in w]
    assert (len(named), len(checked.warnings)) == ((1, 1) if warned else (0, 0))


# --- a column that restates the target --------------------------------------------------------


def _leaky(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    return pd.DataFrame(
        {
            "dose": rng.normal(size=n) + 0.5 * y,  # informative, not a copy
            "refund": 2.0 * y + rng.normal(0, 0.01, n),  # recorded after the outcome
            "outcome": np.array(["stay", "leave", "call"])[y],
        }
    )


def test_a_feature_that_restates_the_class_is_warned_as_a_leak():
    """A column nearly constant within each class passed silently: CV and test scores of 1
    and the model promoted as champion. The correlation ratio, computed independently with
    pandas' groupby, is the number the warning quotes."""
    frame = _leaky()
    checked = check_table(table(frame, "outcome"), task="classification")
    [warning] = checked.warnings
    by_class = frame.groupby("outcome")["refund"]
    eta = np.sqrt(
        (by_class.count() * (by_class.mean() - frame["refund"].mean()) ** 2).sum()
        / ((frame["refund"] - frame["refund"].mean()) ** 2).sum()
    )
    assert "column 'refund'" in warning and f"({eta:.3f})" in warning
    assert "leak" in warning and "data.drop" in warning


def test_a_feature_that_restates_a_regression_target_is_warned_and_others_are_not():
    rng = np.random.default_rng(1)
    y = rng.normal(size=80)
    frame = pd.DataFrame(
        {"x": y + rng.normal(size=80), "copy": 3 * y + 1 + rng.normal(0, 0.01, 80), "y": y}
    )
    frame.loc[5, "copy"] = np.nan  # missing values count as the column's mean
    [warning] = check_table(table(frame), task="regression", missing="mean").warnings
    r = frame["copy"].fillna(frame["copy"].mean()).corr(frame["y"])
    assert "column 'copy'" in warning and f"({r:.3f})" in warning


def test_a_text_column_that_restates_the_class_is_named_once_by_its_own_name():
    """A text column recorded after the outcome was warned about once per one-hot column
    ('refund_status=none', 'refund_status=refunded'), each saying to list that name under
    data.drop, which refuses it. Now one warning names 'refund_status', which data.drop
    takes, and its highest-scoring one-hot column."""
    frame = _leaky()
    frame["refund_status"] = np.where(frame["outcome"] == "leave", "refunded", "none")
    frame = frame.drop(columns="refund")
    checked = check_table(table(frame, "outcome"), task="classification")
    [warning] = checked.warnings
    assert warning.startswith("column 'refund_status' of data set 'test' (its one-hot column")
    assert "'refund_status=" in warning and "data.drop" in warning
    assert sorted(checked.one_hot["refund_status"]) == [
        "refund_status=none", "refund_status=refunded"]


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits", "diabetes"])
def test_real_data_sets_raise_no_leak_warning(name):
    """scikit-learn's bundled sets: informative features, none a copy of the target (iris
    repeats one row: row 142 is row 101, the warning about copies says so)."""
    import sklearn.datasets

    data = getattr(sklearn.datasets, f"load_{name}")(as_frame=True).frame
    task = "regression" if name == "diabetes" else "classification"
    warnings = check_table(table(data, "target"), task=task).warnings
    copies = ["data set 'test' holds 1 row that is an exact copy of another row (features and "
              "target) at row 142, the first repeating row 101: "]
    assert [w[: len(copies[0])] for w in warnings] == (copies if name == "iris" else [])


def test_an_identifier_is_warned_about_when_rows_are_repeated():
    """One repeated row defeated both rules (a distinct value on every row): an ID column of a
    file with copied rows was used as a feature without a warning."""
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"customer_id": np.arange(1, n + 1), "a": rng.normal(size=n),
                          "y": rng.normal(size=n)})
    frame = pd.concat([frame, frame.iloc[:5]], ignore_index=True)
    warnings = check_table(table(frame, "y"), task="regression").warnings
    assert [w for w in warnings if "identifier" in w] == [
        "column 'customer_id' of data set 'test' holds a distinct whole number on every row bar "
        "the 5 copies (an identifier?) and is used as a feature; remove it from the file, or "
        "list it under data.drop, unless it is a real quantity"]
    # a count repeated by rows that are not copies of one another is still no identifier
    frame["visits"] = np.r_[np.arange(n - 1), 0, np.arange(5)]
    warnings = check_table(table(frame, "y"), task="regression").warnings
    assert not [w for w in warnings if "'visits'" in w]

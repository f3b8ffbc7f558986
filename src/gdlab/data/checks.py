"""Checks that turn a source's raw rows into clean numeric features and an encoded target.

Every refusal is a :class:`DataError` naming the configuration key to change, the column and
the first offending rows. Missing feature values are refused or left as NaN for the model
pipeline's imputer (``data.missing``), which is fitted on training rows only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.utils.multiclass import type_of_target

from gdlab.data.copies import copied_rows, copy_groups, distinct_rows
from gdlab.data.errors import SHOWN_CLASSES, DataError, listed
from gdlab.data.table import RawTable

RESERVED = ("target", "sensitive")
"""Column names of the prepared files that features may not take."""
MAX_CATEGORIES = 100
"""A non-numeric column with more distinct values than this is refused (an identifier?)
unless ``data.max_categories`` raises the cap."""
DATE_SAMPLE = 1000
"""Distinct values of a text column tried as dates (the first ones): enough to tell, fast."""
DATE_SHARE = 0.9
"""A text column is taken for dates or times when at least this share of those values are."""
DATE_FORMATS = (
    "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S",
)  # fmt: skip
"""Non-ISO date forms also recognised (ISO 8601 text, with or without a time, always is)."""
LEAK_SCORE = 0.99
"""A feature whose correlation with the target (regression) or correlation ratio with the
class (classification: the share of its spread between the classes, square-rooted) reaches
this is warned about as a possible leak. scikit-learn's bundled sets stay below 0.98."""
ID_MIN_ROWS = 20
"""An integer column unique on every row of more rows than this is taken for an identifier
(a warning: a count can be unique too); one named ``id`` / ``*_id`` at any size."""
DROP_HOW = "to drop a column without editing the file, list it under data.drop"
"""How a column the checks refuse is left out: data.drop removes columns as they are read
(personal data goes under data.pii.drop)."""
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+")
"""A number written with a decimal comma (``59,5``, ``-0,25``, ``1.299,00`` with dots between
thousands), as European spreadsheets save."""
_ID_NAME = re.compile(r"(?:^|[_\s.\-])(?i:id)$|[a-z0-9]I[dD]$")
"""``id``, ``customer_id``, ``Customer ID``, ``customerId``, ``CustomerID`` (not ``paid``)."""


@dataclass
class CheckedData:
    """Clean rows: float64 features, the target (float, or int codes 0..K-1) and groups."""

    features: pd.DataFrame
    target: pd.Series
    sensitive: pd.Series | None
    classes: list[Any] | None
    """Classification: ``classes[i]`` is the original label of code ``i``."""
    table: RawTable
    warnings: list[str] = field(default_factory=list)
    """One-line warnings from reading the source (:attr:`RawTable.warnings`) and about columns
    kept as features (text that may be numbers with a decimal comma, an integer identifier, a
    column that restates the target)."""
    one_hot: dict[str, list[str]] = field(default_factory=dict)
    """The text columns one-hot encoded here: column -> its ``<column>=<level>`` feature
    columns (a missing value sets none of them; a numeric column is never in it, whatever its
    name)."""
    copy_groups: np.ndarray | None = None
    """A group number per row, shared by the rows that are exact copies of one another
    (features and target; :func:`gdlab.data.copies.copy_groups`): the split keeps each group on
    one side. None: computed from the rows when needed."""

    def groups(self) -> np.ndarray:
        """:attr:`copy_groups`, computed from the features and target when not given."""
        if self.copy_groups is None:
            self.copy_groups = copy_groups(self.features, self.target.to_numpy())
        return self.copy_groups


def check_table(
    table: RawTable,
    *,
    task: str,
    missing: str = "refuse",
    categorical: str = "onehot",
    min_rows_per_class: int = 2,
    max_categories: int = MAX_CATEGORIES,
) -> CheckedData:
    """Check ``table`` and return its clean features and encoded target."""
    frame = table.frame
    _check_shape(table)
    _check_columns(table)
    if task == "classification":
        target, classes = _class_target(table, min_rows_per_class)
    else:
        target, classes = _regression_target(table), None
    sensitive = _sensitive(table)
    raw = frame.drop(columns=[c for c in (table.target, table.sensitive) if c is not None])
    if raw.shape[1] == 0:
        raise DataError(
            f"{_name(table)} has no feature columns besides the target {table.target!r}"
        )
    _check_missing(table, raw, missing)
    features, one_hot, comma_warnings = _encode(table, raw, categorical, max_categories)
    _check_infinite(table, features)
    _check_names(table, features)
    groups = copy_groups(features, target.to_numpy())
    n_distinct = len(distinct_rows(groups)[0])
    return CheckedData(
        features.reset_index(drop=True),
        target.reset_index(drop=True),
        None if sensitive is None else sensitive.reset_index(drop=True),
        classes,
        table,
        warnings=[
            *table.warnings,
            *comma_warnings,
            *_copy_warnings(table, groups),
            *_identifier_warnings(table, raw, features, n_distinct),
            *_leak_warnings(
                table, features, target, one_hot, classification=classes is not None
            ),
        ],
        one_hot=one_hot,
        copy_groups=groups,
    )


def _name(table: RawTable) -> str:
    return f"file {table.path!r}" if table.path else f"data set {table.source!r}"


def _check_shape(table: RawTable) -> None:
    n = len(table.frame)
    if n == 0:
        raise DataError(f"data.path: {_name(table)} has a header but no rows")
    if n == 1:
        raise DataError(f"{_name(table)} has a single row; a train/test split needs more")
    dups = table.frame.columns[table.frame.columns.duplicated()].unique()
    if len(dups):
        raise DataError(f"{_name(table)} has duplicated column names: {', '.join(map(repr, dups))}")


def _check_columns(table: RawTable) -> None:
    columns = [str(c) for c in table.frame.columns]
    for key, column in (("data.target", table.target), ("data.sensitive", table.sensitive)):
        if column is not None and column not in columns:
            guess = [c for c in columns if c.lower() == column.lower()]
            guess = guess or difflib.get_close_matches(column, columns, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            shown = ", ".join(map(repr, columns[:20])) + (" ..." if len(columns) > 20 else "")
            raise DataError(
                f"{key}: column {column!r} not found in {_name(table)} (columns: {shown}){hint}"
            )


def _rows(mask: pd.Series | np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.asarray(mask))]


def _check_target_values(table: RawTable, y: pd.Series) -> None:
    """Refuse missing and (in a numeric target) infinite values, naming their rows."""
    if y.isna().any():
        raise DataError(
            f"data.target: target column {table.target!r} has missing values at "
            f"{table.where(_rows(y.isna()))}; drop those rows"
        )
    if _numeric(y):
        bad = np.isinf(y.to_numpy(dtype="float64"))
        if bad.any():
            raise DataError(
                f"data.target: target column {table.target!r} has infinite values at "
                f"{table.where(_rows(bad))}; drop or correct those rows"
            )


def _regression_target(table: RawTable) -> pd.Series:
    y = table.frame[table.target]
    _check_target_values(table, y)
    if not (ptypes.is_numeric_dtype(y) or ptypes.is_bool_dtype(y)):
        if (example := _decimal_comma_example(y)) is not None:
            _refuse_decimal_comma(table, table.target, example)
        numeric = pd.to_numeric(y, errors="coerce")
        raise DataError(
            f"model.task: regression needs a numeric target, but column "
            f"{table.target!r} holds text at {table.where(_rows(numeric.isna()))} "
            f"(e.g. {y[numeric.isna()].iloc[0]!r}); is the task classification?"
        )
    y = y.astype("float64")
    if y.nunique() == 1:
        raise DataError(
            f"data.target: target column {table.target!r} is constant "
            f"({y.iloc[0]!r} in every row); there is nothing to learn"
        )
    return y


def _class_target(table: RawTable, min_rows: int) -> tuple[pd.Series, list[Any]]:
    y = table.frame[table.target]
    _check_target_values(table, y)
    try:
        kind = type_of_target(y.to_numpy())
    except (ValueError, TypeError):
        kind = "unknown"
    if kind == "continuous":
        example = next(v for v in y if float(v) != int(v))
        raise DataError(
            f"model.task: classification needs class labels, but target column "
            f"{table.target!r} holds continuous values (e.g. {example!r}); "
            "set model.task: regression"
        )
    if kind not in ("binary", "multiclass"):
        raise DataError(
            f"data.target: target column {table.target!r} mixes value types; "
            "use one type of class label"
        )
    labels, codes = np.unique(y.to_numpy(), return_inverse=True)
    if len(labels) == 1:
        raise DataError(
            f"data.target: target column {table.target!r} has a single class "
            f"({_plain(labels[0])!r}); classification needs at least two"
        )
    counts = np.bincount(codes, minlength=len(labels))
    few = [(_plain(lab), int(c)) for lab, c in zip(labels, counts, strict=True) if c < min_rows]
    if few:
        shown = listed([f"{lab!r}: {c}" for lab, c in few], SHOWN_CLASSES)
        hint = ""
        if _numeric(y) and 2 * len(few) > len(labels):
            # mostly rare numbers: a whole-number quantity (a price, a count) left at
            # params.yaml's model.task: classification
            hint = (
                f"; if {table.target!r} is a quantity, not a class label ({len(labels)} "
                f"distinct numbers in {len(y)} rows), set model.task: regression"
            )
        elif not _numeric(y) and (example := _decimal_comma_example(y)) is not None:
            # '151,0': numbers with a decimal comma read as text labels
            hint = (
                f"; {table.target!r} holds numbers written with a decimal comma (e.g. "
                f"{example[0]!r} at {table.where([example[1]])}), read as text labels: "
                f"{_decimal_fix(table)}, and if it is a quantity, not a class label, set "
                "model.task: regression"
            )
        raise DataError(
            f"data.min_rows_per_class: {len(few)} of the {len(labels)} classes of "
            f"{table.target!r} have fewer than {min_rows} rows: {shown}; collect more rows, "
            f"merge or drop those classes{hint}"
        )
    names = table.label_names or {}
    classes = [_plain(names.get(_plain(lab), lab)) for lab in labels]
    return pd.Series(codes.astype(np.int64), name=table.target), classes


def _numeric(y: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _sensitive(table: RawTable) -> pd.Series | None:
    if table.sensitive is None:
        return None
    s = table.frame[table.sensitive]
    if s.isna().any():
        raise DataError(
            f"data.sensitive: column {table.sensitive!r} has missing values at "
            f"{table.where(_rows(s.isna()))}"
        )
    return s


def _check_missing(table: RawTable, raw: pd.DataFrame, missing: str) -> None:
    empty = [c for c in raw.columns if raw[c].isna().all()]
    if empty:
        raise DataError(
            f"{_name(table)}: column(s) {', '.join(map(repr, empty))} have no "
            f"values at all; drop them ({DROP_HOW})"
        )
    if missing != "refuse":
        return
    holes = [(c, _rows(raw[c].isna())) for c in raw.columns if raw[c].isna().any()]
    if holes:
        shown = "; ".join(
            f"column {c!r}: {len(r)} missing at {table.where(r, 3)}" for c, r in holes[:10]
        )
        raise DataError(
            f"data.missing: missing values are refused, but {shown}; set "
            "data.missing to mean, median or most_frequent, or fix the data"
        )


def _encode(
    table: RawTable, raw: pd.DataFrame, categorical: str, max_categories: int = MAX_CATEGORIES
) -> tuple[pd.DataFrame, dict[str, list[str]], list[str]]:
    """The float64 features, the one-hot groups of the text columns encoded here (column
    -> its dummies' names, in the features' order) and a warning per text column whose
    non-numbers all look like numbers with a decimal comma (``1,2``: a multi-select answer
    is text, a European export's number is not; both are one-hot encoded)."""
    columns: dict[str, Any] = {}
    text: list[str] = []
    groups: dict[str, list[str]] = {}
    comma: dict[str, tuple[str, int]] = {}
    for name in raw.columns:
        col = raw[name]
        if ptypes.is_datetime64_any_dtype(col) or ptypes.is_timedelta64_dtype(col):
            raise DataError(
                f"{_name(table)}: column {name!r} holds dates or times; turn them "
                f"into numbers (e.g. days since a date) or drop the column ({DROP_HOW})"
            )
        if ptypes.is_bool_dtype(col) or ptypes.is_numeric_dtype(col):
            columns[name] = col.to_numpy(dtype="float64", na_value=np.nan)
            continue
        example = _decimal_comma_example(col)
        if example is not None:
            comma[name] = example
        numbers = None if example is not None else _as_numbers(table, name, col)
        if numbers is None:
            _refuse_dates(table, name, col)
            text.append(name)
        else:
            columns[name] = numbers
    if text and categorical == "refuse":
        hints = "".join(
            f"; column {name!r} holds text such as {example[0]!r} (at "
            f"{table.where([example[1]])}): if these are numbers written with a decimal comma, "
            f"{_decimal_fix(table)}"
            for name, example in comma.items()
        )
        raise DataError(
            f"data.categorical: non-numeric feature column(s) "
            f"{', '.join(map(repr, text))} are refused; set data.categorical: "
            f"onehot or drop them ({DROP_HOW}){hints}"
        )
    for name in text:
        levels = raw[name].dropna().unique()
        unique = len(levels) == len(raw) and len(raw) > 20
        if len(levels) > max_categories or unique:
            if name in comma:
                _refuse_decimal_comma(table, name, comma[name])
            if unique:
                raise DataError(
                    f"data.categorical: column {name!r} has {len(levels)} distinct values, "
                    "a different one on every row (an identifier or free text?); drop it "
                    f"or encode it yourself ({DROP_HOW})"
                )
            raise DataError(
                f"data.max_categories: column {name!r} has {len(levels)} distinct values, "
                f"more than data.max_categories ({max_categories}) allows (an identifier or "
                f"free text?); if they are real categories, raise data.max_categories to "
                f"one-hot encode it ({len(levels)} columns), else drop it or encode it "
                f"yourself ({DROP_HOW})"
            )
        dummies = pd.get_dummies(
            raw[name].astype("string"), prefix=name, prefix_sep="=", dtype="float64"
        )
        for dummy in dummies.columns:
            if dummy in columns:
                raise DataError(
                    f"data.categorical: one-hot column {dummy!r} collides with an "
                    "existing column of that name; rename one of them"
                )
            columns[dummy] = dummies[dummy].to_numpy()
        groups[str(name)] = [str(dummy) for dummy in dummies.columns]
    warnings = [_decimal_comma_warning(table, name, example) for name, example in comma.items()]
    return pd.DataFrame(columns, index=raw.index), groups, warnings


def _date_share(values: pd.Series) -> float:
    """The largest share of ``values`` (text) read as dates by ISO 8601 or one of
    ``DATE_FORMATS``."""
    best = 0.0
    for fmt in ("ISO8601", *DATE_FORMATS):
        parsed = pd.to_datetime(values, errors="coerce", format=fmt, utc=True)
        best = max(best, float(parsed.notna().mean()))
        if best >= DATE_SHARE:
            break
    return best


def _refuse_dates(table: RawTable, name: str, col: pd.Series) -> None:
    """DataError when (nearly) every value of the text column ``col`` is a date or time, which
    one-hot encoding would turn into one column per day (unseen days: all zeros)."""
    values = pd.Series(col.dropna().unique()[:DATE_SAMPLE]).astype(str).str.strip()
    if values.empty or values.str.contains(r"\d", regex=True).mean() < DATE_SHARE:
        return
    if _date_share(values) >= DATE_SHARE:
        raise DataError(
            f"{_name(table)}: column {name!r} holds dates or times (e.g. {values.iloc[0]!r}); "
            "turn them into numbers (e.g. days since a date, or the month and weekday) or "
            f"drop the column ({DROP_HOW})"
        )


def _copy_warnings(table: RawTable, groups: np.ndarray) -> list[str]:
    """A warning when rows are exact copies of another row (features and target, after the
    columns data.drop leaves out), naming the first copies and the row the first one repeats:
    the split and the CV folds keep a row and its copies on one side."""
    copies = copied_rows(groups)
    if len(copies) == 0:
        return []
    first, member = distinct_rows(groups)
    original = int(first[member[copies[0]]])
    many = len(copies) > 1
    return [
        f"{_name(table)} holds {len(copies)} row{'s' if many else ''} that "
        f"{'are exact copies' if many else 'is an exact copy'} of another row (features and "
        f"target) at {table.where([int(r) for r in copies])}, the first repeating "
        f"{table.where([original])}: a row and its copies are kept on one side of the "
        "train/test split and of every CV fold, so no test or validation row is a copy of a "
        "row trained on; remove the copies from the file if they are accidental"
    ]


def _identifier_warnings(
    table: RawTable, raw: pd.DataFrame, features: pd.DataFrame, n_distinct: int | None = None
) -> list[str]:
    """A warning per numeric feature column that looks like a row identifier: integer values,
    none missing, a distinct one on every row (more than ``ID_MIN_ROWS`` rows, or any number
    when the column is named ``id`` / ``*_id``). Its numbers would be learned as a quantity.

    Rows that are exact copies of another row count once (``n_distinct``: the rows less their
    copies): a copy repeats its row's identifier too."""
    out = []
    n = len(raw) if n_distinct is None else n_distinct
    for name in raw.columns:
        if name not in features.columns or ptypes.is_bool_dtype(raw[name]):
            continue
        values = features[name].to_numpy()
        if np.isnan(values).any() or not np.array_equal(values, np.round(values)):
            continue
        named = bool(_ID_NAME.search(str(name)))
        if (n > ID_MIN_ROWS or named) and len(np.unique(values)) == n:
            every = "every row" if n == len(raw) else f"every row bar the {len(raw) - n} copies"
            out.append(
                f"column {name!r} of {_name(table)} holds a distinct whole number on {every} "
                f"(an identifier?) and is used as a feature; remove it from the file, or list "
                f"it under data.drop, unless it is a real quantity"
            )
    return out


def _leak_warnings(
    table: RawTable,
    features: pd.DataFrame,
    target: pd.Series,
    one_hot: dict[str, list[str]],
    *,
    classification: bool,
) -> list[str]:
    """A warning per column of the data whose feature(s) (nearly) restate the target:
    correlation (regression) or correlation ratio (classification: the feature nearly constant
    within each class) of ``LEAK_SCORE`` or more. Such a column is usually recorded after the
    outcome (a refund for a churn, a diagnosis code): the model's scores look perfect and it is
    useless in use. A text column is named once, by its own name (the one data.drop takes),
    with its highest-scoring ``<column>=<level>`` one-hot column. Missing values count as the
    column's mean. One column at a time: no copy of the table."""
    y = target.to_numpy()
    if classification:
        codes = y.astype(np.int64)
        counts = np.bincount(codes)
        what = "is nearly constant within each class of"
    else:
        yc = y.astype(np.float64) - y.mean()
        what = "is almost perfectly correlated with"
    source = {dummy: column for column, dummies in one_hot.items() for dummy in dummies}
    leaks: dict[str, tuple[float, str]] = {}  # column of the data -> (score, feature)
    for name in features.columns:
        x = features[name].to_numpy(dtype=np.float64)
        present = ~np.isnan(x)
        if not present.any():
            continue
        x = np.where(present, x - x[present].mean(), 0.0)
        total = float(x @ x)
        if total <= 0:
            continue
        if classification:
            means = np.bincount(codes, weights=x, minlength=len(counts)) / np.maximum(counts, 1)
            score = float(np.sqrt((counts * means**2).sum() / total))
        else:
            score = abs(float(x @ yc)) / np.sqrt(total * float(yc @ yc))
        column = source.get(str(name), str(name))
        if score >= LEAK_SCORE and score > leaks.get(column, (-1.0, ""))[0]:
            leaks[column] = (score, str(name))
    out = []
    for column, (score, feature) in leaks.items():
        via = f" (its one-hot column {feature!r})" if feature != column else ""
        out.append(
            f"column {column!r} of {_name(table)}{via} {what} the target "
            f"{table.target!r} ({score:.3f}): if it is known only after the outcome (a "
            f"leak), the scores will look perfect and the model fail in use; drop it "
            f"({DROP_HOW})"
        )
    return out


def _as_numbers(table: RawTable, name: str, col: pd.Series) -> np.ndarray | None:
    """Text that is all numbers -> floats; mostly numbers -> refused (typos); else None."""
    coerced = pd.to_numeric(col, errors="coerce")
    bad = col.notna() & coerced.isna()
    present = int(col.notna().sum())
    if not bad.any():
        return coerced.to_numpy(dtype="float64", na_value=np.nan)
    if present and 1 - bad.sum() / present >= 0.5:
        examples = ", ".join(repr(v) for v in col[bad].unique()[:3])
        markers = (
            " or, if they mark missing cells, list them under data.na_values"
            if table.source == "csv"
            else ""
        )
        raise DataError(
            f"{_name(table)}: column {name!r} is numeric except at "
            f"{table.where(_rows(bad))} ({examples}); fix those values, leave "
            f"the cells empty (missing){markers}"
        )
    return None


def _decimal_comma_warning(table: RawTable, name: str, example: tuple[str, int]) -> str:
    """The warning for a feature column whose non-numbers all look like numbers with a decimal
    comma (``example``: the first and its row): kept as text, one-hot encoded."""
    return (
        f"column {name!r} of {_name(table)} holds text such as {example[0]!r} (at "
        f"{table.where([example[1]])}), one-hot encoded as categories; if these are numbers "
        f"written with a decimal comma, {_decimal_fix(table)}"
    )


def _refuse_decimal_comma(table: RawTable, name: str, example: tuple[str, int]) -> None:
    """DataError for a column whose non-numbers all look like numbers with a decimal comma
    (``example``: the first and its row) where text cannot work: a regression target, or a
    feature with too many distinct values to one-hot encode."""
    raise DataError(
        f"{_name(table)}: column {name!r} holds numbers written with a decimal comma (e.g. "
        f"{example[0]!r} at {table.where([example[1]])}), which would be read as text; "
        f"{_decimal_fix(table)}; if the comma separates thousands instead, remove it from the "
        "numbers"
    )


def _decimal_comma_example(col: pd.Series) -> tuple[str, int] | None:
    """``(value, row)`` of the first value of the text column ``col`` that is not a number,
    when every such value is a number written with a decimal comma; else None."""
    text = col.dropna().astype(str).str.strip()
    rest = text[pd.to_numeric(text, errors="coerce").isna()]
    if rest.empty or not rest.str.fullmatch(_DECIMAL_COMMA).all():
        return None
    return str(rest.iloc[0]), int(np.flatnonzero(col.index == rest.index[0])[0])


def _decimal_fix(table: RawTable) -> str:
    """How to read numbers written with a decimal comma from ``table``'s source."""
    if table.source == "csv":
        return ("set data.decimal: ',' (with data.delimiter: ';' if the file separates its "
                "fields with ';')")
    return "store the column as numbers"


def _check_infinite(table: RawTable, features: pd.DataFrame) -> None:
    values = features.to_numpy()
    bad = np.isinf(values)
    if bad.any():
        cols = [features.columns[j] for j in np.flatnonzero(bad.any(axis=0))]
        name = cols[0]
        raise DataError(
            f"{_name(table)}: infinite values in column(s) "
            f"{', '.join(map(repr, cols))}; column {name!r} at "
            f"{table.where(_rows(bad[:, features.columns.get_loc(name)]))}"
        )


def _check_names(table: RawTable, features: pd.DataFrame) -> None:
    clash = [c for c in features.columns if c in RESERVED]
    if clash:
        raise DataError(
            f"{_name(table)}: feature column(s) {', '.join(map(repr, clash))} "
            f"use a name reserved for the prepared files ({', '.join(RESERVED)}); "
            "rename them"
        )

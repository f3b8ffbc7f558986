"""Which columns of a DataFrame ``X`` hold values that are not numbers (text, categories of
text, dates and durations).

scikit-learn's check of a DataFrame holding a string column (object, ``string`` or a pandas
``Categorical`` of strings) says only "could not convert string to float: 'a'" or "Cannot cast
str dtype to float64", naming no column; :func:`non_numeric_refusal` names them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdlab.text import listed

SHOWN = 5
"""Columns a refusal lists before 'and k more'."""


def _first_non_number(column: Any) -> Any:
    """The first value of ``column`` that does not read as a float, else None."""
    for value in column:
        try:
            float(value)
        except (TypeError, ValueError):
            return value
    return None


def non_numeric_refusal(owner: str, X: Any, *, name: str = "X") -> str | None:
    """The refusal of the DataFrame ``X`` naming its columns that cannot be read as floats
    (their dtype and a value), e.g. "GDRegressor needs numbers in X: column 'city'
    (category) holds 'Paris'. ..."; None for anything else (not a DataFrame, or every column
    numeric)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return None
    found = []
    for position, (label, dtype) in enumerate(zip(X.columns, dtypes, strict=True)):
        column = X.iloc[:, position]
        if getattr(dtype, "kind", None) in ("M", "m"):  # dates and durations (tz-aware too)
            found.append(f"column {label!r} ({dtype}) holds {column.iloc[0]!r}")
            continue
        try:
            np.asarray(column, dtype=np.float64)
        except (TypeError, ValueError):
            value = _first_non_number(column)
            found.append(f"column {label!r} ({dtype}) holds {value!r}")
    if not found:
        return None
    return (f"{owner} needs numbers in {name}: {listed(found, SHOWN)}. Encode such columns "
            "first (e.g. OneHotEncoder in a ColumnTransformer) or drop them.")

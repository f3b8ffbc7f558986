"""Where an input holds NaN or infinity: the columns and rows a refusal names.

scikit-learn's own check says only "Input X contains NaN"; a caller with a thousand-row batch
needs the column and the rows. :func:`nonfinite_cells` lists them; the estimators' predict
check and the served model's answer (:mod:`gdlab.served`) phrase them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from gdlab.text import listed

KINDS = ("NaN", "infinity")
"""The non-finite kinds, as scikit-learn's messages spell them ("contains NaN", "contains
infinity"): :func:`kinds_named` reads them back from such a message."""
_NAMING = re.compile(r"\b(?:contains|holds) (NaN|infinity)\b")
"""How a refusal names a kind: scikit-learn's "Input X contains NaN" and "contains infinity or a
value too large", and :func:`nonfinite_cells`' "holds NaN" (a column or feature name that merely
holds the word, e.g. 'x_NaN' in a feature-name mismatch, is no such refusal)."""

SHOWN = 5
"""Columns, and rows per column, a message lists before 'and k more'."""


def kinds_named(message: str) -> tuple[str, ...]:
    """The kinds of :data:`KINDS` that a refusal (scikit-learn's or ours) names."""
    named = set(_NAMING.findall(message))
    return tuple(kind for kind in KINDS if kind in named)


def nonfinite_cells(
    X: Any, columns: Sequence[Any] | None = None, kinds: Sequence[str] = KINDS
) -> list[str]:
    """One phrase per column of the 2-D numeric ``X`` holding a value of ``kinds``, e.g.
    ``"column 'x1' holds NaN in rows 0, 3"`` (``columns`` names the columns, else their
    numbers; rows are positions counted from 0). Empty when ``X`` holds none."""
    values = np.asarray(X, dtype=np.float64)
    if values.ndim != 2:
        values = values.reshape(len(values), -1)
    parts = []
    for kind in kinds:
        bad = np.isnan(values) if kind == "NaN" else np.isinf(values)
        for j in np.flatnonzero(bad.any(axis=0)):
            rows = np.flatnonzero(bad[:, j])
            name = repr(str(columns[j])) if columns is not None else str(j)
            where = listed([str(r) for r in rows], SHOWN)
            parts.append(f"column {name} holds {kind} in row{'s' if len(rows) > 1 else ''} {where}")
    return parts


def nonfinite_message(owner: str, cells: Sequence[str]) -> str:
    """The estimators' refusal of an X holding the ``cells`` of :func:`nonfinite_cells`."""
    return (
        f"{owner} needs finite numbers in X: {listed(list(cells), SHOWN)} (rows count from 0). "
        "Impute or drop missing values first (e.g. sklearn.impute.SimpleImputer); "
        "NaN, None and ±infinity cannot be predicted on"
    )

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
from scipy import sparse

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


TOO_LARGE = "a value too large for float32"
"""How :func:`nonfinite_cells` names a finite value that a float32 model cannot hold (it
becomes infinity when cast): ``1e39`` is no infinity, and saying so sent users hunting for one."""


def _bad_cells(values: Any, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the cells of the float64 ``values`` (dense or sparse) of ``kind``."""
    if sparse.issparse(values):
        coo = values.tocoo()
        data, rows, cols = coo.data, coo.row, coo.col
    else:
        data = values
    with np.errstate(over="ignore"):
        if kind == "NaN":
            bad = np.isnan(data)
        elif kind == TOO_LARGE:
            bad = np.isfinite(data) & np.isinf(data.astype(np.float32))
        else:
            bad = np.isinf(data)
    if sparse.issparse(values):
        return rows[bad], cols[bad]
    return np.nonzero(bad)


def nonfinite_cells(
    X: Any, columns: Sequence[Any] | None = None, kinds: Sequence[str] = KINDS, *,
    dtype: Any = np.float64,
) -> list[str]:
    """One phrase per column of the 2-D numeric ``X`` holding a value of ``kinds``, e.g.
    ``"column 'x1' holds NaN in rows 0, 3"`` (``columns`` names the columns, else their
    numbers; rows are positions counted from 0). Empty when ``X`` holds none.

    ``X`` is read as float64 (pass the values before any cast to float32: a cast turns a
    finite 1e39 into infinity); with ``dtype`` float32 a finite value that overflows it is
    named too (:data:`TOO_LARGE`). ``X`` may be a scipy sparse matrix."""
    if sparse.issparse(X):
        values = X.astype(np.float64)
    else:
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2:
            values = values.reshape(len(values), -1)
    if np.dtype(dtype) == np.float32 and "infinity" in kinds:
        kinds = (*kinds, TOO_LARGE)
    parts = []
    for kind in kinds:
        rows, cols = _bad_cells(values, kind)
        for j in np.unique(cols):
            at = np.unique(rows[cols == j])
            name = repr(str(columns[j])) if columns is not None else str(j)
            where = listed([str(r) for r in at], SHOWN)
            parts.append(f"column {name} holds {kind} in row{'s' if len(at) > 1 else ''} {where}")
    return parts


def nonfinite_message(owner: str, cells: Sequence[str], *, action: str = "predicted on",
                      name: str = "X") -> str:
    """The estimators' refusal of an X holding the ``cells`` of :func:`nonfinite_cells`;
    ``action`` is what cannot be done with them ("predicted on", "fitted on")."""
    text = (
        f"{owner} needs finite numbers in {name}: {listed(list(cells), SHOWN)} (rows count "
        "from 0). "
    )
    if any(TOO_LARGE not in cell for cell in cells):
        text += ("Impute or drop missing values first (e.g. sklearn.impute.SimpleImputer); "
                 f"NaN, None and ±infinity cannot be {action}")
    if any(TOO_LARGE in cell for cell in cells):
        text += ("; values" if text.endswith(action) else "Values") + (
            f" beyond ±{float(np.finfo(np.float32).max):.4g} do not fit dtype float32: "
            "rescale them or use dtype='float64'"
        )
    return text


def vector_refusal(owner: str, values: Any, *, name: str, dtype: Any = np.float64,
                   rows: Any = None, action: str = "fitted on") -> str | None:
    """The refusal of the 1-D ``values`` (``y``, ``sample_weight``) holding NaN, infinity or
    (``dtype`` float32) a finite value too large for float32, naming ``name`` and the rows,
    e.g. "GDRegressor needs finite numbers in y: y holds a value too large for float32 in row
    50 (rows count from 0). ..."; None when it holds none. ``values`` is read as float64 (the
    values before any cast); ``rows``: the row numbers of its entries (else positions)."""
    column = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    kinds = (*KINDS, TOO_LARGE) if np.dtype(dtype) == np.float32 else KINDS
    parts = []
    for kind in kinds:
        at, _ = _bad_cells(column, kind)
        if at.size:
            at = np.unique(at if rows is None else np.asarray(rows)[at])
            where = listed([str(r) for r in at], SHOWN)
            parts.append(f"{name} holds {kind} in row{'s' if len(at) > 1 else ''} {where}")
    return nonfinite_message(owner, parts, action=action, name=name) if parts else None

"""Which rows a model was trained on, kept as one 64-bit hash per row: the registry leaves out of
a comparison the test rows a champion trained on (:mod:`gdlab.tracking.champion`).

The hashes are not a secret: they are unkeyed, so a row's values are not listed in the
fingerprint, but anyone who holds it and a person's row can tell whether that row was trained
on, and, hashing the row with each label in turn, which label it had. The fingerprint is kept
with the train run (:mod:`gdlab.tracking.training_rows`), never in the model that is handed
to whoever serves it: only those who may read the training data's runs should hold it.

A row's hash covers its prepared features, taken in the order of their names (a table whose
columns moved hashes the same), and its target (the label as the user wrote it, or the
regression value): the same row of ``data/prepared`` hashes the same whatever split, seed or
file it came in. Floats hash by value (0.0 and -0.0 alike, every NaN alike). The scheme is
gdlab's own (numpy's integer arithmetic and, for text labels, BLAKE2b of the text), named by
:data:`SCHEME`, so a library upgrade does not change the hashes. A training set's fingerprint
is its row hashes sorted, each once: 8 bytes a row, stored as a ``.npy`` file (read without
pickle)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCHEME = "gdlab-rows-1"
"""The hashing scheme's name, recorded with a fingerprint: a fingerprint of another scheme is
not compared with today's hashes."""
FILE = "training_rows.npy"
"""The fingerprint's file name (in the train run's ``fingerprints`` artifacts; in the
directory of a model logged by an earlier gdlab)."""
CHUNK_CELLS = 1 << 19
"""Values hashed at a time (4 MB of float64): a memory-mapped training set is never read at
once."""

_GOLDEN = 0x9E3779B97F4A7C15
_NAN = np.array(np.nan, dtype=np.float64).view(np.uint64)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: every input bit moves about half the output bits."""
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _float_bits(values: Any) -> np.ndarray:
    """The float64 values' bits as uint64 (a new array), -0.0 as 0.0 and every NaN alike."""
    floats = np.asarray(values, dtype=np.float64)
    bits = (floats + 0.0).view(np.uint64)  # -0.0 + 0.0 is 0.0; a new array
    nan = np.isnan(floats)
    if nan.any():
        bits[nan] = _NAN
    return bits


def _target_bits(y: np.ndarray) -> np.ndarray:
    """A number per target value: numbers (and booleans) by their float64 value, anything else
    (text labels) by the BLAKE2b digest of its text."""
    if y.dtype.kind in "biuf":
        return _float_bits(y)
    codes, labels = pd.factorize(y.ravel(), use_na_sentinel=False)
    table = np.array(
        [int.from_bytes(hashlib.blake2b(str(s).encode(), digest_size=8).digest(), "little")
         for s in labels],
        dtype=np.uint64,
    )
    return table[codes]


def _columns(X: Any, feature_names: list[str] | None) -> tuple[Any, list[int]]:
    """``(2-D values, column positions in name order)`` of a DataFrame or an array."""
    if hasattr(X, "columns"):
        names = [str(c) for c in X.columns]
        return X, sorted(range(len(names)), key=names.__getitem__)
    width = np.shape(X)[1]
    if not feature_names:
        return X, list(range(width))
    names = [str(c) for c in feature_names]
    return X, sorted(range(width), key=names.__getitem__)


def row_hashes(X: Any, y: Any, feature_names: list[str] | None = None) -> np.ndarray:
    """One uint64 per row of ``(X, y)``, in row order: ``X`` a DataFrame (its column names) or
    a 2-D array (``feature_names``, else its column order), ``y`` the target as the model was
    fitted on it (decoded labels, :func:`gdlab.experiment.decode_target`).

    Each value is mixed with its column's rank in name order, the row's values summed (modulo
    2**64), the target's hash added and the sum mixed again: no column order, no row order."""
    table, order = _columns(X, feature_names)
    target = np.asarray(y)
    n, width = len(target), len(order)
    if np.shape(table)[0] != n:
        raise ValueError(f"row_hashes: X has {np.shape(table)[0]} rows, y {n}")
    salts = np.arange(1, width + 1, dtype=np.uint64) * np.uint64(_GOLDEN)
    step = max(1, CHUNK_CELLS // max(width, 1))
    out = np.empty(n, dtype=np.uint64)
    for start in range(0, n, step):
        stop = min(start + step, n)
        if hasattr(table, "iloc"):  # rows first: iloc[rows, order] copies the whole frame
            rows = table.iloc[start:stop].to_numpy(dtype=np.float64)
        else:
            rows = np.asarray(table[start:stop], dtype=np.float64)
        block = rows[:, order]
        bits = _float_bits(block)
        bits ^= salts
        h = _mix(bits).sum(axis=1, dtype=np.uint64)
        h += _mix(_target_bits(target[start:stop]))
        out[start:stop] = _mix(h)
    return out


def fingerprint(X: Any, y: Any, feature_names: list[str] | None = None) -> np.ndarray:
    """The fingerprint of the rows ``(X, y)``: their :func:`row_hashes`, sorted, each once."""
    rows = np.sort(row_hashes(X, y, feature_names))  # np.unique takes ~8x as long
    return rows[np.concatenate(([True], rows[1:] != rows[:-1]))] if len(rows) else rows


def save_fingerprint(directory: str | Path, rows: np.ndarray) -> dict[str, Any]:
    """Write the fingerprint ``rows`` as :data:`FILE` in ``directory``; return what a model's
    metadata records of it: ``{"file", "hashes", "scheme"}``."""
    rows = np.asarray(rows, dtype=np.uint64)
    np.save(Path(directory) / FILE, rows, allow_pickle=False)
    return {"file": FILE, "hashes": int(len(rows)), "scheme": SCHEME}


def load_fingerprint(path: str | Path) -> np.ndarray:
    """The fingerprint saved at ``path`` (never unpickled). Raises ValueError when the file
    holds anything but a sorted 1-D array of uint64."""
    rows = np.load(path, allow_pickle=False)
    if rows.dtype != np.uint64 or rows.ndim != 1 or np.any(rows[1:] <= rows[:-1]):
        raise ValueError(
            f"{path} is no fingerprint of training rows (a sorted 1-D uint64 array, each hash "
            f"once): it holds a {rows.ndim}-D {rows.dtype} array"
        )
    return rows


def seen(hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which of ``hashes`` (:func:`row_hashes`) the fingerprint ``rows`` holds: a bool mask."""
    if len(rows) == 0:
        return np.zeros(len(hashes), dtype=bool)
    at = np.searchsorted(rows, hashes).clip(max=len(rows) - 1)
    return rows[at] == hashes

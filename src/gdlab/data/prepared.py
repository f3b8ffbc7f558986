"""The prepared-data directory: ``train.parquet``, ``test.parquet`` and ``meta.json``.

Both Parquet files hold the feature columns (float64, named as in ``meta["feature_names"]``),
the column ``target`` (float64 for regression; int64 class codes 0..K-1 for classification,
``meta["classes"][k]`` being the original label of code k) and, when configured, the column
``sensitive``. ``meta.json`` records the task, names, sizes, source and the files' SHA-256, and
the text columns prepare one-hot encoded (``meta["one_hot"]``,
:func:`gdlab.data.build.one_hot_encoding`; absent from data prepared before it was kept) and
how many rows were exact copies of another row (``meta["copied_rows"]``, kept on their row's
side of the split, :mod:`gdlab.data.copies`; absent from data prepared before it was counted).

The same rows are also stored as ``.npy`` arrays (``X_train.npy``, ``y_train.npy``,
``X_test.npy``, ``y_test.npy``; float64, the values of the Parquet columns): numpy files that
``np.load(..., mmap_mode="r")`` maps without reading them, so training can stream mini-batches
from a dataset larger than memory (``load_prepared(..., mmap=True)``, :func:`open_arrays`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdlab.atomic import atomic_path, output_dir, write_text_atomic
from gdlab.data.errors import DataError

TRAIN_FILE, TEST_FILE, META_FILE = "train.parquet", "test.parquet", "meta.json"
TARGET_COLUMN, SENSITIVE_COLUMN = "target", "sensitive"
SPLITS = ("train", "test")
SPLIT_FILES = (TRAIN_FILE, TEST_FILE)


def array_files(split: str) -> tuple[str, str]:
    """Names of the memory-mappable ``(X, y)`` arrays of ``split`` (``train`` or ``test``)."""
    return f"X_{split}.npy", f"y_{split}.npy"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_of(hashes: dict[str, str]) -> str:
    """The :func:`dataset_digest` of files whose SHA-256 are ``hashes`` (name -> hex)."""
    lines = "".join(f"{name}:{hashes[name]}\n" for name in SPLIT_FILES)
    return hashlib.sha256(lines.encode()).hexdigest()


def dataset_digest(directory: str | Path) -> str:
    """One hex SHA-256 for the prepared data: of the two Parquet files' own hashes."""
    directory = Path(directory)
    return digest_of({name: file_sha256(directory / name) for name in SPLIT_FILES})


def write_prepared(
    directory: str | Path, train: pd.DataFrame, test: pd.DataFrame, meta: dict[str, Any]
) -> dict[str, Any]:
    """Write both frames and ``meta.json`` (completed with sizes and hashes); return the meta.
    Each file is written atomically (:func:`gdlab.atomic.atomic_path`): a write the file
    system refuses (a full disk, permissions) raises :class:`~gdlab.atomic.OutputNotWritten`
    naming the file, and leaves no file cut short."""
    directory = output_dir(directory)
    names = [TRAIN_FILE, TEST_FILE]
    for frame, name, split in ((train, TRAIN_FILE, "train"), (test, TEST_FILE, "test")):
        with atomic_path(directory / name) as tmp:
            frame.reset_index(drop=True).to_parquet(tmp, index=False, engine="pyarrow")
        x_name, y_name = array_files(split)
        extra = (TARGET_COLUMN, SENSITIVE_COLUMN)
        features = meta.get("feature_names") or [c for c in frame.columns if c not in extra]
        for array_name, values in (
            (x_name, np.ascontiguousarray(frame[features].to_numpy(np.float64))),
            (y_name, frame[TARGET_COLUMN].to_numpy(np.float64)),
        ):
            with atomic_path(directory / array_name) as tmp:
                np.save(tmp, values)  # tmp ends with .npy: saved under that very name
        names += [x_name, y_name]
    meta = {
        **meta,
        "n_train": len(train),
        "n_test": len(test),
        "sha256": {name: file_sha256(directory / name) for name in names},
    }
    write_text_atomic(directory / META_FILE, json.dumps(meta, indent=2) + "\n")
    return meta


@dataclass
class Prepared:
    """The prepared data as numpy arrays (float64), with its description."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    task: str
    classes: list[Any] | None
    sensitive_train: np.ndarray | None
    sensitive_test: np.ndarray | None
    meta: dict[str, Any]
    digest: str

    def frame(self, split: str = "train") -> pd.DataFrame:
        """The ``train`` or ``test`` rows as a DataFrame (features and ``target``)."""
        X, y = (self.X_train, self.y_train) if split == "train" else (self.X_test, self.y_test)
        frame = pd.DataFrame(X, columns=self.feature_names)
        frame[TARGET_COLUMN] = y
        return frame


def open_arrays(directory: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of ``split`` as read-only memory maps of the ``.npy`` files (nothing is read
    until rows are used; mini-batches are paged in as training touches them)."""
    directory = Path(directory)
    paths = [directory / name for name in array_files(split)]
    for path in paths:
        if not path.exists():
            raise DataError(
                f"{path} not found; run the prepare stage again (it writes .npy arrays)"
            )
    X, y = (np.load(path, mmap_mode="r", allow_pickle=False) for path in paths)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise DataError(f"{paths[0]} and {paths[1]} do not hold X (n, d) and y (n,)")
    return X, y


_META_KEYS = ("sha256", "feature_names", "task")
"""What every ``meta.json`` prepare writes holds (read before anything else)."""


def _read_meta(path: Path) -> dict:
    """``meta.json`` as prepare wrote it; DataError naming the file when it is cut short,
    damaged or lacks what prepare writes (instead of the bare JSON error, which names no
    file)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        problem = None if isinstance(meta, dict) else "not a JSON object"
        if problem is None and (absent := [k for k in _META_KEYS if k not in meta]):
            problem = f"no {', '.join(map(repr, absent))}"
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        problem = str(exc)
    if problem is not None:
        raise DataError(
            f"{path} is not the meta.json prepare writes ({problem}); restore it with "
            f"`dvc checkout --force {path.parent}` or run the prepare stage again "
            f"(dvc repro -f -s prepare)"
        )
    return meta


def load_prepared(directory: str | Path = "data/prepared", *, mmap: bool = False) -> Prepared:
    """Read a directory written by ``pipeline/prepare.py``; DataError when files are missing or
    changed since (their SHA-256 no longer matches ``meta.json``).

    ``mmap=True``: ``X_*`` and ``y_*`` are read-only memory maps of the ``.npy`` arrays
    (:func:`open_arrays`) instead of arrays decoded from Parquet; same values."""
    directory = Path(directory)
    meta_path = directory / META_FILE
    if not meta_path.exists():
        raise DataError(f"{meta_path} not found; run the prepare stage first (dvc repro prepare)")
    meta = _read_meta(meta_path)
    hashes: dict[str, str] = {}  # each file hashed once: checked here, digested below
    for name, expected in meta["sha256"].items():
        if not (directory / name).exists():
            raise DataError(f"{directory / name} not found; run the prepare stage again")
        hashes[name] = file_sha256(directory / name)
        if hashes[name] != expected:
            raise DataError(
                f"{directory / name} changed after it was prepared (SHA-256 differs "
                "from meta.json); run the prepare stage again"
            )
    names = list(meta["feature_names"])

    def arrays(name: str, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if mmap:
            columns = [SENSITIVE_COLUMN] if meta.get("sensitive") else []
            frame = pd.read_parquet(directory / name, columns=columns)
            s = frame[SENSITIVE_COLUMN].to_numpy() if columns else None
            return (*open_arrays(directory, split), s)
        frame = pd.read_parquet(directory / name)
        X = frame[names].to_numpy(dtype=np.float64)
        y = frame[TARGET_COLUMN].to_numpy(dtype=np.float64)
        s = frame[SENSITIVE_COLUMN].to_numpy() if SENSITIVE_COLUMN in frame.columns else None
        return X, y, s

    X_train, y_train, s_train = arrays(TRAIN_FILE, "train")
    X_test, y_test, s_test = arrays(TEST_FILE, "test")
    return Prepared(
        X_train,
        y_train,
        X_test,
        y_test,
        names,
        meta["task"],
        meta.get("classes"),
        s_train,
        s_test,
        meta,
        digest_of({n: hashes.get(n) or file_sha256(directory / n) for n in SPLIT_FILES}),
    )

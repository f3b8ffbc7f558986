"""The prepared-data directory: ``train.parquet``, ``test.parquet`` and ``meta.json``.

Both Parquet files hold the feature columns (float64, named as in ``meta["feature_names"]``),
the column ``target`` (float64 for regression; int64 class codes 0..K-1 for classification,
``meta["classes"][k]`` being the original label of code k) and, when configured, the column
``sensitive``. ``meta.json`` records the task, names, sizes, source and the files' SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdlab.data.errors import DataError

TRAIN_FILE, TEST_FILE, META_FILE = "train.parquet", "test.parquet", "meta.json"
TARGET_COLUMN, SENSITIVE_COLUMN = "target", "sensitive"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_digest(directory: str | Path) -> str:
    """One hex SHA-256 for the prepared data: of the two Parquet files' own hashes."""
    directory = Path(directory)
    lines = "".join(f"{name}:{file_sha256(directory / name)}\n" for name in (TRAIN_FILE, TEST_FILE))
    return hashlib.sha256(lines.encode()).hexdigest()


def write_prepared(
    directory: str | Path, train: pd.DataFrame, test: pd.DataFrame, meta: dict[str, Any]
) -> dict[str, Any]:
    """Write both frames and ``meta.json`` (completed with sizes and hashes); return the meta."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for frame, name in ((train, TRAIN_FILE), (test, TEST_FILE)):
        frame.reset_index(drop=True).to_parquet(directory / name, index=False, engine="pyarrow")
    meta = {
        **meta,
        "n_train": len(train),
        "n_test": len(test),
        "sha256": {name: file_sha256(directory / name) for name in (TRAIN_FILE, TEST_FILE)},
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
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


def load_prepared(directory: str | Path = "data/prepared") -> Prepared:
    """Read a directory written by ``pipeline/prepare.py``; DataError when files are missing or
    changed since (their SHA-256 no longer matches ``meta.json``)."""
    directory = Path(directory)
    meta_path = directory / META_FILE
    if not meta_path.exists():
        raise DataError(f"{meta_path} not found; run the prepare stage first (dvc repro prepare)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    for name, expected in meta["sha256"].items():
        if not (directory / name).exists():
            raise DataError(f"{directory / name} not found; run the prepare stage again")
        if file_sha256(directory / name) != expected:
            raise DataError(
                f"{directory / name} changed after it was prepared (SHA-256 differs "
                "from meta.json); run the prepare stage again"
            )
    names = list(meta["feature_names"])
    frames = {n: pd.read_parquet(directory / n) for n in (TRAIN_FILE, TEST_FILE)}

    def arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        X = frame[names].to_numpy(dtype=np.float64)
        y = frame[TARGET_COLUMN].to_numpy(dtype=np.float64)
        s = frame[SENSITIVE_COLUMN].to_numpy() if SENSITIVE_COLUMN in frame.columns else None
        return X, y, s

    X_train, y_train, s_train = arrays(frames[TRAIN_FILE])
    X_test, y_test, s_test = arrays(frames[TEST_FILE])
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
        dataset_digest(directory),
    )

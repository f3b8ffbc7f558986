"""scikit-learn's bundled data sets (shipped with scikit-learn: no download)."""

from __future__ import annotations

from sklearn import datasets

from gdlab.config.sections.data import BUNDLED_TARGET, BUNDLED_TASKS
from gdlab.data.errors import DataError
from gdlab.data.table import RawTable

TARGET = BUNDLED_TARGET


def load_bundled(name: str, sensitive: str | None = None) -> RawTable:
    """Load ``diabetes``, ``breast_cancer``, ``wine`` or ``digits`` as a frame.

    ``sensitive`` may name one of the set's feature columns (e.g. diabetes' ``sex``); it is
    then kept out of the features. Class names (``target_names``) go to ``meta.json``.
    """
    if name not in BUNDLED_TASKS:
        raise DataError(
            f"data.source: {name!r} is not a bundled data set (allowed: {', '.join(BUNDLED_TASKS)})"
        )
    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    label_names = None
    if BUNDLED_TASKS[name] == "classification":
        label_names = {i: _plain(n) for i, n in enumerate(bunch.target_names)}
    return RawTable(
        frame=frame, target=TARGET, source=name, sensitive=sensitive, label_names=label_names
    )


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value

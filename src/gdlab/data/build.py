"""Build the prepared-data directory from params: source -> checks -> split -> files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdlab.config import Params
from gdlab.data.checks import CheckedData, check_table
from gdlab.data.copies import copied_rows
from gdlab.data.guards import check_magnitude, check_split_classes
from gdlab.data.phases import Phases
from gdlab.data.prepared import SENSITIVE_COLUMN, TARGET_COLUMN, write_prepared
from gdlab.data.privacy import protect_personal_data
from gdlab.data.sources import load_source
from gdlab.data.split import check_folds, split_indices


def check_data(params: Params, *, phases: Phases | None = None) -> CheckedData:
    """Load ``params.data.source``, drop / pseudonymise personal data (``data.pii``) and run
    every check on it. ``phases``: where to say as reading and checking end."""
    data = params.data
    phases = Phases(None) if phases is None else phases
    source = load_source(params)
    phases.done(
        f"read {len(source.frame)} rows x {source.frame.shape[1]} columns "
        f"({source.path or source.source})"
    )
    checked = check_table(
        protect_personal_data(source, data.pii),
        task=params.model.task,
        missing=data.missing,
        categorical=data.categorical,
        min_rows_per_class=data.min_rows_per_class,
        max_categories=data.max_categories,
    )
    regression = params.model.task == "regression"
    check_magnitude(checked.table, checked.features, checked.target if regression else None)
    phases.done(
        f"checked {len(checked.target)} rows ({checked.features.shape[1]} features) and "
        "hashed them for exact copies"
    )
    return checked


def _rows(checked: CheckedData, index: Any) -> pd.DataFrame:
    frame = checked.features.iloc[index].copy()
    frame[TARGET_COLUMN] = checked.target.iloc[index].to_numpy()
    if checked.sensitive is not None:
        frame[SENSITIVE_COLUMN] = checked.sensitive.iloc[index].to_numpy()
    return frame


def one_hot_encoding(checked: CheckedData, missing: str) -> dict[str, Any]:
    """``meta.json``'s ``one_hot``: the text columns prepare one-hot encoded, ``{"groups":
    {column: [its <column>=<level> features]}, "none_allowed": bool}``. A missing text value
    sets no level of its column: such rows are kept when ``data.missing`` imputes (``missing``
    other than ``refuse``), refused otherwise, so a row of no level is one prepare makes only
    then. Columns the source already held as numbers (a user's own 0/1 columns, whatever
    their names) are in no group."""
    return {"groups": dict(checked.one_hot), "none_allowed": missing != "refuse"}


@dataclass
class SplitData:
    """Checked rows with their seeded split: what :func:`prepare_dataset` writes."""

    checked: CheckedData
    train: np.ndarray
    test: np.ndarray
    meta: dict[str, Any]
    """``meta.json`` without the files' sizes and hashes."""


def split_data(
    params: Params, *, warn: Callable[[str], None] | None = None, phases: Phases | None = None
) -> SplitData:
    """Every check of :func:`prepare_dataset` (the data's, the split's, the folds'), writing
    nothing. Raises :class:`~gdlab.data.errors.DataError`; ``warn`` and ``phases`` as
    there."""
    phases = Phases(None) if phases is None else phases
    checked = check_data(params, phases=phases)
    for warning in checked.warnings if warn is not None else ():
        warn(warning)
    classification = params.model.task == "classification"
    y = checked.target.to_numpy()
    groups = checked.groups()  # a row's exact copies stay on its side of the split
    train, test = split_indices(
        len(y), y, test_size=params.data.test_size, seed=params.seed, stratify=classification,
        groups=groups,
    )
    check_folds(
        y[train], params.cv.folds, stratified=classification, classes=checked.classes,
        groups=groups[train],
    )
    if classification:
        check_split_classes(checked.table, y[train], y[test], test, checked.classes)
    table = checked.table
    meta = {
        "task": params.model.task,
        "feature_names": [str(c) for c in checked.features.columns],
        "one_hot": one_hot_encoding(checked, params.data.missing),
        "target": table.target,
        "classes": checked.classes,
        "sensitive": table.sensitive,
        "source": table.source,
        "path": table.path,
        "copied_rows": len(copied_rows(groups)),
    }
    phases.done(f"split {len(train)} train / {len(test)} test rows")
    return SplitData(checked, train, test, meta)


def check_dataset(
    params: Params, *, warn: Callable[[str], None] | None = None, progress: str | None = None
) -> dict[str, Any]:
    """The checks of :func:`prepare_dataset` without writing the files (the validate stage):
    its ``meta.json`` content less the ``sha256`` of files never written. Raises
    :class:`~gdlab.data.errors.DataError`; ``warn`` and ``progress`` as there."""
    split = split_data(params, warn=warn, phases=Phases(progress))
    return {**split.meta, "n_train": len(split.train), "n_test": len(split.test)}


def prepare_dataset(
    params: Params,
    directory: str | Path = "data/prepared",
    *,
    warn: Callable[[str], None] | None = None,
    progress: str | None = None,
) -> dict[str, Any]:
    """Check, split (seeded; stratified for classification) and write the prepared data.

    Returns the ``meta.json`` content. Raises :class:`~gdlab.data.errors.DataError`.
    ``warn`` receives each one-line warning of the checks (:attr:`CheckedData.warnings`, e.g.
    an integer identifier kept as a feature); the stages print them. ``progress``: the
    stage's name, to print a progress line (:mod:`gdlab.data.phases`) as each long phase
    ends (read, checked and hashed, split, written); None prints none.
    """
    phases = Phases(progress)
    split = split_data(params, warn=warn, phases=phases)
    checked = split.checked
    meta = write_prepared(
        directory, _rows(checked, split.train), _rows(checked, split.test), split.meta
    )
    phases.done(f"wrote {meta['n_train']} train / {meta['n_test']} test rows to {directory}")
    return meta

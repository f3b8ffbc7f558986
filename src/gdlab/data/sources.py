"""Pick the source named by ``data.source`` and deliver its rows as a :class:`RawTable`."""

from __future__ import annotations

from pathlib import Path

from gdlab.config import Params
from gdlab.config.sections.data import BUNDLED_TASKS
from gdlab.data.bundled import load_bundled
from gdlab.data.files import check_file, read_csv, read_parquet
from gdlab.data.synthetic import make_synthetic
from gdlab.data.table import RawTable

RAW_DIR = Path("data/raw")
"""Where a project keeps its CSV/Parquet files: the prepare stage depends on this directory,
so DVC reruns it when a file in it changes."""


def load_source(params: Params) -> RawTable:
    """The raw rows of ``params.data.source`` (synthetic rows are seeded by ``params.seed``)."""
    data = params.data
    if data.source == "synthetic":
        return make_synthetic(data.synthetic, params.model.task, params.seed)
    if data.source in BUNDLED_TASKS:
        return load_bundled(data.source, sensitive=data.sensitive)
    assert data.path is not None and data.target is not None  # guaranteed by the schema
    if data.source == "csv":
        return read_csv(
            data.path,
            data.target,
            delimiter=data.delimiter,
            encoding=data.encoding,
            sensitive=data.sensitive,
        )
    return read_parquet(data.path, data.target, sensitive=data.sensitive)


def check_source_available(params: Params) -> None:
    """For file sources: DataError unless ``data.path`` is a readable, non-empty file."""
    if params.data.source in ("csv", "parquet") and params.data.path is not None:
        check_file(params.data.path)


def untracked_source(params: Params, root: str | Path) -> str | None:
    """A warning when ``data.path`` (csv/parquet) lies outside ``RAW_DIR`` of the project at
    ``root``: DVC, which tracks that directory for the prepare stage, would not notice edits
    to the file. None when the file is inside it or the source is not a file."""
    data = params.data
    if data.source not in ("csv", "parquet") or data.path is None:
        return None
    root = Path(root).resolve()
    raw = root / RAW_DIR
    if (root / data.path).resolve().is_relative_to(raw):
        return None
    return (
        f"data.path: {data.path} is outside {RAW_DIR}/, so DVC will not rerun prepare when "
        f"the file changes; move it under {RAW_DIR}/ (`dvc add` it when large) or run "
        f"`dvc repro -f prepare` after editing it"
    )

"""Pick the source named by ``data.source`` and deliver its rows as a :class:`RawTable`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from gdlab.config import Params
from gdlab.config.sections.data import BUNDLED_TASKS
from gdlab.data.bundled import load_bundled
from gdlab.data.dropping import drop_columns
from gdlab.data.files import check_file, read_csv, read_parquet
from gdlab.data.synthetic import make_synthetic
from gdlab.data.table import RawTable

RAW_DIR = Path("data/raw")
"""Where a project keeps its CSV/Parquet files: the prepare stage depends on this directory,
so DVC reruns it when a file in it changes."""


def load_source(params: Params) -> RawTable:
    """The raw rows of ``params.data.source`` (synthetic rows are seeded by ``params.seed``),
    without the ``data.drop`` columns."""
    data = params.data
    if data.source == "synthetic":
        return drop_columns(make_synthetic(data.synthetic, params.model.task, params.seed),
                            data.drop)
    if data.source in BUNDLED_TASKS:
        return drop_columns(load_bundled(data.source, sensitive=data.sensitive), data.drop)
    assert data.path is not None and data.target is not None  # guaranteed by the schema
    if data.source == "csv":
        return read_csv(
            data.path,
            data.target,
            delimiter=data.delimiter,
            encoding=data.encoding,
            decimal=data.decimal,
            na_values=data.na_values,
            sensitive=data.sensitive,
            drop=data.drop,
        )
    return read_parquet(data.path, data.target, sensitive=data.sensitive, drop=data.drop)


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


def _dvc_tracked(file: Path, root: Path) -> bool:
    """Whether DVC tracks ``file`` (resolved, inside ``root``): a ``.dvc`` file beside it or
    beside a directory holding it, or an output of a stage in ``root/dvc.yaml``."""
    for path in (file, *file.parents):
        if path.with_name(path.name + ".dvc").is_file():
            return True
        if path == root:
            break
    try:
        stages = (yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8")) or {}).get(
            "stages"
        )
    except (OSError, yaml.YAMLError, AttributeError):
        return False
    for stage in (stages or {}).values():
        for out in (stage or {}).get("outs", []) if isinstance(stage, dict) else []:
            name = next(iter(out)) if isinstance(out, dict) else out
            if isinstance(name, str) and file.is_relative_to((root / name).resolve()):
                return True
    return False


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.{0 if n >= 10 * scale else 1}f} {unit}"
    return f"{n} bytes"


def unversioned_source(params: Params, root: str | Path) -> str | None:
    """A warning when ``data.path`` (csv/parquet, inside the git repository at ``root``) is
    tracked by neither DVC nor git: ``dvc exp run`` commits the workspace's untracked files to
    git, so the data file would land in ``.git`` (and a file git ignores is recorded nowhere).
    None when it is tracked, outside ``root``, or git is absent or ``root`` no repository."""
    data = params.data
    if data.source not in ("csv", "parquet") or data.path is None:
        return None
    root = Path(root).resolve()
    file = (root / data.path).resolve()
    if not file.is_file() or not file.is_relative_to(root) or _dvc_tracked(file, root):
        return None
    try:  # one call: '??' untracked, '!!' ignored, nothing (or a change code) when tracked
        status = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--", str(file.relative_to(root))],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    code = status.stdout[:2]
    if status.returncode != 0 or code not in ("??", "!!"):
        return None
    why = (
        f"`dvc exp run` would commit it into git ({_size(file.stat().st_size)} in .git)"
        if code == "??"
        else "git ignores it, so no commit records which data a run used"
    )
    return (
        f"data.path: {data.path} is tracked by neither DVC nor git: {why}; run "
        f"`dvc add {data.path}` (then `git add` the {Path(data.path).name}.dvc file it writes)"
    )

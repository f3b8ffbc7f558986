"""Lineage tags: which code, which DVC experiment, which prepared data produced a run."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GIT_COMMIT_TAG = "mlflow.source.git.commit"  # shown by the MLflow UI
CODE_DIGEST_TAG = "gdlab.code_digest"
"""sha256 of the committed code (:func:`code_digest`): two commits that changed only
params.yaml, dvc.lock or reports have the same."""
LINEAGE_TAGS = (
    GIT_COMMIT_TAG,
    CODE_DIGEST_TAG,
    "gdlab.git_dirty",
    "gdlab.code_dirty",
    "gdlab.params_dirty",
    "gdlab.data_digest",
    "gdlab.data_dvc_md5",
    "dvc.exp_name",
    "dvc.exp_baseline_rev",
    "gdlab.tuning_run_id",
)
"""The tags of a train run that say what produced its model; register copies them onto the
model version."""
CHILD_TAGS = (
    GIT_COMMIT_TAG,
    "gdlab.code_dirty",
    "gdlab.params_dirty",
    "gdlab.data_digest",
    "gdlab.data_dvc_md5",
    "gdlab.stage",
    "dvc.exp_name",
    "dvc.exp_baseline_rev",
)
"""The parent run's tags its child runs (folds, trials, compared variants) carry too, so a
child found by a search says which code, data and stage made it."""


def child_tags(parent_tags: Mapping[str, Any]) -> dict[str, str]:
    """The :data:`CHILD_TAGS` of ``parent_tags`` that are set, for a child run's
    ``create_run``."""
    return {k: str(parent_tags[k]) for k in CHILD_TAGS if parent_tags.get(k) is not None}


def _git(args: list[str], cwd: str | Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit(cwd: str | Path = ".") -> str | None:
    """HEAD commit of the repository at ``cwd``, or None outside git."""
    return _git(["rev-parse", "HEAD"], cwd) or None


def git_dirty(cwd: str | Path = ".") -> bool | None:
    """True when tracked files differ from HEAD (e.g. params changed by ``dvc exp run -S``)."""
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return None if status is None else bool(status)


CODE = ("*.py", "dvc.yaml", "pyproject.toml")
"""Git pathspecs of the code that makes a model: every Python file at any depth (gdlab, the
stage scripts, plug-ins), the stages and the dependencies; not params.yaml, dvc.lock or the
metrics and figures a run rewrites."""


def code_dirty(cwd: str | Path = ".") -> bool | None:
    """True when tracked :data:`CODE` files differ from HEAD: the code may not be the
    commit's (params.yaml changed by ``dvc exp run -S`` or a rewritten dvc.lock do not count)."""
    status = _git(["status", "--porcelain", "--untracked-files=no", "--", *CODE], cwd)
    return None if status is None else bool(status)


def _is_code(path: str) -> bool:
    """Whether ``path`` (relative to the project directory) is matched by :data:`CODE`: git's
    ``*.py`` matches at any depth, ``dvc.yaml`` and ``pyproject.toml`` at the top."""
    return path.endswith(".py") or path in ("dvc.yaml", "pyproject.toml")


def code_digest(cwd: str | Path = ".") -> str | None:
    """sha256 of the :data:`CODE` files committed at HEAD under ``cwd`` (a line ``<mode>
    <blob hash> <path>`` each, sorted by path), or None outside git. Commits that changed only
    params.yaml, dvc.lock, reports or docs share it; it says nothing of uncommitted changes
    (:func:`code_dirty` does)."""
    listing = _git(["ls-tree", "-r", "-z", "HEAD"], cwd)
    if listing is None:
        return None
    lines = []
    for entry in listing.split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, _, blob = meta.split(" ")
        if _is_code(path):
            lines.append(f"{mode} {blob} {path}\n")
    return hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


def same_code(held: Mapping[str, str], tags: Mapping[str, str]) -> bool:
    """Whether the lineage tags ``held`` (a registered version's) and ``tags`` (a new
    model's) name the same committed code: the same :data:`CODE_DIGEST_TAG` when both have
    one (commits that changed only params.yaml, dvc.lock or reports share it), else the same
    git commit (a version tagged before gdlab kept the digest)."""
    if held.get(CODE_DIGEST_TAG) and tags.get(CODE_DIGEST_TAG):
        return held[CODE_DIGEST_TAG] == tags[CODE_DIGEST_TAG]
    commit = tags.get(GIT_COMMIT_TAG)
    return bool(commit) and held.get(GIT_COMMIT_TAG) == commit


PARAMS = ("params.yaml",)
"""Git pathspecs of the parameters a stage reads (``dvc exp run -S`` rewrites them)."""


def params_dirty(cwd: str | Path = ".") -> bool | None:
    """True when tracked :data:`PARAMS` files differ from HEAD: the run's params are not the
    commit's (they are the run's MLflow params either way)."""
    status = _git(["status", "--porcelain", "--untracked-files=no", "--", *PARAMS], cwd)
    return None if status is None else bool(status)


def lineage_tags(
    data_digest: str | None = None, cwd: str | Path = ".", data_dir: str | Path | None = None
) -> dict[str, str]:
    """Tags for a parent run: git commit (+ whether the tree, the code and the params differ
    from it: ``gdlab.git_dirty`` counts any tracked file, dvc.lock and reports too; and the
    digest of its code, :data:`CODE_DIGEST_TAG`), DVC
    experiment name/baseline when DVC sets them, the prepared-data digest and, given the
    prepared data's directory ``data_dir``, DVC's md5 of it when ``cwd``'s dvc.lock records
    that of the directory as it is (:func:`~gdlab.tracking.dvc_lock.locked_data_md5`)."""
    tags: dict[str, str] = {}
    commit = git_commit(cwd)
    if commit:
        tags[GIT_COMMIT_TAG] = commit
        tags["gdlab.git_dirty"] = str(git_dirty(cwd)).lower()
        tags["gdlab.code_dirty"] = str(code_dirty(cwd)).lower()
        tags["gdlab.params_dirty"] = str(params_dirty(cwd)).lower()
        digest = code_digest(cwd)
        if digest:
            tags[CODE_DIGEST_TAG] = digest
    for env, tag in (
        ("DVC_EXP_NAME", "dvc.exp_name"),
        ("DVC_EXP_BASELINE_REV", "dvc.exp_baseline_rev"),
        ("DVC_STAGE", "dvc.stage"),
    ):
        if os.environ.get(env):
            tags[tag] = os.environ[env]
    if data_digest:
        tags["gdlab.data_digest"] = data_digest
    if data_dir is not None:
        from gdlab.tracking.dvc_lock import DATA_MD5_TAG, locked_data_md5

        md5 = locked_data_md5(data_dir, cwd)
        if md5:
            tags[DATA_MD5_TAG] = md5
    return tags

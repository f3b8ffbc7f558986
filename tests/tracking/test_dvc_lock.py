"""A run's lineage names the prepared data as DVC does: dvc.lock's md5 of the directory
(``gdlab.data_dvc_md5``) beside gdlab's sha256, when dvc.lock records the data as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from gdlab.tracking.dvc_lock import DATA_MD5_TAG, directory_md5, locked_data_md5
from gdlab.tracking.lineage import CHILD_TAGS, LINEAGE_TAGS, lineage_tags

DVC = str(Path(sys.executable).parent / "dvc")


def _prepared_by_dvc(root: Path) -> str:
    """A project whose stage ``prepare`` writes ``data/prepared`` (a nested file too), run by
    the real ``dvc repro``; the md5 dvc.lock records for it."""
    (root / "make.py").write_text(
        "import pathlib, numpy as np\n"
        "d = pathlib.Path('data/prepared'); (d / 'sub').mkdir(parents=True, exist_ok=True)\n"
        "np.save(d / 'X_train.npy', np.arange(12.0).reshape(4, 3))\n"
        "(d / 'meta.json').write_text('{\"a\": 1}\\n')\n"
        "(d / 'sub' / 'notes.txt').write_text('line one\\r\\nline two\\n')\n"
    )
    run = {"cwd": root, "check": True, "capture_output": True, "timeout": 120}
    subprocess.run([DVC, "init", "--no-scm", "-q"], **run)
    subprocess.run([DVC, "stage", "add", "-q", "-n", "prepare", "-o", "data/prepared",
                    f"{sys.executable} make.py"], **run)
    subprocess.run([DVC, "repro", "-q"], **run)
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return lock["stages"]["prepare"]["outs"][0]["md5"]


def test_the_run_is_tagged_with_dvc_locks_md5_of_the_prepared_data(tmp_path):
    recorded = _prepared_by_dvc(tmp_path)
    data = tmp_path / "data" / "prepared"
    assert directory_md5(data) == recorded  # computed as DVC computes it
    assert locked_data_md5(data, tmp_path) == recorded
    tags = lineage_tags("d" * 64, cwd=tmp_path, data_dir=data)
    assert tags[DATA_MD5_TAG] == recorded and tags["gdlab.data_digest"] == "d" * 64
    assert DATA_MD5_TAG in LINEAGE_TAGS and DATA_MD5_TAG in CHILD_TAGS  # version, children
    # the data changed since dvc.lock was written (a stage run by hand): no tag, not a stale one
    np.save(data / "X_train.npy", np.zeros((4, 3)))
    assert locked_data_md5(data, tmp_path) is None
    assert DATA_MD5_TAG not in lineage_tags("d" * 64, cwd=tmp_path, data_dir=data)


def test_no_dvc_lock_or_no_such_output_tags_nothing(tmp_path):
    data = tmp_path / "data" / "prepared"
    data.mkdir(parents=True)
    (data / "a.txt").write_text("a")
    assert locked_data_md5(data, tmp_path) is None
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(
        {"schema": "2.0", "stages": {"other": {"outs": [
            {"path": "elsewhere", "hash": "md5", "md5": directory_md5(data)}]}}}))
    assert locked_data_md5(data, tmp_path) is None
    (tmp_path / "dvc.lock").write_text(": not yaml [")
    assert locked_data_md5(data, tmp_path) is None

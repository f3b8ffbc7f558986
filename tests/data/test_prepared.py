"""The prepared-data directory: format, loading, digest, and the prepare stage."""

from __future__ import annotations

import json
import os
import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gdlab.data import DataError, dataset_digest, load_prepared, prepare_dataset
from tests.data.conftest import make_params

ROOT = Path(__file__).resolve().parents[2]
META_KEYS = {
    "task",
    "feature_names",
    "one_hot",
    "target",
    "classes",
    "sensitive",
    "n_train",
    "n_test",
    "source",
    "path",
    "copied_rows",
    "sha256",
}


def test_prepared_format(tmp_path, small):
    meta = prepare_dataset(small, tmp_path)
    assert set(meta) == META_KEYS
    assert meta["one_hot"] == {"groups": {}, "none_allowed": False}  # no text column
    assert meta["copied_rows"] == 0
    assert json.loads((tmp_path / "meta.json").read_text()) == meta
    train = pd.read_parquet(tmp_path / "train.parquet")
    test = pd.read_parquet(tmp_path / "test.parquet")
    assert list(train.columns) == [*meta["feature_names"], "target"]
    assert (len(train), len(test)) == (meta["n_train"], meta["n_test"]) == (240, 60)
    assert train["target"].dtype == np.int64 and meta["classes"] == [0, 1]
    assert set(meta["sha256"]) == {
        "train.parquet", "test.parquet", "X_train.npy", "y_train.npy", "X_test.npy", "y_test.npy"
    }


def test_load_prepared_gives_float_arrays(tmp_path, small):
    prepare_dataset(small, tmp_path)
    data = load_prepared(tmp_path)
    assert data.X_train.dtype == data.y_train.dtype == np.float64
    assert data.X_train.shape == (240, 5) and data.X_test.shape == (60, 5)
    assert data.task == "classification" and data.classes == [0, 1]
    assert data.sensitive_train is None and data.sensitive_test is None
    assert data.digest == dataset_digest(tmp_path)
    assert list(data.frame("test").columns) == [*data.feature_names, "target"]


@pytest.mark.parametrize("damage", ["cut short", "not an object", "no sha256"])
def test_a_damaged_meta_json_is_named_with_how_to_restore_it(tmp_path, small, damage):
    """A meta.json cut short gave train and evaluate the bare "Expecting value: line 8
    column 10 (char 100)", naming no file."""
    prepare_dataset(small, tmp_path)
    meta = tmp_path / "meta.json"
    text = meta.read_text()
    meta.write_text({"cut short": text[:100], "not an object": "[1, 2]",
                     "no sha256": json.dumps({k: v for k, v in json.loads(text).items()
                                              if k != "sha256"})}[damage])
    with pytest.raises(DataError) as refused:
        load_prepared(tmp_path)
    message = str(refused.value)
    assert message.startswith(f"{meta} is not the meta.json prepare writes (")
    assert f"`dvc checkout --force {tmp_path}`" in message and "dvc repro -f -s prepare" in message


def test_sensitive_column_is_kept_apart(tmp_path):
    params = make_params(data__synthetic__n_samples=200, data__synthetic__sensitive_group=True)
    meta = prepare_dataset(params, tmp_path)
    assert meta["sensitive"] == "group" and "group" not in meta["feature_names"]
    data = load_prepared(tmp_path)
    assert data.sensitive_train.shape == (160,) and set(np.unique(data.sensitive_test)) <= {0, 1}


def test_prepare_is_reproducible_and_seeded(tmp_path, small):
    prepare_dataset(small, tmp_path / "a")
    prepare_dataset(small, tmp_path / "b")
    assert dataset_digest(tmp_path / "a") == dataset_digest(tmp_path / "b")
    prepare_dataset(
        make_params(
            seed=1,
            data__synthetic__n_samples=300,
            data__synthetic__n_features=5,
            data__synthetic__n_informative=3,
        ),
        tmp_path / "c",
    )
    assert dataset_digest(tmp_path / "c") != dataset_digest(tmp_path / "a")


def _reference_digest(directory: Path) -> str:
    """The documented digest, computed here: SHA-256 of 'name:sha256-of-file' lines of the
    two Parquet files."""
    import hashlib

    lines = "".join(
        f"{name}:{hashlib.sha256((directory / name).read_bytes()).hexdigest()}\n"
        for name in ("train.parquet", "test.parquet")
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def test_digest_covers_both_splits(tmp_path, small):
    # the lineage tag gdlab.data_digest must change when only the test split changes (a digest
    # of the training file alone passed every other test)
    prepare_dataset(small, tmp_path / "a")
    assert dataset_digest(tmp_path / "a") == _reference_digest(tmp_path / "a")
    assert load_prepared(tmp_path / "a").digest == _reference_digest(tmp_path / "a")
    before = dataset_digest(tmp_path / "a")
    test = pd.read_parquet(tmp_path / "a" / "test.parquet")
    test.iloc[0, 0] += 1.0
    test.to_parquet(tmp_path / "a" / "test.parquet", index=False)
    assert dataset_digest(tmp_path / "a") != before
    assert dataset_digest(tmp_path / "a") == _reference_digest(tmp_path / "a")


@pytest.mark.parametrize("mmap", [False, True])
def test_load_prepared_reads_each_file_once_to_hash_it(tmp_path, small, monkeypatch, mmap):
    """load_prepared hashed train.parquet and test.parquet twice (checked against meta.json,
    then again for the digest): on 1 000 000 rows, ~0.5 GB read and hashed for nothing."""
    from gdlab.data import prepared

    prepare_dataset(small, tmp_path)
    hashed: list[str] = []
    real = prepared.file_sha256

    def counted(path):
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(prepared, "file_sha256", counted)
    data = load_prepared(tmp_path, mmap=mmap)
    assert sorted(hashed) == sorted(json.loads((tmp_path / "meta.json").read_text())["sha256"])
    assert len(hashed) == len(set(hashed)) == 6
    assert data.digest == _reference_digest(tmp_path)


def test_classification_split_is_stratified(tmp_path):
    params = make_params(data__source="wine")
    prepare_dataset(params, tmp_path)
    data = load_prepared(tmp_path)
    train_share = np.bincount(data.y_train.astype(int)) / len(data.y_train)
    test_share = np.bincount(data.y_test.astype(int)) / len(data.y_test)
    assert np.abs(train_share - test_share).max() < 0.05


def test_changed_file_is_detected(tmp_path, small):
    prepare_dataset(small, tmp_path)
    frame = pd.read_parquet(tmp_path / "train.parquet")
    frame.iloc[0, 0] += 1.0
    frame.to_parquet(tmp_path / "train.parquet", index=False)
    with pytest.raises(DataError, match="changed after it was prepared"):
        load_prepared(tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="run the prepare stage"):
        load_prepared(tmp_path / "nothing")


def test_csv_labels_become_codes(tmp_path, write_csv):
    rows = "".join(f"{i},{'cat' if i % 2 else 'dog'}\n" for i in range(20))
    path = write_csv("x,animal\n" + rows)
    params = make_params(
        data__source="csv", data__path=str(path), data__target="animal", cv__folds=2
    )
    meta = prepare_dataset(params, tmp_path / "out")
    assert meta["classes"] == ["cat", "dog"] and meta["target"] == "animal"
    assert meta["path"] == str(path) and meta["source"] == "csv"
    assert set(load_prepared(tmp_path / "out").y_train) == {0.0, 1.0}


def test_too_many_folds_name_the_rare_class_by_its_label_and_the_folds_that_fit(
    tmp_path, write_csv
):
    """The refusal named "class code 1" (the prepared encoding, which the user never sees)
    and advised raising data.min_rows_per_class, which cannot help: it names the label and
    the largest cv.folds the rarest class's training rows allow (checked against sklearn's
    StratifiedKFold)."""
    from sklearn.model_selection import StratifiedKFold

    rows = "".join(f"{i},{'dog' if i % 5 == 0 else 'cat'}\n" for i in range(40))
    path = write_csv("x,animal\n" + rows)

    def params(folds):
        return make_params(data__source="csv", data__path=str(path), data__target="animal",
                           cv__folds=folds)

    prepare_dataset(params(2), tmp_path / "two")  # the same seeded split, allowed
    y_train = load_prepared(tmp_path / "two").y_train
    dogs = int((y_train == 1).sum())  # meta classes: ["cat", "dog"]
    assert 2 <= dogs < 8
    with pytest.raises(DataError) as info:
        prepare_dataset(params(8), tmp_path / "eight")
    message = str(info.value)
    assert message == (
        f"cv.folds: stratified 8-fold CV needs 8 training rows per class, the training split "
        f"holds fewer of class 'dog' ({dogs}); lower cv.folds to at most {dogs} or collect "
        "more rows of that class"
    )
    # the advice holds: that many folds prepare and stratify, one more is more than sklearn
    # can stratify without a fold short of the rare class
    prepare_dataset(params(dogs), tmp_path / "most")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(StratifiedKFold(dogs).split(np.zeros(len(y_train)), y_train))
    with pytest.warns(UserWarning, match=f"least populated class in y has only {dogs} members"):
        list(StratifiedKFold(dogs + 1).split(np.zeros(len(y_train)), y_train))
    with pytest.raises(DataError, match=f"'dog' \\({dogs}\\)"):
        prepare_dataset(params(dogs + 1), tmp_path / "more")


def run_prepare(args: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", ["prepare.py", *args])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(ROOT / "pipeline" / "prepare.py"), run_name="__main__")
    return info.value.code


def test_prepare_stage(tmp_path, monkeypatch, capsys):
    params = tmp_path / "params.yaml"
    params.write_text(
        "data:\n  synthetic:\n    n_samples: 100\n    n_features: 4\n    n_informative: 2\n"
    )
    out = tmp_path / "prepared"
    assert run_prepare(["--params", str(params), "--out", str(out)], monkeypatch) == 0
    assert "80 train / 20 test rows, 4 features" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "X_test.npy", "X_train.npy", "meta.json", "test.parquet", "train.parquet", "y_test.npy",
        "y_train.npy",
    ]


def test_prepare_stage_reports_data_errors(tmp_path, monkeypatch, capsys, write_csv):
    path = write_csv("a,y\n1,1\n2,1\n3,1\n")
    params = tmp_path / "params.yaml"
    params.write_text(
        f"data:\n  source: csv\n  path: {path}\n  target: y\nmodel:\n  task: regression\n"
    )
    assert run_prepare(["--params", str(params), "--out", str(tmp_path / "o")], monkeypatch) == 1
    assert "prepare: data.target: target column 'y' is constant" in capsys.readouterr().err


@pytest.mark.parametrize("refusal", ["disk full", "directory in the way"])
def test_a_refused_write_ends_prepare_in_one_line_and_leaves_no_file_cut_short(
        tmp_path, monkeypatch, capsys, refusal):
    """prepare wrote its files in place with bare np.save / write_text: a full disk ended it in
    a traceback and could leave X_train.npy cut short. Each file is now written atomically and
    a refusal is one line naming the file."""
    import errno

    params = tmp_path / "params.yaml"
    params.write_text(
        "data:\n  synthetic:\n    n_samples: 100\n    n_features: 4\n    n_informative: 2\n"
    )
    out = tmp_path / "prepared"
    if refusal == "disk full":
        real_save = np.save

        def full(file, arr, *args, **kwargs):
            real_save(file, arr[: len(arr) // 2], *args, **kwargs)  # half written, then full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(np, "save", full)
        said = (f"prepare: cannot write {out / 'X_train.npy'}: the disk is full (OSError: "
                f"[Errno {errno.ENOSPC}] No space left on device); free space on {out} and run "
                "the stage again")
    else:
        (out / "X_train.npy").mkdir(parents=True)
        said = f"prepare: cannot write {out / 'X_train.npy'}: a directory stands where the file"
    monkeypatch.setenv("GDLAB_PROGRESS", "off")  # the phase lines before it: test_build.py
    assert run_prepare(["--params", str(params), "--out", str(out)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith(said), err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert not (out / "meta.json").exists()  # no prepared data to load
    if refusal == "disk full":
        assert sorted(p.name for p in out.iterdir()) == ["train.parquet"]  # no cut-short .npy

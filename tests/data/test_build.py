"""check_dataset: prepare's checks and meta without its files."""

from __future__ import annotations

import pytest

from gdlab.data import DataError, check_dataset, prepare_dataset
from tests.data.conftest import make_params


def test_check_dataset_finds_what_prepare_writes_and_writes_nothing(tmp_path, small):
    warned: list[str] = []
    meta = check_dataset(small, warn=warned.append)
    written = prepare_dataset(small, tmp_path / "prepared", warn=warned.append)
    assert meta == {k: v for k, v in written.items() if k != "sha256"}
    assert meta["n_train"] + meta["n_test"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared"]


def test_check_dataset_refuses_what_prepare_refuses(tmp_path, write_csv):
    rows = "".join(f"{i},{'' if i == 4 else i % 7},{i % 2}\n" for i in range(40))
    path = write_csv("a,b,y\n" + rows)
    params = make_params(data__source="csv", data__path=str(path), data__target="y")
    with pytest.raises(DataError) as checked:
        check_dataset(params)
    with pytest.raises(DataError) as prepared:
        prepare_dataset(params, tmp_path / "prepared")
    assert str(checked.value) == str(prepared.value)
    assert "column 'b': 1 missing at row 4 (file line 6)" in str(checked.value)

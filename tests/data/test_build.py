"""check_dataset: prepare's checks and meta without its files."""

from __future__ import annotations

import json

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


@pytest.mark.parametrize("missing", ["refuse", "median"])
def test_prepare_records_the_text_columns_it_one_hot_encoded(tmp_path, write_csv, missing):
    # the served model checks exactly these groups; 0/1 columns the file holds itself are none
    # of them, whatever their names (a=1, a=2 both 1 on a row; a drop-first colour=b, colour=c)
    rows = [f"{i % 5},{'abc'[i % 3]},{i % 2},{i % 3 // 2},{i % 2},{int(i % 4 == 1)},{i % 2}"
            for i in range(60)]
    if missing != "refuse":  # a missing city: a row of no level, kept only when imputing
        rows[7] = "2,,1,0,1,0,1"
    path = write_csv("x,city,a=1,a=2,colour=b,colour=c,y\n" + "\n".join(rows) + "\n")
    params = make_params(data__source="csv", data__path=str(path), data__target="y",
                         data__missing=missing)
    meta = prepare_dataset(params, tmp_path / "prepared")
    assert meta["one_hot"] == {
        "groups": {"city": ["city=a", "city=b", "city=c"]}, "none_allowed": missing != "refuse"}
    assert meta["feature_names"] == ["x", "a=1", "a=2", "colour=b", "colour=c", "city=a",
                                     "city=b", "city=c"]
    written = json.loads((tmp_path / "prepared" / "meta.json").read_text())
    assert written["one_hot"] == meta["one_hot"]
    assert check_dataset(params)["one_hot"] == meta["one_hot"]


def test_rows_after_blank_lines_and_quoted_line_breaks_are_named_by_their_own_line(
        tmp_path, write_csv):
    """The row's file line was its index + 2: after a blank line, a whitespace-only line
    (pandas skips both) or a quoted field holding a line break, every later row was named
    by a line too early. The line is checked against the file's own text."""
    body = ["a,b,note,y"]
    for i in range(40):
        if i in (5, 12):
            body.append("")
        if i == 20:
            body.append("   ")
        note = '"two\nlines"' if i == 9 else "n"
        body.append(f"{i},{'' if i == 30 else i % 7},{note},{i % 2}")
    path = write_csv("\n".join(body) + "\n")
    params = make_params(data__source="csv", data__path=str(path), data__target="y",
                         data__drop=["note"])
    with pytest.raises(DataError) as checked:
        check_dataset(params)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if text.startswith("30,,"))
    assert line == 36
    assert f"column 'b': 1 missing at row 30 (file line {line})" in str(checked.value)


def test_data_max_categories_reaches_the_checks(tmp_path, write_csv):
    """params.yaml's data.max_categories is what prepare's checks use (default 100)."""
    rows = "".join(f"p{i % 150:03d},{i % 7},{i % 3}\n" for i in range(600))
    path = write_csv("product,x,y\n" + rows)
    csv = {"data__source": "csv", "data__path": str(path), "data__target": "y"}
    with pytest.raises(DataError, match="data.max_categories: column 'product' has 150"):
        check_dataset(make_params(**csv))
    meta = check_dataset(make_params(**csv, data__max_categories=150))
    assert len(meta["one_hot"]["groups"]["product"]) == 150

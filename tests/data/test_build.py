"""check_dataset: prepare's checks and meta without its files."""

from __future__ import annotations

import json
import re

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


def _reviewers_data(path, *, copies=200, n=1000):
    """A customer table whose first ``copies`` rows appear twice (the reviewer's repro)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"customer_id": np.arange(1, n + 1), "a": rng.normal(size=n),
                       "b": rng.normal(size=n)})
    df["y"] = 3 * df.a + rng.normal(size=n)
    pd.concat([df, df.iloc[:copies]], ignore_index=True).to_csv(path, index=False)


def test_copied_rows_are_warned_and_none_is_on_both_sides_of_the_split(tmp_path):
    """66 of 240 test rows were exact copies of training rows, with no warning, and the model
    card said the test rows were never trained on."""
    import numpy as np

    from gdlab.data import load_prepared
    from gdlab.data.fingerprint import row_hashes

    _reviewers_data(tmp_path / "t.csv")
    params = make_params(data__source="csv", data__path=str(tmp_path / "t.csv"),
                         data__target="y", model__task="regression")
    checked: list[str] = []
    check_dataset(params, warn=checked.append)
    warned: list[str] = []
    meta = prepare_dataset(params, tmp_path / "prepared", warn=warned.append)
    assert checked == warned
    copies = [w for w in warned if "exact cop" in w]
    assert copies == [
        f"file {str(tmp_path / 't.csv')!r} holds 200 rows that are exact copies of another row "
        "(features and target) at rows 1000, 1001, 1002, 1003, 1004 and 195 more (file lines "
        "1002, 1003, 1004, 1005, 1006), the first repeating row 0 (file line 2): a row and its "
        "copies are kept on one side of the train/test split and of every CV fold, so no test "
        "or validation row is a copy of a row trained on; remove the copies from the file if "
        "they are accidental"]
    assert any(w.startswith("column 'customer_id' ") for w in warned)
    assert meta["copied_rows"] == 200 and meta["n_train"] + meta["n_test"] == 1200
    data = load_prepared(tmp_path / "prepared")
    train, test = row_hashes(data.X_train, data.y_train), row_hashes(data.X_test, data.y_test)
    assert not np.isin(test, train).any()  # no test row is a copy of a training row
    # data.test_size of the 1000 distinct rows are tested, with their copies
    assert len(np.unique(test)) == 200


def test_columns_data_drop_leaves_out_do_not_tell_rows_apart(tmp_path, write_csv):
    """Rows equal but for a dropped column are copies of one another."""
    rows = [f"{i},{i % 10},{i % 10 * 2}" for i in range(40)]
    path = write_csv("note,a,y\n" + "\n".join(rows) + "\n")
    warned: list[str] = []
    params = make_params(data__source="csv", data__path=str(path), data__target="y",
                         model__task="regression", data__drop=["note"], cv__folds=3)
    meta = check_dataset(params, warn=warned.append)
    assert meta["copied_rows"] == 30
    assert any("holds 30 rows that are exact copies" in w for w in warned)


def test_prepare_says_as_each_long_phase_ends(tmp_path, small, fake_clock, capsys):
    """A million rows were a minute of silence: read, checked and hashed, split and written
    now each print a line with the phase's time (:mod:`gdlab.data.phases`)."""
    fake_clock.step = 1.0
    prepare_dataset(small, tmp_path / "prepared", progress="prepare")
    check_dataset(small, progress="validate")
    lines = capsys.readouterr().err.splitlines()
    assert all(re.search(r" in \d\.0s$", line) for line in lines), lines
    assert [line.rsplit(" in ", 1)[0] for line in lines] == [
        "prepare: read 300 rows x 6 columns (synthetic)",
        "prepare: checked 300 rows (5 features) and hashed them for exact copies",
        "prepare: split 240 train / 60 test rows",
        f"prepare: wrote 240 train / 60 test rows to {tmp_path / 'prepared'}",
        "validate: read 300 rows x 6 columns (synthetic)",
        "validate: checked 300 rows (5 features) and hashed them for exact copies",
        "validate: split 240 train / 60 test rows",
    ]


def test_the_phases_are_silent_without_a_stage_or_with_gdlab_progress_off(
    tmp_path, small, capsys, monkeypatch
):
    prepare_dataset(small, tmp_path / "library")
    monkeypatch.setenv("GDLAB_PROGRESS", "off")
    prepare_dataset(small, tmp_path / "stage", progress="prepare")
    check_dataset(small, progress="validate")
    assert capsys.readouterr().err == ""

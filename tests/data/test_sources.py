"""Each source loads: synthetic (seeded, conditioned), scikit-learn's bundled sets, CSV, Parquet."""

from __future__ import annotations

import csv
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from gdlab.config import SYNTHETIC_GROUP, ConfigError
from gdlab.config.sections.data import SyntheticConfig
from gdlab.data import (
    DataError,
    check_data,
    load_source,
    untracked_source,
    unversioned_source,
)
from gdlab.data.bundled import load_bundled
from gdlab.data.synthetic import condition, make_synthetic
from tests.data.conftest import make_params


def cfg(**kw) -> SyntheticConfig:
    return SyntheticConfig(**{"n_samples": 400, "n_features": 6, "n_informative": 3, **kw})


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_synthetic_is_seeded(task):
    a = make_synthetic(cfg(), task, seed=1).frame
    pd.testing.assert_frame_equal(a, make_synthetic(cfg(), task, seed=1).frame)
    assert not a.equals(make_synthetic(cfg(), task, seed=2).frame)
    assert a.shape == (400, 7)


def test_synthetic_regression_target_is_linear_with_unit_signal():
    table = make_synthetic(cfg(noise=0.0, condition_number=100.0), "regression", seed=0)
    X = table.frame.drop(columns=table.target).to_numpy()
    y = table.frame[table.target].to_numpy()
    A = np.c_[X, np.ones(len(X))]
    residual = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    assert np.abs(residual).max() < 1e-8
    assert y.std() == pytest.approx(1.0)


def test_synthetic_noise_sets_the_regression_noise_std():
    noisy = make_synthetic(cfg(noise=0.5), "regression", seed=0).frame["y"]
    clean = make_synthetic(cfg(noise=0.0), "regression", seed=0).frame["y"]
    assert (noisy - clean).std() == pytest.approx(0.5, rel=0.15)


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4])
def test_condition_number_is_exact_on_the_sample(kappa):
    table = make_synthetic(cfg(condition_number=kappa), "classification", seed=3)
    X = table.frame.drop(columns=table.target).to_numpy()
    assert np.linalg.cond(np.cov(X.T)) == pytest.approx(kappa, rel=1e-6)


def test_condition_keeps_mean_and_handles_rank_deficiency():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) + 5.0
    X = np.c_[X, X[:, 0]]  # rank 3 of 4
    out = condition(X, 100.0)
    assert np.allclose(out.mean(axis=0), X.mean(axis=0))
    assert np.all(np.isfinite(out))


def test_feature_scale_multiplies_every_feature():
    base = make_synthetic(cfg(), "regression", seed=0).frame
    scaled = make_synthetic(cfg(feature_scale=1000.0), "regression", seed=0).frame
    cols = [f"x{i}" for i in range(6)]
    assert np.allclose(scaled[cols].to_numpy(), 1000.0 * base[cols].to_numpy())


def test_synthetic_classes_and_group_correlated_with_target():
    table = make_synthetic(
        cfg(n_classes=3, sensitive_group=True, n_samples=2000), "classification", seed=0
    )
    assert table.sensitive == SYNTHETIC_GROUP
    assert sorted(table.frame["y"].unique()) == [0, 1, 2]
    group, y = table.frame[SYNTHETIC_GROUP], table.frame["y"]
    assert set(group.unique()) == {0, 1}
    assert group[y == 2].mean() - group[y == 0].mean() > 0.25


@pytest.mark.parametrize(
    ("name", "task", "n_features", "classes"),
    [
        ("diabetes", "regression", 10, None),
        ("breast_cancer", "classification", 30, ["malignant", "benign"]),
        ("wine", "classification", 13, ["class_0", "class_1", "class_2"]),
        ("digits", "classification", 64, list(range(10))),
    ],
)
def test_bundled_sets_load(name, task, n_features, classes):
    checked = check_data(make_params(data__source=name, model__task=task))
    assert checked.features.shape[1] == n_features
    assert checked.classes == classes
    assert checked.features.dtypes.eq("float64").all()


def test_bundled_feature_as_sensitive_column():
    table = load_bundled("diabetes", sensitive="sex")
    assert table.sensitive == "sex"
    checked = check_data(
        make_params(data__source="diabetes", model__task="regression", data__sensitive="sex")
    )
    assert "sex" not in checked.features.columns and checked.sensitive is not None


def test_csv_source(write_csv):
    path = write_csv("a;b;label\n1;x;yes\n2;y;no\n3;x;yes\n4;y;no\n")
    params = make_params(
        data__source="csv",
        data__path=str(path),
        data__target="label",
        data__delimiter=";",
        data__min_rows_per_class=2,
    )
    table = load_source(params)
    assert table.path == str(path) and table.first_line == 2
    checked = check_data(params)
    assert list(checked.features.columns) == ["a", "b=x", "b=y"]
    assert checked.classes == ["no", "yes"]
    assert checked.target.tolist() == [1, 0, 1, 0]


def test_parquet_source(tmp_path):
    path = tmp_path / "d.parquet"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "t": [0.5, 1.5, 2.5, 3.5]}).to_parquet(path)
    params = make_params(
        data__source="parquet", data__path=str(path), data__target="t", model__task="regression"
    )
    checked = check_data(params)
    assert checked.target.tolist() == [0.5, 1.5, 2.5, 3.5] and checked.classes is None


@pytest.mark.parametrize(
    ("path", "outside"),
    [
        ("data/raw/houses.csv", False),
        ("data/raw/sub/../houses.csv", False),
        ("data/houses.csv", True),
        ("data/raw/../houses.csv", True),
        ("/elsewhere/houses.csv", True),
    ],
)
def test_a_file_outside_data_raw_is_flagged_as_invisible_to_dvc(tmp_path, path, outside):
    params = make_params(data__source="csv", data__path=path, data__target="y")
    warning = untracked_source(params, tmp_path)
    assert (warning is not None) == outside
    if outside:
        assert warning.startswith(f"data.path: {path} is outside data/raw/")


def test_sources_without_a_file_are_never_flagged(tmp_path):
    assert (
        untracked_source(make_params(data__source="diabetes", model__task="regression"), tmp_path)
        is None
    )
    assert untracked_source(make_params(), tmp_path) is None


# --- a data file tracked by neither DVC nor git -------------------------------------------------

RAW = "data/raw/churn.csv"


def _git(root, *args) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """A git repository holding an untracked data/raw/churn.csv."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / RAW).write_text("a,churn\n1,0\n2,1\n")
    return tmp_path


def csv_params(path: str = RAW):
    return make_params(data__source="csv", data__path=path, data__target="churn")


def test_an_untracked_data_file_is_flagged_with_dvc_add(repo):
    """`dvc exp run -S data.path=data/raw/...` without `dvc add` committed the raw CSV into git
    (DVC's experiment commit takes untracked files); validate said nothing."""
    warning = unversioned_source(csv_params(), repo)
    assert warning is not None and warning.startswith(f"data.path: {RAW} is tracked by neither")
    assert f"`dvc add {RAW}`" in warning and "commit it into git" in warning


def test_a_git_ignored_data_file_is_flagged_too(repo):
    (repo / ".gitignore").write_text("*.csv\n")
    warning = unversioned_source(csv_params(), repo)
    assert warning is not None and "git ignores it" in warning and f"`dvc add {RAW}`" in warning


@pytest.mark.parametrize(
    "track",
    [
        lambda root: _git(root, "add", RAW),
        lambda root: (root / f"{RAW}.dvc").write_text("outs:\n- path: churn.csv\n"),
        lambda root: (root / "data/raw.dvc").write_text("outs:\n- path: raw\n"),
        lambda root: (root / "dvc.yaml").write_text(
            "stages:\n  fetch:\n    cmd: x\n    outs:\n      - data/raw\n"
        ),
    ],
    ids=["git-add", "dvc-file", "dvc-dir", "stage-out"],
)
def test_a_data_file_tracked_by_git_or_dvc_is_not_flagged(repo, track):
    track(repo)
    assert unversioned_source(csv_params(), repo) is None


def test_no_flag_without_git_or_outside_a_repository(repo, tmp_path_factory, monkeypatch):
    assert unversioned_source(make_params(), repo) is None  # no file source
    plain = tmp_path_factory.mktemp("plain")  # not a git repository
    (plain / "data/raw").mkdir(parents=True)
    (plain / RAW).write_text("a,churn\n1,0\n")
    assert unversioned_source(csv_params(), plain) is None
    monkeypatch.setenv("PATH", str(plain))  # git absent: no failure, no warning
    assert unversioned_source(csv_params(), repo) is None


# --- spreadsheet exports: decimal commas, missing markers, columns left out -----------------


def _csv_params(path, target: str, **kw):
    return make_params(data__source="csv", data__path=str(path), data__target=target, **kw)


def test_a_european_excel_export_reads_its_decimal_commas(tmp_path):
    """BOM, ';' fields, decimal commas, CRLF line ends and trailing empty lines: with
    data.decimal ',' every number is the number pandas reads from the same frame written
    with '.' (before, data.decimal did not exist and the columns could only be text)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"âge": rng.integers(20, 80, 40).astype(float), "IMC": rng.normal(25, 4, 40).round(2)}
    )
    frame["progression"] = (3 * frame["IMC"] + rng.normal(0, 1, 40)).round(1)
    path = tmp_path / "export.csv"
    text = frame.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
    path.write_text(text + "\r\n\r\n", encoding="utf-8-sig", newline="")
    checked = check_data(
        _csv_params(
            path, "progression", data__delimiter=";", data__decimal=",", model__task="regression"
        )
    )
    assert list(checked.features.columns) == ["âge", "IMC"]
    np.testing.assert_array_equal(checked.features.to_numpy(), frame[["âge", "IMC"]].to_numpy())
    np.testing.assert_array_equal(checked.target.to_numpy(), frame["progression"].to_numpy())


def test_decimal_commas_read_as_text_are_warned_naming_data_decimal(write_csv):
    """Before today: a ';' file's decimal-comma features were one-hot encoded as categories,
    one column per distinct number, without a word. They still are (text such as a
    multi-select '1,2' is a real category), with a warning naming the column, the first row
    and data.decimal; with data.decimal ',' they are numbers."""
    rows = "".join(f"{i % 7},{i % 3};{i % 4};{'yes' if i % 2 else 'no'}\n" for i in range(30))
    path = write_csv("dose;visits;outcome\n" + rows)
    checked = check_data(_csv_params(path, "outcome", data__delimiter=";"))
    [warning] = checked.warnings
    assert "column 'dose'" in warning and "'0,0' (at row 0 (file line 2))" in warning
    assert "data.decimal: ','" in warning
    assert checked.one_hot["dose"][0] == "dose=0,0"
    checked = check_data(_csv_params(path, "outcome", data__delimiter=";", data__decimal=","))
    assert list(checked.features.columns) == ["dose", "visits"]
    assert checked.features["dose"].tolist()[:4] == [0.0, 1.1, 2.2, 3.0]


def test_a_multi_select_text_feature_is_one_hot_encoded_with_a_warning(write_csv):
    """A survey's multi-select answers '1', '1,2', '2,3' (quoted in a ',' file) were one-hot
    encoded before today; today's decimal-comma check refused the column outright. Now it is
    encoded as before (one column per answer, as pandas.get_dummies makes them) and a
    one-line warning names the column, an example and its row, and data.decimal."""
    answers = ["1", "1,2", "2,3", "1", "3", "2,3", "1,2", "2"] * 5
    rows = "".join(f'{20 + i % 9},"{a}",{i % 2}\n' for i, a in enumerate(answers))
    path = write_csv("age,channels,y\n" + rows)
    checked = check_data(_csv_params(path, "y"))
    expected = pd.get_dummies(pd.Series(answers, dtype="string"), prefix="channels",
                              prefix_sep="=", dtype="float64")
    pd.testing.assert_frame_equal(checked.features[list(expected.columns)], expected)
    [warning] = checked.warnings
    assert "\n" not in warning and "column 'channels'" in warning
    assert "'1,2' (at row 1 (file line 3))" in warning and "data.decimal: ','" in warning


def test_data_categorical_refuse_names_data_decimal_for_decimal_comma_text(write_csv):
    """With data.categorical: refuse, a ';' file's decimal-comma column got only "non-numeric
    feature column(s) 'dose' are refused" (the one-hot path's hint naming data.decimal was
    lost); the refusal now carries it, with the column, an example and its row, and with
    data.decimal ',' the column is read as numbers."""
    rows = "".join(f"{i % 7},{i % 3};{'a' if i % 2 else 'b'};{i % 2}\n" for i in range(30))
    path = write_csv("dose;kind;outcome\n" + rows)
    with pytest.raises(DataError) as info:
        check_data(_csv_params(path, "outcome", data__delimiter=";", data__categorical="refuse"))
    message = str(info.value)
    assert message.startswith("data.categorical: non-numeric feature column(s) 'dose', 'kind'")
    assert "column 'dose' holds text such as '0,0' (at row 0 (file line 2))" in message
    assert "data.decimal: ','" in message and "'kind' holds" not in message
    checked = check_data(_csv_params(path, "outcome", data__delimiter=";", data__decimal=",",
                                     data__categorical="refuse", data__drop=["kind"]))
    assert checked.features["dose"].tolist()[:3] == [0.0, 1.1, 2.2]


def test_a_european_price_with_thousands_dots_is_read_with_data_decimal(write_csv):
    """With data.decimal ',' pandas left '2.499,00' as text: the column was one-hot encoded
    without a word (the hint's pattern missed it). Now it is 2499.0; a column of dates
    '01.02.2024' stays text (refused as dates), not 1022024 as pandas' thousands='.' reads
    it, and '3.14' is not 314."""
    rows = "".join(f"{i + 1:02d}.02.2024;{i + 1}.{499 + i},00;3.14;{i % 2}\n" for i in range(20))
    path = write_csv("day;price;version;y\n" + rows)
    table = load_source(_csv_params(path, "y", data__delimiter=";", data__decimal=","))
    assert table.frame["price"].tolist()[:3] == [1499.0, 2500.0, 3501.0]
    assert table.frame["day"].tolist()[0] == "01.02.2024"
    assert table.frame["version"].tolist()[0] == "3.14"
    with pytest.raises(DataError, match=r"column 'day' holds dates"):
        check_data(_csv_params(path, "y", data__delimiter=";", data__decimal=","))
    checked = check_data(_csv_params(path, "y", data__delimiter=";", data__decimal=",",
                                     data__drop=["day", "version"]))
    assert checked.features["price"].dtype == np.float64 and checked.warnings == []


def test_thousands_dots_without_data_decimal_name_data_decimal(write_csv):
    """The hint's pattern now knows '1.299,00' (it missed it: a silent one-hot encoding)."""
    rows = "".join(f"{i};{i + 1}.299,00;{i % 2}\n" for i in range(20))
    path = write_csv("x;price;y\n" + rows)
    [warning] = check_data(_csv_params(path, "y", data__delimiter=";")).warnings
    assert "column 'price'" in warning and "'1.299,00'" in warning
    assert "data.decimal: ','" in warning


def test_a_decimal_comma_regression_target_names_data_decimal_not_the_task(write_csv):
    """Before: 'regression needs a numeric target ... is the task classification?'."""
    path = write_csv("x;y\n" + "".join(f"{i};{i},5\n" for i in range(10)))
    with pytest.raises(DataError, match=r"column 'y' holds numbers written with a decimal comma"):
        check_data(_csv_params(path, "y", data__delimiter=";", model__task="regression"))


def test_a_decimal_comma_target_under_classification_names_data_decimal(write_csv):
    """params.yaml's model.task is classification: a target '151,0', '87,5', ... was refused
    only as many rare classes; the message now says the labels are numbers with a decimal
    comma and names data.decimal (and model.task: regression), and with both it is read."""
    rows = "".join(f"{i};{100 + i},{i % 10}\n" for i in range(30))
    path = write_csv("x;price\n" + rows)
    with pytest.raises(DataError) as info:
        check_data(_csv_params(path, "price", data__delimiter=";"))
    message = str(info.value)
    assert message.startswith("data.min_rows_per_class: 30 of the 30 classes of 'price'")
    assert ("'price' holds numbers written with a decimal comma (e.g. '100,0' at row 0 (file "
            "line 2)), read as text labels: set data.decimal: ','") in message
    assert message.endswith("set model.task: regression")
    checked = check_data(_csv_params(path, "price", data__delimiter=";", data__decimal=",",
                                     model__task="regression"))
    assert checked.target.tolist()[:3] == [100.0, 101.1, 102.2]


def test_a_comma_delimited_export_with_quoted_decimal_commas_is_read(tmp_path):
    """A Google Sheets export in a German locale: ',' between fields, numbers with a decimal
    comma quoted ("2079,15"). data.decimal ',' with data.delimiter ',' was refused ("a number
    would split into two fields"), leaving no setting that reads the file; now every number is
    the one pandas writes into it, quoted, with decimal=','."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"id": np.arange(30), "price": rng.normal(500, 200, 30).round(2)})
    frame["y"] = (frame["price"] / 100 + rng.normal(0, 0.1, 30)).round(3)
    path = tmp_path / "sheets.csv"
    path.write_text(frame.to_csv(index=False, decimal=","), encoding="utf-8")
    assert '"' in path.read_text().splitlines()[1]  # the numbers are quoted
    checked = check_data(_csv_params(path, "y", data__decimal=",", model__task="regression"))
    np.testing.assert_array_equal(checked.features["price"].to_numpy(), frame["price"])
    np.testing.assert_array_equal(checked.target.to_numpy(), frame["y"].to_numpy())


def test_the_decimal_comma_hint_of_a_comma_delimited_file_does_not_send_it_to_semicolons(
    write_csv
):
    """Read with the default data.decimal '.', a ',' file's quoted "59,5" prices were warned
    about with "set data.decimal: ',' (such files usually separate fields with ';':
    data.delimiter: ';')": with ';' the file is one column (refused, naming ','). The hint now
    asks for ';' only where the file uses it; data.decimal ',' alone reads this file."""
    path = write_csv("x,price,y\n" + "".join(f'{i},"{i},5",{i % 2}\n' for i in range(20)))
    [warning] = check_data(_csv_params(path, "y")).warnings
    assert warning.endswith(
        "set data.decimal: ',' (with data.delimiter: ';' if the file separates its fields "
        "with ';')")
    checked = check_data(_csv_params(path, "y", data__decimal=","))
    assert checked.features["price"].tolist()[:2] == [0.5, 1.5] and checked.warnings == []


@pytest.mark.parametrize(
    ("rows", "line"),
    [('1,59,5\n2,"3,5"\n', 2), ('1,"59,5"\n2,3,5\n', 3)],
    ids=["first-row", "later-row"],
)
def test_an_unquoted_decimal_comma_in_a_comma_delimited_file_is_refused_naming_its_line(
    write_csv, rows, line
):
    """An unquoted 59,5 in a ',' file is two fields. In the first row pandas took the extra
    field for row labels and shifted every column left without a word (id 59, price 5); now
    the row's file line is named with the reason, as it is for a later row."""
    path = write_csv("id,price\n" + rows)
    with pytest.raises(DataError) as info:
        load_source(_csv_params(path, "price", data__decimal=","))
    message = str(info.value)
    assert f"line {line}" in message
    assert 'must be quoted, "59,5"' in message


def _rows_frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame(
        {"a": rng.normal(size=n).round(3), "b": rng.integers(0, 9, n), "y": np.arange(n) % 2}
    )


def test_an_r_write_table_file_reads_its_columns_and_warns_of_the_row_labels(write_csv):
    """R's write.table(sep=",") writes a row name first on every row but no header for it.
    pandas reads the row names as row labels and the columns right; today's first-row check
    refused the file ("row 0 (file line 2) has 4 fields, the header 3"). Now it is read as
    pandas reads it, the row labels left out with a warning naming the file."""
    frame = _rows_frame()
    rows = "".join(f'"r{i}",{a},{b},{y}\n' for i, (a, b, y) in enumerate(frame.to_numpy()))
    path = write_csv('"a","b","y"\n' + rows)
    params = _csv_params(path, "y", model__task="classification")
    table = load_source(params)
    reference = pd.read_csv(path)
    assert reference.index[0] == "r0"  # pandas' own read: the first field is the row labels
    pd.testing.assert_frame_equal(table.frame, reference.reset_index(drop=True))
    np.testing.assert_array_equal(table.frame.to_numpy(), frame.to_numpy())
    [warning] = check_data(params).warnings
    assert str(path) in warning and "('r0', ...) was taken as row labels" in warning


def test_a_trailing_delimiter_on_every_row_reads_the_columns_the_header_names(write_csv):
    """Rows ending with a delimiter (1,2,0, under a,b,y): before today pandas took the first
    field for row labels and shifted every column left (a=b, b=y, y all missing); today's
    check refused the file as if its delimiter were wrong. Now it is read as pandas reads it
    with index_col=False, its documented reading of such a file."""
    frame = _rows_frame()
    path = write_csv("a,b,y\n" + "".join(f"{a},{b},{y},\n" for a, b, y in frame.to_numpy()))
    table = load_source(_csv_params(path, "y"))
    pd.testing.assert_frame_equal(table.frame, pd.read_csv(path, index_col=False))
    np.testing.assert_array_equal(table.frame.to_numpy(), frame.to_numpy())
    assert table.warnings == []


def test_a_first_row_field_longer_than_the_csv_module_reads_is_read(write_csv):
    """A 200 000-character text field in the first row (the csv module's limit is 131072) made
    today's check raise _csv.Error, a traceback from validate and prepare. Now the file is
    read as pandas reads it, and the csv module's limit is left as it was."""
    limit = csv.field_size_limit()
    note = "x" * 200_000
    path = write_csv(f"a,note,y\n1,{note},0\n2,short,1\n")
    table = load_source(_csv_params(path, "y"))
    pd.testing.assert_frame_equal(table.frame, pd.read_csv(path))
    assert table.frame["note"][0] == note
    assert csv.field_size_limit() == limit


def test_a_first_row_with_two_fields_more_than_the_header_is_refused_saying_so(write_csv):
    """Two extra fields are neither row labels nor a trailing delimiter: refused naming the
    line and the counts, with the possible causes (the message blamed the delimiter only)."""
    path = write_csv("a,b,y\n1,2,0,,\n3,4,1\n")
    with pytest.raises(DataError) as info:
        load_source(_csv_params(path, "y"))
    message = str(info.value)
    assert "row 0 (file line 2) has 5 fields, the header 3" in message
    assert "the header may lack columns, or data.delimiter ','" in message


@pytest.mark.parametrize("row", ["1,59,5", "1,59,"], ids=["row-labels-shape", "trailing-shape"])
def test_with_a_decimal_comma_delimiter_an_extra_first_row_field_stays_refused(write_csv, row):
    """data.decimal ',' with data.delimiter ',': an extra field in the first row is an unquoted
    decimal comma, refused with the quoting hint, never read as row labels or a trailing
    delimiter."""
    path = write_csv(f"id,price\n{row}\n2,\"3,5\"\n")
    with pytest.raises(DataError, match=r'line 2\) has 3 fields.*must be quoted, "59,5"'):
        load_source(_csv_params(path, "price", data__decimal=","))


def test_a_dot_decimal_mark_cannot_be_a_dot_delimiter():
    with pytest.raises(ConfigError, match=r"data.decimal: '.' is also data.delimiter"):
        _csv_params("d.csv", "y", data__delimiter=".")


def test_na_values_are_read_as_missing_cells(write_csv):
    """'?' marking a missing number was refused, with no way to declare it but editing the
    file; data.na_values reads it as missing, which data.missing then imputes or refuses."""
    rows = "".join(f"{'?' if i in (2, 5) else i * 0.5},{i % 2}\n" for i in range(12))
    path = write_csv("a,y\n" + rows)
    with pytest.raises(
        DataError, match=r"column 'a' is numeric except at rows 2, 5 .*data\.na_values"
    ):
        check_data(_csv_params(path, "y", data__missing="median"))
    checked = check_data(_csv_params(path, "y", data__missing="median", data__na_values=["?"]))
    assert np.flatnonzero(checked.features["a"].isna()).tolist() == [2, 5]
    with pytest.raises(DataError, match=r"data.missing: .*column 'a': 2 missing at rows 2, 5"):
        check_data(_csv_params(path, "y", data__na_values=["?"]))


def test_too_many_decimal_comma_values_for_one_hot_are_refused_naming_data_decimal(write_csv):
    """Where text cannot work (more levels than one-hot takes) the refusal names data.decimal,
    not "an identifier or free text?"."""
    rows = "".join(f"{i % 2};{i + 1}.{i:03d},50;{i % 2}\n" for i in range(150))
    path = write_csv("x;price;y\n" + rows)
    with pytest.raises(DataError, match=r"column 'price' holds numbers written with a decimal "
                                        r"comma \(e\.g\. '1\.000,50' at row 0.*data\.decimal: ','"):
        check_data(_csv_params(path, "y", data__delimiter=";"))
    checked = check_data(_csv_params(path, "y", data__delimiter=";", data__decimal=","))
    assert checked.features["price"].tolist()[:2] == [1000.5, 2001.5]


def test_a_numeric_na_value_marks_missing_cells(write_csv):
    """data.na_values: [-999] was refused ("must be a valid string, got -999"). A number is
    read as its text: -999 and -999.0 cells of a numeric column both become missing; other
    values are the values pandas reads."""
    values = [-999, 1.5, -999.0, 4, 5.25, -999, 7, 8, 9, 10]
    rows = "".join(f"{v},{i % 2}\n" for i, v in enumerate(values))
    path = write_csv("a,y\n" + rows)
    assert _csv_params(path, "y", data__na_values=[-999, 2.5, "?"]).data.na_values == [
        "-999", "2.5", "?"]
    checked = check_data(_csv_params(path, "y", data__missing="median", data__na_values=[-999]))
    assert np.flatnonzero(checked.features["a"].isna()).tolist() == [0, 2, 5]
    assert checked.features["a"].dropna().tolist() == [1.5, 4.0, 5.25, 7.0, 8.0, 9.0, 10.0]
    with pytest.raises(ConfigError, match=r"data\.na_values"):
        _csv_params(path, "y", data__na_values=[True])


def test_a_refused_column_names_the_key_that_leaves_it_out(write_csv):
    """A date or free-text column is refused with 'drop the column': the message names the
    key that drops it without editing the export, data.drop (it named data.pii.drop, the key
    for personal data, whose name the model card reads as "dropped personal data"), and that
    key works: the columns are never read, never features."""
    rows = "".join(f"2024-01-{i + 1:02d},note {i} said hi,{i * 0.5},{i % 2}\n" for i in range(30))
    path = write_csv("day,comment,a,y\n" + rows)
    with pytest.raises(DataError, match=r"column 'day' holds dates.*list it under data\.drop\)$"):
        check_data(_csv_params(path, "y"))
    with pytest.raises(DataError, match=r"column 'comment' has 30 distinct.*under data\.drop\)"):
        check_data(_csv_params(path, "y", data__drop=["day"]))
    checked = check_data(_csv_params(path, "y", data__drop=["day", "comment"]))
    assert list(checked.features.columns) == ["a"]
    assert list(checked.table.frame.columns) == ["a", "y"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_data_drop_leaves_columns_out_of_a_file_as_it_is_read(tmp_path, suffix):
    """The file's other columns are read as they are (the same values as pandas reads
    without the dropped one); a misspelt name is refused naming the key, the column and a
    close match; the target cannot be dropped."""
    frame = pd.DataFrame({"note": [f"free text {i}" for i in range(20)],
                          "a": np.arange(20) * 0.5, "y": np.arange(20) % 2})
    path = tmp_path / f"d.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path, index=False)
    params = make_params(data__source=suffix, data__path=str(path), data__target="y",
                         data__drop=["note"])
    table = load_source(params)
    pd.testing.assert_frame_equal(table.frame, frame[["a", "y"]], check_dtype=False)
    with pytest.raises(DataError, match=(rf"^data\.drop\[0\]: column 'nte' not found in file "
                                         rf"'{path}'; did you mean 'note'\?$")):
        load_source(make_params(data__source=suffix, data__path=str(path), data__target="y",
                                data__drop=["nte"]))


def test_data_drop_works_on_generated_and_bundled_data():
    table = load_source(make_params(data__drop=["x1"], data__synthetic__n_features=3,
                                    data__synthetic__n_informative=2))
    assert list(table.frame.columns) == ["x0", "x2", "y"]
    table = load_source(make_params(data__source="diabetes", model__task="regression",
                                    data__drop=["sex"]))
    assert "sex" not in table.frame.columns and "bmi" in table.frame.columns
    with pytest.raises(DataError, match=r"^data\.drop\[0\]: 'y' is the target column of data "
                                        r"set 'synthetic': it cannot be dropped"):
        load_source(make_params(data__drop=["y"]))
    with pytest.raises(DataError, match=r"data\.drop\[0\]: column 'bim' not found in data set "
                                        r"'diabetes'; did you mean 'bmi'\?"):
        load_source(make_params(data__source="diabetes", model__task="regression",
                                data__drop=["bim"]))


@pytest.mark.parametrize(
    ("drop", "pii", "expected"),
    [
        (["a", "a"], {}, "data.drop: lists 'a' twice"),
        (["y"], {}, "data.drop: lists the target column 'y': it cannot be dropped"),
        (["a"], {"pseudonymise": ["a"]}, "data.drop: 'a' also listed under data.pii.pseudonymise"),
    ],
)
def test_data_drop_is_validated_with_the_params(tmp_path, drop, pii, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        make_params(data__source="csv", data__path=str(tmp_path / "d.csv"), data__target="y",
                    data__drop=drop, **{f"data__pii__{k}": v for k, v in pii.items()})


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("phone,x,y\n+447700900123,1,0\n\n07700900123,2,1\n,3,0\n", {}),
        # R's write.table row labels, a trailing delimiter, ';' with decimal commas
        ('"phone","x","y"\n"r0",+447700900123,1,0\n"r1",07700900123,2,1\n"r2",,3,0\n', {}),
        ("phone,x,y\n+447700900123,1,0,\n07700900123,2,1,\n,3,0,\n", {}),
        ("phone;x;y\n+447700900123;1,5;0\n07700900123;2,5;1\n;3,5;0\n",
         {"data__delimiter": ";", "data__decimal": ","}),
    ],
)
def test_a_csv_table_gives_its_number_columns_as_the_file_wrote_them(write_csv, text, options):
    """pandas reads +447700900123 and 07700900123 as whole numbers, losing the '+' and '0'
    the personal-data scan needs: the table gives the first rows of the columns asked for as
    the file wrote them, row for row with the frame (blank lines, row labels, a trailing
    delimiter), and only as many rows as asked."""
    table = load_source(_csv_params(write_csv(text), "y", **options))
    assert table.frame["phone"].dropna().tolist() == [447700900123, 7700900123]
    written = table.written(["phone"], 10)
    assert list(written.columns) == ["phone"]
    assert written["phone"].tolist()[:2] == ["+447700900123", "07700900123"]
    assert pd.isna(written["phone"][2]) and len(written) == 3
    assert table.written(["phone", "x"], 1).to_numpy().tolist() == [
        ["+447700900123", "1,5" if options else "1"]
    ]

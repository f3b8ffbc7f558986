"""Reading a big CSV: a column is typed on all its rows, not block by block, and a bad cell
deep in the file is reported by gdlab alone (row, file line, column), with no pandas warning."""

from __future__ import annotations

import warnings

import pytest

from gdlab.data.checks import check_table
from gdlab.data.errors import DataError
from gdlab.data.files import read_csv

ROWS = 300_000
"""More rows than pandas types at once (its C parser reads 262 144 rows a block)."""


def _write(path, first_column):
    path.write_text(
        "x,y\n" + "".join(f"{v},{i % 7}.5\n" for i, v in enumerate(first_column)),
        encoding="utf-8",
    )
    return path


def _read_quietly(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_csv(path, "y")
    assert [str(w.message) for w in caught] == []  # no DtypeWarning leaks
    return table


def test_a_bad_cell_deep_in_a_big_file_is_named_without_a_pandas_warning(tmp_path):
    cells = [f"{i % 13}.25" for i in range(ROWS)]
    cells[280_000] = "abc"  # in the second block pandas reads
    table = _read_quietly(_write(tmp_path / "bad.csv", cells))
    with pytest.raises(DataError, match=r"column 'x' is numeric except at row 280000 "
                                        r"\(file line 280002\) \('abc'\)"):
        check_table(table, task="regression")


def test_a_column_typed_apart_in_blocks_is_read_as_the_text_it_is(tmp_path):
    """A code with a leading zero stays one value: read block by block, the block without
    text gave 1234 and the other '01234' (two levels of one code)."""
    codes = ["01234" if i % 2 else "A7" if i >= 280_000 else "00042" for i in range(ROWS)]
    table = _read_quietly(_write(tmp_path / "codes.csv", codes))
    assert table.frame["x"].tolist() == codes
    assert table.frame["y"].dtype == "float64"


@pytest.mark.parametrize("rows", [300, ROWS])
def test_a_bad_cell_in_a_decimal_comma_column_is_named(tmp_path, rows):
    """With data.decimal ',' a column of numbers '3,25' with one 'abc' came back as the text
    '3,25' (pandas reads a column that is not all numbers as written): it was one-hot encoded
    as categories without a word (13 levels here), or, with more levels than
    data.max_categories, refused naming no cell. Its numbers are read as numbers now, and
    the cell that is none is named, as in a file with decimal points (above)."""
    cells = [f"{i % 13},25" for i in range(rows)]
    cells[rows - 20_000 if rows > 100_000 else 50] = "abc"
    path = tmp_path / "comma.csv"
    path.write_text("x;y\n" + "".join(f"{v};{i % 7},5\n" for i, v in enumerate(cells)),
                    encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_csv(path, "y", delimiter=";", decimal=",")
    assert [str(w.message) for w in caught] == []
    row = rows - 20_000 if rows > 100_000 else 50
    with pytest.raises(DataError, match=rf"column 'x' is numeric except at row {row} "
                                        rf"\(file line {row + 2}\) \('abc'\)"):
        check_table(table, task="regression")
    cells[row] = "7,5"  # all numbers: floats, as pandas reads them
    path.write_text("x;y\n" + "".join(f"{v};{i % 7},5\n" for i, v in enumerate(cells)),
                    encoding="utf-8")
    frame = read_csv(path, "y", delimiter=";", decimal=",").frame
    assert frame["x"].dtype == "float64" and frame["x"].iloc[:2].tolist() == [0.25, 1.25]


def test_a_text_column_with_a_few_decimal_comma_numbers_keeps_its_text(tmp_path):
    """Mostly text ('small', 'large') with a few '1,5': still text, its levels as written."""
    cells = ["small", "large", "small", "1,5"] * 30
    path = tmp_path / "text.csv"
    path.write_text("x;y\n" + "".join(f"{v};{i % 7},5\n" for i, v in enumerate(cells)),
                    encoding="utf-8")
    frame = read_csv(path, "y", delimiter=";", decimal=",").frame
    assert frame["x"].tolist() == cells


def test_multi_select_answers_with_a_decimal_comma_stay_text(tmp_path):
    """Answers '1', '1,2', '1,2,3', 'keine' under data.decimal ',': most cells look like
    decimal-comma numbers, but one in five is none: text (one-hot encoded), as they were;
    taken for numbers with the rest named, '1,2' would have been read as 1.2."""
    answers = ["1", "2", "3", "1,2", "2,3", "1,3", "1,2,3", "keine"]
    cells = [answers[i % len(answers)] for i in range(200)]
    path = tmp_path / "survey.csv"
    path.write_text("antworten;y\n" + "".join(f"{v};{i % 7},5\n" for i, v in enumerate(cells)),
                    encoding="utf-8")
    table = read_csv(path, "y", delimiter=";", decimal=",")
    assert table.frame["antworten"].tolist() == cells
    checked = check_table(table, task="regression")
    assert "antworten=1,2" in list(checked.features.columns)

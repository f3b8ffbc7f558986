"""User files: CSV (any delimiter and encoding) or Parquet, with a named target column.

Problems a file can have are reported before pandas sees it or hides them: a missing or empty
file, text that is not in the configured encoding (line named), duplicated or unnamed header
columns (pandas would silently rename them), a wrong delimiter (everything in one column),
rows with the wrong number of fields. Data rows ending with a delimiter (``1,2,0,``) are read
as their header says; a first field the header does not name (R's ``write.table``) is taken
as row labels and left out, with a warning. Numbers written with a decimal comma (``59,5``, and
``1.299,00`` with dots between thousands) and markers of missing cells such as ``?`` are read
as the configuration says (``data.decimal``, ``data.na_values``).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gdlab.data.dropping import kept_columns
from gdlab.data.errors import DataError
from gdlab.data.table import RawTable

DELIMITERS = (",", ";", "\t", "|")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?")
"""A number with dots between thousands and a decimal comma (``1.299,00``, ``12.500``)."""
FEW_BAD_CELLS = 0.01
"""The largest share of a decimal-comma number column's cells that may be no number for the
others to be read as numbers (and those named): a typo, a stray marker."""
_PLAIN = re.compile(r"[+-]?\d+(?:,\d+)?")
"""A number with a decimal comma and no thousands dots (``59,5``, ``7``)."""


def check_file(path: str | Path) -> Path:
    """The path, if it names a readable, non-empty file (DataError naming data.path if not)."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"data.path: file {str(path)!r} not found (relative paths are read from {Path.cwd()})"
        )
    if not path.is_file():
        raise DataError(f"data.path: {str(path)!r} is not a file")
    if path.stat().st_size == 0:
        raise DataError(f"data.path: file {str(path)!r} is empty")
    return path


def _open_bytes(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115 - returned to a with


def _check_encoding(path: Path, encoding: str) -> str:
    """Decode the whole file line by line; return its first line. DataError names the first
    line that is not valid in ``encoding``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    first = None
    with _open_bytes(path) as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"data.encoding: file {str(path)!r} is not valid {encoding} at line "
                    f"{line_no} (byte {exc.object[exc.start : exc.start + 1]!r}); set "
                    "data.encoding to the file's encoding (e.g. latin-1, cp1252) or save the "
                    "file as UTF-8"
                ) from None
            if first is None:
                first = text
    if not first or not first.strip():
        raise DataError(f"data.path: file {str(path)!r} has no header line")
    return first.lstrip("\ufeff")


def _check_header(path: Path, header_line: str, delimiter: str) -> list[str]:
    names = next(csv.reader([header_line], delimiter=delimiter))
    names = [n.strip() for n in names]
    if len(names) == 1:
        others = [d for d in DELIMITERS if d != delimiter and d in header_line]
        if others:
            guess = max(others, key=header_line.count)
            raise DataError(
                f"data.delimiter: file {str(path)!r} parses into a single column with "
                f"delimiter {delimiter!r}, but its header contains {guess!r}: set "
                f"data.delimiter: {guess!r}"
            )
    unnamed = [i for i, n in enumerate(names) if not n]
    if unnamed:
        raise DataError(
            f"data.path: file {str(path)!r}: header column(s) "
            f"{', '.join(str(i + 1) for i in unnamed)} have no name (an index "
            "written by pandas? save with index=False)"
        )
    dups = sorted(n for n, c in Counter(names).items() if c > 1)
    if dups:
        raise DataError(
            f"data.path: file {str(path)!r} has duplicated column names: "
            f"{', '.join(map(repr, dups))}"
        )
    return names


FIELDS_FIT = "fit"
"""The first data row has no more fields than the header: read as it is."""
TRAILING_DELIMITER = "trailing"
"""The data rows end with a delimiter (``1,2,0,`` under ``a,b,y``): read with pandas'
``index_col=False``."""
ROW_LABELS = "row labels"
"""The data rows start with a field the header does not name (R's ``write.table(sep=",")``):
pandas reads it as the row labels, which are left out."""
_ROWS_SEEN = 100
"""Data rows looked at to tell a trailing delimiter from row labels."""
_FIELD_LIMIT = 2**31 - 1
"""The csv module's field size limit while the first rows are looked at (its default, 131072
characters, is less than pandas reads; a C long everywhere)."""


class FirstRow(NamedTuple):
    """How a CSV's first data row lines up with its header."""

    layout: str
    """:data:`FIELDS_FIT`, :data:`TRAILING_DELIMITER` or :data:`ROW_LABELS`."""
    line: int
    """The file line it starts on (0: no data row was read)."""


def _first_row(path: Path, encoding: str, delimiter: str, decimal: str, n_names: int) -> FirstRow:
    """How the first data row's fields line up with the header's ``n_names`` names: one of
    :data:`FIELDS_FIT`, :data:`TRAILING_DELIMITER` (one extra field, empty on every row that has
    it) or :data:`ROW_LABELS` (one extra field, not such). Any other extra field, and an extra
    field when ``decimal`` is the delimiter (an unquoted ``59,5`` is two fields: pandas would
    silently take the first field for row labels and shift every column left), is a DataError
    naming the line. A later row with too many fields is refused by pandas, naming its line; a
    row the csv module cannot read is left to pandas too."""
    try:
        with _wide_fields():
            rows = _first_rows(path, encoding, delimiter)
    except csv.Error:
        return FirstRow(FIELDS_FIT, 0)
    if not rows:
        return FirstRow(FIELDS_FIT, 0)
    line, fields = rows[0]
    if len(fields) <= n_names:
        return FirstRow(FIELDS_FIT, line)
    if decimal == delimiter:
        raise DataError(
            f"data.path: file {str(path)!r} cannot be parsed with delimiter {delimiter!r}: row 0 "
            f"(file line {line}) has {len(fields)} fields, the header {n_names}"
            f"{_unquoted_decimal_hint(delimiter, decimal)}"
        )
    if len(fields) > n_names + 1:
        raise DataError(
            f"data.path: file {str(path)!r}: row 0 (file line {line}) has {len(fields)} fields, "
            f"the header {n_names}: the header may lack columns, or data.delimiter "
            f"{delimiter!r} is not the file's delimiter"
        )
    longer = [f for _, f in rows if len(f) == n_names + 1]
    if all(not f[-1] for f in longer):
        return FirstRow(TRAILING_DELIMITER, line)
    return FirstRow(ROW_LABELS, line)


@contextmanager
def _wide_fields() -> Iterator[None]:
    """The csv module reads fields up to :data:`_FIELD_LIMIT` characters inside the block (as
    pandas does); its previous limit comes back after it."""
    previous_limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous_limit)


def _data_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """The data rows as pandas splits them, with the file line each starts on: blank and
    whitespace-only lines skipped as pandas skips them, a quoted line break kept in its row."""
    with _open_bytes(path) as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter, skipinitialspace=True)
        next(reader, None)  # the header
        line = reader.line_num + 1
        for fields in reader:
            if len(fields) > 1 or (fields and fields[0].strip()):
                yield line, fields
            line = reader.line_num + 1


def _first_rows(path: Path, encoding: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The first :data:`_ROWS_SEEN` data rows (:func:`_data_rows`)."""
    return list(itertools.islice(_data_rows(path, encoding, delimiter), _ROWS_SEEN))


class _RowLines:
    """The file line of every data row of a CSV, read once when first asked (only messages
    naming rows ask); empty when the csv module cannot read the file as pandas did."""

    def __init__(self, path: Path, encoding: str, delimiter: str):
        self.args = (path, encoding, delimiter)
        self.lines: list[int] | None = None

    def __call__(self) -> list[int]:
        if self.lines is None:
            try:
                with _wide_fields():
                    self.lines = [line for line, _ in _data_rows(*self.args)]
            except (csv.Error, UnicodeError, OSError):
                self.lines = []
        return self.lines


class _WrittenText:
    """The first rows of some columns of a CSV as text, as the file wrote them (read again with
    the options the table was read with, so rows line up; only ``n`` rows, to keep memory
    bounded for big files)."""

    def __init__(self, path: Path, options: dict[str, Any]):
        self.path = path
        self.options = options

    def __call__(self, names: Sequence[str], n: int) -> pd.DataFrame:
        wanted = {str(name) for name in names}
        frame = pd.read_csv(
            self.path,
            **self.options,
            usecols=lambda name: str(name).strip() in wanted,
            dtype=str,
            nrows=n,
        )
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame.reset_index(drop=True)


def _read_typed_whole(path: Path, options: dict[str, Any], usecols: Any) -> pd.DataFrame:
    """``pd.read_csv`` (in blocks of rows, to keep memory low), each column typed as if read
    at once. pandas types each block on its own: a column with one text cell deep in a big
    file came back as numbers in some blocks and text in others, with a ``DtypeWarning``
    printed (an identifier ``01234`` read as 1234 there and ``'01234'`` here). Such columns
    are read again as text, as pandas reads a column that is not all numbers; the checks then
    name the cells that are no numbers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        frame = pd.read_csv(path, **options, usecols=usecols)
    mixed = {
        str(name).strip() for name in frame.columns
        if frame[name].dtype == object
        and pd.api.types.infer_dtype(frame[name], skipna=True) != "string"
    }
    if not mixed:
        return frame
    text = pd.read_csv(path, **options, usecols=lambda name: str(name).strip() in mixed,
                       dtype=str)
    for name in frame.columns:
        if str(name).strip() in mixed:
            frame[name] = text[name].to_numpy()
    return frame


def _unquoted_decimal_hint(delimiter: str, decimal: str) -> str:
    """Why a row of a file whose decimal mark is its delimiter has too many fields."""
    if decimal != delimiter:
        return ""
    return (
        f" (with data.decimal {decimal!r} the same as data.delimiter, a number with a decimal "
        f"comma must be quoted, \"59,5\": an unquoted 59,5 is two fields)"
    )


def read_csv(
    path: str | Path,
    target: str,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    decimal: str = ".",
    na_values: Sequence[str] = (),
    sensitive: str | None = None,
    drop: Sequence[str] = (),
) -> RawTable:
    """Read a CSV file with a header line (``.gz`` too). ``decimal`` is the numbers' decimal
    mark; ``na_values`` are cells read as missing besides empty ones and pandas' own markers;
    the ``drop`` columns (``data.drop``) are never read."""
    path = check_file(path)
    header = _check_encoding(path, encoding)
    names = _check_header(path, header, delimiter)
    first = _first_row(path, encoding, delimiter, decimal, len(names))
    usecols = None
    if drop:
        kept = set(kept_columns(drop, names, target, sensitive, f"file {str(path)!r}"))
        usecols = lambda name: str(name).strip() in kept  # noqa: E731 - header as pandas reads it
    options: dict[str, Any] = {
        "sep": delimiter,
        "encoding": encoding,
        "decimal": decimal,
        "na_values": list(na_values),
        "skipinitialspace": True,
        "index_col": False if first.layout == TRAILING_DELIMITER else None,
    }
    try:
        frame = _read_typed_whole(path, options, usecols)
    except pd.errors.ParserError as exc:
        raise DataError(
            f"data.path: file {str(path)!r} cannot be parsed with delimiter {delimiter!r}: "
            f"{str(exc).strip()}{_unquoted_decimal_hint(delimiter, decimal)}"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    warnings = []
    if first.layout == ROW_LABELS:
        warnings.append(_row_labels_warning(path, frame.index[0], first.line, len(names)))
        frame = frame.reset_index(drop=True)
    if decimal == ",":
        frame = _read_grouped_numbers(frame)
    return RawTable(
        frame=frame,
        target=target,
        source="csv",
        sensitive=sensitive,
        path=str(path),
        first_line=2,
        row_lines=_RowLines(path, encoding, delimiter),
        written=_WrittenText(path, options),
        warnings=warnings,
    )


def _row_labels_warning(path: Path, label: object, line: int, n_names: int) -> str:
    """The warning for a file whose data rows have a first field the header does not name."""
    return (
        f"file {str(path)!r}: row 0 (file line {line}) has {n_names + 1} fields, the header "
        f"{n_names}: the first field of each row ({label!r}, ...) was taken as row labels and "
        "left out (R's write.table writes row names so; add a header name to read them as a "
        "column)"
    )


def _read_grouped_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (read with decimal ',') with its text columns of numbers written with dots
    between thousands (``1.299,00``) turned into floats. Only a column whose every value is
    such a number, or a plain one, is: pandas' ``thousands='.'`` would also read the dates
    ``01.02.2024`` as 1022024 and ``3.14`` as 314. A column of such numbers but for a few
    cells (``abc``; at most :data:`FEW_BAD_CELLS` of them: more is text such as multi-select
    answers ``1,2``, ``1,2,3``, ``none``), which pandas leaves as the text ``1,25``, gets
    them written with a decimal point, so that the checks read it as numbers and name the
    other cells (read as text, it was one-hot encoded as categories, or refused as one of too
    many categories naming no cell)."""
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        text = col.dropna()
        if not all(isinstance(v, str) for v in text):
            continue
        text = text.str.strip()
        grouped = text.str.fullmatch(_GROUPED)
        numeric = grouped | text.str.fullmatch(_PLAIN)
        if text.empty:
            continue
        numbers = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        if not numeric.all():
            if numeric.mean() >= 1 - FEW_BAD_CELLS:  # numbers but for a few: named by the checks
                frame[name] = col.where(~col.index.isin(text.index[numeric]),
                                        numbers.where(numeric))
            continue
        if not grouped.any():
            continue
        frame[name] = pd.to_numeric(numbers).reindex(frame.index).astype("float64")
    return frame


def read_parquet(
    path: str | Path, target: str, *, sensitive: str | None = None, drop: Sequence[str] = ()
) -> RawTable:
    """Read a Parquet file, but its ``drop`` columns (``data.drop``)."""
    path = check_file(path)
    try:
        names = pq.read_schema(path).names
        dups = sorted(n for n, c in Counter(names).items() if c > 1)
        if dups:
            raise DataError(
                f"data.path: file {str(path)!r} has duplicated column names: "
                f"{', '.join(map(repr, dups))}"
            )
        columns = None
        if drop:
            columns = kept_columns(drop, names, target, sensitive, f"file {str(path)!r}")
        frame = pd.read_parquet(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"data.path: {str(path)!r} is not a readable Parquet file: {exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(
        frame=frame.reset_index(drop=True),
        target=target,
        source="parquet",
        sensitive=sensitive,
        path=str(path),
    )

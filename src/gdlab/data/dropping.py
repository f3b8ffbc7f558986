"""``data.drop``: columns left out of the data as it is read (a date, free text, an identifier,
a column that gives the answer away), whatever they hold. Personal data goes under
``data.pii.drop`` instead, which says so in the model card.

A file source never reads a dropped column (pandas' ``usecols``, Parquet's ``columns``); a
generated or bundled set has it removed from the frame it built."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gdlab.config.errors import did_you_mean
from gdlab.data.errors import DataError
from gdlab.data.table import RawTable


def refuse_unknown(key: str, names: Sequence[str], columns: Sequence[str], where: str) -> None:
    """DataError naming the first of ``names`` that is not one of ``columns`` (with a "did you
    mean" when a column is close): ``data.drop[1]: column 'cmment' not found in file
    'data/raw/x.csv'; did you mean 'comment'?``. ``key`` is the parameter (``drop``,
    ``pii.drop``, ...)."""
    columns = [str(c) for c in columns]
    for i, name in enumerate(names):
        if name not in columns:
            hint = did_you_mean(name, columns)
            raise DataError(f"data.{key}[{i}]: column {name!r} not found in {where}{hint}")


def refuse_roles(names: Sequence[str], target: str, sensitive: str | None, where: str) -> None:
    """DataError when ``data.drop`` lists the target or the sensitive column."""
    for i, name in enumerate(names):
        if name in (target, sensitive):
            role = "target" if name == target else "sensitive"
            raise DataError(
                f"data.drop[{i}]: {name!r} is the {role} column of {where}: it cannot be "
                "dropped (allowed: feature columns only)"
            )


def kept_columns(
    names: Sequence[str], columns: Sequence[str], target: str, sensitive: str | None, where: str
) -> list[str]:
    """``columns`` less the ``data.drop`` ``names``, once these are checked against them."""
    refuse_unknown("drop", names, columns, where)
    refuse_roles(names, target, sensitive, where)
    dropped = set(names)
    return [c for c in columns if c not in dropped]


def drop_columns(table: RawTable, names: Sequence[str]) -> RawTable:
    """``table`` without the ``data.drop`` columns ``names`` (for a source built in memory)."""
    if not names:
        return table
    where = f"file {table.path!r}" if table.path else f"data set {table.source!r}"
    kept_columns(names, list(table.frame.columns), table.target, table.sensitive, where)
    return replace(table, frame=table.frame.drop(columns=list(names)))

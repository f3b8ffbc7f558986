"""Personal data in the raw rows: drop or pseudonymise the declared columns, refuse the rest.

``data.pii.drop`` columns are removed as soon as the rows are read; ``data.pii.pseudonymise``
columns are replaced by HMAC-SHA256 tokens (keyed hashing: without the key nobody can rebuild
a token from a guessed value, unlike a plain hash). The key is read from the environment
variable named by ``data.pii.key_env`` and is never written anywhere. Columns that were not
declared but look like e-mail addresses or phone numbers are refused, naming the column and
the first row, without echoing the value; ``data.pii.keep`` columns only look like it (product
codes, ticket numbers) and are kept as they are. A CSV column pandas reads as numbers is
scanned as the file wrote it: phone numbers written as plain digits with a leading ``+`` or
``0`` (``+447700900123``, ``07700900123``) are refused like ``+44 7700 900123``; IDs, counts,
epoch timestamps and amounts (no leading ``+`` or ``0``) are not phone numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from gdlab.config.sections.data import PII_ALLOWED, PII_DONE
from gdlab.config.sections.privacy import MIN_KEY_BYTES, PiiConfig
from gdlab.data.dropping import refuse_unknown
from gdlab.data.errors import DataError
from gdlab.data.table import RawTable

TOKEN_HEX = 16
"""Hex characters kept of each HMAC-SHA256 token (64 bits: collisions are negligible below
billions of distinct values)."""
SCAN_ROWS = 10_000
"""Rows looked at per column when scanning for personal data."""
PHONE_SHARE = 0.5
"""A text column is taken for phone numbers when at least this share of its values are."""

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?:\+|00)?\(?\d[\d\s().\-/]{5,}\d")
_TIME = r"([ T]\d{1,2}[:h]\d{2}([:.]\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
_DATE = re.compile(
    r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](\d{4}|\d{2}))" + _TIME
)
"""Dates (2024-01-05, 05/01/2024, 5.1.24, with a time of day or not): digits and separators
like a phone number's, but no phone number."""
_ISBN = re.compile(r"\d(?:[- ]?\d){8}[- ]?[\dXx]|97[89](?:[- ]?\d){10}")
"""An ISBN-10 or ISBN-13 as digits, optionally grouped by single hyphens or spaces (no '+',
brackets, dots or slashes); :func:`_is_isbn` also checks the check digit."""
_ZIP4 = re.compile(r"\d{5}-\d{4}")
"""A US ZIP+4 code (12345-6789): nine digits like a phone number's, but no phone number."""
_DIGITS_PHONE = re.compile(r"[+0]\d+")
"""How a phone number is written in a column read as numbers: plain digits after a leading '+'
or '0' (+447700900123, 07700900123, 0044...). Without them (IDs, counts, 10-digit epoch
timestamps, amounts) the digits are a number, not a phone number."""


def pii_key(cfg: PiiConfig, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key from ``$<key_env>``; DataError naming the variable when it is missing or
    too short."""
    environ = os.environ if environ is None else environ
    value = environ.get(cfg.key_env)
    columns = ", ".join(map(repr, cfg.pseudonymise))
    if not value:
        raise DataError(
            f"data.pii.key_env: the environment variable {cfg.key_env} is not set, but "
            f"data.pii.pseudonymise ({columns}) needs an HMAC key; export {cfg.key_env}=<a "
            f"random secret of at least {MIN_KEY_BYTES} bytes, e.g. from `openssl rand -hex 32`> "
            "and keep it out of the repository"
        )
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise DataError(
            f"data.pii.key_env: the key in {cfg.key_env} has {len(key)} bytes; use at least "
            f"{MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)"
        )
    return key


def pseudonym(key: bytes, value: object) -> str:
    """The token of ``value``: the first ``TOKEN_HEX`` hex digits of HMAC-SHA256(key, str)."""
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def pseudonymise_column(column: pd.Series, key: bytes) -> pd.Series:
    """``column`` with every present value replaced by its token (missing stays missing);
    equal values get equal tokens, so groups and joins survive."""
    mapping = {value: pseudonym(key, value) for value in column.dropna().unique()}
    return column.map(mapping).astype("object").where(column.notna(), None)


def _missing(table: RawTable, names: list[str], key: str) -> None:
    refuse_unknown(f"pii.{key}", names, list(table.frame.columns), _where(table))


def _refuse_roles(table: RawTable, cfg: PiiConfig) -> None:
    """DataError when data.pii lists the target column, or drops the sensitive column, as the
    source names them (the synthetic 'y' and 'group', a bundled set's 'target'): dropped, they
    were reported later as a data.target / data.sensitive column not found."""
    for key, allowed in PII_ALLOWED.items():
        for i, name in enumerate(getattr(cfg, key)):
            if name == table.target:
                raise DataError(
                    f"data.pii.{key}[{i}]: {name!r} is the target column of {_where(table)}: "
                    f"the target cannot be {PII_DONE[key]} (allowed: {allowed})"
                )
            if key == "drop" and name == table.sensitive:
                raise DataError(
                    f"data.pii.drop[{i}]: {name!r} is the sensitive column of {_where(table)}, "
                    "which evaluation needs: it cannot be dropped (allowed: feature columns "
                    "only; pseudonymise it instead: data.pii.pseudonymise)"
                )


def _where(table: RawTable) -> str:
    return f"file {table.path!r}" if table.path else f"data set {table.source!r}"


def apply_pii(
    table: RawTable, cfg: PiiConfig, environ: Mapping[str, str] | None = None
) -> RawTable:
    """``table`` with ``cfg.drop`` columns removed and ``cfg.pseudonymise`` columns tokenised."""
    if not cfg.drop and not cfg.pseudonymise:
        return table
    _refuse_roles(table, cfg)
    _missing(table, cfg.drop, "drop")
    _missing(table, cfg.pseudonymise, "pseudonymise")
    frame = table.frame.drop(columns=cfg.drop)
    if cfg.pseudonymise:
        key = pii_key(cfg, environ)
        frame = frame.copy()
        for name in cfg.pseudonymise:
            frame[name] = pseudonymise_column(frame[name], key)
    notes = [*table.notes]
    if cfg.drop:
        notes.append(f"dropped personal data: {', '.join(cfg.drop)}")
    if cfg.pseudonymise:
        notes.append(f"pseudonymised (HMAC-SHA256): {', '.join(cfg.pseudonymise)}")
    return replace(table, frame=frame, notes=notes)


def _is_text(column: pd.Series) -> bool:
    return not (
        ptypes.is_numeric_dtype(column)
        or ptypes.is_bool_dtype(column)
        or ptypes.is_datetime64_any_dtype(column)
        or ptypes.is_timedelta64_dtype(column)
    )


def _is_ipv4(text: str) -> bool:
    """An IPv4 address as written (octets up to 255, no leading zeros): 079.123.45.67 and
    06.123.456.78 are phone numbers, not addresses."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_isbn(text: str) -> bool:
    """An ISBN-13 (prefix 978/979, mod-10 check with weights 1, 3) or an ISBN-10 (mod-11
    check with weights 10..1, final X for 10), written plain or grouped by hyphens or spaces.

    A phone number of 10 (or 13, starting 978/979) digits passes by chance about 1 time in 11
    (or 10): too few to hide a column of them, which is refused from PHONE_SHARE on.
    """
    if not _ISBN.fullmatch(text):
        return False
    chars = [ch for ch in text if ch not in "- "]
    if len(chars) == 13:
        total = sum(int(ch) * (3 if i % 2 else 1) for i, ch in enumerate(chars))
        return total % 10 == 0
    values = [10 if ch in "Xx" else int(ch) for ch in chars]
    return sum(v * (10 - i) for i, v in enumerate(values)) % 11 == 0


def _looks_like_phone(text: str) -> bool:
    text = text.strip()
    if (
        not PHONE.fullmatch(text)
        or _DATE.fullmatch(text)
        or _is_ipv4(text)
        or _ZIP4.fullmatch(text)
        or _is_isbn(text)
    ):
        return False
    digits = sum(ch.isdigit() for ch in text)
    return 8 <= digits <= 15


def _written_phone(text: str) -> bool:
    """A value of a column read as numbers, as the file wrote it, is a phone number: plain
    digits after a leading '+' or '0', with a phone number's length."""
    text = text.strip()
    return bool(_DIGITS_PHONE.fullmatch(text)) and _looks_like_phone(text)


def _is_number(column: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(column) and not ptypes.is_bool_dtype(column)


def _texts(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """The rows (of the first ``SCAN_ROWS``) holding a value, and those values as text."""
    values = column.iloc[:SCAN_ROWS].to_numpy(dtype=object)
    rows = np.flatnonzero(pd.notna(values))
    return rows, [str(values[i]) for i in rows]


def _phones(rows: np.ndarray, texts: list[str], is_phone: Callable[[str], bool]) -> list[int]:
    """The rows whose text is a phone number, when they are at least ``PHONE_SHARE`` of the
    values (else none)."""
    phones = [int(r) for r, t in zip(rows, texts, strict=True) if is_phone(t)]
    return phones if phones and len(phones) >= PHONE_SHARE * len(rows) else []


def find_personal_data(
    frame: pd.DataFrame, skip: set[str], written: pd.DataFrame | None = None
) -> list[tuple[str, str, int]]:
    """``(column, "e-mail addresses" | "phone numbers", first row)`` for every text column not
    in ``skip`` that holds e-mail addresses (any value) or phone numbers (most values), and
    every number column whose text in ``written`` (its first rows as the file wrote them) is
    mostly phone numbers written as digits (``+447700900123``, ``07700900123``)."""
    found = []
    for name in frame.columns:
        if str(name) in skip:
            continue
        if not _is_text(frame[name]):
            if written is not None and str(name) in written.columns:
                phones = _phones(*_texts(written[str(name)]), _written_phone)
                if phones:
                    found.append((str(name), "phone numbers", phones[0]))
            continue
        rows, texts = _texts(frame[name])
        if len(rows) == 0:
            continue
        emails = [int(r) for r, t in zip(rows, texts, strict=True) if EMAIL.search(t)]
        if emails:
            found.append((str(name), "e-mail addresses", emails[0]))
            continue
        phones = _phones(rows, texts, _looks_like_phone)
        if phones:
            found.append((str(name), "phone numbers", phones[0]))
    return found


def written_numbers(table: RawTable, skip: set[str]) -> pd.DataFrame | None:
    """The first ``SCAN_ROWS`` rows of ``table``'s number columns not in ``skip``, as the
    source wrote them (None when it holds no text behind its numbers, or has no such column)."""
    if table.written is None:
        return None
    frame = table.frame
    names = [str(n) for n in frame.columns if str(n) not in skip and _is_number(frame[n])]
    return table.written(names, SCAN_ROWS) if names else None


def refuse_personal_data(table: RawTable, cfg: PiiConfig) -> None:
    """DataError for the first undeclared column that looks like personal data (named with
    its first row, the value itself never shown)."""
    skip = cfg.not_scanned
    found = find_personal_data(table.frame, skip, written_numbers(table, skip))
    if found:
        name, kind, row = found[0]
        others = "".join(f"; column {n!r} looks like {k} too" for n, k, _ in found[1:4])
        raise DataError(
            f"data.pii: column {name!r} of {_where(table)} looks like {kind} "
            f"({table.where([row], 1)}){others}; declare it under data.pii.drop (or "
            "data.pii.pseudonymise to keep it as a keyed-hash token) or remove it from the data, "
            "or, if it is not personal data (product codes, ticket numbers), list it under "
            "data.pii.keep"
        )


def protect_personal_data(
    table: RawTable, cfg: PiiConfig, environ: Mapping[str, str] | None = None
) -> RawTable:
    """Refuse undeclared personal data, then drop / pseudonymise the declared columns (a
    declared or kept column missing from the data is reported first: it is usually a typo)."""
    _refuse_roles(table, cfg)
    _missing(table, cfg.drop, "drop")
    _missing(table, cfg.pseudonymise, "pseudonymise")
    _missing(table, cfg.keep, "keep")
    refuse_personal_data(table, cfg)
    return apply_pii(table, cfg, environ)

"""Credentials inside URLs (tracking URIs, Optuna storages, backend stores): found and hidden
with the parser of the client that connects, not with a hand-written pattern.

A database URL (``postgresql://``, ``mysql+pymysql://``, ``sqlite:///``...) is read by
SQLAlchemy's :func:`~sqlalchemy.engine.make_url`, as MLflow and Optuna read it: its password
runs to the ``@`` and may hold ``/`` or ``:``. Any other URL (``http(s)://``...) is read by
:func:`urllib.parse.urlsplit`, as ``requests`` reads it. Each URL is also read the other way
(a raw ``/`` in an HTTP password ends urlsplit's host part before the ``@``; a raw ``@`` in a
database password ends SQLAlchemy's): a password either reading finds counts, and redaction
hides it for both, so no part of an ambiguous password stays visible. The cost is caution:
``http://host:5000/a@b`` reads as user ``host`` with a password.

:func:`is_loopback` tells whether a host is this machine only (servers bind there by default).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle")
"""SQLAlchemy dialects (``dialect+driver://``): URLs of these schemes are read by make_url."""
SECRET_WORDS = ("pass", "token", "secret", "key")
"""A query parameter whose name holds one of these carries a credential."""


def is_database_url(uri: str) -> bool:
    """Whether ``uri`` is a SQLAlchemy database URL (``postgresql+psycopg://...``)."""
    scheme, sep, _ = uri.partition("://")
    return bool(sep) and scheme.split("+", 1)[0].lower() in DATABASE_SCHEMES


def _sqlalchemy_url(uri: str) -> Any:
    """``make_url(uri)``, or None when SQLAlchemy cannot read it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(uri)
    except Exception:  # ArgumentError, or ValueError for a port that is not a number
        return None


def url_password(uri: str) -> str | None:
    """The password ``uri`` carries as its client reads it (percent-decoded for a database
    URL), else as the other reading finds it; None when neither finds one."""
    readings = (_sqlalchemy_password, _split_password)
    primary, secondary = readings if is_database_url(uri) else readings[::-1]
    found = primary(uri)
    return found if found is not None else secondary(uri)


def _sqlalchemy_password(uri: str) -> str | None:
    url = _sqlalchemy_url(uri)
    return None if url is None else url.password


def _split_password(uri: str) -> str | None:
    try:
        return urlsplit(uri).password
    except ValueError:
        return None


def secret_query_keys(uri: str) -> list[str]:
    """Names of query parameters of ``uri`` that carry a credential (``?token=...``)."""
    try:
        query = urlsplit(uri).query
    except ValueError:
        return []
    return [key for key, _ in parse_qsl(query, keep_blank_values=True) if _is_secret(key)]


def has_credentials(uri: str | None) -> bool:
    """Whether ``uri`` holds a password or a credential-looking query parameter."""
    return bool(uri) and (url_password(uri) is not None or bool(secret_query_keys(uri)))


def redact_uri(uri: str | None) -> str:
    """``uri`` with any password (``user:secret@host``) and credential-looking query values
    (password, token, key, secret) replaced by ``***``."""
    if not uri:
        return ""
    return _hide_query(_hide_password(str(uri)))


def redact_text(text: str, uri: str | None) -> str:
    """``text`` with the raw ``uri`` (if it carries a secret) replaced by its redacted form."""
    if uri and redact_uri(uri) != uri:
        text = text.replace(uri, redact_uri(uri))
    return text


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback IP address
    (``127.0.0.0/8``, ``::1``, bracketed or not). Any other name may resolve elsewhere."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_secret(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS)


def _hide_password(text: str) -> str:
    readers: tuple[Callable[[str], str], Callable[[str], str]] = (_hide_split, _hide_sqlalchemy)
    primary, secondary = readers[::-1] if is_database_url(text) else readers
    for _ in range(4):  # each reading hides what the other still sees (stable after one)
        hidden = secondary(primary(text))
        if hidden == text:
            break
        text = hidden
    return text


def _hide_sqlalchemy(text: str) -> str:
    url = _sqlalchemy_url(text)
    if url is None or url.password is None or url.password == MASK:
        return text
    return url.render_as_string(hide_password=True)


def _hide_split(text: str) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if parts.password is None or parts.password == MASK:
        return text
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def _hide_query(text: str) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.query:
        return text
    redacted = []
    for item in parts.query.split("&"):
        key, sep, _ = item.partition("=")
        redacted.append(f"{key}{sep}{MASK}" if sep and _is_secret(key) else item)
    return urlunsplit(parts._replace(query="&".join(redacted)))

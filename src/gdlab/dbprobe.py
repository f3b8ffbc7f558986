"""One quick connection to a database server before MLflow or Optuna open it.

MLflow builds its SQLAlchemy engine with 10 attempts and a growing sleep between them (about
100 s and nine warning blocks for a server that refuses), and the PostgreSQL client waits for
an unanswered connection as long as the operating system lets it. :func:`probe_database`
connects once, with a connect timeout, and raises what the driver raises; callers turn that into
their one-line message (the tracking store, ``tune.storage``). SQLite files are not probed: they
need no server and cost nothing extra.
"""

from __future__ import annotations

from gdlab.urls import is_database_url

CONNECT_TIMEOUT = 10
"""Seconds one connection attempt may take (the PostgreSQL client's minimum is 2)."""

_TIMEOUT_ARGS = {  # (dialect, driver) -> the DBAPI connect() argument bounding the attempt
    ("postgresql", ""): "connect_timeout",
    ("postgresql", "psycopg2"): "connect_timeout",
    ("postgresql", "psycopg"): "connect_timeout",
    ("postgresql", "pg8000"): "timeout",
    ("mysql", ""): "connect_timeout",
    ("mysql", "mysqldb"): "connect_timeout",
    ("mysql", "pymysql"): "connect_timeout",
    ("mysql", "mysqlconnector"): "connection_timeout",
    ("mariadb", ""): "connect_timeout",
    ("mariadb", "mysqldb"): "connect_timeout",
    ("mariadb", "pymysql"): "connect_timeout",
    ("mssql", "pyodbc"): "timeout",
    ("mssql", "pymssql"): "login_timeout",
}


def needs_probe(uri: str) -> bool:
    """Whether ``uri`` names a database server (not a SQLite file, not an HTTP server)."""
    return is_database_url(uri) and not uri.lower().startswith("sqlite")


def probe_database(uri: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect to the server of database URL ``uri`` once (at most ``timeout`` seconds where
    the driver allows a bound) and disconnect. Raises whatever SQLAlchemy or the driver raise
    (refused, timed out, authentication failed, no such database, driver not installed). A
    SQLite or non-database URI returns at once."""
    if not needs_probe(uri):
        return
    import sqlalchemy
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(uri)
    driver = url.get_driver_name() if "+" in url.drivername else ""
    key = _TIMEOUT_ARGS.get((url.get_backend_name(), driver))
    connect_args = {}
    if key and key not in url.query:  # a timeout in the URL itself is kept
        connect_args[key] = max(2, int(timeout)) if key == "connect_timeout" else timeout
    engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()

"""Credentials never go in params.yaml: ``tracking.uri`` and ``tune.storage`` refuse a URL
holding a password however it is spelled (``/``, ``@``, ``:`` or percent-encoded characters,
every scheme), and accept the same URL without it."""

from __future__ import annotations

import pytest

from gdlab.config import validate_params
from tests.config.helpers import assert_problem, config_error

# passwords SQLAlchemy (database URLs) or urlsplit (http) reads out of these URLs
WITH_PASSWORD = [
    "postgresql://u:pa/ss@db/mlflow",  # SQLAlchemy: password 'pa/ss'
    "postgresql://u:pa:ss@db:5432/mlflow",
    "postgresql+psycopg://u:p%40s%2Fs%3A@db/mlflow",  # 'p@s/s:'
    "postgresql://u:p@ss@db/mlflow",  # a raw '@'
    "mysql+pymysql://u:pa/ss@db/mlflow",
    "mssql+pyodbc://u:pa/ss@dsn",
    "postgresql://:secret@db/mlflow",  # no user name
    "postgresql://u@db/mlflow?password=secret",  # libpq's password parameter
    "http://u:pa/ss@tracking.example:5000",
    "https://u:p%2Fss@tracking.example/mlflow",
    "https://u:pa:ss@tracking.example",
]
WITHOUT_PASSWORD = [
    "postgresql://mlflow@db:5432/mlflow",
    "postgresql+psycopg2://u@host/db",
    "mysql+pymysql://u@db/mlflow",
    "sqlite:///mlflow.db",
    "sqlite:////abs/mlflow.db",
    "https://tracking.example/mlflow",
]


@pytest.mark.parametrize("uri", WITH_PASSWORD)
def test_tracking_uri_with_a_password_is_refused(uri):
    err = config_error({"tracking.uri": uri})
    assert_problem(err, "tracking.uri", "holds a credential")
    assert_problem(err, "tracking.uri", "MLFLOW_TRACKING_PASSWORD")


@pytest.mark.parametrize("uri", WITH_PASSWORD)
def test_tune_storage_with_a_password_is_refused(uri):
    err = config_error({"tune.storage": uri})
    assert_problem(err, "tune.storage", "holds a credential")
    assert_problem(err, "tune.storage", "PGPASSWORD or ~/.pgpass")


@pytest.mark.parametrize("uri", WITHOUT_PASSWORD)
def test_the_same_urls_without_a_password_are_accepted(uri):
    params = validate_params({"tracking": {"uri": uri}, "tune": {"storage": uri}})
    assert params.tracking.uri == uri and params.tune.storage == uri


def test_tune_storage_journal_paths_are_accepted():
    for path in (".optuna/gdlab.journal", "/abs/study.journal", "odd:name@file.journal"):
        assert validate_params({"tune": {"storage": path}}).tune.storage == path

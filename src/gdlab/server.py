"""``make server`` / ``python -m gdlab.server``: a shared MLflow tracking server on 127.0.0.1.

The server keeps runs, metrics and the model registry in a database and serves artifacts
itself (clients upload and download through it, so they need no access to its disk):

- backend store: ``--backend-store-uri``, else ``$GDLAB_SERVER_STORE`` — a PostgreSQL URL such
  as ``postgresql://mlflow@db.example:5432/mlflow`` (the password comes from ``PGPASSWORD`` or
  ``~/.pgpass``, never from a file in the repository) — else, when no PostgreSQL is configured,
  the project's own SQLite store ``sqlite:///<project>/mlflow.db``;
- artifact root: ``--artifacts``, else ``$GDLAB_SERVER_ARTIFACTS``, else ``<project>/mlartifacts``;
- address: ``--host``/``--port``, else ``$GDLAB_SERVER_HOST``/``$GDLAB_SERVER_PORT``, else
  127.0.0.1:5000.

Point every stage at it with ``tracking.uri: http://127.0.0.1:5000`` in params.yaml (or
``MLFLOW_TRACKING_URI``); with ``tune.storage`` on the same PostgreSQL
(``postgresql://…/optuna``), tuning workers on several machines share one Optuna study.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gdlab.tracking.uri import project_root, redact_uri

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000
STORE_ENV, ARTIFACTS_ENV, HOST_ENV, PORT_ENV = (
    "GDLAB_SERVER_STORE",
    "GDLAB_SERVER_ARTIFACTS",
    "GDLAB_SERVER_HOST",
    "GDLAB_SERVER_PORT",
)
STORE_SCHEMES = ("postgresql", "sqlite", "mysql", "mssql")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gdlab.server", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default=os.environ.get(HOST_ENV, DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENV, DEFAULT_PORT)))
    parser.add_argument(
        "--backend-store-uri",
        default=os.environ.get(STORE_ENV) or None,
        help=f"database URL (default ${STORE_ENV}, else the project's sqlite mlflow.db)",
    )
    parser.add_argument(
        "--artifacts",
        default=os.environ.get(ARTIFACTS_ENV) or None,
        help=f"artifact root directory (default ${ARTIFACTS_ENV}, else <project>/mlartifacts)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the mlflow command and exit"
    )
    return parser.parse_args(argv)


def backend_store(configured: str | None, root: Path) -> str:
    """The backend store URL: ``configured`` (a database URL), else the project's SQLite."""
    if not configured:
        return f"sqlite:///{(root / 'mlflow.db').resolve()}"
    scheme = configured.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in STORE_SCHEMES:
        raise ValueError(
            f"backend store {redact_uri(configured)!r} is not a database URL "
            f"({' | '.join(STORE_SCHEMES)}); the file store cannot hold the model registry"
        )
    return configured


def server_command(args: argparse.Namespace, root: Path | None = None) -> list[str]:
    """The ``mlflow server`` command line for ``args``."""
    root = project_root() if root is None else root
    store = backend_store(args.backend_store_uri, root)
    artifacts = Path(args.artifacts) if args.artifacts else root / "mlartifacts"
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--backend-store-uri",
        store,
        "--serve-artifacts",
        "--artifacts-destination",
        str(artifacts.resolve()),
        "--workers",
        str(args.workers),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        command = server_command(args)
    except ValueError as exc:
        print(f"server: {exc}", file=sys.stderr)
        return 2
    shown = [redact_uri(part) for part in command]
    store = shown[shown.index("--backend-store-uri") + 1]
    kind = "PostgreSQL" if store.startswith("postgresql") else store.split(":", 1)[0]
    print(
        f"server: MLflow on http://{args.host}:{args.port} — backend store {store} ({kind}), "
        f"artifacts {shown[shown.index('--artifacts-destination') + 1]}\n"
        f"server: set tracking.uri: http://{args.host}:{args.port} in params.yaml",
        flush=True,
    )
    if args.dry_run:
        print(" ".join(shown))
        return 0
    Path(command[command.index("--artifacts-destination") + 1]).mkdir(parents=True, exist_ok=True)
    os.execv(command[0], command)
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())

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

A store URL holding a password is refused: ``mlflow server`` would carry it in its command
line, which every user of the machine sees (``ps``). The MLflow server has no authentication,
so a host other than a loopback address (127.0.0.1, ::1, localhost) is refused too, unless
``--allow-remote`` or ``GDLAB_SERVER_ALLOW_REMOTE=1`` says it is meant (e.g. behind a proxy
that authenticates); otherwise reach it from other machines through an SSH tunnel.

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
from gdlab.urls import has_credentials, is_loopback

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5000
STORE_ENV, ARTIFACTS_ENV, HOST_ENV, PORT_ENV, ALLOW_REMOTE_ENV = (
    "GDLAB_SERVER_STORE",
    "GDLAB_SERVER_ARTIFACTS",
    "GDLAB_SERVER_HOST",
    "GDLAB_SERVER_PORT",
    "GDLAB_SERVER_ALLOW_REMOTE",
)
STORE_SCHEMES = ("postgresql", "sqlite", "mysql", "mssql")
_TRUE = ("1", "true", "yes", "on")


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
        "--allow-remote",
        action="store_true",
        default=os.environ.get(ALLOW_REMOTE_ENV, "").strip().lower() in _TRUE,
        help=f"allow a --host that is not a loopback address (default ${ALLOW_REMOTE_ENV}=1); "
        "the server has no authentication",
    )
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
    if has_credentials(configured):
        raise ValueError(
            f"backend store {redact_uri(configured)!r} holds a password, which the mlflow "
            "server command line would show to every user of this machine (ps): remove it "
            "from the URL and set PGPASSWORD or a ~/.pgpass file (mode 0600) instead"
        )
    return configured


def check_host(host: str, allow_remote: bool) -> str:
    """``host``, refused when it is not a loopback address and ``allow_remote`` is not set."""
    if not is_loopback(host) and not allow_remote:
        raise ValueError(
            f"--host {host!r} is not a loopback address: the MLflow server has no "
            "authentication, so anyone reaching it could read and change every run and model. "
            f"Bind {DEFAULT_HOST} (other machines reach it through an SSH tunnel), or pass "
            f"--allow-remote / set {ALLOW_REMOTE_ENV}=1 to expose it on purpose"
        )
    return host


def server_command(args: argparse.Namespace, root: Path | None = None) -> list[str]:
    """The ``mlflow server`` command line for ``args``."""
    root = project_root() if root is None else root
    check_host(args.host, args.allow_remote)
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

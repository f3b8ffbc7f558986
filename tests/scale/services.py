"""Real services for the scale-out tests, on 127.0.0.1 and free ports, torn down afterwards:
a throw-away PostgreSQL cluster (Debian's server binaries, ``initdb`` as a non-root user) and
an MLflow tracking server started the way ``make server`` starts it."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PG_USER = "gdlab"  # the temporary cluster's superuser (trust authentication, loopback only)


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bindir() -> Path | None:
    """Directory of ``initdb``/``pg_ctl``/``postgres``: PATH, then Debian's
    /usr/lib/postgresql/<version>/bin (newest first); None when the server is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        reverse=True,
    )
    return Path(candidates[0]).parent if candidates else None


def _runner() -> tuple[list[str], int | None, int | None]:
    """How to run the server binaries: as ourselves, or (as root, which PostgreSQL refuses) as
    the ``postgres`` system user that Debian's package creates. Returns the command prefix
    and the uid/gid that must own the data directory."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError(
            "running as root and there is no 'postgres' user to run PostgreSQL as "
            "(Debian's postgresql package creates it)"
        ) from exc
    runuser = shutil.which("runuser")
    prefix = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-c"]
    return prefix, user.pw_uid, user.pw_gid


@dataclass
class Postgres:
    """A running temporary cluster; ``url(db)`` is a SQLAlchemy/libpq URL without password."""

    bindir: Path
    base: Path
    port: int
    prefix: list[str]

    @property
    def data(self) -> Path:
        return self.base / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self.prefix and self.prefix[-1] == "-c":  # su postgres -c "<one string>"
            command = [*self.prefix, " ".join(_quote(a) for a in command)]
        else:
            command = [*self.prefix, *command]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def create_database(self, name: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.url())
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()

    def stop(self) -> None:
        try:
            self.run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def start_postgres(bindir: Path) -> Postgres:
    """initdb a cluster in a new temporary directory and start it on 127.0.0.1:<free port>."""
    prefix, uid, gid = _runner()
    base = Path(tempfile.mkdtemp(prefix="gdlab-pg-"))
    os.chmod(base, 0o700)
    if uid is not None:
        os.chown(base, uid, gid)
    pg = Postgres(bindir, base, free_tcp_port(), prefix)
    pg.run(
        bindir / "initdb", "-D", pg.data, "-U", PG_USER, "-A", "trust", "-E", "UTF8",
        "--no-sync", "--no-instructions",
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {pg.port} -k {pg.base} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    try:
        pg.run(
            bindir / "pg_ctl", "-D", pg.data, "-l", pg.base / "server.log", "-o", options,
            "-w", "-t", "60", "start",
        )
    except Exception:
        log = pg.base / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {detail}") from None
    return pg


@dataclass
class Server:
    """A running ``mlflow server`` (started through ``python -m gdlab.server``)."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_mlflow_server(store: str, artifacts: Path, log: Path, timeout: float = 180) -> Server:
    """``python -m gdlab.server`` (what ``make server`` runs) on a free port; waits for
    ``/health``."""
    port = free_tcp_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    handle = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gdlab.server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", store, "--artifacts", str(artifacts), "--workers", "1",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    server = Server(process, port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"mlflow server exited {process.returncode}: {tail}")
        try:
            with urllib.request.urlopen(f"{server.uri}/health", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"mlflow server did not answer in {timeout}s: {log.read_text()[-3000:]}")

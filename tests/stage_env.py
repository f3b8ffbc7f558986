"""Copies of the repository for tests that run DVC and the stage scripts, and the environment
they run in: this venv first on PATH, the copy's own ``src`` imported, no MLflow/DVC/git
settings of the caller leaking in, CI mode (no progress bars), a fixed git identity for commits
in the copy; :func:`serve_and_invoke` asks a model server started from such a copy for its
answer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

VENV_BIN = os.path.dirname(sys.executable)
REPO = Path(__file__).resolve().parents[1]


def copy_working_tree(dest: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Copy the repository's working tree (tracked and untracked, minus ignored files) to
    ``dest``, leaving out paths that start with one of ``skip``."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file() and not name.startswith(skip):
            target = Path(dest) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def stage_env(root: Path, **extra: str) -> dict[str, str]:
    """``os.environ`` cleaned for a repository copy at ``root``, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "DVC_", "GIT_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(Path(root) / "src"),
        CI="1",
        GIT_AUTHOR_NAME="gdlab tests",
        GIT_AUTHOR_EMAIL="tests@gdlab.local",
        GIT_COMMITTER_NAME="gdlab tests",
        GIT_COMMITTER_EMAIL="tests@gdlab.local",
    )
    env.update(extra)
    return env


def post_json(port: int, body: bytes, path: str = "invocations") -> tuple[int, Any]:
    """Status and decoded JSON answer of ``http://127.0.0.1:<port>/<path>`` to ``body``;
    OSError when nothing listens there."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{path}", data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:  # it answered, with an error
        return exc.code, json.loads(exc.read() or b"null")


def answers_ping(port: int) -> bool:
    """Whether something answers ``GET /ping`` on ``http://127.0.0.1:<port>`` with success."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5):
            return True
    except OSError:  # not listening (or not ready: an HTTP error)
        return False


@contextmanager
def model_server_process(
    command: list[str], *, port: int, cwd: Path, env: dict[str, str], log: Path,
    wait: float = 120.0,
) -> Iterator[tuple[subprocess.Popen, bool]]:
    """Start a model server (``command``, in a session of its own, output to ``log``) and
    yield it with whether it answers ``GET /ping`` on ``http://127.0.0.1:<port>`` before it
    exits or ``wait`` seconds pass (``log`` tells why not); then stop what is left of the
    server's process group (SIGTERM, SIGKILL after 20 s)."""
    with Path(log).open("w") as out:
        server = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline, ready = time.monotonic() + wait, False
            while not ready and time.monotonic() < deadline and server.poll() is None:
                ready = answers_ping(port)
                if not ready:
                    time.sleep(0.5)
            yield server, ready
        finally:
            for signum in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(server.pid, signum)
                except ProcessLookupError:  # the whole group has exited
                    break
                try:
                    server.wait(timeout=20)
                    break
                except subprocess.TimeoutExpired:
                    continue
            server.wait()


@contextmanager
def model_server(
    command: list[str], *, port: int, cwd: Path, env: dict[str, str], log: Path,
    wait: float = 120.0,
) -> Iterator[bool]:
    """:func:`model_server_process`, yielding only whether the server answered."""
    with model_server_process(command, port=port, cwd=cwd, env=env, log=log,
                              wait=wait) as (_, ready):
        yield ready


def serve_and_invoke(
    command: list[str], *, port: int, body: bytes, cwd: Path, env: dict[str, str], log: Path,
    wait: float = 120.0,
) -> Any:
    """Start a model server (:func:`model_server`), POST ``body`` (JSON) to its
    ``/invocations`` once it answers, then stop it. Returns the decoded answer, or None when
    the server never answered (``log`` tells why); an HTTP error answer fails at once with its
    body."""
    with model_server(command, port=port, cwd=cwd, env=env, log=log, wait=wait) as ready:
        if not ready:
            return None
        status, answer = post_json(port, body)
        if status != 200:
            raise AssertionError(f"the server answered HTTP {status}: {answer!r}")
        return answer


def exp_show_metrics(shown: Any, name: str, _named: bool = False) -> dict[str, Any] | None:
    """The metrics files ``dvc exp show --json`` lists for the experiment ``name``
    (``{"reports/metrics.json": {...}, ...}``, each file's parsed content), or None when the
    experiment is not listed with metrics. The name sits on the experiment's range, its
    metrics on the range's revisions."""
    if isinstance(shown, list):
        for item in shown:
            found = exp_show_metrics(item, name, _named)
            if found is not None:
                return found
    elif isinstance(shown, dict):
        named = _named or shown.get("name") == name
        data = shown.get("data")
        if named and isinstance(data, dict) and data.get("metrics"):
            return {path: (result or {}).get("data") for path, result in data["metrics"].items()}
        for key in ("revs", "experiments"):
            found = exp_show_metrics(shown.get(key), name, named and key == "revs")
            if found is not None:
                return found
    return None

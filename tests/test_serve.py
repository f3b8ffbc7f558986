"""``gdlab serve`` (:mod:`gdlab.serve`): the registered champion served from its skops file
alone, loaded with gdlab's trusted types and saved again by the installed gdlab. A pickle that
anyone able to register a version put there is refused, never run (``mlflow models serve`` on
the registry URI ran it); the genuine champion answers as the README documents (labels,
``predict_method``, one-hot and NaN refusals naming columns and rows); the server binds
127.0.0.1 unless told otherwise."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from gdlab.serve import (
    AddressInUse,
    ServerErrors,
    StopSignals,
    bind_failures,
    check_host,
    run_server,
    serve,
    starting_line,
)
from gdlab.serve_copies import machine_id
from gdlab.tracking import open_session
from tests.registered_models import CITY, cloudpickle_champion, gdlab_champion
from tests.reliability.harness import free_port
from tests.stage_env import (
    REPO,
    answers_ping,
    model_server,
    model_server_process,
    post_json,
    stage_env,
)
from tests.test_serve_copies import dead_pid

NAME = "gdlab-served"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project directory (params.yaml registering ``NAME``, its own ``mlflow.db``) whose
    registry holds a genuine gdlab champion of ``NAME`` and a cloudpickle champion of
    ``hostile`` that creates ``<root>/ran`` when loaded."""
    root = tmp_path_factory.mktemp("serve")
    (root / ".dvc").mkdir()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["register"]["model_name"] = NAME
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("DVC_ROOT", raising=False)
        session = open_session(None, "tests")
        pipeline = gdlab_champion(session.client, NAME)
        cloudpickle_champion(session.client, "hostile", root / "ran")
        mlflow.set_tracking_uri(None)
    return root, pipeline


def gdlab_serve(root, *args: str) -> list[str]:
    return [sys.executable, "-m", "gdlab.cli", "serve", *args]


def test_a_cloudpickle_champion_is_refused_and_never_run(project):
    root, _ = project
    proc = subprocess.run(gdlab_serve(root, "--model-uri", "models:/hostile@champion"),
                          cwd=root, env=stage_env(REPO), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        "gdlab serve: 'hostile' v1 (models:/hostile@champion): not loaded: its model is not a "
        "skops file (serialization_format 'cloudpickle'); gdlab loads no pickle"
    )
    assert "serving" not in proc.stdout
    assert not (root / "ran").exists()


def request(rows: list[list[float]], **params: str) -> bytes:
    body: dict = {"dataframe_split": {"columns": CITY, "data": rows}}
    if params:
        body["params"] = params
    return json.dumps(body).encode()


def test_the_champion_is_served_and_answers_as_the_readme_says(project, tmp_path):
    root, pipeline = project
    port = free_port()
    log = tmp_path / "serve.log"
    good = [[0.5, 1.0, 0, 1, 0], [0.1, -1.0, 1, 0, 0]]
    frame = pd.DataFrame(good, columns=CITY, dtype=float)
    with model_server(gdlab_serve(root, "--port", str(port)), port=port, cwd=root,
                      env=stage_env(REPO), log=log, wait=90) as ready:
        assert ready, log.read_text()[-3000:]
        assert post_json(port, request(good)) == (
            200, {"predictions": pipeline.predict(frame).tolist()})
        status, answer = post_json(port, request(good, predict_method="predict_proba"))
        assert status == 200
        expected = pipeline.predict_proba(frame)
        served = [[row[str(c)] for c in pipeline.classes_] for row in answer["predictions"]]
        np.testing.assert_allclose(served, expected)
        status, answer = post_json(port, request([[0.5, 1.0, 1, 1, 0]]))
        assert status == 400
        assert "column 'city' sets several levels in row 0" in answer["message"]
        status, answer = post_json(port, request([[0.5, float("nan"), 0, 1, 0]]))
        assert status == 400 and "column 'x1' holds NaN in row 0" in answer["message"]
    printed = log.read_text()
    assert (f"gdlab serve: starting '{NAME}' v1 (models:/{NAME}@champion) on "
            f"http://127.0.0.1:{port}/invocations") in printed


def test_a_host_that_is_not_loopback_is_refused_without_opt_in(project, capsys):
    root, _ = project
    assert serve(None, "192.0.2.7", free_port(), params_file=str(root / "params.yaml")) == 1
    err = capsys.readouterr().err
    assert err.startswith("gdlab serve: --host '192.0.2.7' is not a loopback address")
    assert "--allow-remote" in err
    assert check_host("192.0.2.7", allow_remote=True) == "192.0.2.7"
    for host in ("127.0.0.1", "localhost", "::1"):
        assert check_host(host, allow_remote=False) == host


def test_a_params_file_that_does_not_exist_is_refused_naming_params(project):
    root, _ = project
    proc = subprocess.run(
        gdlab_serve(root, "--params", "no-such-params.yaml", "--model-uri",
                    "models:/no-such-model/1", "--port", str(free_port())),
        cwd=root, env=stage_env(REPO), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == "gdlab serve: --params 'no-such-params.yaml': no such file\n"
    assert proc.stdout == ""


def test_a_port_in_use_is_refused_in_one_line_before_any_model_is_read(project):
    root, _ = project
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            gdlab_serve(root, "--port", str(port), "--model-uri", "models:/no-such-model/1"),
            cwd=root, env=stage_env(REPO), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == (
        f"gdlab serve: --port {port}: 127.0.0.1:{port} is already in use (another server "
        "listens there): stop it or choose another --port\n")
    assert proc.stdout == ""


def stops_answering(port: int, within: float = 30.0) -> bool:
    """Whether ``/ping`` on ``port`` stops answering within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not answers_ping(port):
            return True
        time.sleep(0.5)
    return False


@contextmanager
def serving(root: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int, Path, Path]]:
    """``gdlab serve`` of the project at ``root`` on a free port, its model copy in a scratch
    ``$TMPDIR`` (a copy it cannot remove stays in there): ``(server, port, scratch, log)``
    once it answers (the test fails with its log otherwise)."""
    port, scratch = free_port(), tmp_path / "tmp"
    scratch.mkdir()
    log = tmp_path / "serve.log"
    with model_server_process(gdlab_serve(root, "--port", str(port)), port=port, cwd=root,
                              env=stage_env(REPO, TMPDIR=str(scratch)), log=log,
                              wait=90) as (server, ready):
        assert ready, log.read_text()[-3000:]
        yield server, port, scratch, log


def test_sigint_to_gdlab_serve_alone_stops_the_server_and_removes_its_model(project, tmp_path):
    root, _ = project
    with serving(root, tmp_path) as (server, port, scratch, log):
        assert [p.name for p in scratch.iterdir()][0].startswith("gdlab-serve-")
        os.kill(server.pid, signal.SIGINT)  # this process alone, not its group
        try:
            status = server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            pytest.fail("gdlab serve kept running after SIGINT: " + log.read_text()[-2000:])
        assert status == 0, log.read_text()[-3000:]
        assert stops_answering(port), log.read_text()[-3000:]
        assert list(scratch.iterdir()) == []


def test_the_server_stops_when_gdlab_serve_is_killed(project, tmp_path):
    root, _ = project
    with serving(root, tmp_path) as (server, port, _, log):
        os.kill(server.pid, signal.SIGKILL)  # no handler runs: the kernel's death signal acts
        server.wait()
        assert stops_answering(port), "the server outlived gdlab serve: " + log.read_text()[-2000:]


PATCHED_SERVE = """
import os, signal, socket, sys, tempfile
import gdlab.serve as serve
from gdlab.cli import main
{patch}
sys.exit(main(sys.argv[1:]))
"""

# A stop signal gdlab serve sends itself right after making its model directory, or right
# after saving the model in it: the two moments before the server exists.
SIGNAL_AFTER_MKDTEMP = """
made = tempfile.mkdtemp
def mkdtemp(*args, **kwargs):
    path = made(*args, **kwargs)
    if os.path.basename(path).startswith("gdlab-serve-"):
        os.kill(os.getpid(), signal.{signal})
    return path
tempfile.mkdtemp = mkdtemp
"""
SIGNAL_AFTER_SAVE = """
saved = serve.save_for_serving
def save_for_serving(*args, **kwargs):
    saved(*args, **kwargs)
    os.kill(os.getpid(), signal.{signal})
serve.save_for_serving = save_for_serving
"""
# The port taken by another listener right after gdlab serve found it free.
PORT_TAKEN_AFTER_CHECK = """
checked, held = serve.check_port, []
def check_port(host, port):
    checked(host, port)
    taker = socket.socket()
    taker.bind((host, port))
    taker.listen()
    held.append(taker)
    return port
serve.check_port = check_port
"""


def patched_serve(patch: str) -> list[str]:
    """``gdlab serve`` with ``patch`` (Python run after importing :mod:`gdlab.serve`)."""
    return [sys.executable, "-c", PATCHED_SERVE.format(patch=patch), "serve"]


@pytest.mark.parametrize(("patch", "signame"), [
    (SIGNAL_AFTER_MKDTEMP, "SIGTERM"),
    (SIGNAL_AFTER_SAVE, "SIGTERM"),
    (SIGNAL_AFTER_SAVE, "SIGHUP"),
    (SIGNAL_AFTER_SAVE, "SIGINT"),
], ids=["sigterm-after-mkdtemp", "sigterm-during-save", "sighup-during-save",
        "sigint-during-save"])
def test_a_stop_signal_while_the_model_is_saved_leaves_no_model_copy(project, tmp_path, patch,
                                                                      signame):
    root, _ = project
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run(
        [*patched_serve(patch.format(signal=signame)), "--port", str(free_port())],
        cwd=root, env=stage_env(REPO, TMPDIR=str(scratch)), capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"gdlab serve: stopped by {signame} before the server started")
    assert "Traceback" not in proc.stderr
    assert "starting" not in proc.stdout
    assert list(scratch.iterdir()) == []


def test_a_port_taken_before_the_server_binds_it_is_refused_in_one_line(project, tmp_path):
    root, _ = project
    port, scratch = free_port(), tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run(
        [*patched_serve(PORT_TAKEN_AFTER_CHECK), "--port", str(port)],
        cwd=root, env=stage_env(REPO, TMPDIR=str(scratch)), capture_output=True, text=True,
        timeout=180)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"gdlab serve: --port {port}: 127.0.0.1:{port} is already in use (another server "
        "listens there): stop it or choose another --port")
    assert "Traceback" not in proc.stderr and "Errno" not in proc.stderr, proc.stderr
    assert list(scratch.iterdir()) == []


def test_the_next_gdlab_serve_removes_the_copy_a_killed_one_left(project, tmp_path):
    root, _ = project
    port, scratch = free_port(), tmp_path / "tmp"
    scratch.mkdir()
    env = stage_env(REPO, TMPDIR=str(scratch))
    log = tmp_path / "serve.log"
    with model_server_process(gdlab_serve(root, "--port", str(port)), port=port, cwd=root,
                              env=env, log=log, wait=90) as (server, ready):
        assert ready, log.read_text()[-3000:]
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        assert stops_answering(port), log.read_text()[-2000:]
    [left] = list(scratch.iterdir())  # SIGKILL: nothing of gdlab serve could run
    here = machine_id()  # gdlab serve's too: the same host and PID namespace
    assert left.name.startswith(f"gdlab-serve-{here}-{server.pid}-")
    # What the next gdlab serve must keep: a live process's copy, another user's copy, a file
    # and a symbolic link named like a copy, and another program's directory.
    live = scratch / f"gdlab-serve-{here}-{os.getpid()}-live"
    others = scratch / f"gdlab-serve-{here}-{dead_pid()}-others"
    named_file = scratch / f"gdlab-serve-{here}-{dead_pid()}-file"
    target = tmp_path / "target"
    link = scratch / f"gdlab-serve-{here}-{dead_pid()}-link"
    foreign = scratch / f"other-{dead_pid()}-dir"
    for directory in (live, others, target, foreign):
        directory.mkdir()
        (directory / "kept").write_text("kept")
    named_file.write_text("kept")
    link.symlink_to(target, target_is_directory=True)
    if os.geteuid() == 0:
        os.chown(others, 65534, 65534)
    kept = {live.name, named_file.name, link.name, foreign.name}
    if os.geteuid() == 0:
        kept.add(others.name)
    else:  # not root: no copy of another user to make
        shutil.rmtree(others)

    port = free_port()
    with model_server_process(gdlab_serve(root, "--port", str(port)), port=port, cwd=root,
                              env=env, log=log, wait=90) as (server, ready):
        assert ready, log.read_text()[-3000:]
        names = {p.name for p in scratch.iterdir()}
        assert left.name not in names
        [own] = names - kept
        assert own.startswith(f"gdlab-serve-{here}-{server.pid}-")
        assert kept <= names
        os.kill(server.pid, signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert {p.name for p in scratch.iterdir()} == kept
    for directory in (live, target, foreign, *([others] if others.exists() else [])):
        assert (directory / "kept").read_text() == "kept"


ASGI_APP = """
async def app(scope, receive, send):
    while scope["type"] == "lifespan":
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return
"""


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
@pytest.mark.parametrize("workers", [1, 2])
def test_uvicorns_own_bind_failure_on_a_taken_port_is_recognised(tmp_path, host, workers):
    (tmp_path / "servemendapp.py").write_text(ASGI_APP)
    family = socket.AF_INET6 if host == "::1" else socket.AF_INET
    with socket.socket(family) as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        uvicorn = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "uvicorn"), "--host", host,
             "--port", str(port), "--workers", str(workers), "--app-dir", str(tmp_path),
             "servemendapp:app"], stderr=subprocess.PIPE)
        errors = ServerErrors(uvicorn.stderr, bind_failures(host, port, workers))
        status = uvicorn.wait(timeout=60)
    assert status != 0
    assert errors.finish(failed=True), "uvicorn's bind failure was not recognised"


# A server that logs an "[Errno 98]" of its own (not uvicorn's bind failure for its address),
# then fails for another reason.
OTHER_FAILURE = """
import sys
print("INFO:     Started server process [1]", file=sys.stderr, flush=True)
print("WARNING:  cache at 127.0.0.1:6379: [Errno 98] Address already in use", file=sys.stderr,
      flush=True)
print("INFO:     Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)",
      file=sys.stderr, flush=True)
print("ERROR:    [Errno 98] Address already in use", file=sys.stderr, flush=True)
print("RuntimeError: the model could not be loaded", file=sys.stderr, flush=True)
sys.exit(1)
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_another_errno_98_line_is_shown_and_a_different_failure_is_not_a_busy_port(capsys,
                                                                                    workers):
    port = free_port()
    command = [sys.executable, "-c", OTHER_FAILURE.format(port=port)]
    try:
        status = run_server(command, StopSignals(), bind_failures("127.0.0.1", port, workers))
    except AddressInUse:
        pytest.fail("a failure that was no bind failure was reported as a port in use")
    assert status == 1
    err = capsys.readouterr().err
    assert "WARNING:  cache at 127.0.0.1:6379: [Errno 98] Address already in use\n" in err
    assert err.endswith("ERROR:    [Errno 98] Address already in use\n"
                        "RuntimeError: the model could not be loaded\n")


def test_the_starting_line_speaks_of_an_alias_only_when_one_was_resolved():
    # `--model-uri models:/houses/2` was told "the alias was resolved now: restart after
    # moving it", though it named a version and no alias
    by_alias = starting_line("'houses' v2", "127.0.0.1", 5001, "models:/houses@champion")
    assert by_alias == ("gdlab serve: starting 'houses' v2 on http://127.0.0.1:5001/invocations"
                        " (the alias was resolved now: restart after moving it)")
    by_version = starting_line("'houses' v2", "127.0.0.1", 5001, "models:/houses/2")
    assert by_version == "gdlab serve: starting 'houses' v2 on http://127.0.0.1:5001/invocations"
    assert "alias" not in starting_line("m-1", "127.0.0.1", 5001, "models:/m-0123abcd")
    # an IPv6 host in brackets, as a URL needs it (http://::1:5943 opens nothing)
    assert "on http://[::1]:5943/invocations" in starting_line("m", "::1", 5943, "models:/m/1")

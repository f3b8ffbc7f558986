"""``gdlab serve``: serve a registered model (``models:/<name>@champion``) over HTTP without
running code its logger chose.

``mlflow models serve -m models:/…`` loads the model as its ``MLmodel`` says: a pickle runs as
it loads, and the skops types, pyfunc ``loader_module`` and ``code_paths`` (a copy of any
package, first on ``sys.path``) are the logger's choice. Here the alias is resolved once, the
version's skops file alone is loaded with gdlab's loader
(:func:`gdlab.tracking.registered.load_version`; anything else is refused, naming the
version), and the pipeline is saved again, by the installed gdlab, in a local model directory
(:func:`save_for_serving`: gdlab's pyfunc loader :mod:`gdlab.served`, no code paths, the
registry's signature and one-hot groups checked as plain data). ``mlflow models serve`` then
serves that directory (``$TMPDIR/gdlab-serve-<machine>-<pid>-*``,
:mod:`gdlab.serve_copies`) with ``--env-manager local``; the directory is removed when it
stops, and one left by a killed ``gdlab serve`` by the next one on the same machine.

SIGINT, SIGTERM and SIGHUP to ``gdlab serve`` stop it from the moment its model directory is
made: before the server starts, the save is abandoned and the directory removed; then the
server gets SIGTERM (killed after :data:`STOP_GRACE` seconds). On Linux the server also gets
SIGTERM when ``gdlab serve`` dies otherwise (SIGKILL), so it never keeps the port alone. The
port is checked before anything is loaded, and a server that exits because another process
took the port since (uvicorn's bind failure for that host and port, :func:`bind_failures`)
is reported the same way: one line naming ``--port``.

The model server has no authentication: a host other than a loopback address is refused
unless ``--allow-remote`` says it is meant."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gdlab.serve_copies import make_copy_directory, remove_stale_copies
from gdlab.urls import is_loopback

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5001
DEFAULT_PARAMS = "params.yaml"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE = 20.0  # seconds a stopping server is given before it is killed
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
HELD_LINES = 200  # server error lines held back after uvicorn's bind failure, at most
_RUNNING = b"Uvicorn running on "  # uvicorn's line once it has bound its address


class Stopped(BaseException):
    """A stop signal before the server started (raised by :class:`StopSignals`; not an
    :class:`Exception`, so that no handler of loading or saving errors takes it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class AddressInUse(Exception):
    """The server exited because its address was in use when it bound it."""


def port_in_use(host: str, port: int) -> str:
    """The one line refusing ``port``, held by another server at ``host``."""
    return (f"--port {port}: {host}:{port} is already in use (another server listens "
            "there): stop it or choose another --port")


def check_host(host: str, allow_remote: bool) -> str:
    """``host``, refused (ValueError naming ``--host``) when it is not a loopback address and
    ``allow_remote`` is not set."""
    if not is_loopback(host) and not allow_remote:
        raise ValueError(
            f"--host {host!r} is not a loopback address: the model server has no "
            "authentication, so anyone reaching it could use the model. Bind "
            f"{DEFAULT_HOST} (other machines reach it through an SSH tunnel or a proxy that "
            "authenticates), or pass --allow-remote to expose it on purpose"
        )
    return host


def bind_failures(host: str, port: int, workers: int = 1) -> frozenset[bytes]:
    """The lines uvicorn (0.55) logs when it cannot bind ``host``:``port`` because another
    process holds it: one worker binds in asyncio, whose error names each address ``host``
    resolves to; several workers bind in uvicorn's main process, whose error names none."""
    in_use = f"ERROR:    [Errno {errno.EADDRINUSE}] "
    reason = os.strerror(errno.EADDRINUSE)
    if workers > 1:
        return frozenset({f"{in_use}{reason}".encode()})
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        addresses = []
    return frozenset(
        f"{in_use}error while attempting to bind on address {address!r}: "
        f"{reason.lower()}".encode() for *_, address in addresses)


def check_port(host: str, port: int) -> int:
    """``port``, refused (ValueError naming ``--port``) when it cannot be listened on at
    ``host`` now (another server holds it, a privileged port, not a port): checked before the
    model is loaded, as the server will bind it (``SO_REUSEADDR``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OverflowError:
            raise ValueError(f"--port {port}: not a TCP port (0 to 65535)") from None
        except socket.gaierror as exc:
            raise ValueError(f"--host {host!r}: cannot be resolved ({exc.strerror})") from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ValueError(port_in_use(host, port)) from None
            raise ValueError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}): "
                             "choose another --port") from None
    return port


def save_for_serving(pipeline: Any, path: str | Path, signature: Any,
                     metadata: dict | None, plugins: Sequence[str] = ()) -> None:
    """Save ``pipeline`` as train logs a model (:func:`gdlab.served.save_model`: skops, gdlab's
    pyfunc loader, the installed gdlab's trusted types) in the local directory ``path``, with
    ``signature`` and ``metadata`` and no code paths: served with ``--env-manager local``, it
    runs the installed gdlab."""
    from gdlab import served
    from gdlab.experiment.persist import trusted_types
    from gdlab.tracking.model import pip_requirements

    served.save_model(
        pipeline, str(path), signature=signature, metadata=metadata,
        serialization_format="skops", skops_trusted_types=trusted_types(pipeline,
                                                                        plugins=plugins),
        pip_requirements=pip_requirements(),
    )


def serve_command(model_dir: str | Path, host: str, port: int, workers: int = 1) -> list[str]:
    """The ``mlflow models serve`` command line for the local model ``model_dir``."""
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir),
            "--host", host, "--port", str(port), "--env-manager", "local",
            "--workers", str(workers)]


def serving_env() -> dict[str, str]:
    """This process's environment with its Python's ``bin`` first on ``PATH``: MLflow starts
    ``uvicorn`` by name (``uvicorn: not found`` otherwise)."""
    return {**os.environ,
            "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}


def stop_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when ``parent`` dies (Linux
    ``PR_SET_PDEATHSIG``; None elsewhere): a killed ``gdlab serve`` leaves no server behind."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):  # no prctl: the child outlives a killed parent
        return None

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


class StopSignals:
    """What SIGINT, SIGTERM and SIGHUP do to ``gdlab serve`` (:func:`stop_signals`): the first
    is recorded (:attr:`signum`); while the model is saved (:meth:`interruptible`) it raises
    :class:`Stopped`, between such steps it is acted on at the next one, and once the server
    runs (:attr:`server`) the server gets SIGTERM, and is killed if it has not exited
    :data:`STOP_GRACE` seconds after the first."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.deadline = float("inf")
        self.server: subprocess.Popen | None = None
        self._raising = False

    def handle(self, signum: int, _frame: object) -> None:
        """The signal handler."""
        if self.signum is None:
            self.signum, self.deadline = signum, time.monotonic() + STOP_GRACE
        if self.server is not None:
            self.server.terminate()  # a no-op once it has exited
        elif self._raising:
            raise Stopped(signum)

    def check(self) -> None:
        """Raise :class:`Stopped` if a stop signal came before the server started."""
        if self.signum is not None and self.server is None:
            raise Stopped(self.signum)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A step a stop signal interrupts (:class:`Stopped`, also for one that came before)."""
        self.check()
        self._raising = True
        try:
            yield
        finally:
            self._raising = False


@contextmanager
def stop_signals() -> Iterator[StopSignals]:
    """SIGINT, SIGTERM and SIGHUP handled by a :class:`StopSignals` inside the block; the
    previous handlers restored after it."""
    stop = StopSignals()
    previous = {signum: signal.signal(signum, stop.handle) for signum in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class ServerErrors:
    """Copies the server's error output (``stream``, its stderr) to this process's stderr as
    it comes, in a thread, except from uvicorn's bind failure on (a line of ``failures``,
    :func:`bind_failures`, before uvicorn says it is running): those lines (the bind error and
    MLflow's traceback of the server's exit) are held back, and printed only if the server
    does not end on them (:meth:`finish`) or more than :data:`HELD_LINES` follow."""

    def __init__(self, stream: IO[bytes], failures: frozenset[bytes]) -> None:
        self.held: list[bytes] | None = None
        self._failures = failures
        self._running = False
        self._stream = stream
        self._thread = threading.Thread(target=self._copy, name="gdlab-serve-stderr",
                                        daemon=True)
        self._thread.start()

    def _write(self, lines: list[bytes]) -> None:
        sys.stderr.write(b"".join(lines).decode(errors="replace"))
        sys.stderr.flush()

    def _copy(self) -> None:
        for line in iter(self._stream.readline, b""):
            if self.held is None and not self._running and \
                    line.rstrip(b"\r\n") in self._failures:
                self.held = [line]
            elif self.held is not None:
                self.held.append(line)
                if len(self.held) > HELD_LINES:  # it went on: no bind failure
                    self._write(self.held)
                    self.held = None
            else:
                self._running = self._running or _RUNNING in line
                self._write([line])
        self._stream.close()

    def finish(self, failed: bool) -> bool:
        """After the server's exit (``failed``: with an error status, not stopped): whether it
        failed on its address in use. Otherwise the lines held back are printed."""
        self._thread.join(timeout=STOP_GRACE)
        held, self.held = self.held, None
        if failed and held:
            return True
        if held:
            self._write(held)
        return False


def run_server(command: list[str], stop: StopSignals,
               failures: frozenset[bytes] = frozenset()) -> int:
    """Run ``command`` until it exits, ``stop`` handling the stop signals; returns its exit
    status, 0 when it was stopped by a SIGINT, SIGTERM or SIGHUP to this process (recorded
    before it started, too). Such a signal sends it SIGTERM (not SIGINT, which a child started
    in the background ignores: MLflow's CLI dies, its ``uvicorn`` stops on the SIGTERM MLflow
    set for its parent's death); it is killed if it has not exited ``STOP_GRACE`` seconds
    later. It gets SIGTERM too when this process dies (Linux). Raises :class:`AddressInUse`
    when it exited on a bind failure of ``failures`` (:func:`bind_failures`): its address was
    taken after :func:`check_port` found it free."""
    stop.check()
    server = subprocess.Popen(command, env=serving_env(), stderr=subprocess.PIPE,
                              preexec_fn=stop_with_parent(os.getpid()))
    stop.server = server
    if stop.signum is not None:  # it came while the server was being started
        server.terminate()
    errors = ServerErrors(server.stderr, failures)
    while True:
        try:
            status = server.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > stop.deadline:
                server.kill()
    stopped = stop.signum is not None
    if errors.finish(failed=status != 0 and not stopped):
        raise AddressInUse(command)
    return 0 if stopped else status


def tracking_setup(params_file: str | None) -> tuple[str | None, list[str]]:
    """The model name params.yaml registers and its plug-in import paths (None and none
    without a params file); the tracking URI of its ``tracking.uri`` (else
    ``MLFLOW_TRACKING_URI``, else the project's ``mlflow.db``) set for MLflow."""
    import mlflow

    from gdlab.tracking.safety import install_redaction
    from gdlab.tracking.uri import configure_client_env, resolve_tracking_uri

    name, plugins, configured = None, [], None
    if params_file is not None:
        from gdlab.config import load_params
        from gdlab.config.plugin_path import import_paths

        params = load_params(params_file)
        name, plugins, configured = (params.register.model_name, import_paths(params),
                                     params.tracking.uri)
    uri = resolve_tracking_uri(configured)
    install_redaction(uri)
    configure_client_env(uri)
    mlflow.set_tracking_uri(uri)
    return name, plugins


def starting_line(version: Any, host: str, port: int, model_uri: str) -> str:
    """The line ``gdlab serve`` prints as the server starts; a ``models:/<name>@<alias>`` URI
    was resolved once, now (moving the alias later does not change what this server serves),
    a version number or a logged model's id names one model for good."""
    address = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL: RFC 3986
    line = f"gdlab serve: starting {version} on http://{address}:{port}/invocations"
    if "@" in model_uri:
        line += " (the alias was resolved now: restart after moving it)"
    return line


def serve(model_uri: str | None, host: str, port: int, *, allow_remote: bool = False,
          params_file: str | None = None, workers: int = 1) -> int:
    """``gdlab serve``: check the host and the port, read ``params_file`` (default
    ``params.yaml``, which alone may be absent when ``model_uri`` is given), resolve
    ``model_uri`` (default ``models:/<register.model_name>@champion``) once, load its skops
    file with gdlab's loader, save it locally and serve it; returns the exit status. Errors:
    one line, status 1."""
    from gdlab.config import ConfigError
    from gdlab.tracking.registered import load_version, resolve_version, serving_metadata
    from gdlab.tracking.safety import TrackingUnavailable

    try:
        check_host(host, allow_remote)
        check_port(host, port)
        if params_file is not None and not Path(params_file).is_file():
            raise ValueError(f"--params {params_file!r}: no such file")
        if params_file is None and (Path(DEFAULT_PARAMS).exists() or model_uri is None):
            params_file = DEFAULT_PARAMS
        name, plugins = tracking_setup(params_file)
        model_uri = model_uri or f"models:/{name}@champion"
        version = resolve_version(model_uri)
        pipeline = load_version(version, plugins)
        signature, metadata = serving_metadata(version, pipeline)
    except (ConfigError, TrackingUnavailable, ValueError) as exc:
        print(f"gdlab serve: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - MLflow's store errors: one line, named
        import mlflow

        from gdlab.tracking.uri import redact_text

        text = redact_text(" ".join(str(exc).split()), mlflow.get_tracking_uri())
        first = text[:300] or type(exc).__name__
        print(f"gdlab serve: cannot read {model_uri}: {first}", file=sys.stderr)
        return 1
    with stop_signals() as stop:
        remove_stale_copies()
        directory = make_copy_directory()
        try:
            with stop.interruptible():
                model_dir = directory / "model"
                save_for_serving(pipeline, model_dir, signature, metadata, plugins)
            print(starting_line(version, host, port, model_uri), flush=True)
            return run_server(serve_command(model_dir, host, port, workers), stop,
                              bind_failures(host, port, workers))
        except Stopped as stopped:
            print(f"gdlab serve: stopped by {signal.Signals(stopped.signum).name} before the "
                  "server started", file=sys.stderr)
            return 0
        except AddressInUse:
            print(f"gdlab serve: {port_in_use(host, port)}", file=sys.stderr)
            return 1
        finally:
            shutil.rmtree(directory, ignore_errors=True)

"""The parallel backend of a stage, chosen by ``params.parallel``: joblib on local cores, or
an existing Dask cluster.

gdlab's parallel work (CV folds, tuning trials, comparison variants) is written once, with
``joblib.Parallel``. This module only decides where that work goes::

    with parallel_backend(params.parallel):
        result = run_training(params, X, y)      # folds run on the Dask workers

``backend: joblib`` changes nothing (joblib's own default, loky worker processes, with the
``n_jobs`` of each section). ``backend: dask`` connects a ``dask.distributed.Client`` to
``parallel.scheduler`` and activates joblib's Dask backend
(``joblib.parallel_config(backend="dask")``), so every ``Parallel`` call inside the block is
scheduled on the cluster's workers; with ``scheduler: null`` a throw-away ``LocalCluster``
on 127.0.0.1 (TLS with throw-away certificates) is started for the block. Results travel
back to this process, which alone logs them, so a tracking store is never written by
several processes.

The results do not depend on the backend: each task is seeded by its own arguments (fold
indices, trial number, ``seed``), never by the worker that runs it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BackendInfo", "ParallelUnavailable", "check_workers", "parallel_backend"]

CHECKED_PACKAGES = ("gdlab", "numpy", "scikit-learn", "scipy")
"""Compared between this process and every Dask worker: gdlab must match (a worker without
it cannot run the work, one with another version would train differently); the others are
warned about (their results may differ in the last bits)."""


class ParallelUnavailable(RuntimeError):
    """The configured backend cannot be used (Dask missing, scheduler unreachable)."""


@dataclass(frozen=True)
class BackendInfo:
    """What a :func:`parallel_backend` block runs on."""

    backend: str  # "joblib" | "dask"
    scheduler: str | None = None  # the scheduler's address (dask)
    n_workers: int | None = None  # workers connected when the block started (dask)
    local_cluster: bool = False  # True when this block started its own LocalCluster
    n_threads: int | None = None  # their threads in all: joblib's n_jobs on the cluster

    def describe(self) -> str:
        if self.backend != "dask":
            return "joblib (local worker processes)"
        where = "local cluster " if self.local_cluster else ""
        size = f"{_count(self.n_workers, 'worker')}"
        if self.n_threads is not None:
            size += f", {_count(self.n_threads, 'thread')}"
            if self.n_threads < 2:  # joblib then takes its sequential backend: nothing goes out
                size += (": joblib runs the work here in the stage's process, one task at a "
                         "time; give the workers more threads (dask worker --nthreads) or "
                         "start more workers")
        return f"dask {where}{self.scheduler} ({size})"


def _count(n: int | None, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _setting(config: Any, name: str, default: Any) -> Any:
    if config is None:
        return default
    if isinstance(config, dict):
        return config.get(name, default)
    return getattr(config, name, default)


def check_workers(versions: dict[str, Any], code: dict[str, Any] | None = None) -> None:
    """Refuse a cluster whose workers lack this process's gdlab or run other gdlab code
    (``ParallelUnavailable`` naming them and what is wrong) and warn when their numpy,
    scikit-learn or scipy differ. ``versions`` is ``dask.distributed.Client.get_versions(
    packages=CHECKED_PACKAGES)``; ``code`` is ``{"client": running_code(plugins), "workers":
    {address: the worker's running_code(plugins), or the exception running it raised}}`` (see
    :mod:`gdlab.running_code`): version strings cannot tell two checkouts apart."""
    ours = (versions.get("client") or {}).get("packages") or {}
    theirs = {
        address: (info or {}).get("packages") or {}
        for address, info in (versions.get("workers") or {}).items()
    }
    for package in CHECKED_PACKAGES:
        mine = ours.get(package)
        differ = {a: p.get(package) for a, p in theirs.items() if p.get(package) != mine}
        if not differ:
            continue
        listed = ", ".join(f"{a} has {v or 'none'}" for a, v in sorted(differ.items())[:5])
        more = f" and {len(differ) - 5} more" if len(differ) > 5 else ""
        if package == "gdlab":
            raise ParallelUnavailable(
                f"Dask workers must run this gdlab ({mine}): {listed}{more}; "
                "install the project on every worker (`pip install -e .` from the same "
                "commit) and restart them"
            )
        warnings.warn(
            f"Dask workers run another {package} than this process ({mine}): "
            f"{listed}{more}; results may differ in the last bits from a local run",
            stacklevel=2,
        )
    if code is not None:
        _check_code(code.get("client") or {}, code.get("workers") or {})


def _check_code(ours: dict[str, Any], answers: dict[str, Any]) -> None:
    """Refuse workers whose gdlab (or plug-in) code is not this process's."""
    if ours.get("edited"):
        raise ParallelUnavailable(
            f"the code changed after this stage started: {_files(ours['edited'])} "
            "differ from what it imported; run the stage again"
        )
    problems = {}
    involved: set[str] = set()  # "gdlab" and the plug-in modules the problems concern
    for address, answer in sorted(answers.items()):
        if not (isinstance(answer, dict) and isinstance(answer.get("code"), dict)):
            why = f"{type(answer).__name__}: {answer}" if isinstance(answer, BaseException) \
                else repr(answer)
            problems[address] = f"cannot report its code, another gdlab ({why})"
            involved.add("gdlab")
        elif answer.get("edited"):
            problems[address] = (f"imported its code before {_files(answer['edited'])} "
                                 "changed (a running process keeps the modules it imported)")
            involved |= {_top_name(f) for f in answer["edited"]}
        elif answer["code"] != ours.get("code"):
            mine = ours.get("code") or {}
            other = sorted(k for k in mine if answer["code"].get(k) != mine[k])
            missing = [k for k in other if answer["code"].get(k) is None]
            other = [k for k in other if k not in missing] or ([] if missing else ["gdlab"])
            problems[address] = " and ".join(
                [f"runs other {' and '.join(other)} code"] * bool(other)
                + [f"cannot import the plug-in {' and '.join(missing)}"] * bool(missing))
            involved |= {*other, *missing}
    if not problems:
        return
    listed = "; ".join(f"{a} {why}" for a, why in list(problems.items())[:5])
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    raise ParallelUnavailable(
        f"Dask workers must run this checkout's code: {listed}{more}; restart them with "
        f"{_worker_path(involved)} on their PYTHONPATH (stop and start `dask worker`, or "
        "`Client(scheduler).restart()` for workers under a nanny)"
    )


def _worker_path(involved: set[str]) -> str:
    """What the workers' PYTHONPATH must hold for the code ``involved`` (``"gdlab"``, plug-in
    modules or the top-level names of edited files): this checkout's src for gdlab, the
    project directory, where this process found the plug-in's package, for a plug-in."""
    parts = ["this checkout's src"] if "gdlab" in involved or not involved else []
    homes: dict[str, list[str]] = {}
    for top in sorted({m.split(".", 1)[0] for m in involved} - {"gdlab"}):
        home = _package_home(top)
        homes.setdefault(home or "", []).append(top)
    for home, tops in sorted(homes.items()):
        where = f"{home}, " if home else ""
        parts.append(f"the project directory ({where}where the plug-in package "
                     f"{' and '.join(tops)} lives)")
    return " and ".join(parts)


def _top_name(file: str) -> str:
    """The top-level module an edited file (``gdlab/core/loop.py``, ``my_plugins.py``) is
    code of."""
    top = Path(file).as_posix().split("/", 1)[0]
    return top.removesuffix(".py")


def _package_home(top: str) -> str | None:
    """The directory this process imports the top-level module or package ``top`` from."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    origin = locations[0] if locations else spec.origin
    return str(Path(origin).resolve().parent) if origin and origin != "built-in" else None


def _files(paths: list[str]) -> str:
    names = [Path(p).as_posix().rpartition("/src/")[2] or p for p in paths[:3]]
    return ", ".join(names) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


@contextlib.contextmanager
def parallel_backend(config: Any = None, plugins: Sequence[str] = ()) -> Iterator[BackendInfo]:
    """Run the joblib work inside the block on the backend that ``config`` names.

    ``config`` is ``params.parallel`` (a :class:`~gdlab.config.sections.parallel.ParallelConfig`),
    a dict with the same keys, or None (joblib); ``plugins`` the plug-in import paths the
    work uses (:func:`gdlab.config.plugin_path.import_paths` of the params), whose code the
    workers must share with this process like gdlab's. Yields a :class:`BackendInfo`. Raises
    :class:`ParallelUnavailable` when Dask is not installed, the scheduler does not answer
    within ``parallel.timeout`` seconds, a worker lacks this gdlab or runs other gdlab or
    plug-in code (:func:`check_workers`) or
    the scheduler is lost while the block's work runs; ValueError for an unauthenticated
    (tcp://, ws://, ucx://) scheduler on another machine without ``allow_insecure_remote``.
    """
    backend = _setting(config, "backend", "joblib")
    if backend == "joblib":
        yield BackendInfo("joblib")
        return
    if backend != "dask":
        raise ValueError(f"parallel.backend must be joblib or dask, got {backend!r}")
    try:
        import joblib
        from dask.distributed import Client, LocalCluster
        from distributed.client import FutureCancelledError
    except ImportError as exc:  # pragma: no cover - dask is a dependency of gdlab
        raise ParallelUnavailable(
            "parallel.backend is dask but dask.distributed is not installed "
            "(pip install 'dask[distributed]')"
        ) from exc
    timeout = float(_setting(config, "timeout", 30.0))
    scheduler = _setting(config, "scheduler", None)
    if scheduler is not None and not _setting(config, "allow_insecure_remote", False):
        from gdlab.config.sections.parallel import insecure_problem, insecure_remote

        if insecure_remote(scheduler):  # a dict config is not validated by the schema
            raise ValueError(f"parallel.{insecure_problem(scheduler)}")
    with contextlib.ExitStack() as stack:
        clients: list[Any] = []  # filled below; the filter outlives the client's closing
        stack.enter_context(_quiet_once_lost(clients))
        cluster = None
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=int(_setting(config, "n_workers", 2)),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # TLS with throw-away certificates: on 127.0.0.1 any other local user
                    # could otherwise connect and have the workers run (unpickle) their tasks
                    security=True,
                )
            )
            scheduler = cluster.scheduler_address
        try:
            client = stack.enter_context(
                Client(
                    scheduler,
                    timeout=f"{timeout}s",
                    set_as_default=False,
                    security=cluster.security if cluster is not None else None,
                )
            )
        except OSError as exc:
            raise ParallelUnavailable(
                f"parallel.scheduler {scheduler} did not answer within {timeout:g}s "
                f"({type(exc).__name__}: {exc}); start it with `dask scheduler` and workers "
                "with `dask worker <address>`, or set parallel.backend: joblib"
            ) from exc
        clients.append(client)
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception as exc:  # dask raises its own TimeoutError
            raise ParallelUnavailable(
                f"no Dask worker joined {scheduler} within {timeout:g}s; start one with "
                f"`dask worker {scheduler}`"
            ) from exc
        check_workers(client.get_versions(packages=list(CHECKED_PACKAGES)),
                      _code_of(client, plugins))
        info = BackendInfo(
            "dask",
            scheduler=scheduler,
            n_workers=len(client.nthreads()),
            local_cluster=cluster is not None,
            n_threads=sum(client.nthreads().values()),
        )
        lost = (
            f"lost the Dask scheduler {scheduler} while its workers ran this stage's work "
            "(it stopped or the network failed); nothing of the stage was written: restart "
            "the scheduler and run the stage again, or set parallel.backend: joblib"
        )
        stack.enter_context(
            joblib.parallel_config(backend=_watched_backend(client, timeout, lost))
        )
        logging.getLogger("distributed").setLevel(logging.WARNING)
        try:
            yield info
        except FutureCancelledError as exc:
            if exc.reason != "scheduler-connection-lost":
                raise
            raise ParallelUnavailable(lost) from exc
        if _lost(client):  # the block's code swallowed the failure: its results are partial
            raise ParallelUnavailable(lost)


def _lost(client: Any) -> bool:
    """The client no longer talks to its scheduler (reconnecting, or closed after failing
    to)."""
    return client.status != "running"


def _watched_backend(client: Any, timeout: float, lost: str) -> Any:
    """joblib's Dask backend on ``client``, refusing work once the client lost its
    scheduler: ``ParallelUnavailable(lost)`` at the next ``Parallel`` call or batch.

    joblib's own backend asks the client for the workers' cores before every call; once the
    scheduler is gone that answer blocks until the client gives up reconnecting, then fails
    with whatever distributed raises (``CommClosedError``, ``RuntimeError``, ...) or, with no
    core left, has the call run in this process, one task at a time."""
    from joblib._dask import DaskDistributedBackend

    class WatchedDaskBackend(DaskDistributedBackend):
        def _check(self) -> None:
            if _lost(self.client):
                raise ParallelUnavailable(lost)

        def effective_n_jobs(self, n_jobs: int) -> int:
            self._check()
            try:
                n = super().effective_n_jobs(n_jobs)
            except Exception as exc:
                if _lost(self.client):
                    raise ParallelUnavailable(lost) from exc
                raise
            self._check()  # an answer given while losing it (0 or 1: run here)
            return n

        def submit(self, func: Any, callback: Any = None) -> Any:
            self._check()
            return super().submit(func, callback)

        @contextlib.contextmanager
        def retrieval_context(self) -> Iterator[None]:
            self._check()
            with super().retrieval_context():
                yield

    return WatchedDaskBackend(client=client, wait_for_workers_timeout=timeout)


@contextlib.contextmanager
def _quiet_once_lost(clients: list[Any]) -> Iterator[None]:
    """Drop distributed's reconnection dumps (``distributed.client`` errors with their
    tracebacks, tornado's report of a result the lost connection could not fetch) while the
    block runs: the block ends with :class:`ParallelUnavailable` naming the scheduler
    instead."""
    from distributed.comm.core import CommClosedError

    def keep_client(record: logging.LogRecord) -> bool:
        return not any(_lost(client) for client in clients)

    def keep_tornado(record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, CommClosedError)

    loggers = [(logging.getLogger("distributed.client"), keep_client),
               (logging.getLogger("tornado.application"), keep_tornado)]
    for logger, keep in loggers:
        logger.addFilter(keep)
    try:
        yield
    finally:
        for logger, keep in loggers:
            logger.removeFilter(keep)


def _code_of(client: Any, plugins: Sequence[str]) -> dict[str, Any]:
    """This process's and every worker's :func:`~gdlab.running_code.running_code`; a worker
    that cannot import it (no gdlab, an older one) answers with the exception."""
    from gdlab.running_code import running_code

    return {
        "client": running_code(plugins),
        "workers": client.run(running_code, list(plugins), on_error="return"),
    }

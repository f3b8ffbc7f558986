"""``parallel:`` — where the parallel work (CV folds, tuning trials, comparison variants) runs.

``backend: joblib`` (the default) runs it in worker processes on this machine (``cv.n_jobs``,
``tune.n_jobs``). ``backend: dask`` sends the same joblib work to a Dask cluster people already
run (``dask scheduler`` / ``dask worker``, or any deployment of ``dask.distributed``):
``scheduler: tls://host:8786``. Workers only compute and return results; the stage process
logs them, so the tracking store is never written by several processes.

Trust boundary: Dask ships tasks and results as pickles, so whoever controls the scheduler or
a worker, or can reach them, can run code on the workers and in the stage's process.
``tcp://``, ``ws://`` and ``ucx://`` are neither encrypted nor authenticated: such an address
is accepted on a loopback host only, unless ``allow_insecure_remote: true`` says the network
is trusted; other machines are reached over ``tls://`` / ``wss://`` (certificates in Dask's
configuration, ``distributed.comm.tls``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gdlab.config.base import Section
from gdlab.config.errors import Problem, did_you_mean, raise_problems
from gdlab.urls import is_loopback

SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")
"""Address schemes of a dask.distributed scheduler."""
PLAIN_SCHEMES = ("tcp", "ucx", "ws")
"""Schemes that neither encrypt nor authenticate: loopback only, unless allowed."""

_ADDRESS = re.compile(r"^(?P<scheme>[a-z]+)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):\d{1,5}$")


DEFAULT_PORT = 8786
"""The port a Dask scheduler listens on unless told otherwise."""


def _why_not(value: str) -> str:
    """What keeps ``value`` from being a ``scheme://host:port`` address, when it can be told: a
    misspelt scheme, no scheme, no port ("" otherwise)."""
    scheme, separator, rest = value.partition("://")
    if not separator:  # '10.0.0.5:8786': the scheme is missing
        port = "" if re.search(r":\d{1,5}$", value) else f":{DEFAULT_PORT}"
        return f": no scheme, e.g. 'tls://{value}{port}' (or tcp:// for one on this machine)"
    if scheme not in SCHEDULER_SCHEMES:
        return f": unknown scheme {scheme!r}{did_you_mean(scheme.lower(), SCHEDULER_SCHEMES)}"
    if rest and not re.search(r":\d{1,5}$", rest):
        return f": no port (a scheduler listens on {DEFAULT_PORT} unless told otherwise: " \
            f"'{value}:{DEFAULT_PORT}')"
    return ""


class ParallelConfig(Section):
    """Parallel backend for CV folds, tuning trials and comparisons: joblib or a Dask cluster."""

    backend: Literal["joblib", "dask"] = Field(
        "joblib",
        description="joblib = this machine's cores (cv.n_jobs, tune.n_jobs; threads or worker "
        "processes); "
        "dask = the same work on a Dask cluster (parallel.scheduler)",
    )
    scheduler: str | None = Field(
        None,
        min_length=1,
        description="dask: address of the running scheduler, e.g. tls://10.0.0.5:8786; null = "
        "start a throw-away local Dask cluster of n_workers processes for the stage. Dask "
        "ships pickled tasks and results: the scheduler, its workers and whoever reaches them "
        "can run code here. tcp://, ws:// and ucx:// are unauthenticated and unencrypted, so "
        "they are refused on a host other than loopback unless allow_insecure_remote is true; "
        "use tls:// or wss:// with certificates (Dask's distributed.comm.tls config)",
        json_schema_extra={
            "x-allowed": "null or " + " | ".join(f"{s}://host:port" for s in SCHEDULER_SCHEMES)
        },
    )
    n_workers: int = Field(
        2,
        ge=1,
        le=256,
        description="dask with scheduler null: worker processes of the local cluster",
    )
    allow_insecure_remote: bool = Field(
        False,
        description="accept a tcp://, ws:// or ucx:// scheduler on another machine: only on a "
        "network where everyone who can reach the scheduler and its workers is trusted to run "
        "code in this process",
    )
    timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="dask: seconds to wait for the scheduler to answer and for a worker to join",
    )

    @field_validator("scheduler")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = _ADDRESS.match(value)
        if match is None or match["scheme"] not in SCHEDULER_SCHEMES:
            raise_problems(
                [
                    Problem(
                        "",
                        f"{value!r} is not a Dask scheduler address{_why_not(value)}",
                        " | ".join(f"{s}://host:port" for s in SCHEDULER_SCHEMES),
                    )
                ]
            )
        return value

    @model_validator(mode="after")
    def _trusted_network(self) -> ParallelConfig:
        if (
            self.scheduler is not None
            and insecure_remote(self.scheduler)
            and not self.allow_insecure_remote
        ):
            raise_problems([insecure_problem(self.scheduler)])
        return self


def insecure_remote(address: str) -> bool:
    """Whether ``address`` is an unauthenticated scheduler (tcp://, ws://, ucx://) on a host
    that is not a loopback address."""
    match = _ADDRESS.match(address)
    return match is not None and match["scheme"] in PLAIN_SCHEMES and not is_loopback(
        match["host"]
    )


def insecure_problem(address: str) -> Problem:
    """The problem reported for an unauthenticated scheduler on another machine."""
    scheme = address.split("://", 1)[0]
    return Problem(
        "scheduler",
        f"{address!r}: {scheme}:// is neither authenticated nor encrypted and Dask ships "
        "pickled tasks and results, so anyone who can reach the scheduler or its workers can "
        "run code on them and in this process",
        "tls://host:port or wss://host:port (certificates in Dask's distributed.comm.tls "
        "config), a loopback address (127.0.0.1), or parallel.allow_insecure_remote: true on "
        "a network you trust",
    )

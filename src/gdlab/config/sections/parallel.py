"""``parallel:`` — where the parallel work (CV folds, tuning trials, comparison variants) runs.

``backend: joblib`` (the default) runs it in worker processes on this machine (``cv.n_jobs``,
``tune.n_jobs``). ``backend: dask`` sends the same joblib work to a Dask cluster people already
run (``dask scheduler`` / ``dask worker``, or any deployment of ``dask.distributed``):
``scheduler: tcp://host:8786``. Workers only compute and return results; the stage process
logs them, so the tracking store is never written by several processes.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from gdlab.config.base import Section
from gdlab.config.errors import Problem, raise_problems

SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")
"""Address schemes of a dask.distributed scheduler."""

_ADDRESS = re.compile(r"^(?P<scheme>[a-z]+)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):\d{1,5}$")


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
        description="dask: address of the running scheduler, e.g. tcp://10.0.0.5:8786; null = "
        "start a throw-away local Dask cluster of n_workers processes for the stage",
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
                        f"{value!r} is not a Dask scheduler address",
                        " | ".join(f"{s}://host:port" for s in SCHEDULER_SCHEMES),
                    )
                ]
            )
        return value

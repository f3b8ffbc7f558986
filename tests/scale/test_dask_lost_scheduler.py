"""A Dask scheduler lost between two batches of a stage's joblib work (a ``kill -9`` of
``dask scheduler``): the next ``Parallel`` call ends the :func:`parallel_backend` block with
the one "lost the Dask scheduler" line, instead of distributed's reconnection dumps and a
``CommClosedError`` (or, with no worker core left, the rest of the work quietly run in the
stage's own process). The scheduler is a process of its own, killed for real."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dask import distributed
from joblib import Parallel, delayed

import gdlab
from gdlab.parallel import ParallelUnavailable, parallel_backend


@pytest.fixture
def scheduler(free_port) -> Iterator[tuple[str, subprocess.Popen]]:
    """``dask scheduler`` and two single-threaded ``dask worker`` processes on 127.0.0.1,
    the workers running this checkout's gdlab."""
    address = f"tcp://127.0.0.1:{free_port}"
    env = {**os.environ, "PYTHONPATH": str(Path(gdlab.__file__).resolve().parents[1])}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port",
                                   str(free_port), "--no-dashboard"], **quiet)]
    try:
        processes += [
            subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--no-nanny",
                              "--no-dashboard", "--host", "127.0.0.1"], **quiet)
            for _ in range(2)
        ]
        with distributed.Client(address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, processes[0]
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_a_scheduler_lost_between_batches_ends_the_block_with_one_line(scheduler, capfd):
    address, process = scheduler
    here = os.getpid()
    after_loss: list[int] = []  # the processes that ran tasks once the scheduler was gone
    with pytest.raises(ParallelUnavailable) as lost:
        with parallel_backend({"backend": "dask", "scheduler": address, "timeout": 5.0}):
            first = Parallel(n_jobs=2, batch_size=1)(delayed(os.getpid)() for _ in range(4))
            assert here not in first  # the cluster ran the first batches
            process.kill()
            process.wait()
            for _ in range(3):  # the stage's next batches
                after_loss += Parallel(n_jobs=2, batch_size=1)(
                    delayed(os.getpid)() for _ in range(4))
    assert str(lost.value).startswith(f"lost the Dask scheduler {address} while its workers "
                                      "ran this stage's work")
    assert after_loss == []  # nothing ran, here or elsewhere, without the scheduler
    assert "Traceback" not in capfd.readouterr().err  # no reconnection dump from distributed

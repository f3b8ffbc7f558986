"""A real ``dask worker`` (under its nanny) started with another checkout's ``src`` on its
PYTHONPATH, as a reviewer found: same gdlab version, one line changed in
gdlab/experiment/cv.py. The stage refuses it, keeps refusing after the checkout is put back
(the worker still runs the code it imported), and accepts it once restarted; a worker that
imported gdlab before its files changed is refused too."""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dask import distributed

import gdlab
from gdlab.parallel import ParallelUnavailable, parallel_backend

RESTART = r"restart them with this checkout's src on their PYTHONPATH"


@pytest.fixture()
def other_checkout(tmp_path):
    """A copy of this checkout's gdlab whose cv.py has one line more."""
    src = tmp_path / "src"
    shutil.copytree(Path(gdlab.__file__).parent, src / "gdlab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    cv = src / "gdlab" / "experiment" / "cv.py"
    original = cv.read_bytes()
    return src, cv, original


@pytest.fixture()
def worker_on(other_checkout):
    """A scheduler here and one ``dask worker`` process importing gdlab from the copy."""
    src, _, _ = other_checkout
    environ = dict(os.environ)
    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as local:
        env = {**environ, "PYTHONPATH": str(src)}
        dask = Path(sys.executable).with_name("dask")
        worker = subprocess.Popen(
            [str(dask), "worker", local.scheduler_address, "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            with distributed.Client(local, set_as_default=False) as client:
                client.wait_for_workers(1, timeout=120)
                yield local, client
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    os.environ.clear()
    os.environ.update(environ)


def _address(client) -> str:
    (address,) = client.scheduler_info()["workers"]
    return address


def test_a_worker_running_another_checkout_is_refused_until_restarted(other_checkout,
                                                                     worker_on):
    _, cv, original = other_checkout
    local, client = worker_on
    config = {"backend": "dask", "scheduler": local.scheduler_address, "timeout": 60.0}

    cv.write_bytes(original + b"\nCHANGED = True\n")
    # the worker runs the edited module (not a guess: it imported it from the copy)
    assert list(client.run(importlib.import_module, "gdlab.experiment.cv").values())
    assert client.run(lambda: sys.modules["gdlab.experiment.cv"].CHANGED) == {
        _address(client): True}
    with pytest.raises(ParallelUnavailable, match=(
            rf"run this checkout's code: {_address(client)} runs other gdlab code; {RESTART}")):
        with parallel_backend(config):
            pass

    # the checkout is put back; the worker process still has the edited module in memory
    cv.write_bytes(original)
    with pytest.raises(ParallelUnavailable, match=(
            f"{_address(client)} imported its code before gdlab/experiment/cv.py changed")):
        with parallel_backend(config):
            pass

    client.restart()  # the nanny starts a fresh worker process: it imports the files as they are
    client.wait_for_workers(1, timeout=120)
    with parallel_backend(config) as info:
        assert info.n_workers == 1


def test_a_worker_that_imported_gdlab_before_an_edit_is_refused(other_checkout, worker_on):
    """The worker imported gdlab (and cv.py, edited) before any stage asked it; the files are
    then made equal to this checkout's: the files match, its code does not (it answers with
    the code it read at ``import gdlab``)."""
    _, cv, original = other_checkout
    local, client = worker_on
    config = {"backend": "dask", "scheduler": local.scheduler_address, "timeout": 60.0}

    cv.write_bytes(original + b"\nCHANGED = True\n")
    client.run(importlib.import_module, "gdlab.experiment.cv")
    cv.write_bytes(original)
    with pytest.raises(ParallelUnavailable, match=(
            rf"{_address(client)} imported its code before gdlab/experiment/cv.py changed \(a "
            rf"running process keeps the modules it imported\); {RESTART}")):
        with parallel_backend(config):
            pass


def test_a_worker_whose_files_were_only_touched_is_accepted(other_checkout, worker_on):
    """An editor saving unchanged, ``touch`` or a ``git checkout`` there and back: newer
    timestamps, the same code (the reviewer's long-running worker, refused before)."""
    src, _, _ = other_checkout
    local, client = worker_on
    config = {"backend": "dask", "scheduler": local.scheduler_address, "timeout": 60.0}

    client.run(importlib.import_module, "gdlab.core.loop")  # a worker that ran a stage
    loop = src / "gdlab" / "core" / "loop.py"
    later = loop.stat().st_mtime_ns + 2 * 10**9
    os.utime(loop, ns=(later, later))
    with parallel_backend(config) as info:
        assert info.n_workers == 1

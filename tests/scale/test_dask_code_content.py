"""The code check compares content, not timestamps: a process that imported gdlab (or was
asked about a plug-in) keeps answering with the code it read then; a file touched, saved
unchanged or checked out there and back does not refuse it or the stage, a content edit
does, and an LF and a CRLF checkout of the same commit give the same digest.

Each "process" is a real Python process importing gdlab from a copy of this checkout's
package (as a long-running Dask worker or a stage would) and answering
:func:`gdlab.running_code.running_code` on request; :func:`gdlab.parallel.check_workers`
then judges its answer as the worker's, or as the stage's own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gdlab
from gdlab.parallel import ParallelUnavailable, check_workers
from gdlab.running_code import running_code

RESPOND = """
import importlib, json, sys
import gdlab, gdlab.core.loop  # a process that has run a stage: the engine is loaded
plugins = sys.argv[1:]
from gdlab.running_code import running_code
if plugins:
    running_code(plugins)  # a stage asked it, then ran its tasks
for plugin in plugins:
    importlib.import_module(plugin.partition(":")[0])
print("ready", flush=True)
for line in sys.stdin:
    print(json.dumps(running_code(plugins)), flush=True)
"""
PLUGIN = "labplug.opt:make"


class Process:
    """A Python process that imported gdlab from ``src``; :meth:`ask` is its answer now."""

    def __init__(self, src: Path, plugins: tuple[str, ...] = ()) -> None:
        env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{src.parent / 'plug'}"}
        self.popen = subprocess.Popen([sys.executable, "-c", RESPOND, *plugins], env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.popen.stdout.readline() == "ready\n"

    def ask(self) -> dict:
        self.popen.stdin.write("\n")
        self.popen.stdin.flush()
        return json.loads(self.popen.stdout.readline())

    def close(self) -> None:
        self.popen.stdin.close()
        self.popen.wait(timeout=60)


@pytest.fixture()
def copy(tmp_path):
    """A copy of this checkout's gdlab (``src/gdlab``) and a plug-in package (``plug``)."""
    src = tmp_path / "src"
    shutil.copytree(Path(gdlab.__file__).parent, src / "gdlab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    plug = tmp_path / "plug" / "labplug"
    plug.mkdir(parents=True)
    (plug / "__init__.py").write_text("")
    (plug / "opt.py").write_text("def make():\n    return None\n")
    return src


@pytest.fixture()
def process(copy):
    started = []

    def start(*plugins: str) -> Process:
        started.append(Process(copy, plugins))
        return started[-1]

    yield start
    for each in started:
        each.close()


def _touch(path: Path) -> None:
    """What an editor saving unchanged or ``git checkout`` there and back does: the same
    bytes, newer timestamps (set ahead, so no timestamp granularity hides them)."""
    later = time.time_ns() + 2 * 10**9
    os.utime(path, ns=(later, later))


def _as_worker(answer: dict, client: dict | None = None) -> None:
    """Judge ``answer`` as a worker's, by ``client`` (this process's gdlab by default)."""
    client = client or running_code()
    check_workers({}, {"client": client, "workers": {"tcp://w:1": answer}})


def _as_stage(answer: dict) -> None:
    check_workers({}, {"client": answer, "workers": {}})


def test_a_touched_or_restored_file_refuses_neither_worker_nor_stage(copy, process):
    plugged = process(PLUGIN)
    loop, opt = copy / "gdlab" / "core" / "loop.py", copy.parent / "plug" / "labplug" / "opt.py"
    _touch(loop)
    _touch(opt)
    original = loop.read_bytes()  # git stash and pop: other bytes a while, then the same
    loop.write_bytes(original + b"\nSTASHED = True\n")
    loop.write_bytes(original)
    _touch(loop)

    answer = plugged.ask()
    assert answer["edited"] == []
    _as_worker(answer, client=process(PLUGIN).ask())  # a stage started now
    _as_stage(answer)


def test_a_content_edit_after_import_refuses_the_worker_and_the_stage(copy, process):
    """The process imported gdlab, then loop.py changed, then it is first asked: it answers
    with the code it imported, not the files', and names the file."""
    worker = process()
    loop = copy / "gdlab" / "core" / "loop.py"
    loop.write_bytes(loop.read_bytes() + b"\nEDITED = True\n")

    answer = worker.ask()
    assert answer["code"] == running_code()["code"]  # the code it runs, not the new files
    assert answer["edited"] == ["gdlab/core/loop.py"]
    with pytest.raises(ParallelUnavailable, match=(
            r"tcp://w:1 imported its code before gdlab/core/loop.py changed \(a running "
            r"process keeps the modules it imported\); restart them")):
        _as_worker(answer)
    with pytest.raises(ParallelUnavailable, match=(
            "the code changed after this stage started: gdlab/core/loop.py differ from what "
            "it imported; run the stage again")):
        _as_stage(answer)

    fresh = process().ask()  # a process started after the edit runs the new code
    assert fresh["edited"] == [] and fresh["code"]["gdlab"] != answer["code"]["gdlab"]
    with pytest.raises(ParallelUnavailable, match="tcp://w:1 runs other gdlab code"):
        _as_worker(fresh)


def test_a_plugin_edited_after_it_was_asked_about_refuses_the_stage(copy, process):
    plugged = process(PLUGIN)
    before = plugged.ask()
    opt = copy.parent / "plug" / "labplug" / "opt.py"
    opt.write_text("def make():\n    return 1\n")

    answer = plugged.ask()
    assert answer["code"] == before["code"]
    assert answer["edited"] == ["labplug/opt.py"]
    with pytest.raises(ParallelUnavailable, match="labplug/opt.py differ from what it imp"):
        _as_stage(answer)


def test_a_crlf_checkout_of_the_same_commit_has_the_same_digest(copy, process):
    """git's core.autocrlf on the workers' machines: the same commit, other line endings."""
    lf = process(PLUGIN)
    before = lf.ask()
    for path in [*(copy / "gdlab").rglob("*.py"), *(copy.parent / "plug").rglob("*.py")]:
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    crlf = process(PLUGIN).ask()
    assert crlf["code"] == before["code"]
    assert crlf["code"]["gdlab"] == running_code()["code"]["gdlab"]  # this LF checkout
    _as_worker(crlf, client=before)
    assert lf.ask()["edited"] == []  # converting line endings is not an edit


def test_a_worker_without_the_plugin_is_told_to_put_the_project_directory_on_its_path(
    copy, monkeypatch
):
    """A worker that cannot import the plug-in (or runs an edited one) needs the directory
    holding the plug-in's package on its PYTHONPATH, not gdlab's src (it has that)."""
    project = copy.parent / "plug"
    monkeypatch.syspath_prepend(str(project))
    gdlab_code = running_code()["code"]["gdlab"]
    stage = {"code": {"gdlab": gdlab_code, "labplug.opt": "0123456789abcdef"}, "edited": []}
    lacking = {"code": {"gdlab": gdlab_code, "labplug.opt": None}, "edited": []}
    remedy = (f"restart them with the project directory ({project.resolve()}, where the "
              "plug-in package labplug lives) on their PYTHONPATH (")
    with pytest.raises(ParallelUnavailable) as refused:
        _as_worker(lacking, client=stage)
    assert "tcp://w:1 cannot import the plug-in labplug.opt; " + remedy in str(refused.value)
    assert "this checkout's src" not in str(refused.value)

    edited = {**stage, "edited": ["labplug/opt.py"]}
    with pytest.raises(ParallelUnavailable, match=re.escape(remedy)):
        _as_worker(edited, client=stage)
    other_gdlab = {"code": {"gdlab": "f" * 16, "labplug.opt": None}, "edited": []}
    with pytest.raises(ParallelUnavailable, match=re.escape(
            "restart them with this checkout's src and the project directory "
            f"({project.resolve()}, where the plug-in package labplug lives) on their")):
        _as_worker(other_gdlab, client=stage)

"""The model copies of ``gdlab serve`` (:mod:`gdlab.serve_copies`): the next ``gdlab serve``
removes the copy of a killed one on the same machine, and never a copy whose process id means
something else: one made on another host sharing the directory, or in another PID namespace
(a container sharing ``$TMPDIR``), whose ``gdlab serve`` may be running."""

from __future__ import annotations

import os
import subprocess
import sys

from gdlab.serve_copies import machine_id, make_copy_directory, remove_stale_copies
from tests.stage_env import REPO, stage_env


def dead_pid() -> int:
    """The process id of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_only_this_machines_copy_of_a_dead_process_is_removed(tmp_path):
    own = make_copy_directory(tmp_path)
    assert own.name.startswith(f"gdlab-serve-{machine_id()}-{os.getpid()}-")
    here, pid = machine_id(), dead_pid()
    other = format(int(here, 16) ^ 1, f"0{len(here)}x")  # another host or PID namespace
    stale = tmp_path / f"gdlab-serve-{here}-{pid}-stale"
    elsewhere = tmp_path / f"gdlab-serve-{other}-{pid}-elsewhere"
    unnamed = tmp_path / f"gdlab-serve-{pid}-nomachine"  # no machine in its name
    for directory in (stale, elsewhere, unnamed):
        directory.mkdir()
        (directory / "model").write_text("model")
    assert remove_stale_copies(tmp_path) == [stale]
    assert {p.name for p in tmp_path.iterdir()} == {own.name, elsewhere.name, unnamed.name}
    assert (elsewhere / "model").read_text() == "model"


# A live gdlab serve's copy made in a new PID namespace (``unshare -pf --mount-proc``), by a
# process whose id there (argv[1]) is no process outside it: what a container sharing $TMPDIR
# makes.
IN_ANOTHER_PID_NAMESPACE = """
import os, sys
from gdlab.serve_copies import make_copy_directory
with open("/proc/sys/kernel/ns_last_pid", "w") as last:
    last.write(str(int(sys.argv[1]) - 1))
child = os.fork()
if child == 0:
    print(make_copy_directory(sys.argv[2]), flush=True)
    sys.stdin.read()  # alive until the test closes its stdin
    os._exit(0)
os.waitpid(child, 0)
"""


def unshare_works() -> bool:
    """Whether a new PID namespace can be made here, its next process id chosen."""
    try:
        return subprocess.run(
            ["unshare", "-pf", "--mount-proc", "sh", "-c",
             "echo 100 > /proc/sys/kernel/ns_last_pid"],
            capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def test_a_live_copy_made_in_another_pid_namespace_is_kept(tmp_path):
    pid = dead_pid()
    forged = tmp_path / f"gdlab-serve-{'0' * 12}-{pid}-forged"  # always: a foreign machine
    forged.mkdir()
    if unshare_works():
        with subprocess.Popen(
                ["unshare", "-pf", "--mount-proc", sys.executable, "-c",
                 IN_ANOTHER_PID_NAMESPACE, str(pid), str(tmp_path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                env=stage_env(REPO)) as contained:
            live = contained.stdout.readline().strip()
            assert f"-{pid}-" in os.path.basename(live)  # dead here, alive there
            assert remove_stale_copies(tmp_path) == []
            assert os.path.isdir(live)
            contained.stdin.close()
            assert contained.wait(timeout=30) == 0
    else:
        assert remove_stale_copies(tmp_path) == []
    assert forged.is_dir()


def test_the_machine_id_outlives_a_reboot(monkeypatch):
    # it hashed the boot id too, so after a reboot (a $TMPDIR kept across it) no gdlab serve
    # ever removed the copies a killed one had left: the process of an earlier boot is gone,
    # its copy is stale like any other. Only the host name and the PID namespace count
    import builtins

    before = machine_id()
    opened = builtins.open

    def another_boot(path, *args, **kwargs):
        if str(path) == "/proc/sys/kernel/random/boot_id":
            from io import StringIO

            return StringIO("00000000-0000-0000-0000-000000000000\n")
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", another_boot)
    assert machine_id() == before
    monkeypatch.setattr("socket.gethostname", lambda: "another-host")
    assert machine_id() != before  # a host sharing the directory is another machine

"""Runs whose process died without ending them (SIGKILL, the OOM killer, a power cut).

No handler runs on SIGKILL, so such a run would stay RUNNING for ever. Every parent run is
tagged with the process that holds it (:data:`PROCESS_TAG`: host, pid and the process's start
time, so a reused pid is not taken for the same process); when a stage starts a new run,
:func:`end_orphans` ends the RUNNING runs of the experiment whose process on this host is gone,
and their RUNNING nested runs, as KILLED with the reason tagged (a FINISHED run a later stage
had reopened is put back FINISHED instead: :mod:`gdlab.tracking.reopen`). Runs of live
processes, of other hosts and without the tag are left alone. Nested runs still RUNNING under
a parent that has ended (which ``pipeline_run`` ends with it, unless the store failed or a
second signal came at that moment) are ended too, with the parent's status
(:func:`~gdlab.tracking.children.end_abandoned_children`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

PROCESS_TAG = "gdlab.process"
"""``<host>:<pid>:<start>`` of the process that holds the run (start: /proc's start time)."""
LOST = "lost"
"""The ``gdlab.failure_kind`` of a run whose process died without ending it."""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux /proc), or "" elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def process_id(pid: int | None = None) -> str:
    """:data:`PROCESS_TAG`'s value for process ``pid`` (this one by default)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def is_gone(tag: str) -> bool:
    """True when ``tag`` names a process of this host that no longer runs."""
    host, _, rest = tag.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's process: cannot tell
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process with that pid
        pass
    return bool(start) and _start_time(pid) not in ("", start)  # the pid was reused


def end_orphans(client: MlflowClient, experiment_id: str) -> list[str]:
    """End the RUNNING runs of ``experiment_id`` whose process (:data:`PROCESS_TAG`) is gone,
    and their RUNNING nested runs, KILLED with ``gdlab.failure_kind: lost`` (a finished run
    that process had reopened: FINISHED again, its end time as it was, tagged
    ``gdlab.<stage>_lost``); then the RUNNING
    nested runs whose parent has ended, with the parent's status; their ids. One search of
    the experiment's RUNNING runs serves both (a stage starting a run pays one call)."""
    from gdlab.tracking.children import PARENT_TAG, end_abandoned_children
    from gdlab.tracking.reopen import put_back, reopened
    from gdlab.tracking.runs import FAILURE_KIND_TAG, FAILURE_TAG

    running = client.search_runs([experiment_id], "attributes.status = 'RUNNING'",
                                 max_results=1000)
    ended: list[str] = []
    for run in running:
        holder = run.data.tags.get(PROCESS_TAG, "")
        if not holder or not is_gone(holder):
            continue
        pid = holder.split(":")[1]
        reason = (
            f"its process (pid {pid}) ended without closing the run: killed (SIGKILL, out of "
            "memory), crashed, or the tracking store was unreachable when it tried; nothing "
            "it had not finished was kept"
        )
        nested = [r for r in running if r.data.tags.get(PARENT_TAG) == run.info.run_id]
        mark = reopened(run)
        for found in nested if mark else [*nested, run]:
            client.set_tag(found.info.run_id, FAILURE_TAG, reason)
            client.set_tag(found.info.run_id, FAILURE_KIND_TAG, LOST)
            client.set_terminated(found.info.run_id, RunStatus.to_string(RunStatus.KILLED))
            ended.append(found.info.run_id)
        if mark:  # a finished run a later stage reopened: finished it stays
            put_back(client, run.info.run_id, mark, LOST, (
                f"its process (pid {pid}) ended without closing the run (killed, crashed, or "
                "the tracking store was unreachable); the run was put back FINISHED with its "
                f"end time as {mark.stage} found it (what {mark.stage} logged before it "
                "stopped is kept); rerun `dvc repro` to continue"))
            ended.append(run.info.run_id)
    still = [r for r in running if r.info.run_id not in ended]
    return ended + end_abandoned_children(client, experiment_id, running=still)

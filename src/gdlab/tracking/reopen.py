"""A finished run that a later stage reopens stays finished, whatever stops that stage.

train ends its run FINISHED; evaluate and register reopen it (``models/run.json``) to add the
test metrics and the registered version, and the registered model version points at it. An
interrupt, an error or a killed process in those stages must not leave that run KILLED or
FAILED (a registered model whose run claims it crashed), nor RUNNING for the next stage's
orphan sweep to call lost: it is put back FINISHED with the end time it had
(:func:`put_back`), and what happened is tagged ``gdlab.<stage>_interrupted``,
``gdlab.<stage>_failed`` or ``gdlab.<stage>_lost`` (:func:`outcome_tag`); a later attempt of
the stage that succeeds drops them. What the stopped attempt had logged is kept.

Before the run is reopened, :func:`mark_reopened` tags it with the stage, its end time and
the process reopening it (:data:`REOPENED_TAG`), in the same write as the process tag
(:data:`~gdlab.tracking.orphans.PROCESS_TAG`): the run is never RUNNING under this process
without the mark, so :func:`~gdlab.tracking.orphans.end_orphans` can tell a finished run
reopened by a process that died (:func:`reopened`) from a run that never finished.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from mlflow.entities import Run, RunStatus
from mlflow.tracking import MlflowClient

from gdlab.tracking.batching import log_tags

REOPENED_TAG = "gdlab.reopened"
"""JSON ``{"stage", "end_time", "process"}``: the finished run's end time (ms) when ``stage``
reopened it in ``process`` (a :data:`~gdlab.tracking.orphans.PROCESS_TAG` value)."""
OUTCOMES = ("interrupted", "failed", "lost")
_FINISHED = RunStatus.to_string(RunStatus.FINISHED)


@dataclass(frozen=True)
class Reopened:
    """A FINISHED run that ``stage`` reopened in ``process``; ``end_time`` as it was."""

    stage: str
    end_time: int | None
    process: str


def outcome_tag(stage: str, outcome: str) -> str:
    """``gdlab.evaluate_interrupted``: the tag saying how ``stage`` stopped on a reopened run."""
    return f"gdlab.{stage}_{outcome}"


def mark_reopened(client: MlflowClient, run_id: str, stage: str, process: str) -> Reopened | None:
    """Tag run ``run_id`` as reopened by ``stage`` in ``process`` (with the process tag, one
    write) when it is FINISHED now, or still RUNNING from a reopening whose process died
    before it could put it back (its end time then is the one that mark kept); the mark, or
    None for a run in any other state."""
    from gdlab.tracking.orphans import PROCESS_TAG, is_gone

    run = client.get_run(run_id)
    if run.info.status == _FINISHED:
        end_time = run.info.end_time
    else:
        earlier = reopened(run)
        if earlier is None or not is_gone(earlier.process):
            return None
        end_time = earlier.end_time
    mark = Reopened(stage, end_time, process)
    log_tags(client, run_id, {PROCESS_TAG: process, REOPENED_TAG: json.dumps(asdict(mark))})
    return mark


def reopened(run: Run) -> Reopened | None:
    """The mark of ``run`` when the process holding it now is the one that reopened it
    finished; None otherwise (no mark, a mark an earlier reopening left, or unreadable)."""
    from gdlab.tracking.orphans import PROCESS_TAG

    text = run.data.tags.get(REOPENED_TAG)
    if not text:
        return None
    try:
        data = json.loads(text)
        mark = Reopened(str(data["stage"]), data["end_time"], str(data["process"]))
    except (ValueError, KeyError, TypeError):
        return None
    return mark if mark.process == run.data.tags.get(PROCESS_TAG) else None


def put_back(client: MlflowClient, run_id: str, mark: Reopened, outcome: str, reason: str) -> None:
    """Tag ``reason`` as ``gdlab.<stage>_<outcome>`` and end run ``run_id`` FINISHED with the
    end time it had before ``mark.stage`` reopened it."""
    log_tags(client, run_id, {outcome_tag(mark.stage, outcome): reason})
    client.set_terminated(run_id, _FINISHED, end_time=mark.end_time)


def stale_outcomes(run: Run, stage: str) -> list[str]:
    """The outcome tags of ``stage`` that ``run`` carries (an earlier attempt stopped)."""
    return [t for t in (outcome_tag(stage, o) for o in OUTCOMES) if t in run.data.tags]

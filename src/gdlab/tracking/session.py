"""A tracking session for one stage: resolved store, client, experiment, and the run handle
file through which later stages (evaluate, register) find the parent run made by train."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from mlflow.tracking import MlflowClient

from gdlab.atomic import write_text_atomic
from gdlab.dbprobe import needs_probe, probe_database
from gdlab.tracking.runs import connect, ensure_experiment
from gdlab.tracking.safety import connect_or_explain, install_redaction, store_lock
from gdlab.tracking.uri import project_root, redact_uri, resolve_tracking_uri


@dataclass
class Session:
    """Where this stage logs: ``uri`` (never print it raw: use ``safe_uri``)."""

    uri: str
    client: MlflowClient
    experiment_id: str
    experiment_name: str
    root: Path

    @property
    def safe_uri(self) -> str:
        return redact_uri(self.uri)


def open_session(configured_uri: str | None, experiment: str) -> Session:
    """Resolve the store (params ``tracking.uri`` / ``MLFLOW_TRACKING_URI`` / project SQLite),
    connect, and make sure ``experiment`` exists. An unreachable store raises
    :class:`~gdlab.tracking.safety.TrackingUnavailable` (bounded retries: seconds, not minutes;
    a database server is probed once first, as MLflow would try it 10 times over ~100 s);
    a password in the URI is redacted from tracebacks and logs from here on."""
    root = project_root()
    uri = resolve_tracking_uri(configured_uri, root)
    install_redaction(uri)
    if needs_probe(uri):  # not for SQLite: no server, no cost
        connect_or_explain(uri, lambda: probe_database(uri))
    with store_lock(uri):  # first use of a fresh SQLite store creates its tables
        client = connect_or_explain(uri, lambda: connect(uri))
        experiment_id = connect_or_explain(uri, lambda: ensure_experiment(client, experiment, root))
    return Session(uri, client, experiment_id, experiment, root)


@dataclass
class RunHandle:
    """Written by train (``models/run.json``): ids of the parent run and its logged model."""

    run_id: str
    experiment_id: str
    experiment_name: str
    model_uri: str | None = None
    model_id: str | None = None

    def write(self, path: str | Path) -> None:
        write_text_atomic(path, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> RunHandle:
        """The handle train wrote at ``path``. Raises ValueError naming the file when it is
        missing, is not JSON or names no run (a stage run by hand before train)."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ValueError(f"{path} is missing: run the train stage first "
                             "(dvc repro runs it)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} cannot be read ({exc}); run the train stage "
                             "again") from None
        if not isinstance(data, dict) or not isinstance(data.get("run_id"), str):
            raise ValueError(f"{path} names no MLflow run (no run_id); run the train stage "
                             "again")
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})

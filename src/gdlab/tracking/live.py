"""Live view: per-epoch metrics reach MLflow in batches while the model trains.

The estimators call their callbacks after every epoch, in whichever process fits them (the
stage itself for the refit, joblib's worker processes for CV folds). A :class:`SpoolCallback`
appends the record as one JSON line to a spool file named after its MLflow run; a
background thread of :class:`LiveCurves`, in the stage process, tails the spool files four
times a second, draws the terminal progress bar, and every ``interval`` seconds sends the new
points of every run with one ``log_batch`` per run (``step=epoch``, the train stage's curve
names, each point stamped with the time its epoch ended). Only the stage process writes to
the tracking store (SQLite takes one writer).

``logged()`` tells the final logging which epochs already reached MLflow, so no point is
logged twice. With ``flush_on_close=False`` (the train stage) the points still pending when
training ends are left to that final logging, which sends them in the same ``log_batch`` as the
run's other data; after an exception they are flushed, so a failed run shows its curve.
A worker that cannot see the spool directory (a remote Dask worker) simply streams nothing:
its curves are logged at the end, as without live logging.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from gdlab.experiment.progress import set_printer
from gdlab.experiment.progress_bar import ProgressBoard
from gdlab.tracking.batching import log_metrics
from gdlab.tracking.children import stopped_status

RECORD_CURVES = {
    "loss": "train_loss",
    "val_loss": "val_loss",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
}
"""Callback record key -> MLflow metric key (the names of ``gdlab.experiment.CURVE_KEYS``)."""


WALL = "wall"
"""Spool record key: wall-clock time (Unix seconds) at which the callback saw the epoch."""


def _stamp(record: Mapping[str, Any], now: int) -> int:
    """A spooled record's MLflow timestamp (ms): when its epoch ended, else ``now``."""
    wall = record.get(WALL)
    return int(wall * 1000) if isinstance(wall, (int, float)) else now


class SpoolCallback:
    """Estimator callback appending each epoch's record to ``path`` (picklable: the file is
    opened in the process that trains)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._handle: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_handle": None}

    def __call__(self, record: Mapping[str, Any]) -> None:
        if self._handle is None:
            try:
                self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            except OSError:  # e.g. a remote worker: nothing streams, the end logs it all
                self._handle = False
        if self._handle:
            line = {k: record.get(k) for k in (*RECORD_CURVES, "epoch")}
            line[WALL] = time.time()  # when the epoch ended: the points' MLflow timestamp
            self._handle.write(json.dumps(line) + "\n")
            self._handle.flush()

    def __del__(self) -> None:
        if self._handle:
            self._handle.close()


class _Stream:
    """One run's spool file: read offset, records not yet sent, epochs sent."""

    def __init__(self, run_id: str, path: Path):
        self.run_id = run_id
        self.path = path
        self.offset = 0
        self.pending: list[dict[str, Any]] = []
        self.sent = 0


class LiveCurves:
    """Stream per-epoch records of several runs to MLflow every ``interval`` seconds and draw
    a progress bar. Use as a context manager around the training."""

    def __init__(
        self,
        client: MlflowClient,
        interval: float = 5.0,
        *,
        board: ProgressBoard | None = None,
        tick: float = 0.25,
        flush_on_close: bool = True,
    ):
        self.client = client
        self.flush_on_close = flush_on_close
        self.interval = interval
        self.board = board if board is not None else ProgressBoard()
        self.tick = min(tick, interval)
        self.batches = 0
        self.errors: list[str] = []
        self._dir = Path(tempfile.mkdtemp(prefix="gdlab-live-"))
        self._streams: dict[str, _Stream] = {}
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous_printer: Any = None
        self._previous_showwarning: Any = warnings.showwarning

    # ------------------------------------------------------------------ set-up
    def callback(self, run_id: str, label: str, max_epochs: int | None = None) -> SpoolCallback:
        """A callback streaming a fit's epochs to run ``run_id`` (shown as ``label``)."""
        path = self._dir / f"{run_id}.jsonl"
        with self._lock:
            self._streams.setdefault(run_id, _Stream(run_id, path))
            self.board.add(run_id, label, max_epochs)
        path.touch()
        return SpoolCallback(path)

    def __enter__(self) -> LiveCurves:
        if self.board.enabled:  # progress messages and warnings print above the bar
            self._previous_printer = set_printer(self.board.print_line)
            self._previous_showwarning = warnings.showwarning
            warnings.showwarning = self._show_warning
        self._thread = threading.Thread(target=self._loop, name="gdlab-live", daemon=True)
        self._thread.start()
        return self

    def _show_warning(self, message: Any, category: Any, filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
        """``warnings.showwarning`` while the bar is up: the warning on lines of its own."""
        if file is not None:
            self._previous_showwarning(message, category, filename, lineno, file, line)
            return
        text = warnings.formatwarning(message, category, filename, lineno, line)
        self.board.print_line(text.rstrip("\n"))

    def finish(self, run_id: str) -> None:
        """The fit streaming to ``run_id`` ended (it leaves the progress bar)."""
        self._finished.add(run_id)
        self.board.finish(run_id)

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        failed = exc_type is not None
        self.close(flush=self.flush_on_close or failed, stopped=failed)

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.tick):
            self._read()
            with self._lock:
                self.board.draw()
            if time.monotonic() - last >= self.interval:
                last = time.monotonic()
                self.flush()

    def _read(self) -> None:
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            try:
                with stream.path.open("r", encoding="utf-8") as handle:
                    handle.seek(stream.offset)
                    chunk = handle.read()
            except OSError:
                continue
            complete = chunk[: chunk.rfind("\n") + 1]
            stream.offset += len(complete.encode("utf-8"))
            for line in complete.splitlines():
                record = json.loads(line)
                with self._lock:
                    stream.pending.append(record)
                    self.board.update(stream.run_id, record)

    def flush(self) -> int:
        """Send every pending record now (one ``log_batch`` per run and 1000 points); returns
        the number of points sent. A failing store keeps the records for the next try."""
        sent = 0
        now = int(time.time() * 1000)
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            with self._lock:
                records, stream.pending = stream.pending, []
            metrics = [
                Metric(key=name, value=float(r[key]), timestamp=_stamp(r, now),
                       step=int(r["epoch"]))
                for r in records
                for key, name in RECORD_CURVES.items()
                if r.get(key) is not None and math.isfinite(float(r[key]))
            ]
            if not metrics:
                stream.sent += len(records)
                continue
            try:
                self.batches += log_metrics(self.client, stream.run_id, metrics)
            except Exception as exc:  # noqa: BLE001 - retried at the next interval
                with self._lock:
                    stream.pending = records + stream.pending
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            stream.sent += len(records)
            sent += len(metrics)
        return sent

    # ------------------------------------------------------------------ the end
    def close(self, flush: bool = True, *, stopped: bool = False) -> None:
        """Stop the thread, read what is left (and send it, when ``flush``), end the progress
        bar (fits still running show as ``stopped`` when training was cut short)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self._read()
        if flush:
            self.flush()
        with self._lock:
            for run_id in list(self._streams):
                if run_id not in self._finished:
                    self.board.finish(run_id, stopped=stopped)
            self.board.close()
        if self.board.enabled:
            set_printer(self._previous_printer)
            if warnings.showwarning == self._show_warning:  # not replaced since
                warnings.showwarning = self._previous_showwarning
        shutil.rmtree(self._dir, ignore_errors=True)
        if self.errors:
            warnings.warn(
                f"live metrics: {len(self.errors)} batch(es) failed and were retried; "
                f"last error {self.errors[-1]}",
                RuntimeWarning,
                stacklevel=2,
            )

    def logged(self) -> dict[str, int]:
        """Epochs already sent per run id (epochs ``0 .. n-1``)."""
        with self._lock:
            return {run_id: s.sent for run_id, s in self._streams.items()}


@contextmanager
def live_fold_runs(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    folds: Sequence[int],
    *,
    interval: float | None,
    max_epochs: int | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[LiveTraining]:
    """Create the fold runs (RUNNING, children of ``parent_run_id``) before training, stream
    the folds' and the refit's epochs into them and the parent while inside the block (the
    fold runs are created with ``tags`` too: the parent's lineage); the
    fold runs are ended FAILED (KILLED on interrupt) if the block raises.

    After the block they stay RUNNING until :func:`~gdlab.tracking.cv.log_fold_runs` finishes
    them; if the stage stops before (saving the model fails, SIGTERM), the enclosing
    :func:`~gdlab.tracking.runs.pipeline_run` ends them with the parent's status."""
    from gdlab.tracking.cv import start_fold_runs

    run_ids = start_fold_runs(client, experiment_id, parent_run_id, folds, tags)
    live = LiveTraining(client, parent_run_id, run_ids, interval, max_epochs)
    try:
        with live.curves if live.curves is not None else _nothing():
            yield live
    except BaseException as exc:
        for run_id in run_ids.values():
            with contextlib.suppress(Exception):  # the store may be what failed
                client.set_terminated(run_id, stopped_status(exc))
        raise


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


class LiveTraining:
    """The callbacks to hand to :func:`gdlab.experiment.run_training` and, afterwards, which
    epochs already reached MLflow."""

    def __init__(
        self,
        client: MlflowClient,
        parent_run_id: str,
        fold_run_ids: Mapping[int, str],
        interval: float | None,
        max_epochs: int | None,
    ):
        self.parent_run_id = parent_run_id
        self.fold_run_ids = dict(fold_run_ids)
        self.max_epochs = max_epochs
        # the final logging (log_fold_runs, log_training) sends the points still pending along
        # with each run's other data: one log_batch per run instead of two
        self.curves = LiveCurves(client, interval, flush_on_close=False) if interval else None

    @property
    def shows_progress(self) -> bool:
        """True when the progress bar replaces per-epoch progress lines."""
        return self.curves is not None and self.curves.board.enabled

    def fold_callbacks(self, fold: Any) -> list[Any]:
        if self.curves is None:
            return []
        run_id = self.fold_run_ids[fold.index]
        label = f"fold {fold.index}/{fold.n_folds}"
        return [self.curves.callback(run_id, label, self.max_epochs)]

    def fold_done(self, result: Any) -> None:
        """``on_fold_done`` of :func:`gdlab.experiment.run_training`."""
        if self.curves is not None and result.fold in self.fold_run_ids:
            self.curves.finish(self.fold_run_ids[result.fold])

    def refit_callbacks(self) -> list[Any]:
        if self.curves is None:
            return []
        return [self.curves.callback(self.parent_run_id, "refit", self.max_epochs)]

    def logged(self) -> dict[str, int]:
        return self.curves.logged() if self.curves is not None else {}

"""The Optuna study behind a search: where it is stored, what it is called, its sampler and
pruner, and how a study interrupted by a kill is put back in order before it resumes.

Storage: a journal file (``JournalStorage`` + ``JournalFileBackend``, safe for several
processes on one machine) or an RDB URL. The study name is derived from everything that defines
the objective (params except the budget, data digest, and the code the trials run: see
:mod:`gdlab.tuning.fingerprint`), so a changed search space or changed code starts a new study in
the same file while rerunning an interrupted stage continues the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from gdlab.tuning.pruners import WILCOXON_P, make_pruner

DEFAULT_JOURNAL = Path(".optuna") / "gdlab.journal"
INTERRUPTED = "gdlab.interrupted"
UID = "gdlab.uid"
RETRY_OF = "gdlab.retry_of"
OWNER = "gdlab.owner"
"""Trial user attribute: the host whose search (holding :func:`study_lock` there) runs it."""
SECONDS_USED = "gdlab.seconds_used"
"""Study user attribute: seconds its searches have spent running trials, summed over runs (the
study's share of ``tune.timeout``, kept for a timeout-only search, ``n_trials: null``: see
:func:`seconds_used`)."""
OWNERLESS_GRACE = 60.0
"""Seconds a RUNNING trial without an owner is taken for one that is starting."""
BUDGET_FIELDS = ("enabled", "n_trials", "timeout", "n_jobs", "storage", "study_name", "heatmap")
"""tune keys that do not change what a trial computes (left out of the study name)."""

_STORAGES: dict[str, optuna.storages.BaseStorage] = {}


def resolve_storage(configured: str | None, root: str | Path) -> str:
    """``tune.storage`` as a storage spec: an RDB URL as is, else an absolute journal path
    (relative paths and the default ``.optuna/gdlab.journal`` under the project ``root``)."""
    if configured and "://" in configured:
        return configured
    path = Path(configured) if configured else DEFAULT_JOURNAL
    if not path.is_absolute():
        path = Path(root) / path
    return str(path.resolve())


class DamagedJournal(ValueError):
    """A record of the study's journal file is cut short or garbled: it cannot be replayed."""


def check_journal(path: str | Path) -> None:
    """Raise :class:`DamagedJournal` naming ``path``, the first bad line and what to do when a
    record of the journal is cut short (no end of line) or is not a JSON object. Optuna skips
    a cut last record but appends the next one to it, which makes the file unreadable for
    good, and reports either with a raw traceback. The file is read under the lock Optuna's
    writers take, so a record another process is appending is not taken for a cut one."""
    from optuna.storages.journal import JournalFileSymlinkLock

    path = Path(path)
    if not path.exists():
        return
    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        lines = path.read_bytes().split(b"\n")  # the last is b"" when the file ends whole
    finally:
        lock.release()
    for number, line in enumerate(lines, start=1):
        if number == len(lines):
            problem = "is cut short (no end of line)" if line else None
        else:
            try:
                problem = None if isinstance(json.loads(line), dict) else "is not a record"
            except ValueError:  # JSONDecodeError, UnicodeDecodeError
                problem = "is not a JSON record"
        if problem:
            raise DamagedJournal(
                f"the Optuna journal {path} (tune.storage) is damaged: line {number} {problem}, "
                "as when a search is killed while writing it or the disk is full; the search "
                "cannot resume from it. Restore the file from a backup, or delete it (or move it "
                "away) to start the search over: its studies are lost, their MLflow runs stay"
            )


class StorageUnavailable(ValueError):
    """``tune.storage`` names a database that cannot be connected to (message safe to print:
    the password is redacted)."""


def check_storage(spec: str) -> None:
    """Fail before the stage writes anything or opens an MLflow run: a damaged journal file
    raises :class:`DamagedJournal` (:func:`check_journal`), a directory in place of the
    journal file :class:`StorageUnavailable`; a database server that refuses,
    does not answer within seconds, rejects the login or lacks the database raises
    :class:`StorageUnavailable` naming ``tune.storage`` (one connection with a short timeout;
    a SQLite file needs none)."""
    if "://" not in spec:
        if Path(spec).is_dir():
            raise StorageUnavailable(
                f"tune.storage {spec} is a directory: name a journal file (e.g. "
                f"{Path(spec) / 'optuna.journal'}) or a database URL"
            )
        check_journal(spec)
        return
    from gdlab.dbprobe import probe_database
    from gdlab.urls import redact_text, redact_uri

    try:
        probe_database(spec)
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc  # the driver's words, without SQLAlchemy's
        lines = str(cause).strip().splitlines()
        reason = redact_text(lines[0] if lines else type(cause).__name__, spec)
        todo = "start it, or fix tune.storage"
        if spec.lower().startswith("postgres"):
            todo += " or PGPASSWORD/~/.pgpass"
        raise StorageUnavailable(
            f"tune.storage {redact_uri(spec)}: cannot connect ({reason}); {todo}"
        ) from None


def open_storage(spec: str) -> optuna.storages.BaseStorage:
    """The storage for ``spec`` (one object per process: a journal replays its log once). A
    damaged journal file raises :class:`DamagedJournal`."""
    storage = _STORAGES.get(spec)
    if storage is None:
        if "://" in spec:
            storage = optuna.storages.RDBStorage(spec)
        else:
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            Path(spec).parent.mkdir(parents=True, exist_ok=True)
            check_journal(spec)
            storage = JournalStorage(JournalFileBackend(spec))
        _STORAGES[spec] = storage
    return storage


def study_name(prefix: str, *parts: Any) -> str:
    """``prefix-<12 hex digits>`` of the JSON of ``parts`` (params, data digest...)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class StudySpec:
    """Everything needed to open the study and build its sampler in any process."""

    storage: str
    name: str
    direction: str  # "minimize" | "maximize"
    strategy: str  # "grid" | "bayes"
    seed: int
    n_startup_trials: int
    pruner: str  # "median" | "wilcoxon" | "none"
    grid: dict[str, list[Any]] | None = None
    conditional: bool = False

    def create(self) -> optuna.Study:
        """Create the study, or load it when it exists (resume). A new study gets a random
        ``gdlab.uid`` user attribute: a study deleted and made again under the same name is
        told apart from the old one (whose trials MLflow may still hold)."""
        study = optuna.create_study(
            storage=open_storage(self.storage),
            study_name=self.name,
            direction=self.direction,
            load_if_exists=True,
            sampler=self.sampler(),
            pruner=self.make_pruner(),
        )
        if UID not in study.user_attrs:
            study.set_user_attr(UID, uuid.uuid4().hex)
        return study

    def load(self) -> optuna.Study:
        """The study with its sampler (see :meth:`sampler`) and pruner."""
        return optuna.load_study(
            study_name=self.name,
            storage=open_storage(self.storage),
            sampler=self.sampler(),
            pruner=self.make_pruner(),
        )

    def sampler(self) -> optuna.samplers.BaseSampler:
        """``GridSampler`` (same shuffled order in every process, so workers take distinct
        grid points) or TPE seeded for each trial once it exists (:class:`SlotSeededTPE`)."""
        if self.strategy == "grid":
            return optuna.samplers.GridSampler(self.grid or {}, seed=self.seed)
        return SlotSeededTPE(self.seed, self.n_startup_trials, self.conditional)

    def make_pruner(self) -> optuna.pruners.BasePruner:
        """Pruner fed with one intermediate value per fold (step = fold index), pruning nothing
        before ``n_startup_trials`` trials of the study have completed
        (:func:`gdlab.tuning.pruners.make_pruner`)."""
        return make_pruner(self.pruner, self.n_startup_trials)


def trial_slot(study: optuna.Study, trial: FrozenTrial) -> int:
    """The slot of ``trial``: the trials of ``study`` numbered before it that use or may use
    the budget (every one but those cut short by an interrupt). Optuna numbers a study's
    trials uniquely, also across processes and hosts sharing its storage, so two trials never
    share a slot; an interrupted trial and its retry do (the retry is numbered after it and
    the interrupted one is not counted), so a resumed search samples what an uninterrupted one
    would; and a search alone gives the same slots in every run."""
    return sum(
        t.number < trial.number
        and not (t.state == TrialState.FAIL and t.user_attrs.get(INTERRUPTED))
        for t in study.get_trials(deepcopy=False)
    )


class SlotSeededTPE(optuna.samplers.BaseSampler):
    """Optuna's ``TPESampler`` (multivariate, ``group`` for conditional spaces) seeded from
    (``seed``, :func:`trial_slot`) when each trial starts: the seed follows the trial's number
    in the shared storage, not a count of trials read before asking for one, which two hosts
    starting together read alike (they then proposed the same configuration)."""

    def __init__(self, seed: int, n_startup_trials: int, conditional: bool) -> None:
        self.seed, self.n_startup_trials, self.conditional = seed, n_startup_trials, conditional
        self._tpe = self.tpe(0)

    def tpe(self, slot: int) -> optuna.samplers.TPESampler:
        """The TPE sampler of trial slot ``slot``."""
        seed = int(np.random.SeedSequence([self.seed, slot]).generate_state(1)[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=self.n_startup_trials,
                multivariate=True,
                group=self.conditional,
            )

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._tpe = self.tpe(trial_slot(study, trial))
        self._tpe.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._tpe.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._tpe.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._tpe.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._tpe.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._tpe.reseed_rng()


def wilcoxon_min_folds(p_threshold: float = WILCOXON_P) -> int:
    """Fewest scored folds at which the Wilcoxon pruner can prune at all: the smallest p-value
    an exact one-sided signed-rank test of n pairs can give is 0.5**n (every difference on the
    same side), so n must make 0.5**n < ``p_threshold`` (4 at 0.1)."""
    folds = 1
    while 0.5**folds >= p_threshold:
        folds += 1
    return folds


def pruner_warning(pruner: str, folds: int) -> str | None:
    """A warning when ``tune.pruner`` cannot stop any trial early with ``cv.folds`` folds: the
    Wilcoxon pruner can first prune once :func:`wilcoxon_min_folds` folds are scored, which
    saves a fold only when there are more."""
    need = wilcoxon_min_folds()
    if pruner != "wilcoxon" or folds > need:
        return None
    return (
        f"tune.pruner: wilcoxon can prune a trial only once {need} folds are scored (a "
        f"signed-rank test at p < {WILCOXON_P:g} needs {need} paired folds), so with "
        f"cv.folds: {folds} it never stops a trial early; use tune.pruner: median, or "
        f"cv.folds: {need + 1} or more"
    )


def user_lock_dir() -> Path:
    """A directory of this user's only (0700) for locks that span workspaces (DVC's queued
    experiments each run in their own copy): ``$XDG_RUNTIME_DIR/gdlab``, else
    ``~/.cache/gdlab/locks``. Not the shared temporary directory, where another user could
    create or hold the lock file first and block or break the search."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    candidates = [Path(runtime) / "gdlab"] if runtime else []
    candidates.append(Path.home() / ".cache" / "gdlab" / "locks")
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            problem = exc
            continue
        return path
    raise OSError(f"no directory for the tuning study's lock: {problem}") from problem


@contextmanager
def study_lock(spec: StudySpec) -> Iterator[None]:
    """Hold an exclusive lock on the study for a whole search, so that two searches of the same
    study on this machine (e.g. queued DVC experiments with equal params) run one after the
    other: the second then finds the budget spent, and never takes the first one's running
    trials for interrupted ones."""
    import fcntl

    key = hashlib.sha256(f"{spec.storage}\0{spec.name}".encode()).hexdigest()[:16]
    if "://" in spec.storage:  # a database: one lock for every workspace of this user here
        path = user_lock_dir() / f"optuna-{key}.lock"
    else:
        path = Path(f"{spec.storage}.{key}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def this_host() -> str:
    """The owner name of the searches run from this machine (its host name)."""
    return socket.gethostname()


def counted(trial: FrozenTrial) -> bool:
    """Whether ``trial`` uses up budget: finished, and not cut short by an interrupt."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and not trial.user_attrs.get(INTERRUPTED)


def recover_interrupted(study: optuna.Study, owner: str | None = None) -> list[int]:
    """Put a study left by a killed search in order; returns the trial numbers queued again.

    Trials still RUNNING whose search is gone are marked FAIL with ``gdlab.interrupted``: with
    ``owner`` (this host, holding :func:`study_lock`), those of searches from this host; the
    trials of another host's search (a shared RDB storage) run on, and its own next search
    recovers them. Without ``owner``, every RUNNING trial. Every interrupted trial not yet
    retried is queued again with its parameters, so it is rerun first and a grid stays whole.
    """
    storage = study._storage  # the public storage API needs the study id
    study_id = storage.get_study_id_from_name(study.study_name)
    trials = study.get_trials(deepcopy=False)
    for trial in trials:
        if trial.state == TrialState.RUNNING and _search_gone(trial, owner):
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, INTERRUPTED, True)
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get(RETRY_OF) for t in trials}
    queued = []
    for trial in trials:
        if (
            trial.state == TrialState.FAIL
            and trial.user_attrs.get(INTERRUPTED)
            and trial.number not in retried
        ):
            params = dict(trial.params) or _grid_point(study, trial)
            study.enqueue_trial(params, user_attrs={RETRY_OF: trial.number})
            queued.append(trial.number)
    return queued


def _search_gone(trial: FrozenTrial, owner: str | None) -> bool:
    """Whether the search running ``trial`` has ended (see :func:`recover_interrupted`). A
    trial gets its owner right after it starts: one without is taken for another host's
    just-started trial for :data:`OWNERLESS_GRACE` seconds (then for a trial left by a search
    from before owners were recorded)."""
    if owner is None:
        return True
    if OWNER in trial.user_attrs:
        return trial.user_attrs[OWNER] == owner
    start = trial.datetime_start
    return start is None or (datetime.now() - start).total_seconds() > OWNERLESS_GRACE


def _grid_point(study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
    """The grid point a grid study gave ``trial`` when it was created, for a trial killed
    before it asked for any parameter (``{}`` for other studies: the retry samples afresh).
    The grid sampler counts that point as visited once the trial is FAIL, and it refuses an
    enqueued trial without parameters, so the retry must carry the point."""
    sampler = study.sampler
    grid_id = trial.system_attrs.get("grid_id")
    if not isinstance(sampler, optuna.samplers.GridSampler) or grid_id is None:
        return {}
    return dict(zip(sampler._param_names, sampler._all_grids[grid_id], strict=True))


def seconds_used(study: optuna.Study) -> float:
    """Seconds the searches of ``study`` have spent so far (:data:`SECONDS_USED`; 0 for a new
    study or one from before it was recorded). ``tune.timeout`` is the study's budget, as
    ``tune.n_trials`` is: a rerun gets what earlier runs left of it."""
    return float(study.user_attrs.get(SECONDS_USED, 0.0))


def remaining_trials(
    trials: Sequence[FrozenTrial], n_trials: int | None, grid_size: int | None
) -> int | None:
    """Trials still to run: ``n_trials`` (capped at the grid) minus the counted ones among
    ``trials`` (one reading of the study: whoever also counts its running trials must count
    them in the same reading, see :func:`gdlab.tuning.search.run_one_trial`); ``None`` when
    only a timeout limits the search."""
    limit = n_trials
    if grid_size is not None:
        limit = grid_size if limit is None else min(limit, grid_size)
    if limit is None:
        return None
    done = sum(counted(t) for t in trials)
    return max(limit - done, 0)

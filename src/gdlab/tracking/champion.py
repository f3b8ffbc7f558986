"""The champion beside a challenger, for the registry gate: whether the two take the same
inputs (their MLflow signatures), and both models' test metric on the challenger's test rows
that neither trained on, so that the gate compares two models on the same unseen data with the
same metric.

train keeps the fingerprint of a model's training rows with its run, not in the model
(:mod:`gdlab.tracking.training_rows`; a model logged before carries it,
:data:`gdlab.served.TRAINING_ROWS_KEY`): when the split changes over the same rows (another
``data.seed`` or ``test_size``, rows appended to the CSV), most of today's test rows may be
rows the champion was trained on, and scored on them it would win by memory. Those rows are
left out, and both models are scored on the rest (:func:`champion_scores`).

The champion is loaded from its registered skops file with gdlab's own loader
(:func:`gdlab.experiment.persist.load_model`: gdlab's classes and the named plug-ins trusted,
nothing else), never through a pickle."""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdlab.data.fingerprint import SCHEME, load_fingerprint, row_hashes, seen
from gdlab.experiment.metrics import predictions, score
from gdlab.experiment.persist import UntrustedTypes
from gdlab.experiment.uncertainty import MIN_RANKED_ROWS
from gdlab.text import listed
from gdlab.tracking.downloads import download_model_file, download_run_file
from gdlab.tracking.training_rows import DIRECTORY as FINGERPRINT_DIRECTORY
from gdlab.tracking.training_rows import TAG as TRAINING_ROWS_TAG
from gdlab.tracking.training_rows import run_entry as _run_entry
from gdlab.tracking.training_rows import source_run as _source_run

SHOWN_COLUMNS = 8
"""Columns named in a reason before it says "and N more"."""
MIN_COMPARED_ROWS = MIN_RANKED_ROWS
"""The fewest test rows the gate compares two models on: the test rows neither model trained
on, and the test set itself (a smaller one is not compared at all). On fewer, a test metric is
mostly noise: its standard error grows as 1/sqrt(rows), and one row moves an accuracy by more
than 3 points (:mod:`gdlab.experiment.uncertainty`, whose intervals evaluate reports). No share
of the test set is asked for: 30 clean rows of 100 000 test rows that were mostly the
champion's training rows are few but honest, and thousands are plenty."""


@dataclass(frozen=True)
class TestSet:
    """The test rows the challenger was scored on (evaluate's ``data/prepared`` test split),
    to score the champion on: features named as the model's signature, labels decoded."""

    X: pd.DataFrame
    y: np.ndarray
    task: str
    digest: str
    """:func:`gdlab.data.prepared.dataset_digest` of the prepared data, as the train run's
    ``gdlab.data_digest`` tag spells it: the same digest means the same test rows."""
    plugins: tuple[str, ...] = ()
    """The plug-in import paths whose modules the champion's file may use (params.yaml's)."""
    positive: Any = None
    """The positive class of two (:func:`gdlab.data.positive.positive_class` of the training
    labels): what both models' f1 and average_precision score."""


CHAMPION_REMEDY = ("the registered champion in the MLflow store cannot be used: move the "
                   "champion alias to a sound version, or delete it, by hand")
"""What to do when the champion could not be scored (:func:`champion_remedy` gives the
commands for a model name)."""


def champion_remedy(name: str) -> str:
    """What to do when the champion of ``name`` could not be read or scored: its artifact in
    the MLflow store is what failed, so neither ``dvc checkout`` nor training again (both
    touch the workspace model only) repairs it; the champion alias goes to a sound version
    (the MLflow client call, as :func:`promote_by_hand` gives it) or is deleted (the next
    registration then becomes champion)."""
    client = "from mlflow import MlflowClient; MlflowClient()"
    move = f"{client}.set_registered_model_alias({json.dumps(name)}, \"champion\", \"<version>\")"
    delete = f"{client}.delete_registered_model_alias({json.dumps(name)}, \"champion\")"
    return (
        "the registered champion in the MLflow store cannot be used (dvc checkout or training "
        "again only restores models/model.skops): move the champion alias to a sound version "
        f"with python -c {shlex.quote(move)} or delete it with python -c "
        f"{shlex.quote(delete)} (the next registration then becomes champion)"
    )
CHALLENGER_REMEDY = ("this run's logged model is damaged or does not fit the test rows: train "
                     "again and rerun the stages after it: dvc repro --force --single-item "
                     "train && dvc repro")
"""What to do when the new model (the challenger) could not be read or scored."""


class ChampionNotComparable(ValueError):
    """The champion and the new model could not both be scored on the test set (a model
    cannot be read, loaded or predict on the rows): nothing is registered and no alias moves.
    ``remedy`` says what to do: :data:`CHAMPION_REMEDY` when the champion failed,
    :data:`CHALLENGER_REMEDY` when the new model did."""

    def __init__(self, message: str, remedy: str = CHAMPION_REMEDY):
        super().__init__(message)
        self.remedy = remedy


class NotCompared(Exception):
    """The champion and the new model cannot be compared, though nothing is broken: the test
    rows hold classes the champion never predicts (a class added to the data since it was
    trained: its log loss there is undefined), or the champion's file uses a plug-in
    params.yaml no longer names (gdlab loads no code it is not told to trust). The message is
    a clause after "not compared with champion vN, "; ``kind`` names the case."""

    def __init__(self, kind: str, clause: str):
        super().__init__(clause)
        self.kind = kind


def _version_uri(name: str, version: str) -> str:
    return f"models:/{name}/{version}"


def _model_info(model_uri: str) -> Any:
    """MLflow's description of the model at ``model_uri`` (its ``MLmodel`` file only)."""
    from mlflow.models import get_model_info

    return get_model_info(model_uri)


def _columns(signature: Any) -> dict[str, str] | None:
    """``{column: type}`` of a signature's inputs (``double``, ``long``, ...), or None for a
    model logged without one."""
    if signature is None or signature.inputs is None:
        return None
    return {
        str(spec.name): str(getattr(spec.type, "name", spec.type))
        for spec in signature.inputs.inputs
    }


def input_columns(model_uri: str, remedy: str = CHAMPION_REMEDY) -> dict[str, str] | None:
    """``{column: type}`` of the inputs ``model_uri``'s signature declares, or None without a
    signature. Raises :class:`ChampionNotComparable` (with ``remedy``) when its ``MLmodel``
    cannot be read."""
    try:
        return _columns(_model_info(model_uri).signature)
    except Exception as exc:  # noqa: BLE001 - any store or format error: named, one line
        raise ChampionNotComparable(
            f"cannot read the signature of {model_uri}: {_one_line(exc)}", remedy
        ) from exc


def _names(columns: list[str]) -> str:
    return listed(columns, SHOWN_COLUMNS) if columns else "—"


def input_difference(
    champion: dict[str, str] | None, challenger: dict[str, str] | None
) -> str | None:
    """How the challenger's inputs differ from the champion's (names and types; the order
    does not matter, MLflow matches columns by name), or None when they are the same:
    ``champion takes 12 features, this model 14: added x13, x14; removed —``."""
    if champion == challenger:
        return None
    if champion is None or challenger is None:
        whose = "the champion" if champion is None else "this model"
        return f"{whose} was logged without an input signature"
    added = [c for c in challenger if c not in champion]
    removed = [c for c in champion if c not in challenger]
    text = (
        f"champion takes {len(champion)} features, this model {len(challenger)}: "
        f"added {_names(added)}; removed {_names(removed)}"
    )
    retyped = [
        f"{c} {champion[c]} → {challenger[c]}"
        for c in challenger
        if c in champion and champion[c] != challenger[c]
    ]
    if retyped:
        text += f"; type changed: {_names(retyped)}"
    return text


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _load_registered(uri: str, directory: str, plugins: tuple[str, ...]) -> Any:
    """The fitted pipeline of the model at ``uri`` (``models:/<name>/<version>``, or the logged
    model's ``models:/<model id>``): its skops file, loaded with gdlab's loader. A model saved
    otherwise (pickle, cloudpickle) is refused, never loaded."""
    from gdlab.experiment.persist import DamagedModelFile, load_model

    flavor = _model_info(uri).flavors.get("sklearn") or {}
    if flavor.get("serialization_format") != "skops" or not flavor.get("pickled_model"):
        raise ValueError(
            f"its model is not a skops file (serialization_format "
            f"{flavor.get('serialization_format')!r}); gdlab loads no pickle"
        )
    if not _plain_file_name(flavor["pickled_model"]):  # the MLmodel is the logger's to write
        raise ValueError(
            f"its MLmodel names the model file {flavor['pickled_model']!r}, which is not a "
            "file of the model's own directory; gdlab reads no file outside it"
        )
    local = download_model_file(uri, flavor["pickled_model"], directory)
    try:
        return load_model(Path(local), plugins=plugins)
    except DamagedModelFile as exc:  # the store's file, not the workspace's: say which
        from gdlab.tracking.logged_model import store_location

        file = f"{store_location(uri).rstrip('/')}/{flavor['pickled_model']}"
        raise ValueError(
            f"its artifact in the MLflow store is damaged: {uri} ({file}) is not a readable "
            f"skops model file ({exc.problem})"
        ) from exc


def _plain_file_name(name: Any) -> bool:
    """Whether ``name`` is a file name inside the model's directory: no directory part, no
    ``..``, not absolute (on either kind of path)."""
    return (isinstance(name, str) and name not in ("", ".", "..")
            and "/" not in name and "\\" not in name and ":" not in name)


def _load_champion(uri: str, directory: str, plugins: tuple[str, ...]) -> Any:
    """:func:`_load_registered` for the champion, whose file may use a plug-in params.yaml no
    longer names: :class:`NotCompared` then (gdlab loads no code it is not told to trust)."""
    try:
        return _load_registered(uri, directory, plugins)
    except UntrustedTypes as exc:
        raise NotCompared(
            "untrusted plug-in",
            f"whose model uses {listed(exc.types, SHOWN_COLUMNS)}, which no plug-in "
            "params.yaml names defines (gdlab loads no code it is not told to trust; "
            "name that plug-in in params.yaml again to compare them)",
        ) from exc


def _training_rows(uri: str, directory: str) -> tuple[np.ndarray | None, str | None]:
    """``(fingerprint, None)`` of the rows the model at ``uri`` was trained on, or ``(None,
    why they are unknown)`` for a model logged without one (before gdlab kept it, or not by
    train) or hashed by another scheme. The fingerprint is the artifact of the model's source
    run that the run's tag names (:mod:`gdlab.tracking.training_rows`); a model logged before
    holds it in its own directory, named in its MLmodel metadata
    (:data:`gdlab.served.TRAINING_ROWS_KEY`). A fingerprint that is named but cannot be read
    raises (ValueError, MLflow's error)."""
    from gdlab.served import TRAINING_ROWS_KEY

    run_id = _source_run(uri)
    entry = None if run_id is None else _run_entry(run_id)
    beside_model = entry is None  # the layout before: the file in the model's directory
    if beside_model:
        entry = (_model_info(uri).metadata or {}).get(TRAINING_ROWS_KEY)
    if not entry:
        return None, "it was logged without the fingerprint of its training rows"
    if entry.get("scheme") != SCHEME:
        return None, (f"its training rows were hashed by scheme {entry.get('scheme')!r}, "
                      f"not {SCHEME!r}")
    name = entry.get("file")
    if not _plain_file_name(name):
        whose, where = (("its MLmodel", "the model's own directory") if beside_model else
                        (f"its train run's tag {TRAINING_ROWS_TAG}",
                         f"the run's {FINGERPRINT_DIRECTORY} directory"))
        raise ValueError(f"{whose} names the fingerprint file {name!r}, which is not a file of "
                         f"{where}; gdlab reads no file outside it")
    if beside_model:
        return load_fingerprint(download_model_file(uri, name, directory)), None
    return load_fingerprint(
        download_run_file(run_id, f"{FINGERPRINT_DIRECTORY}/{name}", directory)), None


@dataclass(frozen=True)
class PairedPredictions:
    """The champion's and the new model's predictions on the same test rows (``predict``, or
    ``predict_proba`` with each model's own ``classes``), for a paired test of the two
    (:func:`gdlab.experiment.paired_bootstrap.paired_gain`)."""

    y: np.ndarray
    champion: np.ndarray
    challenger: np.ndarray
    champion_classes: np.ndarray | None = None
    challenger_classes: np.ndarray | None = None


@dataclass(frozen=True)
class ChampionScores:
    """The champion and the new model on the test rows neither trained on: their ``metric``
    there (None: too few such rows, :data:`MIN_COMPARED_ROWS`, and neither is scored) and
    how many test rows there are, were compared, were training rows of each. A champion whose
    training rows are unknown (``unknown`` says why) is scored on every test row and the new
    model's own recorded value stands (``challenger`` None)."""

    champion: float | None
    challenger: float | None
    test_rows: int
    compared_rows: int
    champion_trained: int | None
    """Test rows the champion was trained on; None: unknown."""
    challenger_trained: int = 0
    """Test rows the new model was trained on too (the same row twice in the data)."""
    unknown: str | None = None
    paired: PairedPredictions | None = field(default=None, repr=False, compare=False)
    """Both models' predictions on the compared rows, when asked for (``paired=True``)."""

    @property
    def enough(self) -> bool:
        """Whether the two are compared on as many rows as :data:`MIN_COMPARED_ROWS` asks."""
        return self.compared_rows >= MIN_COMPARED_ROWS


def _predict_on(
    model: Any, test_set: TestSet, rows: np.ndarray, champion: bool = True
) -> np.ndarray:
    """``model``'s :func:`~gdlab.experiment.metrics.predictions` on the test rows ``rows`` (a
    mask), the columns in the order the model was fitted on; a ``champion`` that never
    predicts a class of those rows raises :class:`NotCompared`."""
    X, y = test_set.X[rows], np.asarray(test_set.y)[rows]
    if champion and test_set.task != "regression":
        _check_classes(model, y)
    columns = list(getattr(model, "feature_names_in_", X.columns))
    return predictions(model, X[columns], test_set.task)


def _score_of(model: Any, test_set: TestSet, rows: np.ndarray, predicted: np.ndarray,
              metric: str) -> float:
    """``metric`` of ``predicted`` on the test rows ``rows``, as evaluate scores the challenger
    (:func:`gdlab.experiment.metrics.score`)."""
    y = np.asarray(test_set.y)[rows]
    return float(score(model, None, y, test_set.task, predicted=predicted,
                       positive=test_set.positive)[metric])


def _classes(model: Any) -> np.ndarray | None:
    classes = getattr(model, "classes_", None)
    return None if classes is None else np.asarray(classes)


@contextmanager
def _failing_as(what: str, remedy: str = CHAMPION_REMEDY) -> Iterator[None]:
    """Any failure inside (but :class:`NotCompared`) as :class:`ChampionNotComparable`:
    ``what`` and the error in one line, and what to do about it."""
    try:
        yield
    except NotCompared:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure: the gate decides nothing
        raise ChampionNotComparable(f"{what}: {_one_line(exc)}", remedy) from exc


@contextmanager
def _model_directories() -> Iterator[tuple[str, str]]:
    """Two empty temporary directories, ``(champion's, challenger's)``, for the files of the
    two models compared; removed on leaving."""
    with tempfile.TemporaryDirectory(prefix="gdlab-champion-") as directory:
        theirs, ours = str(Path(directory, "champion")), str(Path(directory, "challenger"))
        Path(theirs).mkdir()
        Path(ours).mkdir()
        yield theirs, ours


def champion_scores(
    name: str, version: str, challenger_uri: str, test_set: TestSet, metric: str,
    *, paired: bool = False,
) -> ChampionScores:
    """Version ``version`` of ``name`` (the champion) and the model at ``challenger_uri``
    scored with ``metric`` on the rows of ``test_set`` that neither was trained on (their
    fingerprints, :mod:`gdlab.data.fingerprint`); neither is scored when fewer than
    :data:`MIN_COMPARED_ROWS` remain. A champion logged without a fingerprint is scored on
    every test row. With ``paired``, both models' predictions on the compared rows come with
    the scores (:class:`PairedPredictions`; for a champion without a fingerprint the new model
    predicts every test row too). Any failure (an artifact gone or damaged, a type the loader
    does not trust, the rows do not fit a model) raises :class:`ChampionNotComparable` with
    one line saying why; a test class the champion never predicts, :class:`NotCompared`."""
    uri, n = _version_uri(name, version), len(test_set.y)
    champion_failed = f"champion v{version} of {name!r} could not be re-evaluated on this test set"
    remedy = champion_remedy(name)
    with _model_directories() as (theirs, ours):
        with _failing_as(champion_failed, remedy):
            known, unknown = _training_rows(uri, theirs)
            if known is None:  # today's rows, whatever it was trained on
                every = np.ones(n, dtype=bool)
                model = _load_champion(uri, theirs, test_set.plugins)
                predicted = _predict_on(model, test_set, every)
                value = _score_of(model, test_set, every, predicted, metric)
                scores = ChampionScores(value, None, n, n, None, unknown=unknown)
        if known is None:
            if not paired:
                return scores
            with _failing_as(f"this model ({challenger_uri}) could not be scored on the "
                             "test rows", CHALLENGER_REMEDY):
                ours_model = _load_registered(challenger_uri, ours, test_set.plugins)
                both = _paired(test_set, every, model, predicted, ours_model)
            return replace(scores, paired=both)
        with _failing_as(champion_failed, remedy):
            hashes = row_hashes(test_set.X, test_set.y)
            trained = seen(hashes, known)
        with _failing_as(f"the fingerprint of this model's training rows ({challenger_uri}) "
                         "could not be read", CHALLENGER_REMEDY):
            own, _ = _training_rows(challenger_uri, ours)
        twice = np.zeros(n, dtype=bool) if own is None else seen(hashes, own)
        clean = ~trained & ~twice
        counts = ChampionScores(None, None, n, int(clean.sum()), int(trained.sum()),
                                int(twice.sum()))
        if not counts.enough:
            return counts
        with _failing_as(champion_failed, remedy):
            model = _load_champion(uri, theirs, test_set.plugins)
            predicted = _predict_on(model, test_set, clean)
            champion = _score_of(model, test_set, clean, predicted, metric)
        with _failing_as(f"this model ({challenger_uri}) could not be scored on the test rows "
                         "neither model trained on", CHALLENGER_REMEDY):
            ours_model = _load_registered(challenger_uri, ours, test_set.plugins)
            both = _paired(test_set, clean, model, predicted, ours_model)
            challenger = _score_of(ours_model, test_set, clean, both.challenger, metric)
    return replace(counts, champion=champion, challenger=challenger,
                   paired=both if paired else None)


def same_rows_predictions(
    name: str, version: str, challenger_uri: str, test_set: TestSet
) -> PairedPredictions:
    """Both models' predictions on every row of ``test_set``: version ``version`` of ``name``
    (a champion trained and tested on the same prepared data, so that none of these rows was
    a training row of either, bar a row that is in the data twice, as in its recorded test
    metric) and the model at ``challenger_uri``. Fails as :func:`champion_scores` does."""
    uri, every = _version_uri(name, version), np.ones(len(test_set.y), dtype=bool)
    with _model_directories() as (theirs, ours):
        with _failing_as(f"champion v{version} of {name!r} could not be re-evaluated on this "
                         "test set", champion_remedy(name)):
            model = _load_champion(uri, theirs, test_set.plugins)
            predicted = _predict_on(model, test_set, every)
        with _failing_as(f"this model ({challenger_uri}) could not be scored on the test rows",
                         CHALLENGER_REMEDY):
            return _paired(test_set, every, model, predicted,
                           _load_registered(challenger_uri, ours, test_set.plugins))


def _paired(test_set: TestSet, rows: np.ndarray, champion: Any, predicted: np.ndarray,
            challenger: Any) -> PairedPredictions:
    """The champion's ``predicted`` values and ``challenger``'s on the test rows ``rows``."""
    return PairedPredictions(
        np.asarray(test_set.y)[rows], predicted,
        _predict_on(challenger, test_set, rows, champion=False),
        _classes(champion), _classes(challenger),
    )


def _check_classes(model: Any, y: np.ndarray) -> None:
    """Raise :class:`NotCompared` when ``y`` holds a class ``model`` does not predict."""
    known = list(getattr(model, "classes_", ()))
    unknown = sorted({str(label) for label in np.unique(y)} - {str(c) for c in known})
    if unknown:
        raise NotCompared(
            "classes differ",
            f"which never predicts the test rows' class{'es' if len(unknown) > 1 else ''} "
            f"{_names(unknown)} (it predicts {_names([str(c) for c in known])})"
        )


def promote_by_hand(name: str, version: str) -> str:
    """How to make ``version`` the champion anyway: the MLflow client call (with
    ``MLFLOW_TRACKING_URI`` set to the project's store when it is not ``./mlflow.db``), quoted
    for a POSIX shell whatever the model name holds."""
    call = (f"from mlflow import MlflowClient; MlflowClient().set_registered_model_alias("
            f"{json.dumps(name)}, \"champion\", \"{version}\")")
    return (
        f"to promote it anyway: python -c {shlex.quote(call)} "
        "(models:/<name>@champion consumers must then send its columns)"
    )

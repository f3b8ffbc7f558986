"""The champion beside a challenger, for the registry gate: whether the two take the same
inputs (their MLflow signatures), and the champion's test metric on the challenger's test rows,
so that the gate compares two models on the same data with the same metric.

The champion is loaded from its registered skops file with gdlab's own loader
(:func:`gdlab.experiment.persist.load_model`: gdlab's classes and the named plug-ins trusted,
nothing else), never through a pickle."""

from __future__ import annotations

import json
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdlab.experiment.metrics import score
from gdlab.experiment.persist import UntrustedTypes
from gdlab.text import listed

SHOWN_COLUMNS = 8
"""Columns named in a reason before it says "and N more"."""


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


class ChampionNotComparable(ValueError):
    """The champion could not be scored on the test set (its model cannot be read, loaded or
    predict on the rows): nothing is registered and no alias moves."""


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


def input_columns(model_uri: str) -> dict[str, str] | None:
    """``{column: type}`` of the inputs ``model_uri``'s signature declares, or None without a
    signature. Raises :class:`ChampionNotComparable` when its ``MLmodel`` cannot be read."""
    try:
        return _columns(_model_info(model_uri).signature)
    except Exception as exc:  # noqa: BLE001 - any store or format error: named, one line
        raise ChampionNotComparable(
            f"cannot read the signature of {model_uri}: {_one_line(exc)}"
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


def _load_registered(name: str, version: str, directory: str, plugins: tuple[str, ...]) -> Any:
    """The fitted pipeline of version ``version`` of ``name``: its skops file, loaded with
    gdlab's loader. A model saved otherwise (pickle, cloudpickle) is refused, never loaded."""
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    from gdlab.experiment.persist import load_model

    uri = _version_uri(name, version)
    flavor = _model_info(uri).flavors.get("sklearn") or {}
    if flavor.get("serialization_format") != "skops" or not flavor.get("pickled_model"):
        raise ValueError(
            f"its model is not a skops file (serialization_format "
            f"{flavor.get('serialization_format')!r}); gdlab loads no pickle"
        )
    local = ModelsArtifactRepository(uri).download_artifacts(flavor["pickled_model"], directory)
    return load_model(Path(local), plugins=plugins)


def champion_score(name: str, version: str, test_set: TestSet, metric: str) -> float:
    """Version ``version`` of ``name`` (the champion) scored on ``test_set`` with ``metric``,
    as evaluate scores the challenger (:func:`gdlab.experiment.metrics.score`, the columns
    given in the order the champion was fitted on). Any failure (the artifact is gone or
    damaged, a type the loader does not trust, the rows do not fit the model) raises
    :class:`ChampionNotComparable` with one line saying why."""
    with tempfile.TemporaryDirectory(prefix="gdlab-champion-") as directory:
        try:
            try:
                model = _load_registered(name, version, directory, test_set.plugins)
            except UntrustedTypes as exc:
                raise NotCompared(
                    "untrusted plug-in",
                    f"whose model uses {listed(exc.types, SHOWN_COLUMNS)}, which no plug-in "
                    "params.yaml names defines (gdlab loads no code it is not told to trust; "
                    "name that plug-in in params.yaml again to compare them)",
                ) from exc
            if test_set.task != "regression":
                _check_classes(model, test_set.y)
            columns = list(getattr(model, "feature_names_in_", test_set.X.columns))
            value = score(model, test_set.X[columns], test_set.y, test_set.task)[metric]
        except NotCompared:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure: the gate decides nothing
            raise ChampionNotComparable(
                f"champion v{version} of {name!r} could not be re-evaluated on this test set: "
                f"{_one_line(exc)}"
            ) from exc
    return float(value)


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

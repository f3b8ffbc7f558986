"""How the logged model answers a request it cannot predict on (``mlflow models serve``).

MLflow's scoring server passes on the message of an ``MlflowException`` only: any other error
of the model becomes "Encountered an unexpected error while evaluating the model", naming
nothing. So the model is saved by MLflow's scikit-learn flavour, unchanged, except that its
``python_function`` flavour loads through this module (the pyfunc ``loader_module``): the
scikit-learn wrapper, whose ``ValueError`` (e.g. NaN in a feature) becomes HTTP 400 with a
message naming the columns and rows of the request and what the model takes.
``mlflow.sklearn.load_model`` reads the scikit-learn flavour and is not affected.

prepare's one-hot encoding is not inside the model: a request sends ``city=a``, ``city=b``, …
itself. MLflow's signature check drops a column the signature lacks (a level the model never
saw, ``city=d``) with a warning in the server's log only, and the model would score such a row
as one of no level, or a row that sets two levels, as if it were valid. The groups prepare
one-hot encoded for the model are in its MLmodel metadata (:data:`ONE_HOT_KEY`); such rows are
refused. Columns the data already held as numbers are never checked, whatever their names (a
user's own ``a=1``, ``a=2`` that may both be 1, or drop-first ``city=b``, ``city=c``).

A request chooses what the model answers with the inference param :data:`PREDICT_METHOD`
(``"params": {"predict_method": "predict_proba"}``): ``predict`` (the default: class labels,
a regressor's predictions) or, for a classifier, ``predict_proba``, a table of one column per
class (``classes_`` order) named by its label as a string. The signature declares the param
(:func:`params_schema`): MLflow drops, with a warning in the server's log only, a param the
signature lacks. Both answers go through the same refusals.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow import pyfunc
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.models.model import MLMODEL_FILE_NAME
from mlflow.types import DataType, ParamSchema, ParamSpec

from gdlab.estimators.nonfinite import KINDS, SHOWN, kinds_named, nonfinite_cells
from gdlab.text import listed

FLAVOR_NAME = "sklearn"
"""What MLflow records as the logged model's flavour (``Model.log(flavor_name=...)``)."""
ONE_HOT_KEY = "gdlab_one_hot"
"""The MLmodel metadata key of the model's one-hot groups: ``{"groups": {column: [its
one-hot columns]}, "none_allowed": bool}``, as prepare recorded them (``meta.json``'s
``one_hot``; a row may set no level only when ``data.missing`` imputes: prepare then encodes a
missing text value as no level, and refuses it otherwise). A model logged before the groups
came from prepare holds groups told from its input example's column names; they are read the
same way (served, such a model runs the copy of gdlab logged with it anyway)."""
TRAINING_ROWS_KEY = "gdlab_training_rows"
"""The MLmodel metadata key that named, in a model logged by an earlier gdlab, the fingerprint
of its training rows saved beside it (:mod:`gdlab.data.fingerprint`): ``{"file":
"training_rows.npy", "hashes": n, "scheme": "gdlab-rows-1"}``. Read only, for such models:
the fingerprint tells whoever holds it and a person's row whether that row was trained on,
and its label, so a model's directory no longer holds it; train keeps it with its run
(:mod:`gdlab.tracking.training_rows`)."""
PREDICT_METHOD = "predict_method"
"""The inference param that chooses what the served model answers: ``"predict"`` (default) or
:data:`PROBABILITIES`."""
PROBABILITIES = "predict_proba"
"""The :data:`PREDICT_METHOD` of a classifier's class probabilities."""


def params_schema() -> ParamSchema:
    """The inference params the served model's signature declares: :data:`PREDICT_METHOD`, a
    string defaulting to ``"predict"``. Regressors declare it too, so that a request for
    probabilities is refused (HTTP 400) instead of answered with predictions."""
    return ParamSchema([ParamSpec(PREDICT_METHOD, DataType.string, "predict")])


def save_model(
    sk_model: Any,
    path: str,
    mlflow_model: Model | None = None,
    skops_file: str | None = None,
    **kwargs: Any,
) -> None:
    """``mlflow.sklearn.save_model`` (same arguments), with the pyfunc flavour loading through
    this module; ``Model.log(flavor=gdlab.served, ...)`` calls it. The pyfunc's method is
    ``predict``: :class:`RequestChecked` answers for it, and a request chooses probabilities
    with the param :data:`PREDICT_METHOD` (``pyfunc_predict_fn="predict_proba"`` would reach
    the model past it). Nothing of the training rows is saved with the model (their
    fingerprint is the train run's, :mod:`gdlab.tracking.training_rows`). A skops model file
    holds the bytes train writes to ``models/model.skops`` (:func:`_write_pipeline_bytes`):
    ``skops_file``'s, when given (the file train wrote, so the model is not serialised once
    more), else :func:`gdlab.experiment.persist.model_bytes` of ``sk_model``."""
    if kwargs.get("pyfunc_predict_fn", "predict") != "predict":
        raise ValueError(
            f"pyfunc_predict_fn={kwargs['pyfunc_predict_fn']!r}: gdlab's served model answers "
            f"'predict' (its refusals name the request's bad cells); a request asks for "
            f"probabilities with the param {PREDICT_METHOD}={PROBABILITIES!r}"
        )
    mlflow.sklearn.save_model(sk_model, path, mlflow_model=mlflow_model, **kwargs)
    model = Model.load(path) if mlflow_model is None else mlflow_model
    flavor = model.flavors.get(FLAVOR_NAME, {})
    if flavor.get("serialization_format") == "skops":
        _write_pipeline_bytes(sk_model, os.path.join(path, flavor["pickled_model"]),
                              skops_file)
    model.flavors[pyfunc.FLAVOR_NAME][pyfunc.MAIN] = __name__
    model.save(os.path.join(path, MLMODEL_FILE_NAME))


def _write_pipeline_bytes(sk_model: Any, path: str, skops_file: str | None = None) -> None:
    """Replace the skops file MLflow wrote at ``path`` (object ids, random names and the time
    in it: new bytes on every save) with gdlab's reproducible one
    (:func:`gdlab.experiment.persist.model_bytes`): the logged model's file is then byte for
    byte the ``models/model.skops`` evaluate tested, which register checks before it registers
    it (:mod:`gdlab.tracking.logged_model`), and its sha256 is the version's
    ``gdlab.model_sha256``. The same model, loaded the same way (MLflow's loader, its trusted
    types). ``skops_file``: a file holding those bytes already (train's)."""
    from gdlab.atomic import write_bytes_atomic
    from gdlab.experiment.persist import model_bytes

    data = Path(skops_file).read_bytes() if skops_file else model_bytes(sk_model)
    write_bytes_atomic(path, data)


def _refuses_nan(predict: Callable[[pd.DataFrame], Any], frame: pd.DataFrame) -> bool | None:
    """Whether the model also refuses the rows of ``frame`` whose only non-finite values are
    NaN (a model that imputes takes them: its scaler refused only the infinite values); None
    when there are no such rows."""
    values = frame.to_numpy(dtype=float)
    rows = np.isnan(values).any(axis=1) & ~np.isinf(values).any(axis=1)
    if not rows.any():
        return None
    try:
        predict(frame[rows])
    except ValueError as exc:
        return "NaN" in kinds_named(str(exc))
    return False


def refusal(data: Any, error: ValueError, predict: Callable[[pd.DataFrame], Any]) -> str:
    """The answer to a request on which the model (``predict``) raised ``error``: where the
    request holds the non-finite values the model refuses, by column and request row, and
    what to send instead; else the model's own message."""
    kinds = kinds_named(str(error))
    if kinds and isinstance(data, pd.DataFrame):
        frame = data.select_dtypes(include="number")
        takes_nan = False
        if "NaN" not in kinds:
            refuses = _refuses_nan(predict, frame)
            kinds, takes_nan = (KINDS if refuses else kinds), refuses is False
        cells = nonfinite_cells(frame, list(frame.columns), KINDS if "NaN" in kinds else kinds)
        if cells:
            shown = listed(cells, SHOWN, sep="; ")
            allowed = "finite numbers or null" if takes_nan else "finite numbers"
            return (
                f"the request holds values this model does not take: {shown} (rows count "
                f"from 0 in the request's data); send {allowed} in every column"
            )
    return f"the model refused the request: {error}"


def one_hot_refusal(data: Any, one_hot: dict[str, Any] | None) -> str | None:
    """Why the request ``data`` cannot be scored as prepare would have encoded it: the rows
    that set several levels of a one-hot group, a value other than 0 and 1, or no level (when
    ``one_hot["none_allowed"]`` is false), by column and request row; None when there are none
    (a missing value is left to the model: it refuses or imputes it)."""
    if not one_hot or not isinstance(data, pd.DataFrame):
        return None
    found = []
    for column, levels in one_hot.get("groups", {}).items():
        if not set(levels) <= set(data.columns):
            continue  # MLflow's signature check names the missing columns
        values = data[levels].to_numpy(dtype=float)
        known = ~np.isnan(values).any(axis=1)
        problems = [
            ("holds a value other than 0 and 1", known & ~np.isin(values, (0.0, 1.0)).all(axis=1)),
            ("sets several levels", known & ((np.nan_to_num(values) == 1.0).sum(axis=1) > 1)),
        ]
        if not one_hot.get("none_allowed", False):
            problems.append(("sets no level", known & (np.nan_to_num(values) == 0.0).all(axis=1)))
        for what, rows in problems:
            where = np.flatnonzero(rows)
            if len(where):
                shown = listed([str(r) for r in where], SHOWN)
                found.append(f"column {column!r} {what} in row{'s' * (len(where) > 1)} {shown}")
    if not found:
        return None
    groups = one_hot["groups"]
    encodings = "; ".join(
        f"{column!r} as {', '.join(map(repr, levels))}" for column, levels in groups.items()
    )
    return (
        f"the request's one-hot columns are not an encoding the model was trained on: "
        f"{listed(found, SHOWN, sep='; ')} (rows count from 0 in the request's data). The model "
        f"takes {encodings}: exactly one of a column's levels 1, the others 0. A level it was "
        "not trained on cannot be scored (sent as a column of its own, it is dropped as a "
        "column the signature lacks)"
    )


def _probability_table(model: Any, rows: Any) -> pd.DataFrame:
    """``model.predict_proba(rows)`` as a table: one column per class, in ``classes_`` order,
    named by the class label as a string (``"0"``, ``"True"``, ``"lima"``)."""
    proba = model.predict_proba(rows)
    index = rows.index if isinstance(rows, pd.DataFrame) else None
    return pd.DataFrame(proba, columns=[str(c) for c in model.classes_], index=index)


class RequestChecked:
    """MLflow's scikit-learn pyfunc wrapper whose ``predict`` answers the request's
    :data:`PREDICT_METHOD` (labels by default, a classifier's probabilities when asked),
    refuses rows whose one-hot columns are no encoding the model was trained on
    (:func:`one_hot_refusal`) and turns the model's ``ValueError`` into an ``MlflowException``
    (HTTP 400) that says what is wrong; everything else as is."""

    def __init__(self, wrapped: Any, one_hot: dict[str, Any] | None = None) -> None:
        self._wrapped = wrapped
        self._one_hot = one_hot

    def __getattr__(self, name: str) -> Any:
        if name == "_wrapped":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self._wrapped, name)

    def _method(self, params: dict[str, Any] | None) -> Callable[[Any], Any]:
        """What answers the request whose inference params are ``params``: the wrapped
        model's ``predict`` or its probability table; an ``MlflowException`` (HTTP 400)
        naming :data:`PREDICT_METHOD` and the values this model takes for any other."""
        method = (params or {}).get(PREDICT_METHOD, "predict")
        model = self._wrapped.get_raw_model()
        classifies = hasattr(model, PROBABILITIES) and hasattr(model, "classes_")
        if method == "predict":
            return lambda rows: self._wrapped.predict(rows, params)
        if method == PROBABILITIES and classifies:
            return lambda rows: _probability_table(model, rows)
        allowed = (
            f"'predict' (the class labels, the default) or {PROBABILITIES!r} (one column of "
            "probabilities per class, named by its label)"
            if classifies else "'predict' (the default: this model gives no class probabilities)"
        )
        raise MlflowException.invalid_parameter_value(
            f"params: {PREDICT_METHOD}={method!r} is not a method this model answers: send "
            f"{allowed}"
        )

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The answer of the request's :data:`PREDICT_METHOD` (labels by default); a
        ``ValueError`` becomes a named refusal."""
        method = self._method(params)
        if answer := one_hot_refusal(data, self._one_hot):
            raise MlflowException.invalid_parameter_value(answer)
        try:
            return method(data)
        except ValueError as exc:
            raise MlflowException.invalid_parameter_value(refusal(data, exc, method)) from exc


def _load_pyfunc(path: str) -> RequestChecked:
    """The pyfunc loader MLflow calls (``loader_module``): scikit-learn's, wrapped, with the
    one-hot groups of the model's metadata (none in a model logged before gdlab kept them)."""
    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    metadata = Model.load(model_dir).metadata or {}
    return RequestChecked(mlflow.sklearn._load_pyfunc(path), metadata.get(ONE_HOT_KEY))

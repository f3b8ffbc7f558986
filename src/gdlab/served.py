"""How the logged model answers a request it cannot predict on (``mlflow models serve``).

MLflow's scoring server passes on the message of an ``MlflowException`` only: any other error
of the model becomes "Encountered an unexpected error while evaluating the model", naming
nothing. So the model is saved by MLflow's scikit-learn flavour, unchanged, except that its
``python_function`` flavour loads through this module (the pyfunc ``loader_module``): the
scikit-learn wrapper, whose ``ValueError`` (e.g. NaN in a feature) becomes HTTP 400 with a
message naming the columns and rows of the request and what the model takes.
``mlflow.sklearn.load_model`` reads the scikit-learn flavour and is not affected.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow import pyfunc
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.models.model import MLMODEL_FILE_NAME

from gdlab.estimators.nonfinite import KINDS, SHOWN, kinds_named, nonfinite_cells
from gdlab.text import listed

FLAVOR_NAME = "sklearn"
"""What MLflow records as the logged model's flavour (``Model.log(flavor_name=...)``)."""


def save_model(sk_model: Any, path: str, mlflow_model: Model | None = None, **kwargs: Any) -> None:
    """``mlflow.sklearn.save_model`` (same arguments), with the pyfunc flavour loading through
    this module; ``Model.log(flavor=gdlab.served, ...)`` calls it. Only ``predict`` is
    served: :class:`RequestChecked` answers for it (``pyfunc_predict_fn="predict_proba"`` would
    reach the model past it)."""
    if kwargs.get("pyfunc_predict_fn", "predict") != "predict":
        raise ValueError(
            f"pyfunc_predict_fn={kwargs['pyfunc_predict_fn']!r}: gdlab's served model answers "
            "'predict' only (its refusals name the request's bad cells)"
        )
    mlflow.sklearn.save_model(sk_model, path, mlflow_model=mlflow_model, **kwargs)
    model = Model.load(path) if mlflow_model is None else mlflow_model
    model.flavors[pyfunc.FLAVOR_NAME][pyfunc.MAIN] = __name__
    model.save(os.path.join(path, MLMODEL_FILE_NAME))


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


class RequestChecked:
    """MLflow's scikit-learn pyfunc wrapper whose ``predict`` turns the model's ``ValueError``
    into an ``MlflowException`` (HTTP 400) that says what is wrong; everything else as is."""

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def __getattr__(self, name: str) -> Any:
        if name == "_wrapped":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self._wrapped, name)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The wrapped model's predictions; a ``ValueError`` becomes a named refusal."""
        try:
            return self._wrapped.predict(data, params)
        except ValueError as exc:
            answer = refusal(data, exc, lambda rows: self._wrapped.predict(rows, params))
            raise MlflowException.invalid_parameter_value(answer) from exc


def _load_pyfunc(path: str) -> RequestChecked:
    """The pyfunc loader MLflow calls (``loader_module``): scikit-learn's, wrapped."""
    return RequestChecked(mlflow.sklearn._load_pyfunc(path))

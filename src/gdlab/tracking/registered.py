"""Use a registered model (``models:/<name>@champion``) without running its logger's code.

``mlflow.sklearn.load_model``, ``mlflow.pyfunc.load_model`` and ``mlflow models serve`` on a
registry URI run whatever the model's logger put there: a pickle or cloudpickle file (code run
as it loads), the skops types its ``MLmodel`` declares trusted, the pyfunc ``loader_module``
and its ``code_paths`` (a copy of any package, put first on ``sys.path``). On a shared tracking
server, anyone who can register a version and move an alias chooses them.

Here the alias is resolved once (:func:`resolve_version`) and only the model's skops file is
downloaded and loaded, with gdlab's loader (:func:`gdlab.experiment.persist.load_model`: gdlab's
classes, skops' defaults and the plug-ins the caller names trusted, nothing else); a model
saved otherwise is refused, never loaded (:class:`RefusedModel`, naming the version). The
``MLmodel`` (YAML, read as plain data) gives only what serving needs besides the pipeline: the
input signature and gdlab's one-hot groups, both checked against the pipeline
(:func:`serving_metadata`)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gdlab.experiment.persist import UntrustedTypes
from gdlab.tracking.champion import _load_registered, _model_info, _one_line

NUMBER_TYPES = ("double", "float", "long", "integer", "boolean")
"""The column types of a gdlab model's input signature (prepared data is numbers)."""


class RefusedModel(ValueError):
    """A registered model gdlab does not load (not a skops file, a type gdlab does not trust,
    a signature or metadata that does not fit the pipeline): one line naming the version."""


@dataclass(frozen=True)
class RegisteredVersion:
    """The model version ``requested`` (a ``models:/`` URI, alias or not) resolved to."""

    requested: str
    name: str | None
    version: str | None
    model_id: str | None = None
    """A logged model's id (``models:/m-…``) when ``requested`` names no registered model."""

    @property
    def uri(self) -> str:
        """The URI of this very version: ``models:/<name>/<version>`` (an alias moved later
        does not change what it names)."""
        if self.model_id is not None:
            return f"models:/{self.model_id}"
        return f"models:/{self.name}/{self.version}"

    def __str__(self) -> str:
        if self.model_id is not None:
            return f"logged model {self.model_id}"
        pinned = f"{self.name!r} v{self.version}"
        return pinned if self.requested == self.uri else f"{pinned} ({self.requested})"


def resolve_version(model_uri: str) -> RegisteredVersion:
    """The version ``model_uri`` names now (``models:/<name>@<alias>``, ``models:/<name>/<n>``,
    ``…/latest`` or a logged model's ``models:/<id>``), asked of the registry once. A URI that
    is no ``models:/`` URI raises ValueError naming it; a name, alias or version the registry
    does not hold, MLflow's error."""
    from mlflow import MlflowClient
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    if not model_uri.startswith("models:/"):
        raise ValueError(
            f"model URI {model_uri!r} is not a registry URI: give models:/<name>@<alias> or "
            "models:/<name>/<version> (a local models/model.skops loads with "
            "gdlab.experiment.persist.load_model)"
        )
    found = get_model_name_and_version(MlflowClient(), model_uri)
    if len(found) == 1:
        return RegisteredVersion(model_uri, None, None, model_id=str(found[0]))
    return RegisteredVersion(model_uri, str(found[0]), str(found[1]))


def load_version(version: RegisteredVersion, plugins: Sequence[str] = ()) -> Any:
    """The fitted pipeline of ``version``: its skops file only, loaded with gdlab's loader
    (gdlab's types and those of ``plugins``, the import paths params.yaml names, trusted).
    :class:`RefusedModel` naming the version when it is no skops file, uses a type nothing
    trusts, or is damaged; nothing of it is run."""
    with tempfile.TemporaryDirectory(prefix="gdlab-registered-") as directory:
        try:
            return _load_registered(version.uri, directory, tuple(plugins))
        except UntrustedTypes as exc:
            why = (f": {exc.advice}" if exc.advice else
                   ", which neither gdlab, skops' defaults nor a plug-in named here define "
                   "(gdlab loads no code it is not told to trust; name the model's plug-ins: "
                   "plugins=['module:factory'])")
            raise RefusedModel(
                f"{version}: not loaded: it uses {', '.join(exc.types)}{why}"
            ) from exc
        except ValueError as exc:
            raise RefusedModel(f"{version}: not loaded: {_one_line(exc)}") from exc


def load_registered_model(model_uri: str, plugins: Sequence[str] = ()) -> Any:
    """The fitted pipeline (preprocessing + estimator) of the registered model ``model_uri``
    (e.g. ``models:/gdlab-model@champion``), loaded from its skops file with gdlab's trusted
    types and those of ``plugins`` (``["examples.lion:lion"]``), never through a pickle nor
    the model's own loader code: what ``mlflow.sklearn.load_model`` gives for a model gdlab
    logged, safe on a shared registry. :class:`RefusedModel` (a ValueError) naming the
    version otherwise."""
    return load_version(resolve_version(model_uri), plugins)


def _refuse(version: RegisteredVersion, why: str) -> RefusedModel:
    return RefusedModel(f"{version}: not served: {why}")


def _signature(version: RegisteredVersion, info: Any, pipeline: Any) -> Any:
    """The registry's input signature (plain data), checked: named number columns, those the
    pipeline was fitted on when it knows them; its outputs as they are and gdlab's inference
    params (:func:`gdlab.served.params_schema`)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec

    from gdlab.served import params_schema

    signature = info.signature
    if signature is None or signature.inputs is None:
        raise _refuse(version, "it was logged without an input signature")
    specs = signature.inputs.inputs
    if not specs or not all(isinstance(s, ColSpec) and s.name for s in specs):
        raise _refuse(version, "its input signature is not one of named columns")
    odd = [f"{s.name} ({getattr(s.type, 'name', s.type)})" for s in specs
           if str(getattr(s.type, "name", s.type)) not in NUMBER_TYPES]
    if odd:
        raise _refuse(version, f"its input signature has columns that are not numbers: "
                               f"{', '.join(odd)}")
    fitted = getattr(pipeline, "feature_names_in_", None)
    names = [str(s.name) for s in specs]
    if fitted is not None and sorted(map(str, fitted)) != sorted(names):
        raise _refuse(version, f"its input signature ({', '.join(names)}) is not the columns "
                               f"its pipeline was fitted on ({', '.join(map(str, fitted))})")
    return ModelSignature(signature.inputs, signature.outputs, params=params_schema())


def _one_hot(version: RegisteredVersion, info: Any, columns: list[str]) -> dict | None:
    """gdlab's one-hot groups from the registry's metadata, checked: ``{column: [its
    levels]}`` of strings, each level an input column, ``none_allowed`` a boolean."""
    import pandas as pd

    from gdlab.served import ONE_HOT_KEY
    from gdlab.tracking.model import one_hot_metadata

    entry = (info.metadata or {}).get(ONE_HOT_KEY)
    if entry is None:
        return None
    groups = entry.get("groups") if isinstance(entry, dict) else None
    sound = (
        isinstance(groups, dict)
        and all(isinstance(c, str) and isinstance(levels, list)
                and all(isinstance(level, str) for level in levels)
                for c, levels in groups.items())
        and isinstance(entry.get("none_allowed", False), bool)
    )
    if not sound:
        raise _refuse(version, f"its metadata {ONE_HOT_KEY} is not gdlab's one-hot groups "
                               "({column: [levels]}, none_allowed true or false)")
    try:
        return one_hot_metadata(entry, pd.DataFrame(columns=columns))
    except ValueError as exc:
        raise _refuse(version, str(exc)) from exc


def serving_metadata(version: RegisteredVersion, pipeline: Any) -> tuple[Any, dict | None]:
    """``(signature, metadata)`` to save ``pipeline`` (``version``'s, loaded by
    :func:`load_version`) for serving: the registry's input signature and one-hot groups
    (:data:`gdlab.served.ONE_HOT_KEY`), read from its ``MLmodel`` as plain data and checked
    against the pipeline; nothing else of it (no loader module, code paths, trusted types).
    :class:`RefusedModel` naming the version when they do not fit."""
    info = _model_info(version.uri)
    signature = _signature(version, info, pipeline)
    columns = [str(spec.name) for spec in signature.inputs.inputs]
    return signature, _one_hot(version, info, columns)

"""The model register is about to register, checked against the one evaluate tested.

evaluate scores ``models/model.skops``, the workspace copy; the registry serves the logged
model's skops file in the MLflow artifact store. train writes both from the same bytes
(:func:`gdlab.experiment.persist.model_bytes`, :func:`gdlab.served.save_model`), so the two
files must be byte for byte the same: a logged file cut short, overwritten or replaced since
would be registered, and promoted on metrics it never earned, unless register compares them
first (:func:`check_logged_model`). The sha256 it returns is that of the registered file, the
version's ``gdlab.model_sha256``."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from gdlab.data.prepared import file_sha256
from gdlab.experiment.persist import archive_problem
from gdlab.tracking.downloads import download_model_file
from gdlab.urls import redact_uri

RETRAIN = ("train again and rerun the stages after it: "
           "dvc repro --force --single-item train && dvc repro")
"""What to do about a logged model that is not the one evaluate tested."""


class LoggedModelDiffers(ValueError):
    """The logged model's skops file in the MLflow store cannot be read, is damaged, or is not
    the file evaluate tested: nothing may be registered from it. The message is one line
    naming the file and what to do."""


def store_location(model_uri: str) -> str:
    """Where the artifact store keeps the model at ``model_uri`` (``models:/m-...`` or
    ``models:/<name>/<version>``): ``file:///.../mlruns/models/m-.../artifacts``, credentials
    redacted; ``model_uri`` itself when the store cannot say."""
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    try:
        return redact_uri(ModelsArtifactRepository.get_underlying_uri(model_uri))
    except Exception:  # noqa: BLE001 - only a name for a message: the URI names it too
        return model_uri


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _logged_bytes(model_uri: str, directory: str) -> tuple[str, bytes]:
    """``(file name, bytes)`` of the skops file of the logged model at ``model_uri``, as its
    ``MLmodel`` names it."""
    from mlflow.models import get_model_info

    flavor = get_model_info(model_uri).flavors.get("sklearn") or {}
    if flavor.get("serialization_format") != "skops" or not flavor.get("pickled_model"):
        raise ValueError(f"its model is not a skops file (serialization_format "
                         f"{flavor.get('serialization_format')!r})")
    name = flavor["pickled_model"]
    local = download_model_file(model_uri, name, directory)
    return name, Path(local).read_bytes()


def check_logged_model(model_uri: str, tested: str | Path, remedy: str = RETRAIN) -> str:
    """The sha256 of the skops file of the logged model at ``model_uri`` once it is checked to
    be byte for byte ``tested`` (``models/model.skops``, the file evaluate scored). Raises
    :class:`LoggedModelDiffers`, naming the file in the store and saying what to do
    (``remedy``: train again), when it cannot be read, is damaged or differs."""
    tested = Path(tested)
    try:
        expected = file_sha256(tested)
    except OSError as exc:
        raise LoggedModelDiffers(
            f"{tested} cannot be read ({_one_line(exc)}): run train and evaluate first "
            "(dvc repro runs them); nothing registered, no alias moved") from exc
    where = store_location(model_uri)
    with tempfile.TemporaryDirectory(prefix="gdlab-logged-") as directory:
        try:
            name, data = _logged_bytes(model_uri, directory)
        except Exception as exc:  # noqa: BLE001 - any store or format error: one line
            raise LoggedModelDiffers(
                f"the logged model {model_uri} in the MLflow store ({where}) cannot be read, "
                f"so it cannot be checked to be the {tested} evaluate tested: "
                f"{_one_line(exc)}; nothing registered, no alias moved; {remedy}"
            ) from exc
    file = f"{where.rstrip('/')}/{name}"
    problem = archive_problem(data)
    if problem is not None:
        raise LoggedModelDiffers(
            f"the logged model {model_uri} in the MLflow store is damaged: {file} is not a "
            f"readable skops model file ({problem}), so it is not the {tested} evaluate "
            f"tested; nothing registered, no alias moved; {remedy}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise LoggedModelDiffers(
            f"the logged model {model_uri} in the MLflow store differs from the {tested} "
            f"evaluate tested: {file} has sha256 {digest[:12]}…, {tested} {expected[:12]}… "
            "(changed since train logged it, or logged by an older gdlab); nothing "
            f"registered, no alias moved; {remedy}")
    return digest


def check_reused_version(model_name: str, version: str, tested: str | Path) -> str:
    """:func:`check_logged_model` for an earlier registered version of the very model register
    is about to reuse (same file, code and data: no new version): its own file in the store
    must be ``tested`` too, or the aliases would move to a file nobody read. Training again
    makes the same model, which would reuse the same version: the remedy is to delete it."""
    delete = (f"python -c 'from mlflow import MlflowClient; MlflowClient()"
              f".delete_model_version(\"{model_name}\", \"{version}\")'")
    return check_logged_model(
        f"models:/{model_name}/{version}", tested,
        remedy=(f"this very model is registered as v{version}, the version whose file this is: "
                f"delete that version ({delete}) and run register again (dvc repro), which "
                "registers the model anew"))

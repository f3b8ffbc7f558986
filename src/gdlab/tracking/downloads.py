"""Download one file of a logged or registered model (``models:/...``) or of a run without
MLflow's download progress bar: register reads the champion's and the new model's files in
the middle of its own output lines, where a bar per file is noise."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

PROGRESS_BAR_KEY = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


@contextmanager
def _no_progress_bar() -> Iterator[None]:
    saved = os.environ.get(PROGRESS_BAR_KEY)
    os.environ[PROGRESS_BAR_KEY] = "false"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(PROGRESS_BAR_KEY, None)
        else:
            os.environ[PROGRESS_BAR_KEY] = saved


def download_model_file(model_uri: str, path: str, directory: str) -> str:
    """The local path of the file ``path`` of the model at ``model_uri``, downloaded to
    ``directory``."""
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    with _no_progress_bar():
        return ModelsArtifactRepository(model_uri).download_artifacts(path, directory)


def download_run_file(run_id: str, path: str, directory: str) -> str:
    """The local path of the artifact ``path`` of the run ``run_id``, downloaded to
    ``directory``."""
    from mlflow.artifacts import download_artifacts

    with _no_progress_bar():
        return download_artifacts(run_id=run_id, artifact_path=path, dst_path=directory)

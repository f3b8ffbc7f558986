"""Where the registry decision lock lives (never in the shared temporary directory, where
another user's file of the same name blocks or breaks register) and what a lock that cannot
be opened does: one line naming the file, nothing registered."""

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from gdlab import GDRegressor
from gdlab.tracking import log_sklearn_model, pipeline_run, register_and_gate
from gdlab.tracking.decision_lock import decision_lock, lock_path


def test_a_sqlite_store_keeps_its_lock_next_to_the_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = lock_path("sqlite:///mlflow.db", "gdlab-model")
    absolute = lock_path(f"sqlite:///{tmp_path}/stores/shared.db", "gdlab-model")
    assert relative.parent == tmp_path and relative.name.startswith(".mlflow.db.gdlab-registry-")
    assert absolute.parent == tmp_path / "stores" and absolute.name.endswith(".lock")
    # one lock per store and name
    assert lock_path("sqlite:///mlflow.db", "other") != relative
    assert lock_path("sqlite:///other.db", "gdlab-model").parent == tmp_path


def test_any_other_store_keeps_its_lock_in_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = lock_path("http://127.0.0.1:5000", "gdlab-model")
    assert path.parent == tmp_path / "cache" / "gdlab"
    for uri in ("sqlite:///mlflow.db", "http://127.0.0.1:5000", "postgresql://db/x"):
        assert lock_path(uri, "m").parent != Path(tempfile.gettempdir())
    with decision_lock("http://127.0.0.1:5000", "gdlab-model"):
        assert path.exists()


def test_the_lock_file_is_ignored_by_git():
    """It sits in the project's root beside mlflow.db: it must not make the workspace look
    changed (lineage tags a dirty workspace)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    name = lock_path(f"sqlite:///{root}/mlflow.db", "gdlab-model").name
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", name], cwd=root)
    assert ignored.returncode == 0, f"{name} is not git-ignored"


def test_a_lock_that_cannot_be_opened_stops_register_before_anything_is_registered(
        session, tmp_path):
    """A lock path that cannot be opened (here a directory stands there; another user's 0600
    file does the same): ValueError naming the file and what to do; the model name gets no
    version."""
    client = session.client
    path = lock_path(str(client.tracking_uri), "locked-out")
    path.mkdir(parents=True)
    try:
        X = pd.DataFrame({"x": [0.0, 1.0]})
        model = GDRegressor(max_epochs=3, random_state=0).fit(X, [0.0, 1.0])
        with pipeline_run(experiment_id=session.experiment_id) as run:
            info = log_sklearn_model(model, X.head(1), include_code=False, verify=False)
        with pytest.raises(ValueError, match="cannot open the registry decision lock") as err:
            register_and_gate(client, model_name="locked-out", model_uri=info.model_uri,
                              run_id=run.info.run_id, metric="rmse", value=1.0)
        assert str(path) in str(err.value) and "register.model_name 'locked-out'" in str(err.value)
        with pytest.raises(MlflowException):
            client.get_registered_model("locked-out")
    finally:
        path.rmdir()

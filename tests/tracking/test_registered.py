"""Loading a registered champion safely (:mod:`gdlab.tracking.registered`): the skops file
alone with gdlab's trusted types; a pickle that anyone able to register a version put there is
refused, never run (``mlflow.sklearn.load_model`` runs it: the control)."""

from __future__ import annotations

import mlflow.sklearn
import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from gdlab.tracking.registered import (
    RefusedModel,
    load_registered_model,
    resolve_version,
    serving_metadata,
)
from tests.registered_models import ONE_HOT, city_rows, cloudpickle_champion, gdlab_champion


def test_the_champion_loads_as_the_pipeline_it_was(session):
    pipeline = gdlab_champion(session.client, "genuine")
    loaded = load_registered_model("models:/genuine@champion")
    assert isinstance(loaded, Pipeline)
    X, _ = city_rows(seed=7)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))
    version = resolve_version("models:/genuine@champion")
    assert (version.name, version.version, version.uri) == ("genuine", "1", "models:/genuine/1")
    signature, metadata = serving_metadata(version, loaded)
    assert [spec.name for spec in signature.inputs.inputs] == list(X.columns)
    assert signature.params.params[0].name == "predict_method"
    assert metadata == {"gdlab_one_hot": ONE_HOT}


def test_a_cloudpickle_champion_is_refused_without_running_it(session, tmp_path):
    marker = tmp_path / "ran"
    version = cloudpickle_champion(session.client, "hostile", marker)
    with pytest.raises(RefusedModel) as refused:
        load_registered_model("models:/hostile@champion")
    message = str(refused.value)
    assert message.startswith(f"'hostile' v{version} (models:/hostile@champion): not loaded: ")
    assert "not a skops file (serialization_format 'cloudpickle')" in message
    assert "\n" not in message
    assert not marker.exists()
    mlflow.sklearn.load_model("models:/hostile@champion")  # the control: MLflow runs it
    assert marker.exists()


def test_a_uri_outside_the_registry_is_refused_naming_it():
    with pytest.raises(ValueError, match="model URI 'runs:/abc/model' is not a registry URI"):
        resolve_version("runs:/abc/model")


def test_a_skops_champion_with_a_type_gdlab_does_not_trust_is_refused_naming_it(session):
    # skops file, but its MLmodel lists a foreign function as trusted (MLflow's loader would
    # trust it): gdlab's loader trusts its own list only
    import mlflow
    from sklearn.preprocessing import FunctionTransformer

    from tests.registered_models import register_champion

    X, y = city_rows()
    model = FunctionTransformer(func=np.linalg.norm)
    model.fit(X, y)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", serialization_format="skops", pip_requirements=["mlflow"],
            skops_trusted_types=["numpy.linalg.norm", "numpy.linalg._linalg.norm"])
    version = register_champion(session.client, "foreign", info.model_uri)
    with pytest.raises(RefusedModel, match=rf"^'foreign' v{version} \(models:/foreign@champion\): "
                       r"not loaded: it uses numpy\.linalg.*norm"):
        load_registered_model("models:/foreign@champion")


def test_gdlab_serve_saves_no_fingerprint_even_of_an_old_layout_champion(session, tmp_path):
    """A champion logged by an earlier gdlab holds the fingerprint of its training rows in its
    directory (named in its MLmodel): ``gdlab serve``'s local copy of it holds neither."""
    from mlflow.models import Model

    from gdlab.data.fingerprint import fingerprint, save_fingerprint
    from gdlab.serve import save_for_serving
    from gdlab.served import TRAINING_ROWS_KEY

    pipeline = gdlab_champion(session.client, "old-layout")
    version = resolve_version("models:/old-layout@champion")
    source = session.client.get_model_version("old-layout", version.version).source
    logged = session.client.get_logged_model(source.removeprefix("models:/"))
    directory = logged.artifact_location.removeprefix("file://")
    X, y = city_rows()
    mlmodel = Model.load(directory)
    mlmodel.metadata = {**(mlmodel.metadata or {}),
                        TRAINING_ROWS_KEY: save_fingerprint(directory, fingerprint(X, y))}
    mlmodel.save(f"{directory}/MLmodel")
    assert TRAINING_ROWS_KEY in mlflow.models.get_model_info(version.uri).metadata

    loaded = load_registered_model("models:/old-layout@champion")
    signature, metadata = serving_metadata(version, loaded)
    save_for_serving(loaded, tmp_path / "served", signature, metadata)
    assert sorted(p.name for p in (tmp_path / "served").rglob("*.npy")) == []
    assert TRAINING_ROWS_KEY not in (Model.load(str(tmp_path / "served")).metadata or {})
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def test_a_champion_whose_named_plugin_cannot_be_imported_says_so(session, tmp_path,
                                                                    monkeypatch):
    """The plug-in is named but its module is not importable here: the refusal says so and
    what to do, not that the plug-in's types are untrusted (it was named)."""
    import sys

    from gdlab import GDRegressor
    from gdlab.tracking.model import log_sklearn_model
    from tests.registered_models import register_champion

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "reg_plugins.py").write_text(
        "from functools import partial\n\n\n"
        "def _halve(base_lr, epoch):\n    return base_lr * 0.5 ** epoch\n\n\n"
        "def halving(base_lr):\n    return partial(_halve, base_lr)\n")
    monkeypatch.syspath_prepend(str(plugins))
    X, y = city_rows()
    model = GDRegressor(schedule="reg_plugins:halving", max_epochs=3, random_state=0)
    model.fit(X, y.astype(float))
    with mlflow.start_run():
        info = log_sklearn_model(model, X.head(3), include_code=False, verify=False)
    version = register_champion(session.client, "plugged", info.model_uri)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(plugins)])
    monkeypatch.delitem(sys.modules, "reg_plugins")
    with pytest.raises(RefusedModel) as refused:
        load_registered_model("models:/plugged@champion", plugins=["reg_plugins:halving"])
    assert str(refused.value) == (
        f"'plugged' v{version} (models:/plugged@champion): not loaded: cannot import module "
        "'reg_plugins' (No module named 'reg_plugins'): run from the project directory (where "
        "the plug-in's package lives) or put it on PYTHONPATH")

"""Issue 6, point 4: models are safe to load, servers stay on the machine, secrets stay secret.

- The logged model is skops, not pickle, with an explicit list of trusted types (gdlab's own);
  a model file holding any other type is refused on load, naming it.
- The register stage only registers the model its own train run logged in its own store; a
  ``models/run.json`` pointing elsewhere is refused and the registry is left alone.
- Every server recipe (Makefile, README, docs, ``python -m gdlab.server``) binds 127.0.0.1.
- A tracking URI with a password is refused in params.yaml and redacted from failure tags,
  logged params and tags, log records and tracebacks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import mlflow
import pytest
import skops.io as sio
from sklearn.preprocessing import StandardScaler

from gdlab.experiment.persist import TRUSTED_NAMES, load_model, save_model
from gdlab.tracking import FAILURE_TAG, log_params, log_tags, open_session, pipeline_run
from tests.reliability.foreign import Payload
from tests.reliability.harness import REPO

SECRET = "s3cret-Pa55"


def test_logged_model_is_skops_with_explicit_trusted_types(baseline):
    client = baseline.client()
    version = client.get_model_version_by_alias("gdlab-rel", "champion")
    with baseline.inside():
        mlflow.set_tracking_uri(baseline.store)
        info = mlflow.models.get_model_info(version.source)
        local = Path(mlflow.artifacts.download_artifacts(version.source))
    flavor = info.flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    trusted = flavor["skops_trusted_types"]
    assert trusted and all(t.startswith("gdlab.") or t in TRUSTED_NAMES for t in trusted)
    files = [p.name for p in local.rglob("*") if p.is_file()]
    assert any(name.endswith(".skops") for name in files)
    assert not [n for n in files if n.endswith((".pkl", ".pickle", ".joblib", ".cloudpickle"))]


def _store_file(project, model_uri: str) -> Path:
    """The skops file of the logged model ``models:/m-...`` in the project's artifact store."""
    logged = project.client().get_logged_model(model_uri.removeprefix("models:/"))
    return Path(logged.artifact_location.removeprefix("file://"), "model.skops")


def test_the_registered_file_is_the_tested_one_and_its_tag_hashes_it(baseline):
    """train logs the very bytes it writes to models/model.skops (the file evaluate tests),
    and the version's gdlab.model_sha256 is the sha256 of the registered file."""
    version = baseline.client().get_model_version_by_alias("gdlab-rel", "champion")
    registered = _store_file(baseline, version.source).read_bytes()
    assert registered == (baseline.root / "models" / "model.skops").read_bytes()
    assert version.tags["gdlab.model_sha256"] == hashlib.sha256(registered).hexdigest()


@pytest.mark.parametrize("damage", ["truncated", "another model"])
def test_register_refuses_a_logged_model_that_is_not_the_tested_one(untouched, damage):
    """The logged model in the MLflow store is cut short, or replaced by another sound skops
    file: register (here re-registering its existing version) refuses in one line naming the
    file in the store and saying to train again; nothing is registered, no alias or tag
    moves (``untouched``)."""
    handle = json.loads((untouched.root / "models" / "run.json").read_text())
    stored = _store_file(untouched, handle["model_uri"])
    good = stored.read_bytes()
    bad = (good[:1000] if damage == "truncated"
           else sio.dumps(StandardScaler().fit([[0.0], [1.0]])))
    try:
        stored.write_bytes(bad)
        result = untouched.stage("register")
    finally:
        stored.write_bytes(good)
    assert result.code == 1
    [line] = result.err.strip().splitlines()
    said = "is damaged" if damage == "truncated" else "differs from the models/model.skops"
    assert f"the logged model {handle['model_uri']} in the MLflow store" in line
    assert said in line and str(stored) in line
    assert "nothing registered, no alias moved" in line
    assert "dvc repro --force --single-item train && dvc repro" in line


def test_loading_refuses_types_outside_the_trusted_list(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps({"model": Payload()}))
    with pytest.raises(ValueError, match=r"tests\.reliability\.foreign\.Payload"):
        load_model(path)
    with pytest.raises(ValueError, match="refusing to trust"):
        save_model({"model": Payload()}, tmp_path / "other.skops")


def _calling(module: str, name: str, *args: str) -> dict:
    """A skops node that calls ``module.name(*args)`` when the file is loaded."""
    strings = [
        {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
         "content": json.dumps(arg), "is_json": True}
        for arg in args
    ]
    return {
        "__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                    "content": strings},
    }


def _crafted_model(folder, module: str, name: str, target) -> None:
    """``folder/good.skops``, a small fitted GDRegressor, and ``folder/crafted.skops``, the
    same file whose ``verbose`` is a node calling ``module.name(str(target), "x")`` on load."""
    from gdlab import GDRegressor

    model = GDRegressor(max_epochs=3, tol=None).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    save_model(model, folder / "good.skops")
    with zipfile.ZipFile(folder / "good.skops") as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    schema = json.loads(members["schema.json"])
    schema["content"]["content"]["verbose"] = _calling(module, name, str(target), "x")
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(folder / "crafted.skops", "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)


@pytest.mark.parametrize(
    "module,name",
    [
        ("gdlab.atomic", "write_text_atomic"),  # writes any file: code at the next login
        ("gdlab.core.plugins", "build"),  # imports and calls any 'module:factory'
        ("gdlab.core.schedules", "make_schedule"),  # the same through a schedule name
        ("gdlab.core.schedules", "partial"),  # functools' type, reached through gdlab's module
    ],
)
def test_loading_refuses_gdlab_functions_a_crafted_file_would_call(tmp_path, module, name):
    """skops calls a trusted "type" of a ConstructorFromReduceNode with arguments from the
    file: trusting every name under ``gdlab.`` let a crafted model file call any gdlab function
    on load (a file written wherever the loading user may write, a plug-in factory imported and
    called); only gdlab's model classes and schedule functions are trusted."""
    target = tmp_path / "written-by-the-model-file.txt"
    _crafted_model(tmp_path, module, name, target)
    with pytest.raises(ValueError, match=re.escape(f"{module}.{name}")):
        load_model(tmp_path / "crafted.skops")
    assert not target.exists()
    assert load_model(tmp_path / "good.skops").predict([[3.0]]).shape == (1,)


@pytest.mark.parametrize(
    "uri",
    [
        "runs:/0123456789abcdef0123456789abcdef/model",
        "models:/gdlab-rel@champion",
        "models:/m-0123456789abcdef0123456789abcdef",
        "file:///tmp/elsewhere/model",
        "https://models.example.com/model.skops",
    ],
    ids=["other-run", "registry-alias", "unknown-logged-model", "file", "url"],
)
def test_register_refuses_a_model_not_logged_by_its_own_run(untouched, uri):
    handle = untouched.root / "models" / "run.json"
    good = handle.read_text()
    try:
        handle.write_text(json.dumps({**json.loads(good), "model_uri": uri}))
        result = untouched.stage("register")
    finally:
        handle.write_text(good)
    assert result.code == 1
    assert "refusing to load model" in result.err and "own train run" in result.err


SERVER = re.compile(r"mlflow (ui|server)|models serve|uvicorn|gunicorn|dask[- ]scheduler")


def recipe_files() -> list[Path]:
    files = [REPO / "Makefile", REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [f for f in files if f.exists()]


def test_every_server_recipe_binds_localhost(monkeypatch):
    recipes = []
    for path in recipe_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert "0.0.0.0" not in line, f"{path.name}:{number}: {line}"
            if SERVER.search(line) and ("--host" in line or " -h " in line or "$(BIN)" in line):
                recipes.append((path.name, number, line))
                assert "127.0.0.1" in line, f"{path.name}:{number} binds elsewhere: {line}"
    assert any(name == "Makefile" for name, _, _ in recipes)  # make ui
    for source in (REPO / "src").rglob("*.py"):
        assert "0.0.0.0" not in source.read_text(), source
    from gdlab import server

    monkeypatch.delenv(server.HOST_ENV, raising=False)
    command = server.server_command(server.parse([]), root=REPO)  # make server
    assert command[command.index("--host") + 1] == "127.0.0.1"


DASK_COMMAND = re.compile(r"`(dask[- ](?:scheduler|worker)[^`]*)`")


def test_every_dask_recipe_binds_localhost_or_uses_tls():
    """A bare `dask scheduler` listens on every interface, unauthenticated (Dask runs pickled
    tasks): a recipe binds 127.0.0.1 or runs TLS with certificates, scheduler and workers."""
    commands = []
    for path in recipe_files():
        commands += [(path.name, m.group(1)) for m in DASK_COMMAND.finditer(path.read_text())]
    assert any("scheduler" in command for _, command in commands)  # the README has recipes
    for name, command in commands:
        tls = "--tls-cert" in command and "--tls-key" in command and "--tls-ca-file" in command
        if command.split()[1] == "scheduler":
            local = "--host 127.0.0.1" in command and "--dashboard-address 127.0.0.1:" in command
            assert local or (tls and "--protocol tls" in command), f"{name}: {command}"
        elif len(command.split()) > 2:  # a worker: of a scheduler on 127.0.0.1, or over TLS
            address = command.split()[2]
            assert address.startswith("tcp://127.0.0.1:") or (
                address.startswith("tls://") and tls), f"{name}: {command}"


def test_credentials_are_redacted_from_failure_tags_params_and_tags(baseline):
    uri = f"http://alice:{SECRET}@tracking.example:5000"
    with baseline.inside():
        session = open_session(None, "redaction")
        with pytest.raises(RuntimeError):
            with pipeline_run(experiment_id=session.experiment_id, uri=uri) as run:
                log_params(session.client, run.info.run_id, {"store": uri})
                log_tags(session.client, run.info.run_id, {"gdlab.store": uri})
                raise RuntimeError(f"cannot reach {uri}")
        logged = session.client.get_run(run.info.run_id)
        session.client.delete_experiment(session.experiment_id)
    assert logged.info.status == "FAILED"
    shown = json.dumps({**logged.data.params, **logged.data.tags})
    assert SECRET not in shown
    assert logged.data.tags[FAILURE_TAG] == (
        "RuntimeError: cannot reach http://alice:***@tracking.example:5000"
    )
    assert logged.data.params["store"] == "http://alice:***@tracking.example:5000"


def test_credentials_are_redacted_from_logs_and_tracebacks(tmp_path):
    (tmp_path / ".dvc").mkdir()
    script = textwrap.dedent(
        f"""
        import logging
        from gdlab.tracking.safety import install_redaction
        uri = "https://bob:{SECRET}@tracking.example/?token=abc"
        install_redaction(uri)
        logging.getLogger("mlflow").warning("retrying %s", uri)
        raise ConnectionError("API request to " + uri + "/api/2.0 failed")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert SECRET not in proc.stderr and "token=abc" not in proc.stderr
    assert "retrying https://bob:***@tracking.example/?token=***" in proc.stderr
    assert "ConnectionError: API request to https://bob:***@" in proc.stderr


@pytest.mark.parametrize("redacted", [True, False])
def test_mlflow_prints_no_run_link_holding_the_password(tmp_path, redacted):
    """MLflow writes "View run <name> at: <tracking uri>/#/..." to stdout as a run ends on a
    tracking server: a password in MLFLOW_TRACKING_URI appeared in clear in every stage's
    output and in the DVC queue's log files. Without the redaction (the control) it does."""
    script = textwrap.dedent(
        f"""
        from types import SimpleNamespace
        from mlflow.tracking._tracking_service.client import TrackingServiceClient
        from gdlab.tracking.safety import install_redaction
        uri = "http://bob:{SECRET}@127.0.0.1:5999"
        if {redacted}:
            install_redaction(uri)
        client = TrackingServiceClient(uri)
        run = SimpleNamespace(info=SimpleNamespace(experiment_id="1", run_name="train"),
                              data=SimpleNamespace(tags={{}}))
        client.store.get_run = lambda run_id: run
        client._log_url("abc")  # what set_terminated calls as a run ends
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, env={**env, "PYTHONPATH": str(REPO / "src")})
    assert proc.returncode == 0, proc.stderr
    assert (SECRET in proc.stdout) is not redacted, proc.stdout


def test_register_refuses_a_logged_model_of_another_run(untouched):
    client = untouched.client()
    handle_path = untouched.root / "models" / "run.json"
    good = handle_path.read_text()
    handle = json.loads(good)
    fold_run = client.search_runs(
        [handle["experiment_id"]], f"tags.mlflow.parentRunId = '{handle['run_id']}'"
    )[0]
    other = client.create_logged_model(
        handle["experiment_id"], name="impostor", source_run_id=fold_run.info.run_id
    )
    try:
        handle_path.write_text(json.dumps({**handle, "model_uri": f"models:/{other.model_id}"}))
        result = untouched.stage("register")
    finally:
        handle_path.write_text(good)
        client.delete_logged_model(other.model_id)
    assert result.code == 1
    assert f"it was logged by run {fold_run.info.run_id}" in result.err


def test_loading_refuses_what_a_plugin_module_only_imported(tmp_path, monkeypatch):
    """A plug-in the user named is trusted for what it defines, not for the names it imported:
    with ``from gdlab.atomic import write_text_atomic`` (or ``from subprocess import run``) in
    the user's module, a crafted file naming ``my_plugin.write_text_atomic`` wrote a file as
    it loaded."""
    import sys
    import types

    from gdlab.atomic import write_text_atomic

    plugin = types.ModuleType("crafted_target_plugin")
    plugin.write_text_atomic = write_text_atomic  # imported, not defined there
    exec("def halving(base_lr):\n    return base_lr / 2\n", plugin.__dict__)  # noqa: S102
    monkeypatch.setitem(sys.modules, "crafted_target_plugin", plugin)
    target = tmp_path / "written-by-the-model-file.txt"
    _crafted_model(tmp_path, "crafted_target_plugin", "write_text_atomic", target)

    with pytest.raises(ValueError, match="crafted_target_plugin.write_text_atomic"):
        load_model(tmp_path / "crafted.skops", plugins=["crafted_target_plugin:halving"])
    assert not target.exists()

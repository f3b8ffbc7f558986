"""End to end: the real ``dvc repro`` on a small params.yaml, then the acceptance points of
issue 3 (DVC state and metrics, MLflow runs and curves, registry aliases, ``mlflow models
predict`` / ``serve`` on the champion, no-op second repro, bad params stopped by validate,
``dvc exp run`` in the same MLflow experiment). Tests run in order on one repository copy."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.stage_env import exp_show_metrics, serve_and_invoke

from .conftest import REPO, VENV_BIN, Project, deep_update

pytestmark = pytest.mark.slow

CURVES = ("train_loss", "val_loss", "learning_rate", "grad_norm")
MODEL = "gdlab-e2e"


def client(project: Project) -> MlflowClient:
    return MlflowClient(tracking_uri=project.store)


def all_runs(project: Project) -> list:
    c = client(project)
    experiment = c.get_experiment_by_name("gdlab")
    return c.search_runs([experiment.experiment_id], max_results=5000)


def parent_runs(project: Project) -> list:
    """The train stage's parent runs (other stages, e.g. compare, make runs of their own)."""
    return [
        r
        for r in all_runs(project)
        if "mlflow.parentRunId" not in r.data.tags and r.data.tags.get("gdlab.stage") == "train"
    ]


def make_run(project: Project) -> subprocess.CompletedProcess:
    """The README's ``make run`` in the copy, on this test's virtual environment: ``.venv``
    links to it and its install stamp counts as up to date (``make -o``), so make neither
    creates nor reinstalls it (``make test`` runs that recipe on CI's fresh clone)."""
    venv = project.root / ".venv"
    if not venv.exists():
        venv.symlink_to(VENV_BIN.parent, target_is_directory=True)
        with (project.root / ".git/info/exclude").open("a") as exclude:
            exclude.write("/.venv\n")  # .gitignore's '.venv/' matches no symlink
    return project.run("make", "-o", ".venv/.gdlab-installed", "run", timeout=600)


def test_make_run_runs_every_stage_and_leaves_nothing_to_do(project):
    ran = make_run(project)
    for stage in ("validate", "prepare", "tune", "train", "evaluate", "register", "compare"):
        assert f"Running stage '{stage}'" in ran.stdout + ran.stderr, stage
    status = project.dvc("status")
    assert "up to date" in status.stdout
    # DVC found every cached output in the committed .gitignore files: no tracked file changed
    changed = project.run("git", "status", "--porcelain", "--untracked-files=no").stdout
    assert changed == ""
    shown = json.loads(project.dvc("metrics", "show", "--json").stdout)
    metrics = shown[""]["data"]["reports/metrics.json"]["data"]
    assert set(metrics["test"]) == {"accuracy", "balanced_accuracy", "f1", "average_precision",
                                    "roc_auc", "log_loss"}
    assert set(metrics["cv"]["log_loss"]) == {"mean", "std"}
    cv = shown[""]["data"]["reports/cv.json"]["data"]
    assert {"fold_1", "fold_2", "fold_3", "mean", "std"} <= set(cv)
    assert sorted(p.name for p in (project.root / "reports/plots/folds").iterdir()) == [
        "fold_1.csv",
        "fold_2.csv",
        "fold_3.csv",
    ]


def test_refit_preprocessing_is_fitted_on_the_training_split_only(project):
    """Preprocessing is part of the model, never fitted on test data: the saved model's scaler
    holds the statistics of the prepared training split, not of training and test rows."""
    from gdlab.experiment.persist import load_model

    prepared = project.root / "data/prepared"
    features = json.loads((prepared / "meta.json").read_text())["feature_names"]
    train = pd.read_parquet(prepared / "train.parquet")[features].to_numpy(dtype=float)
    test = pd.read_parquet(prepared / "test.parquet")[features].to_numpy(dtype=float)
    preprocess = load_model(project.root / "models/model.skops").named_steps["preprocess"]
    scaler = preprocess.named_steps["scale"] if hasattr(preprocess, "named_steps") else preprocess
    assert scaler.n_samples_seen_ == len(train)
    np.testing.assert_allclose(scaler.mean_, train.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scaler.scale_, train.std(axis=0), rtol=1e-10)
    assert not np.allclose(scaler.mean_, np.vstack([train, test]).mean(axis=0), rtol=1e-6, atol=0)


def test_mlflow_holds_parent_with_fold_runs_and_curves(project):
    c = client(project)
    (parent,) = parent_runs(project)
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    assert tags["mlflow.source.git.commit"] and len(tags["gdlab.data_digest"]) == 64
    assert float(parent.data.params["optimizer.learning_rate"]) > 0
    assert parent.data.params["cv.folds"] == "3"
    assert {"test_log_loss", "cv_log_loss_mean", "cv_log_loss_std"} <= set(parent.data.metrics)
    contexts = {
        next(t.value for t in d.tags if t.key == "mlflow.data.context"): d.dataset.digest
        for d in parent.inputs.dataset_inputs
    }
    assert set(contexts) == {"training", "testing"}
    # each split by its own file's SHA-256 (meta.json's), the directory's in gdlab.data_digest
    sha256 = json.loads((project.root / "data/prepared/meta.json").read_text())["sha256"]
    assert contexts["training"] == sha256["train.parquet"][:36]
    assert contexts["testing"] == sha256["test.parquet"][:36]

    children = c.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert len(children) == 3
    lineage = ("mlflow.source.git.commit", "gdlab.data_digest", "gdlab.code_dirty")
    for child in children:
        n_iter = int(child.data.metrics["n_iter"])
        assert n_iter > 1
        stamps = {}
        for key in CURVES:
            history = c.get_metric_history(child.info.run_id, key)
            assert sorted(m.step for m in history) == list(range(n_iter)), key
            stamps[key] = [m.timestamp for m in sorted(history, key=lambda m: m.step)]
        # each point at the time its epoch ended (the same for every curve of the epoch),
        # not one instant per batch
        first = stamps[CURVES[0]]
        assert all(s == first for s in stamps.values()), stamps
        assert first == sorted(first) and first[-1] > first[0]
        # the parent's lineage
        assert {k: child.data.tags.get(k) for k in lineage} == {k: tags[k] for k in lineage}
        assert child.data.tags["gdlab.stage"] == "train"
    curve = sorted(c.get_metric_history(parent.info.run_id, "train_loss"), key=lambda m: m.step)
    n_iter = int(parent.data.metrics["n_iter"])
    assert len(curve) == n_iter
    # the Models tab: the refit's final loss (its last step) and the test metrics, measured on
    # the test split
    linked = {m.key: m for m in c.get_logged_model(tags["gdlab.model_id"]).metrics}
    assert linked["train_loss"].step == n_iter - 1
    assert linked["train_loss"].value == pytest.approx(curve[-1].value)
    assert "cv_log_loss_mean" in linked
    assert linked["test_log_loss"].dataset_name == "prepared-test"
    assert linked["test_log_loss"].dataset_digest == contexts["testing"]

    version = c.get_model_version_by_alias(MODEL, "champion")
    assert str(version.version) == "1"
    assert "uncommitted" not in (version.description or "")  # the copy's code is committed
    assert str(c.get_model_version_by_alias(MODEL, "challenger").version) == "1"
    registry = json.loads((project.root / "reports/registry.json").read_text())
    assert registry["promoted"] and registry["metric"] == "log_loss"


def _test_rows(project: Project, n: int = 5):
    import pandas as pd

    meta = json.loads((project.root / "data/prepared/meta.json").read_text())
    frame = pd.read_parquet(project.root / "data/prepared/test.parquet")
    features = frame[meta["feature_names"]].head(n)
    return features, meta


def _expected(project: Project, features) -> list:
    from gdlab.experiment.persist import load_model

    return load_model(project.root / "models/model.skops").predict(features).tolist()


def _serving_env(project: Project) -> dict[str, str]:
    return {**project.env, "MLFLOW_TRACKING_URI": project.store}


def test_models_predict_on_champion(project, tmp_path):
    features, _ = _test_rows(project)
    payload = tmp_path / "input.json"
    payload.write_text(json.dumps({"dataframe_split": features.to_dict(orient="split")}))
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [
            str(VENV_BIN / "mlflow"),
            "models",
            "predict",
            "-m",
            f"models:/{MODEL}@champion",
            "-i",
            str(payload),
            "-t",
            "json",
            "-o",
            str(out),
            "--env-manager",
            "local",
        ],
        cwd=project.root,
        env=_serving_env(project),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    predictions = json.loads(out.read_text())["predictions"]
    assert predictions == _expected(project, features)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_models_serve_answers_invocations(project, tmp_path):
    features, _ = _test_rows(project)
    port = _free_port()
    body = json.dumps({"dataframe_split": features.to_dict(orient="split")}).encode()
    answer = serve_and_invoke(
        [
            str(VENV_BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            f"models:/{MODEL}@champion",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--env-manager",
            "local",
            "-w",
            "1",
        ],
        port=port,
        body=body,
        cwd=project.root,
        env=_serving_env(project),
        log=tmp_path / "serve.log",
    )
    assert answer is not None, (tmp_path / "serve.log").read_text()[-3000:]
    assert answer["predictions"] == _expected(project, features)


def test_second_repro_runs_nothing_and_adds_no_run(project):
    before = len(all_runs(project))
    out = project.dvc("repro").stdout
    assert "Running stage" not in out
    assert len(all_runs(project)) == before


def test_the_damaged_model_remedy_restores_the_pipelines_copy(project):
    """The command a damaged models/model.skops names restores it: `dvc checkout models` was
    refused ("Can't remove the following unsaved files without confirmation")."""
    import re
    import shlex

    from gdlab.experiment.persist import WORKSPACE_REMEDY

    path = project.root / "models" / "model.skops"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    try:
        command = re.search(r"`(dvc checkout[^`]*)`", WORKSPACE_REMEDY).group(1)
        project.dvc(*shlex.split(command)[1:])
        assert path.read_bytes() == good
    finally:
        path.write_bytes(good)
    assert "Running stage" not in project.dvc("repro").stdout


BAD = [
    ({"optimizer": {"learning_rate": -0.1}}, "optimizer.learning_rate"),
    ({"optimizer": {"name": "adamx"}}, "optimizer.name"),
    ({"optimizer": {"lerning_rate": 0.1}}, "optimizer.lerning_rate"),
    ({"train": {"batch_size": 0}}, "train.batch_size"),
    ({"cv": {"folds": 1}}, "cv.folds"),
]


def test_bad_params_fail_in_validate_and_keep_outputs(project):
    # one `dvc repro` with every bad value at once (validate lists them all; each alone is
    # refused by the same rules, tests/config), so the run costs one DVC start, not five
    good = (project.root / "params.yaml").read_text()
    validated = project.root / "reports/validated_params.json"
    validated_text = validated.read_text()  # DVC removes validate's output before running it
    kept = ["data/prepared/train.parquet", "models/model.skops", "reports/metrics.json"]
    before = {p: (project.root / p).stat().st_mtime_ns for p in kept}
    bad = yaml.safe_load(good)
    for change, _ in BAD:
        deep_update(bad, change)
    try:
        project.write_params(bad)
        proc = project.dvc("repro", check=False)
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "failed to reproduce 'validate'" in output
        assert [key for _, key in BAD if key not in output] == []
        assert "Running stage 'prepare'" not in output
        assert {p: (project.root / p).stat().st_mtime_ns for p in kept} == before
    finally:
        # params.yaml and validate's output as they were: the pipeline is up to date again
        # without a validate run (the next test's `dvc repro` has nothing to do)
        (project.root / "params.yaml").write_text(good)
        validated.write_text(validated_text)


def exps_command_output(project, *extra: str, target: str = "exps") -> str:
    """What the Makefile's ``target`` (``exps``, ``exps-spread``) prints in ``project`` (its
    recipe as written, with ``extra`` arguments)."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].split("\n", 1)[1]
    command = recipe.replace("\\\n", " ").strip().replace("$$", "$")
    command = command.replace("$(CURDIR)/$(BIN)", str(VENV_BIN)).replace("$(BIN)", str(VENV_BIN))
    return project.run("bash", "-c", f"{command} {' '.join(extra)}").stdout


def test_exp_run_lands_in_same_experiment(project):
    """``--temp`` executes in a copy under .dvc/tmp/exps (as ``--queue`` does): the run must
    still reach the project's store through DVC_ROOT."""
    project.dvc("repro")  # a no-op after the tests above; runs the pipeline when run alone
    before = {r.info.run_id for r in parent_runs(project)}
    project.dvc("exp", "run", "--temp", "-n", "sgd-exp", "-S", "optimizer.name=sgd", timeout=600)
    new = [r for r in parent_runs(project) if r.info.run_id not in before]
    assert len(new) == 1
    run = new[0]
    assert run.data.tags.get("dvc.exp_name") == "sgd-exp"
    assert run.data.params["optimizer.name"] == "sgd"
    assert run.info.status == "FINISHED"
    shown = json.loads(project.dvc("exp", "show", "--json").stdout)
    listed = exp_show_metrics(shown, "sgd-exp")  # listed with its metrics, the run's values
    assert listed is not None, json.dumps(shown)[:3000]
    assert listed["reports/metrics.json"]["test"]["log_loss"] == pytest.approx(
        run.data.metrics["test_log_loss"]
    )
    assert set(listed["reports/cv.json"]["mean"]) >= {"log_loss", "accuracy"}
    # make exps: a table a terminal can show, the CV means (what to choose by) and the
    # optimiser trained with (the changed param), nothing else
    table = list(csv.DictReader(io.StringIO(exps_command_output(project, "--csv"))))
    header = list(table[0])
    assert header[:1] == ["Experiment"]
    metrics = ("log_loss", "accuracy", "f1", "roc_auc")
    means, tests = [f"mean.{m}" for m in metrics], [f"test.{m}" for m in metrics]
    assert set(header[1:]) >= {*means, "trained.optimizer", "trained.lr"}, header
    shown = ("mean.", "trained.", "params.yaml:")  # the CV means, what trained
    assert [c for c in header[1:] if not c.startswith(shown)] == [], header
    (row,) = [r for r in table if r["Experiment"] == "sgd-exp"]
    assert row["trained.optimizer"] == "sgd"
    # make exps-spread: the test metrics and params.yaml's own value too
    spread = list(csv.DictReader(io.StringIO(
        exps_command_output(project, "--csv", target="exps-spread"))))
    assert set(spread[0]) >= {*means, *tests, "params.yaml:optimizer.name"}, list(spread[0])
    (row,) = [r for r in spread if r["Experiment"] == "sgd-exp"]
    assert row["trained.optimizer"] == row["params.yaml:optimizer.name"] == "sgd"
    # dvc plots diff renders the per-fold loss curves of both revisions
    diff = json.loads(project.dvc("plots", "diff", "sgd-exp", "--json").stdout)
    folds = sorted(k for k in diff["data"] if k.startswith("reports/plots/folds/"))
    assert [k.rsplit("/", 1)[1] for k in folds] == ["fold_1.csv", "fold_2.csv", "fold_3.csv"]
    for key in folds:
        (plot,) = diff["data"][key]
        assert plot["type"] == "vega" and len(set(plot["revisions"])) == 2, plot["revisions"]
        assert "workspace" in plot["revisions"]
    versions = client(project).search_model_versions(f"name = '{MODEL}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    assert not list((project.root / ".dvc").rglob("mlflow.db"))
    assert np.isfinite(run.data.metrics["test_log_loss"])


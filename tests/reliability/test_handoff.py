"""The README's handoff recipes (*Handing the model to production*), run as a person copies
them: the shell lines from a shell whose PATH does not hold the virtual environment, the
Python block as it is written, in a project whose pipeline has run; and what the registered
version tells whoever receives it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.reliability.harness import REPO, assert_succeeded, free_port, make_project
from tests.stage_env import VENV_BIN, serve_and_invoke, stage_env


def handoff_section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("### Handing the model to production")
    return text[start : text.index("\n### ", start + 1)]


def readme_line(needle: str) -> str:
    """The one line of the section's shell blocks that holds ``needle``."""
    blocks = re.findall(r"```bash\n(.*?)```", handoff_section(), flags=re.S)
    (line,) = [ln for block in blocks for ln in block.splitlines() if needle in ln]
    return line


def python_block() -> str:
    (block,) = re.findall(r"```python\n(.*?)```", handoff_section(), flags=re.S)
    return block


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project whose pipeline registered a champion under the README's model name, with the
    project's ``.venv`` where the README expects it."""
    project = make_project(
        tmp_path_factory.mktemp("handoff"), {"register": {"model_name": "gdlab-model"}}
    )
    for command in (["init", "-q"], ["add", "params.yaml"], ["commit", "-q", "-m", "params"]):
        subprocess.run(["git", *command], cwd=project.root, env=stage_env(project.root), check=True)
    assert_succeeded(project.repro())
    (project.root / ".venv").symlink_to(Path(VENV_BIN).parent)
    return project


def shell_env() -> dict[str, str]:
    """A login shell's environment: no MLflow settings, the virtual environment not on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != Path(VENV_BIN)
    )
    return env


def test_the_serve_command_as_written_answers_the_example(project, tmp_path):
    port = free_port()
    serve = readme_line("gdlab serve --host").replace("--port 5001", f"--port {port}")
    download = readme_line("mlflow artifacts download").replace("/tmp/gdlab-example", str(tmp_path))
    env = shell_env()
    fetched = subprocess.run(
        ["bash", "-c", download], cwd=project.root, env=env, capture_output=True, text=True
    )
    assert fetched.returncode == 0, fetched.stderr[-2000:]
    body = (tmp_path / "serving_input_example.json").read_bytes()

    answer = serve_and_invoke(
        ["bash", "-c", serve], port=port, body=body, cwd=project.root, env=env,
        log=tmp_path / "serve.log",
    )
    assert answer is not None, (tmp_path / "serve.log").read_text()[-3000:]

    from gdlab.experiment.persist import load_model

    example = json.loads(body)["dataframe_split"]
    frame = pd.DataFrame(example["data"], columns=example["columns"])
    expected = load_model(project.root / "models/model.skops").predict(frame)
    assert answer["predictions"] == expected.tolist()


def test_the_python_recipe_gives_the_champions_probabilities(project, capsys):
    import mlflow

    namespace: dict = {}
    with project.inside():
        mlflow.set_tracking_uri(None)  # MLflow's default, as in a fresh Python session
        saved = list(__import__("sys").path)  # a registry load prepends the model's code
        try:
            exec(compile(python_block(), "README.md", "exec"), namespace)
        finally:
            __import__("sys").path[:] = saved
    capsys.readouterr()
    model, champion = namespace["model"], namespace["champion"]
    X = namespace["test"][namespace["features"]]
    proba = champion.predict_proba(X)
    np.testing.assert_array_equal(proba, model.predict_proba(X))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        np.asarray(champion.classes_)[proba.argmax(axis=1)], model.predict(X)
    )


def test_the_registered_version_carries_its_lineage_and_model_card(project, tmp_path):
    import mlflow

    registry = json.loads((project.root / "reports/registry.json").read_text())
    client = project.client()
    version = client.get_model_version("gdlab-model", registry["version"])
    tags, run_id = version.tags, registry["run_id"]
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project.root, capture_output=True, text=True, check=True
    ).stdout.strip()
    from gdlab.data.prepared import dataset_digest

    digest = dataset_digest(project.root / "data/prepared")
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["gdlab.git_dirty"] == "false"
    assert tags["gdlab.data_digest"] == digest
    assert tags["gdlab.run_id"] == version.run_id == run_id
    assert tags["gdlab.promotion_reason"] == registry["reason"]
    assert tags["gdlab.model_card"] == f"runs:/{run_id}/model_card.md"
    assert run_id in version.description and commit in version.description
    assert digest in version.description and tags["gdlab.model_card"] in version.description
    with project.inside():
        card = mlflow.artifacts.download_artifacts(
            tags["gdlab.model_card"], dst_path=str(tmp_path), tracking_uri=project.store
        )
    assert Path(card).read_text() == (project.root / "reports/model_card.md").read_text()

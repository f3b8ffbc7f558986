"""The register stage declares, as DVC deps, the code that decides its outcome: a change to how
the champion is scored, compared or loaded must make DVC rerun register (a missing one leaves a
promotion decision made by old code that ``dvc repro`` calls up to date)."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
# register's decision: the stage script and the registry modules it runs
DECISION_CODE = (
    "pipeline/register.py",
    "src/gdlab/tracking/registry.py",
    "src/gdlab/tracking/champion.py",
    "src/gdlab/tracking/hand_moves.py",
    "src/gdlab/tracking/logged_model.py",
    "src/gdlab/tracking/registry_record.py",
    "src/gdlab/tracking/decision_lock.py",
)
# imported by that code without a say in the outcome: params (reached through
# validated_params.json, a DVC param file of the stage), file writing, wording, a key's name,
# the interrupt line while the stage imports
NO_SAY = {
    "gdlab.config", "gdlab.config.plugin_path", "gdlab.reporting.files", "gdlab.text",
    "gdlab.urls", "gdlab.served", "gdlab.interrupts",
}


def _gdlab_imports(path: Path) -> set[tuple[str, str]]:
    """``(module, name)`` for each name ``path`` imports from gdlab (function-level imports
    included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("gdlab"):
                found |= {(node.module, a.name) for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {(a.name, "") for a in node.names if a.name.startswith("gdlab")}
    return found


def _defining_file(module: str, name: str) -> str:
    """The file that defines ``name`` imported from ``module``: the module itself, or for a
    package, the submodule its ``__init__`` imports the name from."""
    base = SRC / Path(*module.split("."))
    if base.with_suffix(".py").is_file():
        return str(base.with_suffix(".py").relative_to(REPO))
    init = base / "__init__.py"
    for node in ast.walk(ast.parse(init.read_text())):  # a lazy package's: under TYPE_CHECKING
        if isinstance(node, ast.ImportFrom) and node.module and any(
                a.name == name for a in node.names):
            sub = node.module if node.level == 0 else f"{module}.{node.module}"
            return _defining_file(sub, name)
    return str(init.relative_to(REPO))


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def test_register_depends_on_the_code_that_decides_promotion():
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["register"]
    deps = [str(d) for d in stage["deps"]]
    missing = {}
    for code in DECISION_CODE:
        for module, name in _gdlab_imports(REPO / code):
            if module.startswith("gdlab.tracking") or module in NO_SAY:
                continue
            path = _defining_file(module, name)
            if not _covered(path, deps):
                missing.setdefault(path, set()).add(f"{code} ({module}.{name})")
    assert not missing, f"register's DVC deps miss code its decision runs: {missing}"


def test_the_check_sees_a_function_level_import(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("def f():\n    from gdlab.experiment.persist import load_model\n")
    assert _gdlab_imports(script) == {("gdlab.experiment.persist", "load_model")}
    assert _defining_file("gdlab.experiment", "score") == "src/gdlab/experiment/metrics.py"


def test_the_fitting_stages_declare_the_data_code_that_shapes_their_folds():
    """train, tune and compare make their CV folds with gdlab.data.copies (copied rows on one
    side of every fold) from data/prepared read by gdlab.data.prepared: a change there changes
    their results, so DVC must rerun them; train also writes the fingerprint register reads."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    needed = {"train": {"copies", "prepared", "fingerprint"}, "tune": {"copies", "prepared"},
              "compare": {"copies", "prepared"}}
    for stage, modules in needed.items():
        deps = [str(d) for d in stages[stage]["deps"]]
        for module in modules:
            path = f"src/gdlab/data/{module}.py"
            assert any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps), (
                stage, path)
    imported = {m for m, _ in _gdlab_imports(REPO / "src/gdlab/experiment/folds.py")}
    imported |= {m for m, _ in _gdlab_imports(REPO / "src/gdlab/experiment/training.py")}
    assert "gdlab.data.copies" in imported  # what the test above guards: folds use it

"""The code digest in a study's name: a code change (what makes ``dvc repro`` rerun tune)
starts a new study, an unchanged rerun resumes it, and a rerun with the budget spent says so."""

from __future__ import annotations

import os
import shutil
import sys
import time

import yaml

from gdlab.tuning import plan_search, run_search
from gdlab.tuning.fingerprint import PACKAGE_DIR, STAGE_SOURCES, code_fingerprint, plugin_files

from .conftest import REPO, make_params


def copy_package(dest):
    shutil.copytree(PACKAGE_DIR, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_sources_mirror_the_tune_stage_deps_of_dvc_yaml():
    deps = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["tune"]["deps"]
    package = sorted(d.removeprefix("src/gdlab/") for d in deps if d.startswith("src/gdlab/"))
    assert package == sorted(STAGE_SOURCES)
    # the rest: the stage script (hashed as the stage's extra file), the data (its own digest)
    # and the shipped plug-ins (hashed when the params name one)
    assert sorted(d for d in deps if not d.startswith("src/gdlab/")) == [
        "data/prepared", "examples", "pipeline/tune.py"
    ]
    for source in STAGE_SOURCES:
        assert (PACKAGE_DIR / source).exists(), source


def test_a_plug_in_of_a_package_counts_the_helpers_it_imports(tmp_path, monkeypatch):
    """dvc.yaml reruns tune for any change under examples/, but only the plug-in's own file
    was hashed: an edited helper it imports left the old study, budget spent, in place."""
    package = tmp_path / "my_gdlab_pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "opt.py").write_text("from my_gdlab_pkg.sub.helpers import K\n"
                                    "def lion(**kwargs):\n    return K\n")
    (package / "sub" / "helpers.py").write_text("K = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    params = {"optimizer": {"name": "my_gdlab_pkg.opt:lion"}, "model": {"kind": "linear"}}
    assert [name for name, _ in plugin_files(params)] == [
        "my_gdlab_pkg.opt", "my_gdlab_pkg/__init__.py", "my_gdlab_pkg/opt.py",
        "my_gdlab_pkg/sub/helpers.py",
    ]
    before = code_fingerprint(params)
    (package / "sub" / "helpers.py").write_text("K = 2\n")
    assert code_fingerprint(params) != before
    # an installed package's plug-in: its module alone (not the whole distribution)
    assert [name for name, _ in plugin_files({"optimizer": {"name": "optuna.study:x"}})] == [
        "optuna.study"
    ]


def test_a_changed_source_changes_the_digest_and_a_copy_touch_or_cache_does_not(tmp_path):
    package = copy_package(tmp_path / "gdlab")
    before = code_fingerprint(package_dir=package)
    assert before == code_fingerprint(package_dir=PACKAGE_DIR)  # another place, the same code
    objective = package / "tuning" / "objective.py"
    stamp = time.time() + 100
    os.utime(objective, (stamp, stamp))
    (package / "tuning" / "__pycache__").mkdir()
    (package / "tuning" / "__pycache__" / "objective.cpython-312.pyc").write_bytes(b"\0")
    (package / "tracking.py").write_text("# not code the tune stage depends on\n")
    assert code_fingerprint(package_dir=package) == before
    objective.write_text(objective.read_text() + "\n# a change\n")
    assert code_fingerprint(package_dir=package) != before
    shutil.copy(PACKAGE_DIR / "tuning" / "objective.py", objective)
    (package / "core" / "new_kernel.py").write_text("X = 1\n")  # a new module counts too
    assert code_fingerprint(package_dir=package) != before


def test_the_plug_ins_the_params_name_are_part_of_the_digest(tmp_path, monkeypatch):
    module = tmp_path / "my_gdlab_optimizers.py"
    module.write_text("def lion(**kwargs):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    params = {"optimizer": {"name": "my_gdlab_optimizers:lion"}, "model": {"kind": "linear"}}
    assert plugin_files(params) == [("my_gdlab_optimizers", module)]
    before = code_fingerprint(params)
    assert before != code_fingerprint({"optimizer": {"name": "adam"}})
    module.write_text("def lion(**kwargs):\n    return 1\n")
    assert code_fingerprint(params) != before
    # a free-text value of the same form is not a plug-in (gdlab.config.plugin_path)
    assert plugin_files({"model_card": {"owner": "os:system"}}) == []


def test_changed_code_starts_a_new_study_and_unchanged_code_resumes_with_a_note(
    tmp_path, classification_data
):
    X, y = classification_data
    params = make_params(tune={"n_trials": 2, "pruner": "none"})
    storage = str(tmp_path / "s.journal")

    def search(code):
        return run_search(plan_search(params, X, y, storage=storage, code_digest=code))

    first = search("old")
    assert len(first.records) == 2 and first.budget_note() is None
    again = search("old")  # dvc repro after a budget-only change: nothing left to do
    assert again.records == [] and again.plan.spec.name == first.plan.spec.name
    note = again.budget_note()
    assert note.startswith(f"study {first.plan.spec.name} has spent its budget (tune.n_trials: 2;")
    assert "no trial ran now" in note and "raise tune.n_trials" in note
    changed = search("new")  # the old trials were scored by other code
    assert changed.plan.spec.name != first.plan.spec.name
    assert len(changed.records) == 2 and changed.budget_note() is None
    # by default the digest is gdlab's own sources: the same in every process
    assert plan_search(params, X, y, storage=storage).spec.name == (
        plan_search(params, X, y, storage=storage, code_digest=code_fingerprint(params)).spec.name
    )


def test_a_grid_searched_whole_says_its_points_are_done(tmp_path, classification_data):
    X, y = classification_data
    params = make_params(
        tune={
            "strategy": "grid",
            "n_trials": None,
            "pruner": "none",
            "space": {"train.batch_size": {"choices": [32, 64]}},
        }
    )
    plan = plan_search(params, X, y, storage=str(tmp_path / "g.journal"))
    assert len(run_search(plan).records) == 2
    again = run_search(plan)
    assert again.records == [] and "(all 2 points of its grid; 2 trials counted)" in (
        again.budget_note()
    )


def test_the_code_digest_is_the_same_in_a_fresh_process():
    import subprocess

    code = "from gdlab.tuning.fingerprint import code_fingerprint; print(code_fingerprint())"
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    assert out == code_fingerprint()

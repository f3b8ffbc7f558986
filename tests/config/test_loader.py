"""Reading params.yaml: YAML pitfalls, missing files, and the validate stage."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

from gdlab.config import ConfigError, empty_params_warning, load_params, read_yaml

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_exponent_without_dot_is_a_float(tmp_path):
    params = load_params(
        write(tmp_path, "optimizer:\n  learning_rate: 1e-3\ntrain:\n  tol: 1E-6\n")
    )
    assert params.optimizer.learning_rate == 1e-3 and params.train.tol == 1e-6


def test_duplicate_key_is_an_error_with_its_path_and_line(tmp_path):
    path = write(tmp_path, "optimizer:\n  name: sgd\n  learning_rate: 0.1\n  name: adam\n")
    with pytest.raises(ConfigError) as info:
        load_params(path)
    assert "optimizer.name: appears twice (line 4)" in str(info.value)


def test_nan_in_yaml_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="optimizer.learning_rate: must be a finite number"):
        load_params(write(tmp_path, "optimizer:\n  learning_rate: .nan\n"))


def test_missing_file_names_the_path_looked_at(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_params("conf/nope.yaml")
    assert str(info.value) == (
        "conf/nope.yaml: 1 problem in the parameters:\n"
        f"  (top level): file not found (looked for {tmp_path / 'conf' / 'nope.yaml'}) "
        "(allowed: an existing params file; a relative path is read from the current directory)"
    )


def test_yaml_syntax_error_names_its_line_and_column_and_what_is_expected(tmp_path):
    # PyYAML's own text ("mapping values are not allowed here\n  in "<unicode string>", ...")
    # was passed on as is, across several lines, without saying what the file should hold
    path = write(tmp_path, "optimizer:\n  name: sgd\n learning_rate: 0.1\n")
    with pytest.raises(ConfigError) as info:
        load_params(path)
    assert [str(p) for p in info.value.problems] == [
        "(top level): not valid YAML at line 3, column 2 (' learning_rate: 0.1'): expected "
        "<block end>, but found '<block mapping start>' (while parsing a block mapping from "
        "line 1, column 1 ('optimizer:')) (allowed: a YAML mapping of sections such as data:, "
        "model:, optimizer:, train:, each with its keys indented below it)"
    ]
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2, column 1 \(end of file\)"):
        load_params(write(tmp_path, "optimizer: [\n"))


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_params(write(tmp_path, "- 1\n- 2\n"))
    assert str(info.value.problems[0]).startswith(
        "(top level): must be a mapping of sections (e.g. 'data:', 'model:', 'optimizer:' at "
        "the start of a line, each with its keys indented below it), got a list (allowed: "
        "top-level keys seed, data, "
    )
    with pytest.raises(ConfigError, match=r"\(top level\): must be a .*, got a string"):
        load_params(write(tmp_path, "optimizer\n"))


def test_empty_file_means_all_defaults(tmp_path):
    assert load_params(write(tmp_path, "")).seed == 42
    assert read_yaml(write(tmp_path, "")) is None


def run_stage(script: str, args: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(ROOT / "pipeline" / script), run_name="__main__")
    return info.value.code


def test_validate_stage_writes_normalised_params(tmp_path, monkeypatch, capsys):
    params = write(tmp_path, "optimizer:\n  name: sgd\n")
    out = tmp_path / "reports" / "validated_params.json"
    assert run_stage("validate.py", ["--params", str(params), "--out", str(out)], monkeypatch) == 0
    written = json.loads(out.read_text())
    assert written["optimizer"]["name"] == "sgd" and written["cv"]["folds"] == 5
    assert "is valid" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["", "# tuned later\n\n# optimizer:\n#   name: sgd\n"])
def test_validate_stage_warns_that_an_empty_params_file_means_every_default(
    tmp_path, monkeypatch, capsys, text
):
    # an empty (or all-comment) params.yaml validated silently with every default
    params = write(tmp_path, text)
    out = tmp_path / "validated.json"
    assert run_stage("validate.py", ["--params", str(params), "--out", str(out)], monkeypatch) == 0
    captured = capsys.readouterr()
    assert (
        f"validate: warning: {params} holds no parameters (it is empty or only comments): every "
        "value is the default" in captured.err
    )
    assert "is valid" in captured.out and json.loads(out.read_text())["seed"] == 42


def test_a_params_file_with_parameters_gets_no_empty_file_warning(tmp_path):
    full = write(tmp_path, "seed: 42\n")
    assert empty_params_warning(read_yaml(full), full) is None
    empty = write(tmp_path, "")
    assert empty_params_warning(read_yaml(empty), empty) is not None


def test_validate_stage_fails_with_every_problem_on_stderr(tmp_path, monkeypatch, capsys):
    params = write(tmp_path, "optimizer:\n  learning_rate: -1\ncv:\n  folds: 1\n")
    out = tmp_path / "validated.json"
    assert run_stage("validate.py", ["--params", str(params), "--out", str(out)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert "optimizer.learning_rate: must be greater than 0" in err and "cv.folds:" in err
    assert not out.exists()


def test_validate_stage_checks_the_data_file_exists(tmp_path, monkeypatch, capsys):
    params = write(tmp_path, "data:\n  source: csv\n  path: missing.csv\n  target: y\n")
    out = tmp_path / "validated.json"
    assert run_stage("validate.py", ["--params", str(params), "--out", str(out)], monkeypatch) == 1
    assert "data.path: file 'missing.csv' not found" in capsys.readouterr().err

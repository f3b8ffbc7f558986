"""Tuned overrides: file formats, and params.yaml with them applied (what train trains with)."""

import json
from pathlib import Path

import yaml

from gdlab.experiment import describe_tuned, load_overrides, trained_params


def test_missing_file_means_no_overrides(tmp_path):
    assert load_overrides(tmp_path / "absent.json") == {}


def test_flat_and_nested_documents(tmp_path):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"optimizer.learning_rate": 0.003}))
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"params": {"optimizer.name": "sgd"}, "score": 1.0}))
    assert load_overrides(flat) == {"optimizer.learning_rate": 0.003}
    assert load_overrides(nested) == {"optimizer.name": "sgd"}


def test_trained_params_apply_the_tuned_values_and_say_what_they_replace(tmp_path):
    params_yaml = Path(__file__).resolve().parents[2] / "params.yaml"
    written = yaml.safe_load(params_yaml.read_text())
    tuned = tmp_path / "best_params.json"
    tuned.write_text(json.dumps({"params": {"optimizer.name": "nesterov",
                                            "optimizer.learning_rate": 0.0123}}))
    params, replaced = trained_params(params_yaml, tuned)
    assert (params.optimizer.name, params.optimizer.learning_rate) == ("nesterov", 0.0123)
    assert replaced == {
        "optimizer.name": (written["optimizer"]["name"], "nesterov"),
        "optimizer.learning_rate": (written["optimizer"]["learning_rate"], 0.0123),
    }
    line = describe_tuned(replaced)
    assert f"optimizer.name='nesterov' (params.yaml: {written['optimizer']['name']!r})" in line
    assert "tune.enabled: false" in line
    untuned, none = trained_params(params_yaml, tmp_path / "absent.json")
    assert none == {} and untuned.optimizer.name == written["optimizer"]["name"]


def test_a_damaged_or_hand_edited_tuning_file_is_named_in_the_error(tmp_path):
    """reports/tuning/best_params.json cut short or edited by hand: the message names the file
    (not "overrides" or a bare JSON position) and the key."""
    import pytest

    from gdlab.config import ConfigError

    params_yaml = Path(__file__).resolve().parents[2] / "params.yaml"
    tuned = tmp_path / "best_params.json"
    tuned.write_text('{"enabled": true, "params": {"optimizer.learning_rate": 0.0')
    with pytest.raises(ValueError, match=r"best_params\.json: not valid JSON .*repro -f -s tune"):
        trained_params(params_yaml, tuned)
    tuned.write_text(json.dumps({"params": {"optimizer.learning_rate": -1}}))
    with pytest.raises(ConfigError) as refused:
        trained_params(params_yaml, tuned)
    assert str(refused.value).startswith(f"{tuned}: 1 problem in the parameters:")
    assert "optimizer.learning_rate: must be greater than 0, got -1" in str(refused.value)


def test_a_tuned_key_params_yaml_does_not_set_is_not_shown_as_none(tmp_path):
    """The shipped search tunes optimizer.params.momentum, which params.yaml leaves out: train's
    line said "(params.yaml: None)", as if the file set it to None; a key set to null is
    spelt as YAML spells it."""
    params_yaml = tmp_path / "params.yaml"
    params_yaml.write_text("train: {batch_size: null}\n")
    tuned = tmp_path / "best_params.json"
    tuned.write_text(json.dumps({"params": {"optimizer.name": "momentum",
                                            "optimizer.params.momentum": 0.93,
                                            "train.batch_size": 32}}))
    params, replaced = trained_params(params_yaml, tuned)
    assert params.optimizer.params["momentum"] == 0.93 and params.train.batch_size == 32
    line = describe_tuned(replaced)
    assert "optimizer.params.momentum=0.93 (not set in params.yaml)" in line
    assert "train.batch_size=32 (params.yaml: null)" in line
    assert "None" not in line


def test_the_line_rounds_floats_and_does_not_list_an_unchanged_key_as_replaced(tmp_path):
    """train printed optimizer.learning_rate=0.00370575842360287 and listed a tuned
    train.batch_size equal to params.yaml's among the values it replaces."""
    params_yaml = tmp_path / "params.yaml"
    params_yaml.write_text("optimizer: {learning_rate: 0.1}\ntrain: {batch_size: 64}\n")
    tuned = tmp_path / "best_params.json"
    tuned.write_text(json.dumps({"params": {"optimizer.learning_rate": 0.00370575842360287,
                                            "train.batch_size": 64}}))
    params, replaced = trained_params(params_yaml, tuned)
    assert params.optimizer.learning_rate == 0.00370575842360287  # trained with it whole
    line = describe_tuned(replaced)
    assert "optimizer.learning_rate=0.003706 (params.yaml: 0.1)" in line
    assert line.endswith("; tuned to params.yaml's own value: train.batch_size")
    assert "batch_size=64" not in line

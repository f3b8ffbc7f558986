"""Tuned overrides: file formats (applied by gdlab.config.with_overrides)."""

import json

from gdlab.experiment import load_overrides


def test_missing_file_means_no_overrides(tmp_path):
    assert load_overrides(tmp_path / "absent.json") == {}


def test_flat_and_nested_documents(tmp_path):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"optimizer.learning_rate": 0.003}))
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"params": {"optimizer.name": "sgd"}, "score": 1.0}))
    assert load_overrides(flat) == {"optimizer.learning_rate": 0.003}
    assert load_overrides(nested) == {"optimizer.name": "sgd"}

"""The run handle train writes (``models/run.json``) and evaluate and register read."""

from __future__ import annotations

import pytest

from gdlab.tracking import RunHandle


def test_a_written_handle_reads_back(tmp_path):
    handle = RunHandle("abc123", "1", "gdlab", model_uri="models:/m-1", model_id="m-1")
    handle.write(tmp_path / "run.json")
    assert RunHandle.read(tmp_path / "run.json") == handle


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "run.json is missing: run the train stage first"),
        ("{not json", "run.json cannot be read .*run the train stage again"),
        ("[]", "run.json names no MLflow run"),
        ('{"experiment_id": "1"}', "run.json names no MLflow run"),
    ],
)
def test_a_missing_or_broken_handle_is_a_clear_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        RunHandle.read(path)

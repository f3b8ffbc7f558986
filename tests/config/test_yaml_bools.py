"""params.yaml is read as YAML 1.1, where an unquoted yes/no/on/off/true/false is a bool: a
class written so (``metrics.positive_label: yes``, as ``dvc exp run -S`` writes it) was
refused as ``True is not a class of the target 'y' (allowed: 'no' | 'yes' | null)``, which
names neither the cause nor the fix. Each label check (metrics.positive_label,
model.class_weight's keys, fairness.positive_label) now says to quote it; the quoted label
passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gdlab.config import ConfigError, load_params
from gdlab.config.class_weight import check_class_weight_labels
from gdlab.data.positive import check_positive_label, positive_class
from gdlab.reporting.fairness import check_positive_label as check_fairness_positive

REPO = Path(__file__).resolve().parents[2]
META = {"task": "classification", "classes": ["no", "yes"], "target": "y"}
HINT = "params.yaml's unquoted {0} is read as {1} (YAML 1.1): quote it, '{0}'"


def _params(tmp_path: Path, line: int, text: str):
    """The repository's params.yaml with line ``line`` (1-based) replaced by ``text``."""
    lines = (REPO / "params.yaml").read_text().splitlines()
    lines[line - 1] = text
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_params(path)


def _line(key: str, section: str) -> int:
    lines = (REPO / "params.yaml").read_text().splitlines()
    start = lines.index(next(s for s in lines if s.startswith(f"{section}:")))
    return start + 1 + next(i for i, s in enumerate(lines[start:]) if s.strip().startswith(key))


@pytest.mark.parametrize(("written", "classes", "value"), [
    ("yes", ["no", "yes"], True), ("no", ["no", "yes"], False),
    ("Yes", ["No", "Yes"], True), ("on", ["off", "on"], True)])
def test_an_unquoted_yes_for_metrics_positive_label_is_told_to_be_quoted(
        tmp_path, written, classes, value):
    meta, label = {**META, "classes": classes}, written
    params = _params(tmp_path, _line("positive_label", "metrics"),
                     f"  positive_label: {written}")
    assert params.metrics.positive_label is value
    with pytest.raises(ConfigError) as err:
        check_positive_label(params.metrics.positive_label, meta, "params.yaml")
    (problem,) = err.value.problems
    assert problem.path == "metrics.positive_label"
    assert problem.message == (f"{value} is not a class of the target 'y'; "
                               + HINT.format(label, value))
    with pytest.raises(ValueError, match=re.escape(HINT.format(label, value))):
        positive_class(meta["classes"], None, value)
    quoted = _params(tmp_path, _line("positive_label", "metrics"),
                     f"  positive_label: '{written}'")
    check_positive_label(quoted.metrics.positive_label, meta, "params.yaml")


def test_a_bool_of_a_boolean_target_is_no_misread():
    """True names the class True of a boolean target: no hint, and no refusal."""
    check_positive_label(True, {**META, "classes": [False, True]}, "params.yaml")
    with pytest.raises(ConfigError) as err:
        check_positive_label(True, {**META, "classes": ["a", "b"]}, "params.yaml")
    assert "quote" not in str(err.value)


def test_unquoted_yes_no_class_weight_keys_are_told_to_be_quoted(tmp_path):
    params = _params(tmp_path, _line("class_weight", "model"),
                     "  class_weight: {yes: 5, no: 1}")
    with pytest.raises(ConfigError) as err:
        check_class_weight_labels(params, ["no", "yes"], "y", "params.yaml")
    messages = sorted(p.message for p in err.value.problems)
    assert messages == [f"False is not a class of the target 'y'; {HINT.format('no', False)}",
                        f"True is not a class of the target 'y'; {HINT.format('yes', True)}"]
    quoted = _params(tmp_path, _line("class_weight", "model"),
                     "  class_weight: {'yes': 5, 'no': 1}")
    check_class_weight_labels(quoted, ["no", "yes"], "y", "params.yaml")


def test_an_unquoted_yes_for_fairness_positive_label_is_told_to_be_quoted(tmp_path):
    params = _params(tmp_path, _line("positive_label", "fairness"),
                     "  positive_label: yes")
    with pytest.raises(ConfigError) as err:
        check_fairness_positive(params.fairness.positive_label, META, "params.yaml")
    (problem,) = err.value.problems
    assert problem.message == f"True is not a class of the target 'y'; {HINT.format('yes', True)}"
    quoted = _params(tmp_path, _line("positive_label", "fairness"),
                     "  positive_label: 'yes'")
    check_fairness_positive(quoted.fairness.positive_label, META, "params.yaml")

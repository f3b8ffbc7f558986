"""The JSON schema and README table are generated from the schema and cover every field; the
table's params.yaml column shows the values the repository's params.yaml ships."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from gdlab.config import OPTIMIZER_PARAMS, SCHEDULE_PARAMS, Params, json_schema
from gdlab.config import parameter_table_markdown as table
from gdlab.config.__main__ import main
from gdlab.config.docs import TABLE_END, TABLE_START, render_table_into
from gdlab.config.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, info in model.model_fields.items():
        default = info.get_default(call_default_factory=True)
        path = f"{prefix}{name}"
        paths += leaf_paths(type(default), f"{path}.") if isinstance(default, BaseModel) else [path]
    return paths


def test_table_has_a_row_for_every_field_with_a_description():
    text = table()
    rows = text.splitlines()[2:]
    for path in leaf_paths(Params):
        row = next((r for r in rows if r.startswith(f"| `{path}` |")), None)
        assert row is not None, path
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == 6 and cells[5], row


def test_table_has_a_row_for_every_optimizer_and_schedule_parameter():
    text = table()
    for owner, models in (("optimizer", OPTIMIZER_PARAMS), ("schedule", SCHEDULE_PARAMS)):
        for name, model in models.items():
            for field in model.model_fields:
                assert f"| `{owner}.params.{field}` ({owner}.name = {name}) |" in text


def test_every_field_has_a_description_and_a_default():
    for model in [Params, *OPTIMIZER_PARAMS.values(), *SCHEDULE_PARAMS.values()]:
        stack = [model]
        while stack:
            current = stack.pop()
            for name, info in current.model_fields.items():
                assert info.description, f"{current.__name__}.{name}"
                assert not info.is_required(), f"{current.__name__}.{name}"
                default = info.get_default(call_default_factory=True)
                if isinstance(default, BaseModel):
                    stack.append(type(default))


def test_json_schema_forbids_extra_keys_and_checks_params_per_name():
    schema = json_schema()
    assert schema["additionalProperties"] is False
    opt = schema["$defs"]["OptimizerConfig"]
    assert opt["properties"]["learning_rate"]["exclusiveMinimum"] == 0
    names = [rule["if"]["properties"]["name"]["const"] for rule in opt["allOf"]]
    assert names == list(OPTIMIZER_PARAMS)
    assert len(schema["$defs"]["ScheduleConfig"]["allOf"]) == len(SCHEDULE_PARAMS)


def test_render_table_into_readme_markers():
    text = f"intro\n{TABLE_START}\nold table\n{TABLE_END}\nrest\n"
    out = render_table_into(text)
    assert out.startswith("intro\n") and out.endswith(f"{TABLE_END}\nrest\n")
    assert "old table" not in out and "`optimizer.learning_rate`" in out
    assert render_table_into(out) == out


def cells_of(text: str, key: str) -> list[str]:
    row = next(r for r in text.splitlines() if r.startswith(f"| {key} |"))
    return [c.strip() for c in row.strip("|").split(" | ")]


def test_params_yaml_column_shows_only_the_values_that_differ(tmp_path):
    shipped = tmp_path / "params.yaml"
    shipped.write_text(
        "seed: 42\n"  # the default: left empty
        "tune: {enabled: true}\n"
        "optimizer: {name: sgd, learning_rate: 1.0e-2, params: {momentum: 0.5}}\n"
        "model: {hidden_layer_sizes: [64, 64]}\n"
    )
    text = table(shipped)
    assert text.splitlines()[0].startswith("| key path | type | default | params.yaml |")
    assert cells_of(text, "`seed`")[2:4] == ["`42`", ""]
    assert cells_of(text, "`tune.enabled`")[2:4] == ["`false`", "`true`"]
    assert cells_of(text, "`optimizer.name`")[3] == "`sgd`"
    assert cells_of(text, "`optimizer.learning_rate`")[3] == ""  # 1.0e-2 == 0.01
    assert cells_of(text, "`model.hidden_layer_sizes`")[3] == "`[64, 64]`"
    assert cells_of(text, "`optimizer.params.momentum` (optimizer.name = sgd)")[3] == "`0.5`"
    # the file names sgd: the momentum optimiser's row is not about it
    assert cells_of(text, "`optimizer.params.momentum` (optimizer.name = momentum)")[3] == ""
    assert cells_of(text, "`data.source`")[3] == ""  # not in the file: the default applies
    assert all(r.split(" | ")[3] == "" for r in table().splitlines()[2:])  # no file, no column


def test_params_yaml_column_refuses_an_invalid_file(tmp_path):
    shipped = tmp_path / "params.yaml"
    shipped.write_text("optimizer: {learning_rate: -1}\n")
    with pytest.raises(ConfigError, match="optimizer.learning_rate"):
        table(shipped)


def test_readme_command_reads_the_params_yaml_next_to_the_readme(tmp_path):
    (tmp_path / "params.yaml").write_text("tune: {enabled: true}\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{TABLE_START}\n{TABLE_END}\n")
    assert main(["readme", str(readme)]) == 0
    assert cells_of(readme.read_text(), "`tune.enabled`")[2:4] == ["`false`", "`true`"]


def test_readme_table_is_up_to_date():
    """The README's parameter table is the generated one, with the values the repository's
    params.yaml ships (regenerate with ``python -m gdlab.config readme``)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert TABLE_START in text, "README.md lost its parameter-table markers"
    assert render_table_into(text, REPO / "params.yaml") == text, (
        "run: python -m gdlab.config readme"
    )
    # values that differ from the schema's defaults are shown (the prose relies on them)
    assert cells_of(text, "`tune.enabled`")[2:4] == ["`false`", "`true`"]
    assert cells_of(text, "`data.synthetic.sensitive_group`")[2:4] == ["`false`", "`true`"]


def test_a_key_of_several_types_names_them():
    cells = cells_of(table(), "`fairness.positive_label`")
    assert cells[1] == cells[4] == "string, integer, boolean or null"
    assert cells_of(table(), "`compare.values`")[1] == (
        "list of string, boolean, integer, float or null"
    )

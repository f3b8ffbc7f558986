"""The JSON schema and README table are generated from the schema and cover every field."""

from __future__ import annotations

from pydantic import BaseModel

from gdlab.config import OPTIMIZER_PARAMS, SCHEDULE_PARAMS, Params, json_schema
from gdlab.config import parameter_table_markdown as table
from gdlab.config.docs import TABLE_END, TABLE_START, render_table_into


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
        assert len(cells) == 5 and cells[4], row


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


def test_readme_table_is_up_to_date():
    """The README's parameter table is the generated one
    (regenerate with ``python -m gdlab.config readme``)."""
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert TABLE_START in text, "README.md lost its parameter-table markers"
    assert render_table_into(text) == text, "run: python -m gdlab.config readme"

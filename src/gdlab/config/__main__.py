"""``python -m gdlab.config [validate|table|schema|readme] [path]`` — check params or print docs.

    validate [params.yaml]             check the file
    table [params.yaml]                print the parameter table (params.yaml column from the file)
    schema                             print the JSON schema
    readme [README.md] [params.yaml]   regenerate the README's table (params.yaml next to it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gdlab.config.docs import json_schema, parameter_table_markdown, render_table_into
from gdlab.config.errors import ConfigError
from gdlab.config.loader import load_params


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "validate"
    if command == "validate":
        try:
            load_params(args[1] if len(args) > 1 else "params.yaml")
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 1
        print("params are valid")
    elif command == "table":
        shipped = Path(args[1] if len(args) > 1 else "params.yaml")
        print(parameter_table_markdown(shipped if shipped.exists() else None), end="")
    elif command == "schema":
        print(json.dumps(json_schema(), indent=2))
    elif command == "readme":
        path = Path(args[1] if len(args) > 1 else "README.md")
        shipped = Path(args[2]) if len(args) > 2 else path.parent / "params.yaml"
        text = render_table_into(
            path.read_text(encoding="utf-8"), shipped if shipped.exists() else None
        )
        path.write_text(text, encoding="utf-8")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m gdlab.config [validate|table|schema|readme] [path]`` — check params or print docs."""

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
        print(parameter_table_markdown(), end="")
    elif command == "schema":
        print(json.dumps(json_schema(), indent=2))
    elif command == "readme":
        path = Path(args[1] if len(args) > 1 else "README.md")
        path.write_text(render_table_into(path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

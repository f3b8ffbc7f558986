"""The ``gdlab`` command. Subcommands:

``gdlab lr-find``  learning-rate guidance for the current params: the smoothness constant L
                   (linear models: 1/L step, 2/L divergence bound) and the LR range test's
                   suggestion, with an optional plot.
``gdlab serve``    serve the registered champion (or ``--model-uri``) over HTTP on 127.0.0.1,
                   loading only its skops file with gdlab's trusted types
                   (:mod:`gdlab.serve`; ``mlflow models serve`` would run what its logger
                   chose).

Add a subcommand with a ``_add_<name>(subparsers)`` function registering ``func``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    """The ``gdlab`` command's parser, with every subcommand."""
    parser = argparse.ArgumentParser(prog="gdlab", description="gdlab command-line tools")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_lr_find(subparsers)
    _add_serve(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gdlab`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


def _add_lr_find(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lr-find",
        help="smoothness constant L and LR range test for the current params",
        description="Print the smoothness constant L (linear models; 1/L step, 2/L bound) and "
        "the LR range test's suggestion for the model, optimiser and batch size in params.",
    )
    parser.add_argument("--params", default="params.yaml", help="parameter file")
    parser.add_argument(
        "--data",
        default="data/prepared",
        help="prepared data (prepared in a temporary directory when missing)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter, e.g. --set optimizer.name=sgd --set train.batch_size=null",
    )
    parser.add_argument("--plot", default=None, help="write the range test figure here (PNG)")
    parser.add_argument("--steps", type=int, default=100, help="steps of the sweep")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.set_defaults(func=_lr_find)


def _add_serve(subparsers: Any) -> None:
    from gdlab.serve import DEFAULT_HOST, DEFAULT_PORT

    parser = subparsers.add_parser(
        "serve",
        help="serve the registered champion over HTTP, loading only its skops file",
        description="Resolve the model URI once, load its skops file with gdlab's trusted "
        "types (a pickle or an untrusted type is refused, never run), save it locally with the "
        "installed gdlab and serve it with mlflow models serve --env-manager local. The local "
        "copy lives in $TMPDIR (else /tmp) as gdlab-serve-<machine>-<pid>-*, removed when gdlab "
        "serve stops (SIGINT, SIGTERM, SIGHUP, at any point); copies a killed gdlab serve left "
        "(SIGKILL) are removed by the next one on the same machine (host and PID "
        "namespace), whose owning process is gone.",
    )
    parser.add_argument("--params", default=None,
                        help="parameter file (register.model_name, tracking.uri, plug-ins; "
                        "default params.yaml, which may be absent with --model-uri)")
    parser.add_argument("--model-uri", default=None,
                        help="models:/<name>@<alias> or models:/<name>/<version> (default "
                        "models:/<register.model_name>@champion)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}; another than a "
                        "loopback address needs --allow-remote)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a --host that is not a loopback address (the model server "
                        "has no authentication)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from gdlab.serve import serve

    return serve(args.model_uri, args.host, args.port, allow_remote=args.allow_remote,
                 params_file=args.params, workers=args.workers)


def _overrides(items: Sequence[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _prepared_fits(directory: Path, params: Any, overrides: dict[str, Any]) -> bool:
    """Whether ``directory`` holds the data these params would prepare: it exists, no
    override touches what prepare reads (``data.*``, ``seed``, ``model.task``), and its
    source, path and task are the params'."""
    meta_file = directory / "meta.json"
    if not meta_file.exists():
        return False
    if any(k.startswith("data.") or k in ("data", "seed", "model.task") for k in overrides):
        return False
    meta = json.loads(meta_file.read_text())
    data = params.data
    wanted = (data.source, data.path, params.model.task)
    return (meta.get("source"), meta.get("path"), meta.get("task")) == wanted


def _lr_find(args: argparse.Namespace) -> int:
    from gdlab.config import ConfigError, load_params, with_overrides
    from gdlab.data import DataError, load_prepared, prepare_dataset
    from gdlab.experiment import decode_target
    from gdlab.tuning.figures import lr_find_figure
    from gdlab.tuning.guidance import lr_guidance

    try:
        params = load_params(args.params)
        overrides = _overrides(args.set) if args.set else {}
        if overrides:
            params = with_overrides(params, overrides)
        if _prepared_fits(Path(args.data), params, overrides):
            data = load_prepared(args.data)
        else:
            print(f"gdlab lr-find: preparing the data of these params ({args.data} holds "
                  "other data or none)", file=sys.stderr)
            with tempfile.TemporaryDirectory() as tmp:
                prepare_dataset(params, tmp)
                data = load_prepared(tmp)
    except (ConfigError, DataError, ValueError) as exc:
        print(f"gdlab lr-find: {exc}", file=sys.stderr)
        return 1
    y = decode_target(data.y_train, data.classes)
    guidance = lr_guidance(params, data.X_train, y, num_steps=args.steps)
    if args.plot and guidance.range_test is not None:
        lr_find_figure(guidance.range_test, args.plot, smoothness=guidance.smoothness,
                       target_scaled=guidance.target_scaled, setting=guidance.setting)
    if args.json:
        print(json.dumps(guidance.as_dict(), indent=2, sort_keys=True))
    else:
        print("\n".join(guidance.lines()))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""DVC stage ``prepare``: load the configured source, check it, split it, write the files.

Output directory ``data/prepared/``: ``train.parquet``, ``test.parquet`` (feature columns,
``target``, optional ``sensitive``) and ``meta.json``. Preprocessing (imputation, polynomial
features, scaling) is not done here: it is part of the model pipeline, fitted per fold.

    python pipeline/prepare.py [--params params.yaml] [--out data/prepared]
"""

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the imports below run: one line, exit 130
    from gdlab.interrupts import quiet_interrupts

    quiet_interrupts("prepare")

import atexit
import gc

# A stage imports ~600 000 objects (MLflow, scikit-learn, pandas, ...) that live until it exits;
# with the default threshold (700) the collector rescans them ~1 s per stage, and the full
# collection at interpreter exit takes ~1.5 s more. Frozen objects are skipped by it; registered
# first, the freeze runs after every other exit handler.
gc.set_threshold(50_000, 20, 20)
atexit.register(gc.freeze)

import argparse
import sys

from gdlab.atomic import OutputNotWritten
from gdlab.config import ConfigError, load_params
from gdlab.data import DataError, prepare_dataset


def _warn(warning: str) -> None:
    print(f"prepare: warning: {warning}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Prepare the data; exit status 0 on success, 1 when the data or params are refused."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="parameter file")
    parser.add_argument("--out", default="data/prepared", help="output directory")
    args = parser.parse_args(argv)

    try:
        params = load_params(args.params)
        meta = prepare_dataset(params, args.out, warn=_warn, progress="prepare")
    except (ConfigError, DataError, OutputNotWritten) as exc:
        print(f"prepare: {exc}", file=sys.stderr)
        return 1

    classes = f", {len(meta['classes'])} classes" if meta["classes"] else ""
    print(
        f"prepare: {meta['source']} ({meta['task']}{classes}): {meta['n_train']} train / "
        f"{meta['n_test']} test rows, {len(meta['feature_names'])} features -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

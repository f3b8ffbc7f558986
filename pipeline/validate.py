"""DVC stage ``validate`` (the first stage): check params.yaml before anything else runs.

A wrong key fails here with every problem listed, before DVC deletes the outputs of the later
stages. The data is checked here too (every check of prepare, without writing its files): bad rows,
undeclared personal data or a missing HMAC key also fail before any output is deleted.
On success the validated, normalised parameters are written to
``reports/validated_params.json`` (defaults filled in for keys left out).

    python pipeline/validate.py [--params params.yaml] [--out reports/validated_params.json]
"""

from __future__ import annotations

if __name__ == "__main__":  # Ctrl-C while the imports below run: one line, exit 130
    from gdlab.interrupts import quiet_interrupts

    quiet_interrupts("validate")

import atexit
import gc

# A stage imports ~600 000 objects (MLflow, scikit-learn, pandas, ...) that live until it exits;
# with the default threshold (700) the collector rescans them ~1 s per stage, and the full
# collection at interpreter exit takes ~1.5 s more. Frozen objects are skipped by it; registered
# first, the freeze runs after every other exit handler.
gc.set_threshold(50_000, 20, 20)
atexit.register(gc.freeze)

import argparse
import json
import sys
from pathlib import Path

from gdlab.atomic import write_text_atomic
from gdlab.config import ConfigError, empty_params_warning, read_yaml, validate_params
from gdlab.config.class_weight import check_class_weight_labels
from gdlab.config.inert_dimensions import inert_compare_warnings, inert_dimension_warnings
from gdlab.config.plugin_probes import probe_scope
from gdlab.config.schedule_reach import plateau_stopping_warning
from gdlab.config.sections.compare import ranked_penalty_warning
from gdlab.config.variant_notes import inert_variant_warnings
from gdlab.data import (
    DataError,
    check_dataset,
    check_source_available,
    full_batch_warning,
    untracked_source,
    unversioned_source,
)
from gdlab.data.positive import check_positive_label as check_metrics_positive


def _pruner_warning(params) -> str | None:
    if not (params.tune.enabled and params.tune.pruner == "wilcoxon"):
        return None
    from gdlab.tuning.study import pruner_warning  # imports optuna: only then

    return pruner_warning(params.tune.pruner, params.cv.folds)


def main(argv: list[str] | None = None) -> int:
    """Validate the parameters; exit status 0 when valid, 1 when not."""
    with probe_scope():  # a plug-in model probed once, not again for every variant below
        return _validate(argv)


def _validate(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="parameter file")
    parser.add_argument("--out", default="reports/validated_params.json", help="output file")
    args = parser.parse_args(argv)

    checks: list[str] = []  # the data checks' warnings (an integer identifier as a feature)
    try:
        document = read_yaml(args.params)  # read once: validated, and checked for emptiness
        params = validate_params(document, args.params)
        check_source_available(params)
        meta = check_dataset(params, warn=checks.append, progress="validate")
        check_class_weight_labels(params, meta.get("classes"), meta["target"], args.params)
        check_metrics_positive(params.metrics.positive_label, meta, args.params)
        if meta["task"] == "classification" and meta.get("sensitive") is not None:
            from gdlab.reporting.fairness import check_positive_label  # fairlearn: only then

            check_positive_label(params.fairness.positive_label, meta, args.params)
    except (ConfigError, DataError) as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return 1

    warnings = [
        empty_params_warning(document, args.params),
        untracked_source(params, Path.cwd()),  # relative paths are read from here too
        unversioned_source(params, Path.cwd()),
        *checks,
        full_batch_warning(params.train.batch_size, meta["n_train"], params.cv.folds),
        _pruner_warning(params),
        plateau_stopping_warning(params),
        *inert_variant_warnings(params),
        *inert_dimension_warnings(params),
        *inert_compare_warnings(params),
        ranked_penalty_warning(params),
    ]
    for warning in filter(None, warnings):
        print(f"validate: warning: {warning}", file=sys.stderr)
    out = write_text_atomic(args.out, json.dumps(params.model_dump(mode="json"), indent=2) + "\n")
    print(f"validate: {args.params} is valid -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

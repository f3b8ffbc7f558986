"""Log a comparison to MLflow: one child run per variant under the comparison's parent run.

Every child carries the variant's flattened params, its mean curves per epoch (``train_loss``,
``val_loss``, ``time_s`` with ``step=epoch``: the same keys as the train stage's runs, so the
UI overlays them) and its summary row as metrics (``final_loss``, ``epochs_to_target``...);
the parent carries the summary, the table and the comparison figures (the variants'
trajectories are one figure, ``trajectories.png``, on the parent: the compare stage passes
no ``variant_figures``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from gdlab.experiment.compare import Comparison
from gdlab.tracking.batching import curve_metrics, log_metrics, log_params, scalar_metrics
from gdlab.tracking.children import stopped_status
from gdlab.tracking.run_kind import RUN_KIND_TAG, VARIANT

CHILD_CURVES = ("train_loss", "val_loss", "learning_rate", "grad_norm", "time_s")


def variant_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of a summary row (``diverged`` as 0/1; missing values left out)."""
    out: dict[str, float] = {"diverged": float(bool(row["diverged"]))}
    for key in ("rank", "final_loss", "final_loss_std", "gap_to_best", "gap_to_best_std",
                "folds_behind_best", "final_val_loss", "final_val_loss_std", "epochs",
                "epochs_to_target", "time_to_target_s", "total_time_s"):
        if row.get(key) is not None:
            out[key] = float(row[key])
    for key, value in row.items():  # val_<metric>, val_<metric>_std: the held-out score
        if key.startswith("val_") and value is not None:
            out[key] = float(value)
    return out


def log_comparison(
    client: MlflowClient,
    experiment_id: str,
    parent_run_id: str,
    comparison: Comparison,
    *,
    flat_params: Mapping[str, Mapping[str, Any]],
    variant_figures: Mapping[str, Path] | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create one finished child run per variant; returns ``{label: run_id}``.

    ``flat_params[label]`` are the variant's flattened params; ``variant_figures[label]``, if
    given, an image logged under the child's ``figures/`` (the compare stage gives none);
    ``tags`` (the parent's lineage) are set on every child as it is created.
    """
    summary = comparison.summary()
    log_metrics(client, parent_run_id, scalar_metrics(
        {"target_loss": summary["target_loss"]} if summary["target_loss"] is not None else {}
    ))
    run_ids: dict[str, str] = {}
    for v in comparison.variants:
        now = int(time.time() * 1000)
        run = client.create_run(
            experiment_id,
            start_time=now,
            tags={
                **(tags or {}),
                MLFLOW_PARENT_RUN_ID: parent_run_id,
                MLFLOW_RUN_NAME: v.label,
                "gdlab.stage": "compare",
                RUN_KIND_TAG: VARIANT,
                "gdlab.compare.vary": comparison.vary,
                "gdlab.compare.value": str(v.value),
                "gdlab.compare.learning_rate_source": v.rate_source,
            },
        )
        run_id = run.info.run_id
        try:
            log_params(client, run_id, dict(flat_params[v.label]))
            curves = {name: list(v.curve(name)) for name in CHILD_CURVES}
            curves = {k: [None if c != c else c for c in vals] for k, vals in curves.items()}
            row = summary["variants"][v.label]
            log_metrics(
                client, run_id, curve_metrics(curves, now) + scalar_metrics(variant_metrics(row))
            )
            figure = (variant_figures or {}).get(v.label)
            if figure is not None and Path(figure).exists():
                client.log_artifact(run_id, str(figure), "figures")
        except BaseException as exc:  # KILLED on an interrupt, as the parent run
            with contextlib.suppress(Exception):  # the store may be what failed
                client.set_terminated(run_id, stopped_status(exc))
            raise
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
        run_ids[v.label] = run_id
    return run_ids

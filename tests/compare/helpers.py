"""The comparison run the compare tests share: every variant of ``params.compare`` on the
prepared default problem's training rows, in this process (``n_jobs=1``)."""

from __future__ import annotations

from typing import Any

from gdlab.experiment import decode_target
from gdlab.experiment.compare import Comparison, compare_variants, plan_variants


def run_comparison(params: Any, data: Any, **kw: Any) -> Comparison:
    """:func:`compare_variants` of ``params``'s variants on ``data``'s training split."""
    return compare_variants(
        plan_variants(params),
        data.X_train,
        decode_target(data.y_train, data.classes),
        vary=params.compare.vary,
        task=params.model.task,
        folds=params.cv.folds,
        seed=params.seed,
        n_jobs=1,
        target_loss=params.compare.target_loss,
        feature_names=data.feature_names,
        **kw,
    )

"""Each compared variant at its own learning rate (``compare.learning_rate: lr_find``).

Optimisers have very different good learning rates (plain SGD often wants ten times Adam's),
so comparing them all at params.yaml's one rate ranks how well that rate suits each. With
``lr_find`` every variant's pipeline is swept by gdlab's LR range test
(:func:`gdlab.core.diagnostics.lr_range_test`, seeded by the variant's own seed, as
``gdlab lr-find`` runs it) on the first fold's training rows, and the variant trains at the
suggestion. A sweep whose loss never fell clearly below its start
(:attr:`LRRangeResult.descended` false) gives no usable suggestion: the variant keeps
params.yaml's rate, and its note says why.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gdlab.core.diagnostics import lr_range_test
from gdlab.experiment.model import build_pipeline

SHARED, FOUND, FALLBACK = "shared", "lr_find", "fallback"
"""A variant's ``rate_source``: params.yaml's rate for all, its range test's suggestion, or
params.yaml's rate because the range test gave none."""


def suggested_rate(params: Any, X: np.ndarray, y: np.ndarray) -> tuple[float | None, str]:
    """``(rate, why)``: the LR range test's suggestion for ``params``'s pipeline on ``(X, y)``,
    or ``(None, the reason it is not usable)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = lr_range_test(build_pipeline(params), X, y)
    rate = float(result.suggestion)
    if not math.isfinite(rate) or rate <= 0:
        return None, f"the LR range test suggested {rate!r}"
    if not result.descended:
        return None, ("the LR range test found no descent (the loss never fell clearly "
                      "below its start)")
    return rate, f"LR range test suggestion (valley {result.valley:.4g})"


def find_variant_rates(variants: list[Any], X: np.ndarray, y: np.ndarray,
                       rows: np.ndarray) -> None:
    """Set every variant's ``optimizer.learning_rate`` to its range test's suggestion on
    ``X[rows], y[rows]`` (its ``params`` replaced, ``rate_source`` and ``rate_note`` set), or
    keep params.yaml's rate with ``rate_source`` ``fallback`` and the reason."""
    from gdlab.config import ConfigError, with_overrides

    X_rows, y_rows = X[rows], y[rows]
    for v in variants:
        configured = float(v.params.optimizer.learning_rate)
        rate, why = suggested_rate(v.params, X_rows, y_rows)
        if rate is not None:
            try:
                v.params = with_overrides(v.params, {"optimizer.learning_rate": rate})
            except ConfigError as exc:
                rate, why = None, f"its suggestion {rate:.4g} is refused: {exc.problems[0]}"
        if rate is None:
            v.rate_source = FALLBACK
            v.rate_note = f"params.yaml's {configured:g}: {why}"
        else:
            v.rate_source, v.rate_note = FOUND, why

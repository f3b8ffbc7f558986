"""The floating-point types gdlab trains in, by the name ``train.dtype`` and an estimator's
``dtype`` give: the numpy type a fit hands to a model's ``init_params`` (``np.float32``, not
the name), which validate's plug-in probe hands it too."""

from __future__ import annotations

import numpy as np

DTYPES: dict[str, type[np.floating]] = {"float64": np.float64, "float32": np.float32}
"""The floating-point types a fit trains in, by name."""

"""Synthetic data: make_regression / make_classification, seeded, with a chosen conditioning.

The features' sample covariance is given an exact condition number by rescaling the data
along its principal directions (a linear, invertible map, so the target stays a linear function
of the features for regression and the classes stay as separable). ``feature_scale`` then
multiplies every feature. The optional ``group`` column is a binary attribute correlated with
the target, kept out of the features (for fairness metrics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification, make_regression

from gdlab.config.sections.data import SYNTHETIC_GROUP, SyntheticConfig
from gdlab.data.table import RawTable

TARGET = "y"


def condition(X: np.ndarray, condition_number: float) -> np.ndarray:
    """``X`` rescaled along its principal directions so that the variances along them run
    geometrically from √κ to 1/√κ (sample covariance condition number κ); the mean is kept."""
    mean = X.mean(axis=0)
    centred = X - mean
    variances, directions = np.linalg.eigh(centred.T @ centred / max(len(X) - 1, 1))
    order = np.argsort(variances)[::-1]
    variances, directions = variances[order], directions[:, order]
    rank = int(np.sum(variances > variances[0] * 1e-12)) if variances[0] > 0 else 0
    if rank == 0:
        return X.copy()
    exponents = np.linspace(0.5, -0.5, rank) if rank > 1 else np.zeros(1)
    scale = np.ones_like(variances)
    scale[:rank] = np.sqrt(condition_number**exponents / variances[:rank])
    return mean + ((centred @ directions) * scale) @ directions.T


def _group(y: np.ndarray, task: str, rng: np.random.Generator) -> np.ndarray:
    """Binary group, P(group = 1) rising with the target (0.3 vs 0.7 by class half)."""
    if task == "classification":
        p = np.where(y >= (y.max() + 1) / 2, 0.7, 0.3)
    else:
        z = (y - y.mean()) / (y.std() or 1.0)
        p = 1.0 / (1.0 + np.exp(-1.5 * z))
    return (rng.random(len(y)) < p).astype(np.int64)


def make_synthetic(cfg: SyntheticConfig, task: str, seed: int) -> RawTable:
    """Generate the rows described by ``data.synthetic`` for ``task``, seeded by ``seed``.

    Regression: the noise-free target has unit variance and ``noise`` is the standard deviation
    of the Gaussian noise added to it. Classification: ``noise`` is the fraction of labels
    drawn at random (``flip_y``), one cluster per class.
    """
    if task == "regression":
        X, signal = make_regression(
            n_samples=cfg.n_samples,
            n_features=cfg.n_features,
            n_informative=cfg.n_informative,
            noise=0.0,
            random_state=seed,
        )
        signal = signal / (signal.std() or 1.0)
        y = signal + cfg.noise * np.random.default_rng([seed, 1]).standard_normal(len(signal))
    else:
        X, y = make_classification(
            n_samples=cfg.n_samples,
            n_features=cfg.n_features,
            n_informative=cfg.n_informative,
            n_redundant=0,
            n_repeated=0,
            n_classes=cfg.n_classes,
            n_clusters_per_class=1,
            flip_y=cfg.noise,
            random_state=seed,
        )
    X = condition(X, cfg.condition_number) * cfg.feature_scale
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(cfg.n_features)])
    frame[TARGET] = y
    sensitive = None
    if cfg.sensitive_group:
        frame[SYNTHETIC_GROUP] = _group(y, task, np.random.default_rng([seed, 2]))
        sensitive = SYNTHETIC_GROUP
    return RawTable(frame=frame, target=TARGET, source="synthetic", sensitive=sensitive)

"""``live:`` — how often MLflow hears from a model while it trains."""

from __future__ import annotations

from pydantic import Field

from gdlab.config.base import Section


class LiveConfig(Section):
    """Live view while training: per-epoch metrics sent to MLflow in batches."""

    interval: float | None = Field(
        5.0,
        gt=0,
        le=600,
        description="seconds between two batches of per-epoch metrics sent to MLflow while "
        "training; null = send the curves once training ends (the progress bar is drawn on a "
        "terminal; a log, or CI, gets it as a plain line every 5 s with the time left)",
    )

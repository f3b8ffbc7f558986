"""What every figure function shares: headless matplotlib, saving, and the drawn data.

Each figure function returns a :class:`Figure`: the PNG's path and ``data``, the arrays that
were drawn (read back from the plotted artists where matplotlib keeps them), so tests check
the content of a figure and not only that a file exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DPI = 110


@dataclass
class Figure:
    """A saved figure and the data drawn in it."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg (file-only) backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def canvas(
    path: str | Path,
    ncols: int = 1,
    nrows: int = 1,
    size: tuple[float, float] = (6, 4.5),
    **kwargs: Any,
) -> Iterator[tuple[Any, Any]]:
    """``(fig, axes)`` of ``nrows × ncols`` panels of ``size`` inches each; saved to ``path``
    (parents created) and closed on exit."""
    plt = pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size[0] * ncols, size[1] * nrows),
        dpi=DPI,
        squeeze=False,
        **kwargs,
    )
    try:
        with np.errstate(over="ignore", under="ignore"):  # a diverged curve may be ~1e300
            yield fig, axes
            fig.savefig(path)
    finally:
        plt.close(fig)


def line_data(line: Any) -> np.ndarray:
    """The (x, y) points of a drawn ``Line2D``, shape (n, 2)."""
    return np.asarray(line.get_xydata(), dtype=float)


def positive(*arrays: Any) -> bool:
    """True when every finite value of every array is > 0 (a log axis can show them)."""
    values = [np.asarray(a, dtype=float) for a in arrays if a is not None and np.size(a)]
    finite = [v[np.isfinite(v)] for v in values]
    return (
        bool(finite)
        and all(v.size == 0 or (v > 0).all() for v in finite)
        and any(v.size for v in finite)
    )

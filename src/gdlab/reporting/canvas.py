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

from gdlab.atomic import atomic_path, output_dir

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
    output_dir(path.parent)
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
            save_figure(fig, path)
    finally:
        plt.close(fig)


def save_figure(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    """``fig.savefig`` to ``path`` atomically (:func:`gdlab.atomic.atomic_path`): a process
    killed mid-write leaves the previous figure, never half a PNG."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)
    return Path(path)


def loss_notes(*, log: bool, scaled: bool) -> str:
    """What a loss axis's label adds in brackets: ``"log scale, standardised target"``, one
    of them, or ``""``."""
    from gdlab.experiment.target import STANDARDISED

    return ", ".join(note for note, on in (("log scale", log), (STANDARDISED, scaled)) if on)


def epoch_axis(ax: Any) -> None:
    """Label ``ax``'s x axis "epoch" with whole-number ticks (a short run was ticked 2.5, 7.5)."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def log_scale(ax: Any, axis: str = "y") -> None:
    """Put ``ax``'s ``axis`` ("x" or "y") on a log scale whose ticks read as plain numbers
    (0.3, 0.4, 0.6, 1, 2000) while the view stays within 1e-3 .. 1e5; matplotlib's default
    labels the ticks between decades 3×10⁻¹, 4×10⁻¹, 6×10⁻¹ when a curve spans less than a
    decade or two. Wider views keep matplotlib's labels (10⁻⁷, 10⁻⁶, ...)."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator

    class PlainLogFormatter(LogFormatterSciNotation):
        def __call__(self, x: float, pos: int | None = None) -> str:
            label = super().__call__(x, pos)
            if not label or self.axis is None:
                return label
            low, high = sorted(abs(v) for v in self.axis.get_view_interval())
            return f"{x:g}" if 1e-3 <= low and high <= 1e5 else label

    class FineLogLocator(LogLocator):
        """Matplotlib's minor log ticks (1..9 × 10^k), plus the halves (4.5, 5.5 × 10^k …)
        when the view spans less than a factor of 2.5: a curve from 0.38 to 0.55 had two
        labelled ticks, 0.4 and 0.5."""

        def tick_values(self, vmin: float, vmax: float) -> Any:
            low, high = sorted((vmin, vmax))
            narrow = low > 0 and high / low < 2.5
            self._subs = np.arange(1.0, 10.0, 0.5) if narrow else np.arange(2.0, 10.0)
            return super().tick_values(vmin, vmax)

    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target.set_major_formatter(PlainLogFormatter())
    target.set_minor_locator(FineLogLocator(base=10.0, subs=np.arange(2.0, 10.0)))
    # minor ticks labelled up to two decades (matplotlib: one), every one below a decade
    # (matplotlib: 0.4): a view from 7500 to 19000 showed one label, 10000
    target.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 1)))


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

"""The parameter trajectory drawn on contours of the true loss (see
:mod:`gdlab.experiment.trajectory` for the plane), alone or several side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gdlab.experiment.target import STANDARDISED
from gdlab.experiment.trajectory import LossSurface
from gdlab.reporting.canvas import Figure, canvas, line_data

CONTOUR_LIMIT = 1e249
"""The largest loss a filled contour places as it is. Matplotlib's filled contours extend
below the first and above the last level to ±1e250 only: a level beyond that (a diverged
variant's surface reaches 1e300) made ``contourf`` fail ("upper_level must be larger than
lower_level"), and a value beyond it was left unpainted. Levels stay within ±2e249; losses
above this one are painted as this one, in the top band."""


BASIN_LEVELS = 4
"""Bands between the lowest loss (the grid's or the end point's) and the lowest quantile
level: the quantile levels alone left the lowest ~7% of the grid, the basin the end point sits
in, one flat colour (lowest level 0.3243, the end's loss 0.318)."""


def contour_levels(values: np.ndarray, n: int = 14, floor: float | None = None) -> np.ndarray:
    """Contour levels spread by quantile of the grid values (dense where the valley is),
    the values taken within ±:data:`CONTOUR_LIMIT`, and below the lowest of them
    :data:`BASIN_LEVELS` evenly spaced levels from the lowest loss up: the grid's minimum or
    ``floor`` (the end point's loss) when lower, so the end point's neighbourhood is drawn
    in bands rather than one colour."""
    finite = np.clip(values[np.isfinite(values)], -CONTOUR_LIMIT, CONTOUR_LIMIT)
    levels = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, n + 2)[1:-1]))
    if levels.size < 2:
        low, high = float(finite.min()), float(finite.max())
        return np.linspace(low, high if high > low else low + max(1.0, abs(low)), 3)
    lowest = float(finite.min())
    if floor is not None and math.isfinite(floor):
        lowest = min(lowest, float(np.clip(floor, -CONTOUR_LIMIT, CONTOUR_LIMIT)))
    if lowest < levels[0]:
        basin = np.linspace(lowest, float(levels[0]), BASIN_LEVELS + 1)[:-1]
        levels = np.unique(np.concatenate([basin, levels]))
    return levels


def level_label(value: float) -> str:
    """A contour line's label: three significant digits, whole numbers written out from 1000
    to 1e5 (1954, not 1.95e+03)."""
    return f"{value:.0f}" if 1e3 <= abs(value) < 1e5 else f"{value:.3g}"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def sample_note(surface: LossSurface) -> str:
    """``loss on a 50 000-row sample of the 800 000 training rows`` for a surface evaluated
    on a sample ("" when on all rows)."""
    if surface.sample_rows is None:
        return ""
    of = f" of the {_count(surface.n_rows)} training rows" if surface.n_rows else ""
    return f"loss on a {_count(surface.sample_rows)}-row sample{of}"


def draw_surface(
    fig: Any,
    ax: Any,
    surface: LossSurface,
    *,
    title: str,
    markers: Mapping[str, np.ndarray] | None = None,
    levels: np.ndarray | None = None,
) -> dict[str, Any]:
    """Draw ``surface`` (filled contours, labelled lines, the path, start and end) on ``ax``;
    returns the drawn data: ``path`` (read back from the line), ``a``, ``b``, ``values``,
    ``levels``, ``colour_range`` (the filled contours' norm limits), ``contour_labels`` and
    ``legend`` (their texts).

    ``levels``: the contour levels (default: :func:`contour_levels` of this surface, down to
    its end point's loss); panels
    drawn with the same levels share one colour scale."""
    if levels is None:
        levels = contour_levels(surface.values, floor=float(surface.path_loss[-1]))
    # an infinite loss (an overflowing region), or one beyond CONTOUR_LIMIT, as a finite value
    # above every level and within matplotlib's top band (which ends at 1e250): painted in
    # the top band's colour. Other values stay as they are: clipping them just above the top
    # level moved the edge of the band below it (interpolated towards the clipped value) away
    # from where the true loss crosses that level; clipped at >= 1e249 the move is < 1e-200.
    top = max(CONTOUR_LIMIT, float(levels[-1]))
    values = surface.values
    bounded = np.where(np.isposinf(values) | (values > top), top, values)
    filled = ax.contourf(
        surface.a, surface.b, bounded, levels=levels, cmap="viridis_r", extend="both", alpha=0.85
    )
    lines = ax.contour(
        surface.a, surface.b, surface.values, levels=levels, colors="k", linewidths=0.5, alpha=0.6
    )
    labels = ax.clabel(lines, levels[:: max(1, len(levels) // 5)], fontsize=7, fmt=level_label)
    bar = fig.colorbar(filled, ax=ax, shrink=0.9)
    units = f", {STANDARDISED}" if surface.target_scaled else ""
    bar.set_label(f"training loss (mean loss + penalty{units})")
    (path_line,) = ax.plot(
        surface.path[:, 0],
        surface.path[:, 1],
        "-",
        color="crimson",
        linewidth=1.3,
        label="trajectory",
    )
    ax.plot(
        *surface.path[0],
        "o",
        color="white",
        markeredgecolor="k",
        markersize=7,
        label=f"start (loss {level_label(surface.path_loss[0])})",
    )
    ax.plot(
        *surface.path[-1],
        "*",
        color="gold",
        markeredgecolor="k",
        markersize=13,
        label=f"end (loss {level_label(surface.path_loss[-1])})",
    )
    for name, theta in (markers or {}).items():
        coords = (np.asarray(theta, dtype=float) - surface.origin) @ surface.basis.T
        ax.plot(*coords, "x", color="k", markersize=10, markeredgewidth=2, label=name)
    ax.set_xlabel(surface.axis_labels[0])
    ax.set_ylabel(surface.axis_labels[1])
    how = (
        "exact: the whole parameter plane"
        if surface.exact
        else (f"plane holds {surface.in_plane:.0%} of the path's deviation from a straight "
              "line")
    )
    note = sample_note(surface)  # a line of its own: beside ``how`` it ran past a panel's edges
    ax.set_title(f"{title}\n({how})" + (f"\n({note})" if note else ""), fontsize=10)
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    return {
        "path": line_data(path_line),
        "a": surface.a,
        "b": surface.b,
        "values": surface.values,
        "levels": levels,
        "colour_range": (float(filled.norm.vmin), float(filled.norm.vmax)),
        "contour_labels": [t.get_text() for t in labels],
        "legend": [t.get_text() for t in ax.get_legend().get_texts()],
        "path_loss": surface.path_loss,
        "title": ax.get_title(),
    }


def trajectory_figure(
    surface: LossSurface,
    path: str | Path,
    *,
    title: str = "parameter trajectory on the training-loss surface",
    markers: Mapping[str, np.ndarray] | None = None,
) -> Figure:
    """One trajectory on its loss surface."""
    with canvas(path, size=(7.5, 6)) as (fig, axes):
        data = draw_surface(fig, axes[0, 0], surface, title=title, markers=markers)
        fig.tight_layout()
    return Figure(Path(path), data)


def trajectories_figure(
    surfaces: Mapping[str, LossSurface | None],
    path: str | Path,
    *,
    title: str = "trajectories on the training-loss surface",
    per_row: int = 2,
) -> Figure:
    """One panel per labelled trajectory, side by side (``None``: no trajectory, e.g. a
    variant that diverged at once), on one colour scale: the contour levels are spread over
    the panels' loss values, so a colour means the same loss in every panel. A trajectory
    that ended above its start (it diverged) does not set the scale when another panel can:
    its losses (up to 1e300) took half the levels, and the other panels were one colour."""
    labels = list(surfaces)
    present = [s for s in surfaces.values() if s is not None]
    settled = [s for s in present if s.path_loss[-1] <= s.path_loss[0]]
    setting = settled or present
    drawn = [s.values.ravel() for s in setting]
    floor = min((float(s.path_loss[-1]) for s in setting), default=None)
    levels = contour_levels(np.concatenate(drawn), floor=floor) if drawn else None
    ncols = min(per_row, max(1, len(labels)))
    nrows = max(1, math.ceil(len(labels) / ncols))
    data: dict[str, Any] = {}
    with canvas(path, ncols=ncols, nrows=nrows, size=(5.6, 4.8)) as (fig, axes):
        flat = list(axes.ravel())
        for ax, label in zip(flat, labels, strict=False):
            surface = surfaces[label]
            if surface is None:
                ax.text(0.5, 0.5, f"{label}: no trajectory", ha="center", va="center")
                ax.set_axis_off()
                continue
            data[label] = draw_surface(fig, ax, surface, title=label, levels=levels)
        for ax in flat[len(labels) :]:
            ax.set_axis_off()
        fig.suptitle(title)
        fig.tight_layout()
    return Figure(Path(path), data)

"""Figures of a search (matplotlib, headless Agg): the learning rate × batch size heat map, the
LR range test, and Optuna's optimisation history and parameter importances."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gdlab.atomic import output_dir
from gdlab.core.diagnostics import LRRangeResult
from gdlab.experiment.progress import seconds
from gdlab.experiment.target import loss_units
from gdlab.reporting.canvas import log_scale, save_figure


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass
class HeatCell:
    """One cell of the heat map: its CV score (None when it diverged or failed) and time."""

    learning_rate: float
    batch_size: int | None
    value: float | None
    wall_time: float | None
    state: str


def heatmap_cells(trials: Sequence[Any]) -> list[HeatCell]:
    """Cells from the finished trials of a heat-map study (the last trial per cell wins)."""
    cells: dict[tuple[float, int | None], HeatCell] = {}
    for trial in trials:
        if not trial.state.is_finished():
            continue
        lr = trial.params.get("optimizer.learning_rate")
        bs = trial.params.get("train.batch_size")
        if lr is None:
            continue
        value = trial.value if trial.state.name == "COMPLETE" else None
        cells[(lr, bs)] = HeatCell(
            lr, bs, value, trial.user_attrs.get("gdlab.fit_time"), trial.state.name
        )
    return list(cells.values())


PANELS = ((0.075, 0.12, 0.295, 0.70), (0.575, 0.12, 0.295, 0.70))
"""The heat map's two panels (left, bottom, width, height in figure fractions), fixed: with
``tight_layout`` the wall-time colour bar's tick labels ("1.2" or "10", which change from run
to run) moved every panel, so two runs with one seed gave different loss panels."""


def _panel_axes(fig: Any) -> list[tuple[Any, Any]]:
    """``(heat map axes, colour bar axes)`` per panel, at :data:`PANELS`' fixed positions;
    ``fig.axes`` lists the two heat maps first, then their colour bars."""
    maps = [fig.add_axes(box) for box in PANELS]
    bars = [fig.add_axes((left + width + 0.02, bottom + 0.05 * height, 0.015, 0.9 * height))
            for left, bottom, width, height in PANELS]
    return list(zip(maps, bars, strict=True))


WALL_TITLE = ("CV wall time in seconds (all folds)\n"
              "one timing per cell: other load on the machine shows")
"""The wall-time panel's title: a cell is timed once, so it is noisy on a busy machine."""


def heatmap_figure(
    cells: Sequence[HeatCell],
    learning_rates: Sequence[float],
    batch_sizes: Sequence[int | None],
    path: str | Path,
    *,
    metric: str,
    n_folds: int,
    greater_is_better: bool = False,
    title: str | None = None,
) -> Path:
    """Two annotated heat maps side by side: mean CV ``metric`` (the best cell outlined) and
    CV wall time in seconds, learning rates as rows (smallest at the bottom), batch sizes as
    columns; grey cells diverged or failed."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FormatStrFormatter

    path = Path(path)
    output_dir(path.parent)
    lrs = sorted(learning_rates)
    sizes = sorted(batch_sizes, key=lambda b: math.inf if b is None else b)
    value = np.full((len(lrs), len(sizes)), np.nan)
    wall = np.full_like(value, np.nan)
    for cell in cells:
        if cell.learning_rate in lrs and cell.batch_size in sizes:
            i, j = lrs.index(cell.learning_rate), sizes.index(cell.batch_size)
            value[i, j] = np.nan if cell.value is None else cell.value
            wall[i, j] = np.nan if cell.wall_time is None else cell.wall_time
    better = "higher" if greater_is_better else "lower"
    fig = plt.figure(figsize=(11, 4.6), dpi=110)
    try:
        placed = _panel_axes(fig)
        panels = (
            (value, f"mean CV {metric} ({n_folds} folds, {better} is better)", "{:.3g}".format),
            (wall, WALL_TITLE, seconds),  # 0.031s, 4.9s
        )
        for k, ((ax, bar), (data, label, fmt)) in enumerate(zip(placed, panels, strict=True)):
            finite = data[np.isfinite(data)]
            norm = None
            if k == 0 and finite.size and finite.min() > 0 and finite.max() > 1.5 * finite.min():
                norm = LogNorm(vmin=finite.min(), vmax=finite.max())  # an outlier hides the rest
            cmap = "viridis" if (k == 0) == greater_is_better else "viridis_r"
            cmap_obj = plt.get_cmap(cmap if k == 0 else "magma_r").with_extremes(bad="#d0d0d0")
            image = ax.imshow(
                np.ma.masked_invalid(data), origin="lower", aspect="auto", cmap=cmap_obj, norm=norm
            )
            colorbar = fig.colorbar(image, cax=bar)
            colorbar.set_label(label.split(" (")[0] + (" (log colour scale)" if norm else ""))
            if norm is not None:
                plain = FormatStrFormatter("%.3g")
                colorbar.ax.yaxis.set_major_formatter(plain)
                colorbar.ax.yaxis.set_minor_formatter(plain)
            ax.set_xticks(range(len(sizes)), ["full" if b is None else str(b) for b in sizes])
            ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
            ax.set_xlabel("batch size")
            ax.set_ylabel("learning rate")
            ax.set_title(label, fontsize=10)
            _annotate(ax, data, fmt, image)
            if k == 0 and finite.size:
                flat = np.where(np.isfinite(data), data, -np.inf if greater_is_better else np.inf)
                i, j = np.unravel_index(
                    np.argmax(flat) if greater_is_better else np.argmin(flat), data.shape
                )
                ax.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)
                )
        fig.suptitle(
            title or "learning rate × batch size (red box: best; grey: diverged or failed)",
            fontsize=11,
        )
        save_figure(fig, path)  # no tight_layout: the panels stay where PANELS puts them
    finally:
        plt.close(fig)
    return path


def _annotate(ax: Any, data: np.ndarray, fmt: Callable[[float], str], image: Any) -> None:
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            v = data[i, j]
            if not np.isfinite(v):
                ax.text(j, i, "diverged", ha="center", va="center", fontsize=8, color="#444444")
                continue
            r, g, b, _ = image.cmap(image.norm(v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(
                j,
                i,
                fmt(v),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "black",
            )


def lr_find_figure(
    result: LRRangeResult,
    path: str | Path,
    *,
    smoothness: float | None = None,
    title: str | None = None,
    target_scaled: bool = False,
    setting: str | None = None,
) -> Path:
    """The LR range test: raw and smoothed loss against the learning rate (log x), the
    suggestion and the valley, and 1/L and 2/L when L is known (``target_scaled``: the loss
    is on the standardised target, as the axis says). The title names the ``setting`` swept
    (model, loss, optimiser, batch: :attr:`gdlab.tuning.guidance.LRGuidance.setting`) and
    says when the sweep never descended, so its suggestion is unreliable."""
    plt = _pyplot()
    path = Path(path)
    output_dir(path.parent)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    try:
        lrs = result.learning_rates
        ax.plot(lrs, result.losses, color="C0", alpha=0.35, linewidth=1, label="batch loss")
        ax.plot(lrs, result.smoothed, color="C0", linewidth=2, label="smoothed loss")
        ax.axvline(
            result.suggestion,
            color="C2",
            linestyle="-",
            label=f"suggestion {result.suggestion:.3g}",
        )
        if np.isfinite(result.valley):
            ax.axvline(
                result.valley, color="C1", linestyle=":", label=f"valley {result.valley:.3g}"
            )
        if smoothness:
            ax.axvline(
                1 / smoothness,
                color="C4",
                linestyle="--",
                label=f"1/L = {1 / smoothness:.3g} (gradient descent)",
            )
            ax.axvline(
                2 / smoothness,
                color="C3",
                linestyle="--",
                label=f"2/L = {2 / smoothness:.3g} (GD divergence bound)",
            )
        ax.set_xscale("log")
        if len(result.losses) and np.all(result.losses > 0):
            log_scale(ax)
        ax.set_xlabel("learning rate")
        ax.set_ylabel(f"training loss{loss_units(target_scaled)}")
        stop = "stopped on divergence" if result.diverged else "end of sweep"
        default = f"LR range test: {setting} ({stop})" if setting else f"LR range test ({stop})"
        if not result.descended:
            default += "\nno clear descent below the start loss: the suggestion is unreliable"
        ax.set_title(title or default, fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        fig.tight_layout()
        save_figure(fig, path)
    finally:
        plt.close(fig)
    return path


def _state_counts(study: Any) -> dict[str, int]:
    """The study's trials per state name (``COMPLETE``, ``PRUNED``, ...)."""
    from collections import Counter

    return Counter(t.state.name for t in study.get_trials(deepcopy=False))


def _history_title(study: Any) -> str:
    """Optuna draws complete trials only: the title counts the ones it leaves out."""
    states = _state_counts(study)
    hidden = ", ".join(f"{n} {state.lower()}" for state, n in sorted(states.items())
                       if state != "COMPLETE" and n)
    shown = f"Optimization history: {states.get('COMPLETE', 0)} complete trials"
    return shown + (f" (not drawn: {hidden})" if hidden else "")


MIN_TRIALS_FOR_IMPORTANCE = 10
"""Below this many complete trials the importances title calls them indicative only."""


def _importances_title(study: Any) -> str:
    """Optuna's importances rest on the complete trials only: the title says how many, how
    many it left out, and that a handful of trials is too few to rely on."""
    states = _state_counts(study)
    complete = states.get("COMPLETE", 0)
    left = sum(n for state, n in states.items() if state != "COMPLETE")
    title = f"Hyperparameter importances from {complete} complete trials"
    title += f" ({left} others left out)" if left else ""
    if complete < MIN_TRIALS_FOR_IMPORTANCE:
        title += f"\nfewer than {MIN_TRIALS_FOR_IMPORTANCE}: indicative only"
    return title


def study_figures(study: Any, directory: str | Path, *, metric: str) -> dict[str, Path]:
    """Optuna's optimisation history and parameter importances (when computable) as PNGs."""
    plt = _pyplot()
    import matplotlib
    import optuna
    from matplotlib.ticker import MaxNLocator
    from optuna.visualization import matplotlib as ovm

    directory = Path(directory)
    output_dir(directory)
    out: dict[str, Path] = {}
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    makers = {
        "optimization_history": lambda: ovm.plot_optimization_history(study, target_name=metric)
    }
    if len(complete) >= 2 and len({k for t in complete for k in t.params}) >= 1:
        makers["param_importances"] = lambda: ovm.plot_param_importances(study, target_name=metric)
    for name, make in makers.items():
        # optuna calls plt.style.use("ggplot"): kept to these figures, not every later one
        with warnings.catch_warnings(), matplotlib.rc_context():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", UserWarning)
            try:
                ax = make()
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # e.g. every trial has the same value: no importances
            if name == "optimization_history":
                ax.set_title(_history_title(study))
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no trial 0.5
            else:  # optuna titles it on the left: ours was printed over it
                ax.set_title("", loc="left")
                ax.set_title(_importances_title(study), fontsize=10)
            fig = ax.figure
            try:
                fig.set_size_inches(8, 4.8)
                fig.tight_layout()
                path = directory / f"{name}.png"
                save_figure(fig, path, dpi=110)
                out[name] = path
            finally:
                plt.close(fig)
    return out

"""Outputs of a comparison: the overlay chart, the trajectories side by side, the summary
(JSON of numbers and labels for ``dvc metrics``, a markdown table with the rules in words for
people), every variant's curves in one
long-format file (DVC's overlaid plots) and one curve file per variant; with
``compare.enabled: false``, the same set of outputs saying so (in
:mod:`gdlab.reporting.compare_disabled`: the disabled stage imports that module alone)."""

from __future__ import annotations

import csv
import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from gdlab.atomic import atomic_path, cleared_dir, write_text_atomic
from gdlab.config.sections.compare import safe_name
from gdlab.experiment.compare import Comparison, Variant, verdict_text
from gdlab.experiment.metrics import GREATER_IS_BETTER
from gdlab.experiment.progress import say
from gdlab.experiment.trajectory import loss_surface, surface_line
from gdlab.reporting.canvas import (
    Figure,
    canvas,
    epoch_axis,
    line_data,
    log_scale,
    loss_notes,
    positive,
)
from gdlab.reporting.compare_disabled import CURVE_COLUMNS, OVERLAY_COLUMNS, OVERLAY_CURVES
from gdlab.reporting.files import write_json
from gdlab.reporting.landscape import trajectories_figure


def _limits(groups: list[np.ndarray], log: bool) -> tuple[float, float] | None:
    """y-limits covering ``groups`` with a margin (a factor on a log axis)."""
    values = np.concatenate([g[np.isfinite(g)] for g in groups]) if groups else np.array([])
    if log:
        values = values[values > 0]
    if not values.size:
        return None
    low, high = float(values.min()), float(values.max())
    if log:
        return low / 1.15, high * 1.15
    pad = 0.05 * (high - low) or 0.05 * abs(high) or 1.0
    return low - pad, high + pad


SETTINGS = (
    ("optimizer.name", "optimizer {}"),
    ("optimizer.learning_rate", "learning rate {:g}"),
    ("train.batch_size", "batch size {}"),
    ("schedule.name", "schedule {}"),
)
"""The settings a loss curve depends on most, named in the overlay when the variants share
them (the legend names the varied one)."""


def _setting(params: Any, key: str) -> Any:
    value = params
    for part in key.split("."):
        value = getattr(value, part, None)
    return value


def shared_settings(comparison: Comparison) -> str:
    """``"optimizer sgd, learning rate 0.01, batch size 64, schedule constant"``: the
    :data:`SETTINGS` every variant shares, the varied key left out (its legend names it)."""
    parts = []
    for key, text in SETTINGS:
        if key == comparison.vary or not comparison.variants:
            continue
        values = {_setting(v.params, key) for v in comparison.variants}
        if len(values) == 1 and (value := values.pop()) is not None:
            parts.append(text.format(value))
        elif key == "train.batch_size" and values == {None}:
            parts.append("full batch")
    return ", ".join(parts)


MARKERS = ("o", "s", "^", "D", "v", "P", "*", "<", ">")
LINESTYLES = ("-", "--", "-.", (0, (3, 1, 1, 1, 1, 1)))
"""Marker and line style cycles of the overlay: with the ten colours, no two of the first 180
variants share (colour, marker, line style). Dotted is left to the target line."""
MARKS_PER_CURVE = 8  # markers on a curve, staggered between the variants


def variant_style(index: int) -> dict[str, Any]:
    """``color``, ``marker`` and ``linestyle`` of the ``index``-th variant (as listed): its
    style in every panel of the overlay."""
    return {"color": f"C{index % 10}", "marker": MARKERS[index % len(MARKERS)],
            "linestyle": LINESTYLES[index % len(LINESTYLES)]}


def _last(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)] if values.size else values
    return float(finite[-1]) if finite.size else None


def legend_label(label: str, row: dict[str, Any], final: float | None,
                 spread: float | None) -> str:
    """``"momentum (rank 1): 0.3176 ± 0.0042"``: the variant, its rank (or diverged,
    unstable) and its final loss, mean ± std over the folds."""
    tag = ("diverged" if row["diverged"]
           else f"rank {row['rank']}, unstable" if row.get("unstable")
           else f"rank {row['rank']}")
    if row["diverged"] or final is None:
        return f"{label} ({tag})"
    return f"{label} ({tag}): {_mean_std(final, spread)}"


def overlay_figure(comparison: Comparison, path: str | Path) -> Figure:
    """Every variant's mean training loss per epoch, validation loss per epoch (both with a
    mean ± std band over the folds, the training panel with the target line and ● where a
    variant first reaches it), and training loss against wall time.

    Each variant has its own colour, marker and line style in every panel, the markers
    staggered between the variants so that coinciding curves still show each one's; the
    best-ranked is drawn on top, the legends list the variants in ranking order with their
    final loss (mean ± std over the folds), and the verdict is under the title. The loss axes
    are scaled to the variants that did not diverge; a diverged variant's curve runs off the
    top and is marked ✕ at its last epoch."""
    summary = comparison.summary()
    rows = summary["variants"]
    ranking = summary["ranking"]
    target = comparison.target_loss
    count = len(comparison.variants)
    drawn: dict[str, dict[str, Any]] = {}
    kept: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    everything: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    longest = max((v.curve("train_loss").size for v in comparison.variants), default=0)
    step = max(1, round(longest / MARKS_PER_CURVE))
    with canvas(path, ncols=3, size=(5.4, 4.9)) as (fig, axes):
        ax_train, ax_val, ax_time = axes[0]
        handles: dict[str, dict[str, Any]] = {"train": {}, "val": {}, "time": {}}
        diverged_marks = []
        for k, v in enumerate(comparison.variants):
            style = variant_style(k)
            row = rows[v.label]
            on_top = 3 + count - row["rank"]  # the best-ranked above every other variant
            line_kw = {**style, "linewidth": 1.6, "markersize": 5, "zorder": on_top,
                       "markevery": ((k * step) // max(count, 1), step)}
            train, spread = v.curve("train_loss"), v.std("train_loss")
            val, val_spread = v.curve("val_loss"), v.std("val_loss")
            clock = v.curve("time_s")
            epochs = np.arange(1, train.size + 1)  # epoch 1 first, as the table counts
            train_label = legend_label(v.label, row, row["final_loss"], row["final_loss_std"])
            ok = np.isfinite(train)
            (t_line,) = ax_train.plot(epochs[ok], train[ok], label=train_label, **line_kw)
            if not row["diverged"]:
                ax_train.fill_between(epochs[ok], (train - spread)[ok], (train + spread)[ok],
                                      color=style["color"], alpha=0.12, linewidth=0, zorder=1)
            handles["train"][v.label] = t_line
            entry: dict[str, Any] = {"train": line_data(t_line), "style": _style_of(t_line)}
            if row["epochs_to_target"] is not None:
                e = row["epochs_to_target"]
                ax_train.plot([e], [train[e - 1]], "o", color=style["color"], markersize=7,
                              markeredgecolor="k", zorder=4 + count)
                entry["at_target"] = (e, float(train[e - 1]))
            ok_val = np.isfinite(val)
            if ok_val.any():
                val_epochs = np.arange(1, val.size + 1)
                final_val = None if row["diverged"] else _last(val)
                final_val_std = None if row["diverged"] else _last(val_spread)
                (v_line,) = ax_val.plot(
                    val_epochs[ok_val], val[ok_val],
                    label=legend_label(v.label, row, final_val, final_val_std), **line_kw)
                if not row["diverged"]:
                    ax_val.fill_between(val_epochs[ok_val], (val - val_spread)[ok_val],
                                        (val + val_spread)[ok_val], color=style["color"],
                                        alpha=0.12, linewidth=0, zorder=1)
                handles["val"][v.label] = v_line
                entry["val"] = line_data(v_line)
            ok_time = ok & np.isfinite(clock[: train.size])
            (c_line,) = ax_time.plot(clock[ok_time], train[ok_time], label=train_label,
                                     **line_kw)
            handles["time"][v.label] = c_line
            entry["time"] = line_data(c_line)
            entry["zorder"] = t_line.get_zorder()
            drawn[v.label] = entry
            for key, values in (("train", train[ok]), ("val", val[ok_val])):
                everything[key].append(values)
                if not row["diverged"]:
                    kept[key].append(values)
            if row["diverged"] and ok.any():
                diverged_marks.append((ax_train, int(epochs[ok][-1]), style["color"]))
                diverged_marks.append((ax_time, float(clock[ok_time][-1]) if ok_time.any()
                                       else 0.0, style["color"]))
        log = positive(*everything["train"], *everything["val"])
        for ax, key in ((ax_train, "train"), (ax_val, "val"), (ax_time, "train")):
            if log:
                log_scale(ax)
            limits = _limits(kept[key] or everything[key], log)
            if limits is not None:
                ax.set_ylim(*limits)
        for ax, x, colour in diverged_marks:
            top = ax.get_ylim()[1]
            ax.plot([x], [top], "X", color=colour, markersize=11, markeredgecolor="k",
                    clip_on=False, zorder=5 + count)
        extra: dict[str, list[Any]] = {"train": [], "val": [], "time": []}
        for ax, panel in ((ax_train, "train"), (ax_time, "time")):
            if target is not None:
                extra[panel].append(ax.axhline(target, color="k", linestyle=":", linewidth=1,
                                               label=f"target {target:.4g}"))
        titles = (
            ("epoch", "training loss (mean over folds ± std)", "training loss"
             + ("; ● first epoch at the target" if target is not None else "")),
            ("epoch", "validation loss (mean over folds ± std)", "validation loss"),
            ("wall time since fit start (s, mean over folds)", "training loss (mean over folds)",
             "training loss against time"),
        )
        legend_titles = ("final training loss, mean ± std over the folds",
                         "final validation loss, mean ± std over the folds",
                         "final training loss, mean ± std over the folds")
        scaled = bool(comparison.variants) and all(v.target_scaled for v in comparison.variants)
        # scale and units on a line of their own: on one line with the mean's description,
        # the label ran past the figure's edges (cut at both ends on a standardised target)
        notes = loss_notes(log=log, scaled=scaled)
        legends = {}
        for ax, panel, (xlabel, ylabel, title), heading in zip(
            (ax_train, ax_val, ax_time), ("train", "val", "time"), titles, legend_titles,
            strict=True,
        ):
            if xlabel == "epoch":
                epoch_axis(ax)
            else:
                ax.set_xlabel(xlabel)
            ax.set_ylabel(f"{ylabel}\n({notes})" if notes else ylabel)
            ax.set_title(title, fontsize=10)
            ax.grid(alpha=0.3, which="both")
            ordered = [handles[panel][label] for label in ranking if label in handles[panel]]
            ordered += extra[panel]
            if ordered:
                legend = ax.legend(handles=ordered, fontsize=8, title=heading,
                                   title_fontsize=8)
                legend.set_zorder(6 + count)
                legends[panel] = [text.get_text() for text in legend.get_texts()]
        folds = summary["folds"]
        settings = shared_settings(comparison)
        verdict = verdict_text(summary)
        title = (f"comparison of {comparison.vary} on the same {folds} "
                 + ("fold" if folds == 1 else "folds")
                 + (" (✕: diverged, off the scale)" if diverged_marks else "")
                 + "\n" + textwrap.fill(verdict, 160)
                 + (f"\nevery variant: {settings}" if settings else ""))
        fig.suptitle(title)
        fig.tight_layout()
        shown_title = fig.get_suptitle()
        panel_titles = [ax.get_title() for ax in axes[0]]
    return Figure(Path(path), {"variants": drawn, "target_loss": target,
                               "panel_titles": panel_titles,
                               "ranking": ranking, "legend": legends.get("train", []),
                               "legends": legends, "title": shown_title, "verdict": verdict})


def _style_of(line: Any) -> dict[str, Any]:
    """The drawn line's colour (RGBA), marker and dash pattern."""
    from matplotlib.colors import to_rgba

    return {"color": to_rgba(line.get_color()), "marker": line.get_marker(),
            "linestyle": line.get_linestyle()}


SURFACE_RESOLUTION = 31  # each variant's grid: SURFACE_RESOLUTION² loss evaluations


def comparison_trajectories_figure(comparison: Comparison, path: str | Path) -> Figure | None:
    """Each variant's parameter trajectory on its loss surface, side by side (None when no
    variant recorded one)."""
    surfaces = {}
    count = len(comparison.variants)
    for k, v in enumerate(comparison.variants, 1):
        traj = v.trajectory
        ok = traj is not None and traj.n_params >= 2 and len(traj.points) >= 2
        if ok and (line := surface_line(traj, SURFACE_RESOLUTION)) is not None:
            say(f"compare: variant {k}/{count} {v.label}: {line}")
        surfaces[v.label + (" (diverged)" if traj is not None and traj.diverged else "")] = (
            loss_surface(traj, resolution=SURFACE_RESOLUTION) if ok else None
        )
    if all(s is None for s in surfaces.values()):
        return None
    return trajectories_figure(
        surfaces, path, title=f"trajectories on the training-loss surface, by {comparison.vary}"
    )


def _cell(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else "—"
    return str(value)


def _diverged_cell(row: dict[str, Any]) -> str:
    """``no``, or ``yes (fold 1: epoch 4, learning_rate=0.1)`` naming where each fold
    diverged."""
    where = [f"fold {d['fold']}: epoch {d['epoch']}, learning_rate={d['learning_rate']:.4g}"
             for d in row.get("divergence") or []]
    return _cell(row["diverged"]) + (f" ({'; '.join(where)})" if row["diverged"] and where
                                     else "")


def _mean_std(mean: Any, std: Any) -> str:
    """``0.3176 ± 0.0123`` (``—`` without a mean)."""
    return _cell(mean) if mean is None or std is None else f"{_cell(mean)} ± {_cell(std, 2)}"


def _gap_cell(row: dict[str, Any], folds: int) -> str:
    """``+0.0015 ± 0.00021 (5/5)``: the paired gap to the best and on how many folds the
    variant is behind it (``—`` for the best and the variants not compared)."""
    if row.get("gap_to_best") is None:
        return "—"
    return (f"{row['gap_to_best']:+.2g} ± {_cell(row['gap_to_best_std'], 2)} "
            f"({row['folds_behind_best']}/{folds})")


def _ranked_loss(summary: dict[str, Any]) -> str:
    """``"validation loss"``, ``"training loss"`` or ``"held-out rmse"``: what the ranking and
    the gaps compare."""
    if summary.get("rank_by") == "val_metric":
        name = summary.get("val_metric")
        below = ", below the best's" if GREATER_IS_BETTER.get(name or "", False) else ""
        return f"held-out {name}{below}"
    return ("validation loss" if summary.get("rank_by") == "val_loss" else "training loss")


def _metric_cell(summary: dict[str, Any], row: dict[str, Any]) -> str:
    """The variant's held-out score in the task's metric, mean ± std over the folds."""
    name = summary.get("val_metric")
    if name is None:
        return "—"
    return _mean_std(row.get(f"val_{name}"), row.get(f"val_{name}_std"))


def _rate_cell(row: dict[str, Any]) -> str:
    """``0.0123``, ``0.0123 (LR range test suggestion ...)`` or ``0.01 (params.yaml's 0.01:
    the LR range test found no descent ...)``: the rate the variant trained at, and why."""
    rate = _cell(row.get("learning_rate"))
    if row.get("learning_rate_source") == "fallback":
        return f"{rate} ({row.get('learning_rate_note')})"
    if row.get("learning_rate_source") == "lr_find":
        return f"{rate} (lr_find)"
    return rate


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a markdown table, best first, with the budget and the verdict."""
    target = summary["target_loss"]
    lines = [
        f"# Comparison of `{summary['vary']}`",
        "",
        f"Same {summary['folds']} CV folds and data for every variant. Ranked by final "
        f"{summary['metric']}; target loss {_cell(target)} ({summary['target_rule']}).",
        "",
        f"Learning rate: {summary['learning_rate_rule']}.",
        "",
        f"Budget: {summary['budget']}.",
        "",
        f"Verdict: {verdict_text(summary)}. The final losses and held-out scores are the "
        f"mean ± standard deviation over the folds; a {summary['winner_rule']}. The held-out "
        f"{summary.get('val_metric') or 'metric'} column is each fold's model at its last "
        "epoch scored on the fold's held-out rows, the one measure every variant shares (the "
        "losses are each in the units of the variant's own loss, the training loss with its "
        "penalty).",
        "",
        "| rank | variant | learning rate | final training loss (mean ± std) | final "
        "validation loss (mean ± std) | held-out "
        f"{summary.get('val_metric') or 'metric'} (mean ± std) | gap to the best per fold "
        f"({_ranked_loss(summary)}; mean ± std, folds behind) | epochs | epochs to target | "
        "time to target (s) | total time (s) | diverged |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label in summary["ranking"]:
        row = summary["variants"][label]
        lines.append(
            f"| {row['rank']} | {label} | {_rate_cell(row)} | "
            f"{_mean_std(row['final_loss'], row['final_loss_std'])} | "
            f"{_mean_std(row['final_val_loss'], row['final_val_loss_std'])} | "
            f"{_metric_cell(summary, row)} | "
            f"{_gap_cell(row, summary['folds'])} | "
            f"{row['epochs']} | "
            f"{_cell(row['epochs_to_target'])} | {_cell(row['time_to_target_s'], 3)} | "
            f"{_cell(row['total_time_s'], 3)} | "
            + ("no, but unstable (ends above its first epoch's loss)"
               if row.get("unstable") else _diverged_cell(row)) + " |"
        )
    return "\n".join(lines) + "\n"


def _curve_rows(v: Variant, ceiling: float = math.inf) -> list[list[Any]]:
    """``[epoch (from 1), train_loss, val_loss, time_s, variant]`` per epoch of ``v``'s mean
    curves ("" where a value is missing, not finite, or a loss above ``ceiling``)."""
    train, val, clock = v.curve("train_loss"), v.curve("val_loss"), v.curve("time_s")
    train, val = (np.where(c > ceiling, np.nan, c) for c in (train, val))
    return [[e + 1, _num(train, e), _num(val, e), _num(clock, e), v.label]
            for e in range(train.size)]


OFF_CHART = 10.0
"""How far above the highest loss of the variants that did not diverge a diverged variant's
loss is still written to the overlaid DVC chart's file (a decade on its log axis)."""


def _overlay_ceiling(comparison: Comparison) -> float:
    """The highest loss written for a diverged variant: :data:`OFF_CHART` × the highest
    finite loss of the others (no limit when every variant diverged)."""
    highest = [float(c[np.isfinite(c)].max())
               for v in comparison.variants if not v.diverged
               for c in (v.curve("train_loss"), v.curve("val_loss")) if np.isfinite(c).any()]
    return OFF_CHART * max(highest) if highest else math.inf


def write_variant_curves(comparison: Comparison, directory: str | Path) -> list[Path]:
    """Replace ``directory`` with ``<variant>.csv`` files (epoch counted from 1, mean curves,
    variant)."""
    directory = cleared_dir(directory)
    paths = []
    for v in comparison.variants:
        path = directory / f"{safe_name(v.label)}.csv"
        with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CURVE_COLUMNS)
            writer.writerows(_curve_rows(v))
        paths.append(path)
    return paths


def write_overlay_curves(comparison: Comparison, path: str | Path) -> Path:
    """Every variant's mean curves in one long-format CSV (``CURVE_COLUMNS`` plus ``rank``),
    the variants in ranking order: the data of dvc.yaml's overlaid compare plots, whose
    template (``.dvc/plots/compare_variants.json``) draws one line per ``variant`` in one
    chart, whatever ``compare.values`` holds (with ``compare.enabled: false`` the file holds
    its header only: :func:`gdlab.reporting.compare_disabled.write_overlay_header`). A
    diverged variant's losses stop where they leave the chart (:func:`_overlay_ceiling`):
    written out, a loss of 1e108 would squeeze the other variants into the bottom pixels of
    the log axis, as the PNG overlay avoids by scaling to them."""
    ceiling = _overlay_ceiling(comparison)
    with atomic_path(Path(path)) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OVERLAY_COLUMNS)
        for rank, label in enumerate(comparison.summary()["ranking"], 1):
            v = comparison.variant(label)
            rows = _curve_rows(v, ceiling if v.diverged else math.inf)
            writer.writerows([*r, rank] for r in rows)
    return Path(path)


def _num(values: np.ndarray, i: int) -> str:
    return repr(float(values[i])) if i < values.size and np.isfinite(values[i]) else ""


PROSE_KEYS = ("metric", "target_rule", "winner_rule", "budget", "learning_rate_rule")
ROW_PROSE_KEYS = ("learning_rate_note",)
"""The summary's sentences (what is ranked, how the target and the winner are chosen, each
variant's budget): in ``summary.md``, not in ``summary.json``, a DVC metrics file, whose
``dvc metrics diff`` and ``dvc exp show`` pad every row to the widest value."""


def metrics_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` (:meth:`Comparison.summary`) without its :data:`PROSE_KEYS` (and the rows'
    :data:`ROW_PROSE_KEYS`): the numbers, booleans and labels ``reports/compare/summary.json``
    holds."""
    out = {k: v for k, v in summary.items() if k not in PROSE_KEYS}
    if isinstance(out.get("variants"), dict):
        out["variants"] = {label: {k: v for k, v in row.items() if k not in ROW_PROSE_KEYS}
                           for label, row in out["variants"].items()}
    return out


def write_comparison(
    comparison: Comparison, reports: str | Path, figures: str | Path
) -> dict[str, Any]:
    """Write ``summary.json`` (:func:`metrics_summary`), ``summary.md`` (all of it, with the
    sentences) and ``curves/`` under ``reports`` and the figures (``overlay.png``,
    ``trajectories.png``) under ``figures``; returns what was written (``summary``: the whole
    summary)."""
    reports, figures = Path(reports), Path(figures)
    summary = comparison.summary()
    cleared_dir(figures)
    drawn = {"overlay": overlay_figure(comparison, figures / "overlay.png")}
    trajectories = comparison_trajectories_figure(comparison, figures / "trajectories.png")
    if trajectories is not None:
        drawn["trajectories"] = trajectories
    written = {
        "summary": write_json(reports / "summary.json", metrics_summary(summary)),
        "table": reports / "summary.md",
        "curves": write_variant_curves(comparison, reports / "curves"),
        "overlay": write_overlay_curves(comparison, reports / OVERLAY_CURVES),
    }
    write_text_atomic(reports / "summary.md", summary_markdown(summary))
    return {"summary": summary, "figures": drawn, "files": written}

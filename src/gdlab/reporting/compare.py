"""Outputs of a comparison: the overlay chart, the trajectories side by side, the summary
(JSON for ``dvc metrics``, a markdown table for people) and one curve file per variant; with
``compare.enabled: false``, the same set of outputs saying so (:func:`write_disabled`)."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gdlab.atomic import atomic_path, write_text_atomic
from gdlab.config.sections.compare import safe_name
from gdlab.experiment.compare import Comparison, verdict_text
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
from gdlab.reporting.files import write_json, write_notice_svg
from gdlab.reporting.landscape import trajectories_figure

CURVE_COLUMNS = ("epoch", "train_loss", "val_loss", "time_s", "variant")
DISABLED_FIGURE = "compare_disabled.svg"


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


def overlay_figure(comparison: Comparison, path: str | Path) -> Figure:
    """Every variant's mean training loss per epoch (± std band, target line, ● where it first
    reaches the target), validation loss per epoch, and training loss against wall time.

    The loss axes are scaled to the variants that did not diverge; a diverged variant's curve
    runs off the top and is marked ✕ at its last epoch."""
    summary = comparison.summary()
    rows = summary["variants"]
    target = comparison.target_loss
    drawn: dict[str, dict[str, np.ndarray]] = {}
    kept: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    everything: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    with canvas(path, ncols=3, size=(5.4, 4.6)) as (fig, axes):
        ax_train, ax_val, ax_time = axes[0]
        diverged_marks = []
        for k, v in enumerate(comparison.variants):
            colour = f"C{k % 10}"
            row = rows[v.label]
            tag = ("diverged" if row["diverged"]
                   else f"rank {row['rank']}, unstable" if row.get("unstable")
                   else f"rank {row['rank']}")
            label = f"{v.label} ({tag})"
            train, spread = v.curve("train_loss"), v.std("train_loss")
            val, clock = v.curve("val_loss"), v.curve("time_s")
            epochs = np.arange(1, train.size + 1)  # epoch 1 first, as the table counts
            ok = np.isfinite(train)
            (t_line,) = ax_train.plot(epochs[ok], train[ok], "-", color=colour, linewidth=1.6,
                                      label=label)
            if not row["diverged"]:
                ax_train.fill_between(epochs[ok], (train - spread)[ok], (train + spread)[ok],
                                      color=colour, alpha=0.15, linewidth=0)
            entry = {"train": line_data(t_line)}
            if row["epochs_to_target"] is not None:
                e = row["epochs_to_target"]
                ax_train.plot([e], [train[e - 1]], "o", color=colour, markersize=6,
                              markeredgecolor="k")
                entry["at_target"] = (e, float(train[e - 1]))
            ok_val = np.isfinite(val)
            if ok_val.any():
                (v_line,) = ax_val.plot(epochs[ok_val], val[ok_val], "--", color=colour,
                                        linewidth=1.6, label=label)
                entry["val"] = line_data(v_line)
            ok_time = ok & np.isfinite(clock[: train.size])
            (c_line,) = ax_time.plot(clock[ok_time], train[ok_time], "-", color=colour,
                                     linewidth=1.6, label=label)
            entry["time"] = line_data(c_line)
            drawn[v.label] = entry
            for key, values in (("train", train[ok]), ("val", val[ok_val])):
                everything[key].append(values)
                if not row["diverged"]:
                    kept[key].append(values)
            if row["diverged"] and ok.any():
                diverged_marks.append((ax_train, int(epochs[ok][-1]), colour))
                diverged_marks.append((ax_time, float(clock[ok_time][-1]) if ok_time.any()
                                       else 0.0, colour))
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
                    clip_on=False, zorder=5)
        for ax in (ax_train, ax_time):
            if target is not None:
                ax.axhline(target, color="k", linestyle=":", linewidth=1,
                           label=f"target {target:.4g}")
        titles = (
            ("epoch", "training loss (mean over folds ± std)", "training loss; ● first epoch at "
             "the target"),
            ("epoch", "validation loss (mean over folds)", "validation loss"),
            ("wall time since fit start (s, mean over folds)", "training loss (mean over folds)",
             "training loss against time"),
        )
        scaled = bool(comparison.variants) and all(v.target_scaled for v in comparison.variants)
        # scale and units on a line of their own: on one line with the mean's description,
        # the label ran past the figure's edges (cut at both ends on a standardised target)
        notes = loss_notes(log=log, scaled=scaled)
        for ax, (xlabel, ylabel, title) in zip((ax_train, ax_val, ax_time), titles, strict=True):
            if xlabel == "epoch":
                epoch_axis(ax)
            else:
                ax.set_xlabel(xlabel)
            ax.set_ylabel(f"{ylabel}\n({notes})" if notes else ylabel)
            ax.set_title(title, fontsize=10)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
        folds = summary["folds"]
        settings = shared_settings(comparison)
        title = (f"comparison of {comparison.vary} on the same {folds} "
                 + ("fold" if folds == 1 else "folds")
                 + (" (✕: diverged, off the scale)" if diverged_marks else "")
                 + (f"\nevery variant: {settings}" if settings else ""))
        fig.suptitle(title)
        fig.tight_layout()
        legend = [text.get_text() for text in ax_train.get_legend().get_texts()]
    return Figure(Path(path), {"variants": drawn, "target_loss": target,
                               "ranking": summary["ranking"], "legend": legend,
                               "title": title})


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


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a markdown table, best first, with the budget and the verdict."""
    target = summary["target_loss"]
    lines = [
        f"# Comparison of `{summary['vary']}`",
        "",
        f"Same {summary['folds']} CV folds and data for every variant. Ranked by final "
        f"{summary['metric']}; target loss {_cell(target)} ({summary['target_rule']}).",
        "",
        f"Budget: {summary['budget']}.",
        "",
        f"Verdict: {verdict_text(summary)}. The final training loss is the mean ± standard "
        f"deviation over the folds; a {summary['winner_rule']}.",
        "",
        "| rank | variant | final training loss (mean ± std) | final validation loss | epochs | "
        "epochs to target | time to target (s) | total time (s) | diverged |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label in summary["ranking"]:
        row = summary["variants"][label]
        lines.append(
            f"| {row['rank']} | {label} | {_mean_std(row['final_loss'], row['final_loss_std'])} | "
            f"{_cell(row['final_val_loss'])} | {row['epochs']} | "
            f"{_cell(row['epochs_to_target'])} | {_cell(row['time_to_target_s'], 3)} | "
            f"{_cell(row['total_time_s'], 3)} | "
            + ("no, but unstable (ends above its first epoch's loss)"
               if row.get("unstable") else _diverged_cell(row)) + " |"
        )
    return "\n".join(lines) + "\n"


def write_variant_curves(comparison: Comparison, directory: str | Path) -> list[Path]:
    """Replace ``directory`` with ``<variant>.csv`` files (epoch counted from 1, mean curves,
    variant)."""
    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    paths = []
    for v in comparison.variants:
        train, val, clock = v.curve("train_loss"), v.curve("val_loss"), v.curve("time_s")
        path = directory / f"{safe_name(v.label)}.csv"
        with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CURVE_COLUMNS)
            for e in range(train.size):
                writer.writerow([e + 1, _num(train, e), _num(val, e), _num(clock, e), v.label])
        paths.append(path)
    return paths


def _num(values: np.ndarray, i: int) -> str:
    return repr(float(values[i])) if i < values.size and np.isfinite(values[i]) else ""


def write_comparison(
    comparison: Comparison, reports: str | Path, figures: str | Path
) -> dict[str, Any]:
    """Write ``summary.json``, ``summary.md`` and ``curves/`` under ``reports`` and the figures
    (``overlay.png``, ``trajectories.png``) under ``figures``; returns what was written."""
    reports, figures = Path(reports), Path(figures)
    summary = comparison.summary()
    if figures.exists():
        shutil.rmtree(figures)
    drawn = {"overlay": overlay_figure(comparison, figures / "overlay.png")}
    trajectories = comparison_trajectories_figure(comparison, figures / "trajectories.png")
    if trajectories is not None:
        drawn["trajectories"] = trajectories
    written = {
        "summary": write_json(reports / "summary.json", summary),
        "table": reports / "summary.md",
        "curves": write_variant_curves(comparison, reports / "curves"),
    }
    write_text_atomic(reports / "summary.md", summary_markdown(summary))
    return {"summary": summary, "figures": drawn, "files": written}


def write_disabled(reports: str | Path, figures: str | Path) -> dict[str, Path]:
    """The outputs of a stage with ``compare.enabled: false``, replacing a previous run's:
    ``summary.json`` (``{"enabled": false}``), ``summary.md`` saying so, and
    ``compare_disabled.svg`` in ``curves/`` and in ``figures`` (no variant curves or figures).
    No output directory is left empty (DVC warns about an empty output, and an empty directory
    is in no git commit); ``dvc plots show`` draws each notice as an image."""
    reports, figures = Path(reports), Path(figures)
    for path in (reports, figures):
        shutil.rmtree(path, ignore_errors=True)
    note = "compare.enabled: false: no variants compared"
    return {
        "summary": write_json(reports / "summary.json", {"enabled": False}),
        "table": write_text_atomic(
            reports / "summary.md", "Comparison disabled (compare.enabled: false).\n"
        ),
        "curves": write_notice_svg(reports / "curves" / DISABLED_FIGURE, f"{note}, so no curves"),
        "figures": write_notice_svg(figures / DISABLED_FIGURE, f"{note}, so no figures"),
    }

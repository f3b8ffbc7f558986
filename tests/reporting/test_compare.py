"""The comparison's overlay figure and DVC plot data, on comparisons built in memory: three
optimisers whose curves coincide (momentum, adam, nesterov) and one far behind (sgd), two
folds each, the best listed first."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib.colors import to_rgba

from gdlab.experiment.compare import Comparison, Variant, VariantFold
from gdlab.reporting.compare import overlay_figure, write_comparison

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 40
# each fold's final training loss; adam and nesterov draw the same curves, below momentum's on
# fold 1 and above it on fold 2 (no winner)
FINALS = {
    "momentum": (0.299, 0.309),
    "sgd": (0.34, 0.35),
    "adam": (0.297, 0.313),
    "nesterov": (0.297, 0.313),
}
RANKING = ["momentum", "adam", "nesterov", "sgd"]  # equal finals: the one listed first leads
VERDICT = ("no clear winner: momentum is not ahead of adam, nesterov on every fold by more "
           "than the spread of the fold-by-fold gaps and train.tol (their order is not "
           "significant)")


def _folds(label: str) -> list[VariantFold]:
    rate = 12.0 if label == "sgd" else 3.0
    e = np.arange(EPOCHS)
    folds = []
    for k, final in enumerate(FINALS[label], 1):
        train = final + 0.5 * np.exp(-e / rate) - 0.5 * np.exp(-(EPOCHS - 1) / rate)
        val = train + 0.01 * k
        folds.append(VariantFold(k, {"train_loss": list(train), "val_loss": list(val),
                                     "time_s": list(0.01 * (e + 1))}, False, 0.4))
    return folds


def _comparison() -> Comparison:
    return Comparison("optimizer.name",
                      [Variant(label, label, None, _folds(label)) for label in FINALS])


def _final(label: str, key: str) -> tuple[float, float]:
    """Mean and standard deviation over the folds of the last epoch's ``key``."""
    last = [f.curves[key][-1] for f in _folds(label)]
    return float(np.mean(last)), float(np.std(last))


def _variant_lines(ax) -> dict[str, object]:
    return {line.get_label().split(" (")[0]: line for line in ax.lines
            if line.get_label().split(" (")[0] in FINALS}


def _drawn(kept, tmp_path):
    comparison = _comparison()
    assert comparison.ranking() == RANKING
    figure = overlay_figure(comparison, tmp_path / "overlay.png")
    (fig,) = kept
    return figure, fig


def _markers_x(line) -> set[float]:
    start, step = line.get_markevery()
    return set(np.asarray(line.get_xdata(), dtype=float)[start::step])


def test_coinciding_variants_differ_in_colour_marker_and_line_style(kept, tmp_path):
    """Every variant was a solid line of its colour (dashed in the validation panel): adam and
    nesterov, drawn on the same points, showed as one line."""
    _, fig = _drawn(kept, tmp_path)
    for ax in fig.axes:
        lines = _variant_lines(ax)
        assert sorted(lines) == sorted(FINALS)
        styles = {label: (to_rgba(line.get_color()), line.get_marker(),
                          tuple(line._unscaled_dash_pattern[1] or ()))
                  for label, line in lines.items()}
        for part in range(3):  # colour, marker and dash pattern each tell them apart
            assert len({s[part] for s in styles.values()}) == len(FINALS), (part, styles)
        assert all(s[1] not in ("None", "", None) for s in styles.values())
        # the same style in every panel
        assert styles == {label: (to_rgba(line.get_color()), line.get_marker(),
                                  tuple(line._unscaled_dash_pattern[1] or ()))
                          for label, line in _variant_lines(fig.axes[0]).items()}
        # sparse markers, at different epochs for curves that coincide
        for line in lines.values():
            assert 1 < len(_markers_x(line)) <= 10
        assert not _markers_x(lines["adam"]) & _markers_x(lines["nesterov"])
    np.testing.assert_array_equal(_variant_lines(fig.axes[0])["adam"].get_ydata(),
                                  _variant_lines(fig.axes[0])["nesterov"].get_ydata())


def test_the_best_ranked_variant_is_drawn_on_top(kept, tmp_path):
    """The best (momentum, listed first) was drawn first, under the later variants."""
    _, fig = _drawn(kept, tmp_path)
    for ax in fig.axes:
        lines = _variant_lines(ax)
        # matplotlib draws by z-order, ties in the order the artists were added
        order = sorted(ax.lines, key=lambda line: line.get_zorder())
        stacked = [line.get_label().split(" (")[0] for line in order
                   if line in lines.values()]
        assert stacked == RANKING[::-1], stacked
        assert lines["momentum"].get_zorder() > max(
            (c.get_zorder() for c in ax.collections), default=0)  # above every band too


def test_legends_list_the_variants_best_first_with_final_mean_and_std(kept, tmp_path):
    _, fig = _drawn(kept, tmp_path)
    train_ax, val_ax, time_ax = fig.axes
    for ax, key in ((train_ax, "train_loss"), (val_ax, "val_loss"), (time_ax, "train_loss")):
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        expected = []
        for rank, label in enumerate(RANKING, 1):
            mean, std = _final(label, key)
            expected.append(f"{label} (rank {rank}): {mean:.4g} ± {std:.2g}")
        assert texts == expected
        # each entry's handle is the variant's line style
        handles = ax.get_legend().legend_handles
        lines = _variant_lines(ax)
        assert [(h.get_color(), h.get_marker()) for h in handles] == [
            (lines[label].get_color(), lines[label].get_marker()) for label in RANKING]


def test_the_verdict_is_under_the_title(kept, tmp_path):
    figure, fig = _drawn(kept, tmp_path)
    title = fig.get_suptitle().splitlines()
    assert title[0] == "comparison of optimizer.name on the same 2 folds"
    assert " ".join(title[1:]).startswith(VERDICT)
    assert figure.data["verdict"] == VERDICT


def test_bands_span_the_folds_in_the_training_and_validation_panels(kept, tmp_path):
    """The validation panel had no band: whether the variants were within the spread could
    not be judged there."""
    _, fig = _drawn(kept, tmp_path)
    for ax, key in ((fig.axes[0], "train_loss"), (fig.axes[1], "val_loss")):
        bands = {}
        for collection in ax.collections:
            vertices = np.concatenate([p.vertices for p in collection.get_paths()])
            colour = tuple(collection.get_facecolor()[0][:3])
            bands[colour] = vertices
        lines = _variant_lines(ax)
        assert len(bands) == len(FINALS)
        for label, line in lines.items():
            vertices = bands[to_rgba(line.get_color())[:3]]
            last = vertices[vertices[:, 0] == EPOCHS]
            mean, std = _final(label, key)
            assert last[:, 1].min() == pytest.approx(mean - std)
            assert last[:, 1].max() == pytest.approx(mean + std)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_one_long_format_file_holds_every_variants_curves(tmp_path):
    """DVC could only draw reports/compare/curves as one chart per variant file; one file with
    a variant column is what one overlaid chart reads, whatever compare.values holds."""
    written = write_comparison(_comparison(), tmp_path / "reports", tmp_path / "figures")
    rows = _rows(tmp_path / "reports" / "overlay.csv")
    assert written["files"]["overlay"] == tmp_path / "reports" / "overlay.csv"
    assert list(dict.fromkeys(r["variant"] for r in rows)) == RANKING  # best first
    for rank, label in enumerate(RANKING, 1):
        mine = [r for r in rows if r["variant"] == label]
        assert {r["rank"] for r in mine} == {str(rank)}
        per_variant = _rows(tmp_path / "reports" / "curves" / f"{label}.csv")
        assert [{k: v for k, v in r.items() if k != "rank"} for r in mine] == per_variant
        val = np.mean([f.curves["val_loss"] for f in _folds(label)], axis=0)
        np.testing.assert_allclose([float(r["val_loss"]) for r in mine], val)
        assert [int(r["epoch"]) for r in mine] == list(range(1, EPOCHS + 1))


def _dvc_yaml() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())


def _overlay_plots() -> dict[str, dict]:
    """dvc.yaml's top-level plots drawn from the compare stage's overlay file."""
    plots = {}
    for entry in _dvc_yaml()["plots"]:
        if isinstance(entry, dict):
            ((name, spec),) = entry.items()
            if isinstance(spec, dict) and isinstance(spec.get("y"), dict) and (
                    "reports/compare/overlay.csv" in spec["y"]):
                plots[name] = spec
    return plots


def test_dvc_yaml_overlays_the_variants_in_one_chart():
    """One chart per metric reads the overlay file, coloured by variant by its template, and
    the file is an output of the compare stage."""
    plots = _overlay_plots()
    assert sorted(spec["y"]["reports/compare/overlay.csv"] for spec in plots.values()) == [
        "train_loss", "val_loss"]
    outs = [next(iter(o)) if isinstance(o, dict) else o
            for o in _dvc_yaml()["stages"]["compare"]["outs"]]
    assert "reports/compare/overlay.csv" in outs
    for spec in plots.values():
        assert spec["x"] == "epoch"
        template = json.loads((REPO / ".dvc" / "plots" / f"{spec['template']}.json").read_text())
        assert template["encoding"]["color"]["field"] == "variant"
        assert template["encoding"]["strokeDash"]["field"] == "rev"  # plots diff: revisions


@pytest.mark.slow
def test_dvc_plots_show_draws_every_variant_in_one_chart(tmp_path):
    """`dvc plots show --json` of the shipped dvc.yaml and template: the validation-loss chart
    is one chart holding every variant's curve, with the values of the per-variant files."""
    shutil.copy(REPO / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copytree(REPO / ".dvc" / "plots", tmp_path / ".dvc" / "plots")
    (tmp_path / ".dvc" / "config").write_text("[core]\n    no_scm = true\n")
    write_comparison(_comparison(), tmp_path / "reports" / "compare", tmp_path / "figures")
    dvc = Path(sys.executable).parent / "dvc"
    proc = subprocess.run([str(dvc), "plots", "show", "--json", *_overlay_plots()],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert not shown.get("errors"), shown["errors"]
    (chart,) = shown["data"]["compare_val_loss"]  # one chart, not one per variant
    content = chart["content"]
    assert content["encoding"]["y"]["field"] == "val_loss"
    values = content["data"]["values"]
    assert sorted({v["variant"] for v in values}) == sorted(FINALS)
    for label in FINALS:
        expected = _rows(tmp_path / "reports" / "compare" / "curves" / f"{label}.csv")
        drawn = [(int(v["epoch"]), float(v["val_loss"])) for v in values
                 if v["variant"] == label]
        assert drawn == [(int(r["epoch"]), float(r["val_loss"])) for r in expected]


def test_a_diverged_variants_losses_stop_where_they_leave_the_overlaid_chart(tmp_path):
    """A diverged variant's losses (up to 1e108) would set the overlaid DVC chart's log axis
    and squeeze the others into its bottom pixels: overlay.csv writes them only up to 10 x
    the others' highest loss (the cells above are empty), while its own curve file keeps
    every value."""
    e = np.arange(EPOCHS)
    exploding = list(0.5 * 10.0 ** (3 * e))  # 0.5, 500, 5e5, ... 5e116: diverged
    folds = [VariantFold(k, {"train_loss": exploding[:40], "val_loss": exploding[:40],
                             "time_s": list(0.01 * (e + 1))}, True, 0.4) for k in (1, 2)]
    comparison = Comparison("optimizer.name", [
        *(Variant(label, label, None, _folds(label)) for label in FINALS),
        Variant("lr-huge", "lr-huge", None, folds),
    ])
    write_comparison(comparison, tmp_path / "reports", tmp_path / "figures")
    rows = _rows(tmp_path / "reports" / "overlay.csv")
    others = [float(r[k]) for r in rows if r["variant"] != "lr-huge"
              for k in ("train_loss", "val_loss")]
    ceiling = 10 * max(others)
    mine = [r for r in rows if r["variant"] == "lr-huge"]
    full = _rows(tmp_path / "reports" / "curves" / "lr-huge.csv")
    assert len(mine) == len(full) and float(full[-1]["train_loss"]) > 1e100
    for row, whole in zip(mine, full, strict=True):
        for key in ("train_loss", "val_loss"):
            value = float(whole[key])
            assert row[key] == (whole[key] if value <= ceiling else "")
    assert mine[0]["train_loss"] == full[0]["train_loss"]  # 0.5: on the chart


def _strings(value, key: str = "") -> dict[str, str]:
    """Every string of a JSON document by its dotted key."""
    if isinstance(value, dict):
        return {k: s for name, item in value.items()
                for k, s in _strings(item, f"{key}.{name}" if key else name).items()}
    if isinstance(value, list):
        return {k: s for i, item in enumerate(value)
                for k, s in _strings(item, f"{key}[{i}]").items()}
    return {key: value} if isinstance(value, str) else {}


def test_summary_json_holds_no_sentence_and_summary_md_keeps_them(tmp_path):
    """``summary.json`` is a DVC metrics file: its ``budget`` (298 characters), ``winner_rule``
    (354) and ``metric`` made ``dvc metrics diff`` and ``dvc exp show`` pad every row that
    wide. The sentences are in ``summary.md``; the file keeps numbers, booleans and labels."""
    from types import SimpleNamespace

    budget = SimpleNamespace(train=SimpleNamespace(max_epochs=EPOCHS, tol=1e-4))
    comparison = Comparison("optimizer.name", [Variant(label, label, budget, _folds(label))
                                               for label in FINALS])
    written = write_comparison(comparison, tmp_path / "reports", tmp_path / "figures")
    document = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert {k: s for k, s in _strings(document).items() if len(s) > 40} == {}
    assert document["ranking"] == RANKING and document["target_loss"] == pytest.approx(
        written["summary"]["target_loss"])
    assert document["variants"]["sgd"]["rank"] == 4
    table = (tmp_path / "reports" / "summary.md").read_text()
    full = comparison.summary()
    for key in ("budget", "winner_rule", "metric", "target_rule"):
        assert full[key] in table and key not in document  # the sentence is in the table
    assert full["budget"].startswith(f"same epoch budget: train.max_epochs {EPOCHS} ")

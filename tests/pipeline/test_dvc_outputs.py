"""How dvc.yaml stores the stages' outputs: every directory output in DVC's cache, so that
``dvc exp apply`` and ``dvc checkout`` restore it exactly (tests/compare/test_dvc.py runs that
under the real DVC); report and metrics files ``cache: false``, to be committed to git."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _outputs() -> dict[str, bool]:
    """Every stage's outs and metrics -> whether DVC caches it."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    found = {}
    for stage in stages.values():
        for entry in [*stage.get("outs", []), *stage.get("metrics", [])]:
            path, options = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
            found[path] = (options or {}).get("cache", True)
    return found


def test_every_directory_output_is_cached_and_every_report_file_is_not():
    # a directory that was `cache: false` kept another experiment's extra files (fold_4.csv
    # of a 5-fold run after applying a 3-fold one, heat maps beside tuning_disabled.svg):
    # `dvc exp apply` leaves the workspace's files that the applied commit lacks
    outputs = _outputs()
    directories = {p for p in outputs if not Path(p).suffix}
    assert {"models", "data/prepared", "reports/plots/folds", "reports/figures/train",
            "reports/figures/evaluate", "reports/tuning/figures", "reports/compare/curves",
            "reports/figures/compare"} <= directories
    assert [p for p in directories if not outputs[p]] == []
    reports = [p for p in outputs if Path(p).suffix and p.startswith("reports/")]
    assert reports and [p for p in reports if outputs[p]] == []

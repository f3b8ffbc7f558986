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


def test_every_cached_output_is_ignored_by_the_committed_gitignore_files():
    # DVC appends a cached output missing from them to a .gitignore: the root one (`/models`)
    # was tracked, so a fresh clone's first `dvc repro` changed a tracked file and every later
    # run was tagged gdlab.git_dirty=true. git itself says whether the committed files ignore
    # each output (--no-index: whether or not it exists or is tracked)
    import subprocess

    cached = sorted(p for p, cache in _outputs().items() if cache)
    assert "models" in cached and "data/prepared" in cached
    listed = subprocess.run(["git", "ls-files", "--", "*.gitignore"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    assert {".gitignore", "data/.gitignore"} <= set(listed)
    checked = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", *cached],
                             cwd=REPO, capture_output=True, text=True)
    ignored = {line.split("\t", 1)[1] for line in checked.stdout.splitlines()}
    assert [p for p in cached if p not in ignored] == []
    sources = {line.split(":", 1)[0] for line in checked.stdout.splitlines()}
    assert sources <= set(listed)  # by tracked files, not a local .git/info/exclude

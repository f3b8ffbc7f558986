"""CI's pipeline rerun: ``dvc repro`` on a small config, then ``dvc metrics diff`` and
``dvc params diff`` against the main branch.

    python scripts/ci_pipeline.py [--base main] [--params scripts/ci_params.yaml] [--keep]

Runs in a throw-away git worktree of HEAD (so the project's own working tree, its DVC outputs
and ``params.yaml`` are never touched), with the working tree's uncommitted changes copied over
(on a clean CI checkout there are none). The small config (``scripts/ci_params.yaml``) is
merged into that copy's params.yaml. The two diffs are printed as Markdown, appended to
``$GITHUB_STEP_SUMMARY`` when set (the run's summary page on GitHub) and, with ``--report``,
written to a file.
``make ci`` and ``.github/workflows/ci.yml`` both run this.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scripts" / "ci_params.yaml"


def git(*args: str, cwd: Path = ROOT, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"ci: git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip() if proc.returncode == 0 else ""


def resolve_base(name: str) -> str:
    """``name`` as a revision git knows: the branch, else ``origin/<name>`` (a CI checkout of
    a pull request has only the remote-tracking branch)."""
    for candidate in (name, f"origin/{name}", f"refs/remotes/origin/{name}"):
        if git("rev-parse", "--verify", "-q", f"{candidate}^{{commit}}", check=False):
            return candidate
    raise SystemExit(
        f"ci: no branch {name!r} or origin/{name} to diff against (a shallow checkout? "
        "fetch with fetch-depth: 0)"
    )


def deep_update(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


def copy_uncommitted(dest: Path) -> list[str]:
    """Copy modified and untracked (not ignored) files of the working tree into ``dest`` and
    remove the ones deleted there; returns the paths copied."""
    listed = git("ls-files", "-z", "-m", "-o", "--exclude-standard")
    copied = []
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied.append(name)
    for name in filter(None, git("ls-files", "-z", "-d").split("\0")):
        (dest / name).unlink(missing_ok=True)
    return copied


def stage_env(worktree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    venv_bin = Path(sys.executable).parent
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(worktree / "src")
    env.setdefault("CI", "1")
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    print(f"ci: $ {' '.join(command)}", flush=True)
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"ci: {' '.join(command)} exited {proc.returncode}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=os.environ.get("GDLAB_CI_BASE", "main"))
    parser.add_argument("--params", type=Path, default=SMALL, help="small config merged in")
    parser.add_argument("--report", type=Path, default=None, help="also write the diffs here")
    parser.add_argument("--keep", action="store_true", help="keep the worktree afterwards")
    args = parser.parse_args(argv)

    base = resolve_base(args.base)
    worktree = Path(tempfile.mkdtemp(prefix="gdlab-ci-")) / "repo"
    git("worktree", "add", "--detach", "-q", str(worktree), "HEAD")
    try:
        copied = copy_uncommitted(worktree)
        if copied:
            print(f"ci: {len(copied)} uncommitted file(s) of the working tree included")
        params_file = worktree / "params.yaml"
        params = yaml.safe_load(params_file.read_text())
        small = yaml.safe_load(args.params.read_text()) or {}
        params_file.write_text(yaml.safe_dump(deep_update(params, small), sort_keys=False))

        env = stage_env(worktree)
        dvc = str(Path(sys.executable).parent / "dvc")
        run([dvc, "repro"], worktree, env)
        metrics = run([dvc, "metrics", "diff", base, "--md"], worktree, env)
        changed = run(
            [dvc, "params", "diff", base, "--md", "--targets", "params.yaml"], worktree, env
        )
        report = (
            f"## Pipeline on the small config ({args.params.name}) against `{base}`\n\n"
            f"### dvc metrics diff {base}\n\n{metrics.strip() or '(no metrics)'}\n\n"
            f"### dvc params diff {base}\n\n{changed.strip() or '(no parameter changed)'}\n"
        )
        if args.report is not None:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(report)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(report)
        print(f"\n{report}")
    finally:
        if args.keep:
            print(f"ci: worktree kept at {worktree}")
        else:
            git("worktree", "remove", "--force", str(worktree), check=False)
            shutil.rmtree(worktree.parent, ignore_errors=True)
            git("worktree", "prune", check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

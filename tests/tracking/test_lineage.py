"""Lineage tags: the commit, whether the tree differs from it, and whether the code does."""

import subprocess

from gdlab.tracking.lineage import code_dirty, git_dirty, lineage_tags, params_dirty


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_params_and_dvc_lock_changes_leave_the_code_clean(tmp_path):
    for name, text in (("params.yaml", "seed: 1\n"), ("dvc.lock", "{}\n"),
                       ("reports/cv.json", "{}\n"), ("src/gdlab/model.py", "A = 1\n"),
                       ("my_opts.py", "B = 2\n"), ("dvc.yaml", "stages: {}\n")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    assert git_dirty(tmp_path) is False and code_dirty(tmp_path) is False
    assert lineage_tags("d1", cwd=tmp_path)["gdlab.params_dirty"] == "false"
    (tmp_path / "dvc.lock").write_text("{stages: {}}\n")  # each stage rewrites it
    assert params_dirty(tmp_path) is False and git_dirty(tmp_path) is True
    (tmp_path / "params.yaml").write_text("seed: 2\n")  # dvc exp run -S seed=2
    (tmp_path / "dvc.lock").write_text("{stages: {}}\n")  # each stage rewrites it
    (tmp_path / "reports/cv.json").write_text('{"a": 1}\n')  # a metrics file git tracks
    (tmp_path / "untracked.txt").write_text("x")
    assert git_dirty(tmp_path) is True and code_dirty(tmp_path) is False
    tags = lineage_tags("d1", cwd=tmp_path)
    assert tags["gdlab.git_dirty"] == "true" and tags["gdlab.code_dirty"] == "false"
    assert tags["gdlab.params_dirty"] == "true"
    for edited in ("src/gdlab/model.py", "my_opts.py", "dvc.yaml"):
        (tmp_path / edited).write_text((tmp_path / edited).read_text() + "# edit\n")
        assert code_dirty(tmp_path) is True, edited
        _git(tmp_path, "checkout", "--", edited)
    assert code_dirty(tmp_path) is False


def test_the_code_digest_changes_with_the_committed_code_only(tmp_path):
    """Committing dvc.lock, reports or params.yaml makes a new commit of the same code."""
    from gdlab.tracking.lineage import CODE_DIGEST_TAG, code_digest

    for name, text in (("params.yaml", "seed: 1\n"), ("dvc.lock", "{}\n"),
                       ("src/gdlab/model.py", "A = 1\n"), ("dvc.yaml", "stages: {}\n"),
                       ("pyproject.toml", "[project]\n"), ("README.md", "x\n")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    _git(tmp_path, "init", "-q")

    def commit():
        _git(tmp_path, "add", "-A")
        _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")

    commit()
    base = code_digest(tmp_path)
    assert len(base) == 64 and lineage_tags("d1", cwd=tmp_path)[CODE_DIGEST_TAG] == base
    for name in ("params.yaml", "dvc.lock", "README.md"):
        (tmp_path / name).write_text("changed\n")
        commit()
        assert code_digest(tmp_path) == base, name
    (tmp_path / "src/gdlab/model.py").write_text("A = 1\n")  # uncommitted: the digest is HEAD's
    for name in ("src/gdlab/model.py", "dvc.yaml", "pyproject.toml", "plugins/opt.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# edit\n")
        assert code_digest(tmp_path) == base, name
        commit()
        assert code_digest(tmp_path) != base, name
        base = code_digest(tmp_path)
    assert code_digest(tmp_path / "missing") is None

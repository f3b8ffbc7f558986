"""Stage outputs are written atomically: a write that fails midway (a full disk; a kill is the
same, minus the clean-up) leaves the previous file whole, or no file, and no temporary file.

Every file a write opens under the test's directory puts half of its first block on disk and
then fails, as a full disk does. Written in place, the model, run.json, a metrics file or a
figure was left cut short, and a later stage (or DVC, or MLflow) took it for the real one.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest

from gdlab import GDRegressor
from gdlab.experiment.persist import load_model, save_model
from gdlab.reporting import write_json
from gdlab.reporting.canvas import canvas
from gdlab.tracking import RunHandle
from gdlab.tuning.figures import HeatCell, heatmap_figure
from gdlab.tuning.report import write_rows


class _DiskFull:
    """A writable file whose ``write`` puts half the data on disk, then fails."""

    def __init__(self, handle):
        self._handle = handle

    def write(self, data):
        self._handle.write(data[: len(data) // 2])
        self._handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device (simulated)")

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


@pytest.fixture
def disk_full(tmp_path, monkeypatch):
    """Call ``disk_full()`` to make every file opened for writing under ``tmp_path`` fail
    midway (``builtins.open``: matplotlib, Pillow; ``io.open``: pathlib)."""
    real_open = io.open

    def failing_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        inside = isinstance(file, str | os.PathLike) and Path(file).is_relative_to(tmp_path)
        if inside and any(c in mode for c in "wax+"):
            return _DiskFull(handle)
        return handle

    def start():
        monkeypatch.setattr(builtins, "open", failing_open)
        monkeypatch.setattr(io, "open", failing_open)

    return start


def _model(scale: float) -> GDRegressor:
    X = np.random.default_rng(0).normal(size=(30, 2))
    return GDRegressor(max_epochs=3, tol=None, random_state=0).fit(X, scale * X[:, 0])


def _figure(path: Path, value: float) -> None:
    with canvas(path) as (_, axes):
        axes[0, 0].plot([0, 1], [0, value])


WRITERS = {
    "model.skops": lambda path, v: save_model(_model(v), path),
    "run.json": lambda path, v: RunHandle(f"run-{v}", "1", "gdlab").write(path),
    "metrics.json": lambda path, v: write_json(path, {"rmse": v}),
    "trials.csv": lambda path, v: write_rows(path, [{"number": 0, "value": v}], ["number"]),
    "loss.png": lambda path, v: _figure(path, v),
    "heatmap.png": lambda path, v: heatmap_figure(
        [HeatCell(0.1, 32, v, 1.0, "COMPLETE")], [0.1], [32], path, metric="rmse", n_folds=2
    ),
}


@pytest.mark.parametrize("name", WRITERS)
def test_a_write_failing_midway_leaves_the_previous_file_whole(name, tmp_path, disk_full):
    path = tmp_path / "out" / name
    WRITERS[name](path, 1.0)
    before = path.read_bytes()
    disk_full()
    with pytest.raises(OSError, match="No space left on device"):
        WRITERS[name](path, 2.0)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [name]  # no temporary file left
    if name == "model.skops":
        assert load_model(path).predict([[1.0, 0.0]]) == pytest.approx(
            _model(1.0).predict([[1.0, 0.0]])
        )


@pytest.mark.parametrize("name", WRITERS)
def test_a_first_write_failing_midway_leaves_no_file(name, tmp_path, disk_full):
    disk_full()
    with pytest.raises(OSError, match="No space left on device"):
        WRITERS[name](tmp_path / "out" / name, 1.0)
    assert list((tmp_path / "out").iterdir()) == []


def test_the_stage_scripts_own_writes_go_through_the_atomic_helper(tmp_path, disk_full):
    """validate (validated_params.json), evaluate (model_card.md) and compare (summary.md)
    write their text with write_text_atomic."""
    from gdlab.atomic import write_text_atomic

    path = write_text_atomic(tmp_path / "out" / "model_card.md", "# Model card\n")
    disk_full()
    with pytest.raises(OSError, match="No space left on device"):
        write_text_atomic(path, "# Another card\n")
    assert path.read_text() == "# Model card\n"
    assert [p.name for p in path.parent.iterdir()] == ["model_card.md"]


def test_an_atomic_write_replaces_the_file_whole_with_a_plain_files_permissions(tmp_path):
    from gdlab.atomic import atomic_path, write_bytes_atomic

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    path = write_bytes_atomic(tmp_path / "new.bin", b"old")
    assert write_bytes_atomic(path, b"new content") == path and path.read_bytes() == b"new content"
    assert os.stat(path).st_mode == os.stat(plain).st_mode  # not mkstemp's 0600
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        assert tmp.parent == path.parent and tmp.suffix == ".bin" and tmp.exists()
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert path.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.bin", "plain.txt"]


def test_a_temporary_file_left_by_a_kill_is_ignored_by_dvc_and_git(tmp_path):
    """A SIGKILL between create and rename leaves the hidden temporary file; inside a
    directory DVC tracks as one output (reports/figures) it would count as part of it.
    Checked in a scratch repository with the project's .gitignore and .dvcignore."""
    import shutil
    import subprocess
    import sys

    from gdlab.atomic import atomic_path

    project = Path(__file__).resolve().parents[2]
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in (".gitignore", ".dvcignore"):
        shutil.copy(project / name, repo / name)
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([str(dvc), "init", "-q", "--force"], cwd=repo, check=True)
    shutil.copy(project / ".dvcignore", repo / ".dvcignore")  # dvc init writes its own
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "figures" / "loss_curves.png") as tmp:
            raise KeyboardInterrupt  # the name it would have left
    left = f"reports/figures/train/{tmp.name}"
    for command in ([str(dvc), "check-ignore", left], ["git", "check-ignore", "-q", left]):
        assert subprocess.run(command, cwd=repo, capture_output=True).returncode == 0, command
    for kept in ("reports/figures/train/loss_curves.png", "reports/cv.json"):
        assert subprocess.run([str(dvc), "check-ignore", kept], cwd=repo,
                              capture_output=True).returncode == 1


@pytest.mark.parametrize("name", WRITERS)
def test_a_refused_write_names_the_output_and_what_the_disk_said(name, tmp_path, disk_full):
    """A full disk (or a read-only directory) surfaced as the writer's raw OSError naming the
    temporary file ('.cv.302afe4678b2.tmp.json'); the error now names the output, what the
    file system said and what to do, and is still an OSError."""
    from gdlab.atomic import OutputNotWritten

    path = tmp_path / "out" / name
    disk_full()
    with pytest.raises(OutputNotWritten) as refused:
        WRITERS[name](path, 1.0)
    assert isinstance(refused.value, OSError) and refused.value.errno == errno.ENOSPC
    assert str(refused.value) == (
        f"cannot write {path}: the disk is full (OSError: [Errno 28] No space left on device "
        f"(simulated)); free space on {path.parent} and run the stage again")


@pytest.fixture
def unwritable(tmp_path, monkeypatch):
    """``tmp_path / "reports"``, a directory no file can be created in: ``chattr +i`` for
    root, whom permissions do not stop, ``chmod 555`` for anyone else; where neither holds
    (root on a file system without the immutable flag, e.g. a container's overlay), the
    system's refusal is simulated at ``os.open`` for that directory (errno EPERM, as
    ``chattr +i`` gives)."""
    import errno
    import shutil
    import subprocess

    import gdlab.atomic

    directory = tmp_path / "reports"
    directory.mkdir()
    root = os.geteuid() == 0
    immutable = root and shutil.which("chattr") is not None and subprocess.run(
        ["chattr", "+i", str(directory)], capture_output=True).returncode == 0
    if not root:
        directory.chmod(0o555)
    try:
        (directory / ".probe").touch()
    except OSError:
        pass  # refused for real
    else:
        (directory / ".probe").unlink()
        real_open = os.open

        def refusing_open(path, flags, *args, **kwargs):
            if Path(path).parent == directory and flags & os.O_CREAT:
                raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(gdlab.atomic.os, "open", refusing_open)
    yield directory
    if immutable:
        subprocess.run(["chattr", "-i", str(directory)], check=True)
    elif not root:
        directory.chmod(0o755)


def test_a_directory_that_refuses_files_names_the_output_not_the_temporary_file(unwritable):
    from gdlab.atomic import OutputNotWritten

    path = unwritable / "cv.json"
    with pytest.raises(OutputNotWritten) as refused:
        write_json(path, {"rmse": 1.0})
    text = str(refused.value)
    assert text.startswith(f"cannot write {path}: ")
    assert "PermissionError: [Errno " in text and ".tmp" not in text
    assert text.endswith(f"make {unwritable} writable (`chmod u+w`, `chattr -i`) and run the "
                         "stage again") or text.endswith(f"make {unwritable} writable and run "
                                                         "the stage again")
    assert list(unwritable.iterdir()) == []


def test_a_file_where_the_output_directory_should_be_is_named(tmp_path):
    """``reports`` a file: the figure's directory cannot be made (a raw NotADirectoryError
    traceback from the figure code before)."""
    from gdlab.atomic import OutputNotWritten

    (tmp_path / "reports").write_text("not a directory")
    for path in (tmp_path / "reports" / "figures" / "loss.png", tmp_path / "reports" / "cv.json"):
        write = _figure if path.suffix == ".png" else lambda p, v: write_json(p, {"rmse": v})
        with pytest.raises(OutputNotWritten, match=r"a file stands where a directory should \("):
            write(path, 1.0)


def _clearing_writers(tmp_path):
    """Every writer that empties or cleans up an output directory of gdlab's before writing:
    (the directory it clears, a call writing there)."""
    from types import SimpleNamespace

    from gdlab.reporting.compare import write_comparison, write_variant_curves
    from gdlab.reporting.compare_disabled import write_disabled
    from gdlab.reporting.plots import write_fold_curves
    from gdlab.tuning.report import FIGURES, reset_outputs

    from .test_compare import _comparison

    reports = tmp_path / "reports"
    return {
        "fold curves": (reports / "plots" / "folds",
                        lambda d: write_fold_curves(SimpleNamespace(folds=[]), d)),
        "variant curves": (reports / "compare" / "curves",
                           lambda d: write_variant_curves(SimpleNamespace(variants=[]), d)),
        "compare figures": (reports / "figures" / "compare",
                            lambda d: write_comparison(_comparison(), reports / "compare", d)),
        "compare disabled": (reports / "compare",
                             lambda d: write_disabled(d, reports / "figures" / "compare")),
        "tuning figures": (reports / "tuning" / FIGURES,
                           lambda d: reset_outputs(d.parent)),
    }


CLEARING = ("fold curves", "variant curves", "compare figures", "compare disabled",
            "tuning figures")


@pytest.mark.parametrize("name", CLEARING)
def test_a_file_where_a_cleared_output_directory_should_be_is_named_and_kept(name, tmp_path):
    """``echo x > reports/plots/folds`` then train: a ~30-line NotADirectoryError traceback
    from shutil.rmtree (the figures' and curves' directories are emptied before they are
    written). Now the one-line refusal naming the directory, and the file is left as it was."""
    from gdlab.atomic import OutputNotWritten

    directory, write = _clearing_writers(tmp_path)[name]
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.write_text("x\n")
    with pytest.raises(OutputNotWritten) as refused:
        write(directory)
    assert str(refused.value).startswith(
        f"cannot write {directory}: a file stands where a directory should (")
    assert directory.read_text() == "x\n"


@pytest.mark.parametrize("name", CLEARING)
def test_a_cleared_output_directory_the_system_refuses_to_empty_is_named(
    name, tmp_path, monkeypatch
):
    """``chattr +i reports/plots`` then train: a PermissionError traceback from shutil.rmtree
    naming a file inside the directory. Now the one-line refusal naming the directory. The
    refusal is simulated (root in a container cannot always set the immutable flag)."""
    import shutil

    from gdlab.atomic import OutputNotWritten

    directory, write = _clearing_writers(tmp_path)[name]
    directory.mkdir(parents=True)
    (directory / "stale.csv").write_text("old\n")

    def refusing_rmtree(path, *args, **kwargs):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM),
                              str(Path(path) / "stale.csv"))

    monkeypatch.setattr(shutil, "rmtree", refusing_rmtree)
    with pytest.raises(OutputNotWritten) as refused:
        write(directory)
    assert str(refused.value) == (
        f"cannot write {directory}: not permitted (PermissionError: [Errno {errno.EPERM}] "
        f"{os.strerror(errno.EPERM)}); make {directory.parent} writable (`chmod u+w`, "
        "`chattr -i`) and run the stage again")
    assert (directory / "stale.csv").read_text() == "old\n"


def test_a_stale_evaluation_figure_the_system_refuses_to_remove_is_named(tmp_path, monkeypatch):
    """evaluate removes the other task's figures of an earlier run: a refusal there was a
    raw traceback (unlink unguarded), now the one-line refusal naming the figure."""
    import pathlib

    from gdlab.atomic import OutputNotWritten
    from gdlab.reporting.evaluation import evaluation_figures

    figures = tmp_path / "figures"
    (figures / "roc.png").mkdir(parents=True)  # a directory where the figure should be
    with pytest.raises(OutputNotWritten, match=r"a directory stands where the file should"):
        evaluation_figures(None, None, None, "regression", figures)
    (figures / "roc.png").rmdir()
    (figures / "roc.png").write_bytes(b"png")

    def refusing_unlink(self, missing_ok=False):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(pathlib.Path, "unlink", refusing_unlink)
    with pytest.raises(OutputNotWritten) as refused:
        evaluation_figures(None, None, None, "regression", figures)
    assert str(refused.value).startswith(f"cannot write {figures / 'roc.png'}: permission denied")


def test_a_file_where_the_prepared_data_directory_should_be_is_named(tmp_path):
    """prepare's bare mkdir: a FileExistsError traceback; now the one-line refusal."""
    import pandas as pd

    from gdlab.atomic import OutputNotWritten
    from gdlab.data.prepared import write_prepared

    directory = tmp_path / "prepared"
    directory.write_text("x\n")
    frame = pd.DataFrame({"x0": [1.0], "target": [0.0]})
    with pytest.raises(OutputNotWritten, match=r"a file stands where a directory should \("):
        write_prepared(directory, frame, frame, {"feature_names": ["x0"]})


def test_a_refusal_survives_pickling():
    """Raised in a worker process (joblib, Dask), the error must cross back: unpickling it
    failed ('__init__() missing 1 required positional argument')."""
    import errno
    import pickle

    from gdlab.atomic import OutputNotWritten

    err = OutputNotWritten(Path("reports/cv.json"),
                           PermissionError(errno.EACCES, "Permission denied", "x.tmp"))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is OutputNotWritten and str(back) == str(err)
    assert (back.path, back.errno, type(back.cause)) == (err.path, errno.EACCES, PermissionError)

"""Ctrl-C while a stage script is still importing: one line and exit 130, no traceback."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# stands in for MLflow, the first heavy import of evaluate.py and train.py: the interrupt
# lands while the stage imports it, before any of the stage's own code has run
INTERRUPTED_IMPORT = """
import os, signal, time
os.kill(os.getpid(), signal.SIG{name})
time.sleep(30)
"""


@pytest.mark.parametrize("stage", ["evaluate", "train"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_a_stage_imports_prints_one_line_and_exits_128_plus_signal(
    tmp_path, stage, sig
):
    fake = tmp_path / "fake"
    fake.mkdir()
    name = signal.Signals(sig).name[3:]
    (fake / "mlflow.py").write_text(INTERRUPTED_IMPORT.format(name=name))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), *sys.path])}
    proc = subprocess.run(
        [sys.executable, str(REPO / "pipeline" / f"{stage}.py")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 128 + sig, proc.stderr
    assert proc.stderr == (
        f"{stage}: interrupted ({signal.Signals(sig).name}); rerun `dvc repro` to continue\n"
    )

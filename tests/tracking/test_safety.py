"""A stage's warnings are one line each: no file path, no source line."""

import subprocess
import sys

SCRIPT = """
import warnings
from sklearn.exceptions import ConvergenceWarning
from gdlab.tracking.safety import stage_exit

def main():
    warnings.warn("4 of 5 folds stopped at max_epochs", ConvergenceWarning)
    warnings.warn("batch_size covers a whole fold")
    return 0

raise SystemExit(stage_exit("train", main))
"""


def test_a_stage_prints_its_warnings_as_one_line_each():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "train: ConvergenceWarning: 4 of 5 folds stopped at max_epochs\n"
        "train: warning: batch_size covers a whole fold\n"
    )


def test_the_one_line_format_ends_with_the_stage():
    """Stages run in-process (tests, a notebook) left their format behind for everything
    after them."""
    import warnings

    from gdlab.tracking.safety import stage_exit

    before = warnings.formatwarning
    assert stage_exit("train", lambda: 0) == 0
    assert warnings.formatwarning is before

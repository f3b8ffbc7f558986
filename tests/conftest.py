"""Suite-wide settings, applied before any test module imports scipy or scikit-learn."""

import os
import sys
import textwrap
import uuid

import pytest

# scikit-learn's estimator checks include the array-API dispatch check, which runs only when
# scipy's array-API mode is on (it must be set before scipy is imported).
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# Matplotlib must never try to open a window.
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    """Test files with an end-to-end (``slow``) test run first, each file's tests kept
    together and in their order. ``--dist loadfile`` hands files to the two workers in
    collection order, so a 60-90 s pipeline file collected last ran alone on one worker while
    the other had finished: started first, the fast files fill in around them."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: files stay in order


@pytest.fixture(autouse=True)
def _no_progress_settings_of_the_caller(monkeypatch):
    """Each test starts without the caller's ``CI`` and ``GDLAB_PROGRESS``: they decide whether
    progress lines print, and how (``.ci/run`` sets ``CI=true``; a developer may set
    ``GDLAB_PROGRESS=off``), so tests of those lines passed or failed by the shell they ran
    in. A test (or a directory's conftest) that wants them sets them itself."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GDLAB_PROGRESS", raising=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """``sys.path`` as it was before each test (its fixtures' set-up included).

    Loading an MLflow model in-process (a test's pyfunc load; gdlab's own loads restore
    ``sys.path`` themselves) prepends the model's logged code directory
    (``.../artifacts/code``, a copy of ``gdlab``) to ``sys.path`` and leaves it there.
    Worker processes that later tests start with spawn (multiprocessing, joblib's loky)
    inherit ``sys.path``, so they imported that copy of ``gdlab``, which has no numba cache:
    each worker compiled every kernel again (~8 s) and ran code other than the tree under
    test.
    """
    saved = list(sys.path)
    yield
    sys.path[:] = saved


class FakeClock:
    """A clock for progress lines: moved by hand (:meth:`advance`), or by ``step`` seconds
    at each reading (a run whose every epoch takes ``step`` seconds)."""

    def __init__(self, step: float = 0.0):
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch):
    """The progress lines' clock (:data:`gdlab.experiment.progress.clock`) replaced by a
    :class:`FakeClock`: tests of rates and estimates never sleep."""
    from gdlab.experiment import progress

    clock = FakeClock()
    monkeypatch.setattr(progress, "clock", clock)
    monkeypatch.setattr(progress, "_last_line", float("-inf"))
    return clock


@pytest.fixture
def kept(monkeypatch):
    """The figures the figure functions close, kept open to read their axes."""
    import matplotlib.pyplot as plt

    closed: list = []
    monkeypatch.setattr(plt, "close", closed.append)
    yield closed
    for fig in closed:
        fig.clf()

@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Write ``source`` (e.g. :mod:`tests.broken_plugins`' ``MODELS``) as a fresh module in
    ``tmp_path``, importable for the test, and return its name."""

    def write(source: str) -> str:
        name = f"plugin_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, name, raising=False)
        return name

    return write

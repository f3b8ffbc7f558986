"""MLflow time accounting for one pipeline stage (used by ``bench.cv``; inert unless enabled).

When ``GDLAB_BENCH_MLFLOW_OUT`` names a directory and this folder is on ``PYTHONPATH``, every
Python process started below it (``dvc repro`` → the stage command) imports this module at
start-up. It then

* times the import of MLflow's modules (the outermost ``mlflow*`` import only), and
* wraps MLflow's entry points — the fluent API (``mlflow.*``, ``mlflow.tracking.fluent``),
  ``MlflowClient``'s constructor (it opens the store) and public methods, ``Model``'s public
  methods and classmethods (``Model.log``: every log_model goes through it), ``mlflow.sklearn``,
  ``mlflow.models``, ``mlflow.data`` and the registry — so the wall time spent inside them is
  summed (outermost call only, so nested MLflow calls are not counted twice; MLflow modules
  a call imports lazily count as import time),

and at exit writes ``<pid>.json`` with the process's wall time (from interpreter start-up),
the MLflow call and import times and the slowest entry points, if MLflow was imported.

``GDLAB_BENCH_HIDE`` (comma-separated top-level module names) makes those modules
unimportable in the same processes, so a stage runs as in an environment without them (the
bench extra's torch: skops imports it when it is installed, ~2 s per stage).
"""

from __future__ import annotations

import atexit
import functools
import importlib.abc
import inspect
import json
import os
import sys
import threading
import time

_OUT = os.environ.get("GDLAB_BENCH_MLFLOW_OUT")
_HIDE = frozenset(filter(None, os.environ.get("GDLAB_BENCH_HIDE", "").split(",")))

PATCH_FUNCTIONS = (
    "mlflow",
    "mlflow.tracking.fluent",
    "mlflow.tracking._model_registry.fluent",
    "mlflow.sklearn",
    "mlflow.models",
    "mlflow.data",
)
PATCH_CLASSES = {
    "mlflow.tracking.client": ("MlflowClient",),
    # Model.log is what every flavour's log_model calls (and what a model logged through a
    # flavour module of its own calls directly); a classmethod, wrapped as one
    "mlflow.models.model": ("Model",),
}


class _Acct:
    """Sums per process; nesting depths and this thread's import time per thread."""

    def __init__(self):
        self.local = threading.local()
        self.start = time.perf_counter()
        self.calls_s = 0.0
        self.import_s = 0.0
        self.n_calls = 0
        self.by_name: dict[str, list[float]] = {}
        self.imported = False

    def depth(self) -> int:
        return getattr(self.local, "depth", 0)

    def enter(self) -> None:
        self.local.depth = self.depth() + 1

    def leave(self) -> None:
        self.local.depth = self.depth() - 1

    def import_depth(self) -> int:
        return getattr(self.local, "import_depth", 0)

    def thread_import_s(self) -> float:
        return getattr(self.local, "import_s", 0.0)

    def add_import(self, seconds: float) -> None:
        self.import_s += seconds
        self.local.import_s = self.thread_import_s() + seconds


def _wrap(acct: _Acct, fn, name: str):
    if getattr(fn, "__gdlab_bench_wrapped__", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if acct.depth() or acct.import_depth():  # nested, or part of an import's time
            return fn(*args, **kwargs)
        acct.enter()
        t0, imports0 = time.perf_counter(), acct.thread_import_s()
        try:
            return fn(*args, **kwargs)
        finally:  # MLflow modules it imported lazily count as import time, not call time
            dt = time.perf_counter() - t0 - (acct.thread_import_s() - imports0)
            acct.leave()
            acct.calls_s += dt
            acct.n_calls += 1
            entry = acct.by_name.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += dt

    wrapper.__gdlab_bench_wrapped__ = True
    return wrapper


def _patch(acct: _Acct, module) -> None:
    name = module.__name__
    if name in PATCH_FUNCTIONS:
        for attr, obj in list(vars(module).items()):
            if (attr.startswith("_") or not inspect.isfunction(obj)
                    or not getattr(obj, "__module__", "").startswith("mlflow")):
                continue
            setattr(module, attr, _wrap(acct, obj, f"{name}.{attr}"))
    for cls_name in PATCH_CLASSES.get(name, ()):
        cls = getattr(module, cls_name, None)
        if cls is None:
            continue
        for attr, obj in list(vars(cls).items()):  # public methods, and the constructor
            if attr.startswith("_") and attr != "__init__":
                continue
            if isinstance(obj, (classmethod, staticmethod)) and inspect.isfunction(obj.__func__):
                wrapped = type(obj)(_wrap(acct, obj.__func__, f"{cls_name}.{attr}"))
                setattr(cls, attr, wrapped)
            elif inspect.isfunction(obj):
                setattr(cls, attr, _wrap(acct, obj, f"{cls_name}.{attr}"))


class _Loader(importlib.abc.Loader):
    def __init__(self, acct, inner):
        self.acct, self.inner = acct, inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        acct = self.acct
        outer = acct.import_depth() == 0
        acct.local.import_depth = acct.import_depth() + 1
        t0 = time.perf_counter()
        try:
            self.inner.exec_module(module)
        finally:
            acct.local.import_depth = acct.import_depth() - 1
            if outer:
                acct.add_import(time.perf_counter() - t0)
        acct.imported = True
        _patch(acct, module)

    def __getattr__(self, item):
        return getattr(self.inner, item)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, acct):
        self.acct = acct

    def find_spec(self, fullname, path, target=None):
        if fullname != "mlflow" and not fullname.startswith("mlflow."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(self.acct, spec.loader)
                return spec
        return None


class _Hidden(importlib.abc.MetaPathFinder):
    """Refuses the modules named in ``GDLAB_BENCH_HIDE`` as if they were not installed."""

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] in _HIDE:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def _dump(acct: _Acct) -> None:
    if not acct.imported:
        return
    top = sorted(acct.by_name.items(), key=lambda kv: -kv[1][1])[:15]
    record = {
        "pid": os.getpid(),
        "argv": sys.argv,
        "wall_s": time.perf_counter() - acct.start,
        "mlflow_calls_s": acct.calls_s,
        "mlflow_import_s": acct.import_s,
        "mlflow_n_calls": acct.n_calls,
        "top": [{"name": k, "calls": v[0], "seconds": v[1]} for k, v in top],
    }
    try:
        with open(os.path.join(_OUT, f"{os.getpid()}.json"), "w") as fh:
            json.dump(record, fh)
    except OSError:
        pass


if _HIDE:
    sys.meta_path.insert(0, _Hidden())
if _OUT:
    _ACCT = _Acct()
    sys.meta_path.insert(0, _Finder(_ACCT))
    atexit.register(_dump, _ACCT)

"""The lazily exported names of gdlab's packages (:mod:`gdlab.lazy`): every name of a package's
``__all__`` is the object its defining module holds, listed by ``dir()``; an unknown name is
still an AttributeError, and importing the package imports none of them."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gdlab

LAZY_PACKAGES = ["gdlab", "gdlab.reporting", "gdlab.tuning"]


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_exported_name_resolves_to_its_modules_object(name):
    package = importlib.import_module(name)
    for exported in package.__all__:
        value = getattr(package, exported)
        if exported.startswith("__"):  # __version__
            continue
        defining = importlib.import_module(value.__module__)
        assert getattr(defining, exported) is value, f"{name}.{exported}"
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match=f"module '{name}' has no attribute 'no_such_name'"):
        package.no_such_name  # noqa: B018


def test_from_import_of_the_estimators_works_and_is_the_same_class():
    from gdlab import DivergenceError, GDClassifier, GDRegressor, check_grad, lr_range_test
    from gdlab.core.diagnostics import check_grad as engine_check_grad
    from gdlab.core.diagnostics import lr_range_test as engine_lr_range_test
    from gdlab.core.loop import DivergenceError as engine_error
    from gdlab.estimators import GDClassifier as classifier
    from gdlab.estimators import GDRegressor as regressor

    assert (GDRegressor, GDClassifier, check_grad, DivergenceError, lr_range_test) == (
        regressor, classifier, engine_check_grad, engine_error, engine_lr_range_test)


def test_importing_a_package_imports_none_of_its_names():
    code = (
        "import sys\n"
        "import gdlab, gdlab.reporting, gdlab.tuning\n"
        "print(sorted(m for m in ('gdlab.estimators', 'gdlab.core.loop', 'gdlab.tuning.search',"
        " 'gdlab.reporting.figures', 'sklearn', 'scipy', 'optuna', 'matplotlib')"
        " if m in sys.modules))\n"
        "from gdlab import *\n"
        "print('GDRegressor' in dir(), 'sklearn' in sys.modules)\n"
    )
    src = str(Path(gdlab.__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": src}, timeout=120, check=True)
    assert proc.stdout.splitlines() == ["[]", "True True"], proc.stdout + proc.stderr

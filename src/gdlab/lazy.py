"""Lazy package exports (PEP 562): a package's names imported on first use, not with it.

A stage that does little (validate, a disabled tune or compare) imports ``gdlab.config`` or one
light submodule; an eager ``__init__`` would import the package's whole tree (scikit-learn,
scipy, Optuna, matplotlib: seconds of CPU per process) with it. In the package::

    if TYPE_CHECKING:                       # the real imports, for type checkers and IDEs
        from gdlab.estimators import GDRegressor
    __getattr__, __dir__ = lazy_exports(__name__, {"GDRegressor": "gdlab.estimators"})

``from package import GDRegressor`` and ``package.GDRegressor`` import the defining module then.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``, whose public names
    (``exports``: name -> the module defining it) are imported when first read."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later reads skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__

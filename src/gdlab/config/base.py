"""Building blocks shared by every schema model: strict models, sections, plug-in names.

A :class:`StrictModel` refuses unknown keys, NaN/inf and silent type coercion (``true`` is not
an integer, ``"3"`` is not a number). A :class:`Section` is a top-level block of ``params.yaml``;
it may check rules that involve other sections by overriding :meth:`Section.cross_checks`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gdlab.config.errors import Problem

if TYPE_CHECKING:
    from gdlab.config.schema import Params

IMPORT_PATH_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


class StrictModel(BaseModel):
    """Base of every schema model: unknown keys, NaN/inf and loose types are errors."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        validate_default=True,
        frozen=False,
    )


class Section(StrictModel):
    """A top-level block of ``params.yaml``.

    To add a section (``tune``, ``compare``, ``parallel``, ``fairness``...): subclass this in a
    module of :mod:`gdlab.config.sections`, give every field a ``Field(default, description=...)``
    and add one line to :class:`gdlab.config.schema.Params`. Rules that involve other sections
    go in :meth:`cross_checks`; flattening, JSON schema and the README table need nothing more.
    """

    def cross_checks(self, params: Params) -> list[Problem]:
        """Problems involving other sections, with full dotted paths.

        Runs once every section is valid on its own.
        """
        return []

    def variant_checks(self, params: Params) -> list[Problem]:
        """Problems of other values this section applies to the parameters (a search space's
        candidates, a comparison's variants), with full dotted paths.

        Runs only when no section has a problem: a problem of the parameters themselves would
        otherwise come back once for every candidate.
        """
        return []


def section_field(cls: type[Section]) -> Any:
    """The pydantic ``Field`` for a section: defaults to the section's defaults, documented by
    the first line of its docstring."""
    doc = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
    return Field(default_factory=cls, description=doc)


def is_import_path(name: str) -> bool:
    """True when ``name`` has the plug-in form ``"package.module:attribute"``."""
    return ":" in name


def check_import_path(name: str, what: str) -> str | None:
    """Import a ``"module:attribute"`` plug-in; return what is wrong with it, or None when it
    resolves to a callable."""
    from gdlab.config.plugin_path import make_project_importable
    from gdlab.core.plugins import resolve

    root = make_project_importable()
    module, _, attr = name.partition(":")
    if not module or not attr or any(not part.isidentifier() for part in attr.split(".")):
        return f"{name!r} is not a valid import path"
    try:
        resolve(name, what)
    except ValueError as exc:
        where = f"; plug-in modules are imported from the working directory ({root}) and sys.path"
        return str(exc) + (where if "cannot import" in str(exc) else "")
    except Exception as exc:  # a plug-in module that fails while importing
        return f"{what} {name!r}: importing it raised {type(exc).__name__}: {exc}"
    return None


def plugin_build_problem(
    path: str, build: Any, *args: Any, origin: tuple[str, str, str] | None = None
) -> Problem | None:
    """Build a plug-in as training will (``build(*args)``, e.g. ``make_optimizer(name,
    params)``) and return the problem at ``path``, or None: validate then catches a factory
    that raises or returns what the contract does not allow before a stage deletes outputs.

    ``origin``: ``(import path, what, key)`` of the plug-in built: what it built must hold no
    class or function of the project's code outside the plug-in's module (a saved model would
    not trust it: :func:`gdlab.config.plugin_origin.origin_problem`), else the problem is at
    ``key``, the parameter that names the plug-in."""
    from gdlab.config.plugin_origin import origin_problem
    from gdlab.core.plugins import PluginContractError

    try:
        built = build(*args)
    except PluginContractError as exc:  # the plug-in itself is wrong, not its params
        where = path if origin is None else origin[2]
        return Problem(where, str(exc), "what the plug-in contract of docs/plugins.md allows")
    except Exception as exc:
        text = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return Problem(path, text, "what the plug-in contract of docs/plugins.md allows")
    if origin is not None:
        plugin, what, key = origin
        text = origin_problem(built, plugin, what)
        if text:
            return Problem(key, text, "'module:factory' of the module defining what it builds")
    return None


def non_finite_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every NaN/inf float inside a nested mapping/list (for free-form params)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in non_finite_paths(v, _join(path, str(k)))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in non_finite_paths(v, f"{path}[{i}]")]
    return []


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _tuple_to_list(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


TupleAsList = BeforeValidator(_tuple_to_list)
"""Annotate ``list[...]`` fields with this to accept a Python tuple too (``betas=(0.9, 0.999)``)."""

"""Whether what a plug-in factory builds can be saved: where its classes and functions are
defined, against the module the plug-in is named by.

A saved model trusts only the classes and functions defined in the module of a plug-in named
``"package.module:factory"``, or in a module below it (:mod:`gdlab.experiment.persist`). A
factory re-exported from another module (``mypkg/api.py``: ``from mypkg.model import
quadratic``; named ``"mypkg.api:quadratic"``) builds a ``mypkg.model.Quadratic``, which
``mypkg.api`` does not define: validation and cross-validation ran it, and train failed to
save it. :func:`origin_problem` finds this when the plug-in is built (validate), and
:func:`rename_advice` says what to name instead (validate, and a save or load refused).
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from collections.abc import Iterable, Sequence
from typing import Any

_LEAVES = (str, bytes, int, float, complex, bool, type(None), types.ModuleType)
_MAX_OBJECTS = 10_000  # a model holding a huge structure: what was seen by then is enough


def covers(module: str, owner: str) -> bool:
    """Whether ``owner`` (a module name) is ``module`` or a module below it."""
    return owner == module or owner.startswith(f"{module}.")


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def held_definitions(obj: Any) -> set[tuple[str, str]]:
    """``(module, qualified name)`` of every class and function ``obj`` holds: its own class,
    those of the objects in its attributes, lists, tuples and dicts, and the functions (and
    what they are bound with) of a ``functools.partial`` or a bound method: what skops
    would write by name when the object is saved. The attributes of gdlab's objects and of
    the project's own are walked, not those of an installed package's (a numpy array)."""
    found: set[tuple[str, str]] = set()
    stack, seen = [obj], set()
    while stack and len(seen) < _MAX_OBJECTS:
        item = stack.pop()
        if isinstance(item, _LEAVES) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, type | types.FunctionType | types.BuiltinFunctionType):
            found.add((str(getattr(item, "__module__", "")), item.__qualname__))
        elif isinstance(item, functools.partial):
            stack += [item.func, *item.args, *item.keywords.values()]
        elif isinstance(item, types.MethodType):
            stack += [item.__func__, item.__self__]
        elif isinstance(item, list | tuple | set | frozenset):
            stack += list(item)
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        else:
            kind = type(item)
            found.add((kind.__module__, kind.__qualname__))
            if not (_top(kind.__module__) == "gdlab" or _project_code(kind.__module__)):
                continue  # an array, a number, an installed package's object: not walked
            stack += list(getattr(item, "__dict__", {}).values())
            stack += [getattr(item, slot) for cls in kind.__mro__
                      for slot in _slots(cls) if hasattr(item, slot)]
    return found


def _slots(cls: type) -> tuple[str, ...]:
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def misplaced(obj: Any, plugin: str) -> list[tuple[str, str]]:
    """The classes and functions of the project's own code (not gdlab's, nor an installed
    package's or the standard library's) that ``obj``, built by the plug-in ``plugin``, holds
    from outside the plug-in's module: a saved model would not trust them. Lambdas and
    functions defined inside the factory are left out (the save names them)."""
    module = plugin.partition(":")[0]
    return sorted(
        (owner, name) for owner, name in held_definitions(obj)
        if not covers(module, owner) and "<" not in name and _project_code(owner)
    )


def _project_code(module: str) -> bool:
    from gdlab.config.plugin_path import is_installed

    if _top(module) == "gdlab":
        return False
    file = getattr(sys.modules.get(module), "__file__", None)
    return bool(file) and not is_installed(file)


def _factory(plugin: str) -> Any:
    module, _, attr = plugin.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return obj


def rename_advice(plugin: str, names: Iterable[tuple[str, str]]) -> str | None:
    """What to name instead of the plug-in ``plugin``, whose module does not define ``names``
    (``(module, name)``): the factory's own module when it defines them all (``"name it as
    'mypkg.model:quadratic' (where Quadratic is defined)"``); None when the factory itself
    is not in their module either (it has to move there)."""
    names = sorted(set(names))
    factory = _factory(plugin)
    home = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", "")
    if not names or not isinstance(home, str) or "<" in qualname:
        return None
    if not all(covers(home, owner) for owner, _ in names):
        return None
    defined = ", ".join(name for _, name in names)
    verb = "is" if len(names) == 1 else "are"
    return f"name it as '{home}:{qualname}' (where {defined} {verb} defined)"


def origin_problem(obj: Any, plugin: str, what: str) -> str | None:
    """Why a model holding ``obj``, which the ``what`` plug-in ``plugin`` built, could not be
    saved (it holds classes or functions its package defines outside the plug-in's module),
    and what to name instead; None when nothing is misplaced."""
    names = misplaced(obj, plugin)
    if not names:
        return None
    module = plugin.partition(":")[0]
    held = ", ".join(f"{owner}.{name}" for owner, name in names)
    owners = ", ".join(sorted({owner for owner, _ in names}))
    advice = rename_advice(plugin, names) or (
        f"define the factory in {owners} (where {', '.join(n for _, n in names)} "
        f"{'is' if len(names) == 1 else 'are'} defined) and name it there")
    return (
        f"{what} {plugin!r} builds {held}, which its module {module!r} does not define: a saved "
        f"model trusts only what the module a plug-in is named by (or a module below it) "
        f"defines, so train could not save it; {advice}"
    )


def untrusted_advice(types_: Sequence[str], plugins: Sequence[str]) -> str | None:
    """For a model refused for ``types_`` (``module.name``) while ``plugins`` were named: what
    to name instead when a plug-in's factory lives in another module than the one it is named
    by and that module defines some of them (a re-exported factory), else None."""
    hints = []
    for plugin in sorted(set(plugins)):
        module = plugin.partition(":")[0]
        home = getattr(_factory(plugin), "__module__", None)
        if not isinstance(home, str) or covers(module, home):
            continue
        names = sorted({
            (owner, name) for owner, _, name in (t.rpartition(".") for t in types_)
            if covers(home, owner) and not covers(module, owner)
        })
        advice = rename_advice(plugin, names)
        if advice:
            held = ", ".join(f"{owner}.{name}" for owner, name in names)
            hints.append(f"the plug-in {plugin!r} builds {held}, which its module {module!r} "
                         f"does not define: {advice}")
    if not hints:
        return None
    return ("; ".join(hints) + " (a saved model trusts only what the module a plug-in is "
            "named by, or a module below it, defines)")

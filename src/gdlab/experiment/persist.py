"""Save and load fitted pipelines with skops (no pickle): only gdlab's own model classes (and
the schedule functions they bind) are trusted on top of what skops trusts by default
(scikit-learn, numpy, builtins)."""

from __future__ import annotations

import copy
import importlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from gdlab.atomic import output_dir, write_bytes_atomic
from gdlab.config.plugin_origin import untrusted_advice
from gdlab.config.plugin_path import import_paths, plugin_modules
from gdlab.estimators.base import BaseGD


def _skops() -> Any:
    """``skops.io``, imported on first use. Its import walks every scikit-learn module (to list
    the estimators it trusts), and that walk imports torch when torch is installed: ~0.5 s, or
    ~2.5 s with torch, that a process which never saves or loads a model (the register and
    compare stages, joblib's fold workers) should not pay."""
    import skops.io

    return skops.io


TRUSTED_PREFIXES = ("gdlab.core.", "gdlab.estimators.")
"""Modules whose classes a model may hold (the engine's models, schedules and loop state; the
estimators). Only classes defined there are trusted, never their functions: skops calls a
trusted name with arguments from the file (a ``ConstructorFromReduceNode``), so a crafted file
naming e.g. ``gdlab.atomic.write_text_atomic`` or ``gdlab.core.plugins.build`` would write any
file or import and call any plug-in as it loads."""
TRUSTED_NAMES = (
    "functools.partial",  # gdlab's schedules bind their parameters with it
    "numpy.dtype",  # a fitted SimpleImputer (data.missing) keeps its input's dtype
    # the epoch -> learning rate functions the built-in schedules bind (pure arithmetic)
    *(
        f"gdlab.core.schedules._{name}_lr"
        for name in ("constant", "step", "multistep", "exponential", "cosine", "invscaling",
                     "warmup")
    ),
)


def _gdlab_class(name: str) -> bool:
    """Whether ``name`` (``module.Class``) is a class defined in a ``TRUSTED_PREFIXES``
    module under that name (not a function, nor something the module imported)."""
    module, _, attr = name.rpartition(".")
    if not name.startswith(TRUSTED_PREFIXES):
        return False
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        return False
    return isinstance(obj, type) and obj.__module__ == module and obj.__qualname__ == attr


def _defined_in(name: str, modules: Sequence[str]) -> bool:
    """Whether ``name`` (``module.attr``) is a class or function that one of the plug-in
    ``modules`` (or a submodule) defines itself: a name it merely imported (``from subprocess
    import run``) is not the plug-in's, and trusting it would let a crafted file call it as it
    loads."""
    module, _, attr = name.rpartition(".")
    named = [m for m in modules if module == m or module.startswith(f"{m}.")]
    if not named:
        return False
    if "<" in name:  # '<lambda>', '<locals>': nothing to load by that name (save_model says so)
        return True
    for plugin_module in named:  # the plug-in itself not importable: say so, not "untrusted"
        try:
            importlib.import_module(plugin_module)
        except ImportError as exc:
            raise PluginNotImportable(plugin_module, exc) from exc
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        return False
    return getattr(obj, "__module__", None) == module


class PluginNotImportable(ValueError):
    """The module of a plug-in the caller named cannot be imported here (not on ``sys.path``:
    another working directory, no ``PYTHONPATH``): a model using its types cannot load,
    whether trusted or not."""

    def __init__(self, module: str, error: ImportError):
        self.module = module
        super().__init__(
            f"cannot import module {module!r} ({error}): run from the project directory "
            "(where the plug-in's package lives) or put it on PYTHONPATH"
        )


def trusted_types(
    model: Any = None, *, data: bytes | None = None, plugins: Sequence[str] = ()
) -> list[str]:
    """The types skops does not trust by default that a model uses, all of which must be
    classes of gdlab's engine or estimators (``TRUSTED_PREFIXES``), listed in
    ``TRUSTED_NAMES``, or defined by the module of a plug-in the user named (``plugins``, and
    those ``model`` names: e.g. a schedule function in ``my_schedules``, not a name that module
    imported); anything else raises ``ValueError`` naming it (:class:`UntrustedTypes`; or
    :class:`PluginNotImportable` when the module of a named plug-in it uses cannot be
    imported)."""
    sio = _skops()
    payload = data if data is not None else sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=payload)
    named = [*plugins, *(import_paths(model) if model is not None else [])]
    modules = plugin_modules(named)
    foreign = [
        t for t in untrusted
        if t not in TRUSTED_NAMES and not _defined_in(t, modules) and not _gdlab_class(t)
    ]
    if foreign:
        raise UntrustedTypes(foreign, untrusted_advice(foreign, named))
    return list(untrusted)


class UntrustedTypes(ValueError):
    """A model file using ``types`` that are neither gdlab's, skops' defaults nor defined by
    a plug-in module the caller named: it is not loaded."""

    def __init__(self, types: Sequence[str], advice: str | None = None):
        self.types = list(types)
        # what to name instead when a named plug-in's factory is re-exported from another
        # module than the one defining them (gdlab.config.plugin_origin.untrusted_advice)
        self.advice = advice
        remedy = advice or ("if they are your plug-ins, name every plug-in the params name: "
                            "load_model(path, plugins=['module:factory', ...])")
        super().__init__(
            "the model uses types outside gdlab's model classes and skops' defaults, refusing "
            "to trust: " + ", ".join(self.types) + "; " + remedy
        )


_SCHEMA = "schema.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip member can carry


def _nodes(state: Any) -> Iterator[dict]:
    """Every dict of a skops schema, depth first, in the order skops wrote them."""
    if isinstance(state, dict):
        yield state
        for value in state.values():
            yield from _nodes(value)
    elif isinstance(state, list):
        for value in state:
            yield from _nodes(value)


def canonical_bytes(data: bytes) -> bytes:
    """The same skops archive with reproducible bytes: a skops file names its members and
    object references after the objects' memory addresses (``id()``) or random UUIDs, and
    stamps each member with the current time, so two identical trainings wrote different
    files (DVC saw a new model, the registry a new version). Here every object reference
    and member name is numbered in the order skops wrote them (the same object keeps one
    number, so shared references stay shared) and every member carries the same time."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        schema = json.loads(archive.read(_SCHEMA))
        ids: dict[int, int] = {}
        names: dict[str, str] = {}
        for node in _nodes(schema):
            if isinstance(node.get("__id__"), int):
                node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
            if isinstance(node.get("file"), str):
                old = node["file"]
                node["file"] = names.setdefault(old, f"{len(names) + 1}{Path(old).suffix}")
        unknown = [i.filename for i in infos if i.filename != _SCHEMA and i.filename not in names]
        if unknown:  # a member no node refers to: a skops format this code does not know
            raise ValueError(f"skops archive has members its schema does not name: {unknown}")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as canonical:
            for info in infos:
                is_schema = info.filename == _SCHEMA
                member = zipfile.ZipInfo(_SCHEMA if is_schema else names[info.filename], _EPOCH)
                member.compress_type = info.compress_type
                member.external_attr = info.external_attr
                payload = (json.dumps(schema, indent=2).encode() if is_schema
                           else archive.read(info))
                canonical.writestr(member, payload)
    return out.getvalue()


def _gd_estimators(obj: Any, seen: set[int]) -> Iterator[BaseGD]:
    """gdlab's estimators inside ``obj`` (itself, a pipeline's steps, a meta-estimator's)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, BaseGD):
        yield obj
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _gd_estimators(item, seen)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _gd_estimators(item, seen)
    elif hasattr(obj, "get_params"):  # a scikit-learn estimator holding others
        yield from _gd_estimators(vars(obj), seen)


def without_wall_clock(model: Any) -> Any:
    """A copy of ``model`` whose gdlab estimators hold no wall-clock time: their per-epoch
    ``history_["time"]`` (and the state ``partial_fit`` resumes from) becomes None, the
    elapsed time 0. Everything else, and ``model`` itself, is unchanged. Timings differ
    between two identical trainings; kept in the file they made every model file new."""
    model = copy.deepcopy(model)
    for estimator in _gd_estimators(model, set()):
        history = getattr(estimator, "history_", None)
        if isinstance(history, dict) and "time" in history:
            history["time"] = [None] * len(history["time"])
        state = getattr(estimator, "_state", None)
        if state is not None and "time" in getattr(state, "history", {}):
            state.history["time"] = [None] * len(state.history["time"])
            state.elapsed = 0.0
    return model


def model_bytes(model: Any) -> bytes:
    """The skops file :func:`save_model` writes for ``model``: the same model gives the same
    bytes (without wall-clock times, :func:`without_wall_clock`; with numbered members,
    :func:`canonical_bytes`). The model logged to MLflow is saved with them too
    (:func:`gdlab.served.save_model`), so that its file is byte for byte the one evaluate
    tested."""
    return canonical_bytes(_skops().dumps(without_wall_clock(model)))


def save_model(model: Any, path: str | Path) -> list[str]:
    """Write ``model`` to ``path`` in skops format with reproducible bytes: the same training
    writes the same file (without wall-clock times, :func:`without_wall_clock`; with numbered
    members, :func:`canonical_bytes`). Returns the extra trusted types it needs."""
    path = Path(path)
    output_dir(path.parent)
    data = model_bytes(model)
    types = trusted_types(data=data, plugins=import_paths(model))
    local = [t for t in types if "<" in t]  # '<lambda>', '<locals>': no name to load it by
    if local:
        raise ValueError(
            f"the model holds {', '.join(local)}, which could be written but never loaded: a "
            "plug-in's schedule function and optimiser state must be module-level (a function "
            "or a functools.partial of one; tuples and lists of numpy arrays), not a lambda or "
            "a function defined inside the factory (docs/plugins.md)"
        )
    write_bytes_atomic(path, data)  # a killed write leaves the old file, not half a zip
    return types


WORKSPACE_REMEDY = ("restore the pipeline's copy with `dvc checkout --force models` or train "
                    "again with `dvc repro -f -s train`")
"""What to do about a damaged ``models/model.skops`` (the pipeline's own copy)."""


class DamagedModelFile(ValueError):
    """``path`` is not a readable skops model file (``problem`` says why: cut short,
    overwritten, a damaged member). The message says what to do about the pipeline's own
    ``models/model.skops``; a caller loading another copy (a registered model's artifact)
    names it and its own remedy from ``problem``."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f"{path}: not a readable skops model file ({problem}); "
                         f"{WORKSPACE_REMEDY}")


def archive_problem(data: bytes) -> str | None:
    """Why ``data`` is not a whole zip archive (a skops file is one: cut short, overwritten or
    with a damaged member, CRC checked), or None when it is."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
        return None if bad is None else f"its member {bad} is damaged"
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        return str(exc)


def _check_archive(path: Path, data: bytes) -> None:
    """:class:`DamagedModelFile` naming ``path`` when ``data`` is not a whole zip archive."""
    problem = archive_problem(data)
    if problem:
        raise DamagedModelFile(path, problem)


def load_model(path: str | Path, plugins: Sequence[str] = ()) -> Any:
    """Load a skops file written by ``save_model``, trusting only gdlab's types beyond skops',
    and those of the modules of ``plugins`` (the import paths params.yaml names). A damaged
    file raises :class:`DamagedModelFile` (a ``ValueError``) naming it."""
    data = Path(path).read_bytes()
    _check_archive(Path(path), data)
    return _skops().loads(data, trusted=trusted_types(data=data, plugins=plugins))

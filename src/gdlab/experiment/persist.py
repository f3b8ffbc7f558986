"""Save and load fitted pipelines with skops (no pickle): only gdlab's own types are trusted
on top of what skops trusts by default (scikit-learn, numpy, builtins)."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import skops.io as sio

from gdlab.config.plugin_path import import_paths, plugin_modules

TRUSTED_PREFIXES = ("gdlab.",)
TRUSTED_NAMES = (
    "functools.partial",  # gdlab's schedules bind their parameters with it
    "numpy.dtype",  # a fitted SimpleImputer (data.missing) keeps its input's dtype
)


def trusted_types(
    model: Any = None, *, data: bytes | None = None, plugins: Sequence[str] = ()
) -> list[str]:
    """The types skops does not trust by default that a model uses, all of which must be
    gdlab's (``TRUSTED_PREFIXES``), listed in ``TRUSTED_NAMES``, or from the module of a
    plug-in the user named (``plugins``, and those ``model`` names: e.g. a schedule function
    in ``my_schedules``); anything else raises ``ValueError`` naming it."""
    payload = data if data is not None else sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=payload)
    named = [*plugins, *(import_paths(model) if model is not None else [])]
    prefixes = TRUSTED_PREFIXES + tuple(f"{m}." for m in plugin_modules(named))
    foreign = [t for t in untrusted if not t.startswith(prefixes) and t not in TRUSTED_NAMES]
    if foreign:
        raise ValueError(
            "the model uses types outside gdlab and skops' defaults, refusing to trust: "
            + ", ".join(foreign)
        )
    return list(untrusted)


def save_model(model: Any, path: str | Path) -> list[str]:
    """Write ``model`` to ``path`` in skops format; returns the extra trusted types it needs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = sio.dumps(model)
    types = trusted_types(data=data, plugins=import_paths(model))
    local = [t for t in types if "<" in t]  # '<lambda>', '<locals>': no name to load it by
    if local:
        raise ValueError(
            f"the model holds {', '.join(local)}, which could be written but never loaded: a "
            "plug-in's schedule function and optimiser state must be module-level (a function "
            "or a functools.partial of one; tuples and lists of numpy arrays), not a lambda or "
            "a function defined inside the factory (docs/plugins.md)"
        )
    path.write_bytes(data)
    return types


def _check_archive(path: Path, data: bytes) -> None:
    """``ValueError`` naming ``path`` when ``data`` is not a whole zip archive (a skops file
    is one): cut short, overwritten or with a damaged member (CRC checked)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
        problem = None if bad is None else f"its member {bad} is damaged"
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        problem = str(exc)
    if problem:
        raise ValueError(
            f"{path}: not a readable skops model file ({problem}); restore the pipeline's copy "
            "with `dvc checkout models` or train again with `dvc repro -f -s train`"
        )


def load_model(path: str | Path, plugins: Sequence[str] = ()) -> Any:
    """Load a skops file written by ``save_model``, trusting only gdlab's types beyond skops',
    and those of the modules of ``plugins`` (the import paths params.yaml names). A damaged
    file raises ``ValueError`` naming it."""
    data = Path(path).read_bytes()
    _check_archive(Path(path), data)
    return sio.loads(data, trusted=trusted_types(data=data, plugins=plugins))

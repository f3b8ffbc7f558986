"""DVC's md5 of the prepared data, read from ``dvc.lock`` (as YAML: gdlab never imports DVC).

``gdlab.data_digest`` is gdlab's sha256 of the prepared data; DVC knows the same directory by
the md5 that ``dvc.lock`` records for the stage output (``md5: <hash>.dir``), the key of its
cache and of ``dvc exp show``. A run tagged with both can be matched with either. The recorded
md5 is tagged only when it is the directory's as it is now (recomputed as DVC computes a
directory's: the md5 of the sorted JSON list of its files' md5 and relative paths): a
``dvc.lock`` older than the data (a stage run by hand after the data changed) tags nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

DATA_MD5_TAG = "gdlab.data_dvc_md5"
"""DVC's md5 of the prepared-data directory (``dvc.lock``'s ``md5`` of ``data/prepared``,
``<hex>.dir``)."""
_CHUNK = 1 << 20


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def directory_md5(directory: str | Path) -> str:
    """DVC 3's md5 of ``directory`` as ``dvc.lock`` writes it (``<hex>.dir``)."""
    root = Path(directory)
    entries = sorted(
        ({"md5": _file_md5(p), "relpath": p.relative_to(root).as_posix()}
         for p in root.rglob("*") if p.is_file()),
        key=lambda entry: entry["relpath"],
    )
    listing = json.dumps(entries, sort_keys=True).encode()
    return hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir"


def _locked_out(lock: dict[str, Any], root: Path, target: Path) -> dict[str, Any] | None:
    for stage in (lock.get("stages") or {}).values():
        for out in (stage or {}).get("outs") or []:
            path = out.get("path") if isinstance(out, dict) else None
            if path and (root / path).resolve() == target:
                return out
    return None


def locked_data_md5(data_dir: str | Path, root: str | Path = ".") -> str | None:
    """The md5 ``root/dvc.lock`` records for the stage output ``data_dir`` when it is that
    directory's now (DVC 3's plain md5, ``hash: md5``), else None: no dvc.lock, no such
    output, an unreadable lock, or data changed since it was written."""
    root, target = Path(root), Path(data_dir).resolve()
    try:
        lock = yaml.safe_load((root / "dvc.lock").read_text())
    except (OSError, yaml.YAMLError):
        return None
    out = _locked_out(lock, root, target) if isinstance(lock, dict) else None
    if out is None or out.get("hash") != "md5" or not str(out.get("md5", "")).endswith(".dir"):
        return None
    if not target.is_dir() or (
        out.get("nfiles") is not None
        and out["nfiles"] != sum(1 for p in target.rglob("*") if p.is_file())
    ):
        return None
    return out["md5"] if directory_md5(target) == out["md5"] else None

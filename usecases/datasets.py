"""The datasets a server may read: those under its data roots (``<home>/worlds`` and each
``outfit serve --data-root``), found by listing the roots, never by a path taken from a request
as it is (a path must resolve, links followed, to a folder under a root)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfit.errors import OutfitError

__all__ = ["DatasetInfo", "DatasetError", "data_roots", "list_datasets", "resolve_dataset"]


class DatasetError(OutfitError):
    """A dataset that is not one the server may read, or not a dataset at all."""


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset the server may read. ``id``: a stable handle for forms and URLs (its name and a
    digest of its resolved path); ``ground_truth``: a synthetic world that knows why each bad
    outfit is bad (the explainer's accuracy can be measured on it)."""

    id: str
    name: str
    path: Path
    format: str
    ground_truth: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "path": str(self.path), "format": self.format,
                "ground_truth": self.ground_truth}


def data_roots(home: Path, extra: Iterable[Path | str] = ()) -> list[Path]:
    """``<home>/worlds`` and the extra roots, resolved, those that exist."""
    roots = []
    for r in [Path(home) / "worlds", *map(Path, extra)]:
        r = r.expanduser().resolve()
        if r.is_dir() and r not in roots:
            roots.append(r)
    return roots


def _dataset_format(path: Path) -> str | None:
    from data.loaders import detect_format

    try:
        fmt = detect_format(path)
    except OutfitError:
        return None
    return fmt if fmt != "folder" else None


def _info(path: Path, fmt: str) -> DatasetInfo:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name)[:40].strip("-") or "dataset"
    return DatasetInfo(id=f"{safe}-{digest}", name=path.name, path=path, format=fmt,
                       ground_truth=(path / "ground_truth.json").is_file())


def list_datasets(roots: Sequence[Path]) -> list[DatasetInfo]:
    """Each root that is itself a dataset, else its sub-folders that are (one level down)."""
    found: dict[Path, DatasetInfo] = {}
    for root in roots:
        fmt = _dataset_format(root)
        candidates = [(root, fmt)] if fmt else [
            (p, _dataset_format(p)) for p in sorted(root.iterdir()) if p.is_dir()]
        for path, f in candidates:
            if f and path.resolve() not in found:
                found[path.resolve()] = _info(path.resolve(), f)
    return sorted(found.values(), key=lambda d: (d.name, d.id))


def resolve_dataset(roots: Sequence[Path], value: str) -> DatasetInfo:
    """A dataset named by its id (from :func:`list_datasets`) or by a path that resolves to a
    dataset folder under one of ``roots``."""
    value = (value or "").strip()
    if not value:
        raise DatasetError("no dataset given", hint="pick one of the datasets listed")
    for d in list_datasets(roots):
        if value == d.id:
            return d
    if "\x00" in value or len(value) > 4096:
        raise DatasetError("that is not a folder path", hint="give a dataset folder's path")
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise DatasetError(f"{value!r} is not an absolute path",
                           hint="give the dataset folder's full path, or pick a listed dataset")
    path = path.resolve()
    if not any(path == r or path.is_relative_to(r) for r in roots):
        where = ", ".join(str(r) for r in roots) or "(none)"
        raise DatasetError(f"{path} is outside the data folders this server may read ({where})",
                           hint="restart the server with `outfit serve --data-root DIR` for a "
                                "folder that holds it")
    fmt = _dataset_format(path)
    if fmt is None:
        raise DatasetError(f"{path} is not a dataset with outfits",
                           hint="give a folder in the Polyvore Outfits or Maryland Polyvore "
                                "layout (a world made by `outfit synth` is one)")
    return _info(path, fmt)

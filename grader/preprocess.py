"""Turning item photos into the tensors the feature CNN reads, and keeping them.

Preprocessing travels with the model (in the checkpoint): a photo is padded to a square on white
(product photos are shot on white; padding keeps the silhouette's proportions, which carry the
shape), resized to ``image_size`` and stored as uint8. :func:`load_image_tensor` decodes a set
of items once; with ``cache_dir`` the result is kept on disk keyed by the image files and size,
so a second run (or a second model on the same data) skips the decoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from data.fileio import atomic_write_with
from data.images import load_image
from outfit.domain import Item
from outfit.errors import ImageError

__all__ = ["Preprocessing", "photo_to_array", "load_image_tensor", "to_float"]


@dataclass(frozen=True)
class Preprocessing:
    """How a photo becomes model input: square on white, ``image_size`` pixels a side."""

    image_size: int = 64
    pad_color: tuple[int, int, int] = (255, 255, 255)

    def to_dict(self) -> dict:
        return {"image_size": self.image_size, "pad_color": list(self.pad_color)}

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        return cls(int(d["image_size"]), tuple(int(c) for c in d.get("pad_color", (255,) * 3)))


_MAX_SIDE = 2048


def photo_to_array(image: Image.Image, prep: Preprocessing) -> np.ndarray:
    """An RGB PIL image -> ``(3, S, S)`` uint8, padded to a square then resized. A photo
    longer than ``_MAX_SIDE`` is first shrunk to it (keeping its shape): a 1 x 30,000 strip is
    within the pixel limit, but its padded square would not be."""
    w, h = image.size
    if max(w, h) > _MAX_SIDE:
        f = _MAX_SIDE / max(w, h)
        image = image.resize((max(1, round(w * f)), max(1, round(h * f))),
                             Image.Resampling.BILINEAR, reducing_gap=2.0)
        w, h = image.size
    side = max(w, h)
    if w != h:
        square = Image.new("RGB", (side, side), prep.pad_color)
        square.paste(image, ((side - w) // 2, (side - h) // 2))
        image = square
    if side != prep.image_size:
        image = image.resize((prep.image_size, prep.image_size), Image.Resampling.BILINEAR,
                             reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()


def to_float(batch: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 3, S, S)`` -> float in [0, 1]."""
    return batch.to(torch.float32).div_(255.0)


def _cache_key(items: Sequence[Item], prep: Preprocessing) -> str:
    h = hashlib.sha256(repr(asdict(prep)).encode())
    for it in items:
        path = it.image
        st = path.stat() if path is not None and path.exists() else None
        h.update(f"{it.id}|{path}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}\n"
                 .encode())
    return h.hexdigest()[:20]


def load_image_tensor(items: Sequence[Item], prep: Preprocessing, *,
                      cache_dir: Path | str | None = None, workers: int = 2) -> torch.Tensor:
    """Every item's photo as ``(N, 3, S, S)`` uint8, in the order of ``items``.

    Raises :class:`ImageError` naming the first item whose photo is missing or unreadable.
    """
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"images-{prep.image_size}-{_cache_key(items, prep)}.npy"
        try:  # a cache file that cannot be read (truncated, foreign) is made again
            arr = np.load(cache, mmap_mode="r", allow_pickle=False)
            if arr.shape == (len(items), 3, prep.image_size, prep.image_size):
                return torch.from_numpy(np.array(arr))  # a private, writable copy
        except (OSError, ValueError, EOFError):
            pass

    def one(it: Item) -> np.ndarray:
        if it.image is None:
            raise ImageError(None, f"item {it.id} has no photo",
                             hint="every item the model sees needs a photo")
        return photo_to_array(load_image(it.image), prep)

    out = np.empty((len(items), 3, prep.image_size, prep.image_size), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # Pillow releases the GIL
        for k, arr in enumerate(pool.map(one, items)):
            out[k] = arr
    if cache is not None:
        atomic_write_with(cache, lambda fh: np.save(fh, out))
    return torch.from_numpy(out)

"""The tagger's photos: the folder of split folders it trains on, and their augmentation.

The folder holds ``train/``, ``validation/`` (or ``valid/``, ``val/``) and ``test/``, each with
one folder per category; names go through :func:`data.folder.category_for` (``longsleeve`` ->
``long-sleeve top``). Photos are decoded once into uint8 tensors (:func:`load_image_tensor`, the
same square-on-white preprocessing as the grader's) and augmented on the fly with batched torch
ops: a random resized crop with a small rotation and a horizontal flip (one ``grid_sample``),
then brightness, contrast and saturation jitter; CutMix pastes a patch of another photo in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from data.folder import read_closet_folder
from outfit.domain import Item
from outfit.errors import OutfitError

from .preprocess import to_float

if TYPE_CHECKING:
    from .tagger_training import TaggerConfig

__all__ = ["read_photo_splits"]

_VALID_NAMES = ("validation", "valid", "val")


# ---------------------------------------------------------------------------------- the data


@dataclass
class _Split:
    items: list[Item]
    labels: torch.Tensor
    images: torch.Tensor | None = None


def _find_split(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    return None


def read_photo_splits(folder: Path | str) -> dict[str, list[Item]]:
    """``{"train": [...], "validation": [...], "test": [...]}`` from a folder of split folders,
    each holding one folder per category. ``test`` may be missing (an empty list)."""
    folder = Path(folder)
    found = {"train": _find_split(folder, ("train",)),
             "validation": _find_split(folder, _VALID_NAMES),
             "test": _find_split(folder, ("test",))}
    missing = [k for k in ("train", "validation") if found[k] is None]
    if missing:
        raise OutfitError(f"{folder} has no {' or '.join(missing)} folder",
                          hint="give a folder holding train/, validation/ (or valid/) and "
                          "test/, each with one folder of photos per category")
    return {k: list(read_closet_folder(p).closet.items) if p is not None else []
            for k, p in found.items()}


def _labels(items: Sequence[Item], classes: Sequence[str], split: str) -> torch.Tensor:
    index = {c: k for k, c in enumerate(classes)}
    unknown = sorted({it.category for it in items if it.category not in index})
    if unknown:
        raise OutfitError(f"the {split} photos have categories the train photos lack: "
                          f"{', '.join(unknown)}", hint="every category needs training photos")
    return torch.tensor([index[it.category] for it in items], dtype=torch.long)


# ------------------------------------------------------------------------------ augmentation


def _augment(x: torch.Tensor, gen: torch.Generator, cfg: TaggerConfig) -> torch.Tensor:
    """uint8 ``(B, 3, S, S)`` -> float in [0, 1], randomly cropped, rotated, flipped and
    re-coloured, each photo its own way. Pixels from outside the photo are white."""
    b, _, s, _ = x.shape
    x = to_float(x)
    area = torch.empty(b).uniform_(cfg.min_crop, max(cfg.min_crop, cfg.max_crop), generator=gen)
    log_ratio = torch.empty(b).uniform_(math.log(3 / 4), math.log(4 / 3), generator=gen)
    limit = max(1.0, math.sqrt(cfg.max_crop))
    w = (area * log_ratio.exp()).sqrt().clamp(max=limit)  # half-widths in [-1, 1] coordinates
    h = (area / log_ratio.exp()).sqrt().clamp(max=limit)
    cx = (torch.rand(b, generator=gen) * 2 - 1) * (1 - w).abs()
    cy = (torch.rand(b, generator=gen) * 2 - 1) * (1 - h).abs()
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(cfg.rotate)
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([w * cos * flip, -h * sin, cx], -1),
                         torch.stack([w * sin * flip, h * cos, cy], -1)], 1)
    grid = F.affine_grid(theta, [b, 3, s, s], align_corners=False)
    if cfg.max_crop > 1:  # zooming out: the photo's edges continue its background
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    else:  # zeros padding of (x - 1) is white padding of x
        x = F.grid_sample(x - 1.0, grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False) + 1.0
    j = cfg.color_jitter
    if j > 0:
        def factor() -> torch.Tensor:
            return (1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * j)

        x = x * factor()  # brightness
        gray = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = gray.mean((2, 3), keepdim=True) + (x - gray.mean((2, 3), keepdim=True)) * factor()
        gray = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = gray + (x - gray) * factor()  # saturation
        x = x.clamp_(0.0, 1.0)
    return x


def _cutmix(x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Paste a random box of each photo's partner (a permutation of the batch) into it;
    returns the photos, the partners and the share of each photo left as it was."""
    b, _, s, _ = x.shape
    lam = float(torch.rand(1, generator=gen))
    cut = int(round(s * math.sqrt(1 - lam)))
    cy, cx = (int(v) for v in torch.randint(0, s, (2,), generator=gen))
    y0, y1 = max(cy - cut // 2, 0), min(cy + cut - cut // 2, s)
    x0, x1 = max(cx - cut // 2, 0), min(cx + cut - cut // 2, s)
    partner = torch.randperm(b, generator=gen).to(x.device)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[partner, :, y0:y1, x0:x1]
    return x, partner, 1 - (y1 - y0) * (x1 - x0) / (s * s)

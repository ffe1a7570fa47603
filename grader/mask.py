"""Garment masks: which pixels of a photo are the garment, for colour, pattern and the cut-out.

People photograph clothes on beds, floors, doors and hangers, not only on white. The mask is a
classic segmentation seeded from the photo's border (no training, no download, ~50 ms a photo):

1. The photo is shrunk to :data:`WORK_SIDE` pixels on its longer side.
2. Seeds: a thin ring along the border is background for sure (a garment photographed alone
   rarely touches all four edges); pixels whose colour is close to the border's (the Lab test
   of :func:`grader.color.foreground_mask`, with corner colours for uneven floors) are probably
   background; every other pixel is probably garment.
3. GrabCut (Rother, Kolmogorov & Blake, SIGGRAPH 2004; OpenCV's implementation) refines the
   seeds with colour models of garment and background and a smoothness term, so that a white
   shirt's shadowed folds stay garment and a patterned bedspread's flowers stay background.
4. Specks smaller than :data:`MIN_PART` of the photo are dropped.

Where this finds almost nothing or almost everything (a garment filling the frame, a swatch),
the border test alone decides, and failing that every pixel counts: colour is then read from
the whole photo, which is what the tag would have said without a mask.

Why not a learned segmenter: the shipped photos have no mask labels, and GrabCut seeded this
way separates garment from bed or floor in most of clothing-small's photos (see the contact
sheet made by ``bench/masks.py``); a person can still correct the colour tag by hand.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .color import foreground_mask

__all__ = ["garment_mask", "mask_to_png", "mask_from_png", "cutout", "WORK_SIDE"]

WORK_SIDE = 192
"""Longest side (px) the segmentation works at; the mask is scaled back to the photo's size."""

BORDER = 0.03
"""Width of the sure-background ring, as a fraction of the shorter side."""

MIN_PART = 0.01
"""Connected garment parts smaller than this fraction of the photo are dropped (specks)."""

MIN_FG, MAX_FG = 0.02, 0.98
"""A mask covering less or more than these fractions of the photo is not trusted."""

ITERATIONS = 4


def _grabcut(rgb: np.ndarray, seed_fg: np.ndarray) -> np.ndarray:
    import cv2

    h, w, _ = rgb.shape
    seeds = np.where(seed_fg, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    r = max(2, round(BORDER * min(h, w)))
    seeds[:r, :] = seeds[-r:, :] = cv2.GC_BGD
    seeds[:, :r] = seeds[:, -r:] = cv2.GC_BGD
    if not (seeds == cv2.GC_PR_FGD).any():
        return np.zeros((h, w), bool)
    cv2.setRNGSeed(0)  # GrabCut's colour models start from k-means: same photo, same mask
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(np.ascontiguousarray(rgb[:, :, ::-1]), seeds, None, bgd, fgd, ITERATIONS,
                cv2.GC_INIT_WITH_MASK)
    return (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)


def _drop_specks(mask: np.ndarray) -> np.ndarray:
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_PART * mask.size
    return keep[labels]


def garment_mask(image: Image.Image) -> np.ndarray:
    """``(H, W)`` bool at the photo's own size: True where the garment is."""
    rgb_full = image.convert("RGB")
    small = rgb_full.copy()
    small.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(small, dtype=np.uint8)
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255.0
    border_test = foreground_mask(x)[0].numpy()
    mask = _drop_specks(_grabcut(rgb, border_test))
    for candidate in (mask, border_test):
        share = float(candidate.mean())
        if MIN_FG <= share <= MAX_FG:
            mask = candidate
            break
    else:
        mask = np.ones_like(border_test)
    if mask.shape != (rgb_full.height, rgb_full.width):
        up = Image.fromarray(mask.astype(np.uint8) * 255).resize(rgb_full.size,
                                                                 Image.Resampling.NEAREST)
        mask = np.asarray(up) > 127
    return mask


def mask_to_png(mask: np.ndarray) -> bytes:
    """A mask as a small 1-bit PNG (a few KB at thumbnail size)."""
    import io

    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).convert("1").save(buf, "PNG", optimize=True)
    return buf.getvalue()


def mask_from_png(data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """The bool mask stored by :func:`mask_to_png`, scaled to ``size`` (width, height) if given."""
    import io

    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("L")
        if size is not None and im.size != size:
            im = im.resize(size, Image.Resampling.NEAREST)
        return np.asarray(im) > 127


def cutout(image: Image.Image, mask: np.ndarray) -> Image.Image:
    """The photo with its background made transparent (RGBA), for showing the garment alone."""
    rgba = image.convert("RGBA")
    if mask.shape != (rgba.height, rgba.width):
        mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(
            rgba.size, Image.Resampling.NEAREST)) > 127
    alpha = Image.fromarray(mask.astype(np.uint8) * 255)
    rgba.putalpha(alpha)
    return rgba

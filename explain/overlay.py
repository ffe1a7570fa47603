"""The heat-map overlay: a photo under a signed map, red where it lowers the score and blue where
it raises it. The one drawing of a pixel map, for :meth:`explain.pixels.PixelMaps.overlay` (the
model's view of the photo) and the web app's heat maps (the stored photo, its own size)."""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["heat_overlay", "fit_to_photo", "LOWERS_RGB", "RAISES_RGB"]

LOWERS_RGB = (202, 0, 32)
"""Overlay colour of pixels that lower the score (the red end of ColorBrewer's RdBu)."""
RAISES_RGB = (5, 113, 176)
"""Overlay colour of pixels that raise the score (the blue end of RdBu)."""


def fit_to_photo(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """A square map ``values`` of the photo as the model saw it (padded to a centred square)
    brought onto the photo's own ``height x width`` pixels: resized bilinearly to the square's
    side, the padding cropped off. A map of the photo's shape is returned as it is."""
    v = np.asarray(values, dtype=np.float32)
    if v.shape == (height, width):
        return v
    side = max(width, height)
    grid = Image.fromarray(v, mode="F").resize((side, side), Image.Resampling.BILINEAR)
    left, top = (side - width) // 2, (side - height) // 2
    return np.asarray(grid.crop((left, top, left + width, top + height)), dtype=np.float32)


def heat_overlay(photo: np.ndarray, values: np.ndarray, *, gamma: float = 1.0,
                 alpha: float = 0.85, muted: bool = True) -> Image.Image:
    """``photo (H, W, 3)`` (uint8 or float in [0, 255]) under ``values`` in [-1, 1] (a map of its
    pixels, or of its padded square: :func:`fit_to_photo`): red where negative, blue where
    positive, with opacity ``alpha * |values| ** gamma``. ``muted``: show the photo as a light
    grey silhouette, so that a red or blue tint reads on a dark or colourful garment too (False
    keeps its colours)."""
    photo = np.asarray(photo, dtype=np.float32)
    v = fit_to_photo(values, *photo.shape[:2])
    a = (float(alpha) * np.abs(v) ** float(gamma))[..., None]
    tint = np.where(v[..., None] < 0, np.array(LOWERS_RGB, np.float32),
                    np.array(RAISES_RGB, np.float32))
    if muted:  # luma (ITU-R BT.601), squeezed into the light half of the range
        grey = photo @ np.array([0.299, 0.587, 0.114], np.float32)
        photo = np.repeat((110.0 + grey * (145.0 / 255.0))[..., None], 3, axis=-1)
    out = photo * (1 - a) + tint * a
    return Image.fromarray(np.clip(out.round(), 0, 255).astype(np.uint8), "RGB")

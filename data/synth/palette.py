"""Colour shades and fabric patterns for the product photos.

A pattern is drawn on a whole canvas and later shown through the garment's silhouette, so it
continues across sleeves and seams as printed cloth does. The second colour of a pattern is a
near-white tint (on a dark or saturated base) or a deep shade (on a light one) of the base, so
that the item's colour stays the colour its name says.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from .attributes import SOLID

__all__ = ["RGB", "jitter", "shade", "tint", "mix", "luminance", "ink_for", "fabric"]

RGB = tuple[int, int, int]


def _clip(v: float) -> int:
    return max(0, min(255, int(round(v))))


def jitter(rgb: RGB, rng: random.Random, amount: float = 12.0) -> RGB:
    """The same colour name in another shade: a common brightness change plus a little noise."""
    k = rng.uniform(0.9, 1.08)
    return tuple(_clip(c * k + rng.uniform(-amount, amount) * 0.5) for c in rgb)  # type: ignore[return-value]


def shade(rgb: RGB, f: float) -> RGB:
    """Darker: ``f`` of the way from black to ``rgb``."""
    return tuple(_clip(c * f) for c in rgb)  # type: ignore[return-value]


def tint(rgb: RGB, f: float) -> RGB:
    """Lighter: ``f`` of the way from ``rgb`` to white."""
    return tuple(_clip(c + (255 - c) * f) for c in rgb)  # type: ignore[return-value]


def mix(a: RGB, b: RGB, f: float) -> RGB:
    return tuple(_clip(x * (1 - f) + y * f) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def luminance(rgb: RGB) -> float:
    r, g, b = (c / 255 for c in rgb)
    return 0.299 * r + 0.587 * g + 0.114 * b


def ink_for(base: RGB, rng: random.Random) -> RGB:
    """The second colour of a pattern on ``base``: contrasting, but of the same colour family."""
    if luminance(base) < 0.62:
        return tint(base, rng.uniform(0.82, 0.92))
    return shade(base, rng.uniform(0.3, 0.5))


def fabric(pattern: str, base: RGB, ink: RGB, size: int, rng: random.Random) -> Image.Image:
    """A ``size`` x ``size`` RGB canvas of cloth in ``pattern`` (one of ``PATTERNS``)."""
    if pattern == SOLID:
        return Image.new("RGB", (size, size), base)
    if pattern in ("floral", "print"):
        img = Image.new("RGB", (size, size), base)
        (_floral if pattern == "floral" else _animal)(ImageDraw.Draw(img), base, ink, size, rng)
        return img
    y, x = _grid_xy(size)
    b = np.array(base, np.float32)
    k = np.array(ink, np.float32)
    if pattern == "stripes":
        period = size / rng.uniform(7.5, 12.0)
        coord = y if rng.random() < 0.7 else x
        on = ((coord + rng.uniform(0, period)) % period) < period * rng.uniform(0.32, 0.5)
        amount = on.astype(np.float32)
    elif pattern == "checks":
        period = size / rng.uniform(8.0, 12.0)
        h = ((y + rng.uniform(0, period)) % period) < period / 2
        v = ((x + rng.uniform(0, period)) % period) < period / 2
        amount = (h.astype(np.float32) + v.astype(np.float32)) / 2  # gingham: 0, 1/2 or 1
    elif pattern == "dots":
        step = size / rng.uniform(6.5, 9.0)
        radius = step * rng.uniform(0.2, 0.28)
        yy = y + rng.uniform(0, step)
        row = np.floor(yy / step)
        xx = x + rng.uniform(0, step) + (row % 2) * step / 2
        dx = xx % step - step / 2
        dy = yy % step - step / 2
        amount = (dx * dx + dy * dy < radius * radius).astype(np.float32)
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    out = b + (k - b) * amount[..., None]
    return Image.fromarray(out.round().astype(np.uint8), "RGB")


@lru_cache(maxsize=8)
def _grid_xy(size: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return y, x


def _grid(size: int, step: float, rng: random.Random):
    """Jittered grid points covering the canvas (with a margin so edges are covered too)."""
    ox, oy = rng.uniform(0, step), rng.uniform(0, step)
    n = int(size / step) + 2
    for i in range(-1, n):
        for j in range(-1, n):
            off = step / 2 if i % 2 else 0.0
            yield (ox + j * step + off + rng.uniform(-0.18, 0.18) * step,
                   oy + i * step * 0.87 + rng.uniform(-0.18, 0.18) * step)


def _floral(draw: ImageDraw.ImageDraw, base: RGB, ink: RGB, size: int, rng: random.Random) -> None:
    step = size / rng.uniform(4.2, 5.5)
    petal = step * rng.uniform(0.15, 0.19)
    heart = shade(ink, 0.55) if luminance(ink) > 0.5 else tint(ink, 0.6)
    leaf = mix(base, ink, 0.45)
    for cx, cy in _grid(size, step, rng):
        turn = rng.uniform(0, 2 * math.pi)
        lx, ly = cx + math.cos(turn + 2.6) * petal * 2.1, cy + math.sin(turn + 2.6) * petal * 2.1
        draw.ellipse((lx - petal * 0.8, ly - petal * 0.45, lx + petal * 0.8, ly + petal * 0.45), fill=leaf)
        for p in range(5):
            a = turn + p * 2 * math.pi / 5
            px, py = cx + math.cos(a) * petal, cy + math.sin(a) * petal
            draw.ellipse((px - petal * 0.8, py - petal * 0.8, px + petal * 0.8, py + petal * 0.8), fill=ink)
        draw.ellipse((cx - petal * 0.5, cy - petal * 0.5, cx + petal * 0.5, cy + petal * 0.5), fill=heart)


def _animal(draw: ImageDraw.ImageDraw, base: RGB, ink: RGB, size: int, rng: random.Random) -> None:
    """Leopard-like rosettes: a mid-tone blot ringed by broken dark arcs."""
    step = size / rng.uniform(5.5, 7.0)
    mid = mix(base, ink, 0.4)
    dark = shade(ink, 0.6) if luminance(ink) < 0.5 else shade(base, 0.35)
    width = max(1, int(step * 0.09))
    for cx, cy in _grid(size, step, rng):
        rx, ry = step * rng.uniform(0.22, 0.3), step * rng.uniform(0.16, 0.24)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=mid)
        start = rng.uniform(0, 360)
        for s in range(3):
            a0 = start + s * 120 + rng.uniform(-10, 10)
            draw.arc((cx - rx * 1.25, cy - ry * 1.3, cx + rx * 1.25, cy + ry * 1.3),
                     a0, a0 + rng.uniform(70, 95), fill=dark, width=width)

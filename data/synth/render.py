"""Product photos: a recorded drawing (:mod:`.pen`) rendered in colour and pattern, then saved.

Every photo is seeded from ``(world seed, item id)`` alone, so a photo is the same whichever
process draws it and in whatever order: :func:`write_images` may use several processes and
still writes byte-identical files. Drawing happens at twice the size and is averaged down,
which smooths the edges.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .accessories import ACCESSORIES
from .attributes import COLORS
from .garments import CLOTHES
from .palette import RGB, fabric, ink_for, jitter, luminance, shade, tint
from .pen import Op, Pen

__all__ = ["DRAWERS", "render_item", "write_images", "JPEG_QUALITY"]

DRAWERS = {**CLOTHES, **ACCESSORIES}
JPEG_QUALITY = 90
_SUPERSAMPLE = 2


def _tones(base: RGB, ink: RGB) -> dict[str, RGB]:
    lum = luminance(base)
    dark = shade(base, 0.55) if lum > 0.22 else tint(base, 0.32)
    return {
        "base": base,
        "ink": ink,
        "dark": dark,
        "deep": shade(base, 0.35) if lum > 0.3 else (14, 14, 16),
        "light": tint(base, 0.55),
        "outline": shade(base, 0.5) if lum > 0.12 else (10, 10, 12),
        "button": tint(base, 0.6) if lum < 0.5 else shade(base, 0.45),
        "lace": (242, 242, 238) if lum < 0.6 else shade(base, 0.4),
        "accent": (246, 246, 242) if lum < 0.6 else shade(base, 0.5),
        "stitch": tint(base, 0.5) if lum < 0.6 else shade(base, 0.6),
        "tie": shade(base, 0.35) if lum > 0.35 else (172, 174, 180),
        "ribbon": shade(base, 0.35) if lum > 0.3 else (205, 205, 205),
        "tinted": shade(base, 0.62),
        "sole": (238, 236, 230),
        "black": (30, 30, 32),
        "metal": (176, 176, 182),
        "inner": (242, 242, 238),
        "fur": (226, 220, 206),
        "footbed": (206, 180, 142),
        "footbed-in": (192, 164, 126),
        "lens": (40, 44, 52),
    }


class _Canvas:
    """Maps the unit box onto pixels: scale, shift and an optional left-right mirror."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.scale = rng.uniform(0.78, 0.94) * size
        margin = (size - self.scale) / 2
        self.cx = size / 2 + rng.uniform(-0.7, 0.7) * margin
        self.cy = size / 2 + rng.uniform(-0.7, 0.7) * margin
        self.flip = rng.random() < 0.5

    def pt(self, x: float, y: float) -> tuple[float, float]:
        u = (0.5 - x) if self.flip else (x - 0.5)
        return self.cx + u * self.scale, self.cy + (y - 0.5) * self.scale

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        (a, b), (c, d) = self.pt(x0, y0), self.pt(x1, y1)
        return min(a, c), min(b, d), max(a, c), max(b, d)

    def width(self, w: float) -> int:
        return max(1, round(w * self.scale))

    def angles(self, start: float, end: float) -> tuple[float, float]:
        return (180 - end, 180 - start) if self.flip else (start, end)

    def draw(self, draw: ImageDraw.ImageDraw, op: Op, fill, outline=None) -> None:
        if op.shape == "poly":
            pts = [self.pt(x, y) for x, y in op.args[0]]
            draw.polygon(pts, fill=fill, outline=outline,
                         width=self.width(op.width) if outline is not None else 1)
        elif op.shape == "ellipse":
            draw.ellipse(self.box(*op.args), fill=fill, outline=outline,
                         width=self.width(op.width) if outline is not None else 1)
        elif op.shape == "line":
            pts = [self.pt(x, y) for x, y in op.args[0]]
            draw.line(pts, fill=fill, width=self.width(op.width), joint="curve")
        elif op.shape == "arc":
            box, start, end = op.args
            draw.arc(self.box(*box), *self.angles(start, end), fill=fill,
                     width=self.width(op.width))


@lru_cache(maxsize=8)
def _light(size: int) -> Image.Image:
    """Soft light from the top left, as on a product shot (a multiplier, 255 = unchanged)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    level = np.clip(255 * (1.02 - 0.1 * y - 0.05 * x), 0, 255).round().astype(np.uint8)
    return Image.fromarray(level, "L").convert("RGB")


_GROW = [0] + [255] * 255  # any coverage at all -> fully in: dilation after a blur


def _grown(mask: Image.Image, radius: float) -> Image.Image:
    """``mask`` grown by about ``radius`` pixels (a cheap dilation, for outlines)."""
    return mask.filter(ImageFilter.BoxBlur(radius)).point(_GROW)


def render_item(spec: Mapping[str, str], size: int, key: str) -> Image.Image:
    """The photo of one item: ``spec`` has ``kind``, ``style``, ``color`` and ``pattern``;
    ``key`` seeds every random choice (use ``f"{seed}:{item_id}"``). Returns RGB, size x size."""
    rng = random.Random(key)
    big = size * _SUPERSAMPLE
    pen = Pen()
    canvas = _Canvas(big, rng)
    DRAWERS[spec["kind"]](pen, spec["style"], rng)
    base = jitter(COLORS[spec["color"]], rng)
    ink = ink_for(base, rng)
    tones = _tones(base, ink)

    def tone(t):
        return t if isinstance(t, tuple) else tones[t]

    sil = Image.new("L", (big, big), 0)
    cloth = Image.new("L", (big, big), 0)
    sil_draw, cloth_draw = ImageDraw.Draw(sil), ImageDraw.Draw(cloth)
    for op in pen.ops:
        if op.layer in ("body", "cut"):
            value = 255 if op.layer == "body" else 0
            canvas.draw(sil_draw, op, value)
            canvas.draw(cloth_draw, op, value)
        elif op.in_silhouette and (op.layer == "under" or op.shape in ("poly", "ellipse")):
            canvas.draw(sil_draw, op, 255)

    grey = rng.randint(238, 250)
    bg = tuple(min(255, grey + rng.randint(-3, 3)) for _ in range(3))
    img = Image.new("RGB", (big, big), bg)
    dx, dy = round(big * 0.012), round(big * 0.02)
    soft = sil.filter(ImageFilter.BoxBlur(big / 60)).point(lambda v: v * 0.3)
    img.paste(shade(bg, 0.78), mask=soft.crop((-dx, -dy, big - dx, big - dy)))
    img.paste(tones["outline"], mask=_grown(sil, 2))
    draw = ImageDraw.Draw(img)
    unders = [op for op in pen.ops if op.layer == "under"]
    for op in unders:
        canvas.draw(draw, op, tone(op.tone))
    if unders:
        img.paste(tones["outline"], mask=_grown(cloth, 2))
    cloth_rgb = ImageChops.multiply(fabric(spec["pattern"], base, ink, big, rng), _light(big))
    img.paste(cloth_rgb, mask=cloth)
    for op in pen.ops:
        if op.layer == "over":
            fill = None if op.tone is None else tone(op.tone)
            if op.shape in ("line", "arc"):
                canvas.draw(draw, op, fill)
            else:
                outline = None if op.outline is None else tone(op.outline)
                canvas.draw(draw, op, fill, outline)
    return img.reduce(_SUPERSAMPLE)


def _write_chunk(args: tuple[list[tuple[str, dict]], str, int, int]) -> int:
    jobs, folder, size, seed = args
    for item_id, spec in jobs:
        img = render_item(spec, size, f"{seed}:{item_id}")
        img.save(Path(folder) / f"{item_id}.jpg", "JPEG", quality=JPEG_QUALITY)
    return len(jobs)


def write_images(jobs: Sequence[tuple[str, dict]], folder: Path, *, size: int, seed: int,
                 workers: int | None = None, progress: bool = False) -> None:
    """Render and save ``folder/<item_id>.jpg`` for each ``(item_id, spec)`` in ``jobs``.

    ``workers``: processes to draw with (default: up to 2; 1 draws in this process).
    """
    folder.mkdir(parents=True, exist_ok=True)
    workers = workers or min(2, os.cpu_count() or 1)
    jobs = list(jobs)
    step = max(20, len(jobs) // (workers * 8) + 1)
    chunks = [(jobs[i:i + step], str(folder), size, seed) for i in range(0, len(jobs), step)]
    done = 0

    def report(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            print(f"\r  photos {done}/{len(jobs)}", end="" if done < len(jobs) else "\n",
                  file=sys.stderr, flush=True)

    if workers == 1 or len(chunks) == 1:
        for chunk in chunks:
            report(_write_chunk(chunk))
        return
    # spawn, not fork: the caller may hold threads (torch, a web server) that fork would copy.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for n in pool.map(_write_chunk, chunks):
            report(n)

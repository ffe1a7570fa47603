"""What a real photo shows: category and pattern from the shipped tagger, colours and the
garment mask from the photo's pixels.

    described = describe_photos(["upload/1.jpg", pil_image])
    d = described[0]
    d.category, d.top, d.pattern, d.color, d.secondary_color, d.mask

This is how every photo that enters a closet is tagged, whatever grader is active: a grader
trained on the synthetic world has never seen a real photo, so its heads are not asked.

- ``category`` (and the runners-up in ``top``) and ``pattern``: the tagger
  (:func:`grader.pretrained.shipped_tagger` unless another is given), over the photo and its
  mirror image.
- the mask: :func:`grader.mask.garment_mask`, at :data:`COLOR_SIDE` pixels.
- ``color``: from the garment's pixels only: the tagger's colour namer (a linear model over
  :func:`grader.color.garment_color_features`, learnt from hand labels) where it has one, else
  the white-balanced colour names (:func:`grader.color.garment_color_names`).
  ``secondary_color``: another colour name holding :data:`grader.color.SECONDARY_SHARE` of the
  garment, else ``None``.

Photos are read by :func:`data.images.load_image` (content-sniffed, pixel limit) unless they are
PIL images already; a bad file raises :class:`~outfit.errors.ImageError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from data.images import load_image, to_rgb
from outfit.domain import Item

from .color import (
    COLOR_NAMES,
    SECONDARY_SHARE,
    garment_color_features,
    garment_color_names,
    main_and_secondary,
)
from .mask import garment_mask
from .preprocess import Preprocessing, photo_to_array
from .tagger import Tagger

__all__ = ["PhotoTags", "describe_photos", "describe_images", "tagged_items", "photo_masks",
           "square_mask", "small_photo", "COLOR_SIDE", "MASK_SQUARE", "TOP_K"]

COLOR_SIDE = 192
"""Longest side (px) at which the mask and the colours are computed."""

TOP_K = 3


@dataclass(frozen=True)
class PhotoTags:
    """Tags of one photo; every confidence is a probability or a share in [0, 1]."""

    category: str
    category_confidence: float
    top: tuple[tuple[str, float], ...]
    pattern: str | None
    pattern_confidence: float
    color: str
    color_confidence: float
    secondary_color: str | None
    secondary_share: float
    mask: np.ndarray = field(repr=False, compare=False)  # (h, w) bool at COLOR_SIDE


def small_photo(image: Image.Image) -> Image.Image:
    """An RGB copy of ``image`` at most :data:`COLOR_SIDE` pixels a side: what the garment
    mask and the colours are read from."""
    small = to_rgb(image).copy()
    small.thumbnail((COLOR_SIDE, COLOR_SIDE), Image.Resampling.BILINEAR)
    return small


MASK_SQUARE = 64
"""Side of the square masks the tagger's pattern head reads (:func:`square_mask`)."""


def square_mask(mask: np.ndarray, side: int = MASK_SQUARE) -> torch.Tensor:
    """A garment mask ``(h, w)`` of a photo -> ``(1, side, side)`` float, padded to a square
    the way :func:`grader.preprocess.photo_to_array` pads the photo (centred), then resized."""
    h, w = mask.shape
    n = max(h, w)
    square = torch.zeros(1, 1, n, n)
    top, left = (n - h) // 2, (n - w) // 2
    square[0, 0, top:top + h, left:left + w] = torch.from_numpy(mask.astype(np.float32))
    return F.interpolate(square, size=(side, side), mode="area")[0]


def photo_masks(images: Sequence[Image.Image]) -> list[np.ndarray]:
    """The garment mask of each photo, at :data:`COLOR_SIDE` (what colour and pattern read)."""
    return [garment_mask(small_photo(im)) for im in images]


def describe_images(images: Sequence[Image.Image], tagger: Tagger | None = None) -> list[PhotoTags]:
    """:class:`PhotoTags` for each PIL image, in order."""
    if tagger is None:
        from .pretrained import shipped_tagger

        tagger = shipped_tagger()
    if not images:
        return []
    prep = Preprocessing(tagger.prep.image_size)
    batch = torch.from_numpy(np.stack([photo_to_array(to_rgb(im), prep) for im in images]))
    smalls = [small_photo(im) for im in images]
    masks = [garment_mask(s) for s in smalls]
    cat_probs, pat_probs = tagger.predict(batch, masks=torch.stack([square_mask(m) for m in masks]))
    out = []
    for k, (small, mask) in enumerate(zip(smalls, masks, strict=True)):
        rgb = torch.from_numpy(np.asarray(small, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
        (color, share), second = _colors(tagger, rgb, torch.from_numpy(mask))
        top_p, top_i = cat_probs[k].topk(min(TOP_K, len(tagger.classes)))
        if pat_probs is not None:
            pattern_p, pattern_i = pat_probs[k].max(-1)
            pattern, pattern_conf = tagger.pattern_classes[int(pattern_i)], float(pattern_p)
        else:
            pattern, pattern_conf = None, 0.0
        out.append(PhotoTags(
            category=tagger.classes[int(top_i[0])], category_confidence=_prob(top_p[0]),
            top=tuple((tagger.classes[int(i)], _prob(p)) for p, i in zip(top_p, top_i, strict=True)),
            pattern=pattern, pattern_confidence=_prob(pattern_conf),
            color=color, color_confidence=_prob(share),
            secondary_color=second[0] if second else None,
            secondary_share=_prob(second[1]) if second else 0.0, mask=mask))
    return out


def describe_photos(photos: Sequence[str | os.PathLike | Image.Image],
                    tagger: Tagger | None = None) -> list[PhotoTags]:
    """:class:`PhotoTags` for each photo file (or PIL image), in order."""
    out: list[PhotoTags] = []
    for s in range(0, len(photos), 32):  # a chunk at a time: full-size photos are large
        chunk = [p if isinstance(p, Image.Image) else load_image(Path(p)) for p in photos[s:s + 32]]
        out.extend(describe_images(chunk, tagger))
    return out


def _colors(tagger: Tagger, rgb: torch.Tensor,
            mask: torch.Tensor) -> tuple[tuple[str, float], tuple[str, float] | None]:
    """(main colour, its probability or share), (second colour, its share) or None. The main
    colour comes from the tagger's learned colour namer where it has one, else from the
    white-balanced colour names of the garment's pixels; the second colour is a name other than
    the main one (and other than the pixels' own first name, which the namer may have renamed:
    navy read as black is one colour, not two) holding :data:`grader.color.SECONDARY_SHARE` of
    the garment."""
    dist = garment_color_names(rgb, mask)
    main, _ = main_and_secondary(dist)
    read = main[0]  # the name the pixels give: where the namer overrules it, the same region
    if tagger.color_head is not None:
        with torch.no_grad():
            p = torch.softmax(tagger.color_head(
                garment_color_features(rgb, mask).to(tagger.mean.device)), -1).cpu()
        k = int(p.argmax())
        main = (tagger.color_classes[k], float(p[k]))
    rest = [(COLOR_NAMES[i], float(dist[i])) for i in dist.argsort(descending=True).tolist()
            if COLOR_NAMES[i] not in (main[0], read)]
    second = rest[0] if rest and rest[0][1] >= SECONDARY_SHARE else None
    return main, second


def _prob(value: float | torch.Tensor) -> float:
    return min(1.0, max(0.0, float(value)))


def tagged_items(items: Sequence[Item], tagger: Tagger | None = None) -> list[Item]:
    """``items`` as the tagger sees their photos: category (and so slot), ``color`` and
    ``pattern`` from :func:`describe_photos`, other attributes kept. This is what a person's
    closet holds before anyone corrects a tag (the "taggers in the loop" of an evaluation)."""
    from data.folder import category_for

    described = describe_photos([it.image for it in items], tagger)
    out = []
    for it, d in zip(items, described, strict=True):
        category, semantic = category_for(d.category)
        attrs = {**it.attributes, "color": d.color}
        if d.pattern is not None:
            attrs["pattern"] = d.pattern
        else:
            attrs.pop("pattern", None)
        out.append(Item(id=it.id, category=category, semantic_category=semantic,
                        image=it.image, name=it.name, attributes=attrs))
    return out

"""Pixel deletion: do the pixel maps (:mod:`explain.pixels`) point at the pixels that matter?

For a handful of good outfits, every item's photo is blanked (its pixels set to the blank photo
the pixel methods integrate from, ``model.prep.pad_color``) a share at a time, the pixels with
the largest map value first (most helpful first, as :mod:`.deletion` does for (item, group)
pairs), and the outfit's logit is read after each of :data:`PIXEL_STEPS` steps, the other items
held at their features. The item's features are those the model computes from the blanked
photo: its CNN groups and its colour group as the model reads it (not the soft colour the maps
differentiate). The curve is the outfit's probability (the sigmoid of the logit, as Petsiuk et
al. read a classifier's) over the share of pixels blanked, and its area is ``deletion_auc``, in
[0, 1]: LOWER IS BETTER. It is not normalised by the blank photo's end, as the pairs' curves are:
half-blanked photos are unlike any photo the model saw and often score far below the blank
photo, so a photo whose blank version scores nearly the same would divide by almost nothing.
The baseline deletes the pixels in :data:`PIXEL_ORDERS` random orders per photo. Every photo
counts. How a method compares with random pixels, with its spread: :func:`.margins.against`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from grader.api import FeatureTable, GraderModel
from outfit.domain import Item
from outfit.errors import OutfitError

from ..pixel_input import eval_mode, list_pixel_methods, pixel_features, pixel_input
from ..pixels import pixel_maps
from .margins import against, spread

PIXEL_STEPS = 20  # pixel deletion steps per photo (each a 1/20 of the pixels)
PIXEL_ORDERS = 4  # random pixel orders per photo


def _area(z: np.ndarray) -> float:
    """Area under the probability curve of logits ``z`` over the share of pixels blanked."""
    return float(np.trapezoid(1.0 / (1.0 + np.exp(-z)), np.linspace(0.0, 1.0, len(z))))


def _curves(inp, j: int, orders: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``(len(orders), PIXEL_STEPS + 1)`` of item ``j``'s photo blanked in each order."""
    photo, blank = inp.photos[j], inp.blank
    side = photo.shape[-1]
    cuts = np.linspace(0, side * side, PIXEL_STEPS + 1).round().astype(int)
    images = []
    for order in orders:
        rank = np.empty(side * side, dtype=np.int64)
        rank[order] = np.arange(side * side)
        rank_t = torch.from_numpy(rank.reshape(side, side)).to(photo.device)
        images += [torch.where(rank_t < c, blank, photo) for c in cuts]
    x = torch.stack(images)
    which = torch.full((len(x),), j, dtype=torch.long, device=x.device)
    with torch.no_grad():
        z = inp.logits(which, pixel_features(inp.model, x))
    return z.double().cpu().numpy().reshape(len(orders), PIXEL_STEPS + 1)


def _outfit(items: Sequence[Item], model: GraderModel, table: FeatureTable,
            methods: Sequence[str], rng: np.random.Generator,
            options: Mapping[str, Mapping[str, Any]], cache_dir) -> tuple[list, dict]:
    """One outfit: the random orders' areas ``[(orders,)]`` per photo, and each method's
    areas ``{method: [area]}`` on the same photos."""
    maps = {m: pixel_maps(items, model, m, features=table, cache_dir=cache_dir,
                          **dict(options.get(m, {}))).maps for m in methods}
    with eval_mode(model):
        inp = pixel_input(tuple(items), model, features=table, cache_dir=cache_dir)
        side = inp.photos.shape[-1]
        rand, own = [], {m: [] for m in methods}
        for j in range(inp.n):
            z = _curves(inp, j, [rng.permutation(side * side) for _ in range(PIXEL_ORDERS)])
            rand.append(np.array([_area(c) for c in z]))
            for m in methods:
                order = np.argsort(-maps[m][j].reshape(-1), kind="stable")
                own[m].append(_area(_curves(inp, j, [order])[0]))
    return rand, own


def pixel_deletion(outfits: Sequence[Sequence[Item]], model: GraderModel, table: FeatureTable,
                   *, methods: Sequence[str] | None = None, seed: int = 0,
                   options: Mapping[str, Mapping[str, Any]] | None = None,
                   cache_dir=None) -> dict:
    """Pixel deletion of every pixel method (default: all registered) on the photos of
    ``outfits`` (see the module). Returns ``{"outfits", "photos", "steps", "orders",
    "random": {"deletion_auc", "deletion_auc_std"}, "methods": {name: {"deletion_auc",
    "vs_random"}}}``, or ``{"error": why}`` where the items have no photos."""
    known = list_pixel_methods()
    methods = list(dict.fromkeys(methods or known))
    for m in methods:
        if m not in known:
            raise OutfitError(f"unknown pixel method {m!r}",
                              hint="known pixel methods: " + ", ".join(known))
    rng = np.random.default_rng(seed)
    rand: list[np.ndarray] = []
    own: dict[str, list[float]] = {m: [] for m in methods}
    try:
        for items in outfits:
            r, o = _outfit(items, model, table, methods, rng, options or {}, cache_dir)
            rand += r
            for m in methods:
                own[m] += o[m]
    except OutfitError as e:
        return {"error": str(e)}
    base = np.array(rand).reshape(len(rand), PIXEL_ORDERS)
    return {"outfits": len(outfits), "photos": len(rand), "steps": PIXEL_STEPS,
            "orders": PIXEL_ORDERS,
            "random": {"deletion_auc": float(base.mean()) if len(rand) else None,
                       "deletion_auc_std": spread(base)},
            "methods": {m: {"deletion_auc": float(np.mean(own[m])) if own[m] else None,
                            "vs_random": against(np.array(own[m]), base, lower_is_better=True,
                                                 seed=seed)}
                        for m in methods}}

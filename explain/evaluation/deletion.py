"""Deletion curves (Samek et al., arXiv 1509.06321; the deletion metric of Petsiuk et al., arXiv
1806.07421).

On the good outfits, the (item, group) pairs are set to the item's category mean one at a time
in the method's order, most positive (most helpful) first, and the logit is read after each step.
A method that knows what holds the score up makes it fall fast. Each curve is normalised to run
from 1 (the outfit) to 0 (every pair at its category mean, the same end for every order) over
the fraction of pairs deleted, and ``deletion_auc`` is the mean area under it: LOWER IS BETTER,
and it may fall below 0 (taking the helpful pairs away first leaves the harmful ones, which drag
the logit below the all-means outfit) or rise above 1. Only outfits whose logit is at least
``margin`` above their all-means version count (with less there is nothing to delete, and the
normalisation would divide by almost nothing). A method without group values deletes whole
items, most positive total first. The random baseline averages random orders
(:func:`random_deletion`). Deleting means filling in the category mean, the baseline of
``gxa-centered``, ``ig``, ``occlusion`` and ``shapley-sampled``; ``gxa`` and ``smoothgrad``
compare with zero features instead, so they may call a group harmful that is still better than
its category mean, and this metric counts that against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..attribution import Attribution, OutfitInput
from .scores import mean

RANDOM_ORDERS = 8  # random deletion orders per outfit
CURVE_POINTS = 21  # deletion curves are averaged on this grid of fractions deleted


def deletion_order(att: Attribution) -> np.ndarray:
    """Flat (item * n_groups + group) indices, most positive first (stable for ties); a method
    without group values deletes whole items, most positive total first."""
    g = len(att.groups)
    if att.by_group:
        return np.argsort(-np.nan_to_num(att.values, nan=0.0).reshape(-1), kind="stable")
    by_item = np.argsort(-np.nan_to_num(att.item_totals, nan=0.0), kind="stable")
    return np.array([int(i) * g + k for i in by_item for k in range(g)])


def deletion_curves(inp: OutfitInput, orders: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``(len(orders), n * G + 1)``: the outfit, then after each pair of each order is set
    to its item's category mean (all orders end at the same all-means outfit)."""
    n, g = inp.n, len(inp.groups)
    m = n * g
    deleted = torch.zeros(len(orders), m + 1, m, dtype=torch.bool)
    for k, order in enumerate(orders):
        for step, p in enumerate(order, start=1):
            deleted[k, step:, int(p)] = True
    x = inp.with_baseline(deleted.reshape(-1, n, g))  # (orders * (m + 1), n, D)
    return inp.logits_chunked(x).double().cpu().numpy().reshape(len(orders), m + 1)


def normalised(z: np.ndarray) -> tuple[float, np.ndarray]:
    """Area under the normalised curve over the fraction deleted, and the curve on the grid."""
    f = (z - z[-1]) / (z[0] - z[-1])
    frac = np.linspace(0.0, 1.0, len(z))
    return float(np.trapezoid(f, frac)), np.interp(np.linspace(0, 1, CURVE_POINTS), frac, f)


def _summary(aucs: Sequence[float], curves: Sequence[np.ndarray]) -> dict:
    return {"deletion_auc": mean(aucs),
            "deletion_curve": np.mean(curves, axis=0).tolist() if curves else None}


@dataclass(frozen=True)
class RandomDeletion:
    """The random orders' deletion on the good outfits: ``usable`` are the indices of the
    outfits that count (logit at least ``margin`` above the all-means outfit), ``aucs`` and
    ``curves`` their areas and curves, each averaged over :data:`RANDOM_ORDERS` orders."""

    usable: list[int]
    aucs: list[float]
    curves: list[np.ndarray]

    def summary(self) -> dict:
        """``deletion_auc`` and ``deletion_curve`` of the random row."""
        return _summary(self.aucs, self.curves)


def random_deletion(inputs: Sequence[OutfitInput], n_groups: int, rng: np.random.Generator,
                    margin: float) -> RandomDeletion:
    """Delete the pairs of each good outfit in :data:`RANDOM_ORDERS` random orders (drawn from
    ``rng``); this also says which outfits have enough to delete."""
    random_orders = [[rng.permutation(inp.n * n_groups) for _ in range(RANDOM_ORDERS)]
                     for inp in inputs]
    random_curves = [deletion_curves(inp, orders)
                     for inp, orders in zip(inputs, random_orders, strict=True)]
    usable = [k for k, z in enumerate(random_curves) if z[0, 0] - z[0, -1] >= margin]
    aucs, curves = [], []
    for k in usable:
        parts = [normalised(z) for z in random_curves[k]]
        aucs.append(float(np.mean([a for a, _ in parts])))
        curves.append(np.mean([c for _, c in parts], axis=0))
    return RandomDeletion(usable, aucs, curves)


def deletion_scores(inputs: Sequence[OutfitInput], atts: Sequence[Attribution | None],
                    usable: Sequence[int]) -> dict:
    """One method's ``deletion_auc`` and mean ``deletion_curve`` over the ``usable`` good
    outfits, from its attributions of ``inputs`` (None: refused)."""
    aucs, curves = [], []
    for k, (inp, att) in enumerate(zip(inputs, atts, strict=True)):
        if att is None or k not in usable:
            continue
        a, curve = normalised(deletion_curves(inp, [deletion_order(att)])[0])
        aucs.append(a)
        curves.append(curve)
    return _summary(aucs, curves)

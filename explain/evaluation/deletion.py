"""Deletion and insertion curves over (item, group) pairs (Samek et al., arXiv 1509.06321; the
deletion and insertion metrics of Petsiuk et al., arXiv 1806.07421).

On the good outfits, the (item, group) pairs are set to the item's category mean one at a time
in the method's order, most positive (most helpful) first, and the logit is read after each step.
A method that knows what holds the score up makes it fall fast. Each curve is normalised to run
from 1 (the outfit) to 0 (every pair at its category mean, the same end for every order) over
the fraction of pairs deleted, and ``deletion_auc`` is the mean area under it: LOWER IS BETTER,
and it may fall below 0 (taking the helpful pairs away first leaves the harmful ones, which drag
the logit below the all-means outfit) or rise above 1. Insertion runs the other way: from the
all-means outfit, the pairs get their own values back in the same order, and the curve is
normalised to run from 0 (all means) to 1 (the outfit): ``insertion_auc``, HIGHER IS BETTER.
Only outfits whose logit is at least ``margin`` above their all-means version count (with less
there is nothing to delete, and the normalisation would divide by almost nothing). A method
without group values deletes whole items, most positive total first.

Two baselines, each over :data:`RANDOM_ORDERS` orders per outfit (:func:`random_deletion`):
random orders of the pairs, and whole items in a random order (all the groups of one item, then
the next: what an explainer that can only name items achieves by guessing). Deleting means
filling in the category mean, the baseline of ``gxa-centered``, ``ig``, ``occlusion`` and
``shapley-sampled``; ``gxa`` and ``smoothgrad`` compare with zero features instead, so they may
call a group harmful that is still better than its category mean, and this metric counts that
against them. How a method compares with the baselines, with its spread: :mod:`.margins`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..attribution import Attribution, OutfitInput
from .margins import against, spread
from .scores import mean

RANDOM_ORDERS = 8  # random deletion orders per outfit (each baseline)
CURVE_POINTS = 21  # deletion curves are averaged on this grid of fractions deleted
BASELINES = ("random", "random_items")  # random pairs, whole items at random


def deletion_order(att: Attribution) -> np.ndarray:
    """Flat (item * n_groups + group) indices, most positive first (stable for ties); a method
    without group values deletes whole items, most positive total first."""
    g = len(att.groups)
    if att.by_group:
        return np.argsort(-np.nan_to_num(att.values, nan=0.0).reshape(-1), kind="stable")
    by_item = np.argsort(-np.nan_to_num(att.item_totals, nan=0.0), kind="stable")
    return np.array([int(i) * g + k for i in by_item for k in range(g)])


def item_order(n: int, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """Whole items in a random order: flat pair indices, every group of one item together."""
    return np.array([int(i) * n_groups + k for i in rng.permutation(n) for k in range(n_groups)])


def deletion_curves(inp: OutfitInput, orders: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``(len(orders), n * G + 1)``: the outfit, then after each pair of each order is set
    to its item's category mean (all orders end at the same all-means outfit)."""
    return _curves(inp, orders, insert=False)


def insertion_curves(inp: OutfitInput, orders: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``(len(orders), n * G + 1)``: the all-means outfit, then after each pair of each
    order gets its own value back (all orders end at the outfit)."""
    return _curves(inp, orders, insert=True)


def _curves(inp: OutfitInput, orders: Sequence[np.ndarray], insert: bool) -> np.ndarray:
    n, g = inp.n, len(inp.groups)
    m = n * g
    done = torch.zeros(len(orders), m + 1, m, dtype=torch.bool)
    for k, order in enumerate(orders):
        for step, p in enumerate(order, start=1):
            done[k, step:, int(p)] = True
    off = ~done if insert else done
    x = inp.with_baseline(off.reshape(-1, n, g))  # (orders * (m + 1), n, D)
    return inp.logits_chunked(x).double().cpu().numpy().reshape(len(orders), m + 1)


def normalised(z: np.ndarray) -> tuple[float, np.ndarray]:
    """Area under the normalised curve over the fraction deleted (or inserted), and the curve
    on the grid: deletion from 1 to 0, insertion from 0 to 1 (``z[0]`` maps to 1 when it is
    the larger end)."""
    f = (z - z[-1]) / (z[0] - z[-1]) if z[0] > z[-1] else (z - z[0]) / (z[-1] - z[0])
    frac = np.linspace(0.0, 1.0, len(z))
    return float(np.trapezoid(f, frac)), np.interp(np.linspace(0, 1, CURVE_POINTS), frac, f)


@dataclass(frozen=True)
class Curves:
    """One order kind's areas ``(outfits, orders)`` and mean curves, deletion and insertion."""

    deletion: np.ndarray
    insertion: np.ndarray
    deletion_curves: list[np.ndarray]
    insertion_curves: list[np.ndarray]

    def summary(self, rows: Sequence[int] | None = None) -> dict:
        """Mean areas (over outfits and orders), their spread over orders (``*_std``: the
        standard deviation of the per-order means over outfits) and the mean curves."""
        rows = list(range(len(self.deletion))) if rows is None else list(rows)
        out = {}
        for kind in ("deletion", "insertion"):
            a = getattr(self, kind)[rows]
            out[f"{kind}_auc"] = float(a.mean()) if a.size else None
            out[f"{kind}_auc_std"] = spread(a)
            curves = [getattr(self, f"{kind}_curves")[k] for k in rows]
            out[f"{kind}_curve"] = np.mean(curves, axis=0).tolist() if curves else None
        return out


def _measured(inp: OutfitInput, orders: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Per order: deletion area, insertion area; and the mean deletion and insertion curves."""
    dele = [normalised(z) for z in deletion_curves(inp, orders)]
    ins = [normalised(z) for z in insertion_curves(inp, orders)]
    return (np.array([a for a, _ in dele]), np.array([a for a, _ in ins]),
            np.mean([c for _, c in dele], axis=0), np.mean([c for _, c in ins], axis=0))


def _curves_of(inputs: Sequence[OutfitInput], orders: Sequence[Sequence[np.ndarray]]) -> Curves:
    parts = [_measured(inp, o) for inp, o in zip(inputs, orders, strict=True)]
    empty = np.zeros((0, RANDOM_ORDERS))
    return Curves(np.array([p[0] for p in parts]) if parts else empty,
                  np.array([p[1] for p in parts]) if parts else empty,
                  [p[2] for p in parts], [p[3] for p in parts])


@dataclass(frozen=True)
class RandomDeletion:
    """The random orders' deletion and insertion on the good outfits: ``usable`` are the indices
    of the outfits that count (logit at least ``margin`` above the all-means outfit); ``pairs``
    and ``items`` the two baselines' :class:`Curves` on them (:data:`RANDOM_ORDERS` each)."""

    usable: list[int]
    pairs: Curves
    items: Curves

    @property
    def aucs(self) -> list[float]:
        """Each usable outfit's deletion area, averaged over the random pair orders."""
        return self.pairs.deletion.mean(1).tolist() if len(self.usable) else []

    def summary(self) -> dict:
        """The random row: random pair orders' areas, spreads and curves, and under
        ``random_items`` whole items deleted at random."""
        return {**self.pairs.summary(), "random_items": self.items.summary()}


def random_deletion(inputs: Sequence[OutfitInput], n_groups: int, rng: np.random.Generator,
                    margin: float, item_rng: np.random.Generator | None = None) -> RandomDeletion:
    """Delete (and insert) the pairs of each good outfit in :data:`RANDOM_ORDERS` random orders
    (drawn from ``rng``) and whole items in as many random orders (drawn from ``item_rng``, kept
    apart so that ``rng`` draws what it drew before whole items were compared; default seed 0);
    this also says which outfits have enough to delete."""
    random_orders = [[rng.permutation(inp.n * n_groups) for _ in range(RANDOM_ORDERS)]
                     for inp in inputs]
    ends = [deletion_curves(inp, orders[:1])[0] for inp, orders in zip(inputs, random_orders,
                                                                      strict=True)]
    usable = [k for k, z in enumerate(ends) if z[0] - z[-1] >= margin]
    item_rng = item_rng or np.random.default_rng(0)
    item_orders = [[item_order(inputs[k].n, n_groups, item_rng) for _ in range(RANDOM_ORDERS)]
                   for k in usable]
    return RandomDeletion(usable, _curves_of([inputs[k] for k in usable],
                                             [random_orders[k] for k in usable]),
                          _curves_of([inputs[k] for k in usable], item_orders))


def deletion_scores(inputs: Sequence[OutfitInput], atts: Sequence[Attribution | None],
                    random: RandomDeletion, seed: int = 0) -> dict:
    """One method's ``deletion_auc``/``insertion_auc`` and mean curves over the usable good
    outfits, from its attributions of ``inputs`` (None: refused), and under ``faithfulness``
    how much better than each baseline it does on the same outfits (:func:`.margins.against`)."""
    rows, dele, ins, dcurves, icurves = [], [], [], [], []
    for r, k in enumerate(random.usable):
        if atts[k] is None:
            continue
        d, i, dc, ic = _measured(inputs[k], [deletion_order(atts[k])])
        rows.append(r)
        dele.append(float(d[0]))
        ins.append(float(i[0]))
        dcurves.append(dc)
        icurves.append(ic)
    out = {"deletion_auc": mean(dele),
           "deletion_curve": np.mean(dcurves, axis=0).tolist() if dcurves else None,
           "insertion_auc": mean(ins),
           "insertion_curve": np.mean(icurves, axis=0).tolist() if icurves else None}
    faith = {}
    for kind, own, lower in (("deletion", dele, True), ("insertion", ins, False)):
        faith[kind] = {"auc": mean(own), "outfits": len(own)}
        for name, base in zip(BASELINES, (random.pairs, random.items), strict=True):
            faith[kind][f"vs_{name}"] = against(np.array(own), getattr(base, kind)[rows],
                                                lower_is_better=lower, seed=seed)
    out["faithfulness"] = faith
    return out

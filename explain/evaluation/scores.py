"""How an explanation is scored against a known answer, shared by every check.

An attribution ranks its entries most negative first (what lowers the score most). Ties are
broken at random, in expectation, so that a method that gives every entry the same value scores
what a random ranking scores and no more (:func:`rank_of`, :func:`top_hit`);
:func:`random_baseline` is that random ranking's exact expectation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..attribution import Attribution
from ..text import named_first


def rank_of(values: np.ndarray, target: int) -> tuple[float, float]:
    """Top-1 hit (0..1) and reciprocal rank of ``values[target]`` when ``values`` are ranked
    most negative first; ties broken uniformly at random, in expectation (a target tied with
    two others at the top scores 1/3, not 1)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1), nan=0.0)
    t = v[target]
    tie = np.isclose(v, t, rtol=1e-9, atol=1e-12)
    ahead = int(((v < t) & ~tie).sum())
    tied = int(tie.sum())
    top1 = 1.0 / tied if ahead == 0 else 0.0
    rr = float(np.mean(1.0 / np.arange(ahead + 1, ahead + tied + 1)))
    return top1, rr


def top_hit(values: np.ndarray, targets: Sequence[int] | frozenset[int]) -> float:
    """Expected top-1 hit of ``values`` ranked most negative first, ties broken at random, when
    any of ``targets`` (flat indices) is right: the share of the entries tied first that are
    targets (:func:`rank_of` for one target)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1), nan=0.0)
    first = np.isclose(v, v.min(), rtol=1e-9, atol=1e-12)
    hits = np.zeros(len(v), dtype=bool)
    hits[list(targets)] = True
    return float((first & hits).sum() / first.sum())


def _rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (scipy's ``rankdata``, without scipy)."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two attributions. Identical ones (a grader whose
    re-initialisation changed nothing) correlate 1; where one is constant and the other not,
    0 (the ranking is gone)."""
    a = np.nan_to_num(np.asarray(a, dtype=np.float64).reshape(-1), nan=0.0)
    b = np.nan_to_num(np.asarray(b, dtype=np.float64).reshape(-1), nan=0.0)
    if np.allclose(a, b, rtol=1e-6, atol=1e-9):
        return 1.0
    ra, rb = _rankdata(a), _rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def _harmonic(m: int) -> float:
    return float(np.sum(1.0 / np.arange(1, m + 1)))


def random_baseline(sizes: Sequence[int], n_groups: int) -> dict[str, float | None]:
    """Exact expected replace-and-detect scores of a uniformly random ranking over outfits of
    ``sizes`` items: top-1 of the item ``1/n``, of the pair ``1/(n G)``, reciprocal rank of
    the pair ``H(nG)/(nG)`` and of the item ``H(n)/n`` (``H`` the harmonic number), averaged."""
    if not len(sizes):
        return {"top1_item": None, "top1_item_group": None, "mrr": None, "mrr_item": None}
    n = np.asarray(sizes, dtype=np.int64)
    return {"top1_item": float(np.mean(1.0 / n)),
            "top1_item_group": float(np.mean(1.0 / (n * n_groups))),
            "mrr": float(np.mean([_harmonic(int(k) * n_groups) / (k * n_groups) for k in n])),
            "mrr_item": float(np.mean([_harmonic(int(k)) / k for k in n]))}


def in_first_sentence(att: Attribution, index: int, group: int | None = None) -> bool:
    """Whether the first sentence of :func:`~explain.text.reasons` names item ``index`` (and,
    given ``group``, that group of it: a clash in another group, or a whole-item one, does
    not count for a group)."""
    return any(i == index and (group is None or g == group) for i, g in named_first(att))


def mean(xs: Sequence[float]) -> float | None:
    """The mean of ``xs``; None (undefined, not 0) when there are none."""
    return float(np.mean(xs)) if len(xs) else None

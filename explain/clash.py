"""Two items that pull an outfit's score down together: a clash.

Many reasons an outfit fails are pairs: two bold patterns, a red top with an orange skirt,
a formal shoe with a casual tee. An attribution then splits the blame between the two, and
which of them "is" the problem is not in the outfit (the same outfit comes from putting either
on last). Naming one of them alone would be a guess; a person is better told that these two
clash and that changing either should help.

:func:`find_clash` looks at the most harmful (item, group) pair of an attribution and the
other item most harmful in the same group (in whole items for a method without groups), and
calls them a clash when both hold:

- shared blame: the partner's value is at least :data:`SHARED_BLAME` of the first's;
- an interaction, checked with the grader on one batch of four outfits: setting the group of
  the first item, of the partner, or of both to its category mean raises the logit by
  ``gain_1``, ``gain_2``, ``gain_both``; either alone must help (both gains positive) and
  together they must help less than the sum of the two by at least :data:`SUB_ADDITIVE` of
  the larger one. Two independently bad items add up (``gain_both = gain_1 + gain_2``) and are
  not a clash; in a clash, fixing one already removes much of what fixing both would.

The thresholds were chosen on the validation split of a 4,000-outfit synthetic world, whose
rules say which bad outfits hold a clash of two items (``outfit evaluate-explainer`` reports
how often a clash is named and how often it is one of the rules' pairs).

A method that measures the items' pair interactions (``shapley-pairs``,
:mod:`explain.methods.pairs`) needs no rule of thumb: :func:`pair_clash` reads the clash off
its pair terms, the most negative pair when it is below ``-PAIR_CLASH`` logit points and both
its items are harmful (negative totals). ``attribute`` uses it for such a method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Clash", "find_clash", "pair_clash", "SHARED_BLAME", "SUB_ADDITIVE", "PAIR_CLASH"]

SHARED_BLAME = 0.5
SUB_ADDITIVE = 0.25
PAIR_CLASH = 0.5


@dataclass(frozen=True)
class Clash:
    """Items ``first`` (the most harmful) and ``second`` (indices into the outfit) clash in
    feature group ``group`` (its index; None: whole items); ``values`` are their attributions
    and ``gains`` the logit points gained by setting the first's, the second's, and both
    groups to the category mean; ``pair`` their pair interaction, where the clash was read off
    a method's pair terms (:func:`pair_clash`)."""

    first: int
    second: int
    group: int | None
    values: tuple[float, float]
    gains: tuple[float, float, float]
    pair: float | None = None

    @property
    def items(self) -> tuple[int, int]:
        return self.first, self.second

    def to_dict(self) -> dict:
        return {"items": [self.first, self.second], "group": self.group,
                "values": [round(v, 6) for v in self.values],
                "gains": [round(v, 6) for v in self.gains],
                "pair": None if self.pair is None else round(self.pair, 6)}


def find_clash(inp, values: np.ndarray, item_totals: np.ndarray) -> Clash | None:
    """The clash behind the most harmful pair of an attribution of ``inp`` (an
    :class:`~explain.attribution.OutfitInput`), or None. ``values (n, G)`` (NaN for a method
    without groups) and ``item_totals (n,)`` are the attribution's."""
    n = inp.n
    if n < 2:
        return None
    by_group = not np.isnan(values).all()
    table = np.nan_to_num(values, nan=np.inf) if by_group else np.asarray(item_totals)[:, None]
    first, g = divmod(int(np.argmin(table)), table.shape[1])
    v1 = float(table[first, g])
    if not v1 < 0:
        return None
    column = table[:, g].copy()
    column[first] = np.inf
    second = int(np.argmin(column))
    v2 = float(column[second])
    if not v2 <= SHARED_BLAME * v1:
        return None
    g1, g2, g12 = _gains(inp, first, second, g if by_group else slice(None))
    if not (g1 > 0 and g2 > 0 and g1 + g2 - g12 >= SUB_ADDITIVE * max(g1, g2)):
        return None
    return Clash(first, second, g if by_group else None, (v1, v2), (g1, g2, g12))


def _gains(inp, first: int, second: int, groups) -> tuple[float, float, float]:
    """Logit points gained by setting ``groups`` (an index, or every group) of ``first``, of
    ``second`` and of both to the category mean: one batch of four outfits."""
    off = torch.zeros(4, inp.n, len(inp.groups), dtype=torch.bool)
    off[1, first, groups] = off[2, second, groups] = True
    off[3, [first, second], groups] = True
    z = inp.logits_chunked(inp.with_baseline(off)).double().cpu().numpy()
    return float(z[1] - z[0]), float(z[2] - z[0]), float(z[3] - z[0])


def pair_clash(inp, pairs: np.ndarray, item_totals: np.ndarray,
               threshold: float = PAIR_CLASH) -> Clash | None:
    """The clash that a method's pair terms name, or None: the pair ``(i, j)`` with the most
    negative interaction ``pairs[i, j]``, when it is at most ``-threshold`` and both items'
    totals are negative; the more harmful of the two comes first. ``pairs (n, n)``: symmetric,
    ``item_totals (n,)``: the attribution's (``inp`` gives the clash's gains)."""
    n = len(item_totals)
    if n < 2:
        return None
    table = np.array(pairs, dtype=float)
    table[np.diag_indices(n)] = np.inf
    i, j = divmod(int(np.argmin(table)), n)
    totals = np.asarray(item_totals, dtype=float)
    if not (table[i, j] <= -threshold and totals[i] < 0 and totals[j] < 0):
        return None
    first, second = sorted((i, j), key=lambda k: (totals[k], k))
    return Clash(first, second, None, (float(totals[first]), float(totals[second])),
                 _gains(inp, first, second, slice(None)), float(table[i, j]))

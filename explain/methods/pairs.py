"""Pair attribution: ``shapley-pairs``, the items and the pairs of items of an outfit.

The players are the items, as in ``shapley-items``; a coalition's value ``v(S)`` is the logit
of the partial outfit of its items, all 2^n coalitions graded in one batch (at most eight
items). From those logits, with ``N`` the outfit's items and ``n = |N|``:

- each item's total is its Shapley value (Shapley 1953),
  ``phi_i = sum_{S in N-{i}} |S|! (n-|S|-1)! / n! * (v(S+i) - v(S))``;
- each pair's value is its pairwise Shapley interaction index (SII; Grabisch & Roubens 1999,
  "An axiomatic approach to the concept of interaction among players in cooperative games",
  Int. J. Game Theory 28),
  ``I_ij = sum_{S in N-{i,j}} |S|! (n-|S|-2)! / (n-1)! * (v(S+i+j) - v(S+i) - v(S+j) + v(S))``:
  the average extra logit the two bring together over what they bring apart. Negative: they
  clash; positive: they go together; 0 for items whose effects add up.

Both are efficient exactly in the "2-SII" decomposition (k-SII with k = 2; Bordt & von
Luxburg 2023, "From Shapley values to generalized additive models and back", AISTATS), which
we chose because its pair terms are the SII itself: each item's main effect is
``m_i = phi_i - 1/2 sum_{j != i} I_ij`` (the Bernoulli number B_1 = -1/2 times its pairs), and

    sum_i m_i + sum_{i<j} I_ij = sum_i phi_i = v(N) - v({})

so item totals, or main effects plus pairs, add up to logit(outfit) - logit(no items); an
item's total is its main effect plus half of each pair it is in. (The Shapley-Taylor index of
order 2 is efficient too, but its singletons are ``v({i}) - v({})``, the item worn alone,
and its pairs carry every effect of three or more items, so its item parts are not the
Shapley values of ``shapley-items`` and its pairs not the SII.)

The result's ``pairs (n, n)`` is the symmetric matrix of ``I_ij`` (0 on the diagonal); both sums
are one product with an ``(n, 2^n)`` and an ``(n, n, 2^n)`` weight array, made once per ``n``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..attribution import MethodResult, OutfitInput, register_method
from .shapley import coalition_logits

__all__ = ["shapley_pairs", "pair_weights", "main_effects"]


@functools.lru_cache(maxsize=16)
def pair_weights(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The weights ``(n, 2^n)`` that make the Shapley values and ``(n, n, 2^n)`` that make the
    pairwise interaction indices of the coalitions' values (coalition ``c``: the items of its
    set bits), read-only."""
    m = (np.arange(2**n)[:, None] >> np.arange(n)[None]) & 1  # (2^n, n)
    size = m.sum(1)
    fact = [math.factorial(k) for k in range(n + 1)]
    # Shapley: +w(|T|-1) where i is in T (T = S+i), -w(|T|) where it is not (T = S)
    w = np.array([fact[s] * fact[n - s - 1] / fact[n] for s in range(n)] + [0.0])
    item = np.where(m.T == 1, w[np.maximum(size - 1, 0)][None], -w[size][None])
    # pairs: S = T minus i and j; the sign is + for S+i+j and S, - for S+i and S+j
    wp = np.zeros(n + 1)
    wp[:max(n - 1, 0)] = [fact[s] * fact[n - s - 2] / fact[n - 1] for s in range(n - 1)]
    mi, mj = m.T[:, None, :], m.T[None, :, :]
    s = np.clip(size[None, None] - mi - mj, 0, n)
    pair = np.where((mi + mj) % 2 == 0, 1.0, -1.0) * wp[s]
    pair[np.arange(n), np.arange(n)] = 0.0
    item.setflags(write=False)
    pair.setflags(write=False)
    return item, pair


def main_effects(item_totals: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The 2-SII main effects: each item's total less half of each pair it is in."""
    return np.asarray(item_totals) - 0.5 * np.asarray(pairs).sum(1)


@register_method("shapley-pairs")
def shapley_pairs(inp: OutfitInput, chunk: int = 4096) -> MethodResult:
    """Shapley values of the items and pairwise Shapley interaction indices of their pairs."""
    _, v = coalition_logits(inp, chunk=chunk)
    item_w, pair_w = pair_weights(inp.n)
    phi = item_w @ v
    pairs = pair_w @ v
    pairs = 0.5 * (pairs + pairs.T)  # symmetric to the last bit
    explained = float(v[-1] - v[0])
    error = float(main_effects(phi, pairs).sum() + np.triu(pairs, 1).sum()) - explained
    return MethodResult(None, torch.from_numpy(phi), "item absent (its slot empty)",
                        float(v[0]), error, pairs=torch.from_numpy(pairs))

"""Shapley values.

``shapley-items``: exact Shapley values of the items, the players, for outfits of up to eight
items. A coalition's value is the logit of the partial outfit of its items (the grader scores
partial outfits: an empty slot is its learned empty vector), all 2^n coalitions graded in one
batch. Efficiency holds exactly: the values sum to logit(outfit) - logit(no items).

``shapley-sampled``: Shapley values of (item, feature group) pairs estimated from ``samples``
random orders of the pairs (each with its reverse, antithetic sampling): along each order the
pairs switch one at a time from the item's category mean to its own features, and each pair is
credited with the change in logit it causes. The values of every order sum to
logit(outfit) - logit(all category means), so efficiency holds exactly for the estimate too.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from outfit.errors import OutfitError

from ..attribution import MethodResult, OutfitInput, register_method

MAX_ITEMS = 8


def coalition_logits(inp: OutfitInput, chunk: int = 4096) -> tuple[torch.Tensor, np.ndarray]:
    """The logits ``v (2^n,)`` of every partial outfit, graded in one batch (``chunk`` at a
    time): ``v[c]`` is the outfit of the items whose bits are set in ``c`` (item ``i`` is bit
    ``i``), and the coalitions ``mask (2^n, n)``."""
    n = inp.n
    if n > MAX_ITEMS:
        raise OutfitError(f"exact Shapley values over items take at most {MAX_ITEMS} items, "
                          f"this outfit has {n}", hint="use --method shapley-sampled")
    codes = torch.arange(2**n)
    mask = ((codes[:, None] >> torch.arange(n)[None]) & 1).bool()  # (2^n, n)
    x = inp.feats[None].expand(2**n, -1, -1)
    v = inp.logits_chunked(x, chunk=chunk, mask=mask.to(inp.feats.device)).double().cpu().numpy()
    if not np.isfinite(v).all():
        raise OutfitError("this grader cannot score every partial outfit (an empty one gives "
                          "no number)", hint="use --method shapley-sampled or occlusion")
    return mask, v


@register_method("shapley-items")
def shapley_items(inp: OutfitInput) -> MethodResult:
    n = inp.n
    mask, v = coalition_logits(inp)
    size = mask.sum(1).numpy()
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
                       if s < n else 0.0 for s in range(n + 1)])
    phi = np.zeros(n)
    for i in range(n):
        without = np.flatnonzero(((np.arange(2**n) >> i) & 1) == 0)
        phi[i] = float((weight[size[without]] * (v[without | (1 << i)] - v[without])).sum())
    error = float(phi.sum() - (v[-1] - v[0]))
    return MethodResult(None, torch.from_numpy(phi), "item absent (its slot empty)",
                        float(v[0]), error)


@register_method("shapley-sampled")
def shapley_sampled(inp: OutfitInput, samples: int = 32, seed: int = 0,
                    chunk: int = 4096) -> MethodResult:
    n, g = inp.n, len(inp.groups)
    players = n * g
    rng = np.random.default_rng(int(seed))
    half = max(1, int(samples) // 2)
    # players numbered by item id, so that the same seed draws the same orders whatever
    # order the items were listed in
    canon = sorted(range(n), key=lambda i: inp.items[i].id)
    player = np.array([canon[c // g] * g + c % g for c in range(players)])
    orders = [player[rng.permutation(players)] for _ in range(half)]
    orders += [o[::-1] for o in orders]  # antithetic: each order and its reverse
    # states[k, j]: order k after its first j players switched on, as a (n, g) on/off grid
    on = np.zeros((len(orders), players + 1, players), dtype=bool)
    for k, order in enumerate(orders):
        for j in range(1, players + 1):
            on[k, j] = on[k, j - 1]
            on[k, j, order[j - 1]] = True
    x = inp.with_baseline(torch.from_numpy(~on.reshape(-1, n, g)))  # (S, n, D)
    v = inp.logits_chunked(x, chunk=chunk).double().reshape(len(orders), players + 1)
    gains = (v[:, 1:] - v[:, :-1]).cpu().numpy()
    phi = np.zeros(players)
    for k, order in enumerate(orders):
        phi[order] += gains[k]
    phi /= len(orders)
    values = torch.from_numpy(phi.reshape(n, g))
    explained = float(v[0, -1] - v[0, 0])
    return MethodResult(values, values.sum(1), "category mean, (item, group) pairs switched on "
                        "in random order", float(v[0, 0]), float(phi.sum()) - explained,
                        {"samples": len(orders), "seed": int(seed)})

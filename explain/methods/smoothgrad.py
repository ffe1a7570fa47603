"""SmoothGrad (Smilkov et al. 2017) on gradient x activation: the gradient averaged over
``samples`` copies of the outfit with Gaussian noise of ``noise`` times each feature's spread
added, times the features, summed per group. Deterministic for a ``seed``."""

from __future__ import annotations

import torch

from ..attribution import MethodResult, OutfitInput, register_method


@register_method("smoothgrad")
def smoothgrad(inp: OutfitInput, samples: int = 32, noise: float = 0.1, seed: int = 0,
               chunk: int = 256) -> MethodResult:
    gen = torch.Generator().manual_seed(int(seed))
    eps = torch.randn((int(samples), *inp.feats.shape), generator=gen).to(inp.feats)
    # each item draws its noise by its rank among the item ids: the same noise for the same
    # item whatever order the items were listed in
    rank = sorted(range(inp.n), key=lambda i: inp.items[i].id)
    eps = eps[:, torch.tensor(sorted(range(inp.n), key=rank.__getitem__))]
    noisy = inp.feats[None] + float(noise) * inp.std * eps
    _, grads = inp.gradient(noisy, chunk=max(1, int(chunk)))
    values = inp.group_sum(grads.mean(0) * inp.feats)
    return MethodResult(values, values.sum(1), "zero features, gradient smoothed by noise",
                        options={"samples": int(samples), "noise": float(noise),
                                 "seed": int(seed)})

"""Occlusion: each (item, group) in turn replaced by the item's category mean for that group;
its value is how much the logit falls. Every occluded copy is graded in one batch."""

from __future__ import annotations

import torch

from ..attribution import MethodResult, OutfitInput, register_method


@register_method("occlusion")
def occlusion(inp: OutfitInput, chunk: int = 4096) -> MethodResult:
    masks = inp.group_masks().to(inp.feats.device)  # (G, D)
    n, g = inp.n, len(masks)
    x = inp.feats[None, None].expand(n, g, n, -1).clone()  # (item, group, n, D)
    for i in range(n):
        x[i, :, i] = torch.where(masks, inp.baseline[i][None], inp.feats[i][None])
    occluded = inp.logits_chunked(x.reshape(n * g, n, -1), chunk=chunk).reshape(n, g)
    with torch.no_grad():
        full = inp.logits(inp.feats[None])[0]
    values = full - occluded
    return MethodResult(values, values.sum(1), "category mean, one group at a time")

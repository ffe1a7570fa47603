"""``ig``: integrated gradients (Sundararajan et al., arXiv 1703.01365) from a blank photo
(every pixel the preprocessing's pad colour, white: the empty product shot) along the straight
path, a quadrature of ``steps`` points by ``rule`` (see :mod:`explain.methods.ig`), ``chunk``
images per CNN pass. Each map sums to logit(photo) - logit(blank photo) up to the reported
``completeness_error``. It costs ``steps`` CNN passes per item, so the default is small."""

from __future__ import annotations

import torch

from ..methods.ig import path_points
from ..pixel_input import PixelInput, PixelResult, register_pixel_method

__all__ = ["integrated_gradients"]


@register_pixel_method("ig")
def integrated_gradients(inp: PixelInput, steps: int = 16, rule: str = "gausslegendre",
                         chunk: int = 64) -> PixelResult:
    alphas, weights = path_points(int(steps), rule)
    a = torch.as_tensor(alphas, dtype=torch.float32, device=inp.photos.device)
    w = torch.as_tensor(weights, dtype=torch.float32, device=inp.photos.device)
    delta = inp.photos - inp.blank[None]  # (n, 3, S, S)
    pairs = torch.cartesian_prod(torch.arange(inp.n), torch.arange(len(a))).to(a.device)
    avg = torch.zeros_like(inp.photos)
    for s in range(0, len(pairs), max(1, int(chunk))):
        item, step = pairs[s:s + max(1, int(chunk))].unbind(1)
        points = inp.blank[None] + a[step, None, None, None] * delta[item]
        _, g = inp.gradients(item, points)
        avg.index_add_(0, item, w[step, None, None, None] * g)
    with torch.no_grad():
        end = inp.logits(inp.which, inp.rows(inp.which, inp.photos))
        blank = inp.blank.expand(inp.n, -1, -1, -1)
        ref = inp.logits(inp.which, inp.rows(inp.which, blank))
    return PixelResult((avg * delta).sum(1), reference_logits=ref, end_logits=end,
                       options={"steps": int(steps), "rule": rule})

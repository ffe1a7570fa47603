"""Integrated gradients (Sundararajan et al. 2017) from each item's category mean: the features'
difference from the baseline times the gradient averaged along the straight path between them,
summed per group. The path integral is a Gauss-Legendre quadrature of ``steps`` points (or a
Riemann sum), evaluated ``chunk`` outfits per forward pass. Completeness: the attributions sum to
logit(outfit) - logit(baseline outfit), up to the quadrature error reported."""

from __future__ import annotations

import numpy as np
import torch

from outfit.errors import OutfitError

from ..attribution import MethodResult, OutfitInput, register_method

RULES = ("gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left", "riemann_right")


def path_points(steps: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions in [0, 1] along the path and their quadrature weights (summing to 1)."""
    if steps < 1:
        raise OutfitError(f"integrated gradients needs at least 1 step, got {steps}")
    if rule == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(steps)
        return 0.5 * (x + 1), 0.5 * w
    if rule == "riemann_trapezoid":
        if steps < 2:
            raise OutfitError("the trapezoid rule needs at least 2 steps")
        a = np.linspace(0, 1, steps)
        w = np.full(steps, 1 / (steps - 1))
        w[[0, -1]] /= 2
        return a, w
    offsets = {"riemann_middle": 0.5, "riemann_left": 0.0, "riemann_right": 1.0}
    if rule not in offsets:
        raise OutfitError(f"unknown integration rule {rule!r}", hint="one of: " + ", ".join(RULES))
    return (np.arange(steps) + offsets[rule]) / steps, np.full(steps, 1 / steps)


@register_method("ig")
def integrated_gradients(inp: OutfitInput, steps: int = 32, chunk: int = 256,
                         rule: str = "gausslegendre") -> MethodResult:
    alphas, weights = path_points(int(steps), rule)
    a = torch.as_tensor(alphas, dtype=inp.feats.dtype, device=inp.feats.device)
    w = torch.as_tensor(weights, dtype=inp.feats.dtype, device=inp.feats.device)
    delta = inp.feats - inp.baseline
    path = inp.baseline[None] + a[:, None, None] * delta[None]  # (steps, n, D)
    _, grads = inp.gradient(path, chunk=max(1, int(chunk)))
    avg = (w[:, None, None] * grads).sum(0)
    values = inp.group_sum(delta * avg)
    with torch.no_grad():
        ends = inp.logits(torch.stack([inp.feats, inp.baseline]))
    explained = float(ends[0] - ends[1])
    return MethodResult(values, values.sum(1), "category mean", float(ends[1]),
                        float(values.sum()) - explained,
                        {"steps": int(steps), "rule": rule, "chunk": int(chunk)})

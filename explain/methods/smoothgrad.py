"""SmoothGrad (Smilkov et al. 2017) on gradient x activation: the gradient averaged over
``samples`` copies of the outfit with Gaussian noise of ``noise`` times each feature's spread
added, times the features, summed per group. Deterministic for a ``seed``. It is
:func:`explain.noise.noise_averaged` around ``gxa``; the wrapper composes with any method."""

from __future__ import annotations

from ..attribution import MethodResult, OutfitInput, register_method
from ..noise import noise_averaged
from .gxa import gradient_x_activation

_SMOOTHED_GXA = noise_averaged(gradient_x_activation)


@register_method("smoothgrad")
def smoothgrad(inp: OutfitInput, samples: int = 32, noise: float = 0.1, seed: int = 0,
               chunk: int = 256) -> MethodResult:
    """``chunk`` is accepted as before and unused: the noisy copies are graded together."""
    result = _SMOOTHED_GXA(inp, samples=samples, noise=noise, seed=seed)
    result.baseline = "zero features, gradient smoothed by noise"
    return result

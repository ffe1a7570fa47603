"""Noise averaging (SmoothGrad, Smilkov et al., arXiv 1706.03825) around any attribution method.

    from explain.noise import noise_averaged
    smooth_ig = noise_averaged(get_method("ig"), samples=16, noise=0.2)     # an item method
    att = attribute(outfit, model, smooth_ig)
    smooth_sal = noise_averaged(get_pixel_method("saliency"))               # a pixel method
    pm = pixel_maps(outfit.items, model, smooth_sal)

``noise_averaged(method)`` is a method of the same kind that explains the model averaged over
``samples`` copies of its input, each with Gaussian noise of ``noise`` times the input's unit
added: each feature's spread for an item method (:class:`~explain.attribution.OutfitInput`),
the range of a pixel value, 1, for a pixel method (:class:`~explain.pixel_input.PixelInput`).
The method itself is unchanged: it is handed an input whose grader is the noisy one. For
gradient x activation this is SmoothGrad (the gradient averaged over noisy copies, times the
features): ``smoothgrad`` (:mod:`explain.methods.smoothgrad`) is this wrapper around ``gxa``.
An item method sees the average of the noisy logits (one graded batch); a pixel method is run
once per noisy copy and its maps averaged (Grad-CAM's activations differ from copy to copy).

Deterministic for a ``seed``: each item draws its noise by its rank among the item ids, so an
item gets the same noise whatever order the items were listed in. The input types provide
``items``, ``noise_shape`` (one copy's shape, items first), ``noise_unit`` and
``average_over(method, shifts, **options)``; the result's ``options`` say the noise used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from outfit.domain import Item

__all__ = ["noise_averaged", "noise_draws"]


def noise_draws(items: Sequence[Item], shape: Sequence[int], samples: int, seed: int
                ) -> torch.Tensor:
    """Standard normal draws ``(samples, *shape)`` (``shape[0]`` the items), item ``i``'s by its
    rank among the items' ids: the same for the same item whatever order they come in."""
    gen = torch.Generator().manual_seed(int(seed))
    eps = torch.randn((int(samples), *shape), generator=gen)
    rank = sorted(range(len(items)), key=lambda i: items[i].id)
    return eps[:, torch.tensor(sorted(range(len(items)), key=rank.__getitem__))]


def noise_averaged(method: Callable[..., Any], *, samples: int = 32, noise: float = 0.1,
                   seed: int = 0) -> Callable[..., Any]:
    """``method`` averaged over ``samples`` noisy copies of its input (see the module); the
    returned method takes ``samples``, ``noise`` and ``seed`` as options too (these are their
    defaults), and passes every other option to ``method``."""

    @functools.wraps(method)
    def averaged(inp: Any, *, samples: int = samples, noise: float = noise, seed: int = seed,
                 **options: Any) -> Any:
        eps = noise_draws(inp.items, inp.noise_shape, samples, seed)
        shifts = float(noise) * inp.noise_unit * eps.to(inp.feats)
        result = inp.average_over(method, shifts, **options)
        result.options.update(samples=int(samples), noise=float(noise), seed=int(seed))
        return result

    averaged.__name__ = f"noise-averaged {getattr(method, '__name__', 'method')}"
    return averaged

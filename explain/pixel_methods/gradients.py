"""The one-gradient pixel methods.

- ``saliency``: the gradient of the logit with respect to the input pixels (Simonyan et al.,
  arXiv 1312.6034), summed over the colour channels with its sign.
- ``gradxinput``: the gradient times the photo's difference from a blank photo (Shrikumar et
  al., arXiv 1605.01713, measured from the same baseline as ``ig``): the first-order share of
  each pixel in logit(photo) - logit(blank).
"""

from __future__ import annotations

from ..pixel_input import PixelInput, PixelResult, register_pixel_method

__all__ = ["saliency", "gradient_x_input"]


@register_pixel_method("saliency")
def saliency(inp: PixelInput) -> PixelResult:
    _, g = inp.gradients(inp.which, inp.photos)
    return PixelResult(g.sum(1))


@register_pixel_method("gradxinput")
def gradient_x_input(inp: PixelInput) -> PixelResult:
    _, g = inp.gradients(inp.which, inp.photos)
    return PixelResult((g * (inp.photos - inp.blank[None])).sum(1))

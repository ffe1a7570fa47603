"""Gradient x activation (Tangseng & Okatani, arXiv 1901.04870): the influence of an item's
feature group is the gradient of the outfit's logit with respect to its features times the
features, summed over the group's dimensions. ``gxa-centered`` multiplies the gradient by the
features' difference from the item's category mean instead, so a group that is typical of its
kind gets no credit for merely being non-zero."""

from __future__ import annotations

from ..attribution import MethodResult, OutfitInput, register_method


@register_method("gxa")
def gradient_x_activation(inp: OutfitInput) -> MethodResult:
    _, grad = inp.gradient(inp.feats[None])
    values = inp.group_sum(grad[0] * inp.feats)
    return MethodResult(values, values.sum(1), "zero features (the paper's gradient x input)")


@register_method("gxa-centered")
def centered_gradient_x_activation(inp: OutfitInput) -> MethodResult:
    _, grad = inp.gradient(inp.feats[None])
    values = inp.group_sum(grad[0] * (inp.feats - inp.baseline))
    return MethodResult(values, values.sum(1), "category mean (first-order)")

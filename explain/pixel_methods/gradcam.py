"""``gradcam``: Grad-CAM (Selvaraju et al., arXiv 1610.02391) at the last convolution of the
item-feature CNN's trunk: the channel weights are the spatially averaged gradients of the
outfit's logit, the map is sum_k w_k A_k upsampled to the photo, *without* the paper's ReLU
(``relu=True`` restores it: only what raises the score is kept). It never shows colour: the
colour group does not pass through the CNN."""

from __future__ import annotations

import weakref

import torch
from torch import nn

from grader.api import GraderModel
from outfit.errors import OutfitError

from ..pixel_input import PixelInput, PixelResult, eval_mode, register_pixel_method

__all__ = ["gradcam", "gradcam_layer"]

_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d)
_LAYER_CACHE: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()


def _tensor_shape(out: object) -> torch.Size | None:
    return out.shape if isinstance(out, torch.Tensor) else None


def gradcam_layer(model: GraderModel) -> str:
    """The name (in ``model.feature_net.trunk.named_modules()``) of the module whose output
    Grad-CAM reads: the last one, in the order a forward pass runs them, whose output has the
    shape of the trunk's last convolution's output and that is not a pooling layer, i.e. the
    last convolution after its normalisation and activation (``small``: the last ReLU, before
    the final max-pool; ResNets: ``layer4``; MobileNet: ``features``). Found once per trunk by
    a forward pass with temporary hooks (all removed before it returns)."""
    trunk = model.feature_net.trunk
    if trunk in _LAYER_CACHE:
        return _LAYER_CACHE[trunk]
    fired: list[tuple[str, nn.Module, torch.Size | None]] = []
    handles = []
    size = model.prep.image_size
    try:
        for name, module in trunk.named_modules():
            if name:
                handles.append(module.register_forward_hook(
                    lambda m, _i, out, name=name: fired.append((name, m, _tensor_shape(out)))))
        with torch.no_grad(), eval_mode(model):
            trunk(torch.zeros(1, 3, size, size, device=model.device))
    finally:
        for h in handles:
            h.remove()
    convs = [k for k, (_, m, _) in enumerate(fired) if isinstance(m, nn.Conv2d)]
    if not convs:
        raise OutfitError(f"the {model.feature_net.backbone_name!r} trunk has no convolution "
                          "for Grad-CAM", hint="use method='saliency' or 'ig'")
    shape = fired[convs[-1]][2]
    name = [n for n, m, s in fired[convs[-1]:] if s == shape and not isinstance(m, _POOLS)][-1]
    _LAYER_CACHE[trunk] = name
    return name


@register_pixel_method("gradcam")
def gradcam(inp: PixelInput, layer: str | None = None) -> PixelResult:
    """Grad-CAM at trunk module ``layer`` (default :func:`gradcam_layer`)."""
    layer = gradcam_layer(inp.model) if layer is None else layer
    modules = dict(inp.model.feature_net.trunk.named_modules())
    if not layer or layer not in modules:
        raise OutfitError(f"the trunk has no module {layer!r} for Grad-CAM",
                          hint=f"leave layer unset (default {gradcam_layer(inp.model)!r}) or "
                               "name one of model.feature_net.trunk.named_modules()")
    captured: list[torch.Tensor] = []
    handle = modules[layer].register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        z = inp.logits(inp.which, inp.rows(inp.which, inp.photos))
    finally:
        handle.remove()
    if not captured or not isinstance(captured[-1], torch.Tensor) or captured[-1].ndim != 4:
        raise OutfitError(f"trunk module {layer!r} gives no (B, C, H, W) activations to Grad-CAM",
                          hint="name a convolutional layer, or leave layer unset")
    acts = captured[-1]  # (n, C, h, w); a module run twice (ResNet's ReLU) keeps its last output
    (grads,) = torch.autograd.grad(z.sum(), acts)
    cam = (grads.mean((2, 3), keepdim=True) * acts).sum(1).detach()
    return PixelResult(cam, per_pixel=False, options={"layer": layer})

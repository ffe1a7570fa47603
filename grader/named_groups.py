"""Reading a photo through its named groups: item features built from tags, not pixels.

A grader trained on the synthetic world's drawings learnt the rules (colour harmony, one bold
pattern, a complete outfit...) from features its own CNN computes on drawings. A person's photos
are unlike those drawings, and the CNN reads them badly (a shirt read as an overcoat), so the
grader grades real outfits near chance. What it learnt is still right, and it is said in named
groups: colour, shape, pattern. So a model trained on a world whose items carry those
attributes keeps, for each value, the *typical* value of its groups over its training items
(:class:`NamedGroups`: the mean colour group of its navy items, the mean pattern group of its
striped items, the mean shape and style groups of its chinos); an item of a person's closet is
then read from its tags (category, colour and pattern: those of the shipped real-photo tagger,
or the person's corrections) as the sum of those typical groups. The grader sees a real navy
striped shirt exactly where it saw navy striped shirts in training.

A tag the model has no value for (a category it never saw, an item not yet tagged) leaves that
group as the pixels give it. Style, which has no name, is the typical style of the category.

Categories of the product's vocabulary (:data:`data.folder.CATEGORY_WORDS`) are mapped onto the
synthetic world's fine categories by :data:`CATEGORY_STYLES`: the same garment, and where the
category says nothing of formality or season, the kind's smart, all-season style, which breaks
no formality or season rule. Blue jeans are denim, a neutral (:func:`data.synth.attributes.rule_color`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from data.synth.attributes import rule_color
from outfit.domain import Item

from .features import FeatureLayout

__all__ = ["NamedGroups", "CATEGORY_STYLES", "READS", "named_groups_from"]

READS: tuple[str, ...] = ("pixels", "tags")
"""How a model reads a closet's photos: through its CNN, or through the photos' tags."""

# product category -> the synthetic world's fine category (style) that stands for it
CATEGORY_STYLES: dict[str, str] = {
    "t-shirt": "crew tee", "long-sleeve top": "long-sleeve tee", "top": "crew tee",
    "tank top": "crew tee", "camisole": "crew tee", "bodysuit": "crew tee", "tunic": "crew tee",
    "shirt": "oxford shirt", "blouse": "oxford shirt", "polo": "short-sleeve shirt",
    "sweater": "v-neck sweater", "turtleneck": "v-neck sweater", "sweatshirt": "crew sweater",
    "hoodie": "crew sweater",
    "outerwear": "trench coat", "coat": "trench coat", "jacket": "bomber jacket",
    "blazer": "blazer", "cardigan": "blazer", "vest": "blazer",
    "pants": "chinos", "jeans": "straight jeans", "leggings": "chinos", "shorts": "shorts",
    "skirt": "pleated skirt",
    "dress": "wrap dress", "jumpsuit": "jumpsuit", "suit": "jumpsuit",
    "shoes": "loafers", "sneakers": "sneakers", "boots": "chelsea boots", "heels": "pumps",
    "sandals": "sandals", "flats": "loafers", "slippers": "sandals",
    "hat": "fedora", "cap": "fedora", "bag": "handbag", "backpack": "tote bag",
    "scarf": "silk scarf", "sunglasses": "aviators", "belt": "belt", "accessory": "belt",
    "gloves": "belt", "socks": "belt", "tie": "belt",
    "necklace": "pendant necklace", "jewellery": "pendant necklace",
    "bracelet": "pendant necklace", "earrings": "pendant necklace", "ring": "pendant necklace",
    "watch": "pendant necklace",
}
# Trousers in denim are jeans.
_DENIM_STYLES = {"chinos": "straight jeans"}


def _mean_by(values: Sequence[str | None], rows: torch.Tensor) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for v in sorted({v for v in values if v}):
        pick = torch.tensor([k for k, x in enumerate(values) if x == v])
        out[v] = rows[pick].mean(0).tolist()
    return out


@dataclass(frozen=True)
class NamedGroups:
    """Typical group values of a model's training items, per attribute value.

    ``color`` and ``pattern``: value -> that group's mean; ``shape`` and ``style``: fine
    category -> mean of that group; ``semantic``: semantic category -> mean shape and style
    (for a category the model has no fine category for)."""

    color: Mapping[str, list[float]]
    pattern: Mapping[str, list[float]]
    shape: Mapping[str, list[float]]
    style: Mapping[str, list[float]]
    semantic: Mapping[str, dict[str, list[float]]]

    def to_dict(self) -> dict[str, Any]:
        return {"color": dict(self.color), "pattern": dict(self.pattern),
                "shape": dict(self.shape), "style": dict(self.style),
                "semantic": dict(self.semantic)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NamedGroups:
        return cls(d["color"], d["pattern"], d["shape"], d["style"], d["semantic"])

    def style_for(self, item: Item) -> str | None:
        """The fine category of the model's vocabulary that ``item`` is read as, or None."""
        category = item.category.strip().lower()
        style = category if category in self.shape else CATEGORY_STYLES.get(category)
        if style in _DENIM_STYLES and self._color_of(item) == "denim":
            style = _DENIM_STYLES[style]
        return style if style in self.shape else None

    def _color_of(self, item: Item) -> str | None:
        color = item.attributes.get("color")
        if not color:
            return None
        return rule_color(item.category, str(color).strip().lower())

    def read(self, items: Sequence[Item], pixels: torch.Tensor,
             layout: FeatureLayout) -> torch.Tensor:
        """Features of ``items`` from their tags, ``(N, layout.dim)``; ``pixels`` (the same
        items' features from their photos) fill every group a tag does not give."""
        out = pixels.clone()
        for k, it in enumerate(items):
            style = self.style_for(it)
            sem = self.semantic.get(it.semantic_category)
            for group in ("shape", "style"):
                value = (getattr(self, group)[style] if style is not None
                         else sem[group] if sem is not None else None)
                if value is not None and group in layout.names:
                    out[k, layout.slice(group)] = torch.tensor(value, dtype=out.dtype)
            color = self._color_of(it)
            if color in self.color:
                out[k, layout.slice("color")] = torch.tensor(self.color[color], dtype=out.dtype)
            pattern = str(it.attributes.get("pattern") or "").strip().lower()
            if pattern in self.pattern:
                out[k, layout.slice("pattern")] = torch.tensor(self.pattern[pattern],
                                                               dtype=out.dtype)
        return out


def named_groups_from(items: Sequence[Item], feats: torch.Tensor,
                      layout: FeatureLayout) -> NamedGroups | None:
    """The typical groups of training ``items`` (features ``feats``, one row each), or None
    when the items carry no colour and pattern attributes (a dataset without them, such as
    Polyvore: the model can then only read pixels)."""
    colors = [str(it.attributes.get("color") or "").lower() or None for it in items]
    patterns = [str(it.attributes.get("pattern") or "").lower() or None for it in items]
    if not any(colors) or not any(patterns):
        return None
    feats = feats.float()
    color = _mean_by(colors, feats[:, layout.slice("color")])
    pattern = _mean_by(patterns, feats[:, layout.slice("pattern")])
    cats = [it.category for it in items]
    shape = _mean_by(cats, feats[:, layout.slice("shape")])
    style = _mean_by(cats, feats[:, layout.slice("style")])
    sems = [it.semantic_category for it in items]
    sem_shape = _mean_by(sems, feats[:, layout.slice("shape")])
    sem_style = _mean_by(sems, feats[:, layout.slice("style")])
    semantic = {s: {"shape": sem_shape[s], "style": sem_style[s]} for s in sem_shape}
    return NamedGroups(color, pattern, shape, style, semantic)

"""The garment kinds of the synthetic world and what each can plausibly be.

A *kind* is a fine-grained category (``sneakers``) with its Polyvore semantic category. Each
kind comes in *styles* (a beanie or a sun hat, a crew or a V-neck sweater); a style fixes the
item's formality and season and is drawn with its own silhouette, so that formality and season
can be seen in the photo and a grader can learn them from pixels. Colours and patterns are
limited per kind (jeans are denim-ish and plain; sandals are never checked).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

from .attributes import ALL_SEASON, COLORS, NEUTRALS, PATTERNS, SOLID

__all__ = ["Style", "Kind", "KINDS", "KIND_BY_NAME", "STYLE_CATEGORY_IDS", "sample_attributes"]

_ALL_PATTERNS = PATTERNS
_PLAIN = (SOLID,)
_NO_DENIM = tuple(c for c in COLORS if c != "denim")


@dataclass(frozen=True)
class Style:
    """One look of a kind: its name, formality, season and the colours/patterns it comes in."""

    name: str
    formality: str
    season: str
    colors: tuple[str, ...] = ()  # empty: the kind's colours
    patterns: tuple[str, ...] = ()  # empty: the kind's patterns


@dataclass(frozen=True)
class Kind:
    """A fine-grained category: ``category_id`` is its row in ``categories.csv``."""

    name: str
    semantic_category: str
    category_id: str
    styles: tuple[Style, ...]
    colors: tuple[str, ...] = _NO_DENIM
    patterns: tuple[str, ...] = _ALL_PATTERNS

    def colors_of(self, style: Style) -> tuple[str, ...]:
        return style.colors or self.colors

    def patterns_of(self, style: Style) -> tuple[str, ...]:
        return style.patterns or self.patterns


def _k(name: str, semantic: str, styles: list[Style], **kw) -> Kind:
    return Kind(name, semantic, "", tuple(styles), **kw)


S = Style
_KINDS = [
    _k("tee", "tops", [S("crew tee", "casual", "summer"),
                       S("long-sleeve tee", "casual", ALL_SEASON)]),
    _k("shirt", "tops", [S("oxford shirt", "smart", ALL_SEASON),
                         S("dress shirt with tie", "formal", ALL_SEASON,
                           patterns=(SOLID, "stripes", "checks")),
                         S("short-sleeve shirt", "casual", "summer")],
       colors=tuple(COLORS)),
    _k("sweater", "tops", [S("crew sweater", "casual", "winter"),
                           S("v-neck sweater", "smart", "winter")],
       patterns=(SOLID, "stripes", "checks", "dots")),
    _k("blazer", "outerwear", [S("blazer", "smart", ALL_SEASON),
                               S("double-breasted blazer", "formal", ALL_SEASON,
                                 patterns=(SOLID, "stripes"))],
       patterns=(SOLID, "stripes", "checks")),
    _k("jacket", "outerwear", [S("bomber jacket", "casual", ALL_SEASON),
                               S("puffer jacket", "casual", "winter",
                                 patterns=(SOLID, "checks", "print"))],
       colors=tuple(COLORS), patterns=(SOLID, "stripes", "checks", "print")),
    _k("coat", "outerwear", [S("overcoat", "formal", "winter", patterns=(SOLID, "checks")),
                             S("parka", "casual", "winter", patterns=(SOLID, "print")),
                             S("trench coat", "smart", ALL_SEASON, patterns=(SOLID, "checks"))],
       patterns=(SOLID, "checks", "print")),
    _k("dress", "all-body", [S("sundress", "casual", "summer"),
                             S("sheath dress", "formal", ALL_SEASON,
                               patterns=(SOLID, "dots", "print")),
                             S("wrap dress", "smart", ALL_SEASON),
                             S("knit dress", "casual", "winter",
                               patterns=(SOLID, "stripes", "checks"))]),
    _k("jumpsuit", "all-body", [S("jumpsuit", "smart", ALL_SEASON),
                                S("romper", "casual", "summer")],
       colors=tuple(COLORS)),
    _k("skirt", "bottoms", [S("mini skirt", "casual", "summer"),
                            S("pencil skirt", "formal", ALL_SEASON,
                              patterns=(SOLID, "stripes", "checks")),
                            S("pleated skirt", "smart", ALL_SEASON)],
       colors=tuple(COLORS)),
    _k("jeans", "bottoms", [S("straight jeans", "casual", ALL_SEASON)],
       colors=("denim", "denim", "denim", "black", "grey", "white", "navy"), patterns=_PLAIN),
    _k("trousers", "bottoms", [S("chinos", "smart", ALL_SEASON),
                               S("suit trousers", "formal", ALL_SEASON,
                                 colors=("black", "grey", "navy", "brown", "beige"))],
       patterns=(SOLID, "stripes", "checks")),
    _k("shorts", "bottoms", [S("shorts", "casual", "summer")], colors=tuple(COLORS)),
    _k("sneakers", "shoes", [S("sneakers", "casual", ALL_SEASON)], patterns=_PLAIN),
    _k("boots", "shoes", [S("chelsea boots", "smart", "winter"),
                          S("tall boots", "casual", "winter")],
       patterns=_PLAIN),
    _k("heels", "shoes", [S("pumps", "formal", ALL_SEASON), S("strappy heels", "smart", "summer")],
       patterns=(SOLID, SOLID, SOLID, "print")),
    _k("sandals", "shoes", [S("sandals", "casual", "summer")], patterns=_PLAIN),
    _k("loafers", "shoes", [S("loafers", "smart", ALL_SEASON)], patterns=_PLAIN),
    _k("bag", "bags", [S("tote bag", "casual", ALL_SEASON), S("handbag", "smart", ALL_SEASON),
                       S("clutch", "formal", ALL_SEASON, patterns=(SOLID, "print"))],
       patterns=(SOLID, "stripes", "checks", "print")),
    _k("hat", "hats", [S("sun hat", "casual", "summer", patterns=_PLAIN),
                       S("beanie", "casual", "winter", patterns=(SOLID, "stripes")),
                       S("fedora", "smart", ALL_SEASON, patterns=_PLAIN)]),
    _k("scarf", "scarves", [S("knit scarf", "casual", "winter",
                              patterns=(SOLID, "stripes", "checks")),
                            S("silk scarf", "smart", ALL_SEASON)]),
    _k("necklace", "jewellery", [S("pendant necklace", "smart", ALL_SEASON),
                                 S("bead necklace", "casual", "summer"),
                                 S("pearl necklace", "formal", ALL_SEASON,
                                   colors=("white", "white", "beige", "grey", "black", "pink"))],
       patterns=_PLAIN),
    _k("sunglasses", "sunglasses", [S("sunglasses", "casual", "summer"),
                                    S("aviators", "smart", ALL_SEASON)],
       patterns=_PLAIN),
    _k("belt", "accessories", [S("belt", "smart", ALL_SEASON)],
       colors=("black", "black", "brown", "brown", "beige", "navy", "white", "red", "green"),
       patterns=_PLAIN),
]
del S

KINDS: tuple[Kind, ...] = tuple(
    Kind(k.name, k.semantic_category, str(i), k.styles, k.colors, k.patterns)
    for i, k in enumerate(_KINDS, start=1)
)
KIND_BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
# Each style is a fine-grained category of its own, as Polyvore's are ("ankle boots",
# "cocktail dresses"): the fine category carries formality and season, as it does in real data.
STYLE_CATEGORY_IDS: dict[str, str] = {
    s.name: str(n) for n, s in enumerate((s for k in KINDS for s in k.styles), start=1)}

# A theme's hues are few (two at most) against seven neutrals: weight them up so that colour
# shows up in a good share of the items.
_HUE_WEIGHT = 2.5
_PATTERN_SHARE = 0.6  # chance that an item allowed a pattern gets one


def sample_attributes(
    kind: Kind,
    rng: random.Random,
    *,
    formalities: Collection[str] | None = None,
    seasons: Collection[str] | None = None,
    colors: Collection[str] | None = None,
    allow_pattern: bool = True,
) -> dict[str, str] | None:
    """Attributes of a fresh item of ``kind`` within the given limits, or None when none fits.

    Returns ``{"kind", "style", "color", "pattern", "formality", "season"}``.
    """
    styles = [s for s in kind.styles
              if (formalities is None or s.formality in formalities)
              and (seasons is None or s.season in seasons)
              and any(colors is None or c in colors for c in kind.colors_of(s))]
    if not styles:
        return None
    style = rng.choice(styles)
    options = [c for c in kind.colors_of(style) if colors is None or c in colors]
    weights = [1.0 if c in NEUTRALS else _HUE_WEIGHT for c in options]
    color = rng.choices(options, weights)[0]
    patterns = [p for p in kind.patterns_of(style) if p != SOLID]
    pattern = SOLID
    if allow_pattern and patterns and rng.random() < _PATTERN_SHARE:
        pattern = rng.choice(patterns)
    return {"kind": kind.name, "style": style.name, "color": color, "pattern": pattern,
            "formality": style.formality, "season": style.season}

"""Label vocabularies of the feature heads: fine categories (shape) and patterns.

Pattern labels come from an item's ``pattern`` attribute where a dataset has one (the synthetic
world), else from words in its title ("striped", "floral", "plaid"...) as Polyvore titles carry
them. An item with neither has no pattern label and does not count in the pattern loss.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from outfit.domain import Item

__all__ = ["PATTERNS", "pattern_label", "pattern_labels", "shape_vocabulary", "shape_labels",
           "UNKNOWN"]

UNKNOWN = -1
PATTERNS: tuple[str, ...] = ("solid", "stripes", "checks", "dots", "floral", "print")

_WORDS = {
    "solid": "solid", "plain": "solid",
    "stripes": "stripes", "striped": "stripes", "stripe": "stripes", "pinstripe": "stripes",
    "breton": "stripes",
    "checks": "checks", "check": "checks", "checked": "checks", "plaid": "checks",
    "gingham": "checks", "tartan": "checks", "houndstooth": "checks",
    "dots": "dots", "dot": "dots", "dotted": "dots", "polka": "dots", "polka-dot": "dots",
    "floral": "floral", "flower": "floral", "flowers": "floral", "flowered": "floral",
    "print": "print", "printed": "print", "leopard": "print", "animal-print": "print",
    "zebra": "print", "snake": "print", "snakeskin": "print", "camo": "print",
    "camouflage": "print", "paisley": "print", "graphic": "print",
}
_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)?")


def pattern_label(item: Item) -> int:
    """Index into :data:`PATTERNS`, or :data:`UNKNOWN`."""
    value = str(item.attributes.get("pattern") or "").strip().lower()
    if value in PATTERNS:
        return PATTERNS.index(value)
    if value in _WORDS:
        return PATTERNS.index(_WORDS[value])
    for token in _TOKEN.findall(item.name.lower()):
        if token in _WORDS:
            return PATTERNS.index(_WORDS[token])
    return UNKNOWN


def pattern_labels(items: Iterable[Item]) -> list[int]:
    return [pattern_label(it) for it in items]


def shape_vocabulary(items: Iterable[Item]) -> tuple[str, ...]:
    """The fine categories of ``items``, sorted: the classes of the shape head."""
    return tuple(sorted({it.category for it in items}))


def shape_labels(items: Iterable[Item], vocabulary: Sequence[str]) -> list[int]:
    index = {name: k for k, name in enumerate(vocabulary)}
    return [index.get(it.category, UNKNOWN) for it in items]


"""The attribute vocabularies of the synthetic world: colours, patterns, formality, season.

Kept apart from the drawing code so that the rules (:mod:`data.synth.rules`) and anyone reading
ground truth can use them without importing Pillow.

Colours are split the way a stylist splits them: *neutrals* go with everything; *hues* are the
colours that can clash. A clash is a pair of hues a stylist would not put in one outfit.
"""

from __future__ import annotations

# Formality and season are the domain's vocabularies (the closet and the recommender use them
# too); they are re-exported here with the rest of the world's attributes.
from outfit.vocab import ALL_SEASON, FORMALITIES, SEASONS

__all__ = [
    "COLORS",
    "NEUTRALS",
    "HUES",
    "CLASHES",
    "PATTERNS",
    "SOLID",
    "PATTERN_WORDS",
    "FORMALITIES",
    "SEASONS",
    "ALL_SEASON",
    "clash",
    "rule_color",
]

# name -> the RGB of its typical shade (each photo jitters it a little).
COLORS: dict[str, tuple[int, int, int]] = {
    "black": (32, 32, 36),
    "white": (242, 242, 238),
    "grey": (138, 140, 144),
    "navy": (30, 42, 92),
    "beige": (212, 192, 156),
    "brown": (116, 74, 44),
    "denim": (72, 104, 152),
    "red": (200, 32, 44),
    "orange": (240, 128, 28),
    "yellow": (240, 206, 40),
    "green": (36, 136, 64),
    "blue": (36, 104, 222),
    "purple": (118, 48, 152),
    "pink": (240, 132, 178),
}

NEUTRALS: frozenset[str] = frozenset({"black", "white", "grey", "navy", "beige", "brown", "denim"})
HUES: tuple[str, ...] = tuple(c for c in COLORS if c not in NEUTRALS)

# Hue pairs that clash. Everything else (and any neutral) goes together, as long as an outfit
# has at most two hues.
CLASHES: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        ("red", "orange"),
        ("red", "pink"),
        ("orange", "pink"),
        ("red", "green"),
        ("orange", "purple"),
        ("green", "purple"),
        ("yellow", "pink"),
    )
)

SOLID = "solid"
PATTERNS: tuple[str, ...] = (SOLID, "stripes", "checks", "dots", "floral", "print")
# How a pattern reads in an item's name ("navy striped shirt").
PATTERN_WORDS: dict[str, str] = {
    SOLID: "",
    "stripes": "striped",
    "checks": "checked",
    "dots": "polka-dot",
    "floral": "floral",
    "print": "animal-print",
}


def clash(a: str, b: str) -> bool:
    """Whether colours ``a`` and ``b`` clash (neutrals never do)."""
    return frozenset((a, b)) in CLASHES


# Categories whose blue is denim: a stylist counts blue jeans as a neutral, as the synthetic
# world's own jeans are ("denim"). Real photos are labelled with the 13 colour names of the
# tagger (no "denim"), so their blue trousers and shorts are read as denim.
DENIM_CATEGORIES: frozenset[str] = frozenset({"pants", "jeans", "shorts", "leggings"})


def rule_color(category: str, color: str) -> str:
    """The colour the rules see for an item of ``category`` named ``color``: blue trousers,
    jeans and shorts are ``"denim"`` (a neutral); everything else as named."""
    if color == "blue" and category.strip().lower() in DENIM_CATEGORIES:
        return "denim"
    return color

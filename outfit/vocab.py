"""The category, slot, season and formality vocabularies, and the grammar of a wearable outfit.

Semantic categories are Polyvore Outfits' (Vasileva et al., ECCV 2018). Slots follow Tangseng,
Yamaguchi & Okatani (arXiv 1804.09979): an outfit is one of four main shapes
(outer+upper+lower, upper+lower, outer+full, full), plus shoes, plus up to three accessories.
"""

from __future__ import annotations

from .errors import UnknownCategoryError, UnknownSlotError

__all__ = [
    "SEMANTIC_CATEGORIES",
    "SLOTS",
    "MAIN_SLOTS",
    "ACCESSORY",
    "MAX_ACCESSORIES",
    "MAIN_SHAPES",
    "CATEGORY_SLOT",
    "SEASONS",
    "ALL_SEASON",
    "FORMALITIES",
    "slot_of",
    "normalize_category",
    "check_slot",
]

SEMANTIC_CATEGORIES: tuple[str, ...] = (
    "tops",
    "bottoms",
    "all-body",
    "outerwear",
    "shoes",
    "bags",
    "jewellery",
    "accessories",
    "hats",
    "scarves",
    "sunglasses",
)

OUTER, UPPER, LOWER, FULL, SHOES, ACCESSORY = "outer", "upper", "lower", "full", "shoes", "accessory"
MAIN_SLOTS: tuple[str, ...] = (OUTER, UPPER, LOWER, FULL)
SLOTS: tuple[str, ...] = (*MAIN_SLOTS, SHOES, ACCESSORY)
MAX_ACCESSORIES = 3

# The four main shapes of the paper, as sets of main slots.
MAIN_SHAPES: tuple[frozenset[str], ...] = (
    frozenset({OUTER, UPPER, LOWER}),
    frozenset({UPPER, LOWER}),
    frozenset({OUTER, FULL}),
    frozenset({FULL}),
)

CATEGORY_SLOT: dict[str, str] = {
    "tops": UPPER,
    "bottoms": LOWER,
    "all-body": FULL,
    "outerwear": OUTER,
    "shoes": SHOES,
    "bags": ACCESSORY,
    "jewellery": ACCESSORY,
    "accessories": ACCESSORY,
    "hats": ACCESSORY,
    "scarves": ACCESSORY,
    "sunglasses": ACCESSORY,
}

# The season an item is worn in and how formal it is: the values of the ``season`` and
# ``formality`` attributes that the recommender's constraints read (an occasion asks for a
# formality, so the occasions are these words too).
ALL_SEASON = "all-season"
SEASONS: tuple[str, ...] = ("summer", "winter", ALL_SEASON)
FORMALITIES: tuple[str, ...] = ("casual", "smart", "formal")

# Spellings met in the wild that mean one of the semantic categories.
_ALIASES = {
    "jewelry": "jewellery",
    "top": "tops",
    "bottom": "bottoms",
    "allbody": "all-body",
    "all body": "all-body",
    "all_body": "all-body",
    "one-piece": "all-body",
    "outer": "outerwear",
    "shoe": "shoes",
    "bag": "bags",
    "hat": "hats",
    "scarf": "scarves",
    "accessory": "accessories",
}


def normalize_category(name: str) -> str:
    """The semantic category for ``name`` (case, spaces and common aliases tolerated).

    Raises :class:`UnknownCategoryError` listing the known categories.
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in CATEGORY_SLOT:
        raise UnknownCategoryError(
            f"unknown semantic category {name!r}",
            hint="use one of: " + ", ".join(SEMANTIC_CATEGORIES),
        )
    return key


def slot_of(semantic_category: str) -> str:
    """The slot an item of ``semantic_category`` fills (``tops`` -> ``upper``)."""
    return CATEGORY_SLOT[normalize_category(semantic_category)]


def check_slot(slot: str) -> str:
    if slot not in SLOTS:
        raise UnknownSlotError(f"unknown slot {slot!r}", hint="use one of: " + ", ".join(SLOTS))
    return slot

"""The domain of outfits: items, outfits, closets, the category vocabulary and the grammar of a
wearable outfit. No torch here; every other package builds on this one."""

from .domain import Closet, Item, Outfit
from .errors import (
    DataError,
    DatasetFormatError,
    DuplicateItemError,
    GrammarError,
    ImageError,
    ItemNotFoundError,
    MissingFileError,
    MissingImagesError,
    OutfitError,
    UnknownCategoryError,
    UnknownSlotError,
)
from .vocab import MAIN_SHAPES, MAIN_SLOTS, SEMANTIC_CATEGORIES, SLOTS, normalize_category, slot_of

__all__ = [
    "Item",
    "Outfit",
    "Closet",
    "SEMANTIC_CATEGORIES",
    "SLOTS",
    "MAIN_SLOTS",
    "MAIN_SHAPES",
    "normalize_category",
    "slot_of",
    "OutfitError",
    "UnknownCategoryError",
    "UnknownSlotError",
    "GrammarError",
    "DuplicateItemError",
    "ItemNotFoundError",
    "DataError",
    "DatasetFormatError",
    "MissingFileError",
    "MissingImagesError",
    "ImageError",
]

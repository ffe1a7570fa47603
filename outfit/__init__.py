"""The domain of outfits: items, outfits, closets, the category vocabulary and the grammar of a
wearable outfit, the errors every package raises, the registry and the defaults. No torch here;
every other package builds on this one."""

from . import errors
from .domain import Closet, Item, Outfit
from .errors import *  # noqa: F403  (every error of the project, listed in errors.__all__)
from .vocab import MAIN_SHAPES, MAIN_SLOTS, SEMANTIC_CATEGORIES, SLOTS, normalize_category, slot_of

__all__ = ["Item", "Outfit", "Closet", "SEMANTIC_CATEGORIES", "SLOTS", "MAIN_SLOTS", "MAIN_SHAPES",
           "normalize_category", "slot_of", *errors.__all__]

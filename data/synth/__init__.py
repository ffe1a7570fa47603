"""The synthetic fashion world: a complete dataset in the Polyvore Outfits layout, from a seed.

Rendered product photos of many garment kinds, each with a colour, a pattern, a formality and a
season; hidden rules of compatibility (:data:`RULES`, scored by :func:`truth`); good outfits
drawn from the rules; compatibility and fill-in-the-blank questions made as Polyvore makes them;
and the true reason behind every bad outfit (``ground_truth.json``). It makes the demo, the
tests and the benchmarks possible with no download, and measures the explainer.

Importing this package is light: Pillow and numpy load only when photos are drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .attributes import CLASHES, COLORS, FORMALITIES, HUES, NEUTRALS, PATTERNS, SEASONS
from .kinds import KINDS
from .rules import PROPERTIES, RULES, Rule, TruthResult, Violation, truth
from .writer import GENERATOR_VERSION, generate_world

if TYPE_CHECKING:
    from .contact import contact_sheet

__all__ = [
    "generate_world",
    "truth",
    "RULES",
    "Rule",
    "TruthResult",
    "Violation",
    "PROPERTIES",
    "KINDS",
    "COLORS",
    "NEUTRALS",
    "HUES",
    "CLASHES",
    "PATTERNS",
    "FORMALITIES",
    "SEASONS",
    "GENERATOR_VERSION",
    "contact_sheet",
]

_LAZY = {"contact_sheet": "contact"}  # Pillow only when asked for


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

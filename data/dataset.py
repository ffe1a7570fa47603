"""What every reader returns: items, outfits and the evaluation questions of one split."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from outfit.domain import Closet, Item, Outfit
from outfit.errors import ItemNotFoundError

__all__ = ["Dataset", "CompatibilityQuestion", "FITBQuestion"]


@dataclass(frozen=True)
class CompatibilityQuestion:
    """Is this set of items a good outfit? ``label`` is 1 (compatible) or 0 (not)."""

    label: int
    item_ids: tuple[str, ...]


@dataclass(frozen=True)
class FITBQuestion:
    """Fill in the blank: which of ``answer_ids`` completes ``question_ids``?

    ``answer_index`` is the position of the right answer in ``answer_ids``;
    ``blank_position`` is the dataset's own field (the index of the missing item in its outfit).
    """

    question_ids: tuple[str, ...]
    answer_ids: tuple[str, ...]
    answer_index: int
    blank_position: int | None = None
    outfit_id: str | None = None  # the set the question comes from, where the dataset says

    @property
    def answer_id(self) -> str:
        return self.answer_ids[self.answer_index]


@dataclass(frozen=True)
class Dataset:
    """One split of a dataset. ``items`` maps id -> Item and holds every item the split uses."""

    name: str
    split: str
    items: Mapping[str, Item]
    outfits: tuple[Outfit, ...]
    compatibility: tuple[CompatibilityQuestion, ...] = ()
    fitb: tuple[FITBQuestion, ...] = ()
    root: Path | None = None
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> count, when asked to skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", MappingProxyType(dict(self.items)))
        object.__setattr__(self, "outfits", tuple(self.outfits))
        object.__setattr__(self, "compatibility", tuple(self.compatibility))
        object.__setattr__(self, "fitb", tuple(self.fitb))
        object.__setattr__(self, "skipped", MappingProxyType(dict(self.skipped)))

    def item(self, item_id: str) -> Item:
        try:
            return self.items[item_id]
        except KeyError:
            raise ItemNotFoundError(f"item {item_id!r} is not in dataset {self.name}/{self.split}") from None

    def closet(self) -> Closet:
        """All the split's items as one closet."""
        return Closet(tuple(self.items.values()), name=f"{self.name}/{self.split}")

    def summary(self) -> dict[str, int]:
        return {
            "items": len(self.items),
            "outfits": len(self.outfits),
            "compatibility": len(self.compatibility),
            "fitb": len(self.fitb),
        }

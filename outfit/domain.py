"""The domain: items, outfits and closets. Frozen dataclasses, no torch.

An :class:`Outfit` holds whatever a dataset says was worn together (real Polyvore outfits break
the grammar now and then: two tops layered, two bags); :meth:`Outfit.problems` says where it
breaks the grammar and :meth:`Outfit.check` refuses it. Code that *makes* outfits (the
recommender, the builder) checks; code that *reads* them does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import DuplicateItemError, GrammarError, ItemNotFoundError, OutfitError
from .vocab import (
    ACCESSORY,
    CATEGORY_SLOT,
    FULL,
    MAIN_SHAPES,
    MAIN_SLOTS,
    MAX_ACCESSORIES,
    SHOES,
    SLOTS,
    normalize_category,
)

__all__ = ["Item", "Outfit", "Closet", "accessory_group", "ONE_OF_A_KIND"]

# Accessory kinds of which one is enough (one hat, one bag...). Jewellery may repeat, but not
# within one category: a necklace with a bracelet, never two pearl necklaces.
ONE_OF_A_KIND = frozenset({"hats", "bags", "scarves", "sunglasses", "accessories"})


def accessory_group(item: Item) -> str:
    """The group of which an outfit holds at most one accessory: the kind (``"bags"``) for
    one-of-a-kind kinds, else the item's own category (``"pearl necklace"``)."""
    if item.semantic_category in ONE_OF_A_KIND:
        return item.semantic_category
    return item.category


@dataclass(frozen=True)
class Item:
    """One garment or accessory.

    ``category`` is the fine-grained name (``"jeans"``), ``semantic_category`` one of the eleven
    Polyvore semantic categories, ``slot`` derived from it. ``attributes`` holds whatever else is
    known (colour, pattern, formality, season, title...) and is read-only.
    """

    id: str
    category: str
    semantic_category: str
    image: Path | None = None
    name: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)
    slot: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise OutfitError(f"item id must be a non-empty string, got {self.id!r}")
        semantic = normalize_category(self.semantic_category)
        slot = CATEGORY_SLOT[semantic]
        if self.slot and self.slot != slot:
            raise GrammarError(
                f"item {self.id}: slot {self.slot!r} does not match category {semantic!r}",
                hint=f"{semantic} items go in the {slot!r} slot; leave slot empty to derive it",
            )
        object.__setattr__(self, "semantic_category", semantic)
        object.__setattr__(self, "slot", slot)
        object.__setattr__(self, "category", str(self.category).strip() or semantic)
        if self.image is not None and not isinstance(self.image, Path):
            object.__setattr__(self, "image", Path(self.image))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    @property
    def label(self) -> str:
        """A short human name: the given name, else the fine category and id."""
        return self.name or f"{self.category} {self.id}"


@dataclass(frozen=True)
class Outfit:
    """Items worn together, in the order given. ``id`` is the dataset's set id, if any."""

    items: tuple[Item, ...]
    id: str | None = None

    def __post_init__(self) -> None:
        items = tuple(self.items)
        seen = Counter(it.id for it in items)
        dup = [i for i, n in seen.items() if n > 1]
        if dup:
            raise DuplicateItemError(f"outfit {self.id or ''} lists item(s) twice: {', '.join(dup)}")
        object.__setattr__(self, "items", items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __contains__(self, item: object) -> bool:
        key = item.id if isinstance(item, Item) else item
        return any(it.id == key for it in self.items)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(it.id for it in self.items)

    @property
    def key(self) -> frozenset[str]:
        """The outfit as a set of ids: permutations of the same items share one key."""
        return frozenset(self.item_ids)

    def slot_counts(self) -> Counter[str]:
        return Counter(it.slot for it in self.items)

    def problems(self) -> list[str]:
        """Every way this outfit breaks the grammar of a wearable outfit (empty when wearable)."""
        counts = self.slot_counts()
        out = [f"{counts[s]} items in the {s!r} slot (at most one)" for s in (*MAIN_SLOTS, SHOES)
               if counts[s] > 1]
        main = {s for s in MAIN_SLOTS if counts[s]}
        if not any(main <= shape for shape in MAIN_SHAPES):
            out.append("a one-piece (full) cannot be worn with a separate top or bottom")
        if counts[ACCESSORY] > MAX_ACCESSORIES:
            out.append(f"{counts[ACCESSORY]} accessories (at most {MAX_ACCESSORIES})")
        groups = Counter(accessory_group(it) for it in self.items if it.slot == ACCESSORY)
        out += [f"{n} {g} (at most one)" for g, n in groups.items() if n > 1]
        return out

    @property
    def wearable(self) -> bool:
        """True when this is a wearable outfit or part of one."""
        return not self.problems()

    @property
    def complete(self) -> bool:
        """True when wearable with one of the four main shapes and shoes."""
        counts = self.slot_counts()
        main = frozenset(s for s in MAIN_SLOTS if counts[s])
        return self.wearable and main in MAIN_SHAPES and counts[SHOES] == 1

    def check(self) -> Outfit:
        """Return self if wearable; raise :class:`GrammarError` saying why not."""
        problems = self.problems()
        if problems:
            raise GrammarError(
                "not a wearable outfit: " + "; ".join(problems),
                hint="keep at most one item per main slot, no top or bottom with a one-piece, "
                f"and at most {MAX_ACCESSORIES} accessories",
            )
        return self

    def open_slots(self) -> tuple[str, ...]:
        """The slots that one more item could fill while the outfit stays wearable."""
        if not self.wearable:
            return ()
        counts = self.slot_counts()
        main = {s for s in MAIN_SLOTS if counts[s]}
        out = [s for s in MAIN_SLOTS
               if not counts[s] and any(main | {s} <= shape for shape in MAIN_SHAPES)]
        if not counts[SHOES]:
            out.append(SHOES)
        if counts[ACCESSORY] < MAX_ACCESSORIES:
            out.append(ACCESSORY)
        return tuple(s for s in SLOTS if s in out)

    def can_add(self, item: Item) -> bool:
        """Whether adding ``item`` keeps the outfit wearable."""
        if item in self:
            return False
        return Outfit((*self.items, item)).wearable

    def with_item(self, item: Item) -> Outfit:
        return Outfit((*self.items, item), id=None)

    def without(self, item_id: str) -> Outfit:
        if item_id not in self:
            raise ItemNotFoundError(f"item {item_id!r} is not in this outfit")
        return Outfit(tuple(it for it in self.items if it.id != item_id), id=None)

    def replace(self, old_id: str, new: Item) -> Outfit:
        """The outfit with item ``old_id`` swapped for ``new`` (same position)."""
        if old_id not in self:
            raise ItemNotFoundError(f"item {old_id!r} is not in this outfit")
        return Outfit(tuple(new if it.id == old_id else it for it in self.items), id=None)

    @property
    def is_one_piece(self) -> bool:
        return any(it.slot == FULL for it in self.items)


@dataclass(frozen=True)
class Closet:
    """A person's items (or a catalogue). Ids are unique."""

    items: tuple[Item, ...]
    name: str = "closet"

    def __post_init__(self) -> None:
        items = tuple(self.items)
        seen = Counter(it.id for it in items)
        dup = sorted(i for i, n in seen.items() if n > 1)
        if dup:
            raise DuplicateItemError(
                f"closet {self.name!r} has duplicate item id(s): {', '.join(dup[:5])}"
                + (f" and {len(dup) - 5} more" if len(dup) > 5 else "")
            )
        object.__setattr__(self, "items", items)

    @classmethod
    def of(cls, items: Iterable[Item], name: str = "closet") -> Closet:
        return cls(tuple(items), name=name)

    @cached_property
    def _index(self) -> dict[str, Item]:
        return {it.id: it for it in self.items}

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __contains__(self, item_id: object) -> bool:
        key = item_id.id if isinstance(item_id, Item) else item_id
        return key in self._index

    def get(self, item_id: str) -> Item:
        try:
            return self._index[item_id]
        except KeyError:
            raise ItemNotFoundError(
                f"item {item_id!r} is not in closet {self.name!r}",
                hint="list the closet to see the item ids",
            ) from None

    def by_slot(self) -> dict[str, tuple[Item, ...]]:
        """Items grouped by slot, every slot present (possibly empty), in vocabulary order."""
        groups: dict[str, list[Item]] = {s: [] for s in SLOTS}
        for it in self.items:
            groups[it.slot].append(it)
        return {s: tuple(v) for s, v in groups.items()}

    def in_slot(self, slot: str) -> tuple[Item, ...]:
        return tuple(it for it in self.items if it.slot == slot)

    def without(self, item_ids: Iterable[str]) -> Closet:
        """The closet minus ``item_ids`` (each must be in it)."""
        drop = set(item_ids)
        for i in drop:
            self.get(i)
        return Closet(tuple(it for it in self.items if it.id not in drop), name=self.name)

    def outfit(self, item_ids: Iterable[str], *, check: bool = True) -> Outfit:
        """The outfit made of these closet items; checked for wearability unless told not to."""
        out = Outfit(tuple(self.get(i) for i in item_ids))
        return out.check() if check else out

    def category_counts(self) -> Counter[str]:
        return Counter(it.semantic_category for it in self.items)

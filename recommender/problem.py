"""What a search may use: the closet's items by slot after pins, exclusions and constraints,
and the grammar of a complete outfit in a form the strategies can check quickly.

A complete outfit is one of the four main shapes of Tangseng et al. (outer+upper+lower,
upper+lower, outer+full, full), plus shoes, plus up to three accessories (at most one hat, bag,
scarf, pair of sunglasses or belt-like accessory; jewellery may repeat). Rows are indices into
the closet's feature table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from outfit.domain import Closet, Item, Outfit, accessory_group
from outfit.errors import GrammarError, OutfitError
from outfit.vocab import ACCESSORY, MAIN_SHAPES, MAIN_SLOTS, MAX_ACCESSORIES, SHOES

__all__ = ["Constraints", "SearchProblem", "NoOutfitError"]

# What each season or occasion accepts (an item without the attribute is always accepted).
_SEASONS = {"summer": {"summer", "all-season"}, "winter": {"winter", "all-season"},
            "all-season": {"summer", "winter", "all-season"}}
_OCCASIONS = {"casual": {"casual", "smart"}, "smart": {"smart"}, "formal": {"formal", "smart"}}


class NoOutfitError(OutfitError):
    """The closet (after pins, exclusions and constraints) cannot make a complete outfit."""


@dataclass(frozen=True)
class Constraints:
    """Season and occasion, checked against items' ``season`` and ``formality`` attributes.
    ``season``: summer, winter or all-season; ``occasion``: casual, smart or formal. Items that
    do not say are kept."""

    season: str | None = None
    occasion: str | None = None

    def __post_init__(self) -> None:
        if self.season is not None and self.season not in _SEASONS:
            raise OutfitError(f"unknown season {self.season!r}",
                              hint=f"use one of {', '.join(_SEASONS)}")
        if self.occasion is not None and self.occasion not in _OCCASIONS:
            raise OutfitError(f"unknown occasion {self.occasion!r}",
                              hint=f"use one of {', '.join(_OCCASIONS)}")

    @classmethod
    def coerce(cls, value: Constraints | Mapping[str, str | None] | None) -> Constraints:
        if value is None:
            return cls()
        if isinstance(value, Constraints):
            return value
        unknown = set(value) - {"season", "occasion"}
        if unknown:
            raise OutfitError(f"unknown constraint(s): {', '.join(sorted(unknown))}",
                              hint="constraints are season and occasion")
        return cls(**value)

    def accepts(self, item: Item) -> bool:
        for key, table, attr in (("season", _SEASONS, "season"),
                                 ("occasion", _OCCASIONS, "formality")):
            wanted = getattr(self, key)
            value = item.attributes.get(attr)
            if wanted is not None and value not in (None, "") and \
                    str(value).strip().lower() not in table[wanted]:
                return False
        return True

    def describe(self) -> str:
        parts = [f"season {self.season}" if self.season else "",
                 f"occasion {self.occasion}" if self.occasion else ""]
        return " and ".join(p for p in parts if p)


@dataclass
class SearchProblem:
    """The closet as the strategies see it.

    ``items`` are the closet's items (row ``k`` is ``items[k]``); ``candidates[slot]`` the rows
    a search may put in each slot (pinned items are the only candidates of their main slot);
    ``pinned`` rows are in every outfit.
    """

    items: tuple[Item, ...]
    candidates: dict[str, tuple[int, ...]]
    pinned: tuple[int, ...]
    group: tuple[str, ...] = field(repr=False)  # accessories: at most one per group
    slot: tuple[str, ...] = field(repr=False)

    def __post_init__(self) -> None:
        groups = {g: k for k, g in enumerate(sorted(set(self.group)))}
        self.group_code = np.array([groups[g] for g in self.group], dtype=np.int64)
        self.is_accessory = np.array([s == ACCESSORY for s in self.slot], dtype=bool)
        self.candidate_rows = {s: np.asarray(v, dtype=np.int64)
                               for s, v in self.candidates.items()}

    @classmethod
    def build(cls, closet: Closet, *, pinned: Iterable[str] = (), excluded: Iterable[str] = (),
              constraints: Constraints | Mapping[str, str | None] | None = None,
              check: bool = True) -> SearchProblem:
        """The problem for ``closet``; ``check``: refuse a closet that cannot make a complete
        outfit (:class:`NoOutfitError`, saying what it lacks)."""
        if len(closet) == 0:
            raise NoOutfitError(f"closet {closet.name!r} is empty",
                                hint="add photos of your clothes first")
        pinned, excluded = list(dict.fromkeys(pinned)), list(dict.fromkeys(excluded))
        for item_id in (*pinned, *excluded):
            closet.get(item_id)  # unknown ids: ItemNotFoundError naming the id
        both = [i for i in pinned if i in set(excluded)]
        if both:
            raise OutfitError(f"item(s) both pinned and excluded: {', '.join(both)}",
                              hint="an item cannot be in every outfit and in none")
        pinned_items = [closet.get(i) for i in pinned]
        problems = Outfit(tuple(pinned_items)).problems()
        if problems:
            raise GrammarError("the pinned items cannot be worn together: " + "; ".join(problems),
                               hint="pin at most one item per main slot and at most "
                                    f"{MAX_ACCESSORIES} accessories")
        cons = Constraints.coerce(constraints)
        items = closet.items
        row = {it.id: k for k, it in enumerate(items)} if pinned or excluded else {}
        dropped = {row[i] for i in excluded}
        pinned_rows = tuple(row[i] for i in pinned)
        dropped.update(pinned_rows)
        pinned_slots = {items[r].slot for r in pinned_rows if items[r].slot != ACCESSORY}
        constrained = bool(cons.describe())
        candidates: dict[str, list[int]] = {s: [] for s in (*MAIN_SLOTS, SHOES, ACCESSORY)}
        for k, it in enumerate(items):
            if k in dropped or it.slot in pinned_slots or (constrained and not cons.accepts(it)):
                continue
            candidates[it.slot].append(k)
        for r in pinned_rows:
            if items[r].slot != ACCESSORY:
                candidates[items[r].slot] = [r]
        problem = cls(items=items, candidates={s: tuple(v) for s, v in candidates.items()},
                      pinned=pinned_rows, group=tuple(accessory_group(it) for it in items),
                      slot=tuple(it.slot for it in items))
        if check:
            problem._check_possible(closet, cons, bool(excluded))
        return problem

    # ----------------------------------------------------------------------- the grammar
    def shapes(self) -> list[frozenset[str]]:
        """The main shapes this closet can make (with its pinned main items)."""
        pinned_main = {self.slot[r] for r in self.pinned if self.slot[r] in MAIN_SLOTS}
        return [s for s in MAIN_SHAPES
                if pinned_main <= s and all(self.candidates[x] for x in s)]

    def accessory_ok(self, rows: Iterable[int], new: int) -> bool:
        """Whether accessory row ``new`` may join the accessories among ``rows``."""
        acc = [r for r in rows if self.slot[r] == ACCESSORY]
        if new in acc or len(acc) >= MAX_ACCESSORIES:
            return False
        return all(self.group[r] != self.group[new] for r in acc)

    def outfit(self, rows: Iterable[int]) -> Outfit:
        return Outfit(tuple(self.items[r] for r in rows))

    def _check_possible(self, closet: Closet, cons: Constraints, any_excluded: bool) -> None:
        missing = []
        if not self.candidates[SHOES]:
            missing.append("shoes")
        if not self.shapes():
            have = [s for s in MAIN_SLOTS if self.candidates[s]]
            missing.append("a main piece: a top with a bottom, or a one-piece"
                           + (f" (it has only: {', '.join(have)})" if have else ""))
        if missing:
            why = [w for w, on in (("after the exclusions", any_excluded),
                                   (f"for {cons.describe()}", bool(cons.describe()))) if on]
            raise NoOutfitError(
                f"closet {closet.name!r} cannot make a complete outfit"
                + (f" {' and '.join(why)}" if why else "") + ": it lacks " + " and ".join(missing),
                hint="a complete outfit is a top and a bottom (or a one-piece), optionally a "
                     "layer over them, and shoes")

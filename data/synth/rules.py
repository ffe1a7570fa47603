"""The hidden rules of the synthetic world, and :func:`truth`, which scores any outfit by them.

Five rules a stylist would recognise:

``complete_outfit`` (property ``shape``)
    A wearable outfit of one of the four main shapes plus shoes (:attr:`outfit.domain.Outfit.complete`).
``color_harmony`` (property ``color``)
    Neutrals (black, white, grey, navy, beige, brown, denim) go with everything; at most two
    hues in one outfit, and never a clashing pair (red+orange, red+pink, orange+pink,
    red+green, orange+purple, green+purple, yellow+pink).
``one_bold_pattern`` (property ``pattern``)
    At most one item that is not solid.
``same_formality`` (property ``formality``)
    No casual item with a formal one; smart goes with both.
``same_season`` (property ``season``)
    No summer item with a winter one; all-season goes with both.

Who is to blame. A rule broken by a combination of items (a clash is a pair) has no single
culprit in itself, so :func:`truth` blames the *odd ones out*: the items in the smallest sets
whose removal makes the rule hold (casual tee, casual jeans, formal pumps: the pumps). Where
that leaves a tie (a red top with an orange skirt), every item in the tie is blamed, unless
the caller names a ``suspect`` (the generator knows which item it swapped in): then the suspect
alone is blamed when removing it is one of the smallest fixes. An item without an attribute
(a real photo with no colour tag) takes no part in the rule about that attribute, and a colour
outside the vocabulary counts as a neutral.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from types import MappingProxyType
from typing import NamedTuple

from outfit.domain import Item, Outfit

from .attributes import CLASHES, HUES, SOLID

__all__ = ["Rule", "RULES", "Violation", "TruthResult", "truth", "PROPERTIES",
           "attribute_values", "broken_attribute_rules"]

PROPERTIES: tuple[str, ...] = ("color", "pattern", "shape", "formality", "season")


@dataclass(frozen=True)
class Rule:
    """One hidden rule: ``property`` is the item property through which it is broken;
    ``weight`` is how much breaking it costs the score (score = product of ``1 - weight``)."""

    name: str
    property: str
    weight: float
    description: str


RULES: MappingProxyType[str, Rule] = MappingProxyType({r.name: r for r in (
    Rule("complete_outfit", "shape", 0.5,
         "one of the four main shapes (outer+top+bottom, top+bottom, outer+one-piece, one-piece), "
         "shoes, at most three accessories"),
    Rule("color_harmony", "color", 0.4,
         "neutrals go with everything; at most two hues and no clashing pair of hues"),
    Rule("one_bold_pattern", "pattern", 0.35, "at most one item that is not solid"),
    Rule("same_formality", "formality", 0.4, "no casual item together with a formal one"),
    Rule("same_season", "season", 0.4, "no summer item together with a winter one"),
)})


class Violation(NamedTuple):
    """``item_id`` breaks ``rule`` through ``property``; ``item_id`` is None for a missing item."""

    item_id: str | None
    rule: str
    property: str


@dataclass(frozen=True)
class TruthResult:
    """What the hidden rules say about an outfit. ``score`` is 1.0 exactly when ``ok``."""

    ok: bool
    score: float
    violations: tuple[Violation, ...]

    @property
    def broken_rules(self) -> tuple[str, ...]:
        """The names of the broken rules, in the order of :data:`RULES`."""
        broken = {v.rule for v in self.violations}
        return tuple(r for r in RULES if r in broken)

    @property
    def blamed(self) -> frozenset[str]:
        """The ids of every blamed item."""
        return frozenset(v.item_id for v in self.violations if v.item_id is not None)


def _attr(item: Item, key: str) -> str | None:
    value = item.attributes.get(key)
    return str(value).strip().lower() if value not in (None, "") else None


def _colors_hold(colors: Sequence[str]) -> bool:
    hues = {c for c in colors if c in HUES}
    if len(hues) > 2:
        return False
    return not (len(hues) == 2 and frozenset(hues) in CLASHES)


def _patterns_hold(patterns: Sequence[str]) -> bool:
    return sum(p != SOLID for p in patterns) <= 1


def _exclusive(a: str, b: str) -> Callable[[Sequence[str]], bool]:
    def holds(values: Sequence[str]) -> bool:
        return not (a in values and b in values)
    return holds


_ATTRIBUTE_RULES: tuple[tuple[str, str, Callable[[Sequence[str]], bool]], ...] = (
    ("color_harmony", "color", _colors_hold),
    ("one_bold_pattern", "pattern", _patterns_hold),
    ("same_formality", "formality", _exclusive("casual", "formal")),
    ("same_season", "season", _exclusive("summer", "winter")),
)


def attribute_values(item: Item) -> dict[str, str | None]:
    """The item's value for each property an attribute rule looks at (None when unknown)."""
    return {prop: _attr(item, prop) for _, prop, _ in _ATTRIBUTE_RULES}


def broken_attribute_rules(rows: Iterable[Mapping[str, str | None]]) -> tuple[str, ...]:
    """The attribute rules (all but ``complete_outfit``) that items with these
    :func:`attribute_values` break together: a quick screen that blames no one."""
    rows = list(rows)
    return tuple(rule for rule, prop, holds in _ATTRIBUTE_RULES
                 if not holds([v for r in rows if (v := r[prop]) is not None]))


def _odd_ones_out(keys: Sequence[str], holds: Callable[[list[int]], bool],
                  suspect: str | None) -> list[str]:
    """The items to blame when ``holds(all indices)`` is False (see the module docstring)."""
    n = len(keys)
    everyone = list(range(n))
    for size in range(1, n + 1):
        fixes = [set(drop) for drop in combinations(everyone, size)
                 if holds([i for i in everyone if i not in drop])]
        if not fixes:
            continue
        if suspect is not None:
            with_suspect = [f for f in fixes if any(keys[i] == suspect for i in f)]
            if with_suspect:
                fixes = with_suspect if size > 1 else [{keys.index(suspect)}]
        blamed = set().union(*fixes)
        return [keys[i] for i in everyone if i in blamed]
    return []


def truth(items: Iterable[Item], *, suspect: str | None = None,
          require_complete: bool = True) -> TruthResult:
    """Score ``items`` (an :class:`Outfit` or any items) by the hidden rules.

    ``suspect``: the id of an item known to have been swapped in; pairwise conflicts it takes
    part in are blamed on it alone. ``require_complete=False`` judges a partial outfit (one
    being built): it must still be wearable, but may lack a main piece or shoes.
    Returns a :class:`TruthResult`; violations are listed rule by rule, items in outfit order.
    """
    items = list(items.items if isinstance(items, Outfit) else items)
    violations: list[Violation] = []
    outfit = Outfit(tuple(items))
    if not outfit.wearable:
        ids = [it.id for it in items]
        blamed = _odd_ones_out(
            ids, lambda keep: Outfit(tuple(items[i] for i in keep)).wearable, suspect)
        violations += [Violation(i, "complete_outfit", "shape") for i in blamed]
    elif require_complete and not outfit.complete:
        violations.append(Violation(None, "complete_outfit", "shape"))
    for rule, prop, holds in _ATTRIBUTE_RULES:
        pairs = [(it.id, v) for it in items if (v := _attr(it, prop)) is not None]
        values = [v for _, v in pairs]
        if holds(values):
            continue
        ids = [i for i, _ in pairs]
        blamed = _odd_ones_out(
            ids, lambda keep, vs=values, ok=holds: ok([vs[i] for i in keep]), suspect)
        violations += [Violation(i, rule, prop) for i in blamed]
    result = TruthResult(ok=not violations, score=1.0, violations=tuple(violations))
    score = 1.0
    for name in result.broken_rules:
        score *= 1.0 - RULES[name].weight
    return TruthResult(ok=result.ok, score=score, violations=result.violations)

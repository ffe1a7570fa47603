"""Sampling the world: a closet-like catalogue of items and the good outfits made from it.

Every good outfit is drawn inside a *theme* that keeps it within the rules by construction: two
adjacent formality levels (casual+smart or smart+formal), one season with all-season, a palette
of neutrals plus at most two hues that do not clash, and at most one patterned item. Items are
reused across outfits when one in the catalogue fits the theme, as a person wears the same
jeans with many tops; otherwise a fresh item is made. Outfits made only of smart, all-season,
neutral, solid pieces go with anything, so no swap could make a negative of them: they are
drawn again. Each outfit is checked against :func:`.rules.truth` anyway, so a bug in the
sampler cannot leak a bad outfit into the positives.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from outfit.domain import Item, Outfit
from outfit.vocab import ACCESSORY, CATEGORY_SLOT, MAIN_SHAPES, SLOTS

from .attributes import CLASHES, HUES, NEUTRALS, PATTERN_WORDS, SOLID
from .kinds import KINDS, Kind, sample_attributes
from .rules import truth

__all__ = ["ItemSpec", "Catalogue", "sample_outfits", "item_name", "make_item", "ATTRIBUTE_KEYS",
           "harmonious_palette"]

ItemSpec = dict[str, str]  # kind, style, color, pattern, formality, season, semantic_category

_MAIN_CATEGORY = {"outer": "outerwear", "upper": "tops", "lower": "bottoms", "full": "all-body"}
# outer+upper+lower, upper+lower, outer+full, full (the order of MAIN_SHAPES)
_SHAPE_WEIGHTS = {frozenset({"outer", "upper", "lower"}): 0.3, frozenset({"upper", "lower"}): 0.36,
                  frozenset({"outer", "full"}): 0.12, frozenset({"full"}): 0.22}
_ACCESSORY_COUNT = ((0, 1, 2, 3), (0.2, 0.35, 0.3, 0.15))
_ACCESSORY_WEIGHT = {"bags": 0.34, "jewellery": 0.18, "hats": 0.13, "scarves": 0.12,
                     "sunglasses": 0.12, "accessories": 0.11}
_REUSE = 0.62  # chance to look in the catalogue before making a fresh item
_REUSE_TRIES = 12
_FIRST_ITEM_ID = 100_000_001
_KINDS_OF: dict[str, list[Kind]] = defaultdict(list)
for _kind in KINDS:
    _KINDS_OF[_kind.semantic_category].append(_kind)


def item_name(spec: ItemSpec) -> str:
    """``"navy striped oxford shirt"``: colour, pattern (when not solid) and style."""
    words = [spec["color"], PATTERN_WORDS[spec["pattern"]], spec["style"]]
    return " ".join(w for w in words if w)


ATTRIBUTE_KEYS = ("color", "pattern", "formality", "season", "kind", "style")


def make_item(item_id: str, spec: ItemSpec, image: Path | None = None) -> Item:
    """The domain :class:`~outfit.domain.Item` for a catalogue entry."""
    return Item(id=item_id, category=spec["style"], semantic_category=spec["semantic_category"],
                image=image, name=item_name(spec),
                attributes={k: spec[k] for k in ATTRIBUTE_KEYS})


@dataclass
class _Theme:
    formalities: frozenset[str]
    seasons: frozenset[str]
    colors: frozenset[str]
    pattern_free: bool = True  # no patterned item yet

    def fits(self, spec: ItemSpec) -> bool:
        return (spec["formality"] in self.formalities and spec["season"] in self.seasons
                and spec["color"] in self.colors and (self.pattern_free or spec["pattern"] == SOLID))


def _theme(rng: random.Random) -> _Theme:
    formal = rng.random() < 0.35
    formalities = frozenset({"smart", "formal"} if formal else {"casual", "smart"})
    seasons = frozenset({"winter" if rng.random() < 0.5 else "summer", "all-season"})
    return _Theme(formalities, seasons, harmonious_palette(rng, (0.22, 0.45, 0.33)),
                  rng.random() < 0.75)


def harmonious_palette(rng: random.Random, weights: tuple[float, float, float]
                       ) -> frozenset[str]:
    """The neutrals and 0, 1 or 2 hues (drawn with ``weights``) that do not clash."""
    n_hues = rng.choices((0, 1, 2), weights)[0]
    hues: list[str] = []
    while len(hues) < n_hues:
        options = [h for h in HUES if h not in hues and all(frozenset((h, o)) not in CLASHES
                                                              for o in hues)]
        hues.append(rng.choice(options))
    return NEUTRALS | frozenset(hues)


@dataclass
class Catalogue:
    """Every item made so far: ``specs`` maps id -> spec; ``by_category`` lists ids."""

    specs: dict[str, ItemSpec] = field(default_factory=dict)
    by_category: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, spec: ItemSpec) -> str:
        item_id = str(_FIRST_ITEM_ID + len(self.specs))
        self.specs[item_id] = spec
        self.by_category[spec["semantic_category"]].append(item_id)
        return item_id


def _pick(catalogue: Catalogue, category: str, theme: _Theme, taken: set[str],
          rng: random.Random) -> str | None:
    pool = catalogue.by_category.get(category)
    if pool and rng.random() < _REUSE:
        for _ in range(_REUSE_TRIES):
            item_id = rng.choice(pool)
            if item_id not in taken and theme.fits(catalogue.specs[item_id]):
                return item_id
    kinds = list(_KINDS_OF[category])
    rng.shuffle(kinds)
    for kind in kinds:
        attrs = sample_attributes(kind, rng, formalities=theme.formalities, seasons=theme.seasons,
                                  colors=theme.colors, allow_pattern=theme.pattern_free)
        if attrs is not None:
            return catalogue.add({**attrs, "semantic_category": category})
    return None


def _categories(rng: random.Random) -> list[str]:
    shapes = list(MAIN_SHAPES)
    shape = rng.choices(shapes, [_SHAPE_WEIGHTS[s] for s in shapes])[0]
    cats = [_MAIN_CATEGORY[s] for s in SLOTS if s in shape] + ["shoes"]
    options = dict(_ACCESSORY_WEIGHT)
    for _ in range(rng.choices(*_ACCESSORY_COUNT)[0]):
        name = rng.choices(list(options), list(options.values()))[0]
        cats.append(name)
        del options[name]
    return cats


def _slot_order(spec: ItemSpec) -> int:
    slot = CATEGORY_SLOT[spec["semantic_category"]]
    return SLOTS.index(slot) if slot != ACCESSORY else len(SLOTS)


def sample_outfits(n_outfits: int, rng: random.Random) -> tuple[Catalogue, list[list[str]]]:
    """``n_outfits`` distinct good outfits (lists of item ids, worn order: outer, top, bottom or
    one-piece, shoes, accessories) and the catalogue of their items."""
    catalogue = Catalogue()
    outfits: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    while len(outfits) < n_outfits:
        theme = _theme(rng)
        cats = _categories(rng)
        order = list(range(len(cats)))
        rng.shuffle(order)  # so the pattern and the hues land on any piece
        chosen: dict[int, str] = {}
        for i in order:
            item_id = _pick(catalogue, cats[i], theme, set(chosen.values()), rng)
            if item_id is None:
                break
            chosen[i] = item_id
            if catalogue.specs[item_id]["pattern"] != SOLID:
                theme.pattern_free = False
        if len(chosen) < len(cats):
            continue
        ids = sorted((chosen[i] for i in range(len(cats))),
                     key=lambda x: (_slot_order(catalogue.specs[x]), cats.index(
                         catalogue.specs[x]["semantic_category"])))
        key = frozenset(ids)
        if key in seen or not _breakable([catalogue.specs[i] for i in ids]):
            continue
        _check_good(catalogue, ids)
        seen.add(key)
        outfits.append(ids)
    return catalogue, outfits


def _breakable(specs: list[ItemSpec]) -> bool:
    """Whether one swapped item can break a rule here. An outfit made only of smart,
    all-season, neutral, solid items goes with anything, so it could have no negative."""
    return any(s["formality"] != "smart" or s["season"] != "all-season" or s["color"] in HUES
               or s["pattern"] != SOLID for s in specs)


def _check_good(catalogue: Catalogue, ids: list[str]) -> None:
    items = [make_item(i, catalogue.specs[i]) for i in ids]
    outfit = Outfit(tuple(items))
    result = truth(items)
    if not (outfit.complete and result.ok):  # a bug in the sampler, not bad luck
        raise AssertionError(f"sampled a bad outfit {ids}: {result.violations} {outfit.problems()}")


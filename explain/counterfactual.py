"""``property_hints``: what would fix an outfit when the closet has no fix, as a shopping hint.

    hints = property_hints(att, model, features=table)
    hints.best.sentence()   # "A navy oxford shirt instead of the red one: 31 % -> 82 %."

For the most harmful item of an attribution (and, when the attribution names a clash, each of
the two items), every editable property (colour and pattern, :data:`EDITABLE`) is set in turn
to every other value of the vocabulary, and the outfit is graded with that item changed: the
same kind of item in another colour or pattern, as a person could buy it.

The grader reads feature vectors, so a hypothetical "navy shirt" needs one: the item's colour
group is replaced by the *prototype* of navy, the typical colour group of navy items
(:class:`Prototypes`). A model trained on a world whose items carry colour and pattern tags
keeps those prototypes over its training items (:class:`grader.named_groups.NamedGroups`, the
same values a model that reads a closet through its tags builds an item from), so the hint is
what the model would score if the item were tagged navy. For a model without them (trained on
data without those tags) they are the means over the tagged items at hand (the closet's), and
without tagged items there is no hint, with the reason why (:attr:`PropertyHints.reason`).

Every candidate is graded in one batch with the outfit as it is. Hints are kept only when they
raise the calibrated score by at least :data:`MIN_SCORE_GAIN`; none kept is a clear "nothing to
change" (:meth:`PropertyHints.sentence`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from grader.api import FeatureTable, GraderModel
from outfit import defaults
from outfit.domain import Item
from outfit.errors import OutfitError
from outfit.vocab import SLOTS

from .attribution import Attribution, attribute
from .suggest import percent

__all__ = ["EDITABLE", "MIN_SCORE_GAIN", "Prototypes", "PropertyHint", "PropertyHints",
           "prototypes", "property_hints", "own_value", "changed_item", "hint_sentence"]

EDITABLE: tuple[str, ...] = ("color", "pattern")
"""Feature groups a shopping hint may change (the item attribute of the same name)."""
MIN_SCORE_GAIN = 0.02
"""A hint must raise the calibrated score by at least this much (2 points of percentage)."""

_PATTERN_WORDS = {"solid": "plain", "stripes": "striped", "checks": "checked",
                  "dots": "polka-dot", "floral": "floral", "print": "animal-print"}


@dataclass(frozen=True)
class Prototypes:
    """Per editable group, value -> that group's typical features; ``source`` says over which
    items (``"training items"`` or ``"the closet's tagged items"``)."""

    groups: Mapping[str, Mapping[str, torch.Tensor]]
    source: str

    def values(self, group: str) -> tuple[str, ...]:
        return tuple(sorted(self.groups.get(group, {})))

    def nearest(self, group: str, feats: torch.Tensor) -> str | None:
        """The value whose prototype is nearest to ``feats`` (that group's slice)."""
        protos = self.groups.get(group, {})
        if not protos:
            return None
        return min(protos, key=lambda v: float(torch.dist(protos[v], feats.float())))


def _from_model(model: GraderModel) -> Prototypes | None:
    groups = model.named_groups
    if groups is None:
        return None
    found = {g: {str(v): torch.tensor(x, dtype=torch.float32)
                 for v, x in getattr(groups, g).items()} for g in EDITABLE}
    return Prototypes(found, "training items")


def _from_items(table: FeatureTable, items: Sequence[Item], model: GraderModel) -> Prototypes:
    layout = model.layout
    found: dict[str, dict[str, torch.Tensor]] = {}
    for group in EDITABLE:
        by_value: dict[str, list[int]] = {}
        for it in items:
            value = own_value(it, group)
            if value is not None and it.id in table.index:
                by_value.setdefault(value, []).append(table.index[it.id])
        part = table.feats[:, layout.slice(group)].float()
        found[group] = {v: part[torch.tensor(rows)].mean(0) for v, rows in by_value.items()}
    return Prototypes(found, "the closet's tagged items")


def prototypes(model: GraderModel, table: FeatureTable | None = None,
               items: Sequence[Item] = ()) -> Prototypes:
    """The model's stored prototypes, else the means over the tagged ``items`` of ``table``."""
    stored = _from_model(model)
    if stored is not None:
        return stored
    if table is None:
        return Prototypes({}, "no tagged items")
    return _from_items(table, items, model)


def own_value(item: Item, group: str) -> str | None:
    """The item's tag for ``group`` (its colour as the rules see it, its pattern), or None."""
    value = item.attributes.get(group)
    if value in (None, ""):
        return None
    value = str(value).strip().lower()
    if group == "color":
        from data.synth.attributes import rule_color

        value = rule_color(item.category, value)
    return value


def changed_item(item: Item, group: str, value: str) -> Item:
    """``item`` with its ``group`` attribute set to ``value`` (a hint applied)."""
    from dataclasses import replace

    return replace(item, attributes={**item.attributes, group: value})


_SINGULAR = {"tops": "top", "bottoms": "bottom", "all-body": "one-piece", "outerwear": "coat",
             "bags": "bag", "jewellery": "piece of jewellery", "accessories": "accessory",
             "hats": "hat", "scarves": "scarf"}


def _describe(group: str, value: str) -> str:
    return _PATTERN_WORDS.get(value, value) if group == "pattern" else value


def _noun(item: Item) -> tuple[str, bool]:
    """What to call the item in a sentence ("shirt", "chinos") and whether it is plural."""
    noun = item.category.strip().lower()
    noun = _SINGULAR.get(noun, noun)
    return noun, noun.endswith("s") and not noun.endswith("ss")


def hint_sentence(item: Item, group: str, old: str | None, new: str, before: float,
                  after: float) -> str:
    """ "A navy shirt instead of the red one: 31 % -> 82 %." """
    noun, plural = _noun(item)
    what = f"{_describe(group, new)} {noun}"
    if not plural:
        what = ("an " if what[:1] in "aeiou" else "a ") + what
    one = "ones" if plural else "one"
    was = f"the {_describe(group, old)} {one}" if old else ("these" if plural else "this one")
    b, a = percent(before), percent(after)
    if a == b:
        b, a = percent(before, 1), percent(after, 1)
    return f"{what[:1].upper()}{what[1:]} instead of {was}: {b} -> {a}."


@dataclass(frozen=True)
class PropertyHint:
    """``item`` (its index ``index`` in the outfit) with its ``group`` set to ``new`` instead
    of ``old`` (its tag, or the value its features are nearest to when it has none:
    ``old_tagged`` False): the outfit's calibrated ``score``/``logit`` then, and ``before``."""

    item: Item
    index: int
    group: str
    old: str | None
    new: str
    old_tagged: bool
    score: float
    logit: float
    before: float
    before_logit: float

    @property
    def gain(self) -> float:
        return self.score - self.before

    def sentence(self) -> str:
        return hint_sentence(self.item, self.group, self.old, self.new, self.before, self.score)

    def to_dict(self) -> dict:
        return {"item": self.item.id, "label": self.item.label, "index": self.index,
                "group": self.group, "old": self.old, "old_tagged": self.old_tagged,
                "new": self.new, "before": round(self.before, 6), "score": round(self.score, 6),
                "logit": round(self.logit, 6), "gain": round(self.gain, 6),
                "sentence": self.sentence()}


@dataclass(frozen=True)
class PropertyHints:
    """The best property changes (best first), the outfit's ``score``, the items that were
    tried, where the prototypes came from, and ``reason`` when no change could be tried."""

    hints: tuple[PropertyHint, ...]
    score: float
    logit: float
    tried: tuple[Item, ...]
    source: str
    reason: str | None = None

    @property
    def best(self) -> PropertyHint | None:
        return self.hints[0] if self.hints else None

    def sentence(self) -> str:
        if self.reason is not None:
            return self.reason
        if self.best is not None:
            return self.best.sentence()
        names = " or ".join(it.label for it in self.tried)
        return (f"Nothing to change: no other colour or pattern of {names} raises the score "
                f"by {percent(MIN_SCORE_GAIN)} or more.")

    def to_dict(self) -> dict:
        return {"score": round(self.score, 6), "logit": round(self.logit, 6),
                "hints": [h.to_dict() for h in self.hints],
                "tried": [it.id for it in self.tried], "source": self.source,
                "reason": self.reason, "sentence": self.sentence()}


def _candidates(att: Attribution, feats: torch.Tensor, protos: Prototypes, model: GraderModel,
                suspects: Sequence[int]) -> tuple[list[tuple], list[torch.Tensor]]:
    """``(index, group, old, new, tagged)`` per candidate and its outfit's features."""
    layout, keys, rows = model.layout, [], []
    for who in suspects:
        item = att.items[who]
        for group in EDITABLE:
            if group not in layout.names or not protos.values(group):
                continue
            span = layout.slice(group)
            old = own_value(item, group)
            tagged = old is not None
            if not tagged:
                old = protos.nearest(group, feats[who, span])
            for new in protos.values(group):
                if new == old:
                    continue
                x = feats.clone()
                x[who, span] = protos.groups[group][new].to(x.dtype)
                keys.append((who, group, old, new, tagged))
                rows.append(x)
    return keys, rows


def property_hints(outfit: Attribution | Sequence[Item], model: GraderModel, *,
                   features: FeatureTable | None = None, closet: Sequence[Item] = (),
                   method: str = defaults.ATTRIBUTION_METHOD, k: int = 3,
                   protos: Prototypes | None = None) -> PropertyHints:
    """The ``k`` property changes of the outfit's most harmful item (and of its clash partner)
    that raise its calibrated score most, at least by :data:`MIN_SCORE_GAIN`.

    ``outfit``: an attribution (its items, most harmful item and clash), or items to attribute
    with ``method``; ``features``: a table with the items (else computed from their photos);
    ``closet``: tagged items to take prototypes from when the model keeps none."""
    if k < 1:
        raise OutfitError(f"k must be at least 1, got {k}")
    att = (outfit if isinstance(outfit, Attribution)
           else attribute(tuple(outfit), model, method, features=features))
    if features is None:
        features = model.item_table(list(att.items))
    if protos is None:
        protos = prototypes(model, features, [*closet, *att.items])
    first = att.most_harmful_item()
    suspects = [first]
    if att.clash is not None and first in att.clash.items:
        suspects += [i for i in att.clash.items if i != first]
    tried = tuple(att.items[i] for i in suspects)
    feats = features.feats[torch.tensor(features.rows(att.item_ids))].float()
    keys, rows = _candidates(att, feats, protos, model, suspects)
    if not keys:
        return PropertyHints((), att.score, att.logit, tried, protos.source, reason=(
            "No shopping hint: the model keeps no typical colours or patterns and no item at "
            "hand is tagged with one."))
    x = torch.stack([feats, *rows]).to(model.device)
    slots = torch.tensor([SLOTS.index(it.slot) for it in att.items], device=model.device)
    mask = torch.ones(x.shape[:2], dtype=torch.bool, device=model.device)
    with torch.no_grad():
        logits = model.grader.eval()(x, slots.expand(len(x), -1), mask).double().cpu().numpy()
    scores = np.asarray(model.grader.calibrated(logits), dtype=np.float64)
    order = [j for j in np.argsort(-logits[1:], kind="stable")
             if scores[1 + j] - scores[0] >= MIN_SCORE_GAIN][:k]
    hints = tuple(PropertyHint(att.items[keys[j][0]], keys[j][0], keys[j][1], keys[j][2],
                               keys[j][3], keys[j][4], float(scores[1 + j]),
                               float(logits[1 + j]), float(scores[0]), float(logits[0]))
                  for j in order)
    return PropertyHints(hints, float(scores[0]), float(logits[0]), tried, protos.source)

"""What a synthetic world's rules say about an outfit, without knowing which item was swapped in.

:func:`data.synth.rules.truth` blames both items of a clash (two bold patterns, a red top with an
orange skirt: a clash is a pair), so a verdict may blame several items; :func:`tie_blind` is the
most an explainer can score that ranks exactly the blamed items first and cannot tell them apart.

Rule properties map to feature groups as colour -> ``color``, pattern -> ``pattern``, shape,
formality and season -> ``shape`` (:data:`PROPERTY_GROUPS`): the shape head learns each item's
fine category (its ``category``, "pumps", "puffer jacket"), and in the world as in real
catalogues the fine category carries formality and season (:mod:`data.synth.kinds`). The other
way round, a corruption that replaces a feature group gives the item the donor's values of the
properties that group carries (:data:`GROUP_PROPERTIES`, :func:`corruption_verdict`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from data.dataset import Dataset
from outfit.domain import Item, Outfit

from ..attribution import Attribution
from .replace_detect import Corruption

#: Rule property (``data.synth.rules.PROPERTIES``) -> the feature group that carries it.
PROPERTY_GROUPS: Mapping[str, str] = {"color": "color", "pattern": "pattern", "shape": "shape",
                                      "formality": "shape", "season": "shape"}
#: Feature group -> the item attributes of a synthetic world it carries: a corruption that
#: replaces the group gives the item the donor's values of these (``style`` is learned by the
#: grader alone and carries no rule property).
GROUP_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "color": ("color",), "pattern": ("pattern",),
    "shape": ("kind", "style", "formality", "season"), "style": ()}


@dataclass(frozen=True)
class RuleVerdict:
    """What a synthetic world's rules say about an outfit without knowing which item was swapped
    in: ``reasons`` maps each blamed item's index to the feature groups of the properties it
    breaks (:data:`PROPERTY_GROUPS`); ``properties`` are the broken properties."""

    reasons: Mapping[int, frozenset[str]]
    properties: tuple[str, ...]

    @property
    def blamed(self) -> frozenset[int]:
        return frozenset(self.reasons)


def rule_verdict(items: Sequence[Item]) -> RuleVerdict:
    """:func:`data.synth.rules.truth` of ``items`` with no suspect: a clash of two items blames
    both. A violation that names no item (an incomplete outfit) blames nobody."""
    from data.synth.rules import truth  # the world's rules: only synthetic worlds get here

    items = tuple(items)
    ids = [it.id for it in items]
    reasons: dict[int, set[str]] = {}
    props: set[str] = set()
    for v in truth(items).violations:
        if v.item_id is None or v.property not in PROPERTY_GROUPS:
            continue
        reasons.setdefault(ids.index(v.item_id), set()).add(PROPERTY_GROUPS[v.property])
        props.add(v.property)
    return RuleVerdict({i: frozenset(g) for i, g in sorted(reasons.items())},
                       tuple(sorted(props)))


def corruption_verdict(c: Corruption, dataset: Dataset, groups: Sequence[str]) -> RuleVerdict:
    """The rules' verdict on a corrupted outfit, its corrupted item given the donor's values of
    the properties its replaced group carries (:data:`GROUP_PROPERTIES`)."""
    item, donor = c.items[c.index], dataset.item(c.donor_id)
    attrs = dict(item.attributes)
    for key in GROUP_PROPERTIES.get(groups[c.group], ()):
        if donor.attributes.get(key) is None:
            attrs.pop(key, None)
        else:
            attrs[key] = donor.attributes[key]
    return rule_verdict(c.items[:c.index] + (replace(item, attributes=attrs),)
                        + c.items[c.index + 1:])


@dataclass(frozen=True)
class RuleCase:
    """A bad outfit and the rules' verdict on it (:func:`rule_verdict`)."""

    items: tuple[Item, ...]
    verdict: RuleVerdict


def rule_cases(dataset: Dataset) -> list[RuleCase]:
    """The split's bad outfits (compatibility questions labelled 0) that can be explained (they
    keep the wearing grammar) and in which the rules blame at least one item."""
    cases = []
    for q in dataset.compatibility:
        if q.label != 0:
            continue
        items = tuple(dataset.item(i) for i in q.item_ids)
        if Outfit(items).problems():
            continue
        verdict = rule_verdict(items)
        if verdict.reasons:
            cases.append(RuleCase(items, verdict))
    return cases


def tie_blind(verdict: RuleVerdict, index: int) -> float:
    """Expected top-1 hit on item ``index`` of an explainer that ranks exactly the items the
    rules blame first without telling them apart: ``1/k`` when ``index`` is one of ``k`` blamed
    items, 0 when only others are blamed, 1 when nobody is (it could know better than the
    rules)."""
    if not verdict.blamed:
        return 1.0
    return 1.0 / len(verdict.blamed) if index in verdict.blamed else 0.0


def tied(verdict: RuleVerdict) -> bool:
    """Whether the rules blame two or more items through the same feature group."""
    seen: set[str] = set()
    for gs in verdict.reasons.values():
        if gs & seen:
            return True
        seen |= gs
    return False


def clash_check(att: Attribution, verdict: RuleVerdict) -> tuple[bool, bool]:
    """Whether the attribution names a clash, and whether the rules blame both its items
    (through its group, for a method with groups)."""
    c = att.clash
    if c is None:
        return False, False
    mine = [verdict.reasons.get(i, frozenset()) for i in c.items]
    if c.group is None:
        return True, all(mine)
    group = att.groups[c.group]
    return True, all(group in gs for gs in mine)

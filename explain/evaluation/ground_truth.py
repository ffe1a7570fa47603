"""Ground truth: synthetic worlds only, where ``ground_truth.json`` says why each bad outfit is bad.

Two readings of the world's truth, both reported:

*the swapped-in item* (``top1_item``, ``top1_group``, ``top1_reason``): the bad outfits of the
split whose recorded violations name exactly one item (:func:`ground_truth_cases`). The world
made each of them by swapping one item into a good outfit and records that item as the culprit
even where the rules alone blame two (two bold patterns, a red top with an orange skirt: a clash
is a pair, :mod:`data.synth.rules`). Is that item ranked first, and within it the group of the
violated property? Where the rules blame ``k`` items the outfit does not say which of them was
swapped in (the same outfit comes from swapping in either), so an explainer that ranks exactly
the rule-blamed items first and cannot tell them apart scores ``1/k``: ``tie_blind_top1_item``
in the report's ``rules`` section is that expectation over the cases, the most such an explainer
can reach (:func:`~explain.evaluation.rules.tie_blind`).

*the rules' reasons* (``rules``: ``top1_item``, ``top1_reason``): every bad outfit of the split
that is wearable, judged by :func:`data.synth.rules.truth` without knowing which item was swapped
in (:func:`~explain.evaluation.rules.rule_cases`). Its reasons are the (item, property) pairs the
rules blame. Is the item ranked first one the rules blame, and is the (item, group) pair ranked
first one of the reasons? This is what a person is told: "the pattern of the striped shirt
lowers the score most" is true when the shirt is one of two bold patterns, whichever came last.

What a person reads: ``first_sentence`` is whether the first sentence of
:func:`~explain.text.reasons` names the swapped-in item (and the group of its violated property);
``rules.clash_named`` is the share of bad outfits whose reasons name a clash
(:mod:`explain.clash`), ``rules.clash_true`` the share of those the rules blame both items of
(through the clash's group), and ``rules.clash_found`` the share of the rules' two-item clashes
that are named with a right partner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.dataset import Dataset
from grader.api import FeatureTable, GraderModel
from outfit.domain import Item, Outfit

from ..attribution import Attribution
from .explainer import Explainer
from .replace_detect import Corruption
from .rules import (
    PROPERTY_GROUPS,
    RuleCase,
    RuleVerdict,
    clash_check,
    corruption_verdict,
    rule_cases,
    rule_verdict,
    tie_blind,
    tied,
)
from .scores import in_first_sentence, mean, random_baseline, rank_of, top_hit


@dataclass(frozen=True)
class GroundTruthCase:
    """A bad outfit whose violations name one item: ``culprit`` (its index), the violated
    ``properties`` and the feature ``group`` they map to (None: properties of different
    groups)."""

    items: tuple[Item, ...]
    culprit: int
    properties: tuple[str, ...]
    group: str | None


def ground_truth_cases(dataset_path: Path | str, dataset: Dataset) -> list[GroundTruthCase] | None:
    """The split's bad outfits with exactly one violating item, from the world's
    ``ground_truth.json`` (:mod:`data.synth.writer`); None where the folder has none.

    Records whose line no longer matches the loaded question (a question the reader skipped)
    and outfits that break the wearing grammar (they cannot be explained) are left out."""
    path = Path(dataset_path) / "ground_truth.json"
    if not path.is_file():
        return None
    try:
        records = json.loads(path.read_text()).get("compatibility", {}).get(dataset.split)
    except (ValueError, AttributeError):
        return None
    if not isinstance(records, list):
        return None
    cases = []
    for r in records:
        try:
            violations = [(v[0], str(v[2])) for v in r["violations"]]
            line, position, swapped = int(r["line"]), int(r["position"]), str(r["item_id"])
        except (KeyError, TypeError, ValueError, IndexError):
            continue
        culprits = {i for i, _ in violations if i is not None}
        if len(culprits) != 1 or not 1 <= line <= len(dataset.compatibility):
            continue
        q = dataset.compatibility[line - 1]
        culprit = culprits.pop()
        if (q.label != 0 or not 0 <= position < len(q.item_ids)
                or q.item_ids[position] != swapped or culprit not in q.item_ids):
            continue
        items = tuple(dataset.item(i) for i in q.item_ids)
        if Outfit(items).problems():
            continue
        props = tuple(sorted({p for i, p in violations if i == culprit}))
        groups = {PROPERTY_GROUPS.get(p) for p in props}
        group = groups.pop() if len(groups) == 1 else None
        cases.append(GroundTruthCase(items, q.item_ids.index(culprit), props, group))
    return cases


@dataclass(frozen=True)
class WorldTruth:
    """What a synthetic world knows for one evaluation: the swapped-in ``cases``, the rules'
    ``verdicts`` on the corrupted outfits (in their order) and the rules' ``rules`` cases."""

    cases: list[GroundTruthCase]
    verdicts: list[RuleVerdict]
    rules: list[RuleCase]


def world_truth(dataset_path: Path | str, dataset: Dataset, corruptions: Sequence[Corruption],
                groups: Sequence[str], rng: np.random.Generator,
                max_outfits: int) -> WorldTruth | None:
    """The world's truth for ``dataset``, at most ``max_outfits`` cases of each reading drawn
    in an order from ``rng``; None for a dataset that is not a synthetic world."""
    cases = ground_truth_cases(dataset_path, dataset)
    if cases is None:
        return None
    cases = [cases[k] for k in rng.permutation(len(cases))][:max_outfits]
    verdicts = [corruption_verdict(c, dataset, groups) for c in corruptions]
    rcases = rule_cases(dataset)
    rcases = [rcases[k] for k in rng.permutation(len(rcases))][:max_outfits]
    return WorldTruth(cases, verdicts, rcases)


def _culprit_hits(att: Attribution, case: GroundTruthCase, groups: Sequence[str]
                  ) -> tuple[float, float, float | None, float, float]:
    """Top-1 hits of one case: the culprit by blame and by total, its violated group within it
    (None where unknown), the reason named first and the first sentence."""
    hit = rank_of(att.item_blame, case.culprit)[0]
    total = rank_of(att.item_totals, case.culprit)[0]
    with_group = att.by_group and case.group is not None
    group_hit = reason = None
    if with_group:
        g = groups.index(case.group)
        group_hit = rank_of(att.values[case.culprit], g)[0]
        # the reason named first: the (culprit, violated group) pair ranked first of all, or the
        # culprit where the group is unknown (properties of different groups)
        reason = rank_of(att.values, case.culprit * len(groups) + g)[0]
    said = float(in_first_sentence(att, case.culprit,
                                   groups.index(case.group) if with_group else None))
    return hit, total, group_hit, hit if reason is None else reason, said


def _culprit_scores(explain: Explainer, model: GraderModel, table: FeatureTable,
                    cases: Sequence[GroundTruthCase], groups: Sequence[str],
                    by_group: bool) -> dict:
    """The swapped-in reading of one method's ground truth."""
    s: dict[str, list[float]] = {k: [] for k in ("item", "total", "group", "reason", "said")}
    by_prop: dict[str, dict[str, list[float]]] = {}
    for case in cases:
        att = explain.of_table(case.items, model, table)
        if att is None:
            continue
        hit, total, group_hit, reason, said = _culprit_hits(att, case, groups)
        s["item"].append(hit)
        s["total"].append(total)
        s["reason"].append(reason)
        s["said"].append(said)
        if group_hit is not None:
            s["group"].append(group_hit)
        for p in case.properties:
            entry = by_prop.setdefault(p, {"item": [], "group": []})
            entry["item"].append(hit)
            if group_hit is not None and p in PROPERTY_GROUPS:
                entry["group"].append(group_hit)
    return {"top1_item": mean(s["item"]), "top1_item_total": mean(s["total"]),
            "top1_reason": mean(s["reason"]), "first_sentence": mean(s["said"]),
            "top1_group": mean(s["group"]) if by_group else None,
            "outfits": len(s["item"]), "group_outfits": len(s["group"]) if by_group else 0,
            "by_property": {p: {"outfits": len(v["item"]), "top1_item": mean(v["item"]),
                                "top1_group": mean(v["group"])
                                if by_group and p in PROPERTY_GROUPS else None}
                            for p, v in sorted(by_prop.items())}}


def _rule_scores(explain: Explainer, model: GraderModel, table: FeatureTable,
                 rcases: Sequence[RuleCase], groups: Sequence[str]) -> dict:
    """The rules' reading of one method's ground truth."""
    n_groups = len(groups)
    s: dict[str, list] = {k: [] for k in ("item", "reason", "clash", "clash_true", "clash_found")}
    by_property: dict[str, list[float]] = {}
    for rc in rcases:
        att = explain.of_table(rc.items, model, table)
        if att is None:
            continue
        named, true = clash_check(att, rc.verdict)
        s["clash"].append(named)
        if named:
            s["clash_true"].append(true)
        if tied(rc.verdict):
            s["clash_found"].append(true)
        item_hit = top_hit(att.item_blame, rc.verdict.blamed)
        targets = [i * n_groups + groups.index(g)
                   for i, gs in rc.verdict.reasons.items() for g in gs if g in groups]
        reason_hit = top_hit(att.values, targets) if att.by_group and targets else item_hit
        s["item"].append(item_hit)
        s["reason"].append(reason_hit)
        for p in rc.verdict.properties:
            by_property.setdefault(p, []).append(reason_hit)
    return {"outfits": len(s["item"]), "top1_item": mean(s["item"]),
            "top1_reason": mean(s["reason"]), "clash_named": mean(s["clash"]),
            "clash_true": mean(s["clash_true"]), "clash_found": mean(s["clash_found"]),
            "by_property": {p: {"outfits": len(v), "top1_reason": mean(v)}
                            for p, v in sorted(by_property.items())}}


def truth_scores(explain: Explainer, model: GraderModel, table: FeatureTable, world: WorldTruth,
                 groups: Sequence[str], by_group: bool) -> dict:
    """One method's ``ground_truth`` entry: the swapped-in reading, the rules' under ``rules``."""
    return {**_culprit_scores(explain, model, table, world.cases, groups, by_group),
            "rules": _rule_scores(explain, model, table, world.rules, groups)}


def random_truth(world: WorldTruth | None, n_groups: int) -> dict | None:
    """The random ranking's expected ground-truth scores (None outside a synthetic world)."""
    if world is None:
        return None
    return {"top1_item": random_baseline([len(c.items) for c in world.cases],
                                         n_groups)["top1_item"],
            "top1_group": 1.0 / n_groups,
            "rules": {"top1_item": mean([len(rc.verdict.blamed) / len(rc.items)
                                         for rc in world.rules]),
                      "top1_reason": mean([sum(len(g) for g in rc.verdict.reasons.values())
                                           / (len(rc.items) * n_groups) for rc in world.rules])}}


def rules_summary(corruptions: Sequence[Corruption], world: WorldTruth | None) -> dict | None:
    """The report's ``rules`` section: whom the rules blame in the corrupted outfits and in the
    swapped-in cases, and what a tie-blind explainer could score on each (None outside a
    synthetic world)."""
    if world is None:
        return None
    pairs = list(zip(corruptions, world.verdicts, strict=True))
    kinds = [("no_rule_broken" if not v.blamed else "single_culprit" if v.blamed == {c.index}
              else "tied" if c.index in v.blamed else "others_blamed") for c, v in pairs]
    truth = [(case, rule_verdict(case.items)) for case in world.cases]
    return {
        "corruptions": {**{k: kinds.count(k) for k in ("single_culprit", "tied",
                                                       "others_blamed", "no_rule_broken")},
                        "tie_blind_top1_item": mean([tie_blind(v, c.index) for c, v in pairs])},
        "ground_truth": {"outfits": len(world.cases),
                         "tied": sum(len(v.blamed) > 1 and case.culprit in v.blamed
                                     for case, v in truth),
                         "tie_blind_top1_item": mean([tie_blind(v, case.culprit)
                                                      for case, v in truth])},
        "outfits": len(world.rules)}

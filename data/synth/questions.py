"""The evaluation questions of one split, made as Polyvore Outfits makes them, with their reasons.

Compatibility: every good outfit is one positive line; for each, one negative is the outfit with
one item swapped for an item of the same semantic category from another outfit of the split,
kept only when the swap breaks a hidden rule *because of the swapped item*. Fill in the blank:
one item of a good outfit is blanked; the right answer is that item, the three distractors are
items of its semantic category that each break a rule when put in its place.

Each negative and each distractor aims at the rule (colour, pattern, formality or season) least
used so far in the split, so that the reasons are spread over the properties as evenly as the
outfits allow, and where possible one swap breaks exactly one rule: that makes "which item,
through which property" unambiguous for the explainer's evaluation.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from outfit.domain import Item

from .rules import TruthResult, attribute_values, broken_attribute_rules, truth

__all__ = ["SplitQuestions", "make_questions", "TARGET_RULES"]

TARGET_RULES = ("color_harmony", "one_bold_pattern", "same_formality", "same_season")
_CANDIDATES = 30  # items of a category tried per swap, and per blank before settling
_MORE_CANDIDATES = 120  # per blank, while fewer than three distractors are found


@dataclass
class SplitQuestions:
    """Lines of ``compatibility_<split>.txt``, records of ``fill_in_blank_<split>.json`` and
    the ground truth for both (see :mod:`.writer` for the record formats)."""

    compatibility: list[str] = field(default_factory=list)
    compatibility_truth: list[dict] = field(default_factory=list)
    fitb: list[dict] = field(default_factory=list)
    fitb_truth: list[dict] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Breaker:
    item_id: str
    result: TruthResult

    @property
    def rules(self) -> tuple[str, ...]:
        return self.result.broken_rules

    def record(self) -> dict:
        first = self.result.violations[0]
        return {"item_id": self.item_id, "rule": first.rule, "property": first.property,
                "violations": [list(v) for v in self.result.violations]}


def _breaker(items: list[Item], pos: int, candidate: Item) -> _Breaker | None:
    """The candidate put at ``pos``, if it breaks a rule and it alone is to blame."""
    trial = items[:pos] + [candidate] + items[pos + 1:]
    result = truth(trial, suspect=candidate.id)
    if result.ok or result.blamed != {candidate.id}:
        return None
    return _Breaker(candidate.id, result)


def _candidates(pool: Sequence[str], outfit: Sequence[str], rng: random.Random,
                limit: int = _CANDIDATES) -> list[str]:
    inside = set(outfit)
    picks = rng.sample(pool, min(len(pool), limit + len(inside)))
    return [c for c in picks if c not in inside][:limit]


def make_questions(outfits: Sequence[tuple[str, Sequence[str]]], items: Mapping[str, Item],
                   rng: random.Random) -> SplitQuestions:
    """Questions for one split; ``outfits`` are ``(set_id, item ids in order)``."""
    ref: dict[str, str] = {}
    pool: dict[str, list[str]] = defaultdict(list)
    for set_id, ids in outfits:
        for index, item_id in enumerate(ids, start=1):
            if item_id not in ref:
                ref[item_id] = f"{set_id}_{index}"
                pool[items[item_id].semantic_category].append(item_id)
    out = SplitQuestions(skipped={"compatibility": 0, "fitb": 0})
    values: dict[str, dict[str, str | None]] = {}
    used_compat: Counter[str] = Counter()
    used_fitb: Counter[str] = Counter()
    negatives: list[tuple[str, dict]] = []
    for set_id, ids in outfits:
        refs = [f"{set_id}_{i}" for i in range(1, len(ids) + 1)]
        out.compatibility.append("1 " + " ".join(refs))
        search = _Search(ids, items, values)
        neg = _negative(search, pool, used_compat, rng)
        if neg is None:
            out.skipped["compatibility"] += 1
        else:
            pos, breaker = neg
            used_compat.update(breaker.rules)
            line = refs[:pos] + [ref[breaker.item_id]] + refs[pos + 1:]
            negatives.append(("0 " + " ".join(line), {
                "set_id": set_id, "position": pos, "replaced_item_id": ids[pos],
                **breaker.record()}))
        fitb = _fitb(search, pool, used_fitb, rng)
        if fitb is None:
            out.skipped["fitb"] += 1
            continue
        pos, breakers = fitb
        for b in breakers:
            used_fitb.update(b.rules)
        answers = [refs[pos]] + [ref[b.item_id] for b in breakers]
        order = list(range(4))
        rng.shuffle(order)
        q = len(out.fitb)
        out.fitb.append({"question": refs[:pos] + refs[pos + 1:],
                         "answers": [answers[i] for i in order], "blank_position": pos + 1})
        for slot, i in enumerate(order):
            if i > 0:
                out.fitb_truth.append({"question": q, "answer": slot, "set_id": set_id,
                                       **breakers[i - 1].record()})
    first = len(out.compatibility) + 1
    for n, (line, record) in enumerate(negatives):
        out.compatibility.append(line)
        out.compatibility_truth.append({"line": first + n, **record})
    return out


class _Search:
    """Candidate swaps of one outfit, screened fast on attribute values; :func:`truth` runs
    only on the swaps that are kept (to blame the item and to record the violations)."""

    def __init__(self, ids: Sequence[str], items: Mapping[str, Item],
                 values: dict[str, dict[str, str | None]]) -> None:
        self.ids = list(ids)
        self.items = items
        self.outfit = [items[i] for i in ids]
        self.values = values

    def row(self, item_id: str) -> dict[str, str | None]:
        if item_id not in self.values:
            self.values[item_id] = attribute_values(self.items[item_id])
        return self.values[item_id]

    def rules(self, pos: int, cand: str) -> tuple[str, ...]:
        rows = [self.row(i) for k, i in enumerate(self.ids) if k != pos]
        return broken_attribute_rules([*rows, self.row(cand)])

    def confirm(self, pos: int, cand: str) -> _Breaker | None:
        return _breaker(self.outfit, pos, self.items[cand])


def _by_need(used: Counter[str], rng: random.Random) -> list[str]:
    """The target rules, least used so far first (ties in random order)."""
    rules = list(TARGET_RULES)
    rng.shuffle(rules)
    return sorted(rules, key=lambda r: used[r])


def _negative(search: _Search, pool: Mapping[str, list[str]], used: Counter[str],
              rng: random.Random) -> tuple[int, _Breaker] | None:
    need = _by_need(used, rng)
    target = need[0]
    positions = list(range(len(search.ids)))
    rng.shuffle(positions)
    ranked: list[tuple[int, int, int, str]] = []  # (rank, order, position, candidate)
    for pos in positions:
        category = search.outfit[pos].semantic_category
        for cand in _candidates(pool[category], search.ids, rng):
            rules = search.rules(pos, cand)
            if not rules:
                continue
            rank = 0 if rules == (target,) else need.index(rules[0]) + 1 if len(rules) == 1 else 9
            ranked.append((rank, len(ranked), pos, cand))
            if rank == 0:
                break
        if ranked and min(ranked)[0] == 0:
            break
    for _, _, pos, cand in sorted(ranked):
        breaker = search.confirm(pos, cand)
        if breaker is not None:
            return pos, breaker
    return None


def _fitb(search: _Search, pool: Mapping[str, list[str]], used: Counter[str],
          rng: random.Random) -> tuple[int, list[_Breaker]] | None:
    """The blank and three distractors: the first blank whose distractors can each break a
    different rule, else the blank with the most different rules among its distractors."""
    positions = list(range(len(search.ids)))
    rng.shuffle(positions)
    targets = _by_need(used, rng)
    best: tuple[int, int, list[str]] | None = None  # (-distinct rules, position, candidates)
    for pos in positions:
        found: list[tuple[str, tuple[str, ...]]] = []
        cands = _candidates(pool[search.outfit[pos].semantic_category], search.ids, rng,
                            _MORE_CANDIDATES)
        for tried, cand in enumerate(cands, start=1):
            rules = search.rules(pos, cand)
            if rules:
                found.append((cand, rules))
            distinct = {r for _, r in found if len(r) == 1}
            if len(distinct) >= 3 or (tried >= _CANDIDATES and len(found) >= 3):
                break
        if len(found) < 3:
            continue
        order: list[str] = []
        for want in targets:  # one per rule first, single-rule breakers only
            order += [c for c, r in found if r == (want,)][:1]
        distinct_rules = len(order)
        rest = sorted(found, key=lambda f: (len(f[1]), targets.index(f[1][0])))
        order += [c for c, _ in rest if c not in order]
        if best is None or -distinct_rules < best[0]:
            best = (-distinct_rules, pos, order)
        if distinct_rules >= 3:
            break
    if best is None:
        return None
    _, pos, order = best
    chosen = []
    for cand in order:
        breaker = search.confirm(pos, cand)
        if breaker is not None:
            chosen.append(breaker)
        if len(chosen) == 3:
            return pos, chosen
    return None

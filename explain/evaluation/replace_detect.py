"""Replace-and-detect (Tangseng & Okatani, arXiv 1901.04870).

Take a good outfit of the split and replace ONE feature group (colour, shape, pattern or style)
of ONE of its items with that group of another item of the same semantic category. The corrupted
outfit is kept only when the grader's logit falls by at least ``margin``: the grader itself then
says the outfit got worse, and the replaced (item, group) pair is what made it so, whatever the
grader learned. A truthful explanation of the corrupted outfit ranks that item first (the item
whose most harmful pair is most negative, :attr:`~explain.attribution.Attribution.item_blame`,
which is how the product picks the item to swap; ``top1_item_total`` ranks by item totals
instead) and that pair first. Reported: top-1 accuracy for the item (``top1_item``) and for the
pair (``top1_item_group``), and the mean reciprocal rank of the pair (``mrr``; of the item for a
method that attributes whole items only, ``shapley-items``, whose group metrics are None). Ties
are broken at random, in expectation (:mod:`.scores`), so that a method that gives every pair
the same value scores what a random ranking scores and no more. The features are swapped, not
the photos: the corrupted item is a new feature row under a new id, in a small
:class:`~grader.api.FeatureTable`.

Replace-and-detect is read against a synthetic world's rules too (``top1_item_single``,
``top1_item_blamed`` and the report's ``rules.corruptions``): the corrupted item takes the
donor's values of the properties its replaced group carries
(:data:`~explain.evaluation.rules.GROUP_PROPERTIES`), and the rules say whether they blame the
replaced item alone, it and others (a tie), only others, or nobody (the grader's logit fell
although no rule is broken).

``first_sentence_item`` / ``first_sentence_pair``: whether the first sentence of
:func:`~explain.text.reasons` names the replaced item, and its group (a clash that includes the
item counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from grader.api import FeatureTable, GraderModel, slot_ids
from outfit.domain import Item, Outfit

from ..attribution import Attribution
from .scores import in_first_sentence, mean, rank_of, top_hit

if TYPE_CHECKING:
    from .rules import RuleVerdict

DONORS_PER_ITEM = 8  # candidate donors drawn per item when corrupting an outfit


@dataclass(frozen=True)
class Corruption:
    """A good outfit with group ``group`` (index into the layout's groups) of item ``index``
    replaced by that of ``donor_id``. ``items`` holds the corrupted item under a new id and
    ``features`` the outfit's feature rows (the corrupted one included); ``drop`` is how far the
    logit fell."""

    items: tuple[Item, ...]
    features: FeatureTable
    index: int
    group: int
    original_id: str
    donor_id: str
    drop: float


def _grade(model: GraderModel, x: torch.Tensor, slots: torch.Tensor,
           chunk: int = 4096) -> np.ndarray:
    """Logits of outfits ``x (B, n, D)`` whose items sit in ``slots (n,)``."""
    grader = model.grader.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), chunk):
            part = x[s:s + chunk].to(model.device)
            b, n = part.shape[:2]
            mask = torch.ones(b, n, dtype=torch.bool, device=model.device)
            out.append(grader(part, slots.to(model.device).expand(b, -1), mask).double().cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def _candidates(items: tuple[Item, ...], rows: list[int], feats: torch.Tensor,
                table: FeatureTable, model: GraderModel, donors: Mapping[str, Sequence[int]],
                rng: np.random.Generator, per_item: int) -> list[tuple[int, int, int]]:
    """(item, group, donor row) replacements that change the item's features: ``per_item``
    donors drawn for each item, each tried in every group."""
    worn = set(rows)
    cands: list[tuple[int, int, int]] = []
    for i, it in enumerate(items):
        pool = [r for r in donors.get(it.semantic_category, ()) if r not in worn]
        if not pool:
            continue
        picked = rng.choice(len(pool), size=min(per_item, len(pool)), replace=False)
        for g, (_, start, stop) in enumerate(model.layout.groups):
            for p in picked:
                d = pool[int(p)]
                if not torch.allclose(table.feats[d, start:stop].float(), feats[i, start:stop]):
                    cands.append((i, g, d))
    return cands


def make_corruption(items: Sequence[Item], table: FeatureTable, model: GraderModel,
                    donors: Mapping[str, Sequence[int]], rng: np.random.Generator, *,
                    margin: float = 1.0, per_item: int = DONORS_PER_ITEM) -> Corruption | None:
    """One corruption of the good outfit ``items``, drawn uniformly among the candidates whose
    logit falls by at least ``margin``; None when none does.

    ``donors`` maps a semantic category to the rows of ``table`` that may give it a group:
    ``per_item`` of them are drawn for each item, each tried in every group (one batch)."""
    items = tuple(items)
    rows = table.rows(it.id for it in items)
    feats = table.feats[torch.tensor(rows)].float()
    groups = model.layout.groups
    cands = _candidates(items, rows, feats, table, model, donors, rng, per_item)
    if not cands:
        return None
    x = feats[None].repeat(len(cands) + 1, 1, 1)
    for c, (i, g, d) in enumerate(cands, start=1):
        _, start, stop = groups[g]
        x[c, i, start:stop] = table.feats[d, start:stop].float()
    z = _grade(model, x, slot_ids(items))
    drops = z[0] - z[1:]
    ok = np.flatnonzero(drops >= margin)
    if not len(ok):
        return None
    c = int(ok[rng.integers(len(ok))])
    i, g, d = cands[c]
    donor_id = table.ids[d]
    new = replace(items[i], id=f"{items[i].id}~{groups[g][0]}~{donor_id}")
    out_items = items[:i] + (new,) + items[i + 1:]
    small = FeatureTable(tuple(it.id for it in out_items), x[c + 1].clone(), slot_ids(out_items))
    return Corruption(out_items, small, i, g, items[i].id, donor_id, float(drops[c]))


def corrupt_outfits(good: Sequence[Outfit], items: Sequence[Item], table: FeatureTable,
                    model: GraderModel, rng: np.random.Generator, max_outfits: int,
                    margin: float) -> tuple[list[Corruption], int]:
    """Corruptions of the ``good`` outfits, in their order, until ``max_outfits`` are made; any
    item of the split (``items``) of the same semantic category may donate. Returns them and how
    many outfits were tried."""
    donors: dict[str, list[int]] = {}
    for it in items:
        donors.setdefault(it.semantic_category, []).append(table.index[it.id])
    corruptions: list[Corruption] = []
    tried = 0
    for o in good:
        if len(corruptions) >= max_outfits:
            break
        tried += 1
        c = make_corruption(o.items, table, model, donors, rng, margin=margin)
        if c is not None:
            corruptions.append(c)
    return corruptions, tried


def detection_scores(corruptions: Sequence[Corruption], atts: Sequence[Attribution | None],
                     verdicts: Sequence[RuleVerdict] | None, n_groups: int,
                     by_group: bool) -> dict[str, float | None]:
    """One method's replace-and-detect scores from its attributions of the ``corruptions``
    (None: refused), read against the rules' ``verdicts`` in a synthetic world; group scores
    are None for a method without group values (``by_group`` false)."""
    s: dict[str, list[float]] = {k: [] for k in ("item", "total", "pair", "rr", "single",
                                                 "blamed", "said_item", "said_pair")}
    for k, (c, att) in enumerate(zip(corruptions, atts, strict=True)):
        if att is None:
            continue
        s["item"].append(rank_of(att.item_blame, c.index)[0])
        s["said_item"].append(float(in_first_sentence(att, c.index)))
        if att.by_group:
            s["said_pair"].append(float(in_first_sentence(att, c.index, c.group)))
        if verdicts is not None and verdicts[k].blamed:
            s["blamed"].append(top_hit(att.item_blame, verdicts[k].blamed))
            if verdicts[k].blamed == {c.index}:
                s["single"].append(s["item"][-1])
        s["total"].append(rank_of(att.item_totals, c.index)[0])
        if att.by_group:
            t1, r = rank_of(att.values, c.index * n_groups + c.group)
            s["pair"].append(t1)
            s["rr"].append(r)
        else:
            s["rr"].append(rank_of(att.item_totals, c.index)[1])
    return {"top1_item": mean(s["item"]), "top1_item_total": mean(s["total"]),
            "top1_item_group": mean(s["pair"]) if by_group else None,
            "first_sentence_item": mean(s["said_item"]),
            "first_sentence_pair": mean(s["said_pair"]) if by_group else None,
            "top1_item_single": mean(s["single"]), "top1_item_blamed": mean(s["blamed"]),
            "mrr": mean(s["rr"])}

"""Does an explainer tell the truth? Four checks that need no human labels.

    from explain.evaluate import evaluate_explainer, explainer_table
    report = evaluate_explainer("~/.outfit/worlds/synth-0", load_model("models/demo"),
                                split="test", max_outfits=200, plots_dir="plots")
    print(explainer_table(report))

Every registered attribution method is measured the same way, beside a uniform random ranking:

replace-and-detect (Tangseng & Okatani, arXiv 1901.04870)
    Take a good outfit of the split and replace ONE feature group (colour, shape, pattern or
    style) of ONE of its items with that group of another item of the same semantic category.
    The corrupted outfit is kept only when the grader's logit falls by at least ``margin``: the
    grader itself then says the outfit got worse, and the replaced (item, group) pair is what
    made it so, whatever the grader learned. A truthful explanation of the corrupted outfit
    ranks that item first (the item whose most harmful pair is most negative,
    :attr:`~explain.attribution.Attribution.item_blame`, which is how the product picks the item
    to swap; ``top1_item_total`` ranks by item totals instead) and that pair first. Reported: top-1
    accuracy for the item (``top1_item``) and for the pair (``top1_item_group``), and the mean
    reciprocal rank of the pair (``mrr``; of the item for a method that attributes whole items
    only, ``shapley-items``, whose group metrics are None). Ties are broken at random, in
    expectation, so that a method that gives every pair the same value scores what a random
    ranking scores and no more. The features are swapped, not the photos: the corrupted item
    is a new feature row under a new id, in a small :class:`~grader.api.FeatureTable`.
deletion (Samek et al., arXiv 1509.06321; the deletion metric of Petsiuk et al., arXiv 1806.07421)
    On the good outfits, the (item, group) pairs are set to the item's category mean one at a
    time in the method's order, most positive (most helpful) first, and the logit is read after
    each step. A method that knows what holds the score up makes it fall fast. Each curve is
    normalised to run from 1 (the outfit) to 0 (every pair at its category mean, the same end
    for every order) over the fraction of pairs deleted, and ``deletion_auc`` is the mean area
    under it: LOWER IS BETTER, and it may fall below 0 (taking the helpful pairs away first
    leaves the harmful ones, which drag the logit below the all-means outfit) or rise above 1.
    Only outfits whose logit is at least ``margin`` above their all-means version count (with
    less there is nothing to delete, and the normalisation would divide by almost nothing).
    A method without group values deletes whole items, most positive total first. The random
    baseline averages random orders. Deleting means filling in the category mean, the baseline
    of ``gxa-centered``, ``ig``, ``occlusion`` and ``shapley-sampled``; ``gxa`` and
    ``smoothgrad`` compare with zero features instead, so they may call a group harmful that
    is still better than its category mean, and this metric counts that against them.
randomisation (Adebayo et al., "Sanity checks for saliency maps", arXiv 1810.03292)
    The grader's weights are drawn afresh (a deep copy; the caller's model is never touched),
    :data:`RANDOM_DRAWS` times with different seeds, and every method explains the same good
    outfits with the trained and each randomised grader. An explanation that barely changes
    when the model's knowledge is destroyed explains the input, not the model. Reported: the
    mean Spearman rank correlation between the two (flattened (item, group) values, or item
    totals) over outfits and draws, and ``passed`` when it is below
    ``RANDOMISATION_THRESHOLD`` (one draw alone can land near the trained weights by chance:
    on a barely trained grader single draws gave correlations from -0.46 to +0.27). Gradient
    x input is known to fail it on images, because the input term survives randomisation.
ground truth (synthetic worlds only, where ``ground_truth.json`` says why each bad outfit is bad)
    Two readings of the world's truth, both reported:

    *the swapped-in item* (``top1_item``, ``top1_group``, ``top1_reason``): the bad outfits of
    the split whose recorded violations name exactly one item. The world made each of them by
    swapping one item into a good outfit and records that item as the culprit even where the
    rules alone blame two (two bold patterns, a red top with an orange skirt: a clash is a pair,
    :mod:`data.synth.rules`). Is that item ranked first, and within it the group of the violated
    property? Where the rules blame ``k`` items the outfit does not say which of them was swapped
    in (the same outfit comes from swapping in either), so an explainer that ranks exactly the
    rule-blamed items first and cannot tell them apart scores ``1/k``: ``tie_blind_top1_item``
    in the report's ``rules`` section is that expectation over the cases, the most such an
    explainer can reach.

    *the rules' reasons* (``rules``: ``top1_item``, ``top1_reason``): every bad outfit of the
    split that is wearable, judged by :func:`data.synth.rules.truth` without knowing which item
    was swapped in. Its reasons are the (item, property) pairs the rules blame. Is the item
    ranked first one the rules blame, and is the (item, group) pair ranked first one of the
    reasons? This is what a person is told: "the pattern of the striped shirt lowers the
    score most" is true when the shirt is one of two bold patterns, whichever came last.

    Rule properties map to feature groups as colour -> ``color``, pattern -> ``pattern``, shape,
    formality and season -> ``shape``: the shape head learns each item's fine category (its
    ``category``, "pumps", "puffer jacket"), and in the world as in real catalogues the fine
    category carries formality and season (:mod:`data.synth.kinds`).

    Replace-and-detect is read against the rules too (``top1_item_single``,
    ``top1_item_blamed`` and the report's ``rules.corruptions``): the corrupted item takes the
    donor's values of the properties its replaced group carries (:data:`GROUP_PROPERTIES`), and
    the rules say whether they blame the replaced item alone, it and others (a tie), only others,
    or nobody (the grader's logit fell although no rule is broken).

what a person reads (any dataset)
    ``first_sentence_item`` / ``first_sentence_pair`` (replace-and-detect) and
    ``ground_truth.first_sentence``: whether the first sentence of
    :func:`~explain.text.reasons` names the replaced (swapped-in) item, and its group. That
    sentence names two items when they clash (:mod:`explain.clash`), so these count a clash
    that includes the item. In a synthetic world, ``rules.clash_named`` is the share of bad
    outfits whose reasons name a clash, ``rules.clash_true`` the share of those the rules
    blame both items of (through the clash's group), and ``rules.clash_found`` the share of the
    rules' two-item clashes that are named with a right partner.

Item features are computed once per dataset (:meth:`~grader.api.GraderModel.item_table`); the
category means come from the model (stored by training) or, for an older model, from the train
split's items.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from data.dataset import Dataset
from data.loaders import load_dataset
from grader.api import FeatureTable, GraderModel, slot_ids
from outfit.domain import Item, Outfit
from outfit.errors import OutfitError

from .attribution import Attribution, OutfitInput, attribute, list_methods, outfit_input
from .reference import FeatureReference, feature_reference, reference_from_table
from .text import named_first

__all__ = ["evaluate_explainer", "explainer_table", "save_explainer_plots", "Corruption",
           "make_corruption", "GroundTruthCase", "ground_truth_cases", "randomised_model",
           "reinitialise", "spearman", "rank_of", "random_baseline", "deletion_order",
           "deletion_curves", "PROPERTY_GROUPS", "GROUP_PROPERTIES", "RANDOMISATION_THRESHOLD",
           "RuleVerdict", "rule_verdict", "corruption_verdict", "RuleCase", "rule_cases",
           "top_hit", "tie_blind"]

#: Rule property (``data.synth.rules.PROPERTIES``) -> the feature group that carries it.
PROPERTY_GROUPS: Mapping[str, str] = {"color": "color", "pattern": "pattern", "shape": "shape",
                                      "formality": "shape", "season": "shape"}
#: Feature group -> the item attributes of a synthetic world it carries: a corruption that
#: replaces the group gives the item the donor's values of these (``style`` is learned by the
#: grader alone and carries no rule property).
GROUP_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "color": ("color",), "pattern": ("pattern",),
    "shape": ("kind", "style", "formality", "season"), "style": ()}

#: Mean Spearman correlation (trained vs randomised grader) below which a method passes.
RANDOMISATION_THRESHOLD = 0.5
DONORS_PER_ITEM = 8  # candidate donors drawn per item when corrupting an outfit
RANDOM_ORDERS = 8  # random deletion orders per outfit
RANDOM_DRAWS = 3  # re-initialised graders per randomisation check
CURVE_POINTS = 21  # deletion curves are averaged on this grid of fractions deleted


# ----------------------------------------------------------------------------- ranks
def rank_of(values: np.ndarray, target: int) -> tuple[float, float]:
    """Top-1 hit (0..1) and reciprocal rank of ``values[target]`` when ``values`` are ranked
    most negative first; ties broken uniformly at random, in expectation (a target tied with
    two others at the top scores 1/3, not 1)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1), nan=0.0)
    t = v[target]
    tie = np.isclose(v, t, rtol=1e-9, atol=1e-12)
    ahead = int(((v < t) & ~tie).sum())
    tied = int(tie.sum())
    top1 = 1.0 / tied if ahead == 0 else 0.0
    rr = float(np.mean(1.0 / np.arange(ahead + 1, ahead + tied + 1)))
    return top1, rr


def _rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (scipy's ``rankdata``, without scipy)."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two attributions. Identical ones (a grader whose
    re-initialisation changed nothing) correlate 1; where one is constant and the other not,
    0 (the ranking is gone)."""
    a = np.nan_to_num(np.asarray(a, dtype=np.float64).reshape(-1), nan=0.0)
    b = np.nan_to_num(np.asarray(b, dtype=np.float64).reshape(-1), nan=0.0)
    if np.allclose(a, b, rtol=1e-6, atol=1e-9):
        return 1.0
    ra, rb = _rankdata(a), _rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def _harmonic(m: int) -> float:
    return float(np.sum(1.0 / np.arange(1, m + 1)))


def random_baseline(sizes: Sequence[int], n_groups: int) -> dict[str, float | None]:
    """Exact expected replace-and-detect scores of a uniformly random ranking over outfits of
    ``sizes`` items: top-1 of the item ``1/n``, of the pair ``1/(n G)``, reciprocal rank of
    the pair ``H(nG)/(nG)`` and of the item ``H(n)/n`` (``H`` the harmonic number), averaged."""
    if not len(sizes):
        return {"top1_item": None, "top1_item_group": None, "mrr": None, "mrr_item": None}
    n = np.asarray(sizes, dtype=np.int64)
    return {"top1_item": float(np.mean(1.0 / n)),
            "top1_item_group": float(np.mean(1.0 / (n * n_groups))),
            "mrr": float(np.mean([_harmonic(int(k) * n_groups) / (k * n_groups) for k in n])),
            "mrr_item": float(np.mean([_harmonic(int(k)) / k for k in n]))}


# ----------------------------------------------------------------------------- replace-and-detect
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
    layout = model.layout
    groups = layout.groups
    worn = set(rows)
    cands: list[tuple[int, int, int]] = []  # (item, group, donor row)
    for i, it in enumerate(items):
        pool = [r for r in donors.get(it.semantic_category, ()) if r not in worn]
        if not pool:
            continue
        picked = rng.choice(len(pool), size=min(per_item, len(pool)), replace=False)
        for g, (_, start, stop) in enumerate(groups):
            for p in picked:
                d = pool[int(p)]
                if not torch.allclose(table.feats[d, start:stop].float(), feats[i, start:stop]):
                    cands.append((i, g, d))
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


# ----------------------------------------------------------------------------- deletion
def deletion_order(att: Attribution) -> np.ndarray:
    """Flat (item * n_groups + group) indices, most positive first (stable for ties); a method
    without group values deletes whole items, most positive total first."""
    g = len(att.groups)
    if att.by_group:
        return np.argsort(-np.nan_to_num(att.values, nan=0.0).reshape(-1), kind="stable")
    by_item = np.argsort(-np.nan_to_num(att.item_totals, nan=0.0), kind="stable")
    return np.array([int(i) * g + k for i in by_item for k in range(g)])


def deletion_curves(inp: OutfitInput, orders: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``(len(orders), n * G + 1)``: the outfit, then after each pair of each order is set
    to its item's category mean (all orders end at the same all-means outfit)."""
    n, g = inp.n, len(inp.groups)
    m = n * g
    deleted = torch.zeros(len(orders), m + 1, m, dtype=torch.bool)
    for k, order in enumerate(orders):
        for step, p in enumerate(order, start=1):
            deleted[k, step:, int(p)] = True
    x = inp.with_baseline(deleted.reshape(-1, n, g))  # (orders * (m + 1), n, D)
    return inp.logits_chunked(x).double().cpu().numpy().reshape(len(orders), m + 1)


def _normalised(z: np.ndarray) -> tuple[float, np.ndarray]:
    """Area under the normalised curve over the fraction deleted, and the curve on the grid."""
    f = (z - z[-1]) / (z[0] - z[-1])
    frac = np.linspace(0.0, 1.0, len(z))
    return float(np.trapezoid(f, frac)), np.interp(np.linspace(0, 1, CURVE_POINTS), frac, f)


# ----------------------------------------------------------------------------- randomisation
def reinitialise(module: torch.nn.Module, seed: int = 0) -> int:
    """Draw every parameter of ``module`` afresh, in place: layers with ``reset_parameters``
    as when built, any other parameter (the slots grader's empty vectors) from a normal
    distribution with its trained mean and spread. The global random state is left as it was.
    Returns how many parameter tensors were drawn (0: nothing to randomise)."""
    drawn: set[int] = set()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(int(seed))
        for sub in module.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()
                drawn |= {id(p) for p in sub.parameters(recurse=False)}
        for p in module.parameters():
            if id(p) in drawn:
                continue
            std = float(p.std()) if p.numel() > 1 else 0.0
            p.normal_(float(p.mean()), std if std > 0 else 0.02)
            drawn.add(id(p))
    return len(drawn)


def randomised_model(model: GraderModel, seed: int = 0) -> GraderModel:
    """A model sharing ``model``'s item-feature net whose grader is a deep copy with every
    weight drawn afresh (:func:`reinitialise`); ``model`` itself is not changed."""
    grader = copy.deepcopy(model.grader).cpu()
    reinitialise(grader, seed)
    out = GraderModel(model.feature_net, grader, model.prep, model.meta, device=str(model.device))
    out.grader.eval()
    return out


# ----------------------------------------------------------------------------- ground truth
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


# ----------------------------------------------------------------------------- the world's rules
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


def top_hit(values: np.ndarray, targets: Sequence[int] | frozenset[int]) -> float:
    """Expected top-1 hit of ``values`` ranked most negative first, ties broken at random, when
    any of ``targets`` (flat indices) is right: the share of the entries tied first that are
    targets (:func:`rank_of` for one target)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1), nan=0.0)
    first = np.isclose(v, v.min(), rtol=1e-9, atol=1e-12)
    hits = np.zeros(len(v), dtype=bool)
    hits[list(targets)] = True
    return float((first & hits).sum() / first.sum())


def _tied(verdict: RuleVerdict) -> bool:
    """Whether the rules blame two or more items through the same feature group."""
    seen: set[str] = set()
    for gs in verdict.reasons.values():
        if gs & seen:
            return True
        seen |= gs
    return False


def _clash_check(att: Attribution, verdict: RuleVerdict) -> tuple[bool, bool]:
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


def in_first_sentence(att: Attribution, index: int, group: int | None = None) -> bool:
    """Whether the first sentence of :func:`~explain.text.reasons` names item ``index`` (and,
    given ``group``, that group of it: a clash in another group, or a whole-item one, does
    not count for a group)."""
    return any(i == index and (group is None or g == group) for i, g in named_first(att))


def tie_blind(verdict: RuleVerdict, index: int) -> float:
    """Expected top-1 hit on item ``index`` of an explainer that ranks exactly the items the
    rules blame first without telling them apart: ``1/k`` when ``index`` is one of ``k`` blamed
    items, 0 when only others are blamed, 1 when nobody is (it could know better than the
    rules)."""
    if not verdict.blamed:
        return 1.0
    return 1.0 / len(verdict.blamed) if index in verdict.blamed else 0.0


# ----------------------------------------------------------------------------- the whole
def _mean(xs: Sequence[float]) -> float | None:
    return float(np.mean(xs)) if len(xs) else None


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def _reference(dataset_path: Path | str, dataset: Dataset, table: FeatureTable,
               model: GraderModel, cache_dir: Path | str | None) -> FeatureReference:
    """The model's stored category means, else the train split's."""
    if model.meta.get("feature_reference"):
        return feature_reference(model)
    train = dataset if dataset.split == "train" else load_dataset(dataset_path, split="train")
    items = list(train.items.values())
    train_table = table if train is dataset else model.item_table(items, cache_dir=cache_dir)
    return reference_from_table(train_table, items, source="the train split's items")


class _Explainer:
    """``attribute`` with one method, reference and options; counts the outfits it refused.
    :meth:`of_table` remembers its answers: the two readings of the ground truth explain many
    of the same bad outfits with the same model and table."""

    def __init__(self, method: str, reference: FeatureReference, options: Mapping[str, Any]):
        self.method, self.reference, self.options = method, reference, dict(options)
        self.skipped = 0
        self._memo: dict[tuple[str, ...], Attribution | None] = {}

    def of_table(self, items: Sequence[Item], model: GraderModel,
                 table: FeatureTable) -> Attribution | None:
        """``self(items, model, table)`` for the evaluated model and the split's feature table
        (only ever called with those two), computed once per outfit."""
        key = tuple(it.id for it in items)
        if key not in self._memo:
            self._memo[key] = self(items, model, table)
        elif self._memo[key] is None:
            self.skipped += 1  # refused again, counted as before
        return self._memo[key]

    def __call__(self, items: Sequence[Item], model: GraderModel,
                 features: FeatureTable) -> Attribution | None:
        try:
            return attribute(items, model, self.method, features=features,
                             reference=self.reference, **self.options)
        except OutfitError:  # e.g. exact Shapley values of an outfit of nine items
            self.skipped += 1
            return None


def evaluate_explainer(dataset_path: Path | str, model: GraderModel, *,
                       methods: Sequence[str] | None = None, split: str = "test",
                       max_outfits: int = 200, margin: float = 1.0, seed: int = 0,
                       plots_dir: Path | str | None = None,
                       options: Mapping[str, Mapping[str, Any]] | None = None,
                       cache_dir: Path | str | None = None) -> dict:
    """Measure the attribution ``methods`` (default: all registered) on ``split`` of the dataset
    at ``dataset_path``: replace-and-detect, deletion, randomisation and, in a synthetic world,
    ground truth (see the module docstring). At most ``max_outfits`` corrupted outfits, good
    outfits (deletion, randomisation) and ground-truth outfits each; ``margin`` in logit points;
    ``options`` per method go to :func:`~explain.attribution.attribute` (``{"ig": {"steps":
    16}}``). With ``plots_dir``, PNG plots are written there. ``model`` is not changed.

    Returns ``{"methods": {name: {"top1_item", "top1_item_group", "mrr", "deletion_auc",
    "randomisation": {"passed", "spearman", ...}, "ground_truth": {...} or None, ...}},
    "random": {...}, "outfits": N, ...}``, JSON-ready (None where a number is undefined)."""
    known = list_methods()
    methods = list(dict.fromkeys(methods)) if methods else known
    for m in methods:
        if m not in known:
            raise OutfitError(f"unknown attribution method {m!r}",
                              hint="known attribution methods: " + ", ".join(known))
    if max_outfits < 1:
        raise OutfitError(f"max_outfits must be at least 1, got {max_outfits}")
    options = {k: dict(v) for k, v in (options or {}).items()}
    was_training = model.grader.training
    try:
        report = _evaluate(dataset_path, model, methods, split, int(max_outfits), float(margin),
                           int(seed), options, cache_dir)
    finally:
        model.grader.train(was_training)
    if plots_dir is not None:
        report["plots"] = [str(p) for p in save_explainer_plots(report, plots_dir)]
    return report


def _evaluate(dataset_path: Path | str, model: GraderModel, methods: list[str], split: str,
              max_outfits: int, margin: float, seed: int, options: dict[str, dict],
              cache_dir: Path | str | None) -> dict:
    ds = load_dataset(dataset_path, split=split)
    items = list(ds.items.values())
    table = model.item_table(items, cache_dir=cache_dir)
    ref = _reference(dataset_path, ds, table, model, cache_dir)
    groups = model.layout.names
    n_groups = len(groups)
    rng = np.random.default_rng(seed)

    good = [o for o in ds.outfits if not o.problems()]
    good = [good[k] for k in rng.permutation(len(good))]
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

    # good outfits for deletion and randomisation: those whose logit stands at least `margin`
    # above their all-means version (the others have nothing to delete)
    inputs: list[OutfitInput] = []
    for o in good[:max_outfits]:
        inp, _ = outfit_input(o.items, model, features=table, reference=ref)
        inputs.append(inp)
    random_orders = [[rng.permutation(inp.n * n_groups) for _ in range(RANDOM_ORDERS)]
                     for inp in inputs]
    random_curves = [deletion_curves(inp, orders)
                     for inp, orders in zip(inputs, random_orders, strict=True)]
    usable = [k for k, z in enumerate(random_curves) if z[0, 0] - z[0, -1] >= margin]
    rand_auc, rand_curve = [], []
    for k in usable:
        parts = [_normalised(z) for z in random_curves[k]]
        rand_auc.append(float(np.mean([a for a, _ in parts])))
        rand_curve.append(np.mean([c for _, c in parts], axis=0))

    cases = ground_truth_cases(dataset_path, ds)
    verdicts = rcases = None
    if cases is not None:
        cases = [cases[k] for k in rng.permutation(len(cases))][:max_outfits]
        verdicts = [corruption_verdict(c, ds, groups) for c in corruptions]
        rcases = rule_cases(ds)
        rcases = [rcases[k] for k in rng.permutation(len(rcases))][:max_outfits]
    rand_models = [randomised_model(model, seed + k) for k in range(RANDOM_DRAWS)]

    per_method: dict[str, dict] = {}
    for name in methods:
        explain = _Explainer(name, ref, options.get(name, {}))

        by_group = True
        top_item, top_total, top_pair, rr = [], [], [], []
        top_single, top_blamed = [], []  # against the world's rules
        said_item, said_pair = [], []  # named in the first sentence of the reasons
        for k, c in enumerate(corruptions):
            att = explain(c.items, model, c.features)
            if att is None:
                continue
            by_group = att.by_group
            top_item.append(rank_of(att.item_blame, c.index)[0])
            said_item.append(float(in_first_sentence(att, c.index)))
            if att.by_group:
                said_pair.append(float(in_first_sentence(att, c.index, c.group)))
            if verdicts is not None and verdicts[k].blamed:
                top_blamed.append(top_hit(att.item_blame, verdicts[k].blamed))
                if verdicts[k].blamed == {c.index}:
                    top_single.append(top_item[-1])
            top_total.append(rank_of(att.item_totals, c.index)[0])
            if att.by_group:
                t1, r = rank_of(att.values, c.index * n_groups + c.group)
                top_pair.append(t1)
                rr.append(r)
            else:
                rr.append(rank_of(att.item_totals, c.index)[1])

        aucs, curves, rhos = [], [], []
        for k, inp in enumerate(inputs):
            att = explain(inp.items, model, table)
            if att is None:
                continue
            by_group = att.by_group
            if k in usable:
                z = deletion_curves(inp, [deletion_order(att)])[0]
                a, curve = _normalised(z)
                aucs.append(a)
                curves.append(curve)
            flat = (lambda x: x.values) if att.by_group else (lambda x: x.item_totals)
            for rand_model in rand_models:
                r_att = explain(inp.items, rand_model, table)
                if r_att is not None:
                    rhos.append(spearman(flat(att), flat(r_att)))

        truth = None
        if cases is not None:
            gt_item, gt_total, gt_group, gt_reason, gt_said = [], [], [], [], []
            by_prop: dict[str, dict[str, list[float]]] = {}
            for case in cases:
                att = explain.of_table(case.items, model, table)
                if att is None:
                    continue
                hit = rank_of(att.item_blame, case.culprit)[0]
                gt_item.append(hit)
                gt_total.append(rank_of(att.item_totals, case.culprit)[0])
                group_hit = None
                if att.by_group and case.group is not None:
                    group_hit = rank_of(att.values[case.culprit], groups.index(case.group))[0]
                    gt_group.append(group_hit)
                # the reason named first: the (culprit, violated group) pair ranked first of all,
                # or the culprit where the group is unknown (properties of different groups)
                with_group = att.by_group and case.group is not None
                gt_reason.append(rank_of(att.values, case.culprit * n_groups
                                         + groups.index(case.group))[0] if with_group else hit)
                gt_said.append(float(in_first_sentence(
                    att, case.culprit, groups.index(case.group) if with_group else None)))
                for p in case.properties:
                    entry = by_prop.setdefault(p, {"item": [], "group": []})
                    entry["item"].append(hit)
                    if group_hit is not None and p in PROPERTY_GROUPS:
                        entry["group"].append(group_hit)
            rules: dict[str, Any] = {"item": [], "reason": [], "by_property": {},
                                     "clash": [], "clash_true": [], "clash_found": []}
            for rc in rcases or ():
                att = explain.of_table(rc.items, model, table)
                if att is None:
                    continue
                named, true = _clash_check(att, rc.verdict)
                rules["clash"].append(named)
                if named:
                    rules["clash_true"].append(true)
                if _tied(rc.verdict):
                    rules["clash_found"].append(true)
                item_hit = top_hit(att.item_blame, rc.verdict.blamed)
                targets = [i * n_groups + groups.index(g)
                           for i, gs in rc.verdict.reasons.items() for g in gs if g in groups]
                reason_hit = (top_hit(att.values, targets) if att.by_group and targets
                              else item_hit)
                rules["item"].append(item_hit)
                rules["reason"].append(reason_hit)
                for p in rc.verdict.properties:
                    rules["by_property"].setdefault(p, []).append(reason_hit)
            truth = {"top1_item": _mean(gt_item), "top1_item_total": _mean(gt_total),
                     "top1_reason": _mean(gt_reason), "first_sentence": _mean(gt_said),
                     "top1_group": _mean(gt_group) if by_group else None,
                     "outfits": len(gt_item), "group_outfits": len(gt_group) if by_group else 0,
                     "by_property": {p: {"outfits": len(v["item"]), "top1_item": _mean(v["item"]),
                                         "top1_group": _mean(v["group"])
                                         if by_group and p in PROPERTY_GROUPS else None}
                                     for p, v in sorted(by_prop.items())},
                     "rules": {"outfits": len(rules["item"]), "top1_item": _mean(rules["item"]),
                               "top1_reason": _mean(rules["reason"]),
                               "clash_named": _mean(rules["clash"]),
                               "clash_true": _mean(rules["clash_true"]),
                               "clash_found": _mean(rules["clash_found"]),
                               "by_property": {p: {"outfits": len(v), "top1_reason": _mean(v)}
                                               for p, v in sorted(rules["by_property"].items())}}}

        rho = _mean(rhos)
        per_method[name] = {
            "top1_item": _mean(top_item),
            "top1_item_total": _mean(top_total),
            "top1_item_group": _mean(top_pair) if by_group else None,
            "first_sentence_item": _mean(said_item),
            "first_sentence_pair": _mean(said_pair) if by_group else None,
            "top1_item_single": _mean(top_single),
            "top1_item_blamed": _mean(top_blamed),
            "mrr": _mean(rr),
            "deletion_auc": _mean(aucs),
            "deletion_curve": np.mean(curves, axis=0).tolist() if curves else None,
            "randomisation": {"passed": None if rho is None else bool(rho < RANDOMISATION_THRESHOLD),
                              "spearman": rho, "threshold": RANDOMISATION_THRESHOLD,
                              "outfits": len(rhos) // RANDOM_DRAWS, "draws": RANDOM_DRAWS},
            "ground_truth": truth,
            "by_group": by_group,
            "outfits": len(top_item),
            "skipped": explain.skipped,
        }

    sizes = [len(c.items) for c in corruptions]
    random = {**random_baseline(sizes, n_groups), "deletion_auc": _mean(rand_auc),
              "deletion_curve": np.mean(rand_curve, axis=0).tolist() if rand_curve else None,
              "ground_truth": None if cases is None else {
                  "top1_item": random_baseline([len(c.items) for c in cases],
                                               n_groups)["top1_item"],
                  "top1_group": 1.0 / n_groups,
                  "rules": {"top1_item": _mean([len(rc.verdict.blamed) / len(rc.items)
                                                for rc in rcases or ()]),
                            "top1_reason": _mean([
                                sum(len(g) for g in rc.verdict.reasons.values())
                                / (len(rc.items) * n_groups) for rc in rcases or ()])}}}
    rules_summary = None
    if verdicts is not None:
        kinds = [("no_rule_broken" if not v.blamed else "single_culprit" if v.blamed == {c.index}
                  else "tied" if c.index in v.blamed else "others_blamed")
                 for c, v in zip(corruptions, verdicts, strict=True)]
        truth_verdicts = [rule_verdict(case.items) for case in cases]
        rules_summary = {
            "corruptions": {**{k: kinds.count(k) for k in ("single_culprit", "tied",
                                                           "others_blamed", "no_rule_broken")},
                            "tie_blind_top1_item": _mean([
                                tie_blind(v, c.index)
                                for c, v in zip(corruptions, verdicts, strict=True)])},
            "ground_truth": {"outfits": len(cases),
                             "tied": sum(len(v.blamed) > 1 and case.culprit in v.blamed
                                         for case, v in zip(cases, truth_verdicts, strict=True)),
                             "tie_blind_top1_item": _mean([
                                 tie_blind(v, case.culprit)
                                 for case, v in zip(cases, truth_verdicts, strict=True)])},
            "outfits": len(rcases or ())}
    report = {
        "dataset": str(dataset_path), "split": split, "methods": per_method, "random": random,
        "rules": rules_summary,
        "outfits": len(corruptions), "tried": tried,
        "outfit_sizes": {str(n): sizes.count(n) for n in sorted(set(sizes))}, "margin": margin, "seed": seed,
        "groups": list(groups), "reference": ref.source,
        "deletion_outfits": len(usable), "randomisation_outfits": len(inputs),
        "ground_truth_outfits": None if cases is None else len(cases),
        "corrupted_groups": {g: sum(c.group == k for c in corruptions)
                             for k, g in enumerate(groups)},
        "notes": [
            "top1/mrr: ties broken at random in expectation; mrr ranks the (item, group) pair, "
            "or the item for methods without group values (random: mrr_item)",
            "deletion_auc: most positive pair deleted first (to its category mean), curve "
            "normalised from 1 (outfit) to 0 (all means); lower is better",
            f"randomisation: passed when the mean Spearman correlation between the trained and "
            f"a re-initialised grader's attributions is below {RANDOMISATION_THRESHOLD}",
            "ground_truth: the swapped-in item (top1_item/top1_reason) and, under 'rules', any "
            "item/reason the world's rules blame; formality and season map to the shape group",
            "rules.*.tie_blind_top1_item: the most an explainer can score that ranks the "
            "rule-blamed items first but cannot tell two clashing items apart",
        ],
    }
    return _round(report)


# ----------------------------------------------------------------------------- output
def explainer_table(report: Mapping[str, Any]) -> str:
    """The report as a text table: one row per method and one for the random ranking."""
    has_truth = report.get("ground_truth_outfits") is not None
    head = (f"{'method':<16}{'top1 item':>10}{'top1 pair':>10}{'MRR':>10}{'deletion':>10}"
            f"  {'randomisation':<18}")
    if has_truth:
        head += f"{'truth item':>11}{'truth grp':>11}"
    lines = [f"{report['dataset']} ({report['split']} split): {report['outfits']} corrupted "
             f"outfits, {report['deletion_outfits']} for deletion, "
             f"{report['randomisation_outfits']} for randomisation"
             + (f", {report['ground_truth_outfits']} with a known culprit" if has_truth else ""),
             head]
    for name, m in report["methods"].items():
        rnd = m["randomisation"]
        check = ("-" if rnd["passed"] is None else
                 f"{'pass' if rnd['passed'] else 'FAIL'} (rho {rnd['spearman']:+.2f})")
        row = (f"{name:<16}{_cell(m['top1_item'])}{_cell(m['top1_item_group'])}{_cell(m['mrr'])}"
               f"{_cell(m['deletion_auc'])}  {check:<18}")
        if has_truth:
            gt = m["ground_truth"] or {}
            row += _cell(gt.get("top1_item"), 11) + _cell(gt.get("top1_group"), 11)
        lines.append(row)
    r = report["random"]
    row = (f"{'random':<16}{_cell(r['top1_item'])}{_cell(r['top1_item_group'])}{_cell(r['mrr'])}"
           f"{_cell(r['deletion_auc'])}  {'-':<18}")
    if has_truth:
        gt = r["ground_truth"] or {}
        row += _cell(gt.get("top1_item"), 11) + _cell(gt.get("top1_group"), 11)
    lines.append(row)
    lines.append("(top1/MRR: higher is better; deletion AUC: lower is better; random MRR of a "
                 f"whole item: {r['mrr_item']:.3f})" if r.get("mrr_item") is not None else
                 "(top1/MRR: higher is better; deletion AUC: lower is better)")
    if report.get("rules"):
        lines += ["", *_rules_lines(report)]
    return "\n".join(lines)


def _fixed(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _cell(v: float | None, width: int = 10) -> str:
    """A table cell: ``v`` with three decimals, "-" where undefined, right-aligned."""
    return f"{_fixed(v):>{width}}"


def _rules_lines(report: Mapping[str, Any]) -> list[str]:
    """The report read against the world's rules (see the module docstring)."""
    rules = report["rules"]
    k, t = rules["corruptions"], rules["ground_truth"]
    out = ["Against the world's rules (they blame both items of a clash; the outfit does not say "
           "which came last):",
           f"  replace-and-detect: replaced item the only culprit {k['single_culprit']}, tied "
           f"with others {k['tied']}, only others blamed {k['others_blamed']}, no rule broken "
           f"{k['no_rule_broken']}; a tie-blind explainer's top-1 item at most "
           f"{_fixed(k['tie_blind_top1_item'])}",
           f"  ground truth: {t['tied']} of {t['outfits']} swapped-in culprits tied with another "
           f"item; a tie-blind explainer's top-1 item at most {_fixed(t['tie_blind_top1_item'])}",
           f"{'method':<16}{'single':>8}{'blamed':>8}{'1st item':>9}{'1st pair':>9}"
           f"{'truth 1st':>10}{'rules item':>11}{'rules why':>10}{'clashes':>9}{'true':>7}"
           f"{'found':>7}"]
    for name, m in report["methods"].items():
        gt = m["ground_truth"] or {}
        ru = gt.get("rules") or {}
        out.append(f"{name:<16}{_cell(m.get('top1_item_single'), 8)}"
                   f"{_cell(m.get('top1_item_blamed'), 8)}{_cell(m.get('first_sentence_item'), 9)}"
                   f"{_cell(m.get('first_sentence_pair'), 9)}{_cell(gt.get('first_sentence'), 10)}"
                   f"{_cell(ru.get('top1_item'), 11)}{_cell(ru.get('top1_reason'), 10)}"
                   f"{_cell(ru.get('clash_named'), 9)}{_cell(ru.get('clash_true'), 7)}"
                   f"{_cell(ru.get('clash_found'), 7)}")
    rr = (report["random"].get("ground_truth") or {}).get("rules") or {}
    out.append(f"{'random':<16}{'':>8}{'':>8}{'':>9}{'':>9}{'':>10}"
               f"{_cell(rr.get('top1_item'), 11)}{_cell(rr.get('top1_reason'), 10)}")
    out.append("(single: top-1 item where the rules blame the replaced item alone; blamed: the "
               "top item is one the rules blame; 1st item/pair: the replaced item (and group) "
               "named in the first sentence of the reasons; truth 1st: the swapped-in culprit "
               "and its property named there; rules item/why: the item/(item, group) ranked "
               "first is one the rules blame, over every bad outfit; clashes: share of bad "
               "outfits whose reasons name a clash, true: of those, both items blamed by the "
               "rules, found: share of the rules' two-item clashes named)")
    return out


def save_explainer_plots(report: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write ``explainer_top1.png`` (top-1 accuracy per method beside the random ranking) and
    ``explainer_deletion.png`` (mean normalised deletion curves) into ``out_dir`` (created),
    plus ``explainer_ground_truth.png`` in a synthetic world; returns the paths written."""
    from matplotlib.figure import Figure  # object-oriented API: no display, no global state

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(report["methods"])
    methods = report["methods"]
    rnd = report["random"]
    x = np.arange(len(names))
    paths = []

    def bars(title: str, series: Sequence[tuple[str, list, float | None, str]], file: str) -> None:
        fig = Figure(figsize=(max(6.4, 1.0 * len(names) + 2), 4.6), layout="constrained")
        ax = fig.add_subplot()
        width = 0.8 / len(series)
        for k, (label, values, chance, color) in enumerate(series):
            pos = x - 0.4 + width * (k + 0.5)
            ax.bar(pos, [np.nan if v is None else v for v in values], width, color=color,
                   label=label)
            for p, v in zip(pos, values, strict=True):  # the value, so that 0 is not "n/a"
                ax.text(p, 0.01 if v is None else v + 0.01, "n/a" if v is None else f"{v:.2f}",
                        ha="center", va="bottom", fontsize="x-small", color="0.3")
            if chance is not None:
                ax.axhline(chance, color=color, linestyle="--", linewidth=1.2,
                           label=f"random ({label}): {chance:.2f}")
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("Top-1 accuracy")
        ax.set_title(title, fontsize="medium")
        ax.grid(True, axis="y", alpha=0.3)
        fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
        path = out / file
        fig.savefig(path, dpi=120)
        paths.append(path)

    series = [("item", [methods[n]["top1_item"] for n in names], rnd["top1_item"], "tab:blue"),
              ("item + group", [methods[n]["top1_item_group"] for n in names],
               rnd["top1_item_group"], "tab:orange")]
    if any(methods[n].get("first_sentence_item") is not None for n in names):
        series.append(("item named in the reasons' first sentence (a clash names two)",
                       [methods[n].get("first_sentence_item") for n in names], None, "tab:cyan"))
    title = (f"Replace-and-detect: the replaced item/pair ranked first ({report['outfits']} "
             f"outfits, {report['split']} split)")
    if report.get("rules"):
        k = report["rules"]["corruptions"]
        title += (f";\n{k['tied']} replaced items tie with another in a clash, so a tie-blind "
                  f"explainer finds at most {_fixed(k['tie_blind_top1_item'], 2)}")
    bars(title, series, "explainer_top1.png")

    fig = Figure(figsize=(7.2, 6.0), layout="constrained")
    ax = fig.add_subplot()
    grid = np.linspace(0, 1, CURVE_POINTS)
    markers = "osD^vPX*"  # methods often agree: distinct markers keep overlapping curves visible
    for k, n in enumerate(names):
        curve = methods[n]["deletion_curve"]
        if curve is not None:
            ax.plot(grid, curve, linewidth=1.4, marker=markers[k % len(markers)],
                    markersize=5, markevery=(k % 3, 3), fillstyle="none",
                    label=f"{n} (AUC {methods[n]['deletion_auc']:.3f})")
    if rnd["deletion_curve"] is not None:
        ax.plot(grid, rnd["deletion_curve"], color="0.3", linestyle="--", linewidth=1.6,
                label=f"random order (AUC {rnd['deletion_auc']:.3f})")
    ax.axhline(0, color="0.75", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Fraction of (item, group) pairs set to their category mean")
    ax.set_ylabel("Normalised logit (1: outfit, 0: all means)")
    ax.set_title(f"Deletion, most helpful pair first ({report['deletion_outfits']} good "
                 "outfits; lower AUC is better)", fontsize="medium")
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    path = out / "explainer_deletion.png"
    fig.savefig(path, dpi=120)
    paths.append(path)

    if report.get("ground_truth_outfits"):
        gt = rnd["ground_truth"]
        series = [("swapped-in item first",
                   [(methods[n]["ground_truth"] or {}).get("top1_item") for n in names],
                   gt["top1_item"], "tab:green"),
                  ("its group first within it",
                   [(methods[n]["ground_truth"] or {}).get("top1_group") for n in names],
                   gt["top1_group"], "tab:purple")]
        title = (f"Ground truth: the culprit ranked first ({report['ground_truth_outfits']} bad "
                 "outfits)")
        if gt.get("rules"):
            series.append(("a reason the rules give, first (any blamed item)",
                           [((methods[n]["ground_truth"] or {}).get("rules") or {})
                            .get("top1_reason") for n in names],
                           gt["rules"]["top1_reason"], "tab:brown"))
            tied = report["rules"]["ground_truth"]
            title += (f";\n{tied['tied']} culprits tie with another item, so a tie-blind "
                      f"explainer finds at most {_fixed(tied['tie_blind_top1_item'], 2)}")
        bars(title, series, "explainer_ground_truth.png")
    return paths

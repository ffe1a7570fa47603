"""The recommender against graders whose best outfit is known, and its refusals."""

import itertools
import random

import numpy as np
import pytest
import torch

from grader.api import FeatureTable, GraderModel, slot_ids
from grader.features import ItemFeatureNet
from grader.model import OutfitGrader, SlotsGrader
from grader.preprocess import Preprocessing
from outfit.domain import Closet, Item, Outfit
from outfit.errors import GrammarError, ItemNotFoundError, OutfitError
from recommender import (
    NoOutfitError,
    SearchProblem,
    SlotIndex,
    TooManyOutfitsError,
    complements,
    count_outfits,
    search,
    select_diverse,
)
from recommender.scoring import ClosetScorer
from recommender.strategies import Candidate, strategy_options

KINDS = {"tops": 3, "bottoms": 3, "all-body": 2, "outerwear": 2, "shoes": 3, "bags": 2,
         "jewellery": 2, "hats": 1}


def _closet(counts=KINDS, seed=0, season=False) -> Closet:
    rng = random.Random(seed)
    items = []
    for kind, n in counts.items():
        for k in range(n):
            attrs = {"season": rng.choice(["summer", "winter", "all-season"])} if season else {}
            # jewellery may repeat, one per category (a necklace and a bracelet)
            category = ("necklace", "bracelet", "ring")[k] if kind == "jewellery" else kind
            items.append(Item(f"{kind}-{k}", category, kind, attributes=attrs))
    return Closet.of(items, name="test")


class Planted(OutfitGrader):
    """logit = sum of the items' planted values (feature 0) + 2 if the first two features'
    dot product over item pairs... kept simple: additive plus a pair bonus on feature 1."""

    arch = "planted"

    def __init__(self, feature_dim: int) -> None:
        super().__init__(feature_dim)

    def forward(self, feats, slots, mask):
        m = mask.to(feats.dtype)
        value = (feats[..., 0] * m).sum(1)
        tag = feats[..., 1] * m  # items tagged 1 go well together
        return value + 0.5 * (tag.sum(1) ** 2 - (tag**2).sum(1))

    def config(self):
        return {}


def _model(grader: OutfitGrader) -> GraderModel:
    fn = ItemFeatureNet(["x"], ["solid"], backbone="small")
    return GraderModel(fn, grader, Preprocessing(32))


def _table(closet: Closet, feats: torch.Tensor) -> FeatureTable:
    return FeatureTable(tuple(it.id for it in closet.items), feats, slot_ids(closet.items))


def _planted(closet: Closet, best: set[str], seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.zeros(len(closet), 4)
    feats[:, 0] = torch.rand(len(closet), generator=g)
    for k, it in enumerate(closet.items):
        if it.id in best:
            feats[k, 1] = 1.0
    return _model(Planted(4).eval()), _table(closet, feats)


def _brute_force(closet: Closet) -> list[frozenset[str]]:
    out = []
    items = closet.items
    for n in range(1, 8):
        for combo in itertools.combinations(items, n):
            if Outfit(combo).complete:
                out.append(frozenset(it.id for it in combo))
    return out


BEST = {"tops-1", "bottoms-2", "outerwear-0", "shoes-1", "bags-0", "jewellery-0", "jewellery-1"}


@pytest.mark.parametrize("strategy", ["beam", "partial", "exhaustive"])
def test_every_strategy_finds_the_planted_best_outfit(strategy):
    closet = _closet()
    model, table = _planted(closet, BEST)
    recs = search(closet, model, k=5, strategy=strategy, features=table, diversity=0.0)
    assert set(recs[0].item_ids) == BEST
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    for r in recs:
        assert Outfit(r.items).complete, r.item_ids
        assert len(set(r.item_ids)) == len(r.item_ids)
        assert sorted(r.build_order) == sorted(r.item_ids)


@pytest.mark.parametrize("strategy", ["beam", "exhaustive"])
def test_two_accessories_of_one_category_are_never_worn_together(strategy):
    closet = Closet.of([*_closet().items,
                        Item("pearls-a", "pearl necklace", "jewellery"),
                        Item("pearls-b", "pearl necklace", "jewellery")], name="pearls")
    # the planted grader likes both strings of pearls best of all
    model, table = _planted(closet, {"pearls-a", "pearls-b", "jewellery-0", "tops-1"})
    recs = search(closet, model, k=10, strategy=strategy, features=table, diversity=0.0)
    assert any({"pearls-a", "pearls-b"} & set(r.item_ids) for r in recs)
    assert all(not {"pearls-a", "pearls-b"} <= set(r.item_ids) for r in recs)
    assert all(Outfit(r.items).complete for r in recs)


def test_count_of_outfits_matches_brute_force_enumeration():
    closet = _closet()
    expected = _brute_force(closet)
    problem = SearchProblem.build(closet)
    assert count_outfits(problem) == len(expected)
    model, table = _planted(closet, BEST)
    everything = search(closet, model, k=1, strategy="exhaustive", features=table)
    assert everything  # and the pool it chose from holds only valid sets:
    from recommender.strategies import exhaustive_search

    pool = exhaustive_search(problem, ClosetScorer(model, table), pool=10**6)
    keys = [frozenset(closet.items[r].id for r in c.rows) for c in pool]
    assert len(keys) == len(set(keys)) == len(expected)
    assert set(keys) == set(expected)


@pytest.mark.parametrize("seed", range(6))
def test_beam_equals_exhaustive_with_a_random_slots_grader_on_tiny_closets(seed):
    # A slots grader with random weights (pair and pooled terms included): nothing additive to
    # make the beam's job easy; on closets this small a beam of 64 holds every partial outfit.
    torch.manual_seed(seed)
    closet = _closet({"tops": 2, "bottoms": 2, "all-body": 1, "outerwear": 1, "shoes": 2,
                      "bags": 1, "jewellery": 2}, seed=seed)
    grader = SlotsGrader(6, hidden=32, pair_rank=4, pool_dim=8).eval()
    with torch.no_grad():
        grader.empty.normal_()
    model = _model(grader)
    table = _table(closet, torch.randn(len(closet), 6, generator=torch.Generator().manual_seed(seed)))
    beam = search(closet, model, k=3, beam=64, features=table, diversity=0.0)
    exact = search(closet, model, k=3, strategy="exhaustive", features=table, diversity=0.0)
    assert set(beam[0].item_ids) == set(exact[0].item_ids)
    assert beam[0].logit == pytest.approx(exact[0].logit, abs=1e-4)
    # the fast path (per-item terms) and a full forward pass agree on the score
    padded = table.rows(exact[0].item_ids)
    full = grader(*table.gather(torch.tensor([padded]))).detach()
    assert float(full[0]) == pytest.approx(exact[0].logit, abs=1e-4)


def test_pinned_items_are_in_every_result_and_excluded_ones_in_none():
    closet = _closet()
    model, table = _planted(closet, BEST)
    recs = search(closet, model, k=8, pinned=["all-body-1", "hats-0"],
                  excluded=["shoes-1", "bags-0"], features=table)
    assert len(recs) == 8
    for r in recs:
        assert {"all-body-1", "hats-0"} <= set(r.item_ids)
        assert not {"shoes-1", "bags-0"} & set(r.item_ids)
        assert Outfit(r.items).complete


def test_search_is_deterministic_and_a_reroll_gives_another_good_set():
    closet = _closet({"tops": 4, "bottoms": 4, "outerwear": 3, "shoes": 3, "bags": 3,
                      "jewellery": 3})
    model, table = _planted(closet, BEST)
    a = search(closet, model, k=5, features=table)
    b = search(closet, model, k=5, features=table)
    assert [r.item_ids for r in a] == [r.item_ids for r in b]
    r1 = search(closet, model, k=5, features=table, reroll=1)
    r1b = search(closet, model, k=5, features=table, reroll=1)
    assert [r.item_ids for r in r1] == [r.item_ids for r in r1b]
    assert {r.item_ids for r in r1} != {r.item_ids for r in a}
    assert min(r.score for r in r1) > 0.5 * max(r.score for r in a)


def test_diverse_selection_respects_the_shared_item_limit():
    pool = [Candidate((0, 1, 2, 3), 3.0), Candidate((0, 1, 2, 4), 2.9),
            Candidate((0, 5, 6, 7), 2.0), Candidate((8, 9, 10, 11), 1.0)]
    scores = np.array([0.95, 0.94, 0.8, 0.6])
    assert select_diverse(pool, scores, 2, diversity=0.0) == [0, 1]
    assert select_diverse(pool, scores, 2, diversity=0.0, max_shared=1) == [0, 2]
    assert select_diverse(pool, scores, 2, diversity=0.0, max_shared=0) == [0, 3]
    assert select_diverse(pool, scores, 2, diversity=0.5) == [0, 2]  # not the near-copy
    assert select_diverse(pool, scores, 2, diversity=0.9) == [0, 3]


def test_constraints_keep_only_items_that_fit_the_season():
    closet = _closet(season=True, seed=3)
    model, table = _planted(closet, BEST)
    recs = search(closet, model, k=5, constraints={"season": "winter"}, features=table)
    for r in recs:
        assert all(it.attributes["season"] in ("winter", "all-season") for it in r.items)
    with pytest.raises(OutfitError, match="unknown season"):
        search(closet, model, constraints={"season": "monsoon"}, features=table)


def test_clear_errors():
    closet = _closet()
    model, table = _planted(closet, BEST)
    with pytest.raises(NoOutfitError, match="empty"):
        search(Closet.of([]), model)
    no_shoes = Closet.of([it for it in closet.items if it.slot != "shoes"])
    with pytest.raises(NoOutfitError, match="lacks shoes"):
        search(no_shoes, model, features=_table(no_shoes, table.feats[:len(no_shoes)]))
    tops_only = Closet.of([it for it in closet.items if it.semantic_category in ("tops", "shoes")])
    with pytest.raises(NoOutfitError, match="a main piece.*only: upper"):
        SearchProblem.build(tops_only)
    with pytest.raises(NoOutfitError, match="after the exclusions.*shoes"):
        SearchProblem.build(closet, excluded=["shoes-0", "shoes-1", "shoes-2"])
    with pytest.raises(OutfitError, match="both pinned and excluded: tops-0"):
        search(closet, model, pinned=["tops-0"], excluded=["tops-0"], features=table)
    with pytest.raises(ItemNotFoundError, match="nope"):
        search(closet, model, pinned=["nope"], features=table)
    with pytest.raises(GrammarError, match="pinned items cannot be worn together"):
        search(closet, model, pinned=["all-body-0", "tops-0"], features=table)
    with pytest.raises(TooManyOutfitsError, match=f"{count_outfits(SearchProblem.build(closet)):,}"):
        search(closet, model, strategy="exhaustive", max_outfits=10, features=table)
    with pytest.raises(OutfitError, match="unknown search strategy"):
        search(closet, model, strategy="greedy", features=table)
    with pytest.raises(OutfitError, match="beam width must be at least 1"):
        search(closet, model, beam=0, features=table)
    with pytest.raises(OutfitError, match="beam widths must be at least 1, got 0"):
        search(closet, model, main_beam=0, features=table)
    with pytest.raises(OutfitError, match="the partial search strategy takes no option beam") as exc:
        search(closet, model, strategy="partial", beam=4, features=table)
    assert exc.value.hint == "its options: keep, max_outfits, pool, chunk"
    with pytest.raises(OutfitError, match="the beam search strategy takes no option keep"):
        search(closet, model, keep=3, features=table)
    assert strategy_options("beam")[:2] == ("beam", "shortlist")


def test_shortlist_finds_the_best_items_of_a_large_slot():
    # An additive grader is linear in the features, so the index's shortlist is exact.
    closet = _closet({"tops": 600, "bottoms": 40, "shoes": 30, "bags": 5})
    feats = torch.zeros(len(closet), 4)
    feats[:, 0] = torch.rand(len(closet), generator=torch.Generator().manual_seed(0))
    model, table = _model(Planted(4).eval()), _table(closet, feats)
    scorer = ClosetScorer(model, table)
    index = SlotIndex(scorer)
    problem = SearchProblem.build(closet)
    tops = np.asarray(problem.candidates["upper"])
    states = np.full((2, 8), -1)
    states[1, 0] = problem.candidates["lower"][0]
    narrowed = index.shortlist(threshold=100, size=20)(problem, "upper", states, tops)
    best20 = set(tops[np.argsort(-feats[tops, 0].numpy())[:20]])
    assert all(set(n) == best20 for n in narrowed)
    recs = search(closet, model, k=1, features=table, diversity=0.0)  # shortlisted (600 > 384)
    exact = search(closet, model, k=1, features=table, strategy="partial", diversity=0.0)
    assert set(recs[0].item_ids) == set(exact[0].item_ids)


def test_slot_index_saves_loads_and_refuses_another_closet(tmp_path):
    closet = _closet()
    model, table = _planted(closet, BEST)
    scorer = ClosetScorer(model, table)
    index = SlotIndex(scorer)
    index.save(tmp_path / "ix")
    back = SlotIndex.load(tmp_path / "ix", scorer)
    q = index.directions(np.full((1, 8), -1), "upper")
    assert [list(r) for r in back.search(q, "upper", 3)] == [list(r) for r in index.search(q, "upper", 3)]
    other = ClosetScorer(model, _table(closet, table.feats + 1))
    with pytest.raises(OutfitError, match="other items or another model"):
        SlotIndex.load(tmp_path / "ix", other)


def test_complements_rank_what_goes_with_the_given_items():
    closet = _closet()
    model, table = _planted(closet, BEST)
    found = complements(closet, model, ["tops-1", "bottoms-2"], k=2, features=table)
    assert set(found) == {"outer", "shoes", "accessory"}
    assert found["shoes"][0].item.id == "shoes-1"  # tagged: goes with the tagged top and bottom
    assert found["shoes"][0].score >= found["shoes"][1].score
    with pytest.raises(OutfitError, match="no room in slot"):
        complements(closet, model, ["tops-1"], slots=["full"], features=table)


@pytest.mark.parametrize("grader_kind", ["slots", "planted"])
def test_taking_off_and_putting_on_items_grades_like_the_whole_outfit(grader_kind):
    torch.manual_seed(0)
    closet = _closet()
    if grader_kind == "slots":
        grader = SlotsGrader(6, hidden=16, pair_rank=3, pool_dim=4).eval()
        with torch.no_grad():
            grader.empty.normal_()
        feats = torch.randn(len(closet), 6)
    else:
        grader, feats = Planted(6).eval(), torch.rand(len(closet), 6)
    scorer = ClosetScorer(_model(grader), _table(closet, feats))
    row = {it.id: k for k, it in enumerate(closet.items)}
    start = np.full((1, 8), -1)
    start[0, :4] = [row["tops-0"], row["bottoms-0"], row["shoes-0"], row["bags-0"]]
    part = scorer.start(start)
    off = np.array([row["tops-0"], row["bags-0"], -1, row["shoes-0"]])
    on = np.array([row["tops-2"], -1, row["hats-0"], row["shoes-2"]])
    moved = scorer.extend(scorer.remove(part, np.zeros(4, dtype=np.int64), off), np.arange(4), on)
    expected = scorer.logits([
        [row["bottoms-0"], row["shoes-0"], row["bags-0"], row["tops-2"]],
        [row["tops-0"], row["bottoms-0"], row["shoes-0"]],
        [row["tops-0"], row["bottoms-0"], row["shoes-0"], row["bags-0"], row["hats-0"]],
        [row["tops-0"], row["bottoms-0"], row["bags-0"], row["shoes-2"]]])
    assert torch.allclose(scorer.grade(moved), expected, atol=1e-5)
    # the same moves graded without building them (hill climbing), and several at once
    both = scorer.change_logits(part, np.zeros(4, dtype=np.int64), off, on)
    assert torch.allclose(both, expected, atol=1e-5)
    swap_same_slot = scorer.change_logits(part, np.zeros(1, dtype=np.int64),
                                          np.array([row["shoes-0"]]), np.array([row["shoes-1"]]))
    assert torch.allclose(swap_same_slot, scorer.logits([[row["tops-0"], row["bottoms-0"],
                                                           row["shoes-1"], row["bags-0"]]]),
                          atol=1e-5)
    sets = [set(r[r >= 0].tolist()) for r in moved.states()]
    assert sets[1] == {row["tops-0"], row["bottoms-0"], row["shoes-0"]}


def test_count_with_pins_and_exclusions_matches_brute_force():
    closet = _closet()
    pinned, excluded = {"hats-0", "outerwear-1"}, {"bags-1", "tops-0"}
    expected = [k for k in _brute_force(closet) if pinned <= k and not excluded & k]
    problem = SearchProblem.build(closet, pinned=sorted(pinned), excluded=sorted(excluded))
    assert count_outfits(problem) == len(expected)

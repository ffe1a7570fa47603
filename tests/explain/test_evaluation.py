"""``evaluate_explainer``: its layout, its baselines, and the checks against graders whose
truth is known (a planted one where one group of one item is all that matters, and one with
nothing to randomise)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from explain import list_methods
from explain.evaluation import (
    RuleVerdict,
    evaluate_explainer,
    explainer_table,
    random_baseline,
    randomised_model,
    rank_of,
    reinitialise,
    save_explainer_plots,
    spearman,
    tie_blind,
    top_hit,
)
from grader import load_model
from grader.api import GraderModel
from grader.model import OutfitGrader
from outfit.errors import OutfitError
from outfit.vocab import SHOES, SLOTS

FRACTIONS = ("top1_item", "top1_item_group", "mrr")


class ShoesColour(OutfitGrader):
    """logit = -20 * relu(one colour dimension of the shoes): parameter-free, and only the
    shoes' colour can lower it. Positively homogeneous, so gradient x input is exact here."""

    arch = "planted-shoes-colour"

    def __init__(self, feature_dim: int, dim: int) -> None:
        super().__init__(feature_dim)
        self.dim = dim

    def forward(self, feats, slots, mask):
        shoes = ((slots == SLOTS.index(SHOES)) & mask).to(feats.dtype)
        return -20.0 * torch.relu((feats[..., self.dim] * shoes).sum(1))

    def config(self):
        return {"dim": self.dim}


def _in_unit(v) -> bool:
    return v is None or (0.0 <= v <= 1.0 and math.isfinite(v))


def _state(model: GraderModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.grader.state_dict().items()}


def test_report_layout_fractions_and_the_callers_model_untouched(tiny_world, tiny_model,
                                                                 tmp_path):
    model = load_model(tiny_model)
    before = _state(model)
    report = evaluate_explainer(tiny_world, model, max_outfits=4, margin=0.01, seed=1,
                                plots_dir=tmp_path / "plots")
    json.dumps(report, allow_nan=False)  # JSON-ready: no NaN, no numpy types
    assert set(report["methods"]) == set(list_methods())
    assert 1 <= report["outfits"] <= 4 and report["split"] == "test"
    assert report["ground_truth_outfits"] >= 1  # a synthetic world says who is to blame
    for name, m in report["methods"].items():
        assert {"top1_item", "top1_item_group", "mrr", "deletion_auc", "randomisation",
                "ground_truth"} <= set(m), name
        assert m["outfits"] == report["outfits"] and m["top1_item"] is not None
        assert all(_in_unit(m[k]) for k in FRACTIONS), (name, m)
        assert m["deletion_auc"] is None or math.isfinite(m["deletion_auc"])
        assert m["insertion_auc"] is None or math.isfinite(m["insertion_auc"])
        for kind in ("deletion", "insertion"):
            f = m["faithfulness"][kind]
            assert {"vs_random", "vs_random_items"} <= set(f), (name, f)
            assert f["vs_random"]["beats"] in (True, False, None)
        rnd = m["randomisation"]
        assert isinstance(rnd["passed"], bool) and -1.0 <= rnd["spearman"] <= 1.0
        gt = m["ground_truth"]
        assert gt["outfits"] >= 1 and _in_unit(gt["top1_item"]) and _in_unit(gt["top1_group"])
        assert all(_in_unit(p["top1_item"]) and _in_unit(p["top1_group"])
                   for p in gt["by_property"].values())
        assert set(gt["by_property"]) <= {"color", "pattern", "shape", "formality", "season"}
        rules = gt["rules"]  # the rules' own reasons, whichever item came last
        assert rules["outfits"] >= 1 and _in_unit(rules["top1_item"])
        assert _in_unit(rules["top1_reason"]) and rules["top1_reason"] <= rules["top1_item"]
        assert set(rules["by_property"]) <= {"color", "pattern", "formality", "season"}
        assert _in_unit(m["top1_item_single"]) and _in_unit(m["top1_item_blamed"])
        assert _in_unit(rules["clash_named"]) and _in_unit(rules["clash_true"])
    kinds = report["rules"]["corruptions"]
    assert sum(kinds[k] for k in ("single_culprit", "tied", "others_blamed",
                                  "no_rule_broken")) == report["outfits"]
    assert _in_unit(kinds["tie_blind_top1_item"])
    truth = report["rules"]["ground_truth"]
    assert truth["outfits"] == report["ground_truth_outfits"] and 0 <= truth["tied"] <= truth["outfits"]
    # a tie of k items caps a tie-blind explainer at 1/k: never above 1, at most 1/2 for a tie
    assert truth["tie_blind_top1_item"] <= 1 - truth["tied"] / truth["outfits"] / 2 + 1e-9
    # whole items only: no group metrics
    items_only = report["methods"]["shapley-items"]
    assert items_only["top1_item_group"] is None and items_only["ground_truth"]["top1_group"] is None
    assert report["methods"]["gxa"]["top1_item_group"] is not None
    # a real grader re-initialised explains differently: the sanity check passes
    for name in ("occlusion", "ig"):
        rnd = report["methods"][name]["randomisation"]
        assert rnd["passed"] is True and rnd["spearman"] < 0.5, (name, rnd)
    # the random row is the exact expectation over the corrupted outfits' sizes
    rnd = report["random"]
    sizes = [int(n) for n, c in report["outfit_sizes"].items() for _ in range(c)]
    assert len(sizes) == report["outfits"]
    assert rnd["top1_item"] == pytest.approx(np.mean([1 / n for n in sizes]), abs=1e-6)
    assert rnd["top1_item_group"] == pytest.approx(rnd["top1_item"] / 4, abs=1e-6)
    assert all(_in_unit(rnd[k]) for k in (*FRACTIONS, "mrr_item"))
    assert 0.0 <= rnd["deletion_auc"] <= 1.0 and 0.0 <= rnd["insertion_auc"] <= 1.0
    assert 0.0 <= rnd["random_items"]["deletion_auc"] <= 1.0 and report["pixels"] is None
    # the caller's model is exactly as it was
    after = model.grader.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.grader.training
    assert sorted(p.rsplit("/", 1)[-1] for p in report["plots"]) == [
        "explainer_deletion.png", "explainer_ground_truth.png", "explainer_top1.png"]
    for p in report["plots"]:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = explainer_table(report)
    assert "shapley-items" in text and "random" in text and "world's rules" in text
    # a world where no corruption could be made: the rules' section still prints and plots
    empty = json.loads(json.dumps(report))
    empty["rules"]["corruptions"]["tie_blind_top1_item"] = None
    empty["rules"]["ground_truth"]["tie_blind_top1_item"] = None
    assert "at most -" in explainer_table(empty)
    assert len(save_explainer_plots(empty, tmp_path / "empty")) == 3


def test_planted_grader_gxa_finds_the_replaced_pair_and_fails_randomisation(tiny_world,
                                                                             tiny_model):
    real = load_model(tiny_model)
    grey = real.layout.dim_names.index("grey")
    planted = GraderModel(real.feature_net, ShoesColour(real.layout.dim, grey).eval(), real.prep)
    assert "feature_reference" not in planted.meta  # the train split's means are used instead
    report = evaluate_explainer(tiny_world, planted, methods=["gxa", "shapley-items"],
                                max_outfits=5, margin=1.0)
    assert report["outfits"] >= 3
    assert report["reference"] == "the train split's items"
    # only the shoes' colour moves the logit, so every kept corruption is a colour swap
    assert report["corrupted_groups"] == {"color": report["outfits"], "shape": 0, "pattern": 0,
                                          "style": 0}
    gxa = report["methods"]["gxa"]
    assert gxa["top1_item"] == 1.0 and gxa["top1_item_group"] == 1.0 and gxa["mrr"] == 1.0
    items_only = report["methods"]["shapley-items"]
    assert items_only["top1_item"] == 1.0 and items_only["top1_item_group"] is None
    assert report["random"]["top1_item"] < 0.5
    # nothing to re-initialise: the explanations cannot change, so the check must fail
    for m in report["methods"].values():
        assert m["randomisation"]["passed"] is False
        assert m["randomisation"]["spearman"] == pytest.approx(1.0)


def test_ties_rank_like_chance_and_the_random_baseline_is_exact():
    n = 5
    top1, rr = rank_of(np.zeros(n), 2)  # a method that says nothing
    assert top1 == pytest.approx(1 / n)
    assert rr == pytest.approx(sum(1 / k for k in range(1, n + 1)) / n)
    assert rank_of(np.array([0.3, -2.0, 0.1]), 1) == (1.0, 1.0)
    assert rank_of(np.array([-1.0, -2.0, 0.1]), 0) == (0.0, 0.5)
    # the closed form against uniformly random rankings
    sizes, groups = [3, 4, 4, 6, 7], 4
    exact = random_baseline(sizes, groups)
    rng = np.random.default_rng(0)
    hits_item, hits_pair, rr_pair = [], [], []
    for _ in range(4000):
        n = sizes[rng.integers(len(sizes))]
        hits_item.append(rank_of(rng.random(n), 0)[0])
        t1, r = rank_of(rng.random(n * groups), 0)
        hits_pair.append(t1)
        rr_pair.append(r)
    assert exact["top1_item"] == pytest.approx(np.mean(hits_item), abs=0.02)
    assert exact["top1_item_group"] == pytest.approx(np.mean(hits_pair), abs=0.01)
    assert exact["mrr"] == pytest.approx(np.mean(rr_pair), abs=0.015)
    assert random_baseline([], groups)["top1_item"] is None


def test_several_right_answers_and_the_tie_blind_ceiling():
    # any target among those tied first counts, in proportion: two of three tied first are right
    assert top_hit(np.array([-1.0, -1.0, -1.0, 0.5]), {0, 2}) == pytest.approx(2 / 3)
    assert top_hit(np.array([-1.0, -2.0, 0.5]), [0, 2]) == 0.0
    assert top_hit(np.array([-1.0, -2.0, 0.5]), [1]) == rank_of(np.array([-1.0, -2.0, 0.5]), 1)[0]
    # the rules blame both items of a clash: an explainer that cannot tell them apart gets 1/2
    clash = RuleVerdict({0: frozenset({"pattern"}), 2: frozenset({"pattern"})}, ("pattern",))
    assert clash.blamed == {0, 2}
    assert tie_blind(clash, 0) == 0.5 and tie_blind(clash, 1) == 0.0
    assert tie_blind(RuleVerdict({}, ()), 1) == 1.0  # nobody blamed: nothing caps it


def test_spearman_and_reinitialisation(tiny_model):
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert spearman(a, a) == 1.0
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(a, np.zeros_like(a)) == 0.0
    model = load_model(tiny_model)
    before = _state(model)
    rng_state = torch.get_rng_state()
    copy = randomised_model(model, seed=3)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the global random state is kept
    after = model.grader.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    changed = [k for k, v in copy.grader.named_parameters() if not torch.equal(v, before[k])]
    assert sorted(changed) == sorted(k for k, _ in model.grader.named_parameters())
    again = randomised_model(model, seed=3)  # the same seed, the same weights
    assert all(torch.equal(v, again.grader.state_dict()[k])
               for k, v in copy.grader.state_dict().items())
    assert reinitialise(ShoesColour(8, 0)) == 0  # nothing to draw


def test_unknown_method_and_bad_arguments_are_refused(tiny_world, tiny_model):
    model = load_model(tiny_model)
    with pytest.raises(OutfitError, match="no-such-method"):
        evaluate_explainer(tiny_world, model, methods=["gxa", "no-such-method"])
    with pytest.raises(OutfitError, match="max_outfits"):
        evaluate_explainer(tiny_world, model, max_outfits=0)

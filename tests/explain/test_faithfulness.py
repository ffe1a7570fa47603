"""Deletion and insertion against random orders, and pixel deletion: a method that knows the
answer beats random, one that guesses does not, and the report runs on a real-photo world."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from explain import attribution
from explain.attribution import MethodResult, list_methods
from explain.evaluation import evaluate_explainer, explainer_table
from explain.evaluation.margins import against, spread
from explain.evaluation.pixel_deletion import pixel_deletion
from grader import load_model
from grader.api import GraderModel
from grader.model import OutfitGrader
from outfit.errors import OutfitError

GUESS = "test-random-guess"
ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT / ".." / "shared" / "data" / "clothing-small"


class Linear(OutfitGrader):
    """logit = sum over the worn items of ``w . features``: every (item, group) pair adds its
    own share, so occlusion (one pair at its category mean at a time) is exact."""

    arch = "planted-linear"

    def __init__(self, feature_dim: int, seed: int = 0) -> None:
        super().__init__(feature_dim)
        gen = torch.Generator().manual_seed(seed)
        self.w = torch.nn.Parameter(8.0 * torch.randn(feature_dim, generator=gen))

    def forward(self, feats, slots, mask):
        return ((feats @ self.w) * mask.to(feats.dtype)).sum(1)

    def config(self):
        return {}


@pytest.fixture
def guessing_method(monkeypatch):
    """An attribution method that answers at random (seeded), registered for one test."""
    gen = torch.Generator().manual_seed(0)

    def guess(inp, **_):
        values = torch.randn(inp.n, len(inp.groups), generator=gen, dtype=torch.float64)
        return MethodResult(values.to(inp.feats.dtype), values.sum(1).to(inp.feats.dtype),
                            "none: a random guess")

    list_methods()  # the built-in methods first
    monkeypatch.setitem(attribution._REGISTRY._entries, GUESS, guess)
    return GUESS


def test_margins_and_spread():
    base = np.array([[0.5, 0.7], [0.3, 0.5]])  # two outfits, two random orders
    assert spread(base) == pytest.approx(np.std([0.4, 0.6], ddof=1))
    assert spread(base[:, :1]) is None and spread(np.zeros((0, 3))) is None
    c = against(np.array([0.1, 0.2]), base, lower_is_better=True)
    assert c["baseline_auc"] == pytest.approx(0.5) and c["margin"] == pytest.approx(0.35)
    assert c["wins"] == 1.0 and c["beats"] is True and c["interval"][0] <= 0.35 <= c["interval"][1]
    ins = against(np.array([0.1, 0.2]), base, lower_is_better=False)
    assert ins["margin"] == pytest.approx(-0.35) and ins["beats"] is False and ins["wins"] == 0.0
    assert against(np.zeros(0), np.zeros((0, 2)), lower_is_better=True)["beats"] is None


def test_exact_method_beats_random_and_a_guess_does_not(tiny_world, tiny_model, guessing_method):
    real = load_model(tiny_model)
    model = GraderModel(real.feature_net, Linear(real.layout.dim).eval(), real.prep)
    report = evaluate_explainer(tiny_world, model, methods=["occlusion", guessing_method],
                                max_outfits=30, margin=0.5, seed=0)
    json.dumps(report, allow_nan=False)
    assert report["deletion_outfits"] >= 8
    rnd = report["random"]
    for row in (rnd, rnd["random_items"]):
        assert 0.0 <= row["deletion_auc"] <= 1.0 and 0.0 <= row["insertion_auc"] <= 1.0
        assert row["deletion_auc_std"] >= 0.0 and len(row["insertion_curve"]) == 21
    exact = report["methods"]["occlusion"]
    # may leave [0, 1]: the helpful pairs taken first leave the harmful ones (see .deletion)
    assert exact["deletion_auc"] < rnd["deletion_auc"] - 0.1
    assert rnd["insertion_auc"] + 0.1 < exact["insertion_auc"]
    for kind in ("deletion", "insertion"):
        f = exact["faithfulness"][kind]
        assert f["outfits"] == report["deletion_outfits"]
        for base in ("vs_random", "vs_random_items"):
            c = f[base]
            assert c["beats"] is True and c["margin"] > 0.1 and c["interval"][0] > 0, (kind, c)
            assert c["margin_std"] >= 0.0 and 0.0 <= c["wins"] <= 1.0
    guess = report["methods"][guessing_method]
    for kind in ("deletion", "insertion"):
        c = guess["faithfulness"][kind]["vs_random"]
        assert c["beats"] is False and abs(c["margin"]) < 0.1, (kind, c)
        assert c["interval"][0] <= 0.0
    assert guess["randomisation"]["passed"] is True  # a guess ignores the model: rho near 0
    text = explainer_table(report)
    assert "random items" in text and "vs random pairs" in text and report["pixels"] is None


def test_pixel_deletion_layout(tiny_world, tiny_model):
    from data.loaders import load_dataset

    model = load_model(tiny_model)
    ds = load_dataset(tiny_world, split="test")
    good = [o for o in ds.outfits if not o.problems()][:1]
    table = model.item_table(list(good[0].items))
    out = pixel_deletion([good[0].items], model, table, methods=["saliency", "gradcam"], seed=1)
    json.dumps(out, allow_nan=False)
    assert out["outfits"] == 1 and out["photos"] == len(good[0].items)
    assert 0.0 <= out["random"]["deletion_auc"] <= 1.0
    for m in out["methods"].values():
        assert 0.0 <= m["deletion_auc"] <= 1.0 and math.isfinite(m["vs_random"]["margin"])
    with pytest.raises(OutfitError, match="unknown pixel method"):
        pixel_deletion([good[0].items], model, table, methods=["tea-leaves"])


@pytest.mark.shared_data
def test_real_photo_world_report(tmp_path):
    """The whole report, pixels included, on a small real-photo world and a grader trained on
    it for seconds: every key there, ground truth from the world's rules."""
    from data.realworld import make_real_world
    from grader import TrainConfig, train

    if not PHOTOS.is_dir():
        pytest.skip("../shared/data/clothing-small not found beside the checkout: this test "
                    "needs the clothing-small photos")
    world = tmp_path / "world"
    labels = ROOT / "data" / "labels" / "clothing_small_colors_patterns.csv"
    make_real_world(world, PHOTOS, labels, outfits=(80, 20, 30))
    train(TrainConfig(dataset=str(world), out=str(tmp_path / "model"), image_size=32,
                      feature_epochs=1, epochs=2, batch_size=64, progress=False, seed=0))
    report = evaluate_explainer(world, load_model(tmp_path / "model"),
                                methods=["occlusion", "gxa"], max_outfits=6, margin=0.05,
                                pixel_outfits=1, cache_dir=tmp_path / "cache")
    json.dumps(report, allow_nan=False)
    assert report["ground_truth_outfits"] is not None  # the world's rules say who is to blame
    for m in report["methods"].values():
        assert isinstance(m["randomisation"]["passed"], bool)
        assert set(m["faithfulness"]) == {"deletion", "insertion"}
    px = report["pixels"]
    assert px["photos"] >= 2 and 0.0 <= px["random"]["deletion_auc"] <= 1.0
    assert set(px["methods"]) == {"gradcam", "saliency", "gradxinput", "ig"}

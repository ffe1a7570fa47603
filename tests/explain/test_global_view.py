"""What a grader relies on overall: mean |gxa| per feature group and slot, and the slot pairs'
interactions, batched over many outfits (explain/global_view.py)."""

import json

import numpy as np
import pytest
import torch
from explain_kit import ITEMS, Clash, Linear, _model, _net, _table
from PIL import Image

from data import load_dataset
from explain import attribute
from explain.global_view import compare_views, grader_view, plot_grader_view, sample_outfits
from grader.api import load_model
from outfit.errors import OutfitError


@pytest.fixture(scope="module")
def model(tiny_model):
    return load_model(tiny_model)


@pytest.fixture(scope="module")
def test_split(tiny_world):
    ds = load_dataset(tiny_world, split="test")
    return [[ds.items[i] for i in q.item_ids] for q in ds.compatibility]


@pytest.fixture(scope="module")
def table(model, test_split):
    every = {it.id: it for items in test_split for it in items}
    return model.item_table(list(every.values()))


def _state(model):
    return {k: v.detach().clone() for k, v in model.grader.state_dict().items()}


def test_the_view_is_finite_non_negative_and_matches_gxa_outfit_by_outfit(model, test_split,
                                                                          table):
    before = _state(model)
    view = grader_view(model, test_split, table=table, max_outfits=40, seed=3)
    assert view["method"] == "gxa" and view["outfits"] == 40
    assert [r["group"] for r in view["groups"]] == list(model.layout.names)
    numbers = [r["mean_abs"] for r in view["groups"]] + [r["share"] for r in view["groups"]]
    numbers += [r["mean_abs"] for r in view["slots"]]
    numbers += [p[k] for p in view["pairs"] for k in ("interaction", "removal")]
    assert all(v is not None and np.isfinite(v) and v >= 0 for v in numbers)
    assert sum(r["share"] for r in view["groups"]) == pytest.approx(1.0, abs=1e-5)
    assert view["pairs"] and all(p["pairs"] > 0 for p in view["pairs"])
    # the batched, padded gradient is the one attribute() takes outfit by outfit
    chosen = sample_outfits(test_split, 40, 3)
    values = np.concatenate([np.abs(attribute(o, model, "gxa", features=table).values)
                             for o in chosen])
    assert [r["mean_abs"] for r in view["groups"]] == pytest.approx(list(values.mean(0)),
                                                                     rel=1e-4, abs=1e-6)
    assert sum(r["items"] for r in view["slots"]) == view["items"] == len(values)
    after = _state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.grader.parameters())
    json.dumps(view, allow_nan=False)  # plain data


def test_the_group_ranking_is_the_same_for_other_samples(model, test_split, table):
    rankings = []
    for seed in (0, 1, 2):
        view = grader_view(model, test_split, table=table, max_outfits=300, seed=seed)
        rankings.append([r["group"] for r in sorted(view["groups"], key=lambda r: -r["share"])])
    assert rankings[0] == rankings[1] == rankings[2]
    again = grader_view(model, test_split, table=table, max_outfits=300, seed=1)
    assert again == grader_view(model, test_split, table=table, max_outfits=300, seed=1)


def _stub_outfits():
    return [ITEMS, ITEMS[:3], ITEMS[1:], (ITEMS[0], ITEMS[1], ITEMS[2], ITEMS[4])]


def test_a_grader_that_reads_colour_only_gets_all_of_it_on_colour():
    layout = _net().layout
    dim = layout.dim
    grader = Linear(dim)
    with torch.no_grad():
        keep = torch.zeros(dim)
        keep[layout.slice("color")] = 1.0
        grader.w.mul_(keep).add_(0.3 * keep)  # no zero weight left inside colour
    model = _model(grader)
    feats = torch.rand(len(ITEMS), dim, generator=torch.Generator().manual_seed(5)) + 0.1
    view = grader_view(model, _stub_outfits(), table=_table(feats))
    shares = {r["group"]: r["share"] for r in view["groups"]}
    assert shares["color"] == pytest.approx(1.0)
    assert all(shares[g] == 0 for g in shares if g != "color")
    # a grader that adds item scores judges no pair together
    assert all(p["interaction"] == pytest.approx(0.0, abs=1e-5) for p in view["pairs"])
    assert all(p["removal"] > 0 for p in view["pairs"])


def test_a_clash_between_two_patterns_is_a_pair_interaction():
    layout = _net().layout
    dim = layout.dim
    grader = Clash(layout)
    model = _model(grader)
    feats = torch.rand(len(ITEMS), dim, generator=torch.Generator().manual_seed(6))
    view = grader_view(model, _stub_outfits(), table=_table(feats))
    s = feats[:, grader.p].numpy()
    by_pair = {(p["a"], p["b"]): p for p in view["pairs"]}
    # top (upper) and skirt (lower) are together in every outfit of three or more items
    assert by_pair[("upper", "lower")]["interaction"] == pytest.approx(4 * s[0] * s[1], rel=1e-4)
    # two accessories (bag and hat) are together in two outfits: their interaction, each time
    assert by_pair[("accessory", "accessory")]["pairs"] == 2
    assert by_pair[("accessory", "accessory")]["interaction"] == pytest.approx(4 * s[3] * s[4],
                                                                               rel=1e-4)


def test_the_plot_is_a_readable_png_and_two_views_compare(model, test_split, table, tmp_path):
    view = grader_view(model, test_split, table=table, max_outfits=60)
    png = plot_grader_view(view, tmp_path / "g" / "view.png", title="tiny")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 800 and im.size[1] > 400
    other = grader_view(model, test_split, table=table, max_outfits=60, seed=9)
    rows = compare_views(view, other)
    assert [r["group"] for r in rows] == list(model.layout.names)
    for r in rows:
        assert r["delta"] == pytest.approx(r["share_b"] - r["share_a"], abs=1e-6)
    assert all(r["b"] is None and r["delta"] is None for r in compare_views(view, None))
    with pytest.raises(OutfitError):
        grader_view(model, [], table=table)

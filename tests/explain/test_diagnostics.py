"""Model diagnostics as files: the items' features projected in 2-D, and the image that drives
one unit of the item-feature net highest."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from data.loaders import load_closet
from explain.diagnostics import (
    activation_maximisation,
    feature_projection,
    unit_names,
    unit_value,
)
from grader.api import load_model
from outfit.errors import OutfitError


@pytest.fixture(scope="module")
def model(tiny_model):
    return load_model(tiny_model)


@pytest.fixture(scope="module")
def items(tiny_world):
    return list(load_closet(tiny_world)[0].items[:80])


def _state(model):
    return {k: v.detach().clone() for net in (model.feature_net, model.grader)
            for k, v in net.state_dict().items()}


def test_feature_projection_writes_a_png_and_one_point_per_item(model, items, tmp_path):
    table = model.item_table(items)
    png = feature_projection(model, items, tmp_path / "plots" / "features.png", table=table)
    assert png == tmp_path / "plots" / "features.png"
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 300 and im.size[1] > 200
    doc = json.loads(png.with_suffix(".json").read_text())
    assert doc["method"] == "pca" and doc["items"] == len(items)
    assert [p["id"] for p in doc["points"]] == [it.id for it in items]
    assert {p["category"] for p in doc["points"]} == {it.semantic_category for it in items}
    xy = np.array([[p["x"], p["y"]] for p in doc["points"]])
    # the coordinates are the centred features' first two principal components
    feats = table.feats.double().numpy()
    centred = feats - feats.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    for k in range(2):
        assert np.allclose(np.abs(xy[:, k]), np.abs(centred @ vt[k]), atol=1e-5)
    ratios = [a["explained_variance_ratio"] for a in doc["axes"]]
    assert ratios == pytest.approx(list((s**2 / (s**2).sum())[:2]), abs=1e-5)
    assert xy[:, 0].var() >= xy[:, 1].var()
    loading_names = [t["feature"] for t in doc["axes"][0]["top_loadings"]]
    assert len(loading_names) == 5 and all(":" in n for n in loading_names)
    # computing the features itself gives the same picture
    again = feature_projection(model, items, tmp_path / "again.png")
    assert json.loads(again.with_suffix(".json").read_text())["points"] == doc["points"]


def test_feature_projection_refusals(model, items, tmp_path):
    with pytest.raises(OutfitError, match="unknown projection"):
        feature_projection(model, items, tmp_path / "x.png", method="umap")
    with pytest.raises(OutfitError, match="at least 2 items"):
        feature_projection(model, items[:1], tmp_path / "x.png")


@pytest.mark.parametrize("unit", ["shape:sneakers", "pattern:stripes", "style:3"])
def test_activation_maximisation_raises_the_unit(model, unit, tmp_path):
    before = _state(model)
    png = activation_maximisation(model, unit, tmp_path / "unit.png", steps=100)
    doc = json.loads(png.with_suffix(".json").read_text())
    s = model.prep.image_size
    with Image.open(png) as im:
        assert im.size == (s, s) and im.mode == "RGB"
        pixels = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        value = float(unit_value(model.eval(), unit, pixels)[0])
    assert value == pytest.approx(doc["value"], abs=1e-5)  # measured on the image written
    # the tiny model's heads answer weakly (a few hundredths over its photos): a clear gain
    assert doc["value"] > doc["start_value"] + 0.01
    free = activation_maximisation(model, unit, tmp_path / "free.png", steps=100, tv_weight=0.0,
                                   l2_weight=0.0)
    assert json.loads(free.with_suffix(".json").read_text())["value"] > doc["value"]
    after = _state(model)
    assert all(torch.equal(after[k], before[k]) for k in after)
    assert all(p.grad is None for p in model.feature_net.parameters())


def test_activation_maximisation_is_deterministic_for_a_seed(model, tmp_path):
    a = activation_maximisation(model, "style:0", tmp_path / "a.png", steps=15, seed=3)
    b = activation_maximisation(model, "style:0", tmp_path / "b.png", steps=15, seed=3)
    c = activation_maximisation(model, "style:0", tmp_path / "c.png", steps=15, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    big = activation_maximisation(model, "style:0", tmp_path / "big.png", steps=2, size=48)
    with Image.open(big) as im:
        assert im.size == (48, 48)


def test_units_are_named_by_head(model, tmp_path):
    names = unit_names(model)
    fn = model.feature_net
    assert len(names) == len(fn.shape_names) + len(fn.pattern_names) + fn.style_head[0].out_features
    assert "pattern:dots" in names and "style:0" in names
    for bad in ("colour:red", "shape:spacesuit", "style:99", "sneakers"):
        with pytest.raises(OutfitError, match="unknown unit"):
            activation_maximisation(model, bad, tmp_path / "x.png", steps=1)
    assert not (tmp_path / "x.png").exists()


def test_diagnose_command_writes_the_set_and_its_index(tiny_model, tiny_world, tmp_path):
    from click.testing import CliRunner

    from outfit_cli import cli

    out = tmp_path / "diag"
    r = CliRunner().invoke(cli, ["diagnose", str(tiny_world), "--model", str(tiny_model),
                                 "--out", str(out), "--shapes", "2", "--steps", "5",
                                 "--max-items", "40", "--max-outfits", "30"])
    assert r.exit_code == 0, r.output
    index = json.loads((out / "diagnostics.json").read_text())
    files = [im["file"] for im in index["images"]]
    assert files[:2] == ["features.png", "grader-view.png"] and index["items"] == 40
    view = index["grader_view"]  # what the grader relies on, over 30 of the test outfits
    assert view["outfits"] == 30 and view["method"] == "gxa"
    assert [g["group"] for g in view["groups"]] == ["color", "shape", "pattern", "style"]
    assert "carries most" in index["images"][1]["caption"]
    units = [im["unit"] for im in index["images"][2:]]
    model = load_model(tiny_model)
    patterns = [u for u in unit_names(model) if u.startswith("pattern:")]
    assert units[2:] == sorted(patterns)  # every pattern unit after the two shapes
    assert len(units) == 2 + len(patterns) and all(u.startswith("shape:") for u in units[:2])
    for f in files:  # every listed picture is there and is a PNG
        with Image.open(out / f) as im:
            assert im.format == "PNG"
    assert "variance" in index["images"][0]["caption"]

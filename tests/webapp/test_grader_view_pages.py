"""What a grader relies on, on the models pages and in the API: the diagnostics' grader view
(per feature group and slot pair) shown per model, in the models table and side by side when
two models are compared."""

from __future__ import annotations

import shutil

import pytest

from data import load_dataset
from explain.diagnostics import write_diagnostics
from grader.api import load_model
from usecases.manage_models import diagnostics_dir, find_model


@pytest.fixture
def home(tmp_path, tiny_model):
    home = tmp_path / "home"
    shutil.copytree(tiny_model, home / "models" / "tiny")
    shutil.copytree(tiny_model, home / "models" / "twin")
    return home


@pytest.fixture
def c(app_factory, home, tiny_world):
    return app_factory(OUTFIT_HOME=home, DATA_ROOTS=[tiny_world]).test_client()


def _diagnose(home, name, world, seed):
    """The diagnostics a diagnose job writes, drawn in process (few items, two steps)."""
    info = find_model(home, name)
    split = load_dataset(world, split="test")
    outfits = [[split.items[i] for i in q.item_ids] for q in split.compatibility]
    items = sorted(split.items.values(), key=lambda it: it.id)[:12]
    return write_diagnostics(load_model(info.path), items, diagnostics_dir(home, info), shapes=0,
                             steps=2, seed=seed, outfits=outfits, max_outfits=60)


def _png(c, url):
    with c.get(url) as r:
        return r.status_code == 200 and r.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_models_pages_and_the_api_show_what_each_grader_relies_on(c, home, tiny_world):
    assert c.get("/api/v1/models/tiny/diagnostics").json["grader_view"] is None
    assert "Not drawn yet" in c.get("/models/tiny").data.decode()
    index = _diagnose(home, "tiny", tiny_world, seed=0)
    view = index["grader_view"]

    api = c.get("/api/v1/models/tiny/diagnostics").json["grader_view"]
    assert [g["group"] for g in api["groups"]] == ["color", "shape", "pattern", "style"]
    assert [g["mean_abs"] for g in api["groups"]] == [g["mean_abs"] for g in view["groups"]]
    assert api["outfits"] == 60 and api["method"] == "gxa" and api["pairs"] and api["slots"]
    assert all(p["interaction"] >= 0 for p in api["pairs"])

    page = c.get("/models/tiny").data.decode()
    assert 'id="grader-view"' in page and "/models/tiny/diagnostics/grader-view.png" in page
    assert _png(c, "/models/tiny/diagnostics/grader-view.png")
    for g in view["groups"]:  # each group's numbers, as the table writes them
        assert f'data-group="{g["group"]}"' in page
        assert f"{g['mean_abs']:.4f}" in page and f"{100 * g['share']:.1f} %" in page
    top = max(view["groups"], key=lambda g: g["share"])
    listing = c.get("/models").data.decode()
    assert f"{top['word']} <span" in listing and "no diagnostics" in listing  # twin: none yet

    # Two models side by side: both plots, and the per-group shares in one table.
    ds = c.get("/api/v1/datasets").json["datasets"][0]["id"]
    half = c.get(f"/api/v1/models/compare?a=tiny&b=twin&dataset={ds}").json["groups"]
    assert [r["b"] for r in half] == [None] * 4 and all(r["a"] > 0 for r in half)
    other = _diagnose(home, "twin", tiny_world, seed=5)["grader_view"]
    rows = c.get(f"/api/v1/models/compare?a=tiny&b=twin&dataset={ds}").json["groups"]
    for r, ga, gb in zip(rows, view["groups"], other["groups"], strict=True):
        assert (r["share_a"], r["share_b"]) == (ga["share"], gb["share"])
        assert r["delta"] == pytest.approx(gb["share"] - ga["share"], abs=1e-6)
    html = c.get(f"/models/compare?m=tiny&m=twin&dataset={ds}").data.decode()
    assert 'id="compare-groups"' in html
    assert html.count('class="plot grader-view"') == 2
    for name in ("tiny", "twin"):
        assert f"/models/{name}/diagnostics/grader-view.png" in html
    assert f"{100 * rows[0]['share_a']:.1f} %" in html
    assert f"{100 * rows[0]['delta']:+.1f} points" in html

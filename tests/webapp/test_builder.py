"""The outfit builder: POST /api/v1/explain (success and every error), the heat maps, the
methods, the /builder page rendered on the server, and item features computed once per model."""

from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image
from web_kit import envelope as _envelope
from web_kit import upload_closet

from grader.api import GraderModel
from usecases.services import ActiveModel
from webapp.pages.builder import bar, heat_class, score_text

MULTI = "multipart/form-data"
KINDS = {"top": "tops", "top2": "tops", "bottom": "bottoms", "shoes": "shoes",
         "shoes2": "shoes", "untagged": None}
SIZES = {"top": (64, 48), "bottom": (40, 72)}


def _closet(client, photo) -> dict[str, str]:
    """KINDS uploaded (SIZES, else 48 x 48), named "top top2" etc.; ``name -> id``."""
    return upload_closet(client, photo, KINDS, sizes={n: SIZES.get(n, (48, 48)) for n in KINDS},
                         names={n: n.rstrip("2") + " " + n for n in KINDS})


@pytest.fixture
def ids(mclient, photo):
    return _closet(mclient, photo)


def _outfit(ids, *names):
    return [ids[n] for n in names]


# ----------------------------------------------------------------------------- explain API


def test_explain_success(mclient, ids):
    outfit = _outfit(ids, "top", "bottom", "shoes")
    r = mclient.post("/api/v1/explain", json={"items": outfit, "method": "gxa"})
    assert r.status_code == 200, r.json
    body = r.json
    assert set(body) >= {"score", "logit", "attribution", "reasons", "suggestion", "items"}
    assert 0.0 <= body["score"] <= 1.0
    att = body["attribution"]
    assert att["items"] == outfit and len(att["values"]) == 3 and len(att["item_totals"]) == 3
    assert len(att["item_blame"]) == 3 and all(len(row) == len(att["groups"]) for row in att["values"])
    assert body["reasons"] and all(isinstance(s, str) and s for s in body["reasons"])
    s = body["suggestion"]
    assert s["item"] in outfit and s["sentence"]
    # a clash names two different items of the outfit, and the suggestion changes one of them
    clash = att["clash"]
    assert clash is None or (len(set(clash["items"])) == 2
                             and all(0 <= i < 3 for i in clash["items"]))
    assert (s["clash"] is None) == (clash is None or s["clash"] is None)
    if s["clash"] is not None:
        assert {s["item"], s["clash"]} == {outfit[i] for i in clash["items"]}
    slot_of = {ids["top"]: "tops", ids["bottom"]: "bottoms", ids["shoes"]: "shoes"}
    for rep in s["replacements"]:
        assert rep["item"] not in outfit
        # a replacement is a closet item of the harmful item's kind
        kind = mclient.get(f"/api/v1/items/{rep['item']}").json["semantic_category"]
        assert kind == slot_of[s["item"]]
    assert [it["id"] for it in body["items"]] == outfit and body["complete"] is True
    assert body["items"][0]["label"] == "top top"  # the page's names, not ids


def test_explain_every_method_listed(mclient, ids):
    listed = mclient.get("/api/v1/methods").json
    assert "gxa" in listed["methods"] and listed["default"] == "gxa"
    assert "gradcam" in listed["pixel_methods"]
    r = mclient.post("/api/v1/explain", json={"items": _outfit(ids, "top", "bottom", "shoes"),
                                              "method": "occlusion"})
    assert r.status_code == 200 and r.json["method"] == "occlusion"


def test_explain_unknown_item_is_404(mclient, ids):
    _envelope(mclient.post("/api/v1/explain", json={"items": [ids["top"], "zzzzzzzzzzzz"]}),
              404, "not_found")


def test_explain_unwearable_set_is_400_with_the_grammar(mclient, ids):
    err = _envelope(mclient.post("/api/v1/explain",
                                 json={"items": _outfit(ids, "top", "top2", "shoes")}), 400)
    assert "cannot be worn together" in err["message"]


def test_explain_item_without_kind_is_400(mclient, ids):
    err = _envelope(mclient.post("/api/v1/explain",
                                 json={"items": _outfit(ids, "top", "bottom", "untagged")}), 400)
    assert "no kind" in err["message"] and ids["untagged"] in err["hint"]


def test_explain_unknown_method_lists_the_known(mclient, ids):
    err = _envelope(mclient.post("/api/v1/explain", json={
        "items": _outfit(ids, "top", "bottom", "shoes"), "method": "magic"}), 400)
    assert "magic" in err["message"] and "gxa" in err["hint"] and "shapley-items" in err["hint"]


@pytest.mark.parametrize("body", [{"items": []}, {}, {"items": ["../etc/passwd"]},
                                  {"items": ["a" * 12], "extra": 1}])
def test_explain_bad_body_is_422(mclient, body):
    _envelope(mclient.post("/api/v1/explain", json=body), 422, "validation_error")


def test_explain_without_a_model_says_how_to_get_one(client, photo):
    ids = _closet(client, photo)
    err = _envelope(client.post("/api/v1/explain", json={"items": _outfit(ids, "top", "bottom",
                                                                          "shoes")}), 503)
    assert "no model" in err["message"].lower() and "outfit train" in err["hint"]
    _envelope(client.get("/api/v1/explain/heatmap", query_string={
        "items": ",".join(_outfit(ids, "top", "bottom", "shoes")), "item": ids["top"]}), 503)


def test_explain_needs_the_csrf_token(app_factory, tiny_model, photo, token_of):
    client = app_factory(MODEL=tiny_model, WTF_CSRF_ENABLED=True).test_client()
    token = token_of(client.get("/builder").data)
    files = [(io.BytesIO(photo()), f"{k}.jpg") for k in range(3)]
    r = client.post("/api/v1/items", data={"photos": files}, content_type=MULTI,
                    headers={"X-CSRFToken": token})
    outfit = [x["item"]["id"] for x in r.json["results"]]
    for item_id, kind in zip(outfit, ("tops", "bottoms", "shoes"), strict=True):
        client.patch(f"/api/v1/items/{item_id}", json={"semantic_category": kind},
                     headers={"X-CSRFToken": token})
    _envelope(client.post("/api/v1/explain", json={"items": outfit}), 400, "csrf_failed")
    ok = client.post("/api/v1/explain", json={"items": outfit}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200, ok.json


# ----------------------------------------------------------------------------- heat maps


def test_heatmap_is_a_png_of_the_photo(app_factory, tiny_photo_model, photo):
    pclient = app_factory(MODEL=tiny_photo_model).test_client()  # a model that reads pixels
    ids = _closet(pclient, photo)
    outfit = _outfit(ids, "top", "bottom", "shoes")
    assert pclient.post("/api/v1/explain", json={"items": outfit}).json["reads"] == "pixels"
    mclient = pclient
    for name in ("top", "bottom"):
        r = mclient.get("/api/v1/explain/heatmap", query_string={
            "items": ",".join(outfit), "item": ids[name], "method": "gradcam"})
        assert r.status_code == 200 and r.mimetype == "image/png"
        assert Image.open(io.BytesIO(r.data)).size == SIZES[name]
    r = mclient.get("/api/v1/explain/heatmap", query_string={
        "items": ",".join(outfit), "item": ids["top"], "method": "saliency"})
    assert r.status_code == 200 and r.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmap_errors(mclient, ids):
    outfit = ",".join(_outfit(ids, "top", "bottom", "shoes"))
    get = mclient.get
    err = _envelope(get("/api/v1/explain/heatmap",
                        query_string={"items": outfit, "item": ids["top2"]}), 400)
    assert "not in this outfit" in err["message"]
    _envelope(get("/api/v1/explain/heatmap", query_string={"items": outfit,
                                                           "item": "zzzzzzzzzzzz"}), 400)
    _envelope(get("/api/v1/explain/heatmap", query_string={
        "items": outfit + ",zzzzzzzzzzzz", "item": "zzzzzzzzzzzz"}), 404, "not_found")
    err = _envelope(get("/api/v1/explain/heatmap", query_string={
        "items": outfit, "item": ids["top"], "method": "gxa"}), 400)
    assert "gradcam" in err["hint"]
    _envelope(get("/api/v1/explain/heatmap", query_string={"items": outfit}), 422)
    _envelope(get("/api/v1/explain/heatmap", query_string={"item": ids["top"]}), 422)


def test_a_model_trained_on_drawings_reads_the_tags_and_has_no_heatmap(model_app, mclient, ids):
    outfit = _outfit(ids, "top", "bottom", "shoes")
    body = mclient.post("/api/v1/explain", json={"items": outfit}).json
    assert body["reads"] == "tags"
    err = _envelope(mclient.get("/api/v1/explain/heatmap", query_string={
        "items": ",".join(outfit), "item": ids["top"], "method": "gradcam"}), 400)
    assert "tags" in err["message"] and "pixel" in err["message"]
    html = mclient.get("/builder", query_string={"items": ",".join(outfit)}).get_data(as_text=True)
    assert '<p class="note" id="reads-tags" >' in html or 'id="reads-tags" >' in html
    assert 'id="photo-tools" hidden' in html


def test_a_corrected_tag_changes_what_the_model_reads(model_app, mclient, ids):
    svc = model_app.extensions["outfit"]
    outfit = _outfit(ids, "top", "bottom", "shoes")
    before = mclient.post("/api/v1/explain", json={"items": outfit}).json
    model, key = svc.model.get(), svc.model.key
    groups = model.named_groups
    color = model.layout.slice("color")
    assert ids["top"] in svc.store.features(key, [ids["top"]])
    for name, value in (("top", "red"), ("bottom", "green")):  # red with green: a clash
        r = mclient.patch(f"/api/v1/items/{ids[name]}", json={"color": value})
        assert r.status_code == 200, r.json
    assert ids["top"] not in svc.store.features(key, [ids["top"]])  # the stale row is gone
    after = mclient.post("/api/v1/explain", json={"items": outfit}).json
    row = svc.store.features(key, [ids["top"]])[ids["top"]]
    assert row[color] == pytest.approx(groups.color["red"], abs=1e-5)
    assert after["score"] != before["score"]


# ----------------------------------------------------------------------------- the page


def test_builder_page_explains_on_the_server(mclient, ids):
    outfit = _outfit(ids, "top", "bottom", "shoes")
    api = mclient.post("/api/v1/explain", json={"items": outfit}).json
    html = mclient.get("/builder", query_string={"items": ",".join(outfit)}).get_data(as_text=True)
    assert f'id="score">{score_text(api["score"])}<' in html
    for sentence in api["reasons"]:
        assert sentence.replace("'", "&#39;") in html
    assert api["suggestion"]["sentence"].replace("'", "&#39;").split(":")[0] in html
    assert 'class="heat"' in html and "heat-" in html and "<svg class=\"bar\"" in html
    for item_id in outfit:
        assert f'value="{item_id}" data-slot' in html and f'data-item="{item_id}"' in html
    assert html.count("checked") >= 3 and 'id="incomplete" hidden' in html
    assert "/static/builder.js" in html and "<style" not in html


def test_builder_page_without_items_shows_the_picker(mclient, ids):
    html = mclient.get("/builder").get_data(as_text=True)
    assert "Tops" in html and "Bottoms" in html and "Shoes" in html
    assert ids["top"] in html and ids["untagged"] not in html  # no kind: no slot to pick from
    assert 'id="result" hidden' in html and "Choose items" in html


def test_builder_page_shows_problems_not_errors(mclient, ids):
    r = mclient.get("/builder", query_string={"items": ids["top"]})  # a start, explained
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="incomplete" >Not a complete outfit yet' in html
    assert "You can add:" in html and "shoes" in html
    r = mclient.get("/builder", query_string={"items": f"{ids['top']},{ids['top2']}"})
    box = r.get_data(as_text=True).split('id="explain-error"')[1][:400]
    assert r.status_code == 200 and "cannot be worn together" in box, box
    r = mclient.get("/builder", query_string={"items": "zzzzzzzzzzzz"})
    assert r.status_code == 200 and "zzzzzzzzzzzz" in r.get_data(as_text=True)


def test_fix_it_link_swaps_the_harmful_item(mclient, ids):
    outfit = _outfit(ids, "top", "bottom", "shoes")
    api = mclient.post("/api/v1/explain", json={"items": outfit}).json
    # the item to change may have no alternative in this closet (one bottom): then no link
    best = (api["suggestion"]["replacements"] or [{"gain": 0.0}])[0]
    html = mclient.get("/builder", query_string={"items": ",".join(outfit)}).get_data(as_text=True)
    if best["gain"] > 0:
        assert 'id="apply-swap"' in html and best["item"] in html.split('id="apply-swap"')[1][:300]
    else:
        assert "Nothing in the closet improves" in html and 'id="apply-swap"' not in html


def _html(text: str) -> str:
    """``text`` as the page's templates escape it."""
    from markupsafe import escape

    return str(escape(text))


def test_the_shopping_hint_is_in_the_api_and_on_the_page(model_app, mclient, ids):
    for name, value in (("top", "red"), ("bottom", "green")):  # red with green: a clash
        r = mclient.patch(f"/api/v1/items/{ids[name]}", json={"color": value})
        assert r.status_code == 200, r.json
    outfit = _outfit(ids, "top", "bottom", "shoes")
    body = mclient.post("/api/v1/explain", json={"items": outfit}).json
    h = body["property_hints"]
    assert h["source"] == "training items" and h["reason"] is None and h["sentence"]
    assert set(h["tried"]) <= set(outfit) and body["suggestion"]["item"] in h["tried"]
    for x in h["hints"]:
        assert x["item"] in h["tried"] and x["group"] in ("color", "pattern")
        assert x["new"] != x["old"] and x["score"] >= x["before"] + 0.02
        assert x["sentence"].endswith(".") and " -> " in x["sentence"]
    assert [x["score"] for x in h["hints"]] == sorted((x["score"] for x in h["hints"]),
                                                      reverse=True)
    if h["hints"]:
        assert h["sentence"] == h["hints"][0]["sentence"]
        tagged = {ids["top"]: "red", ids["bottom"]: "green"}
        best = h["hints"][0]
        if best["group"] == "color" and best["item"] in tagged:
            assert best["old"] == tagged[best["item"]] and best["old_tagged"]
    html = mclient.get("/builder", query_string={"items": ",".join(outfit)}).get_data(as_text=True)
    box = html.split('id="shopping-hint"')[1][:1500]
    assert "Shopping hint:" in box and _html(h["sentence"]) in box
    for x in h["hints"][1:]:
        assert _html(x["sentence"]) in box


def test_openapi_documents_the_shopping_hint(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    explanation = next(s for n, s in schemas.items() if n.startswith("Explanation"))
    assert "property_hints" in explanation["required"]
    hints = next(s for n, s in schemas.items() if n.startswith("PropertyHints"))
    assert {"hints", "sentence"} <= set(hints["required"])
    hint = next(s for n, s in schemas.items() if n == "PropertyHint")
    assert {"item", "group", "new", "score", "sentence"} <= set(hint["required"])


def test_navigation_and_item_page_link_to_the_builder(mclient, ids):
    html = mclient.get("/").get_data(as_text=True)
    assert 'href="/builder"' in html
    item_page = mclient.get(f"/items/{ids['top']}").get_data(as_text=True)
    assert f'href="/builder?items={ids["top"]}"' in item_page
    assert "Build an outfit with this item" in item_page


# ----------------------------------------------------------------------------- features


def test_features_are_computed_once_per_model(model_app, mclient, ids, tiny_model, tmp_path,
                                              monkeypatch):
    calls = []
    real = GraderModel.item_table

    def spy(self, items, **kw):
        calls.append([it.id for it in items])
        return real(self, items, **kw)

    monkeypatch.setattr(GraderModel, "item_table", spy)
    outfit = _outfit(ids, "top", "bottom", "shoes")
    first = mclient.post("/api/v1/explain", json={"items": outfit}).json
    assert len(calls) == 1 and sorted(calls[0]) == sorted(i for n, i in ids.items()
                                                          if n != "untagged")
    again = mclient.post("/api/v1/explain", json={"items": outfit}).json
    mclient.get("/builder", query_string={"items": ",".join(outfit)})
    assert len(calls) == 1 and again["score"] == first["score"]
    svc = model_app.extensions["outfit"]
    key = svc.model.key
    assert set(svc.store.features(key, outfit)) == set(outfit)  # cached in the store too

    other = tmp_path / "other-model"
    shutil.copytree(tiny_model, other)
    svc.model = ActiveModel(other)
    mclient.post("/api/v1/explain", json={"items": outfit})
    assert len(calls) == 2 and svc.model.key != key  # another model: features recomputed


def test_features_survive_a_restart_through_the_store(app_factory, tiny_model, photo,
                                                      monkeypatch):
    client = app_factory(MODEL=tiny_model).test_client()
    ids = _closet(client, photo)
    outfit = _outfit(ids, "top", "bottom", "shoes")
    assert client.post("/api/v1/explain", json={"items": outfit}).status_code == 200
    monkeypatch.setattr(GraderModel, "item_table",
                        lambda *a, **k: pytest.fail("features recomputed after a restart"))
    restarted = app_factory(MODEL=tiny_model).test_client()
    assert restarted.post("/api/v1/explain", json={"items": outfit}).status_code == 200


# ----------------------------------------------------------------------------- OpenAPI


def test_openapi_lists_the_builder_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "post" in spec["paths"]["/api/v1/explain"]
    assert "get" in spec["paths"]["/api/v1/explain/heatmap"]
    assert "get" in spec["paths"]["/api/v1/methods"]
    responses = spec["paths"]["/api/v1/explain"]["post"]["responses"]
    assert {"200", "400", "404", "422", "503"} <= set(responses)


def test_cell_colours_bars_and_score_text():
    assert [heat_class(v, 2.0) for v in (-2.0, -0.1, 0.0, 0.5, 9.0, None)] == [
        "heat-n5", "heat-0", "heat-0", "heat-p1", "heat-p5", "heat-na"]
    assert heat_class(1.0, 0.0) == "heat-0"
    assert bar(-1.0, 2.0) == {"x": 50.0, "width": 50.0} and bar(4.0, 2.0) == {"x": 100.0, "width": 100.0}
    assert bar(None, 1.0)["width"] == 0
    assert score_text(0.734) == "73 %" and score_text(0.9996) == "100.0 %" and score_text(0.998) == "99.8 %"

"""Recommendations: POST /api/v1/recommend (success, re-roll, every error, CSRF), GET
/api/v1/items/<id>/outfits, the /recommend page rendered on the server, and the links to it."""

from __future__ import annotations

import re

import pytest
from web_kit import envelope as _envelope
from web_kit import upload_closet

MULTI = "multipart/form-data"
KINDS = {"top1": "tops", "top2": "tops", "top3": "tops", "bottom1": "bottoms",
         "bottom2": "bottoms", "bottom3": "bottoms", "shoes1": "shoes", "shoes2": "shoes",
         "shoes3": "shoes", "washed": "tops", "untagged": None}
MAIN_SLOTS = {"upper", "lower", "full", "outer"}


@pytest.fixture
def ids(mclient, photo):
    ids = upload_closet(mclient, photo, KINDS)
    assert mclient.patch(f"/api/v1/items/{ids['washed']}", json={"in_wash": True}).status_code == 200
    return ids


def _recommend(client, **body):
    r = client.post("/api/v1/recommend", json=body)
    assert r.status_code == 200, r.json
    return r.json


def _sets(body) -> list[frozenset[str]]:
    return [frozenset(it["id"] for it in rec["items"]) for rec in body["recommendations"]]


# ---------------------------------------------------------------------------------- the API


def test_recommend_success(mclient, ids):
    body = _recommend(mclient, k=4, pinned=[ids["top1"]], excluded=[ids["shoes3"]])
    recs = body["recommendations"]
    assert len(recs) == 4 and body["excluded_in_wash"] == 1
    for rec in recs:
        slots = [it["slot"] for it in rec["items"]]
        assert slots.count("shoes") == 1  # wearable: one of each main slot it uses, and shoes
        main = [s for s in slots if s in MAIN_SLOTS]
        assert len(main) == len(set(main)) and ({"upper", "lower"} <= set(main) or "full" in main)
        got = {it["id"] for it in rec["items"]}
        assert ids["top1"] in got
        assert ids["shoes3"] not in got and ids["washed"] not in got and ids["untagged"] not in got
        assert 0.0 <= rec["score"] <= 1.0 and isinstance(rec["logit"], float)
        labels = [it["label"] for it in rec["items"]]
        assert any(label in rec["reason"] for label in labels), rec["reason"]
        assert rec["reason"].endswith(".") and "\n" not in rec["reason"]
        assert rec["builder_url"].startswith("/builder?items=")
        assert all(i in rec["builder_url"] for i in got)
    scores = [rec["score"] for rec in recs]
    assert scores == sorted(scores, reverse=True)
    assert len(set(_sets(body))) == 4  # different outfits


def test_recommend_defaults_and_builder_link_opens(mclient, ids):
    body = _recommend(mclient)
    assert len(body["recommendations"]) == 6  # 3 tops x 3 bottoms x 3 shoes have room for 6
    page = mclient.get(body["recommendations"][0]["builder_url"])
    assert page.status_code == 200 and b'id="score"' in page.data


def test_reroll_gives_another_set_and_the_same_set_again(mclient, ids):
    first = _sets(_recommend(mclient, k=3, reroll=0))
    again = _sets(_recommend(mclient, k=3, reroll=0))
    other = _sets(_recommend(mclient, k=3, reroll=1))
    other_again = _sets(_recommend(mclient, k=3, reroll=1))
    assert first == again and other == other_again
    assert other != first  # 27 outfits leave room for another good set


def test_constraints_accepted(mclient, ids):
    # the closet's items say nothing of season or formality, so they are all kept
    body = _recommend(mclient, k=2, season="winter", occasion="formal", diversity=0.9)
    assert len(body["recommendations"]) == 2


def test_unknown_id_is_404(mclient, ids):
    for field in ("pinned", "excluded"):
        _envelope(mclient.post("/api/v1/recommend", json={field: ["zzzzzzzzzzzz"]}), 404,
                  "not_found")


def test_pinned_and_excluded_at_once_is_400(mclient, ids):
    err = _envelope(mclient.post("/api/v1/recommend", json={
        "pinned": [ids["top1"]], "excluded": [ids["top1"]]}), 400)
    assert "pinned and excluded" in err["message"] and ids["top1"] in err["message"]


def test_pinned_items_that_cannot_be_worn_together_is_400(mclient, ids):
    err = _envelope(mclient.post("/api/v1/recommend", json={
        "pinned": [ids["top1"], ids["top2"]]}), 400)
    assert "cannot be worn together" in err["message"]


def test_pinned_item_without_kind_is_400(mclient, ids):
    err = _envelope(mclient.post("/api/v1/recommend", json={"pinned": [ids["untagged"]]}), 400)
    assert "no kind" in err["message"]


def test_closet_without_an_outfit_says_what_is_missing(app_factory, tiny_model, photo):
    client = app_factory(MODEL=tiny_model).test_client()
    upload_closet(client, photo, {"top": "tops", "bottom": "bottoms"})
    err = _envelope(client.post("/api/v1/recommend", json={}), 400)
    assert err["message"].startswith("Your closet cannot make a complete outfit")
    assert "shoes" in err["message"] and "top and a bottom" in err["hint"]


def test_excluding_every_shoe_says_so(mclient, ids):
    err = _envelope(mclient.post("/api/v1/recommend", json={
        "excluded": [ids["shoes1"], ids["shoes2"], ids["shoes3"]]}), 400)
    assert "after the exclusions" in err["message"] and "shoes" in err["message"]


@pytest.mark.parametrize("body", [{"k": 0}, {"k": 51}, {"k": "six"}, {"season": "spring"},
                                  {"occasion": "party"}, {"reroll": -1}, {"diversity": 0.99},
                                  {"pinned": ["not-an-id"]}, {"colour": "red"},
                                  # written as the wrong JSON type: refused, not converted
                                  {"k": 1.5}, {"k": "5"}, {"k": True}, {"reroll": 2.0},
                                  {"diversity": "0.2"}, {"diversity": False}])
def test_bad_values_are_422(mclient, ids, body):
    err = _envelope(mclient.post("/api/v1/recommend", json=body), 422, "validation_error")
    assert set(err["fields"]) == set(body)


def test_numbers_written_as_numbers_are_accepted(mclient, ids):
    r = mclient.post("/api/v1/recommend", json={"k": 2, "reroll": 1, "diversity": 0})
    assert r.status_code == 200, r.json
    assert len(r.json["recommendations"]) == 2


def test_without_a_model_says_how_to_get_one(client, photo):
    upload_closet(client, photo, {"top": "tops", "bottom": "bottoms", "shoes": "shoes"})
    err = _envelope(client.post("/api/v1/recommend", json={}), 503, "model_unavailable")
    assert "outfit train" in err["hint"]


def test_recommend_needs_the_csrf_token(app_factory, tiny_model, photo, token_of):
    app = app_factory(MODEL=tiny_model, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = token_of(client.get("/recommend").data)
    _envelope(client.post("/api/v1/recommend", json={}), 400, "csrf_failed")
    r = client.post("/api/v1/recommend", json={}, headers={"X-CSRFToken": token})
    assert r.status_code == 400 and r.json["error"]["code"] != "csrf_failed"  # empty closet


def test_outfits_for_an_item(mclient, ids):
    r = mclient.get(f"/api/v1/items/{ids['bottom2']}/outfits?k=3")
    assert r.status_code == 200, r.json
    recs = r.json["recommendations"]
    assert len(recs) == 3
    assert all(ids["bottom2"] in {it["id"] for it in rec["items"]} for rec in recs)
    _envelope(mclient.get("/api/v1/items/zzzzzzzzzzzz/outfits"), 404)
    _envelope(mclient.get(f"/api/v1/items/{ids['top1']}/outfits?k=0"), 422)


def test_a_pinned_item_in_the_wash_is_kept(mclient, ids):
    body = _recommend(mclient, k=2, pinned=[ids["washed"]])
    assert body["excluded_in_wash"] == 0
    assert all(ids["washed"] in s for s in _sets(body))


def test_openapi_lists_the_recommend_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "post" in spec["paths"]["/api/v1/recommend"]
    assert "get" in spec["paths"]["/api/v1/items/{item_id}/outfits"]
    responses = spec["paths"]["/api/v1/recommend"]["post"]["responses"]
    assert {"200", "400", "404", "422", "503"} <= set(responses)


# ---------------------------------------------------------------------------------- the page


def test_page_renders_results_on_the_server(mclient, ids):
    r = mclient.get(f"/recommend?pinned={ids['shoes2']}&k=3")
    assert r.status_code == 200
    html = r.data.decode()
    assert html.count('class="outfit-card"') == 3
    assert re.search(rf'name="pinned" value="{ids["shoes2"]}"[^>]*checked', html)
    assert "Open in builder" in html and "/builder?items=" in html
    assert re.search(r'class="card-score"[^>]*>[\d.]+ %<', html)
    assert "1 item in the wash left out" in html
    assert 'src="/static/recommend.js"' in html and "<script>" not in html  # no inline script
    reroll = re.search(r'href="(/recommend\?[^"]*reroll=1[^"]*)" id="reroll-link"', html)
    assert reroll and "pinned=" in reroll.group(1)
    # re-roll without JavaScript: the page for the next number is another set
    again = mclient.get(reroll.group(1).replace("&amp;", "&")).data.decode()
    assert again.count('class="outfit-card"') == 3 and "(re-roll 1)" in again


def test_page_pin_link_pins_the_item(mclient, ids):
    html = mclient.get("/recommend?k=2").data.decode()
    links = re.findall(r'href="([^"]+)" data-pin="([a-z0-9]{12})"', html)
    assert links
    url, item = links[0]
    page = mclient.get(url.replace("&amp;", "&")).data.decode()
    assert re.search(rf'name="pinned" value="{item}"[^>]*checked', page)


def test_page_shows_problems_not_errors(mclient, ids):
    html = mclient.get(f"/recommend?excluded={ids['shoes1']},{ids['shoes2']},{ids['shoes3']}"
                       "&k=abc&season=spring").data.decode()
    assert re.search(r'id="rec-error" >[^<]*cannot make a complete outfit', html)
    assert 'class="outfit-card"' not in html


def test_page_without_model_or_closet(client):
    r = client.get("/recommend")
    assert r.status_code == 200 and b"No item has a kind yet" in r.data
    assert b"No model is active" in r.data


def test_navigation_and_item_page_link_to_recommend(mclient, ids):
    html = mclient.get("/").data.decode()
    assert 'href="/recommend"' in html and ">Recommend<" in html
    item = mclient.get(f"/items/{ids['top2']}").data.decode()
    assert f'href="/recommend?pinned={ids["top2"]}"' in item and "Outfits for this item" in item
    page = mclient.get(f"/recommend?pinned={ids['top2']}").data.decode()
    assert page.count('class="outfit-card"') == 6
    assert 'aria-current="page">Recommend' in page

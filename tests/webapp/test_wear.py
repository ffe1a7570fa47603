"""The wear log and feedback: POST/GET /api/v1/wears, GET /api/v1/items/unworn, POST/GET
/api/v1/feedback, GET /api/v1/feedback/export (a zip that data.loaders reads), their errors
and CSRF, the /wears page, wear counts on the item page, and the "Wore this today" and thumbs
forms on the recommend and builder pages (with and without JavaScript)."""

from __future__ import annotations

import datetime as dt
import io
import re
import sqlite3
import zipfile

import pytest
from web_kit import envelope as _envelope
from web_kit import upload_closet

MULTI = "multipart/form-data"
KINDS = {"top1": "tops", "top2": "tops", "bottom1": "bottoms", "bottom2": "bottoms",
         "shoes1": "shoes", "shoes2": "shoes", "dress": "all-body", "untagged": None}


@pytest.fixture
def ids(client, photo):
    return upload_closet(client, photo, KINDS)


def _outfit(ids, *names):
    return [ids[n] for n in names]


def _wear(client, items, **extra):
    r = client.post("/api/v1/wears", json={"items": items, **extra})
    assert r.status_code == 201, r.json
    return r.json


def _backdate(store, item_ids, day="2020-01-01"):
    """Make items look added long ago (the store counts a never-worn item from that day)."""
    with sqlite3.connect(store.db_path) as conn:
        conn.executemany("UPDATE items SET created_at = ? WHERE id = ?",
                         [(f"{day}T12:00:00.000000+00:00", i) for i in item_ids])
    conn.close()


# ---------------------------------------------------------------------------------- wears


def test_logging_a_wear_counts_it_everywhere(client, ids):
    outfit = _outfit(ids, "shoes1", "top1", "bottom1")
    body = _wear(client, outfit)
    assert re.fullmatch(r"[a-z0-9]{12}", body["id"])
    assert body["worn_on"] == dt.date.today().isoformat()
    assert body["items"] == _outfit(ids, "top1", "bottom1", "shoes1")  # top to toe
    _wear(client, _outfit(ids, "top1", "bottom2"), date="2024-03-05")

    listing = client.get("/api/v1/wears").json
    assert listing["total"] == 2
    assert listing["counts"][ids["top1"]] == 2 and listing["counts"][ids["bottom1"]] == 1
    assert listing["counts"][ids["top2"]] == 0
    assert [w["worn_on"] for w in listing["wears"]] == [body["worn_on"], "2024-03-05"]
    assert [it["id"] for it in listing["wears"][0]["items"]] == body["items"]
    assert listing["wears"][0]["items"][0]["thumb_url"].endswith("/thumb")
    assert len(client.get("/api/v1/wears?limit=1").json["wears"]) == 1

    page = client.get("/wears").data.decode()
    assert 'data-wear="' + body["id"] + '"' in page and "2024-03-05" in page
    assert f'/api/v1/items/{ids["shoes1"]}/thumb' in page
    row = re.search(rf'<tr data-item="{ids["top1"]}">(.*?)</tr>', page, re.S)
    assert row and '<td class="num">2</td>' in row.group(1)
    assert "<script>" not in page and "style=" not in page

    item = client.get(f"/items/{ids['top1']}").data.decode()
    assert re.search(r'id="wear-count">Worn 2 times, last on ' + body["worn_on"], item)
    never = client.get(f"/items/{ids['top2']}").data.decode()
    assert 'id="wear-count">Worn 0 times.' in never


def test_a_partial_outfit_and_accessory_free_sets_are_wearable(client, ids):
    assert _wear(client, [ids["dress"], ids["shoes2"]])["items"] == [ids["dress"], ids["shoes2"]]
    assert _wear(client, [ids["top2"]])["items"] == [ids["top2"]]


def test_unworn_lists_never_worn_items_and_drops_worn_ones(client, ids, store):
    _backdate(store, ids.values())
    listed = {it["id"] for it in client.get("/api/v1/items/unworn?days=60").json["items"]}
    assert listed == set(ids.values())  # never worn, added long ago
    _wear(client, _outfit(ids, "top1", "bottom1", "shoes1"))
    long_ago = (dt.date.today() - dt.timedelta(days=200)).isoformat()
    _wear(client, _outfit(ids, "top2", "bottom2"), date=long_ago)  # worn, but long ago
    body = client.get("/api/v1/items/unworn?days=60").json
    assert body["days"] == 60
    listed = [it["id"] for it in body["items"]]
    assert set(listed) == set(ids.values()) - set(_outfit(ids, "top1", "bottom1", "shoes1"))
    assert listed.index(ids["shoes2"]) < listed.index(ids["top2"])  # longest unworn first
    # the default is 60 days; a wider window leaves out what was worn 200 days ago
    assert {it["id"] for it in client.get("/api/v1/items/unworn").json["items"]} == set(listed)
    wide = {it["id"] for it in client.get("/api/v1/items/unworn?days=300").json["items"]}
    assert ids["top2"] not in wide and ids["shoes2"] in wide

    page = client.get("/wears?days=90").data.decode()
    unworn = re.search(r'<section class="unworn" id="unworn">(.*?)</section>', page, re.S).group(1)
    assert "Not worn for 90 days" in unworn and '<option value="90" selected>' in unworn
    assert f'data-item="{ids["shoes2"]}"' in unworn and f'data-item="{ids["top1"]}"' not in unworn
    assert client.get("/wears?days=abc").status_code == 200  # a hand-edited address still works


def test_new_items_are_not_unworn(client, ids):
    assert client.get("/api/v1/items/unworn?days=60").json["items"] == []
    assert b'id="no-unworn"' in client.get("/wears").data


def test_unwearable_set_is_400(client, ids):
    err = _envelope(client.post("/api/v1/wears", json={"items": _outfit(ids, "top1", "top2")}),
                    400, "not_wearable")
    assert "not a wearable outfit" in err["message"] and err["hint"]
    err = _envelope(client.post("/api/v1/wears", json={
        "items": _outfit(ids, "dress", "bottom1")}), 400, "not_wearable")
    assert "one-piece" in err["message"]
    err = _envelope(client.post("/api/v1/wears", json={"items": [ids["untagged"]]}), 400)
    assert "no kind" in err["message"]
    assert client.get("/api/v1/wears").json["total"] == 0


def test_unknown_ids_are_404(client, ids):
    err = _envelope(client.post("/api/v1/wears", json={
        "items": [ids["top1"], "zzzzzzzzzzzz"]}), 404, "not_found")
    assert "zzzzzzzzzzzz" in err["message"]
    _envelope(client.post("/api/v1/feedback", json={
        "items": [ids["top1"], "zzzzzzzzzzzz"], "up": True}), 404, "not_found")


@pytest.mark.parametrize("body", [
    {"items": [], "date": "2024-01-01"},
    {"items": ["TOP"]},
    {"items": "abc"},
    {"date": "2024-01-01"},
    {"items": ["aaaaaaaaaaaa"], "date": "2024-13-01"},
    {"items": ["aaaaaaaaaaaa"], "date": "yesterday"},
    {"items": ["aaaaaaaaaaaa"], "extra": 1},
])
def test_bad_wear_requests_are_422(client, body):
    err = _envelope(client.post("/api/v1/wears", json=body), 422, "validation_error")
    assert err["fields"]


@pytest.mark.parametrize("up", ["yes", 1, "true", None])
def test_feedback_up_must_be_a_json_boolean(client, ids, up):
    err = _envelope(client.post("/api/v1/feedback", json={
        "items": [ids["top1"], ids["bottom1"]], "up": up}), 422, "validation_error")
    assert "up" in err["fields"]
    assert client.get("/api/v1/feedback").json["feedback"] == []


def test_bad_date_names_the_field(client, ids):
    err = _envelope(client.post("/api/v1/wears", json={"items": [ids["top1"]], "date": "2024-02-30"}),
                    422)
    assert "date" in err["fields"]


@pytest.mark.parametrize("query", ["days=-1", "days=abc", "days=1.5", "days=99999999"])
def test_bad_days_are_422(client, query):
    err = _envelope(client.get(f"/api/v1/items/unworn?{query}"), 422, "validation_error")
    assert "days" in err["fields"]


def test_bad_limit_is_422(client):
    _envelope(client.get("/api/v1/wears?limit=0"), 422, "validation_error")


# ---------------------------------------------------------------------------------- feedback


def test_feedback_is_stored_up_and_down(client, ids, store):
    a = _outfit(ids, "top1", "bottom1", "shoes1")
    b = _outfit(ids, "dress", "shoes2")
    r = client.post("/api/v1/feedback", json={"items": a, "up": True})
    assert r.status_code == 201 and r.json["up"] is True
    first = r.json["id"]
    r = client.post("/api/v1/feedback", json={"items": b, "up": False})
    assert r.status_code == 201 and r.json["up"] is False
    judged = {frozenset(fb.item_ids): fb.up for fb in store.feedback()}
    assert judged == {frozenset(a): True, frozenset(b): False}
    # a later judgement of the same items (in any order) replaces the earlier one
    r = client.post("/api/v1/feedback", json={"items": list(reversed(a)), "up": False})
    assert r.json["id"] == first
    listed = client.get("/api/v1/feedback").json["feedback"]
    assert len(listed) == 2 and all(fb["up"] is False for fb in listed)


def test_bad_feedback_is_refused(client, ids):
    _envelope(client.post("/api/v1/feedback", json={"items": [ids["top1"]], "up": True}), 422)
    _envelope(client.post("/api/v1/feedback", json={"items": _outfit(ids, "top1", "bottom1")}),
              422)
    _envelope(client.post("/api/v1/feedback", json={
        "items": _outfit(ids, "top1", "top2"), "up": True}), 400, "not_wearable")


def test_export_without_a_thumbs_up_is_a_clear_400(client, ids):
    err = _envelope(client.get("/api/v1/feedback/export"), 400)
    assert "thumbs-up" in err["message"] and "thumbs up" in err["hint"]
    client.post("/api/v1/feedback", json={"items": _outfit(ids, "dress", "shoes1"), "up": False})
    _envelope(client.get("/api/v1/feedback/export"), 400)
    assert b'id="no-feedback"' in client.get("/wears").data


def test_export_zip_is_a_dataset_that_the_loader_reads(client, ids, tmp_path):
    from data.loaders import load_dataset

    up = _outfit(ids, "top1", "bottom1", "shoes1")
    down = _outfit(ids, "top1", "bottom1")
    assert client.post("/api/v1/feedback", json={"items": up, "up": True}).status_code == 201
    assert client.post("/api/v1/feedback", json={"items": down, "up": False}).status_code == 201
    r = client.get("/api/v1/feedback/export")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert "closet-feedback.zip" in r.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        names = zf.namelist()
        assert all(n.startswith("closet-feedback/") and ".." not in n for n in names)
        assert {f"closet-feedback/images/{i}.jpg" for i in up} <= set(names)
        zf.extractall(tmp_path / "out")
    train = load_dataset(tmp_path / "out" / "closet-feedback", split="train")
    assert [set(o.item_ids) for o in train.outfits] == [set(up)]
    labels = {frozenset(q.item_ids): q.label for q in train.compatibility}
    assert labels == {frozenset(up): 1, frozenset(down): 0}
    assert b'id="export-feedback"' in client.get("/wears").data


# ---------------------------------------------------------------------------------- CSRF, spec


def test_posts_need_the_csrf_token(app_factory, photo, token_of):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = token_of(client.get("/wears").data)
    headers = {"X-CSRFToken": token}
    files = [(io.BytesIO(photo()), "a.jpg"), (io.BytesIO(photo()), "b.jpg")]
    r = client.post("/api/v1/items", data={"photos": files}, content_type=MULTI, headers=headers)
    a, b = (res["item"]["id"] for res in r.json["results"])
    for i, kind in ((a, "tops"), (b, "bottoms")):
        client.patch(f"/api/v1/items/{i}", json={"semantic_category": kind}, headers=headers)

    _envelope(client.post("/api/v1/wears", json={"items": [a, b]}), 400, "csrf_failed")
    _envelope(client.post("/api/v1/feedback", json={"items": [a, b], "up": True}), 400,
              "csrf_failed")
    assert client.post("/wears", data={"items": f"{a},{b}"}).status_code == 400
    assert client.post("/feedback", data={"items": f"{a},{b}", "up": "1"}).status_code == 400
    assert client.get("/api/v1/wears").json["total"] == 0

    assert client.post("/api/v1/wears", json={"items": [a, b]}, headers=headers).status_code == 201
    assert client.post("/api/v1/feedback", json={"items": [a, b], "up": True},
                       headers=headers).status_code == 201
    r = client.post("/wears", data={"items": f"{a},{b}", "csrf_token": token})
    assert r.status_code == 302
    assert client.get("/api/v1/wears").json["total"] == 2


def test_openapi_lists_the_wear_and_feedback_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/wears"])
    assert {"get", "post"} <= set(paths["/api/v1/feedback"])
    assert "get" in paths["/api/v1/items/unworn"] and "get" in paths["/api/v1/feedback/export"]
    assert {"201", "400", "404", "422"} <= set(paths["/api/v1/wears"]["post"]["responses"])
    assert "400" in paths["/api/v1/feedback/export"]["get"]["responses"]
    params = {p["name"] for p in paths["/api/v1/items/unworn"]["get"]["parameters"]}
    assert "days" in params


# ---------------------------------------------------------------------------------- forms


def test_page_forms_log_wears_and_feedback_without_javascript(client, ids):
    outfit = ",".join(_outfit(ids, "top1", "bottom1", "shoes1"))
    r = client.post("/wears", data={"items": outfit, "next": "/recommend?k=3"})
    assert r.status_code == 302 and r.headers["Location"] == "/recommend?k=3"
    r = client.post("/wears", data={"items": outfit, "date": "2023-05-06",
                                    "next": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == "/wears"  # never another host
    page = client.get("/wears").data.decode()
    assert "Logged 3 items as worn on 2023-05-06." in page and "2023-05-06" in page
    assert client.get("/api/v1/wears").json["total"] == 2

    r = client.post("/wears", data={"items": ",".join(_outfit(ids, "top1", "top2"))},
                    follow_redirects=True)
    assert b"Not logged: not a wearable outfit" in r.data
    r = client.post("/wears", data={"items": outfit, "date": "someday"}, follow_redirects=True)
    assert b"is not a date" in r.data
    assert client.post("/wears", data={"items": "zzzzzzzzzzzz"}).status_code == 404
    assert client.get("/api/v1/wears").json["total"] == 2

    r = client.post("/feedback", data={"items": outfit, "up": "0"}, follow_redirects=True)
    assert b"Thumbs down saved." in r.data
    r = client.post("/feedback", data={"items": ids["top1"], "up": "1"}, follow_redirects=True)
    assert b"Not saved: a thumbs up or down needs an outfit of two or more items" in r.data


def test_navigation_links_the_worn_page(client):
    html = client.get("/").data.decode()
    assert 'href="/wears"' in html and ">Worn<" in html
    assert 'aria-current="page">Worn<' in client.get("/wears").data.decode()


# ---------------------------------------------------------------------------------- with a model


def test_recommend_cards_carry_the_wear_and_thumbs_forms(mclient, photo):
    ids = upload_closet(mclient, photo, KINDS)
    html = mclient.get("/recommend?k=3").data.decode()
    cards = re.findall(r'<li class="outfit-card">(.*?)</li>\s*(?=<li class="outfit-card">|</ol>)',
                       html, re.S)
    assert len(cards) == 3
    for card in cards:
        assert re.search(r'<form method="post" action="/wears" class="wear-form">', card)
        assert re.search(r'<form method="post" action="/feedback" class="feedback-form">', card)
        assert card.count('name="csrf_token"') == 2 and "Wore this today" in card
        assert 'name="up" value="1"' in card and 'name="up" value="0"' in card
        assert 'aria-pressed="true"' not in card
    assert 'data-wear-api="/api/v1/wears"' in html and 'data-feedback-api="/api/v1/feedback"' in html
    assert "<script>" not in html

    first = re.search(r'name="items" value="([a-z0-9,]+)"', cards[0]).group(1)
    r = mclient.post("/feedback", data={"items": first, "up": "1", "next": "/recommend?k=3"})
    assert r.status_code == 302 and r.headers["Location"] == "/recommend?k=3"
    again = mclient.get("/recommend?k=3").data.decode()
    assert "Thumbs up saved." in again
    assert re.search(r'value="1" class="thumb thumb-up"[^>]*aria-pressed="true"', again)
    r = mclient.post("/wears", data={"items": first, "next": "/recommend?k=3"},
                     follow_redirects=True)
    assert b"as worn today" in r.data
    assert mclient.get(f"/items/{first.split(',')[0]}").data.decode().count("Worn 1 time") == 1
    assert ids  # the closet was made through the API


def test_builder_result_carries_the_wear_form(mclient, photo):
    ids = upload_closet(mclient, photo, KINDS)
    outfit = ",".join(_outfit(ids, "top1", "bottom1", "shoes1"))
    html = mclient.get(f"/builder?items={outfit}").data.decode()
    form = re.search(r'<form method="post" action="/wears" class="wear-form" id="wear-form">(.*?)'
                     r"</form>", html, re.S)
    assert form and 'name="csrf_token"' in form.group(1) and "Wore this today" in form.group(1)
    assert set(re.search(r'id="wear-items" value="([a-z0-9,]+)"', form.group(1)).group(1)
               .split(",")) == set(outfit.split(","))
    assert 'data-wear-api="/api/v1/wears"' in html

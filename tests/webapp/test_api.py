"""The JSON API under /api/v1: every endpoint's success path, every error in the one envelope
({"error": {"code", "message", "hint"}}), CSRF on writes, path traversal, the OpenAPI document,
and auto-tagging with a real (tiny) model."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from web_kit import envelope as _envelope

import webapp.api.items as items_module
from grader.color import COLOR_NAMES

MULTI = "multipart/form-data"




def _post_photos(client, *files, headers=None):
    data = {"photos": [(io.BytesIO(data), name) for data, name in files]}
    return client.post("/api/v1/items", data=data, content_type=MULTI, headers=headers or {})


# ----------------------------------------------------------------------------- success paths


def test_health(client, add_items):
    add_items(2)
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json["status"] == "ok" and r.json["items"] == 2
    assert r.json["model"]["path"] is None and "No model" in r.json["model"]["status"]


def test_upload_stores_each_photo_and_lists_it(client, store, photo):
    r = _post_photos(client, (photo(), "shirt.jpg"), (photo("PNG"), "jeans.png"),
                     (photo("WEBP"), "hat.webp"))
    assert r.status_code == 201
    assert r.json["created"] == 3 and r.json["failed"] == 0
    assert [x["file"] for x in r.json["results"]] == ["shirt.jpg", "jeans.png", "hat.webp"]
    ids = [x["item"]["id"] for x in r.json["results"]]
    assert all(x["ok"] for x in r.json["results"])
    assert "automatic tagging is off" in r.json["results"][0]["tagging"]  # untagged, and says why
    assert store.count() == 3
    listed = client.get("/api/v1/items").json
    assert listed["total"] == 3 and sorted(i["id"] for i in listed["items"]) == sorted(ids)
    assert "stored_name" not in listed["items"][0]


def test_get_item(client, add_items):
    item = add_items()[0]
    r = client.get(f"/api/v1/items/{item['id']}")
    assert r.status_code == 200
    assert r.json["id"] == item["id"] and r.json["original_name"] == "photo0.jpg"
    assert r.json["photo_url"] == f"/api/v1/items/{item['id']}/photo"
    assert r.json["width"] == 64 and r.json["height"] == 48


def test_patch_sets_tags_by_hand_and_wash(client, add_items, store):
    item = add_items()[0]
    r = client.patch(f"/api/v1/items/{item['id']}",
                     json={"semantic_category": "tops", "category": "shirt", "color": "navy",
                           "pattern": "stripes", "in_wash": True})
    assert r.status_code == 200
    body = r.json
    assert (body["semantic_category"], body["category"], body["color"], body["pattern"]) == (
        "tops", "shirt", "navy", "stripes")
    assert body["slot"] == "upper" and body["in_wash"] is True
    assert body["color_edited"] is True and body["color_confidence"] is None
    assert store.get(item["id"]).in_wash is True
    cleared = client.patch(f"/api/v1/items/{item['id']}", json={"color": None, "in_wash": False})
    assert cleared.json["color"] is None and cleared.json["in_wash"] is False


def test_list_filters_and_paging(client, add_items):
    a, b, c = add_items(3)
    client.patch(f"/api/v1/items/{a['id']}", json={"semantic_category": "tops", "color": "navy"})
    client.patch(f"/api/v1/items/{b['id']}", json={"semantic_category": "shoes", "color": "red",
                                                  "pattern": "dots", "in_wash": True})
    client.patch(f"/api/v1/items/{c['id']}", json={"name": "Sunday best", "color": "Navy"})

    def ids(query):
        r = client.get(f"/api/v1/items?{query}")
        assert r.status_code == 200, r.json
        return sorted(i["id"] for i in r.json["items"]), r.json["total"]

    assert ids("slot=upper") == ([a["id"]], 1)
    assert ids("color=navy") == (sorted([a["id"], c["id"]]), 2)  # case-insensitive
    assert ids("pattern=dots") == ([b["id"]], 1)
    assert ids("available=false") == ([b["id"]], 1)
    assert ids("available=true")[1] == 2
    assert ids("q=sunday") == ([c["id"]], 1)
    page = client.get("/api/v1/items?limit=2&offset=2").json
    assert page["total"] == 3 and len(page["items"]) == 1 and page["limit"] == 2
    assert page["items"][0]["id"] == a["id"]  # newest first: a is the oldest


def test_delete_removes_item_and_files(client, add_items, store):
    item = add_items()[0]
    photo_path, thumb_path = store.photo_path(item["id"]), store.thumb_path(item["id"])
    r = client.delete(f"/api/v1/items/{item['id']}")
    assert r.status_code == 204 and r.data == b""
    assert not photo_path.exists() and not thumb_path.exists()
    _envelope(client.get(f"/api/v1/items/{item['id']}"), 404, "not_found")


@pytest.mark.parametrize("kind, longest", [("photo", 64), ("thumb", 64)])
def test_photo_and_thumb_are_jpeg(client, add_items, kind, longest):
    item = add_items()[0]
    with client.get(f"/api/v1/items/{item['id']}/{kind}") as r:  # closes the file it sent
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        with Image.open(io.BytesIO(r.data)) as im:
            assert im.format == "JPEG" and max(im.size) == longest
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_thumb_is_small(client, photo):
    r = _post_photos(client, (photo(size=(900, 600)), "big.jpg"))
    item_id = r.json["results"][0]["item"]["id"]
    with client.get(f"/api/v1/items/{item_id}/thumb") as r, Image.open(io.BytesIO(r.data)) as im:
        assert im.size == (256, 171)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("method, suffix", [("get", ""), ("patch", ""), ("delete", ""),
                                            ("get", "/photo"), ("get", "/thumb")])
def test_unknown_id_is_404_envelope(client, method, suffix):
    kw = {"json": {"color": "red"}} if method == "patch" else {}
    r = getattr(client, method)(f"/api/v1/items/abcdefabcdef{suffix}", **kw)
    error = _envelope(r, 404, "not_found")
    assert "abcdefabcdef" in error["message"]


@pytest.mark.parametrize("query, field", [
    ("slot=moon", "slot"), ("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"),
    ("offset=-1", "offset"), ("available=maybe", "available"), ("color=" + "x" * 65, "color"),
    ("q=" + "w" * 201, "q")])
def test_bad_filter_is_422_with_fields(client, query, field):
    error = _envelope(client.get(f"/api/v1/items?{query}"), 422, "validation_error")
    assert field in error["fields"] and field in error["message"]


@pytest.mark.parametrize("body, field", [
    ({"semantic_category": "spaceship"}, "semantic_category"), ({"in_wash": "maybe"}, "in_wash"),
    ({"color": "c" * 65}, "color"), ({"owner": "me"}, "owner"), ({"category": 3}, "category"),
    ({"in_wash": "yes"}, "in_wash"), ({"in_wash": 1}, "in_wash"), ({"in_wash": "true"}, "in_wash"),
    ({}, "_schema")])
def test_bad_patch_is_422(client, add_items, store, body, field):
    item = add_items()[0]
    before = store.get(item["id"])
    error = _envelope(client.patch(f"/api/v1/items/{item['id']}", json=body), 422,
                      "validation_error")
    assert field in error["fields"]
    assert store.get(item["id"]) == before


def test_malformed_json_is_400(client, add_items):
    item = add_items()[0]
    r = client.patch(f"/api/v1/items/{item['id']}", data="{not json",
                     content_type="application/json")
    _envelope(r, 400)


def test_duplicate_upload_is_409(client, photo, store):
    data = photo()
    first = _post_photos(client, (data, "a.jpg"))
    existing = first.json["results"][0]["item"]["id"]
    r = _post_photos(client, (data, "again.jpg"))
    error = _envelope(r, 409, "duplicate_photo")
    assert error["existing_id"] == existing and existing in error["message"]
    assert r.json["results"][0]["ok"] is False and r.json["created"] == 0
    assert store.count() == 1


def test_oversized_upload_is_413_with_a_sentence(app_factory):
    client = app_factory(MAX_CONTENT_LENGTH=20_000).test_client()
    buf = io.BytesIO()
    Image.frombytes("RGB", (120, 120), os.urandom(120 * 120 * 3)).save(buf, "PNG")  # noise
    big = buf.getvalue()
    assert len(big) > 20_000
    error = _envelope(_post_photos(client, (big, "big.png")), 413, "too_large")
    assert error["message"].endswith(".") and "limit" in error["message"]
    assert client.get("/api/v1/items").json["total"] == 0


def test_bad_file_refused_while_good_file_succeeds(client, photo, store):
    r = _post_photos(client, (b"<html><script>alert(1)</script></html>", "evil.jpg"),
                     (photo(), "good.jpg"), (b"", "empty.png"))
    assert r.status_code == 201
    bad, good, empty = r.json["results"]
    assert bad["ok"] is False and bad["error"]["code"] == "bad_image"
    assert "evil.jpg" in bad["error"]["message"]
    assert good["ok"] is True and store.get(good["item"]["id"]).original_name == "good.jpg"
    assert empty["ok"] is False and "empty" in empty["error"]["message"]
    assert r.json["created"] == 1 and r.json["failed"] == 2 and store.count() == 1


def test_upload_of_only_bad_files_is_400(client):
    r = _post_photos(client, (b"nope", "a.jpg"), (b"GIF89a", "b.gif"))
    error = _envelope(r, 400, "upload_failed")
    assert "None of the 2 files" in error["message"] and len(r.json["results"]) == 2


def test_upload_without_photos_field_is_422(client):
    r = client.post("/api/v1/items", data={"other": "x"}, content_type=MULTI)
    assert "photos" in _envelope(r, 422, "validation_error")["fields"]


def test_unknown_route_and_method_use_the_envelope(client):
    _envelope(client.get("/api/v1/nothing-here"), 404, "not_found")
    _envelope(client.put("/api/v1/items"), 405, "method_not_allowed")


def test_unexpected_error_is_500_envelope_without_internals(client, add_items, monkeypatch):
    item = add_items()[0]

    def boom(*a, **k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(items_module, "item_json", boom)
    error = _envelope(client.get(f"/api/v1/items/{item['id']}"), 500, "internal_error")
    assert "secret" not in json.dumps(error)


# ----------------------------------------------------------------------------- path traversal


TRAVERSALS = [
    "/api/v1/items/..%2F..%2Fetc%2Fpasswd/photo",
    "/api/v1/items/..%2F..%2Fsecret.txt/photo",
    "/api/v1/items/../../secret.txt/photo",
    "/api/v1/items/%2e%2e%2f%2e%2e%2fsecret.txt/thumb",
    "/api/v1/items/abc.def.ghij/photo",
    "/api/v1/items/ABCDEFGHIJKL/photo",
    "/api/v1/items/abcdefabcde/photo",
    "/api/v1/items/abcdefabcdefa/thumb",
    "/api/v1/items/abc%00defabcd/photo",
    "/api/v1/items/..%5C..%5Csecret.txt/photo",
    "/items/..%2F..%2Fsecret.txt",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_path_traversal_is_404_and_reads_nothing(client, tmp_path, add_items, monkeypatch, url):
    add_items()
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    served: list[Path] = []
    real = items_module.send_file
    monkeypatch.setattr(items_module, "send_file",
                        lambda path, *a, **k: served.append(Path(path)) or real(path, *a, **k))
    r = client.get(url)
    assert r.status_code == 404
    assert b"TOP-SECRET" not in r.data and b"root:" not in r.data
    assert served == []


def test_files_are_served_only_from_the_store(client, add_items, store, monkeypatch):
    item = add_items()[0]
    served: list[Path] = []
    real = items_module.send_file
    monkeypatch.setattr(items_module, "send_file",
                        lambda path, *a, **k: served.append(Path(path)) or real(path, *a, **k))
    for kind in ("photo", "thumb"):
        with client.get(f"/api/v1/items/{item['id']}/{kind}") as r:
            assert r.status_code == 200
    assert [p.parent for p in served] == [store.photos_dir, store.thumbs_dir]


# ----------------------------------------------------------------------------- CSRF


def test_api_writes_need_the_csrf_token(app_factory, photo):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    refused = _post_photos(client, (photo(), "a.jpg"))
    assert "token" in _envelope(refused, 400, "csrf_failed")["message"].lower()
    assert client.get("/api/v1/items").json["total"] == 0

    page = client.get("/upload")  # the token lives in the page's meta tag (and the session)
    token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    ok = _post_photos(client, (photo(), "a.jpg"), headers={"X-CSRFToken": token})
    assert ok.status_code == 201
    item_id = ok.json["results"][0]["item"]["id"]

    _envelope(client.patch(f"/api/v1/items/{item_id}", json={"color": "red"}), 400, "csrf_failed")
    _envelope(client.delete(f"/api/v1/items/{item_id}"), 400, "csrf_failed")
    r = client.patch(f"/api/v1/items/{item_id}", json={"color": "red"},
                     headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json["color"] == "red"
    assert client.delete(f"/api/v1/items/{item_id}", headers={"X-CSRFToken": token}).status_code == 204
    assert client.get("/api/v1/health").status_code == 200  # reads need no token


# ----------------------------------------------------------------------------- OpenAPI


def test_openapi_document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = json.loads(r.data)
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/items"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/items/{item_id}"])
    for p in ("/api/v1/items/{item_id}/photo", "/api/v1/items/{item_id}/thumb", "/api/v1/health"):
        assert "get" in paths[p]
    param = next(p for p in paths["/api/v1/items/{item_id}"]["parameters"] if p["name"] == "item_id")
    assert param["schema"]["pattern"] == "^[a-z0-9]{12}$"
    post = paths["/api/v1/items"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert set(post["responses"]) >= {"201", "400", "409", "413"}
    error = spec["components"]["schemas"]["Error"]
    assert "error" in error["properties"]
    query = {p["name"] for p in paths["/api/v1/items"]["get"]["parameters"]}
    assert query >= {"slot", "color", "pattern", "available", "q", "limit", "offset"}


# ----------------------------------------------------------------------------- tagging


def _world_photo(tiny_world: Path) -> bytes:
    return next(iter(sorted((tiny_world / "images").glob("*.jpg")))).read_bytes()


@pytest.mark.slow
def test_upload_is_tagged_by_a_real_model(app_factory, tiny_model, tiny_world, store):
    client = app_factory(MODEL=tiny_model, AUTO_TAG=True).test_client()
    r = _post_photos(client, (_world_photo(tiny_world), "item.jpg"))
    assert r.status_code == 201
    result = r.json["results"][0]
    assert result["tagging"] == "tagged"
    item = result["item"]
    assert item["category"] and item["color"] in COLOR_NAMES and item["pattern"]
    for tag in ("category", "color", "pattern", "semantic_category"):
        assert 0 < item[f"{tag}_confidence"] <= 1 and item[f"{tag}_edited"] is False
    assert store.mask_path(item["id"]) is not None
    # The shipped tagger tagged it: the grader is not even loaded for that.
    health = client.get("/api/v1/health").json
    assert health["model"]["loaded"] is False and health["model"]["path"] == str(tiny_model)


def test_uploads_are_not_tagged_when_automatic_tagging_is_off(app_factory, store, photo):
    r = _post_photos(app_factory(AUTO_TAG=False).test_client(), (photo(), "a.jpg"))
    assert r.status_code == 201
    assert "automatic tagging is off" in r.json["results"][0]["tagging"]
    item = store.get(r.json["results"][0]["item"]["id"])
    assert item.category is None and store.mask_path(item.id) is None


def test_an_uploaded_photo_gets_its_garment_cut_out(app_factory, store):
    """A red garment on a quilt: tagged red, its mask kept, the cut-out transparent around it."""
    import io

    from PIL import Image

    from tests.grader.test_mask import _scene

    scene, truth = _scene("bed", garment=(190, 25, 35))
    buf = io.BytesIO()
    scene.save(buf, "PNG")
    client = app_factory(AUTO_TAG=True).test_client()
    r = _post_photos(client, (buf.getvalue(), "red.png"))
    item = r.json["results"][0]["item"]
    assert item["color"] == "red"
    cut = client.get(f"/api/v1/items/{item['id']}/cutout")
    assert cut.status_code == 200 and cut.mimetype == "image/png"
    alpha = np.asarray(Image.open(io.BytesIO(cut.data)).convert("RGBA"))[..., 3] > 0
    small = np.asarray(Image.fromarray(truth).resize(alpha.shape[::-1]))
    assert (alpha & small).sum() / (alpha | small).sum() >= 0.8
    client.delete(f"/api/v1/items/{item['id']}")
    assert not list((store.folder / "masks").glob("*.png"))  # deleted with its item


@pytest.mark.slow
def test_newest_model_in_the_instance_is_the_default(app_factory, tiny_model, tmp_path):
    models = tmp_path / "home" / "models"
    shutil.copytree(tiny_model, models / "demo")
    (models / "empty").mkdir()  # no model.pt: not a model
    client = app_factory().test_client()
    assert client.get("/api/v1/health").json["model"]["path"] == str(models / "demo")

"""The whole closet as a zip in the web app: GET /api/v1/closet/export (a download streamed from
a temporary file that is never left behind), POST /api/v1/closet/import (the report, or a 400
saying what is wrong with the file and a closet left as it was), the export link and import
form of the closet page, CSRF on both imports, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import random
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from web_kit import envelope as _envelope

MULTI = "multipart/form-data"
EXPORT, IMPORT = "/api/v1/closet/export", "/api/v1/closet/import"


def _files(store) -> list[str]:
    """Every file and folder of the instance folder (the database's WAL files aside: they come
    and go with connections)."""
    return sorted(str(p.relative_to(store.folder)) for p in store.folder.rglob("*")
                  if not p.name.startswith("closet.db-"))


def _state(client) -> list[dict]:
    return client.get("/api/v1/items?limit=200").json["items"]


def _export(client) -> bytes:
    with client.get(EXPORT) as r:  # closed, as a server closes it: the file handle with it
        assert r.status_code == 200, r.data[:300]
        return r.data


def _photo_bytes(client, item_id: str, kind: str = "photo") -> bytes:
    with client.get(f"/api/v1/items/{item_id}/{kind}") as r:
        assert r.status_code == 200
        return r.data


def _import(client, data: bytes, name: str = "closet.zip", url: str = IMPORT, **kwargs):
    return client.post(url, data={"archive": (io.BytesIO(data), name)}, content_type=MULTI,
                       **kwargs)


@pytest.fixture
def closet(client, add_items):
    """Three items in the first app: two tagged as a top and a bottom, worn once together and
    liked; the third in the wash. Their ids."""
    items = add_items(3)
    ids = [i["id"] for i in items]
    for item_id, body in zip(ids, ({"semantic_category": "tops", "color": "navy", "name": "shirt"},
                                   {"semantic_category": "bottoms", "pattern": "striped"},
                                   {"in_wash": True}), strict=True):
        assert client.patch(f"/api/v1/items/{item_id}", json=body).status_code == 200
    assert client.post("/api/v1/wears", json={"items": ids[:2], "date": "2024-05-01"}
                       ).status_code == 201
    assert client.post("/api/v1/feedback", json={"items": ids[:2], "up": True}).status_code == 201
    return ids


@pytest.fixture
def other(app_factory, tmp_path, photo):
    """A second app on another instance folder, with one item of its own."""
    app = app_factory(OUTFIT_HOME=tmp_path / "other")
    client = app.test_client()
    r = client.post("/api/v1/items", data={"photos": [(io.BytesIO(photo()), "mine.jpg")]},
                    content_type=MULTI)
    assert r.status_code == 201
    return client, app.extensions["outfit"].store


# ----------------------------------------------------------------------------- export


def test_export_is_a_dated_zip_download_of_the_whole_closet(client, closet, store):
    before = _files(store)
    with client.get(EXPORT) as r:
        data = r.data
    assert r.status_code == 200 and r.mimetype == "application/zip"
    today = dt.date.today().isoformat()
    assert r.headers["Content-Disposition"] == f'attachment; filename="closet-{today}.zip"'
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Closet-Items"] == "3" and r.headers["X-Closet-Left-Out"] == ""
    assert int(r.headers["Content-Length"]) == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert set(zf.namelist()) == {"manifest.json", "closet.db",
                                      *(f"photos/{i}.jpg" for i in closet)}
    assert _files(store) == before  # the temporary zip is gone


def test_export_names_items_left_out_for_a_missing_photo(client, closet, store):
    store.photo_path(closet[2]).unlink()
    with client.get(EXPORT) as r:
        data = r.data
    assert r.headers["X-Closet-Items"] == "2" and r.headers["X-Closet-Left-Out"] == closet[2]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert f"photos/{closet[2]}.jpg" not in zf.namelist()


def _open_downloads() -> list[str]:
    """The temporary exports this process holds open (Linux: /proc/self/fd)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if ".download-" in target:
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_an_abandoned_download_leaves_no_file_behind(client, closet, store):
    before = _files(store)
    r = client.get(EXPORT, buffered=False)
    first = next(iter(r.response))  # the client reads a little, then goes away
    assert first.startswith(b"PK")
    assert _files(store) == before  # already off the disk while it streams...
    assert len(_open_downloads()) == 1  # ...read through the one open handle
    r.close()  # what a WSGI server does when the client disconnects
    assert _open_downloads() == []
    assert _files(store) == before


# ----------------------------------------------------------------------------- import


def test_round_trip_into_another_closet_and_a_second_import_adds_nothing(client, closet, store,
                                                                         other):
    data = _export(client)
    client2, store2 = other
    r = _import(client2, data)
    assert r.status_code == 200, r.json
    report = r.json
    assert sorted(report["added"]) == sorted(closet)
    assert (report["skipped"], report["wears_added"], report["feedback_added"]) == (0, 1, 1)
    assert report["summary"].startswith("3 items added;")
    assert store2.count() == 4
    for item_id in closet:
        mine = client.get(f"/api/v1/items/{item_id}").json
        theirs = client2.get(f"/api/v1/items/{item_id}").json
        photo = _photo_bytes(client2, item_id)  # re-encoded, as an upload is
        assert theirs.pop("sha256") == hashlib.sha256(photo).hexdigest() and mine.pop("sha256")
        assert theirs == mine  # tags, confidences, flags, times, the uploaded file's checksum
        assert photo.startswith(b"\xff\xd8")
        assert _photo_bytes(client2, item_id, "thumb").startswith(b"\xff\xd8")  # rebuilt
    assert store2.get(closet[0]).color == "navy" and store2.get(closet[2]).in_wash is True
    counts = store2.wear_counts()
    assert {i: counts[i] for i in closet} == store.wear_counts() == {closet[0]: 1, closet[1]: 1,
                                                                     closet[2]: 0}
    assert [f.item_ids for f in store2.feedback()] == [f.item_ids for f in store.feedback()]
    assert store2.integrity_report()["ok"]

    items, files = _state(client2), _files(store2)
    again = _import(client2, data)
    assert again.status_code == 200
    assert again.json["added"] == [] and again.json["skipped"] == 3
    assert (again.json["wears_added"], again.json["feedback_added"]) == (0, 0)
    assert "already in this closet" in again.json["skipped_reason"]
    assert _state(client2) == items and _files(store2) == files


def _zip_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, payload in members:
            zf.writestr(name, payload)
    return out.getvalue()


def _rezip(data: bytes, extra: list[tuple[str, bytes]]) -> bytes:
    """A copy of the zip ``data`` with ``extra`` (name, bytes) members added."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        members = [(info.filename, zin.read(info)) for info in zin.infolist()]
    return _zip_of(members + extra)


@pytest.mark.parametrize("case,message", [
    ("text", "notes.zip: not a readable zip archive"),
    ("empty", "notes.zip: the file is empty"),
    ("truncated", "notes.zip: not a readable zip archive"),
    ("traversal", "notes.zip: unexpected member '../evil'"),
    ("absolute", "notes.zip: unexpected member '/tmp/evil.jpg'"),
    ("foreign", "notes.zip: unexpected member 'readme.txt'"),
])
def test_a_bad_file_is_refused_with_the_closet_unchanged(client, closet, other, tmp_path, case,
                                                         message):
    data = _export(client)
    bad = {
        "text": lambda: b"<html>a web page, not a zip</html>",
        "empty": lambda: b"",
        "truncated": lambda: data[: len(data) // 2],
        "traversal": lambda: _rezip(data, [("../evil", b"gotcha")]),
        "absolute": lambda: _rezip(data, [("/tmp/evil.jpg", b"gotcha")]),
        "foreign": lambda: _zip_of([("readme.txt", b"hello")]),
    }[case]()
    client2, store2 = other
    items, files = _state(client2), _files(store2)
    error = _envelope(_import(client2, bad, name="notes.zip"), 400, "bad_request")
    assert error["message"].startswith(message), error
    assert str(store2.folder) not in error["message"]  # the server's temporary copy is not named
    assert error["hint"]
    assert _state(client2) == items and len(items) == 1
    assert _files(store2) == files  # no item, photo or temporary file written
    assert not any(p.name == "evil" for p in tmp_path.rglob("*"))


def _altered_db(data: bytes, tmp_path: Path, *statements: str) -> bytes:
    """The database of closet zip ``data`` after ``statements`` (foreign keys off)."""
    db = tmp_path / "altered.db"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        db.write_bytes(zf.read("closet.db"))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return db.read_bytes()


_COPY_ITEMS = ("CREATE TABLE items_copy AS SELECT * FROM items", "DROP TABLE wear_items",
               "DROP TABLE feedback_items", "DROP TABLE features", "DROP TABLE items")
_BAD_DBS = {  # case: (the database, what the message says)
    "random-bytes": (lambda data, tmp: random.Random(0).randbytes(8192),
                     "closet.db is not a readable database"),
    "truncated": (lambda data, tmp: _altered_db(data, tmp)[:4096],
                  "closet.db is not a readable database"),
    "other-tables": (lambda data, tmp: _altered_db(
        data, tmp, "DROP TABLE wear_items", "CREATE TABLE shoes (x)"),
        "closet.db does not have the closet's tables"),
    "other-columns": (lambda data, tmp: _altered_db(
        data, tmp, *_COPY_ITEMS, "CREATE TABLE items AS SELECT id, sha256 FROM items_copy",
        "DROP TABLE items_copy", "CREATE TABLE wear_items (wear_id, item_id)",
        "CREATE TABLE feedback_items (feedback_id, item_id)", "CREATE TABLE features (x)"),
        "closet.db is not a closet database (no such column"),
    "version-1-with-later-tables": (lambda data, tmp: _altered_db(data, tmp, "PRAGMA user_version = 1"),
                                    "closet.db is not a closet database (duplicate column"),
    "an-item-twice": (lambda data, tmp: _altered_db(
        data, tmp, *_COPY_ITEMS, "ALTER TABLE items_copy RENAME TO items",
        "INSERT INTO items SELECT * FROM items LIMIT 1",
        "CREATE TABLE wear_items (wear_id, item_id)",
        "CREATE TABLE feedback_items (feedback_id, item_id)", "CREATE TABLE features (x)"),
        "appears twice in closet.db"),
}


@pytest.mark.parametrize("case", list(_BAD_DBS))
def test_a_malformed_database_in_the_zip_is_a_400_with_nothing_stored(client, closet, other,
                                                                      tmp_path, case):
    data = _export(client)
    make, message = _BAD_DBS[case]
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        members = [(i.filename, make(data, tmp_path) if i.filename == "closet.db"
                    else zin.read(i)) for i in zin.infolist()]
    client2, store2 = other
    items, files = _state(client2), _files(store2)
    error = _envelope(_import(client2, _zip_of(members), name="notes.zip"), 400, "bad_request")
    assert error["message"].startswith("notes.zip: ") and message in error["message"], error
    assert str(store2.folder) not in error["message"] and error["hint"]
    assert _state(client2) == items and _files(store2) == files


def test_import_without_a_file_is_422(client):
    error = _envelope(client.post(IMPORT, data={}, content_type=MULTI), 422, "validation_error")
    assert "archive" in error["fields"]


def test_an_archive_has_its_own_limit_above_the_photo_limit(app_factory, client, closet,
                                                              tmp_path):
    """A closet's archive is larger than any one upload of photos: it is measured against
    MAX_IMPORT_LENGTH, not MAX_CONTENT_LENGTH."""
    data = _export(client)
    other = app_factory(OUTFIT_HOME=tmp_path / "other", MAX_CONTENT_LENGTH=len(data) // 2)
    r = _import(other.test_client(), data)
    assert r.status_code == 200, r.json
    assert other.extensions["outfit"].store.count() == len(r.json["added"]) > 0


def test_an_archive_over_the_size_limit_is_413(app_factory, client, closet, tmp_path):
    data = _export(client)
    small = app_factory(OUTFIT_HOME=tmp_path / "small", MAX_IMPORT_LENGTH=len(data) // 2)
    small_client, small_store = small.test_client(), small.extensions["outfit"].store
    files = _files(small_store)
    error = _envelope(_import(small_client, data), 413, "too_large")
    assert "limit" in error["message"]
    page = _import(small_client, data, url="/closet/import")
    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "limit" in page.get_data(as_text=True) and "Traceback" not in page.get_data(as_text=True)
    assert small_store.count() == 0 and _files(small_store) == files


# ----------------------------------------------------------------------------- the closet page


def test_closet_page_has_the_export_link_and_import_form(client, add_items):
    html = client.get("/").get_data(as_text=True)
    assert 'action="/closet/import"' in html and 'enctype="multipart/form-data"' in html
    assert 'name="archive" type="file" accept=".zip,application/zip"' in html
    assert EXPORT not in html  # nothing to export from an empty closet
    add_items(1)
    html = client.get("/").get_data(as_text=True)
    assert f'href="{EXPORT}" download>Export closet</a>' in html


def test_import_form_shows_the_report_or_the_error_on_the_page(client, closet, other):
    data = _export(client)
    client2, store2 = other
    r = _import(client2, data, url="/closet/import", follow_redirects=True)
    assert r.status_code == 200 and r.request.path == "/"
    html = r.get_data(as_text=True)
    assert "Closet imported: 3 items added; 1 wear and 1 outfit judgement added." in html
    assert "4 items" in html and store2.count() == 4

    html = _import(client2, data, url="/closet/import", follow_redirects=True).get_data(as_text=True)
    assert "Closet imported: 0 items added; 3 items skipped, already in this closet" in html

    r = _import(client2, b"just text", name="notes.zip", url="/closet/import",
                follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Traceback" not in html
    assert re.search(r'flash-error">Nothing was imported: notes.zip: not a readable zip archive',
                     html)
    assert store2.count() == 4

    r = client2.post("/closet/import", data={}, content_type=MULTI, follow_redirects=True)
    assert "Choose a zip file made by Export closet to import." in r.get_data(as_text=True)


def test_imports_need_the_csrf_token(app_factory, client, closet, tmp_path, token_of):
    data = _export(client)
    guarded = app_factory(OUTFIT_HOME=tmp_path / "guarded", WTF_CSRF_ENABLED=True)
    gclient, gstore = guarded.test_client(), guarded.extensions["outfit"].store

    _envelope(_import(gclient, data), 400, "csrf_failed")
    refused = _import(gclient, data, url="/closet/import")
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "token" in refused.get_data(as_text=True)
    assert gstore.count() == 0

    page = gclient.get("/").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = gclient.post("/closet/import", data={"archive": (io.BytesIO(data), "closet.zip"),
                                             "csrf_token": form_token}, content_type=MULTI)
    assert r.status_code == 302 and gstore.count() == 3
    again = _import(gclient, data, headers={"X-CSRFToken": token_of(page)})
    assert again.status_code == 200 and again.json["skipped"] == 3


# ----------------------------------------------------------------------------- OpenAPI


def test_openapi_documents_export_and_import(client):
    spec = client.get("/api/v1/openapi.json").json
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    export = paths[EXPORT]["get"]
    assert "application/zip" in export["responses"]["200"]["content"]
    assert {"X-Closet-Items", "X-Closet-Left-Out"} <= set(export["responses"]["200"]["headers"])
    post = paths[IMPORT]["post"]
    body = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = schemas[body["$ref"].rsplit("/", 1)[-1]]
    assert form["required"] == ["archive"] and form["properties"]["archive"]["format"] == "binary"
    report = schemas[post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                     .rsplit("/", 1)[-1]]
    assert {"added", "skipped", "skipped_reason", "summary"} <= set(report["properties"])
    assert set(post["responses"]) >= {"200", "400", "413", "422"}
    assert post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Error")

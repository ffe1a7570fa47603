"""Season and formality in the closet: the schema step that adds them (an older database and an
older archive keep every item), the store's checks, the API and the item page that set them,
the demo closet's tags, and the recommender's season and occasion filters on a real closet."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from web_kit import envelope

import recommender.problem as problem_mod
from closet.schema import _TABLES, CHOICE_TAGS, DB_NAME, MIGRATIONS, SCHEMA_VERSION
from closet.store import ArchiveError, Store, StoreError
from outfit.vocab import FORMALITIES, SEASONS
from recommender.problem import SearchProblem

MULTI = "multipart/form-data"
OLD_VERSION = 1  # the schema version before season and formality


# ----------------------------------------------------------------------------- helpers


def _as_old_version(src: Path, dst: Path) -> None:
    """Write ``dst``: the closet database ``src`` as the previous version of the app kept it,
    made by the steps that version shipped, holding every row of ``src`` (no season or
    formality: that version had no such columns)."""
    conn = sqlite3.connect(dst, isolation_level=None)
    try:
        for step in MIGRATIONS[:OLD_VERSION]:
            for statement in step:
                conn.execute(statement)
        conn.execute("ATTACH DATABASE ? AS src", (str(src),))
        for table in _TABLES:
            cols = ", ".join(r[1] for r in conn.execute(f"PRAGMA main.table_info({table})"))
            conn.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM src.{table}")
        conn.execute("DETACH DATABASE src")
        conn.execute(f"PRAGMA user_version = {OLD_VERSION}")
    finally:
        conn.close()


def _columns(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[1] for r in conn.execute("PRAGMA table_info(items)")}
    finally:
        conn.close()


def _version(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def small_closet(tmp_path, photo):
    """A store of three tagged items, a wear and a judgement: (store, [ids])."""
    store = Store(tmp_path / "closet")
    kinds = [("tops", "shirt", "navy"), ("bottoms", "jeans", "denim"), ("shoes", "boots", "black")]
    ids = [store.add_photo(photo(), f"{cat}.jpg", {"semantic_category": kind, "category": cat,
                                                   "color": color, "name": f"my {cat}"}).id
           for kind, cat, color in kinds]
    store.set_in_wash(ids[1], True)
    store.log_wear(ids[:2], "2024-03-01")
    store.add_feedback(ids, up=True)
    return store, ids


# ------------------------------------------------------------------------ the schema


def test_an_old_database_upgrades_keeping_every_item_and_value(small_closet, tmp_path):
    store, ids = small_closet
    before = {i: store.get(i) for i in ids}
    old = tmp_path / "old"
    for d in ("images", "thumbs"):  # the photos travel with the database
        (old / d).mkdir(parents=True)
        for p in (store.folder / d).iterdir():
            (old / d / p.name).write_bytes(p.read_bytes())
    _as_old_version(store.db_path, old / DB_NAME)
    assert _version(old / DB_NAME) == OLD_VERSION and not {"season", "formality"} & _columns(
        old / DB_NAME)

    upgraded = Store(old)
    assert _version(upgraded.db_path) == SCHEMA_VERSION == OLD_VERSION + 1
    assert {"season", "formality"} <= _columns(upgraded.db_path)
    for i in ids:  # every value kept; the new tags unknown
        assert upgraded.get(i) == dataclasses.replace(before[i], season=None, formality=None)
    assert upgraded.wear_counts() == store.wear_counts() and upgraded.wear_counts()[ids[0]] == 1
    assert [(f.item_ids, f.up) for f in upgraded.feedback()] == [(tuple(sorted(ids)), True)]
    assert upgraded.integrity_report()["ok"]
    assert upgraded.update_tags(ids[0], season="winter").season == "winter"
    Store(old)  # a second open finds nothing left to do
    assert upgraded.get(ids[0]).season == "winter" and _version(upgraded.db_path) == SCHEMA_VERSION


def test_the_database_accepts_exactly_the_vocabularies(small_closet):
    """The step's CHECKs spell the values out; they must stay the vocabularies'."""
    store, ids = small_closet
    conn = sqlite3.connect(store.db_path)
    try:
        for column, values in CHOICE_TAGS.items():
            for value in (*values, None):
                conn.execute(f"UPDATE items SET {column} = ? WHERE id = ?", (value, ids[0]))
            for bad in ("spring", "Winter", ""):
                with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
                    conn.execute(f"UPDATE items SET {column} = ? WHERE id = ?", (bad, ids[0]))
    finally:
        conn.close()


def test_one_vocabulary_for_the_closet_and_the_recommender():
    assert CHOICE_TAGS == {"season": SEASONS, "formality": FORMALITIES}
    assert tuple(problem_mod._SEASONS) == SEASONS
    assert tuple(problem_mod._OCCASIONS) == FORMALITIES
    for table in (problem_mod._SEASONS, problem_mod._OCCASIONS):  # accepts only known words
        assert set().union(*table.values()) <= set(SEASONS) | set(FORMALITIES)


# ----------------------------------------------------------------------------- the store


def test_store_sets_clears_and_refuses_season_and_formality(small_closet):
    store, ids = small_closet
    before = store.get(ids[0])
    rec = store.update_tags(ids[0], season=" Winter ", formality="smart")
    assert (rec.season, rec.formality) == ("winter", "smart") and rec.updated_at > before.updated_at
    assert dataclasses.replace(rec, season=None, formality=None,  # nothing else changed
                               updated_at=before.updated_at) == before
    for tag, bad in (("season", "spring"), ("formality", "black tie")):
        with pytest.raises(StoreError) as err:
            store.update_tags(ids[0], **{tag: bad})
        assert repr(bad) in err.value.message and tag in err.value.message
        assert ", ".join(CHOICE_TAGS[tag]) in err.value.hint
    with pytest.raises(StoreError, match="unknown"):
        store.update_tags(ids[0], season="winter", formality="party")  # all or nothing
    assert store.get(ids[0]) == rec
    cleared = store.update_tags(ids[0], season=None, formality="")
    assert (cleared.season, cleared.formality) == (None, None)
    added = store.add_photo(_png(), "coat.png", {"semantic_category": "outerwear",
                                                 "season": "winter", "formality": "formal"})
    assert (added.season, added.formality) == ("winter", "formal")
    assert added.to_dict()["season"] == "winter"
    with pytest.raises(StoreError, match="all-season"):
        store.add_photo(_png((1, 2, 3)), "hat.png", {"season": "autumn"})


def _png(color=(10, 200, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()


def test_the_closet_hands_season_and_formality_to_the_recommender(small_closet, photo):
    store, ids = small_closet
    store.set_in_wash(ids[1], False)
    store.update_tags(ids[0], season="summer", formality="casual")
    store.update_tags(ids[2], season="all-season")
    closet = store.closet()
    assert dict(closet.get(ids[0]).attributes) == {"color": "navy", "season": "summer",
                                                   "formality": "casual"}
    assert dict(closet.get(ids[1]).attributes) == {"color": "denim"}  # unknown: left out
    assert closet.get(ids[2]).attributes["season"] == "all-season"
    winter_top = store.add_photo(photo(), "w.jpg", {"semantic_category": "tops",
                                                    "season": "winter", "formality": "formal"})
    closet = store.closet()
    row = {it.id: k for k, it in enumerate(closet.items)}
    for constraints, kept, dropped in (
            ({"season": "winter"}, winter_top.id, ids[0]),
            ({"season": "summer"}, ids[0], winter_top.id),
            ({"occasion": "formal"}, winter_top.id, ids[0])):
        problem = SearchProblem.build(closet, constraints=constraints)
        tops = {closet.items[r].id for r in problem.candidates["upper"]}
        assert kept in tops and dropped not in tops, constraints
        assert row[ids[2]] in problem.candidates["shoes"]  # all-season and unknown suit any


# ---------------------------------------------------------------------------- archives


def test_export_and_import_carry_season_and_formality(small_closet, tmp_path):
    store, ids = small_closet
    store.update_tags(ids[0], season="summer", formality="smart")
    other = Store(tmp_path / "other")
    assert set(other.import_zip(store.export_zip(tmp_path / "c.zip").path).added) == set(ids)
    got = other.get(ids[0])
    assert (got.season, got.formality) == ("summer", "smart")
    assert _as_imported(got.to_dict()) == _as_imported(store.get(ids[0]).to_dict())


def _as_imported(item: dict) -> dict:
    """An item's fields that travel in an archive: all but ``sha256``, the checksum of the photo
    as re-encoded by the closet that stores it (``source_sha256`` and the id travel)."""
    return {k: v for k, v in item.items() if k != "sha256"}


def _old_archive(store: Store, tmp_path: Path, edit_db=None) -> Path:
    """An export of ``store`` as the previous version of the app would have written it."""
    new = store.export_zip(tmp_path / "new.zip").path
    with zipfile.ZipFile(new) as zf:
        zf.extract(DB_NAME, tmp_path / "new")
        members = {n: zf.read(n) for n in zf.namelist()}
    old_db = tmp_path / "old.db"
    _as_old_version(tmp_path / "new" / DB_NAME, old_db)
    if edit_db:
        edit_db(old_db)
    manifest = json.loads(members["manifest.json"])
    manifest["schema_version"] = OLD_VERSION
    members.update({"manifest.json": json.dumps(manifest).encode(), DB_NAME: old_db.read_bytes()})
    out = tmp_path / "old.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def test_an_archive_of_the_previous_version_still_imports(small_closet, tmp_path):
    store, ids = small_closet
    archive = _old_archive(store, tmp_path)
    with zipfile.ZipFile(archive) as zf:
        zf.extract(DB_NAME, tmp_path / "check")
    assert not {"season", "formality"} & _columns(tmp_path / "check" / DB_NAME)

    other = Store(tmp_path / "other")
    report = other.import_zip(archive)
    assert set(report.added) == set(ids) and (report.wears_added, report.feedback_added) == (1, 1)
    for i in ids:
        assert _as_imported(other.get(i).to_dict()) == {
            **_as_imported(store.get(i).to_dict()), "season": None, "formality": None}
    assert other.update_tags(ids[0], formality="casual").formality == "casual"


def test_an_archive_with_an_unknown_season_is_refused(small_closet, tmp_path):
    """A forged archive whose table has no CHECK: the value is checked on import anyway."""
    store, ids = small_closet

    def forge(db: Path) -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("ALTER TABLE items ADD COLUMN season TEXT")
        conn.execute("ALTER TABLE items ADD COLUMN formality TEXT")
        conn.execute("UPDATE items SET season = 'spring' WHERE id = ?", (ids[0],))
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.close()

    archive = _old_archive(store, tmp_path, edit_db=forge)
    other = Store(tmp_path / "other")
    with pytest.raises(ArchiveError, match="unknown season 'spring'"):
        other.import_zip(archive)
    assert other.count() == 0


# --------------------------------------------------------------------------------- the API


def test_patch_sets_clears_and_shows_season_and_formality(client, add_items, store):
    item = add_items()[0]
    assert (item["season"], item["formality"]) == (None, None)
    r = client.patch(f"/api/v1/items/{item['id']}", json={"season": "winter",
                                                          "formality": "formal"})
    assert r.status_code == 200 and (r.json["season"], r.json["formality"]) == ("winter", "formal")
    assert client.get(f"/api/v1/items/{item['id']}").json["season"] == "winter"
    listed = client.get("/api/v1/items").json["items"][0]
    assert (listed["season"], listed["formality"]) == ("winter", "formal")
    r = client.patch(f"/api/v1/items/{item['id']}", json={"season": None})
    assert r.status_code == 200 and (r.json["season"], r.json["formality"]) == (None, "formal")
    assert store.get(item["id"]).season is None


@pytest.mark.parametrize("body, field", [
    ({"season": "spring"}, "season"), ({"season": "Winter"}, "season"),
    ({"season": ""}, "season"), ({"formality": "black tie"}, "formality"),
    ({"formality": 3}, "formality"), ({"season": "summer", "formality": "party"}, "formality")])
def test_patch_with_a_bad_season_or_formality_is_422(client, add_items, store, body, field):
    item = add_items()[0]
    client.patch(f"/api/v1/items/{item['id']}", json={"season": "summer"})
    before = store.get(item["id"])
    error = envelope(client.patch(f"/api/v1/items/{item['id']}", json=body), 422,
                     "validation_error")
    assert field in error["fields"] and field in error["message"]
    assert store.get(item["id"]) == before


def test_openapi_documents_season_and_formality(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    for name in ("Item", "ItemPatch"):
        props = schemas[name]["properties"]
        assert props["season"]["enum"] == [*SEASONS, None], name
        assert props["formality"]["enum"] == [*FORMALITIES, None], name
        assert "recommender" in props["season"]["description"]


# ---------------------------------------------------------------------------- the item page


def _selected(html: str, name: str) -> str | None:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
    assert select, f"no {name} select on the page"
    chosen = re.findall(r'<option value="([^"]*)"\s*selected', select.group(1))
    assert len(chosen) <= 1
    return chosen[0] if chosen else None


def test_item_page_form_saves_and_clears_season_and_formality(app_factory, photo, token_of):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    store = client.application.extensions["outfit"].store
    item_id = store.add_photo(photo(), "a.jpg", {"semantic_category": "tops"}).id
    html = client.get(f"/items/{item_id}").get_data(as_text=True)
    assert "Formality" in html and "(unknown)" in html
    assert _selected(html, "season") is None and _selected(html, "formality") is None
    for value in (*SEASONS, *FORMALITIES):
        assert f'<option value="{value}"' in html

    form = {"season": "winter", "formality": "smart", "semantic_category": "tops"}
    refused = client.post(f"/items/{item_id}/tags", data=form)  # no CSRF token
    assert refused.status_code == 400 and store.get(item_id).season is None
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post(f"/items/{item_id}/tags", data={**form, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == f"/items/{item_id}"
    saved = store.get(item_id)
    assert (saved.season, saved.formality, saved.semantic_category) == ("winter", "smart", "tops")
    html = client.get(f"/items/{item_id}").get_data(as_text=True)
    assert "Tags saved." in html
    assert (_selected(html, "season"), _selected(html, "formality")) == ("winter", "smart")

    r = client.post(f"/items/{item_id}/tags", data={"season": "", "formality": "smart",
                                                    "csrf_token": token})
    assert r.status_code == 302 and store.get(item_id).season is None
    r = client.post(f"/items/{item_id}/tags", data={"season": "spring", "csrf_token": token},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "Not saved" in page and "summer, winter, all-season" in page
    assert store.get(item_id).season is None and store.get(item_id).formality == "smart"


# ----------------------------------------------------------------- recommendations, end to end

# Two of the three tops and one of the two pairs of shoes are summer things, so six outfits of
# the twelve the closet makes must show a summer item; for winter only two outfits are left.
CLOSET = {"sun top": ("tops", "summer", "casual"), "linen top": ("tops", "summer", "casual"),
          "wool top": ("tops", "winter", "formal"), "chinos": ("bottoms", "all-season", None),
          "trousers": ("bottoms", None, "formal"), "sandals": ("shoes", "summer", "casual"),
          "boots": ("shoes", None, None)}


@pytest.fixture
def tagged(mclient, photo):
    """The closet above, uploaded and tagged through the API: name -> id."""
    files = [(io.BytesIO(photo(size=(48 + 4 * k, 48))), f"{n}.jpg") for k, n in enumerate(CLOSET)]
    r = mclient.post("/api/v1/items", data={"photos": files}, content_type=MULTI)
    assert r.status_code == 201, r.json
    ids = {n: res["item"]["id"] for n, res in zip(CLOSET, r.json["results"], strict=True)}
    for n, (kind, season, formality) in CLOSET.items():
        r = mclient.patch(f"/api/v1/items/{ids[n]}", json={
            "name": n, "semantic_category": kind, "season": season, "formality": formality})
        assert r.status_code == 200, r.json
    return ids


def _outfits(client, **body) -> list[set[str]]:
    r = client.post("/api/v1/recommend", json={"diversity": 0.0, **body})
    assert r.status_code == 200, r.json
    return [{it["id"] for it in rec["items"]} for rec in r.json["recommendations"]]


@pytest.mark.parametrize("constraint, attr, refused", [
    ({"season": "winter"}, 1, "summer"), ({"occasion": "formal"}, 2, "casual")])
def test_recommendations_keep_to_the_season_and_occasion(mclient, tagged, constraint, attr,
                                                         refused):
    unwanted = {tagged[n] for n, spec in CLOSET.items() if spec[attr] == refused}
    free = _outfits(mclient, k=6)
    assert len(free) == 6 and any(o & unwanted for o in free)  # such items do appear
    kept = _outfits(mclient, k=6, **constraint)
    assert kept and all(not o & unwanted for o in kept)
    assert all(tagged["wool top"] in o and tagged["boots"] in o for o in kept)

"""The closet's storage: uploads, tags, wear log, feedback, feature cache, migrations, archives."""

import datetime as dt
import io
import json
import sqlite3
import threading
import zipfile

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageOps

import closet.schema as schema_mod
import closet.store as store_mod
from closet.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    THUMB_SIZE,
    ArchiveError,
    DuplicatePhotoError,
    SchemaVersionError,
    Store,
    StoreError,
)
from data.loaders import load_dataset
from outfit.domain import Closet
from outfit.errors import ImageError, ItemNotFoundError, UnknownCategoryError, UnknownSlotError

# ----------------------------------------------------------------------------- helpers


def _encode(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _photo(color=(200, 30, 30), size=(64, 48), fmt="JPEG", **kw):
    """A photo unlike any other of a different colour (a stripe keeps it from being flat)."""
    im = Image.new("RGB", size, color)
    im.paste((255 - color[0], 255 - color[1], 255 - color[2]), (0, 0, size[0] // 4, size[1]))
    return _encode(im, fmt, **kw)


def _state(store):
    """Rows and every file under photos/ and thumbs/ (temporary files included)."""
    files = sorted(str(p.relative_to(store.folder)) for d in (store.photos_dir, store.thumbs_dir)
                   for p in d.iterdir())
    return store.count(), files


def _sql(store, query, params=()):
    conn = sqlite3.connect(store.db_path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def _add(store, rgb, tags):
    return store.add_photo(_photo(rgb), f"{rgb}.jpg", tags=tags or None)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "closet")


@pytest.fixture
def wardrobe(store):
    """Seven tagged items and one untagged: (store, {short name: id})."""
    spec = {
        "t1": ((250, 250, 250), dict(semantic_category="tops", category="shirt", color="white",
                                     pattern="solid", name="oxford shirt")),
        "t2": ((20, 20, 160), dict(semantic_category="tops", category="t-shirt", color="blue",
                                   pattern="stripes", name="breton tee")),
        "b1": ((30, 30, 90), dict(semantic_category="bottoms", category="jeans", color="Blue",
                                  pattern="solid")),
        "b2": ((120, 120, 120), dict(semantic_category="bottoms", category="trousers",
                                     color="grey", pattern="checks")),
        "s1": ((10, 10, 10), dict(semantic_category="shoes", category="boots", color="black")),
        "s2": ((240, 240, 200), dict(semantic_category="shoes", category="sneakers",
                                     color="white")),
        "bag": ((150, 75, 0), dict(semantic_category="bags", category="tote", color="brown")),
        "new": ((0, 200, 0), {}),
    }
    return store, {k: _add(store, c, t).id for k, (c, t) in spec.items()}


# ------------------------------------------------------------------------------ uploads


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photo_round_trip_is_stored_as_jpeg_with_a_thumbnail(store, fmt):
    data = _photo(size=(600, 300), fmt=fmt)
    rec = store.add_photo(data, "C:\\fakepath\\My Shirt." + fmt.lower(),
                          tags={"semantic_category": "Top", "color": "red",
                                "color_confidence": 0.75})
    assert rec.original_name == "My Shirt." + fmt.lower()  # the browser's folder dropped
    assert store_mod._ID_RE.fullmatch(rec.id) and rec.stored_name != rec.original_name
    assert (rec.semantic_category, rec.slot, rec.color) == ("tops", "upper", "red")
    assert (rec.semantic_category_edited, rec.color_edited, rec.color_confidence) == (True, False,
                                                                                      0.75)
    photo = store.photo_path(rec.id)
    assert photo.parent == store.photos_dir and photo.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(photo) as im:
        assert (im.format, im.size) == ("JPEG", (600, 300)) == ("JPEG", (rec.width, rec.height))
        assert abs(im.getpixel((500, 150))[0] - 200) < 12  # the colour survived
    with Image.open(store.thumb_path(rec.id)) as th:
        assert th.format == "JPEG" and max(th.size) == THUMB_SIZE
    assert store.get(rec.id) == rec and store.list() == [rec]
    assert rec.sha256 == store_mod._sha256(photo.read_bytes())


def test_exif_and_gps_are_dropped_and_orientation_applied(store):
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (20, 0, 40, 20))  # left red, right blue
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored sideways: turn 90 degrees clockwise to view
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    data = _encode(im, "JPEG", exif=exif, quality=95)
    with Image.open(io.BytesIO(data)) as src:  # the test photo does carry a position
        assert src.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        upright = ImageOps.exif_transpose(src)

    rec = store.add_photo(data, "holiday.jpg")
    stored = store.photo_path(rec.id).read_bytes()
    assert b"Exif" not in stored and b"PhoneCo" not in stored
    with Image.open(io.BytesIO(stored)) as out:
        assert len(out.getexif()) == 0 and "exif" not in out.info
        assert out.size == (20, 40) == (rec.width, rec.height) == upright.size
        for xy in [(10, 5), (10, 35)]:  # red on top, blue below, as the viewer saw it
            got, want = out.convert("RGB").getpixel(xy), upright.getpixel(xy)
            assert all(abs(a - b) < 40 for a, b in zip(got, want, strict=True)), (xy, got, want)
        assert out.convert("RGB").getpixel((10, 5))[0] > 200
    thumb = store.thumb_path(rec.id).read_bytes()
    assert b"Exif" not in thumb


def _truncated_jpeg():
    data = _encode(Image.effect_noise((128, 128), 60).convert("RGB"), "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize("data,name,problem", [
    (b"", "empty.jpg", "empty"),
    ("truncated", "cut.jpg", "truncated"),
    (b"<!DOCTYPE html><html><body>not found</body></html>", "photo.jpg", "HTML page"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "a.svg", "SVG"),
    ("gif", "anim.gif", "GIF"),
    ("huge", "big.png", "too many pixels"),
])
def test_refused_files_leave_the_store_unchanged(tmp_path, data, name, problem):
    store = Store(tmp_path / "c", max_pixels=2000)  # 64 x 48 = 3072 pixels is too many
    store.add_photo(_photo(size=(40, 40)), "ok.jpg")
    if data == "truncated":
        data = _truncated_jpeg()
        store.max_pixels = 10**6
    elif data == "gif":
        data = _encode(Image.new("RGB", (8, 8), (1, 2, 3)), "GIF")
    elif data == "huge":
        data = _photo(size=(64, 48), fmt="PNG")
    before = _state(store)
    with pytest.raises(ImageError) as err:
        store.add_photo(data, name)
    assert problem in str(err.value) and name in str(err.value)
    assert _state(store) == before and before[0] == 1 and len(before[1]) == 2


def test_duplicates_are_refused_naming_the_item_already_there(store):
    first = store.add_photo(_photo(), "a.jpg")
    before = _state(store)
    with pytest.raises(DuplicatePhotoError) as err:  # the very same bytes
        store.add_photo(_photo(), "copy of a.jpg")
    assert err.value.existing_id == first.id and first.id in str(err.value)
    with pytest.raises(DuplicatePhotoError):  # same pixels, other bytes: the stored JPEG matches
        store.add_photo(_photo(comment=b"re-saved"), "b.jpg")
    with pytest.raises(DuplicatePhotoError):  # the stored file itself, uploaded again
        store.add_photo(store.photo_path(first.id).read_bytes(), "download.jpg")
    assert _state(store) == before


def test_bad_tags_are_refused_before_anything_is_written(store):
    before = _state(store)
    with pytest.raises(UnknownCategoryError, match="socks"):
        store.add_photo(_photo(), "a.jpg", tags={"semantic_category": "socks"})
    with pytest.raises(StoreError, match="brand"):
        store.add_photo(_photo(), "a.jpg", tags={"brand": "x"})
    with pytest.raises(StoreError, match="confidence"):
        store.add_photo(_photo(), "a.jpg", tags={"color": "red", "color_confidence": 1.5})
    assert _state(store) == before == (0, [])


def test_a_failure_after_the_file_write_leaves_no_file_and_no_row(store, monkeypatch):
    seen = []

    def failing_insert(conn, record):
        seen.append(sorted(p.name for p in store.photos_dir.iterdir()))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_mod, "insert_item", failing_insert)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.add_photo(_photo(), "a.jpg")
    assert len(seen[0]) == 1  # the photo had been written when the insert failed
    assert _state(store) == (0, [])
    monkeypatch.undo()
    assert store.add_photo(_photo(), "a.jpg").id  # and the same photo goes in afterwards


def test_eight_threads_adding_at_once_give_eight_items(store):
    photos = [_photo((30 * k, 255 - 30 * k, 60)) for k in range(8)]
    barrier, results, errors = threading.Barrier(8), [], []

    def upload(k):
        barrier.wait()
        try:
            results.append(store.add_photo(photos[k], f"{k}.jpg").id)
            store.list(search=str(k))  # readers beside the writers
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows, files = _state(store)
    assert rows == 8 and len(set(results)) == 8
    assert len([f for f in files if f.startswith("images/")]) == 8
    assert len([f for f in files if f.startswith("thumbs/")]) == 8
    assert store.integrity_report()["ok"]


# ------------------------------------------------------------------------ items and tags


def test_list_filters_search_and_paging(wardrobe):
    store, ids = wardrobe
    names = {v: k for k, v in ids.items()}

    def listed(**kw):
        return {names[r.id] for r in store.list(**kw)}

    assert listed(slot="upper") == {"t1", "t2"}
    assert listed(slot="accessory") == {"bag"}
    assert listed(color="blue") == {"t2", "b1"}  # whole value, any case
    assert listed(color="blue", slot="lower") == {"b1"}
    assert listed(pattern="solid") == {"t1", "b1"}
    assert listed(search="SHIRT") == {"t1", "t2"}  # category t-shirt and name oxford shirt
    assert listed(search="breton stripes") == {"t2"}  # every word, any field
    assert listed(search="(0, 200, 0)") == {"new"}  # the original name
    assert listed(search="%") == set()  # a literal, not a wildcard
    store.set_in_wash(ids["t1"], True)
    assert listed(available=False) == {"t1"} and "t1" not in listed(available=True)
    assert store.count(available=True) == 7
    everything = store.list()
    assert [r.id for r in everything][0] == ids["new"]  # newest first
    assert store.list(limit=3, offset=2) == everything[2:5]
    with pytest.raises(UnknownSlotError):
        store.list(slot="feet")


def test_tag_edits_are_validated_and_marked(store):
    rec = store.add_photo(_photo(), "a.jpg", tags={
        "semantic_category": "tops", "semantic_category_confidence": 0.6,
        "category": "shirt", "category_confidence": 0.5})
    assert not rec.semantic_category_edited and rec.semantic_category_confidence == 0.6
    edited = store.update_tags(rec.id, semantic_category=" Jewelry ", name="pearl necklace",
                               color="white")
    assert (edited.semantic_category, edited.slot, edited.name) == ("jewellery", "accessory",
                                                                    "pearl necklace")
    assert edited.semantic_category_edited and edited.semantic_category_confidence is None
    assert edited.color_edited and not edited.category_edited and edited.updated_at > rec.updated_at
    with pytest.raises(UnknownCategoryError, match="use one of"):
        store.update_tags(rec.id, semantic_category="socks")
    with pytest.raises(StoreError, match="brand"):
        store.update_tags(rec.id, brand="x")
    assert store.get(rec.id) == edited  # a refused edit changes nothing
    # the tagger may update what the person has not touched, and nothing else
    auto = store.set_auto_tags(rec.id, {"semantic_category": ("tops", 0.9),
                                        "category": ("blouse", 0.8)})
    assert (auto.semantic_category, auto.category, auto.category_confidence) == ("jewellery",
                                                                                "blouse", 0.8)
    cleared = store.update_tags(rec.id, color=None)
    assert cleared.color is None and cleared.color_edited


def test_unknown_ids_raise_item_not_found_naming_the_id(wardrobe):
    store, ids = wardrobe
    calls = [lambda: store.get("nope"), lambda: store.update_tags("nope", color="red"),
             lambda: store.set_in_wash("nope", True), lambda: store.delete("nope"),
             lambda: store.photo_path("nope"), lambda: store.thumb_path("nope"),
             lambda: store.log_wear([ids["t1"], "nope"]),
             lambda: store.add_feedback([ids["t1"], "nope"], True),
             lambda: store.put_features("m", {"nope": np.ones(3)}),
             lambda: store.features("m", ["nope"])]
    for call in calls:
        with pytest.raises(ItemNotFoundError, match="nope"):
            call()
    assert store.count() == 8 and store.wear_counts()[ids["t1"]] == 0


def test_closet_holds_available_tagged_items_with_their_photos(wardrobe):
    store, ids = wardrobe
    store.set_in_wash(ids["b2"], True)
    closet = store.closet()
    assert isinstance(closet, Closet)
    assert {it.id for it in closet} == set(ids.values()) - {ids["b2"], ids["new"]}
    assert ids["b2"] in store.closet(available_only=False)
    shirt = closet.get(ids["t2"])
    assert (shirt.slot, shirt.category, shirt.name) == ("upper", "t-shirt", "breton tee")
    assert dict(shirt.attributes) == {"color": "blue", "pattern": "stripes"}
    assert shirt.image == store.photo_path(ids["t2"]) and shirt.image.is_file()
    assert closet.outfit([ids["t1"], ids["b1"], ids["s1"]]).complete


def test_delete_removes_the_row_its_files_and_what_hangs_on_it(wardrobe):
    store, ids = wardrobe
    photo, thumb = store.photo_path(ids["t1"]), store.thumb_path(ids["t1"])
    store.log_wear([ids["t1"], ids["b1"]])
    store.log_wear([ids["t1"]])
    store.add_feedback([ids["t1"], ids["b1"]], up=True)
    store.add_feedback([ids["t2"], ids["b1"]], up=False)
    store.put_features("m", {ids["t1"]: np.ones(4), ids["b1"]: np.zeros(4)})
    store.delete(ids["t1"])
    assert not photo.exists() and not thumb.exists()
    with pytest.raises(ItemNotFoundError):
        store.get(ids["t1"])
    counts = store.wear_counts()
    assert ids["t1"] not in counts and counts[ids["b1"]] == 1
    assert _sql(store, "SELECT count(*) FROM wears") == [(1,)]  # the wear of t1 alone went
    assert [f.item_ids for f in store.feedback()] == [tuple(sorted([ids["t2"], ids["b1"]]))]
    assert _sql(store, "SELECT item_id FROM features") == [(ids["b1"],)]
    assert store.integrity_report()["ok"]


# ------------------------------------------------------------------- wear log, feedback


def test_wear_counts_and_unworn_items(wardrobe):
    store, ids = wardrobe
    today = dt.date.today()
    store.log_wear([ids["t1"], ids["b1"], ids["s1"]], today)
    store.log_wear([ids["t1"], ids["b2"]], (today - dt.timedelta(days=3)).isoformat())
    old = store.log_wear([ids["t2"], ids["t2"]], today - dt.timedelta(days=90))
    assert store_mod._ID_RE.fullmatch(old)
    counts = store.wear_counts()
    assert (counts[ids["t1"]], counts[ids["b1"]], counts[ids["t2"]], counts[ids["bag"]]) == (
        2, 1, 1, 0)
    assert set(counts) == set(ids.values())
    # t2 was last worn 90 days ago; never-worn items count from the day they were added (today)
    assert [r.id for r in store.unworn_since(30)] == [ids["t2"]]
    later = store.unworn_since(30, today=today + dt.timedelta(days=100))
    assert later[0].id == ids["t2"] and {r.id for r in later} == set(ids.values())
    # two days on: b2 (worn 5 days before) and t2; the rest were worn or added 2 days before
    assert {r.id for r in store.unworn_since(2, today=today + dt.timedelta(days=2))} == \
        {ids["b2"], ids["t2"]}
    with pytest.raises(StoreError, match="YYYY-MM-DD"):
        store.log_wear([ids["t1"]], "last tuesday")


def test_feedback_export_reads_back_as_a_polyvore_dataset(wardrobe, tmp_path):
    store, ids = wardrobe
    ups = [("t1", "b1", "s1"), ("t2", "b2", "s2"), ("t1", "b2", "s1"), ("t2", "b1", "s2", "bag")]
    for outfit in ups:
        store.add_feedback([ids[k] for k in outfit], up=True)
    store.add_feedback([ids["t2"], ids["b1"], ids["s1"]], up=True)
    store.add_feedback([ids["s1"], ids["b1"], ids["t2"]], up=False)  # changed its mind
    store.add_feedback([ids["t1"], ids["bag"]], up=False)  # bag is in one outfit only
    store.add_feedback([ids["t1"], ids["new"]], up=True)  # untagged item: cannot be exported
    assert len(store.feedback()) == 7
    out = tmp_path / "feedback-dataset"
    counts = store.export_feedback_polyvore(out)
    assert counts["train_outfits"] + counts["valid_outfits"] == 4 and counts["valid_outfits"] == 1
    assert counts["untagged_outfits"] == 1
    train, valid = load_dataset(out, split="train"), load_dataset(out, split="valid")
    sets = [o.key for ds in (train, valid) for o in ds.outfits]
    assert frozenset(ids[k] for k in ("t1", "b1", "s1")) in sets
    assert frozenset(ids[k] for k in ("t2", "b1", "s1")) not in sets  # now a thumbs down
    assert len(sets) == 4
    for ds in (train, valid):
        assert len(ds.items) == len({i for o in ds.outfits for i in o.item_ids})
        assert sum(q.label for q in ds.compatibility) == len(ds.outfits)
        assert all(it.image.is_file() for it in ds.items.values())
    assert train.item(ids["b1"]).semantic_category == "bottoms"
    assert train.item(ids["b1"]).attributes["color"] == "Blue"
    negatives = [frozenset(q.item_ids) for ds in (train, valid) for q in ds.compatibility
                 if q.label == 0]
    placed = counts["negatives"]
    assert len(negatives) == placed and placed + counts["negatives_left_out"] == 2
    if frozenset([ids["t2"], ids["b1"], ids["s1"]]) not in negatives:
        assert counts["negatives_left_out"] >= 1  # its items fell into different splits
    with pytest.raises(StoreError, match="empty folder"):
        store.export_feedback_polyvore(out)


# ----------------------------------------------------------------------- feature cache


def test_feature_cache_round_trip_and_cascade(wardrobe):
    store, ids = wardrobe
    a, b = ids["t1"], ids["b1"]
    va = np.linspace(-1, 1, 16)  # float64 in, float32 out
    store.put_features("grader-v1", {a: va, b: np.arange(16)})
    store.put_features("grader-v2", {a: np.ones(8)})
    got = store.features("grader-v1", [a, b, ids["s1"]])
    assert set(got) == {a, b} and got[a].dtype == np.float32
    np.testing.assert_array_equal(got[a], va.astype(np.float32))
    store.put_features("grader-v1", {a: np.full(16, 7.0)})  # replaced, not added
    assert store.features("grader-v1", [a])[a].tolist() == [7.0] * 16
    assert store.features("grader-v2", [a])[a].shape == (8,)
    with pytest.raises(StoreError, match="shape"):
        store.put_features("grader-v1", {a: np.ones((2, 2))})
    store.delete(a)
    assert _sql(store, "SELECT model_key, item_id FROM features") == [("grader-v1", b)]
    assert store.clear_features("grader-v1") == 1 and store.features("grader-v1", [b]) == {}


# ------------------------------------------------------------------------- migrations


def test_a_version_0_database_is_upgraded(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / store_mod.DB_NAME)
    conn.execute("CREATE TABLE scratch (x)")
    conn.commit()
    conn.close()
    store = Store(folder)
    assert _sql(store, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert _sql(store, "PRAGMA journal_mode") == [("wal",)]
    tables = {r[0] for r in _sql(store, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"scratch", "items", "wears", "wear_items", "feedback", "features"} <= tables
    assert store.add_photo(_photo(), "a.jpg").id


def test_a_new_step_is_applied_once_and_a_failing_one_rolls_back(tmp_path, monkeypatch):
    store = Store(tmp_path / "c")
    rec = store.add_photo(_photo(), "a.jpg")
    monkeypatch.setattr(schema_mod, "MIGRATIONS",
                        [*MIGRATIONS, ("ALTER TABLE items ADD COLUMN brand TEXT",)])
    Store(store.folder)
    Store(store.folder)  # a second open finds nothing to do
    assert _sql(store, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert _sql(store, "SELECT id, brand FROM items") == [(rec.id, None)]
    monkeypatch.setattr(schema_mod, "MIGRATIONS", [*schema_mod.MIGRATIONS, (
        "CREATE TABLE outfits (id TEXT)", "INSERT INTO no_such_table VALUES (1)")])
    with pytest.raises(StoreError, match="no_such_table"):
        Store(store.folder)
    assert _sql(store, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert _sql(store, "SELECT name FROM sqlite_master WHERE name = 'outfits'") == []


def test_a_newer_database_is_refused_untouched(store):
    conn = sqlite3.connect(store.db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    with pytest.raises(SchemaVersionError, match="newer than this code"):
        Store(store.folder)
    assert _sql(store, "PRAGMA journal_mode") == [("delete",)]
    assert _sql(store, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]


# ---------------------------------------------------------------------------- archives


def test_export_then_import_gives_the_same_closet(wardrobe, tmp_path):
    store, ids = wardrobe
    store.set_in_wash(ids["b2"], True)
    store.update_tags(ids["new"], name="green scarf", semantic_category="scarves")
    store.log_wear([ids["t1"], ids["b1"]], "2024-05-01")
    store.add_feedback([ids["t1"], ids["b1"], ids["s1"]], up=True)
    store.put_features("m", {ids["t1"]: np.ones(3)})
    report = store.export_zip(tmp_path / "out" / "closet.zip")
    assert report.items == 8 and report.left_out == ()
    with zipfile.ZipFile(report.path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert names == {"manifest.json", "closet.db", *(f"photos/{i}.jpg" for i in ids.values())}
    assert manifest["format"] == "outfit-closet" and set(manifest["items"]) == set(ids.values())

    other = Store(tmp_path / "other")
    result = other.import_zip(report.path)
    assert set(result.added) == set(ids.values()) and result.already_present == 0
    assert (result.wears_added, result.feedback_added) == (1, 1)
    for item_id in ids.values():
        mine, theirs = store.get(item_id).to_dict(), other.get(item_id).to_dict()
        photo = other.photo_path(item_id).read_bytes()  # re-encoded like an upload
        assert theirs.pop("sha256") == store_mod._sha256(photo) and mine.pop("sha256")
        assert theirs == mine  # tags, flags, times, the uploaded file's checksum
        with Image.open(io.BytesIO(photo)) as im:
            assert im.format == "JPEG" and im.size == (mine["width"], mine["height"])
        assert other.thumb_path(item_id).is_file()
    assert other.wear_counts() == store.wear_counts()
    assert [(f.item_ids, f.up) for f in other.feedback()] == [(f.item_ids, f.up)
                                                             for f in store.feedback()]
    assert other.features("m", [ids["t1"]]) == {}  # the cache is not carried
    assert other.integrity_report()["ok"]

    before = _state(store)  # merging into the closet it came from changes nothing
    again = store.import_zip(report.path)
    assert again.added == () and again.already_present == 8 and again.wears_added == 0
    assert _state(store) == before and store.integrity_report()["ok"]


def _rezip(src, dst, extra=(), change=None):
    """Copy the members of zip ``src`` into ``dst``, altered by ``change(name, data)`` and with
    ``extra`` (name, data) members added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, change(info.filename, data) if change else data)
        for name, data in extra:
            zout.writestr(name, data)
    return dst


@pytest.fixture
def exported(wardrobe, tmp_path):
    store, ids = wardrobe
    return store.export_zip(tmp_path / "closet.zip").path


def _tamper_photo(name, data):
    return data[:-40] + bytes(40) if name.startswith("photos/") else data


@pytest.mark.parametrize("case,message", [
    ("traversal", "'../evil'"),
    ("absolute", "'/tmp/evil.jpg'"),
    ("foreign", "unexpected member 'readme.txt'"),
    ("not-a-zip", "not a readable zip"),
    ("truncated", "not a readable zip"),
    ("tampered-photo", "does not match its checksum"),
    ("bad-manifest", "not a closet export"),
    ("no-database", "no closet.db"),
])
def test_bad_archives_are_refused_with_nothing_written(exported, tmp_path, case, message):
    bad = tmp_path / "bad.zip"
    if case == "traversal":
        _rezip(exported, bad, extra=[("../evil", b"gotcha")])
    elif case == "absolute":
        _rezip(exported, bad, extra=[("/tmp/evil.jpg", b"gotcha")])
    elif case == "foreign":
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("readme.txt", "hello")
    elif case == "not-a-zip":
        bad.write_text("<html>this is a web page</html>")
    elif case == "truncated":
        bad.write_bytes(exported.read_bytes()[:300])
    elif case == "tampered-photo":
        _rezip(exported, bad, change=_tamper_photo)
    elif case == "bad-manifest":
        _rezip(exported, bad, change=lambda n, d: b'{"format": "zip"}' if n == "manifest.json"
               else d)
    elif case == "no-database":
        with zipfile.ZipFile(exported) as zin, zipfile.ZipFile(bad, "w") as zout:
            for info in zin.infolist():
                if info.filename != "closet.db":
                    zout.writestr(info.filename, zin.read(info))
    target = Store(tmp_path / "target")
    target.add_photo(_photo((1, 2, 3)), "mine.jpg")
    before, entries = _state(target), sorted(p.name for p in target.folder.iterdir())
    with pytest.raises(ArchiveError) as err:
        target.import_zip(bad)
    assert message in str(err.value)
    assert _state(target) == before and before[0] == 1
    assert sorted(p.name for p in target.folder.iterdir()) == entries  # no temporary folder left
    assert not (tmp_path / "evil").exists() and not (target.folder.parent / "evil").exists()


def test_import_merges_onto_the_same_photo_already_here(wardrobe, tmp_path):
    store, ids = wardrobe
    store.log_wear([ids["t1"], ids["b1"]], "2024-05-01")
    store.add_feedback([ids["t1"], ids["b1"]], up=False)
    archive = store.export_zip(tmp_path / "closet.zip").path
    target = Store(tmp_path / "target")
    mine = target.add_photo(_photo((250, 250, 250)), "same shirt.jpg", tags={"color": "ivory"})
    target.add_feedback([mine.id, target.add_photo(_photo((5, 5, 5)), "x.jpg").id], up=True)
    result = target.import_zip(archive)
    assert result.already_present == 1 and len(result.added) == 7 and ids["t1"] not in result.added
    assert target.get(mine.id).color == "ivory"  # kept as it was, not overwritten
    assert target.wear_counts()[mine.id] == 1 == target.wear_counts()[ids["b1"]]
    judged = {f.item_ids: f.up for f in target.feedback()}
    assert judged[tuple(sorted([mine.id, ids["b1"]]))] is False  # attached to the item here
    assert target.count() == 9 and target.integrity_report()["ok"]


def test_an_archive_item_clashing_with_a_different_item_here_is_refused(exported, wardrobe,
                                                                        tmp_path):
    store, ids = wardrobe
    target = Store(tmp_path / "target")
    mine = target.add_photo(_photo((9, 9, 9)), "mine.jpg")
    conn = sqlite3.connect(target.db_path)  # give it an id the archive uses, as if forged
    conn.execute("UPDATE items SET id = ? WHERE id = ?", (ids["t1"], mine.id))
    conn.commit()
    conn.close()
    before = _state(target)
    with pytest.raises(ArchiveError, match="another photo"):
        target.import_zip(exported)
    assert _state(target) == before


# --------------------------------------------------------------------------- integrity


def test_integrity_report_finds_missing_photos_and_orphans(wardrobe):
    store, ids = wardrobe
    report = store.integrity_report()
    assert report["ok"] and report["integrity_check"] == ["ok"] and report["orphan_files"] == []
    store.photo_path(ids["b1"]).unlink()
    (store.photos_dir / "stray.jpg").write_bytes(b"x")
    report = store.integrity_report()
    assert not report["ok"]
    assert report["missing_photos"] == [ids["b1"]] and report["missing_thumbs"] == []
    assert report["orphan_files"] == ["images/stray.jpg"]
    exported = store.export_zip(store.folder.parent / "backup.zip")  # still exports the rest
    assert exported.left_out == (ids["b1"],) and exported.items == 7

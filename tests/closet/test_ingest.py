"""Every photo that enters the closet is read the same way: uploads are checked for duplicates
and pixel count before they are decoded; photos of a closet zip are re-encoded like uploads
(nothing but their pixels kept, identity kept across closets); a zip's table of contents is
held to limits before any member is read."""

import hashlib
import io
import json
import sqlite3
import struct
import time
import zipfile
import zlib

import pytest
from PIL import ExifTags, Image, ImageFile

from closet.store import ArchiveError, DuplicatePhotoError, Store
from outfit.errors import ImageError

# ----------------------------------------------------------------------------- helpers


def _photo(color=(200, 30, 30), size=(64, 48), **save):
    im = Image.new("RGB", size, color)
    im.paste((255 - color[0], 255 - color[1], 255 - color[2]), (0, 0, size[0] // 4, size[1]))
    buf = io.BytesIO()
    im.save(buf, "JPEG", **save)
    return buf.getvalue()


def _png_header(width, height):
    """A PNG that is only its header (no pixel data): what a decompression bomb shows first."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\0\0\0\0IEND\xaeB`\x82")


def _no_decoding(monkeypatch):
    """Make decoding the pixels of any image file fail the test."""
    def decode(self, *a, **k):
        raise AssertionError("a pixel was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)


def _state(store):
    files = sorted(str(p.relative_to(store.folder)) for d in (store.photos_dir, store.thumbs_dir)
                   for p in d.iterdir())
    return store.count(), files, sorted(p.name for p in store.folder.iterdir())


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _forge(archive, dst, photos):
    """A copy of closet zip ``archive`` at ``dst`` whose photos of item id -> bytes ``photos`` are
    replaced, with the manifest and the database's checksums made to match (as a forger would),
    every member deflated."""
    with zipfile.ZipFile(archive) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    manifest = json.loads(members["manifest.json"])
    db = dst.with_suffix(".db")
    db.write_bytes(members["closet.db"])
    conn = sqlite3.connect(db)
    for item_id, data in photos.items():
        members[f"photos/{item_id}.jpg"] = data
        manifest["items"][item_id] = _sha(data)
        conn.execute("UPDATE items SET sha256 = ? WHERE id = ?", (_sha(data), item_id))
    conn.commit()
    conn.close()
    members["closet.db"], members["manifest.json"] = db.read_bytes(), json.dumps(manifest)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return dst


@pytest.fixture
def exported(tmp_path):
    """A closet of three items and its export: (store, [ids], zip path)."""
    store = Store(tmp_path / "home")
    ids = [store.add_photo(_photo((40 * k, 90, 200 - 40 * k)), f"{k}.jpg").id for k in range(3)]
    store.log_wear(ids[:2], "2024-05-01")
    return store, ids, store.export_zip(tmp_path / "closet.zip").path


# ------------------------------------------------------------------------------ uploads


def test_a_duplicate_upload_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    store = Store(tmp_path / "c")
    first = store.add_photo(_photo(), "a.jpg")
    stored = store.photo_path(first.id).read_bytes()
    before, again = _state(store), _photo()
    _no_decoding(monkeypatch)
    for data in (again, stored):  # the same upload again; the stored file, downloaded
        with pytest.raises(DuplicatePhotoError) as err:
            store.add_photo(data, "again.jpg")
        assert err.value.existing_id == first.id
    assert _state(store) == before


def test_a_header_claiming_too_many_pixels_is_refused_undecoded(tmp_path, monkeypatch):
    store = Store(tmp_path / "c")  # the default limit
    before = _state(store)
    _no_decoding(monkeypatch)
    start = time.perf_counter()
    with pytest.raises(ImageError) as err:
        store.add_photo(_png_header(6000, 5000), "bomb.png")  # 30 MP
    assert time.perf_counter() - start < 1.0
    message = str(err.value)
    assert "bomb.png" in message and "too many pixels: 6000x5000 = 30,000,000" in message
    assert "the limit is 25,000,000" in message
    assert _state(store) == before


# ---------------------------------------------------------------------------- archive photos


_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'exif:GPSLatitude="48,51.4N" dc:description="my flat, 3rd floor"/></rdf:RDF></x:xmpmeta>')


def _tagged_photo(exif):
    """A JPEG carrying an XMP packet with a position and a comment, a COM comment and, with
    ``exif``, an EXIF block with a camera and a GPS position."""
    save = {"xmp": _XMP, "comment": b"secret comment", "quality": 95}
    if exif:
        tags = Image.Exif()
        tags[ExifTags.Base.Make] = "PhoneCo"
        gps = tags.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
        save["exif"] = tags
    data = _photo((10, 120, 60), size=(80, 60), **save)
    with Image.open(io.BytesIO(data)) as im:  # the test photo does carry all of it
        assert {"xmp", "comment"} <= set(im.info) and ("exif" in im.info) == exif
    return data


@pytest.mark.parametrize("exif", [True, False], ids=["exif-xmp-com", "xmp-com"])
def test_an_imported_photo_keeps_only_its_pixels_and_stays_recognised(exported, tmp_path, exif):
    store, ids, archive = exported
    forged = _forge(archive, tmp_path / "forged.zip", {ids[0]: _tagged_photo(exif)})
    target = Store(tmp_path / "target")
    result = target.import_zip(forged)
    assert set(result.added) == set(ids)
    stored = target.photo_path(ids[0]).read_bytes()
    for secret in (b"Exif", b"PhoneCo", b"ns.adobe.com/xap", b"3rd floor", b"secret comment"):
        assert secret not in stored
    with Image.open(io.BytesIO(stored)) as im:
        assert not {"exif", "xmp", "comment"} & set(im.info) and len(im.getexif()) == 0
        assert im.size == (80, 60) == (target.get(ids[0]).width, target.get(ids[0]).height)
    assert target.get(ids[0]).sha256 == _sha(stored)
    assert target.integrity_report()["ok"]

    # the same archive again, its export into a fresh closet and back: all already there
    again = target.import_zip(forged)
    assert (again.added, again.already_present, again.wears_added) == ((), 3, 0)
    onward = target.export_zip(tmp_path / "onward.zip").path
    third = Store(tmp_path / "third")
    assert set(third.import_zip(onward).added) == set(ids)
    for closet in (third, target, store):
        report = closet.import_zip(onward)
        assert (report.added, report.already_present) == ((), 3)
    assert third.import_zip(forged).already_present == 3
    assert third.count() == target.count() == store.count() == 3


def test_a_photo_padded_past_the_photo_limit_is_refused_with_nothing_stored(exported, tmp_path):
    store, ids, archive = exported
    padded = _photo((1, 2, 3)) + bytes(20 * 2**20)  # 20 MiB of zeros after the image's end
    forged = _forge(archive, tmp_path / "padded.zip", {ids[1]: padded})
    assert forged.stat().st_size < 200_000  # deflated to almost nothing
    target = Store(tmp_path / "target")
    target.add_photo(_photo((9, 9, 9)), "mine.jpg")
    before = _state(target)
    with pytest.raises(ArchiveError) as err:
        target.import_zip(forged)
    assert err.value.message == (f"{forged}: member 'photos/{ids[1]}.jpg' unpacks to "
                                 f"{len(padded):,} bytes (the limit for a photo, "
                                 "MAX_ARCHIVE_PHOTO_BYTES is 8,388,608)")
    assert _state(target) == before


def test_an_archive_photo_larger_than_any_export_is_refused(exported, tmp_path):
    """An export holds photos of at most 2048 px a side: a flat 3000 x 2000 JPEG (6 MP, a few
    KB once deflated) is a crafted archive, refused before it is decoded."""
    store, ids, archive = exported
    big = _photo((5, 5, 5), size=(3000, 2000))
    forged = _forge(archive, tmp_path / "big.zip", {ids[0]: big})
    target = Store(tmp_path / "target")
    with pytest.raises(ArchiveError, match=r"3000x2000 = 6,000,000 \(the limit is 4,194,304\)"):
        target.import_zip(forged)
    assert _state(target) == _state(Store(tmp_path / "empty"))


# ---------------------------------------------------------------------------- archive limits


def _never_read(monkeypatch):
    """Make reading the zip's table of contents with zipfile, or any member, fail the test."""
    def read(*a, **k):
        raise AssertionError("the archive was read")
    monkeypatch.setattr(zipfile.ZipFile, "open", read)
    return read


def test_a_zip_of_too_many_members_is_refused_before_its_table_is_parsed(tmp_path, monkeypatch):
    bad = tmp_path / "many.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("manifest.json", "{}")
        zf.writestr("closet.db", b"")
        for k in range(10_001):
            zf.writestr(f"photos/{k:012d}.jpg", b"")
    target = Store(tmp_path / "target")
    before = _state(target)
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", _never_read(monkeypatch))
    with pytest.raises(ArchiveError) as err:
        target.import_zip(bad)
    assert err.value.message.startswith(
        f"{bad}: it holds 10,003 members (the limit is MAX_ARCHIVE_MEMBERS = 10,002")
    assert _state(target) == before


def _declare_sizes(data, names, size):
    """The zip ``data`` with its central directory declaring ``size`` bytes unpacked for the
    members ``names`` (their data left as it is)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46:at + 46 + name_len].decode() in names:
            struct.pack_into("<I", out, at + 24, size)
        at = out.find(b"PK\x01\x02", at + 46)
    return bytes(out)


def test_a_zip_declaring_too_much_in_all_is_refused_before_a_member_is_read(exported, tmp_path,
                                                                            monkeypatch):
    store, ids, archive = exported
    bad = tmp_path / "declared.zip"
    photos = {f"photos/{i}.jpg" for i in ids[:2]}
    bad.write_bytes(_declare_sizes(archive.read_bytes(), photos, 0xFFFFFFF0))  # 2 x 4 GiB
    with zipfile.ZipFile(bad) as zf:
        assert sum(i.file_size for i in zf.infolist()) > 8 * 2**30
    target = Store(tmp_path / "target")
    before = _state(target)
    _never_read(monkeypatch)
    with pytest.raises(ArchiveError) as err:
        target.import_zip(bad)
    assert err.value.message.startswith(f"{bad}: its members unpack to 8,5")
    assert err.value.message.endswith("(the limit is MAX_ARCHIVE_BYTES = 4,294,967,296)")
    assert _state(target) == before

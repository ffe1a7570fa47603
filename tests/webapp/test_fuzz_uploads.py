"""Hostile uploads, fuzzed: hypothesis sends ``POST /api/v1/items`` truncated and empty files,
headers claiming billions of pixels (decompression bombs, one of them past the project's own
header check so that Pillow's guard refuses it), web pages, SVGs, text and other formats under
image names, random bytes, and names that are paths, very long, non-ASCII or hold NUL and control
characters. Each refused file gets a message saying what is wrong (naming what its content is),
a request that adds nothing is a 4xx in the error envelope, and the closet changes by exactly
the items added: rows, and two files each under generated names, nothing else in or beside
the instance folder.

A genuine photo must be added, whatever its name, even when the name says another type (a PNG
called ``.jpg``, a WebP called ``.gif``): :mod:`data.images` decides the type from the content,
never the name, and the store keeps a re-encoded JPEG under a generated name, so the name is only
data. What the name promises but the content is not (a web page called ``.jpg``) is refused.

Generated cases: 150 requests of one to three files and 60 photos under hostile names (210),
and 9 explicit examples; counted with the rest in :mod:`test_fuzz`.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zlib
from dataclasses import dataclass, field

import pytest
from flask import Flask
from fuzz_kit import as_received, encode, files_under, multipart, new_app, snapshot
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from web_kit import envelope

from data.images import DEFAULT_MAX_PIXELS

SHARED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
TEXT = st.characters(exclude_categories=("Cs",))  # any character a client can send
PLAIN = st.characters(whitelist_categories=("L", "N", "Zs"))
STORED_NAME = re.compile(r"(images|thumbs)/[a-z0-9]{20}\.jpg|masks/[a-z0-9]{20}\.png")


@dataclass(frozen=True)
class Upload:
    """One file of a generated upload. ``kind``: ``image`` (a genuine photo: it must be added,
    unless it is already there), ``truncated`` (refused, or added only when nothing of its
    pixels was lost), else refused with a message holding one of ``words``."""

    data: bytes = field(repr=False)
    name: str
    kind: str
    words: tuple[str, ...] = ()
    full: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # what a failing example shows
        return f"Upload({self.kind}, {self.name!r}, {len(self.data)} bytes, {self.data[:16]!r})"


FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
EXTENSIONS = (".jpg", ".jpeg", ".JPG", ".png", ".webp", ".gif", ".txt", ".html", ".svg", "")
PATH_LIKE = ("../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow",
             "C:\\Users\\me\\Pictures\\shirt", "\\\\server\\share\\shirt", "/", "..", ".",
             "images/../../closet.db", "thumbs/", "~/shirt", "%2e%2e%2fsecret", "closet.db")


@st.composite
def photos(draw) -> tuple[bytes, str]:
    """A small genuine photo (random pixels, so rarely one seen before) and its format."""
    fmt = draw(st.sampled_from(list(FORMATS)))
    mode = draw(st.sampled_from(["RGB", "L"] if fmt == "JPEG" else ["RGB", "L", "RGBA"]))
    w, h = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = random.Random(seed).randbytes(w * h * len(mode))
    return encode(Image.frombytes(mode, (w, h), pixels), fmt), fmt


names = st.one_of(
    st.sampled_from(PATH_LIKE),
    st.text(TEXT, max_size=30),
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(TEXT, max_size=8), st.text(TEXT, max_size=8)),
    st.integers(201, 3000).map(lambda n: "n" * n),
    st.text(PLAIN, min_size=150, max_size=400),
).flatmap(lambda stem: st.sampled_from(EXTENSIONS).map(lambda ext: stem + ext))


def _png(w: int, h: int, idat: bytes) -> bytes:
    """A grey PNG whose header says ``w`` x ``h`` pixels, with ``idat`` as its pixel data."""
    out = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    for kind, data in ((b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")):
        out += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return out


def _png_claiming(w: int, h: int) -> bytes:
    return _png(w, h, zlib.compress(bytes(64)))


def _png_bomb(w: int = 8000, h: int = 6000) -> bytes:
    """A real PNG of ``w`` x ``h`` zeros: 48 MB of pixels in about 50 kB."""
    z = zlib.compressobj(9)
    row = bytes(w + 1)  # filter byte + pixels
    return _png(w, h, b"".join(z.compress(row) for _ in range(h)) + z.flush())


def _jpeg_claiming(w: int, h: int, comments: int = 0) -> bytes:
    """A JPEG header saying ``w`` x ``h``. Past 512 comment segments the project's own header
    walk gives up, so Pillow's guard is what refuses it."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, h, w, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    return b"\xff\xd8" + b"\xff\xfe\x00\x02" * comments + sof + sos + bytes(16) + b"\xff\xd9"


def _webp_claiming(w: int, h: int) -> bytes:
    vp8x = (b"VP8X" + struct.pack("<I", 10) + bytes(4) + (w - 1).to_bytes(3, "little")
            + (h - 1).to_bytes(3, "little"))
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


TOO_MANY = ("too many pixels",)
_SIDE = 6325  # 6325**2 > DEFAULT_MAX_PIXELS
assert _SIDE**2 > DEFAULT_MAX_PIXELS


@st.composite
def huge(draw) -> bytes:
    """A header claiming more pixels than the store takes (a decompression bomb's header)."""
    fmt = draw(st.sampled_from(["PNG", "JPEG", "WEBP"]))
    top = {"PNG": 2**32 - 1, "JPEG": 2**16 - 1, "WEBP": 2**24}[fmt]
    w = draw(st.integers(_SIDE, top))
    h = draw(st.integers(-(-DEFAULT_MAX_PIXELS // w) + 1, top))
    if draw(st.booleans()):
        w, h = h, w
    if fmt == "PNG":
        return _png_claiming(w, h)
    if fmt == "WEBP":
        return _webp_claiming(w, h)
    return _jpeg_claiming(w, h, draw(st.sampled_from([0, 600])))


def _disguise(kind: str, junk: str) -> bytes:
    """Content of ``kind`` with ``junk`` (letters and digits) inside."""
    if kind in ("GIF", "BMP", "TIFF"):
        return encode(Image.new("RGB", (4, 4), (200, 10, 10)), kind)
    return {
        "HTML": f"<!DOCTYPE html><html><head><title>{junk}</title></head><body>{junk}</body></html>",
        "HTML page": f"\ufeff  <html><body><img src='shirt.jpg'>{junk}</body></html>",
        "SVG": f'<svg xmlns="http://www.w3.org/2000/svg"><text>{junk}</text></svg>',
        "SVG prolog": f'<?xml version="1.0"?>\n<svg width="10" height="10">{junk}</svg>',
        "XML": f"<?xml version='1.0'?><shirt>{junk}</shirt>",
        "text": f"a shirt {junk}",
        "PDF": f"%PDF-1.4\n{junk}",
        "ZIP": f"PK\x03\x04{junk}",
    }[kind].encode()


DISGUISES = {"HTML": "HTML page", "HTML page": "HTML page", "SVG": "SVG drawing",
             "SVG prolog": "SVG drawing", "XML": "XML document", "text": "plain text",
             "GIF": "GIF image", "BMP": "BMP image", "TIFF": "TIFF image", "PDF": "PDF document",
             "ZIP": "ZIP archive"}
NOT_AN_IMAGE = "not a JPEG, PNG or WebP image"
DAMAGED = ("truncated", "damaged", NOT_AN_IMAGE, "empty")


@st.composite
def uploads(draw) -> Upload:
    kind = draw(st.sampled_from(["image", "renamed", "truncated", "empty", "huge", "disguised",
                                 "bytes"]))
    name = draw(names)
    if kind in ("image", "renamed", "truncated"):
        data, fmt = draw(photos())
        if kind == "image":
            return Upload(data, name, "image")
        if kind == "renamed":  # the name says another type than the content: still a photo
            other = draw(st.sampled_from([e for e in EXTENSIONS if e.lower() != FORMATS[fmt]]))
            return Upload(data, f"photo{other}", "image")
        cut = draw(st.integers(1, len(data) - 1))
        return Upload(data[:cut], name, "truncated", DAMAGED, full=data)
    if kind == "empty":
        return Upload(b"", name, "empty", ("empty",))
    if kind == "huge":
        return Upload(draw(huge()), name, "huge", TOO_MANY)
    if kind == "disguised":
        what = draw(st.sampled_from(list(DISGUISES)))
        junk = draw(st.text(st.characters(whitelist_categories=("L", "N")), max_size=40))
        return Upload(_disguise(what, junk), name, "disguised", (NOT_AN_IMAGE, DISGUISES[what]))
    data = draw(st.binary(min_size=1, max_size=2048))
    return Upload(data, name, "bytes", DAMAGED)


def _own_name(received: str) -> str:
    """The item's original name: the file's own name, without any folder, control characters
    or excess (at most 200 characters)."""
    base = received.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:200]


def _same_pixels(a: bytes, b: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
            return x.size == y.size and x.tobytes() == y.tobytes()
    except Exception:
        return False


@pytest.fixture(scope="module")
def upload_app(tmp_path_factory):
    """An app without a model (uploads are stored untagged), shared by the examples."""
    root = tmp_path_factory.mktemp("fuzz-uploads")
    return new_app(root / "home")


def _elsewhere(home) -> frozenset[str]:
    """The files beside the instance folder and above it, up to the test's temporary root."""
    return frozenset(f for f in files_under(home.parent) if not f.startswith(f"{home.name}/"))


def _post(client, files: list[Upload]):
    body, content_type = multipart([(u.name, u.data) for u in files])
    return client.post("/api/v1/items", data=body, content_type=content_type)


def _check_upload(app: Flask, files: list[Upload]) -> list[dict]:
    """Post ``files``; check each file's result, the status, the envelope and that the closet
    changed by exactly the items added. The results."""
    store = app.extensions["outfit"].store
    home = store.folder
    before, elsewhere = snapshot(app), _elsewhere(home)
    r = _post(app.test_client(), files)
    assert r.status_code < 500, r.data[:500]
    body = r.json
    results = body["results"]
    assert [x["file"] for x in results] == [as_received(u.name) for u in files]
    added = []
    for u, res in zip(files, results, strict=True):
        # a truncated file may pass only when it has lost none of its pixels
        genuine = u.kind == "image" or (u.kind == "truncated" and _same_pixels(u.data, u.full))
        if res["ok"]:
            assert genuine, u
            added.append(res["item"])
            assert res["item"]["original_name"] == _own_name(res["file"])
            continue
        error = res["error"]
        assert set(error) >= {"code", "message", "hint"} and error["message"].strip()
        if genuine:  # a genuine photo is refused only as one already in the closet
            assert error["code"] == "duplicate_photo", (u, error)
            assert store.get(error["existing_id"])
        else:
            assert any(w in error["message"] for w in u.words), (u, error)
    assert body["created"] == len(added) and body["failed"] == len(files) - len(added)
    if added:
        assert r.status_code == 201
    else:
        error = envelope(r, r.status_code)
        assert r.status_code in (400, 409)
        if len(files) == 1:  # the envelope is the one file's error
            assert error["message"] == results[0]["error"]["message"]
    after = snapshot(app)
    new_files = after["files"] - before["files"]
    assert before["files"] <= after["files"]
    # A photo, a thumbnail, and the garment mask of each one the tagger tagged.
    masks = sum(res.get("tagging") == "tagged" for res in results if res["ok"])
    assert len(new_files) == 2 * len(added) + masks and all(STORED_NAME.fullmatch(f)
                                                            for f in new_files)
    assert {i.id for i in after["items"]} - {i.id for i in before["items"]} == \
        {i["id"] for i in added}
    if not added:
        assert after == before
    assert _elsewhere(home) == elsewhere
    return results


@given(files=st.lists(uploads(), min_size=1, max_size=3))
@example(files=[Upload(_png_bomb(), "bomb.png", "huge", TOO_MANY)])
@example(files=[Upload(_jpeg_claiming(20000, 20000, comments=600), "evasive.jpg", "huge", TOO_MANY)])
@example(files=[Upload(_jpeg_claiming(9000, 9000, comments=600), "between.jpg", "huge", TOO_MANY)])
@example(files=[Upload(_png_claiming(0, 10), "zero.png", "bytes", DAMAGED)])
@example(files=[Upload(b"", "../../empty.jpg", "empty", ("empty",))])
@example(files=[Upload(_disguise("HTML", "shirt"), "shirt.jpg", "disguised",
                       (NOT_AN_IMAGE, "HTML page"))])
@example(files=[Upload(_disguise("SVG", "x"), "shirt.png", "disguised", (NOT_AN_IMAGE, "SVG"))])
@settings(max_examples=150, deadline=None, suppress_health_check=SHARED)
def test_hostile_uploads(upload_app, files):
    """Each file is added if and only if it is a genuine photo; the rest say why not."""
    _check_upload(upload_app, files)


@given(data=photos(), name=names)
@example(data=(encode(Image.new("RGB", (5, 5), (1, 2, 3)), "PNG"), "PNG"),
         name="../../../etc/passwd.jpg")
@example(data=(encode(Image.new("RGB", (5, 5), (3, 2, 1)), "PNG"), "PNG"),
         name="C:\\Users\\me\\shirt\x00.jpg")
@settings(max_examples=60, deadline=None, suppress_health_check=SHARED)
def test_hostile_file_names(upload_app, data, name):
    """A photo under any name is stored under a generated one; the name it came with, with
    any folder taken off, is kept as data only."""
    (res,) = _check_upload(upload_app, [Upload(data[0], name, "image")])
    own = res["item"]["original_name"] if res["ok"] else ""
    assert "/" not in own and "\\" not in own and own.isprintable() and len(own) <= 200
    home = upload_app.extensions["outfit"].store.folder
    assert all(STORED_NAME.fullmatch(f) or f == "closet.db" for f in files_under(home))

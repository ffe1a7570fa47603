"""Every photo that enters the closet is read the same way: uploads are checked for duplicates
and pixel count before they are decoded."""

import io
import struct
import time
import zlib

import pytest
from PIL import Image, ImageFile

from closet.store import DuplicatePhotoError, Store
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

import io
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from data.images import (
    IMAGE_EXTENSIONS,
    ImageInfo,
    is_image_name,
    load_image,
    probe_image,
    save_jpeg,
    sniff_format,
)
from outfit.errors import ImageError


def _encode(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _write(path, data):
    path.write_bytes(data)
    return path


def _noise(size=(64, 48)):
    return Image.effect_noise(size, 60).convert("RGB")


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width, height):
    """A 60-byte PNG whose header claims width x height RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 16)) + _png_chunk(b"IEND", b""))


@pytest.fixture
def no_decode(monkeypatch):
    """Make any pixel decode fail loudly, to prove a check happened from the header alone."""
    def boom(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)


# ------------------------------------------------------------------------ accepted formats


@pytest.mark.parametrize("fmt,ext", [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_accepts_jpeg_png_webp(tmp_path, fmt, ext):
    path = _write(tmp_path / f"photo{ext}", _encode(_noise(), fmt))
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (64, 48)
    assert probe_image(path) == ImageInfo(fmt, 64, 48)


def test_content_decides_not_the_name(tmp_path):
    path = _write(tmp_path / "really_a_png.jpg", _encode(_noise((10, 7)), "PNG"))
    assert load_image(path).size == (10, 7)
    assert probe_image(path).format == "PNG"


def test_bytes_and_file_objects(tmp_path):
    data = _encode(_noise((9, 5)), "JPEG")
    assert load_image(data).size == (9, 5)
    assert load_image(bytearray(data)).size == (9, 5)
    assert load_image(io.BytesIO(data)).size == (9, 5)
    with open(_write(tmp_path / "a.jpg", data), "rb") as fh:
        assert load_image(fh).size == (9, 5)
    assert probe_image(io.BytesIO(data)) == ImageInfo("JPEG", 9, 5)
    stream = io.BytesIO(b"some prefix" + data)
    stream.seek(len(b"some prefix"))  # read from the current position
    assert load_image(stream).size == (9, 5)


def test_result_outlives_the_file(tmp_path):
    path = _write(tmp_path / "a.png", _encode(Image.new("RGB", (4, 4), (1, 2, 3)), "PNG"))
    out = load_image(path)
    path.unlink()
    assert out.getpixel((3, 3)) == (1, 2, 3)


# ------------------------------------------------------------------------ refused content


@pytest.mark.parametrize("content,found", [
    (b"<!DOCTYPE html>\n<html><head><title>x</title></head></html>", "HTML page"),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    (b"<svg width='10' height='10'></svg>", "SVG"),
    (b"just some notes\n", "plain text"),
    (b"\x00\x13\x37garbage\x00\x00", "not a known image format"),
])
def test_refuses_non_images_named_jpg(tmp_path, content, found):
    path = _write(tmp_path / "shirt.jpg", content)
    with pytest.raises(ImageError) as err:
        load_image(path)
    assert "shirt.jpg" in str(err.value) and found in str(err.value)
    assert err.value.path == path and err.value.hint
    with pytest.raises(ImageError, match=found):
        probe_image(path)


@pytest.mark.parametrize("fmt,found", [("GIF", "GIF image"), ("BMP", "BMP image"),
                                       ("TIFF", "TIFF image")])
def test_refuses_real_images_of_other_formats(tmp_path, fmt, found):
    path = _write(tmp_path / "hat.jpg", _encode(_noise((8, 8)), fmt))
    with pytest.raises(ImageError, match=found) as err:
        load_image(path)
    assert "hat.jpg" in str(err.value)


def test_refuses_empty_file_and_empty_bytes(tmp_path):
    path = _write(tmp_path / "empty.jpg", b"")
    with pytest.raises(ImageError, match="empty") as err:
        load_image(path)
    assert "empty.jpg" in str(err.value)
    with pytest.raises(ImageError, match="empty"):
        probe_image(path)
    with pytest.raises(ImageError, match="upload.png.*empty"):
        load_image(b"", name="upload.png")
    with pytest.raises(ImageError, match="^image: empty") as err:
        load_image(io.BytesIO(b""))
    assert err.value.path is None


def test_refuses_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="nothere.jpg: file not found"):
        load_image(tmp_path / "nothere.jpg")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)


def test_refuses_truncated_jpeg(tmp_path):
    data = _encode(_noise((200, 150)), "JPEG")
    path = _write(tmp_path / "cut.jpg", data[: len(data) // 2])
    assert probe_image(path).format == "JPEG"  # the header is intact: only a decode finds it
    with pytest.raises(ImageError, match="truncated") as err:
        load_image(path)
    assert "cut.jpg" in str(err.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_refuses_truncated_png_and_damaged_header(tmp_path):
    data = _encode(_noise((200, 150)), "PNG")
    with pytest.raises(ImageError, match="cut.png: truncated"):
        load_image(data[: len(data) // 2], name="cut.png")
    with pytest.raises(ImageError, match="head.png: damaged PNG header"):
        load_image(data[:30], name="head.png")


# ------------------------------------------------------------------------ decompression bombs


def test_pixel_limit_is_checked_before_decoding(tmp_path, no_decode):
    path = _write(tmp_path / "big.png", _encode(_noise((100, 100)), "PNG"))
    with pytest.raises(ImageError, match=r"big.png: too many pixels: 100x100 = 10,000") as err:
        load_image(path, max_pixels=1000)
    assert "1,000" in str(err.value)


def test_crafted_png_header_is_refused_from_the_header(no_decode):
    bomb = _png_claiming(50_000, 50_000)
    assert len(bomb) < 100
    with pytest.raises(ImageError, match="bomb.png: too many pixels: 50000x50000"):
        load_image(bomb, name="bomb.png")
    with pytest.raises(ImageError, match="50000x50000"):
        probe_image(bomb, name="bomb.png")


def test_crafted_jpeg_header_is_refused_from_the_header(no_decode):
    data = bytearray(_encode(_noise((16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60_000, 60_000)
    with pytest.raises(ImageError, match="60000x60000"):
        load_image(bytes(data), name="bomb.jpg")


def test_pillow_hard_limit_is_an_image_error_not_a_warning():
    # above Pillow's own limit even when max_pixels allows it: an ImageError, never a
    # DecompressionBombError or a warning (which pytest would turn into an error)
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(_png_claiming(50_000, 50_000), name="bomb.png", max_pixels=10**10)


# ------------------------------------------------------------------------ orientation, modes


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (20, 0, 40, 20))  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display turned 90 degrees clockwise
    data = _encode(im, "JPEG", exif=exif, quality=95)
    assert probe_image(data) == ImageInfo("JPEG", 40, 20)  # as stored
    out = load_image(data)
    assert out.size == (20, 40)
    r, g, b = out.getpixel((10, 35))  # the right half is now at the bottom
    assert b > 200 and r < 60


def test_broken_exif_does_not_cost_the_photo():
    data = _encode(_noise((12, 10)), "JPEG")
    app1 = b"Exif\0\0II*\0\xff\xff\xff\x7f" + b"\x00" * 8
    broken = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    assert load_image(broken).size == (12, 10)


def test_alpha_is_composited_on_white():
    im = Image.new("RGBA", (4, 2), (0, 0, 0, 0))
    im.putpixel((1, 0), (0, 0, 0, 255))
    im.putpixel((2, 0), (0, 0, 0, 128))
    for data in (_encode(im, "PNG"), _encode(im, "WEBP", lossless=True)):
        out = load_image(data)
        assert out.mode == "RGB"
        assert out.getpixel((0, 0)) == (255, 255, 255)
        assert out.getpixel((1, 0)) == (0, 0, 0)
        assert 120 <= out.getpixel((2, 0))[0] <= 135


def test_palette_transparency_and_grey_alpha_on_white():
    pal = Image.new("P", (3, 1), 0)
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((2, 0), 1)
    out = load_image(_encode(pal, "PNG", transparency=0))
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((2, 0)) == (0, 255, 0)
    la = Image.new("LA", (2, 1), (0, 0))
    la.putpixel((1, 0), (0, 255))
    out = load_image(_encode(la, "PNG"))
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 0)) == (0, 0, 0)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    im = Image.new("I;16", (3, 1))
    im.putpixel((0, 0), 65535)
    im.putpixel((1, 0), 32768)
    out = load_image(_encode(im, "PNG"))
    assert [out.getpixel((x, 0)) for x in range(3)] == [(255,) * 3, (127,) * 3, (0,) * 3]


@pytest.mark.parametrize("mode,color", [("L", 200), ("CMYK", (0, 0, 0, 0)), ("1", 1)])
def test_other_modes_become_rgb(mode, color):
    fmt = "PNG" if mode == "1" else "JPEG"
    out = load_image(_encode(Image.new(mode, (5, 5), color), fmt))
    assert out.mode == "RGB" and out.size == (5, 5)
    assert all(abs(c - v) <= 2 for c, v in zip(out.getpixel((2, 2)),
                                                (200,) * 3 if mode == "L" else (255,) * 3,
                                                strict=True))


# ------------------------------------------------------------------------ saving, helpers


def test_save_jpeg_writes_atomically(tmp_path):
    dest = tmp_path / "sub" / "out.jpg"
    im = Image.new("RGBA", (6, 4), (0, 0, 0, 0))
    assert save_jpeg(im, dest, quality=80) == dest
    assert probe_image(dest) == ImageInfo("JPEG", 6, 4)
    assert load_image(dest).getpixel((0, 0)) == (255, 255, 255)
    save_jpeg(_noise((3, 3)), dest)  # overwrite
    assert probe_image(dest).width == 3
    assert sorted(p.name for p in dest.parent.iterdir()) == ["out.jpg"]


def test_save_jpeg_failure_keeps_the_old_file(tmp_path, monkeypatch):
    dest = tmp_path / "out.jpg"
    save_jpeg(_noise((3, 3)), dest)
    before = dest.read_bytes()

    def fail(self, fp, *a, **kw):
        fp.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(Image.Image, "save", fail)
    with pytest.raises(ImageError, match="out.jpg: cannot write the JPEG"):
        save_jpeg(_noise((5, 5)), dest)
    assert dest.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


def test_extension_filter_and_sniff_format():
    assert IMAGE_EXTENSIONS == (".jpg", ".jpeg", ".png", ".webp")
    assert is_image_name("a/B.JPEG") and is_image_name("x.webp")
    assert not is_image_name("README.md") and not is_image_name("LICENSE")
    assert sniff_format(_encode(_noise((2, 2)), "WEBP")) == "WEBP"
    assert sniff_format(_encode(_noise((2, 2)), "GIF")) == "GIF"
    assert sniff_format(b"\xef\xbb\xbf  <html>") == "HTML"
    assert sniff_format(b"") == "unknown"

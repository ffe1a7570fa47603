"""Safe image loading: the one way every photo (dataset image, upload, closet folder) is read.

Photos come from strangers: web pages saved as ``.jpg``, half-downloaded files, phone pictures
stored sideways with an EXIF orientation tag, PNGs with a transparent background, and files made
to exhaust memory (a small file whose header claims 50,000 x 50,000 pixels). So:

- the format is decided by the file's *content* (its magic bytes), never by its name, and only
  JPEG, PNG and WebP are accepted; a refused file is named with the format actually found;
- the pixel count is checked from the header, before any pixel is decoded;
- the decode is forced inside the ``try`` (``.load()``), so a truncated file fails here and not
  later in a training loop; ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone;
- the EXIF orientation is applied and the result is always 8-bit RGB, transparency composited
  onto white (product photos are shown on white);
- every failure is an :class:`outfit.errors.ImageError` naming the file, the problem and a hint.

Pillow's own warnings (decompression bomb, odd EXIF) are silenced while an image is read:
the limit here is ``max_pixels``, checked explicitly. Pillow's hard limit (twice
``Image.MAX_IMAGE_PIXELS``) still applies above that and is reported the same way.
``warnings.catch_warnings`` is process-wide in Python 3.11, so a warning raised by another
thread during a load may be dropped; nothing here depends on warnings.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import BinaryIO, NamedTuple

from PIL import Image, ImageOps

from outfit.errors import ImageError

from .fileio import atomic_write_bytes

__all__ = [
    "IMAGE_EXTENSIONS",
    "ACCEPTED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "ImageInfo",
    "ImageSource",
    "sniff_format",
    "is_image_name",
    "probe_image",
    "load_image",
    "to_rgb",
    "save_jpeg",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp")
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO

_HEAD_BYTES = 1024
_CONVERT_HINT = "save it as JPEG, PNG or WebP (the file's content decides, not its name)"
_DAMAGED_HINT = "the file is incomplete or damaged; copy or download it again"

# What a refused format is called in a message.
_DESCRIBE = {
    "GIF": "a GIF image",
    "BMP": "a BMP image",
    "TIFF": "a TIFF image",
    "ICO": "an icon (ICO)",
    "PDF": "a PDF document",
    "PSD": "a Photoshop document",
    "HEIF": "a HEIF/HEIC photo",
    "AVIF": "an AVIF image",
    "JPEG XL": "a JPEG XL image",
    "MP4": "a video (MP4/MOV)",
    "ZIP": "a ZIP archive",
    "GZIP": "a gzip archive",
    "SVG": "an SVG drawing",
    "HTML": "an HTML page",
    "XML": "an XML document",
    "text": "plain text",
    "unknown": "not a known image format",
}


class ImageInfo(NamedTuple):
    """What the header says: ``format`` is ``"JPEG"``, ``"PNG"`` or ``"WEBP"``; width and height
    are as stored (before any EXIF rotation)."""

    format: str
    width: int
    height: int


def is_image_name(path: str | os.PathLike) -> bool:
    """Whether the file name has one of :data:`IMAGE_EXTENSIONS` (case-insensitive).

    Only a filter for walking folders; the content is what :func:`load_image` checks.
    """
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def sniff_format(head: bytes) -> str:
    """The format the first bytes of a file show: ``"JPEG"``, ``"PNG"``, ``"WEBP"`` (accepted)
    or the name of a refused one (``"GIF"``, ``"HTML"``, ``"SVG"``, ``"text"``, ``"unknown"``...).

    Magic bytes, not the file name: a PNG saved as ``photo.jpg`` is a PNG.
    """
    h = bytes(head[:_HEAD_BYTES])
    if h.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if h[:4] == b"RIFF" and h[8:12] == b"WEBP":
        return "WEBP"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if h[:2] == b"BM" and len(h) >= 26 and h[6:10] == b"\0\0\0\0":
        return "BMP"
    if h[:4] in (b"II*\0", b"MM\0*"):
        return "TIFF"
    if h[:4] == b"\0\0\1\0":
        return "ICO"
    if h[:5] == b"%PDF-":
        return "PDF"
    if h[:4] == b"8BPS":
        return "PSD"
    if h[4:8] == b"ftyp":
        brand = h[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIF"
        return "MP4"
    if h[:2] == b"\xff\x0a" or h[:12] == b"\0\0\0\x0cJXL \r\n\x87\n":
        return "JPEG XL"
    if h[:4] == b"PK\x03\x04":
        return "ZIP"
    if h[:2] == b"\x1f\x8b":
        return "GZIP"
    return _detect_text(h)


def _detect_text(h: bytes) -> str:
    text = h.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n").lower()
    if not text or "\ufffd" in text[:-4] or any(c < " " and c not in "\t\r\n" for c in text):
        return "unknown"
    if "<svg" in text:
        return "SVG"
    if text.startswith(("<!doctype html", "<html")) or any(
        tag in text for tag in ("<html", "<head", "<body")
    ):
        return "HTML"
    if text.startswith("<?xml"):
        return "XML"
    return "text"


def _read_head(fp: BinaryIO) -> bytes:
    start = fp.tell()
    head = fp.read(_HEAD_BYTES)
    fp.seek(start)
    return head


_JPEG_SOF = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC),
                       *range(0xCD, 0xD0)})


def _header_size(fp: BinaryIO, fmt: str) -> tuple[int, int] | None:
    """(width, height) read straight from the header bytes, before Pillow sees the file, so the
    pixel limit never depends on Pillow's global settings. None where the header is not plain."""
    start = fp.tell()
    try:
        head = fp.read(30)
        if fmt == "PNG" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if fmt == "WEBP" and head[12:16] == b"VP8X":
            return (int.from_bytes(head[24:27], "little") + 1,
                    int.from_bytes(head[27:30], "little") + 1)
        if fmt == "WEBP" and head[12:16] == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", head[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if fmt == "WEBP" and head[12:16] == b"VP8L" and head[20:21] == b"\x2f":
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if fmt == "JPEG":  # walk the marker segments up to the frame header
            fp.seek(start + 2)
            for _ in range(512):
                marker = fp.read(2)
                while marker[1:2] == b"\xff":  # fill bytes
                    marker = marker[1:] + fp.read(1)
                if len(marker) < 2 or marker[0] != 0xFF or marker[1] in (0xD9, 0xDA):
                    return None
                if marker[1] == 0x01 or 0xD0 <= marker[1] <= 0xD7:
                    continue
                seg = fp.read(2)
                if len(seg) < 2:
                    return None
                if marker[1] in _JPEG_SOF:
                    frame = fp.read(5)
                    if len(frame) < 5:
                        return None
                    h, w = struct.unpack(">HH", frame[1:5])
                    return w, h
                fp.seek(struct.unpack(">H", seg)[0] - 2, os.SEEK_CUR)
        return None
    finally:
        fp.seek(start)


def _too_large(label: str | None, width: int, height: int, max_pixels: int) -> ImageError:
    return ImageError(label, f"too many pixels: {width}x{height} = {width * height:,} "
                      f"(the limit is {max_pixels:,})",
                      hint="resize the picture; a small file claiming this many pixels "
                      "may be a decompression bomb")


def _source(src: ImageSource, name: str | None) -> tuple[BinaryIO, str | None, bool]:
    """(binary file positioned at the image, the name used in messages, whether to close it)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise ImageError(name, "empty data (0 bytes)", hint=_DAMAGED_HINT)
        return io.BytesIO(bytes(src)), name, True
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        label = name or str(path)
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise ImageError(label, "not a file", hint="give the path of an image file")
            if size == 0:
                raise ImageError(label, "empty file (0 bytes)", hint=_DAMAGED_HINT)
            return path.open("rb"), label, True
        except FileNotFoundError:
            raise ImageError(label, "file not found", hint="check the path") from None
        except OSError as exc:
            raise ImageError(label, f"cannot open the file ({exc.strerror or exc})",
                             hint="check the file's permissions") from None
    if hasattr(src, "read"):
        label = name or (str(getattr(src, "name", "")) or None)
        try:
            # Pillow reads a seekable file from its start; keep "from the current position"
            fp: BinaryIO = src if src.seekable() and src.tell() == 0 else io.BytesIO(src.read())
            empty = not _read_head(fp)
        except (OSError, ValueError) as exc:
            raise ImageError(label, f"cannot read the data ({exc})", hint=_DAMAGED_HINT) from None
        if empty:
            raise ImageError(label, "empty data (0 bytes)", hint=_DAMAGED_HINT)
        return fp, label, False
    raise TypeError(f"expected a path, bytes or a binary file object, got {type(src).__name__}")


def _open_checked(fp: BinaryIO, label: str | None, max_pixels: int) -> Image.Image:
    """Open (header only) after checking the magic bytes; refuse before decoding if too large.

    Call inside ``warnings.catch_warnings``.
    """
    fmt = sniff_format(_read_head(fp))
    if fmt not in ACCEPTED_FORMATS:
        hint = _CONVERT_HINT
        if fmt == "HTML":
            hint = "this is a web page saved in place of the picture; download the image itself"
        raise ImageError(label, f"not a JPEG, PNG or WebP image: the content is "
                         f"{_DESCRIBE.get(fmt, fmt)}", hint=hint)
    try:
        size = _header_size(fp, fmt)
    except (OSError, ValueError, struct.error):
        size = None  # Pillow's parse below reports a damaged header
    if size is not None and size[0] * size[1] > max_pixels:
        raise _too_large(label, *size, max_pixels)
    try:
        im = Image.open(fp, formats=[fmt])
    except Image.DecompressionBombError:  # only above max_pixels when that is set very high
        raise ImageError(label, "too many pixels: more than Pillow's hard limit of "
                         f"{2 * (Image.MAX_IMAGE_PIXELS or 0):,}",
                         hint="resize the picture") from None
    except Image.UnidentifiedImageError:
        raise ImageError(label, f"damaged {fmt} header: Pillow cannot parse it",
                         hint=_DAMAGED_HINT) from None
    except Exception as exc:  # PIL raises many kinds for a broken header
        raise ImageError(label, f"damaged {fmt} header ({exc})", hint=_DAMAGED_HINT) from None
    width, height = im.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        im.close()
        raise _too_large(label, width, height, max_pixels)
    return im


def probe_image(src: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                name: str | None = None) -> ImageInfo:
    """Format and size from the header alone (fast: no pixel is decoded).

    Refuses what :func:`load_image` would refuse from the header: an empty file, a refused
    format, a damaged header, too many pixels. A file truncated after its header passes; only
    :func:`load_image` finds that.
    """
    fp, label, close = _source(src, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = _open_checked(fp, label, max_pixels)
            info = ImageInfo(str(im.format), im.width, im.height)
            im.close()
            return info
    finally:
        if close:
            fp.close()


def load_image(src: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               name: str | None = None) -> Image.Image:
    """Decode a JPEG, PNG or WebP photo into an upright 8-bit RGB image, or raise ImageError.

    ``src`` is a path, the file's bytes, or a binary file object (read from its current
    position). ``name`` is what messages call the image (an upload's original name); it
    defaults to the path. The image is fully decoded here, so the returned image does not
    keep the file open.
    """
    fp, label, close = _source(src, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = _open_checked(fp, label, max_pixels)
            fmt = im.format
            try:
                im.load()
            except Exception as exc:
                raise ImageError(label, f"truncated or corrupt {fmt} data ({exc})",
                                 hint=_DAMAGED_HINT) from None
            try:  # a new image either way, so closing ``im`` below is safe
                upright = ImageOps.exif_transpose(im) or im.copy()
            except Exception:  # a broken EXIF block should not cost the photo
                upright = im.copy()
            try:
                return to_rgb(upright)
            except Exception as exc:
                raise ImageError(label, f"cannot convert {fmt} mode {upright.mode} to RGB "
                                 f"({exc})", hint=_CONVERT_HINT) from None
            finally:
                im.close()
    finally:
        if close:
            fp.close()


def to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB: transparency composited onto white, palette/grey/CMYK converted, 16-bit grey
    scaled down (a plain convert would clip it to white). An RGB image comes back as is."""
    if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit PNG grey: 0..65535
        im = im.convert("I") if im.mode != "I" else im
        im = im.point(lambda v: v * (255.0 / 65535.0)).convert("L")
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return im.convert("RGB") if im.mode != "RGB" else im


def save_jpeg(image: Image.Image, path: str | os.PathLike, quality: int = 90) -> Path:
    """Write ``image`` as a JPEG at ``path`` atomically (temporary file in the same folder, then
    ``os.replace``): a reader never sees half a file, and a crash leaves the old file intact.

    Non-RGB images go through :func:`to_rgb` first (JPEG has no alpha). Creates the folder.
    """
    path = Path(path)
    rgb = to_rgb(image) if image.mode != "RGB" else image
    buffer = io.BytesIO()
    try:
        rgb.save(buffer, format="JPEG", quality=quality)
        return atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise ImageError(path, f"cannot write the JPEG ({exc.strerror or exc})",
                         hint="check the folder exists and is writable, and the disk space") from None

"""How a photo is stored, whichever way it comes in (an upload, the API, the demo, a closet zip):
:func:`prepare_photo` checks it, reads it like any upload, re-encodes it as JPEG with none of its
metadata (EXIF, XMP, ICC, comments, bytes after the image) and makes its thumbnail; files are
written through a temporary file and a rename.

The limits, and why:

- :data:`MAX_PHOTO_PIXELS` (25 MP) is checked from the file's header, before any pixel is
  decoded. A phone stores 12 MP by default and a 24 MP camera 6000 x 4000; the closet keeps at
  most :data:`PHOTO_MAX_SIDE` px a side (about 3 MP), so more pixels add nothing but cost: a
  40 MP PNG takes seconds and hundreds of MB to decode.
- :class:`DecodeBudget` (:data:`REQUEST_DECODE_PIXELS`, 100 MP) bounds the pixels one request
  decodes across all its files: about eight phone photos, which is also about what the 25 MiB
  request limit holds as JPEGs. Only files that compress far better than photos (a flat PNG)
  reach it; the files past it are refused with their own error and can come in another request.
"""

from __future__ import annotations

import errno
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from closet.errors import StorageFullError, StoreError
from data.fileio import atomic_write_bytes
from data.images import load_image, probe_image
from outfit.errors import ImageError

_FULL = {errno.ENOSPC, errno.EDQUOT}  # no space left, quota exceeded

__all__ = ["prepare_photo", "PreparedPhoto", "DecodeBudget", "THUMB_SIZE", "PHOTO_MAX_SIDE",
           "JPEG_QUALITY", "MAX_PHOTO_PIXELS", "REQUEST_DECODE_PIXELS"]

THUMB_SIZE = 256  # px, longest side
PHOTO_MAX_SIDE = 2048  # px; a phone's 12 MP photo is stored at 2048 x 1536
JPEG_QUALITY = 90
MAX_PHOTO_PIXELS = 25_000_000  # a 24 MP camera's 6000 x 4000 passes; see the module's docstring
REQUEST_DECODE_PIXELS = 100_000_000  # pixels one request may decode, all its files together


class DecodeBudget:
    """The pixels one request may still decode (default :data:`REQUEST_DECODE_PIXELS`): each
    photo is charged its header's pixel count before it is decoded, and one that does not fit
    in what is left is refused (an ImageError), undecoded."""

    def __init__(self, pixels: int | None = None) -> None:
        self.left = REQUEST_DECODE_PIXELS if pixels is None else pixels

    def charge(self, pixels: int, name: str | None) -> None:
        if pixels > self.left:
            raise ImageError(name, "decode budget for this request used up: upload the rest in "
                             f"another request ({pixels:,} pixels, {self.left:,} of the "
                             "request's budget left)",
                             hint="send fewer photos at a time")
        self.left -= pixels


@dataclass(frozen=True)
class PreparedPhoto:
    """What is stored for a photo: the JPEG, its thumbnail, and the JPEG's size (px)."""

    photo: bytes
    thumb: bytes
    width: int
    height: int


def prepare_photo(data: bytes, name: str, *, max_bytes: int, max_pixels: int,
                  max_side: int | None, budget: DecodeBudget | None = None) -> PreparedPhoto:
    """The JPEG to store for ``data`` (an upload's or an archive's photo) and its thumbnail;
    ``max_side`` (px) scales a large photo down. The size in bytes, the format and the pixel
    count (from the header) are checked, and ``budget`` charged, before anything is decoded.
    ImageError for a refused file."""
    if len(data) > max_bytes:
        raise ImageError(name or None, f"file too large ({len(data):,} bytes, the limit is "
                         f"{max_bytes:,})", hint="upload a smaller photo")
    info = probe_image(data, max_pixels=max_pixels, name=name or None)
    if budget is not None:
        budget.charge(info.width * info.height, name or None)
    image = load_image(data, max_pixels=max_pixels, name=name or None)
    photo = _encode_jpeg(image, max_side)
    thumb = _encode_jpeg(image, THUMB_SIZE)
    with Image.open(io.BytesIO(photo)) as stored:
        width, height = stored.size
    return PreparedPhoto(photo, thumb, width, height)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode_jpeg(image: Image.Image, max_side: int | None) -> bytes:
    im = image.copy()
    im.info = {}  # nothing of the file's metadata travels (EXIF, XMP, ICC, comments)
    if max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue()


def _write_file(path: Path, payload: bytes) -> None:
    try:
        atomic_write_bytes(path, payload)
    except OSError as exc:
        if exc.errno in _FULL:
            raise StorageFullError("the photo") from None
        raise StoreError(f"{path}: cannot write the file ({exc.strerror or exc})",
                         hint="check the disk space and the folder's permissions") from None


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

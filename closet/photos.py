"""How a photo is stored: read like any upload, re-encoded as JPEG with none of its metadata
(EXIF, ICC, comments), written through a temporary file and a rename."""

from __future__ import annotations

import errno
import hashlib
import io
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from closet.errors import StorageFullError, StoreError
from data.fileio import atomic_write_bytes
from data.images import load_image
from outfit.errors import ImageError

_FULL = {errno.ENOSPC, errno.EDQUOT}  # no space left, quota exceeded

__all__ = ["prepare_upload", "THUMB_SIZE", "PHOTO_MAX_SIDE", "JPEG_QUALITY"]

THUMB_SIZE = 256  # px, longest side
PHOTO_MAX_SIDE = 2048  # px; a phone's 12 MP photo is stored at 2048 x 1536
JPEG_QUALITY = 90


def prepare_upload(data: bytes, name: str, *, max_bytes: int, max_pixels: int,
                   max_side: int | None) -> tuple[bytes, bytes, int, int]:
    """The JPEG to store for uploaded ``data``, its thumbnail and the stored photo's width and
    height (px); ``max_side`` (px) scales a large photo down. ImageError for a refused file."""
    if len(data) > max_bytes:
        raise ImageError(name or None, f"file too large ({len(data):,} bytes, the limit is "
                         f"{max_bytes:,})", hint="upload a smaller photo")
    image = load_image(data, max_pixels=max_pixels, name=name or None)
    photo = _encode_jpeg(image, max_side)
    thumb = _encode_jpeg(image, THUMB_SIZE)
    with Image.open(io.BytesIO(photo)) as stored:
        width, height = stored.size
    return photo, thumb, width, height


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode_jpeg(image: Image.Image, max_side: int | None) -> bytes:
    im = image.copy()
    im.info = {}  # nothing of the upload's metadata travels (EXIF, ICC, comments)
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

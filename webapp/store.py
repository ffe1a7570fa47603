"""The closet's storage: one person's items, photos, wear log, feedback and feature cache.

One SQLite database (``closet.db``) and two folders of files (``images/``, ``thumbs/``) in an
instance folder. Plain Python, no Flask: the web app, the command line and the tests share
:class:`Store`.

Why it is built this way:

- Uploads come from strangers. Photos are read by :mod:`data.images` (the content decides the
  format: JPEG, PNG and WebP only; the pixel limit is checked before decoding; truncated files
  are refused), turned upright, and *re-encoded* as JPEG under a generated name, which drops
  EXIF (GPS position, camera serial) and whatever else the file carried. The original name is
  kept as data only; no path is ever built from user input.
- A row and its files stand or fall together. Files are written (temporary file, then
  ``os.replace``) inside the write transaction, before the row goes in, and removed again if
  anything fails before the commit. Deleting commits first and removes the files after, so a
  crash in between leaves an orphan file (:meth:`Store.integrity_report` lists it), never a row
  without its photo.
- The web server is multi-threaded and SQLite connections cannot be shared between threads, so
  every call opens its own connection and closes it (opening one costs well under a
  millisecond). WAL lets readers run beside the one writer; writers take the lock up front
  (``BEGIN IMMEDIATE``), so a check and the write that depends on it cannot interleave with
  another thread's, and wait for each other up to the busy timeout.
- The schema grows by numbered steps (:data:`MIGRATIONS`), counted in ``PRAGMA user_version``,
  each applied in one transaction; a database newer than the code is refused, not guessed at.

Decisions: ids are 12 random characters of ``[a-z0-9]`` (62 bits; url-safe, never a leading
``-`` that a command line would read as an option, and distinct on case-insensitive disks).
A photo is a duplicate when its uploaded bytes or its re-encoded JPEG match those of an item
already stored (either checksum, either way round): it is refused with
:class:`DuplicatePhotoError`, which names that item. :meth:`Store.import_zip` merges: items
already here (same id, or same photo) are kept as they are, never overwritten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import string
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from data.dataset import CompatibilityQuestion, Dataset
from data.fileio import atomic_write_bytes
from data.images import DEFAULT_MAX_PIXELS, load_image, sniff_format
from outfit.domain import Closet, Item, Outfit
from outfit.errors import ImageError, ItemNotFoundError, OutfitError
from outfit.vocab import CATEGORY_SLOT, check_slot, normalize_category

__all__ = [
    "Store",
    "ItemRecord",
    "FeedbackRecord",
    "ExportReport",
    "ImportReport",
    "StoreError",
    "DuplicatePhotoError",
    "SchemaVersionError",
    "ArchiveError",
    "TAGS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "DB_NAME",
    "THUMB_SIZE",
]

DB_NAME = "closet.db"
PHOTOS, THUMBS = "images", "thumbs"
TAGS: tuple[str, ...] = ("semantic_category", "category", "color", "pattern")
THUMB_SIZE = 256  # px, longest side
PHOTO_MAX_SIDE = 2048  # px; a phone's 12 MP photo is stored at 2048 x 1536
JPEG_QUALITY = 90
MAX_UPLOAD_BYTES = 25 * 2**20
ARCHIVE_FORMAT, ARCHIVE_VERSION, MANIFEST = "outfit-closet", 1, "manifest.json"
_MAX_DB_BYTES, _MAX_MANIFEST_BYTES = 2**30, 2**26

_ALPHABET = string.ascii_lowercase + string.digits
_ID_RE = re.compile(r"[a-z0-9]{12}")
_STORED_RE = re.compile(r"[a-z0-9]{20}\.jpg")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_PHOTO_MEMBER_RE = re.compile(r"photos/([a-z0-9]{12})\.jpg")
_MAX_TAG_LEN, _MAX_NAME_LEN = 64, 200


class StoreError(OutfitError):
    """The closet's storage cannot do what was asked (bad value, unreadable database...)."""


class DuplicatePhotoError(StoreError, ValueError):
    """The photo is already in the closet; ``existing_id`` names the item that holds it."""

    def __init__(self, name: str, existing_id: str) -> None:
        self.existing_id = existing_id
        super().__init__(f"{name or 'photo'}: this photo is already in the closet as item "
                         f"{existing_id}", hint="open that item instead of adding it again")


class SchemaVersionError(StoreError):
    """A database written by a newer version of the code."""


class ArchiveError(StoreError, ValueError):
    """A zip that is not a closet export, or a damaged or tampered one."""


# --------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ItemRecord:
    """One row of ``items``. Each tag has a confidence (None when set by hand) and a flag
    saying the person edited it (auto-tagging never overwrites an edited tag)."""

    id: str
    name: str
    original_name: str
    stored_name: str
    semantic_category: str | None
    semantic_category_confidence: float | None
    semantic_category_edited: bool
    category: str | None
    category_confidence: float | None
    category_edited: bool
    color: str | None
    color_confidence: float | None
    color_edited: bool
    pattern: str | None
    pattern_confidence: float | None
    pattern_edited: bool
    in_wash: bool
    width: int  # px of the stored (upright) photo
    height: int
    sha256: str  # of the stored JPEG
    source_sha256: str  # of the uploaded bytes
    created_at: str  # ISO 8601, UTC
    updated_at: str

    @property
    def slot(self) -> str | None:
        """The outfit slot, or None while the item has no semantic category."""
        return CATEGORY_SLOT.get(self.semantic_category or "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``slot``; ``stored_name`` left out (it is no business of a client)."""
        out = asdict(self)
        del out["stored_name"]
        out["slot"] = self.slot
        return out


_ITEM_COLUMNS = tuple(f.name for f in fields(ItemRecord))
_BOOL_COLUMNS = frozenset({"in_wash", *(f"{t}_edited" for t in TAGS)})


@dataclass(frozen=True)
class FeedbackRecord:
    """A thumbs up (``up``) or down on an outfit, the latest judgement of that set of items."""

    id: str
    item_ids: tuple[str, ...]
    up: bool
    created_at: str


@dataclass(frozen=True)
class ExportReport:
    path: Path
    items: int
    left_out: tuple[str, ...]  # items whose photo file was missing


@dataclass(frozen=True)
class ImportReport:
    added: tuple[str, ...]  # ids of the new items
    already_present: int  # items kept as they were (same id or same photo)
    wears_added: int
    feedback_added: int


# -------------------------------------------------------------------------------- schema


def _tag_columns(tag: str) -> str:
    return (f"{tag} TEXT, {tag}_confidence REAL CHECK ({tag}_confidence BETWEEN 0 AND 1), "
            f"{tag}_edited INTEGER NOT NULL DEFAULT 0 CHECK ({tag}_edited IN (0, 1))")


# Each step is a list of statements run in one transaction; step k takes user_version k -> k+1.
# Append steps; never edit one that has shipped.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        f"""CREATE TABLE items (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            original_name TEXT NOT NULL DEFAULT '',
            stored_name TEXT NOT NULL UNIQUE,
            {", ".join(_tag_columns(t) for t in TAGS)},
            in_wash INTEGER NOT NULL DEFAULT 0 CHECK (in_wash IN (0, 1)),
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            sha256 TEXT NOT NULL UNIQUE,
            source_sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT""",
        "CREATE INDEX items_semantic ON items (semantic_category)",
        "CREATE INDEX items_created ON items (created_at)",
        """CREATE TABLE wears (
            id TEXT PRIMARY KEY NOT NULL,
            worn_on TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) STRICT""",
        "CREATE INDEX wears_worn_on ON wears (worn_on)",
        """CREATE TABLE wear_items (
            wear_id TEXT NOT NULL REFERENCES wears (id) ON DELETE CASCADE,
            item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            PRIMARY KEY (wear_id, item_id)
        ) STRICT, WITHOUT ROWID""",
        "CREATE INDEX wear_items_item ON wear_items (item_id)",
        """CREATE TABLE feedback (
            id TEXT PRIMARY KEY NOT NULL,
            outfit_key TEXT NOT NULL UNIQUE,
            up INTEGER NOT NULL CHECK (up IN (0, 1)),
            created_at TEXT NOT NULL
        ) STRICT""",
        """CREATE TABLE feedback_items (
            feedback_id TEXT NOT NULL REFERENCES feedback (id) ON DELETE CASCADE,
            item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            PRIMARY KEY (feedback_id, item_id)
        ) STRICT, WITHOUT ROWID""",
        "CREATE INDEX feedback_items_item ON feedback_items (item_id)",
        """CREATE TABLE features (
            model_key TEXT NOT NULL,
            item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            dim INTEGER NOT NULL CHECK (dim > 0),
            vector BLOB NOT NULL CHECK (length(vector) = 4 * dim),
            created_at TEXT NOT NULL,
            PRIMARY KEY (model_key, item_id)
        ) STRICT, WITHOUT ROWID""",
        "CREATE INDEX features_item ON features (item_id)",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)
_TABLES = ("items", "wears", "wear_items", "feedback", "feedback_items", "features")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _migrate(conn: sqlite3.Connection, where: Path) -> None:
    """Bring the database up to :data:`MIGRATIONS`, one transaction per step; refuse a newer one.

    The version is read again under the write lock, so two processes opening the same old
    database upgrade it once.
    """
    known = len(MIGRATIONS)
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)
            if version > known:
                raise SchemaVersionError(
                    f"{where}: the closet database is version {version}, newer than this code "
                    f"knows (up to {known})",
                    hint="upgrade the outfit package, or use another instance folder")
            if version == known:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


# ------------------------------------------------------------------------------- helpers


def _token(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _clean_original_name(name: object) -> str:
    """The file's own name without any folder a browser sent, control characters or excess."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:_MAX_NAME_LEN]


def _tag_value(tag: str, value: object) -> str | None:
    """A valid value for ``tag`` (None clears it); raises a StoreError saying what is wrong."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise StoreError(f"tag {tag} must be text, got {type(value).__name__}")
    value = value.strip()
    if tag == "name":
        if len(value) > _MAX_NAME_LEN:
            raise StoreError(f"name is {len(value)} characters long",
                             hint=f"keep it under {_MAX_NAME_LEN}")
        return value
    if not value:
        return None
    if tag == "semantic_category":
        return normalize_category(value)  # UnknownCategoryError lists the categories
    if len(value) > _MAX_TAG_LEN:
        raise StoreError(f"tag {tag} is {len(value)} characters long",
                         hint=f"keep it under {_MAX_TAG_LEN}")
    return value


def _confidence(tag: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise StoreError(f"{tag}_confidence must be a number from 0 to 1, got {value!r}")
    return float(value)


def _initial_tags(tags: Mapping[str, Any] | None) -> dict[str, Any]:
    """Columns for an upload's tags: a tag with ``<tag>_confidence`` came from a tagger; one
    without was set by the person (edited, no confidence)."""
    tags = dict(tags or {})
    allowed = {"name", *TAGS, *(f"{t}_confidence" for t in TAGS)}
    unknown = sorted(set(tags) - allowed)
    if unknown:
        raise StoreError(f"unknown tag(s): {', '.join(unknown)}",
                         hint="use: " + ", ".join(sorted(allowed)))
    out: dict[str, Any] = {"name": _tag_value("name", tags.get("name")) or ""}
    for tag in TAGS:
        value = _tag_value(tag, tags.get(tag))
        conf = tags.get(f"{tag}_confidence")
        if conf is not None and value is None:
            raise StoreError(f"{tag}_confidence given without a {tag}")
        out[tag] = value
        out[f"{tag}_confidence"] = _confidence(tag, conf) if conf is not None else None
        out[f"{tag}_edited"] = value is not None and conf is None
    return out


def _record(row: sqlite3.Row) -> ItemRecord:
    return ItemRecord(**{c: bool(row[c]) if c in _BOOL_COLUMNS else row[c]
                         for c in _ITEM_COLUMNS})


def _as_date(value: dt.date | str | None) -> str:
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise StoreError(f"not a date: {value!r}", hint="give it as YYYY-MM-DD") from None


def _unique_ids(item_ids: Iterable[str], least: int) -> list[str]:
    ids = list(dict.fromkeys(str(i) for i in item_ids))
    if len(ids) < least:
        raise StoreError(f"need at least {least} different item(s), got {len(ids)}")
    return ids


def _encode_jpeg(image: Image.Image, max_side: int | None) -> bytes:
    im = image.copy()
    im.info = {}  # nothing of the upload's metadata travels (EXIF, ICC, comments)
    if max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue()


def _chunks(seq: Sequence[str], n: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(seq), n):
        yield seq[start:start + n]


def _delete_items(conn: sqlite3.Connection, item_ids: Sequence[str]) -> None:
    """Delete items with their feedback (a judgement of a set of items no longer holds without
    one of them) and the wears left with no item; wear entries and features cascade."""
    for part in _chunks(item_ids):
        marks = ",".join("?" * len(part))
        conn.execute("DELETE FROM feedback WHERE id IN (SELECT feedback_id FROM feedback_items "
                     f"WHERE item_id IN ({marks}))", part)
        conn.execute(f"DELETE FROM items WHERE id IN ({marks})", part)
    conn.execute("DELETE FROM wears WHERE id NOT IN (SELECT wear_id FROM wear_items)")


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ archives

_FOREIGN_HINT = "only a zip written by the closet's export can be imported; export it again"
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
               ValueError)


@contextmanager
def _open_archive(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise StoreError(f"{path}: file not found", hint="check the path") from None
    except (*_ZIP_ERRORS, OSError) as exc:
        raise ArchiveError(f"{path}: not a readable zip archive ({exc})",
                           hint=_FOREIGN_HINT) from None
    with zf:
        yield zf


def _archive_members(zf: zipfile.ZipFile, where: Path) -> dict[str, zipfile.ZipInfo]:
    """Name -> entry, after checking every name: only the manifest, the database and
    ``photos/<id>.jpg``, each once, none encrypted. Nothing is ever extracted under a member's
    own name, but a strange name means a foreign or crafted archive, so it is refused."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        if name not in (MANIFEST, DB_NAME) and not _PHOTO_MEMBER_RE.fullmatch(name):
            raise ArchiveError(f"{where}: unexpected member {name!r}", hint=_FOREIGN_HINT)
        if name in members:
            raise ArchiveError(f"{where}: member {name!r} appears twice", hint=_FOREIGN_HINT)
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{where}: member {name!r} is encrypted", hint=_FOREIGN_HINT)
        members[name] = info
    for required in (MANIFEST, DB_NAME):
        if required not in members:
            raise ArchiveError(f"{where}: no {required} in the archive: not a closet export",
                               hint=_FOREIGN_HINT)
    return members


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: BinaryIO, limit: int,
                 where: Path) -> None:
    """Copy a member's bytes, refusing more than ``limit`` (whatever its header claims) and
    a damaged member (the CRC is checked at its end)."""
    too_big = ArchiveError(f"{where}: member {info.filename!r} is larger than {limit:,} bytes",
                           hint=_FOREIGN_HINT)
    if info.file_size > limit:
        raise too_big
    total = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise too_big
                out.write(chunk)
    except ArchiveError:
        raise
    except _ZIP_ERRORS as exc:
        raise ArchiveError(f"{where}: member {info.filename!r} is damaged ({exc})",
                           hint="the archive is corrupt; export it again") from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: Path) -> bytes:
    buf = io.BytesIO()
    _copy_member(zf, info, buf, limit, where)
    return buf.getvalue()


def _read_manifest(data: bytes, where: Path) -> dict[str, str]:
    """The manifest's items (id -> sha256 of the photo), after checking its format and version."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveError(f"{where}: {MANIFEST} is not JSON ({exc})", hint=_FOREIGN_HINT) from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(f"{where}: {MANIFEST} is not a closet export's", hint=_FOREIGN_HINT)
    version, schema = manifest.get("format_version"), manifest.get("schema_version")
    if not isinstance(version, int) or not isinstance(schema, int):
        raise ArchiveError(f"{where}: {MANIFEST} lacks its versions", hint=_FOREIGN_HINT)
    if version > ARCHIVE_VERSION or schema > SCHEMA_VERSION:
        raise ArchiveError(f"{where}: written by a newer version of the app (archive format "
                           f"{version}, database version {schema})",
                           hint="upgrade the outfit package to import it")
    items = manifest.get("items")
    if not isinstance(items, dict) or not all(
            isinstance(k, str) and _ID_RE.fullmatch(k) and isinstance(v, str)
            and _SHA_RE.fullmatch(v) for k, v in items.items()):
        raise ArchiveError(f"{where}: {MANIFEST} has a bad item list", hint=_FOREIGN_HINT)
    return items


def _is_time(value: object) -> bool:
    try:
        dt.datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _archive_record(row: sqlite3.Row, where: Path) -> ItemRecord:
    """An item row of an archive, every field checked as if it came from a stranger."""
    values = {c: row[c] for c in _ITEM_COLUMNS}
    item_id = values["id"]

    def bad(what: str) -> ArchiveError:
        return ArchiveError(f"{where}: item {item_id!r}: {what}", hint=_FOREIGN_HINT)

    if not isinstance(item_id, str) or not _ID_RE.fullmatch(item_id):
        raise bad("not an item id of this app")
    try:
        values["name"] = _tag_value("name", values["name"]) or ""
        for tag in TAGS:
            values[tag] = _tag_value(tag, values[tag])
            conf = values[f"{tag}_confidence"]
            values[f"{tag}_confidence"] = None if conf is None else _confidence(tag, conf)
    except OutfitError as exc:
        raise bad(exc.message) from None
    values["original_name"] = _clean_original_name(values["original_name"])
    for column in _BOOL_COLUMNS:
        if values[column] not in (0, 1):
            raise bad(f"{column} is {values[column]!r}")
        values[column] = bool(values[column])
    for column in ("sha256", "source_sha256"):
        if not isinstance(values[column], str) or not _SHA_RE.fullmatch(values[column]):
            raise bad(f"bad {column}")
    for column in ("created_at", "updated_at"):
        if not _is_time(values[column]):
            raise bad(f"bad {column} {values[column]!r}")
    return ItemRecord(**values)


def _read_archive_db(path: Path, expected: Mapping[str, str], where: Path) -> tuple[
        list[ItemRecord], list[tuple[str, str, list[str]]], list[tuple[str, bool, str, list[str]]]]:
    """Items, wears (id, date, item ids) and feedback (id, up, time, item ids) of an archive's
    database copy, after checking it: SQLite's integrity check, a version this code knows
    (older ones are upgraded in the copy), plain tables only, and the same items as the
    manifest."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            check = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            version = _user_version(conn)
            kinds = {(r[0], r[1]) for r in conn.execute("SELECT type, name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"{where}: {DB_NAME} is not a readable database ({exc})",
                               hint=_FOREIGN_HINT) from None
        if check != ["ok"]:
            raise ArchiveError(f"{where}: {DB_NAME} is damaged ({check[0]})",
                               hint="the archive is corrupt; export it again")
        if not 1 <= version <= SCHEMA_VERSION:
            raise ArchiveError(f"{where}: {DB_NAME} has version {version} (this code knows 1 "
                               f"to {SCHEMA_VERSION})", hint=_FOREIGN_HINT)
        if any(kind in ("view", "trigger") for kind, _ in kinds) or not all(
                ("table", t) in kinds for t in _TABLES):
            raise ArchiveError(f"{where}: {DB_NAME} does not have the closet's tables",
                               hint=_FOREIGN_HINT)
        _migrate(conn, path)
        records = [_archive_record(r, where) for r in conn.execute(
            f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items ORDER BY rowid")]
        if {r.id: r.sha256 for r in records} != dict(expected):
            raise ArchiveError(f"{where}: the database and the manifest list different items",
                               hint=_FOREIGN_HINT)
        members: dict[str, list[str]] = {}
        for row in conn.execute("SELECT wear_id, item_id FROM wear_items"):
            members.setdefault(row[0], []).append(row[1])
        wears = []
        for row in conn.execute("SELECT id, worn_on FROM wears ORDER BY rowid"):
            if not isinstance(row[0], str) or not _ID_RE.fullmatch(row[0]):
                raise ArchiveError(f"{where}: bad wear id {row[0]!r}", hint=_FOREIGN_HINT)
            wears.append((row[0], _as_date(row[1]), members.get(row[0], [])))
        members = {}
        for row in conn.execute("SELECT feedback_id, item_id FROM feedback_items"):
            members.setdefault(row[0], []).append(row[1])
        feedback = []
        for row in conn.execute("SELECT id, up, created_at FROM feedback ORDER BY rowid"):
            if not isinstance(row[0], str) or not _ID_RE.fullmatch(row[0]) or row[1] not in (0, 1) \
                    or not _is_time(row[2]):
                raise ArchiveError(f"{where}: bad feedback {row[0]!r}", hint=_FOREIGN_HINT)
            feedback.append((row[0], bool(row[1]), str(row[2]), members.get(row[0], [])))
        return records, wears, feedback
    except StoreError as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"{where}: {exc}", hint=_FOREIGN_HINT) from None
    finally:
        conn.close()


# --------------------------------------------------------------------------------- store


class Store:
    """One person's closet in ``folder``: ``closet.db``, ``images/`` and ``thumbs/``.

    Safe to share between threads (each call uses its own connection). ``max_pixels`` and
    ``max_upload_bytes`` bound what an upload may cost; ``photo_max_side`` (px) scales large
    photos down when they are stored (None keeps them as they are).
    """

    def __init__(self, folder: Path | str, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 photo_max_side: int | None = PHOTO_MAX_SIDE, busy_timeout_s: float = 10.0) -> None:
        self.folder = Path(folder)
        self.db_path = self.folder / DB_NAME
        self.photos_dir = self.folder / PHOTOS
        self.thumbs_dir = self.folder / THUMBS
        self.max_pixels = max_pixels
        self.max_upload_bytes = max_upload_bytes
        self.photo_max_side = photo_max_side
        self.busy_timeout_s = busy_timeout_s
        for d in (self.folder, self.photos_dir, self.thumbs_dir):
            d.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            with self._db_errors():
                if _user_version(conn) <= len(MIGRATIONS):  # never touch a newer database
                    conn.execute("PRAGMA journal_mode = WAL")
                _migrate(conn, self.db_path)
        finally:
            conn.close()

    def __repr__(self) -> str:
        return f"Store({str(self.folder)!r})"

    # ---- connections

    def _connect(self, path: Path | None = None) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(path or self.db_path, timeout=self.busy_timeout_s,
                                   isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path or self.db_path}: cannot open the closet database ({exc})",
                             hint="check the folder exists and is writable") from None
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        conn.execute("PRAGMA trusted_schema = OFF")
        return conn

    @contextmanager
    def _db_errors(self) -> Iterator[None]:
        """SQLite's operational failures (locked, damaged, disk full) as a StoreError."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.db_path}: closet database error ({exc})",
                             hint="try again; if it persists, run the integrity report") from exc

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction (``BEGIN IMMEDIATE`` to write), committed at the
        end, rolled back on any exception, always closed."""
        conn = self._connect()
        try:
            with self._db_errors():
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        finally:
            conn.close()

    @staticmethod
    def _require(conn: sqlite3.Connection, item_ids: Sequence[str]) -> None:
        """Raise ItemNotFoundError naming the first of ``item_ids`` that is not an item."""
        for part in _chunks(item_ids):
            found = {r[0] for r in conn.execute(
                f"SELECT id FROM items WHERE id IN ({','.join('?' * len(part))})", part)}
            missing = [i for i in part if i not in found]
            if missing:
                raise ItemNotFoundError(f"no item {missing[0]!r} in the closet",
                                        hint="list the closet to see the item ids")

    # ---- items

    def add_photo(self, data: bytes, original_name: str,
                  tags: Mapping[str, Any] | None = None) -> ItemRecord:
        """Store an uploaded photo as a new item and return it.

        ``data`` is the file's bytes; ``original_name`` is kept as data only. ``tags`` may hold
        ``name``, the :data:`TAGS` and ``<tag>_confidence`` (see :func:`_initial_tags`).
        Raises ImageError for a refused file, DuplicatePhotoError when the photo is already
        here; either way nothing is left behind.
        """
        name = _clean_original_name(original_name)
        values = _initial_tags(tags)
        data = bytes(data)
        if len(data) > self.max_upload_bytes:
            raise ImageError(name or None, f"file too large ({len(data):,} bytes, the limit is "
                             f"{self.max_upload_bytes:,})", hint="upload a smaller photo")
        image = load_image(data, max_pixels=self.max_pixels, name=name or None)
        photo = _encode_jpeg(image, self.photo_max_side)
        thumb = _encode_jpeg(image, THUMB_SIZE)
        with Image.open(io.BytesIO(photo)) as stored:
            width, height = stored.size
        now = _now()
        record = ItemRecord(**{
            **values, "id": _token(12), "original_name": name, "stored_name": f"{_token(20)}.jpg",
            "in_wash": False, "width": width, "height": height, "sha256": _sha256(photo),
            "source_sha256": _sha256(data), "created_at": now, "updated_at": now})
        written: list[Path] = []
        try:
            with self._tx(write=True) as conn:
                existing = self._find_photo(conn, record.sha256, record.source_sha256)
                if existing:
                    raise DuplicatePhotoError(name, existing)
                for folder, payload in ((self.photos_dir, photo), (self.thumbs_dir, thumb)):
                    path = folder / record.stored_name
                    written.append(path)
                    self._write_file(path, payload)
                self._insert_item(conn, record)
        except BaseException:
            _remove(written)
            raise
        return record

    @staticmethod
    def _find_photo(conn: sqlite3.Connection, *shas: str) -> str | None:
        marks = ",".join("?" * len(shas))
        row = conn.execute(f"SELECT id FROM items WHERE sha256 IN ({marks}) OR source_sha256 IN "
                           f"({marks}) LIMIT 1", (*shas, *shas)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _write_file(path: Path, payload: bytes) -> None:
        try:
            atomic_write_bytes(path, payload)
        except OSError as exc:
            raise StoreError(f"{path}: cannot write the file ({exc.strerror or exc})",
                             hint="check the disk space and the folder's permissions") from None

    def _insert_item(self, conn: sqlite3.Connection, record: ItemRecord) -> None:
        row = asdict(record)
        conn.execute(f"INSERT INTO items ({', '.join(_ITEM_COLUMNS)}) VALUES "
                     f"({', '.join(':' + c for c in _ITEM_COLUMNS)})", row)

    def get(self, item_id: str) -> ItemRecord:
        with self._tx() as conn:
            return self._get(conn, item_id)

    def _get(self, conn: sqlite3.Connection, item_id: str) -> ItemRecord:
        row = conn.execute("SELECT * FROM items WHERE id = ?", (str(item_id),)).fetchone()
        if row is None:
            raise ItemNotFoundError(f"no item {item_id!r} in the closet",
                                    hint="list the closet to see the item ids")
        return _record(row)

    @staticmethod
    def _where(slot: str | None, color: str | None, pattern: str | None,
               available: bool | None, search: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if slot is not None:
            cats = [c for c, s in CATEGORY_SLOT.items() if s == check_slot(slot)]
            clauses.append(f"semantic_category IN ({','.join('?' * len(cats))})")
            params += cats
        for column, value in (("color", color), ("pattern", pattern)):
            if value is not None:
                clauses.append(f"{column} = ? COLLATE NOCASE")
                params.append(value.strip())
        if available is not None:
            clauses.append("in_wash = ?")
            params.append(0 if available else 1)
        searched = ("name", "original_name", "category", "semantic_category", "color", "pattern")
        for word in (search or "").split():  # every word must appear in some field
            like = "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"
            clauses.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in searched) + ")")
            params += [like] * len(searched)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list(self, slot: str | None = None, color: str | None = None, pattern: str | None = None,
             available: bool | None = None, search: str | None = None, limit: int | None = None,
             offset: int = 0) -> list[ItemRecord]:
        """Items, newest first. ``available``: True = not in the wash, False = in the wash.
        ``search`` matches every word (case-insensitive) in the name, original name, category,
        semantic category, colour or pattern. Colour and pattern match whole values."""
        if (limit is not None and limit < 0) or offset < 0:
            raise StoreError("limit and offset must not be negative")
        where, params = self._where(slot, color, pattern, available, search)
        with self._tx() as conn:
            rows = conn.execute(f"SELECT * FROM items{where} ORDER BY created_at DESC, rowid DESC "
                                "LIMIT ? OFFSET ?", (*params, -1 if limit is None else limit,
                                                     offset)).fetchall()
        return [_record(r) for r in rows]

    def count(self, slot: str | None = None, color: str | None = None, pattern: str | None = None,
              available: bool | None = None, search: str | None = None) -> int:
        """How many items :meth:`list` would return without a limit (for paging)."""
        where, params = self._where(slot, color, pattern, available, search)
        with self._tx() as conn:
            return int(conn.execute(f"SELECT count(*) FROM items{where}", params).fetchone()[0])

    def update_tags(self, item_id: str, **tags: str | None) -> ItemRecord:
        """Set tags by hand (``name`` and the :data:`TAGS`; None clears one): each is marked
        edited and loses its confidence, so auto-tagging leaves it alone from now on."""
        unknown = sorted(set(tags) - {"name", *TAGS})
        if unknown:
            raise StoreError(f"unknown tag(s): {', '.join(unknown)}",
                             hint="use: " + ", ".join(("name", *TAGS)))
        sets, params = ["updated_at = ?"], [_now()]
        for tag, value in tags.items():
            clean = _tag_value(tag, value)
            if tag == "name":
                sets.append("name = ?")
                params.append(clean or "")
            else:
                sets += [f"{tag} = ?", f"{tag}_confidence = NULL", f"{tag}_edited = 1"]
                params.append(clean)
        with self._tx(write=True) as conn:
            self._get(conn, item_id)
            conn.execute(f"UPDATE items SET {', '.join(sets)} WHERE id = ?", (*params, item_id))
            return self._get(conn, item_id)

    def set_auto_tags(self, item_id: str,
                      tags: Mapping[str, tuple[str | None, float]]) -> ItemRecord:
        """Tags from a tagger, ``{tag: (value, confidence)}``; tags the person edited are kept."""
        unknown = sorted(set(tags) - set(TAGS))
        if unknown:
            raise StoreError(f"unknown tag(s): {', '.join(unknown)}", hint="use: " + ", ".join(TAGS))
        clean = {t: (_tag_value(t, v), _confidence(t, c)) for t, (v, c) in tags.items()}
        with self._tx(write=True) as conn:
            current = self._get(conn, item_id)
            for tag, (value, conf) in clean.items():
                if not getattr(current, f"{tag}_edited"):
                    conn.execute(f"UPDATE items SET {tag} = ?, {tag}_confidence = ?, "
                                 "updated_at = ? WHERE id = ?", (value, conf, _now(), item_id))
            return self._get(conn, item_id)

    def set_in_wash(self, item_id: str, in_wash: bool) -> ItemRecord:
        with self._tx(write=True) as conn:
            self._get(conn, item_id)
            conn.execute("UPDATE items SET in_wash = ?, updated_at = ? WHERE id = ?",
                         (int(bool(in_wash)), _now(), item_id))
            return self._get(conn, item_id)

    def delete(self, item_id: str) -> None:
        """Remove the item, its cached features and wear entries, and any feedback on an outfit
        it was in (a judgement of those items no longer holds without it); then its files."""
        with self._tx(write=True) as conn:
            record = self._get(conn, item_id)
            _delete_items(conn, [record.id])
        _remove((self._file(self.photos_dir, record), self._file(self.thumbs_dir, record)))

    def _file(self, folder: Path, record: ItemRecord) -> Path:
        if not _STORED_RE.fullmatch(record.stored_name):  # only a damaged database gets here
            raise StoreError(f"item {record.id}: bad stored file name {record.stored_name!r}",
                             hint="run the integrity report")
        return folder / record.stored_name

    def photo_path(self, item_id: str) -> Path:
        """The stored JPEG of an item (inside ``images/``; the name was generated here)."""
        return self._file(self.photos_dir, self.get(item_id))

    def thumb_path(self, item_id: str) -> Path:
        return self._file(self.thumbs_dir, self.get(item_id))

    def closet(self, available_only: bool = True) -> Closet:
        """The items as a domain :class:`Closet`, oldest first; items not yet given a semantic
        category are left out (they fit no slot), and with ``available_only`` those in the wash.
        Each item's ``image`` is its stored photo; ``attributes`` hold colour and pattern."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM items WHERE semantic_category IS NOT NULL"
                                + (" AND in_wash = 0" if available_only else "")
                                + " ORDER BY created_at, rowid").fetchall()
        items = []
        for rec in map(_record, rows):
            attrs = {k: v for k, v in (("color", rec.color), ("pattern", rec.pattern)) if v}
            items.append(Item(id=rec.id, category=rec.category or "",
                              semantic_category=str(rec.semantic_category),
                              image=self._file(self.photos_dir, rec), name=rec.name,
                              attributes=attrs))
        return Closet(tuple(items), name=self.folder.name or "closet")

    # ---- wear log

    def log_wear(self, item_ids: Iterable[str], date: dt.date | str | None = None) -> str:
        """Record that these items were worn together on ``date`` (default today); the wear id."""
        ids, day = _unique_ids(item_ids, 1), _as_date(date)
        wear_id = _token(12)
        with self._tx(write=True) as conn:
            self._require(conn, ids)
            conn.execute("INSERT INTO wears (id, worn_on, created_at) VALUES (?, ?, ?)",
                         (wear_id, day, _now()))
            conn.executemany("INSERT INTO wear_items (wear_id, item_id) VALUES (?, ?)",
                             [(wear_id, i) for i in ids])
        return wear_id

    def wear_counts(self) -> dict[str, int]:
        """Item id -> times worn, every item present (0 when never worn)."""
        with self._tx() as conn:
            rows = conn.execute("SELECT items.id, count(wear_items.wear_id) FROM items LEFT JOIN "
                                "wear_items ON wear_items.item_id = items.id GROUP BY items.id")
            return {r[0]: int(r[1]) for r in rows}

    def unworn_since(self, days: int, today: dt.date | None = None) -> list[ItemRecord]:
        """Items not worn for ``days`` days, longest first. An item never worn counts from the
        day it was added, so a new purchase is not 'unworn' the day after."""
        if days < 0:
            raise StoreError(f"days must not be negative, got {days}")
        cutoff = ((today or dt.date.today()) - dt.timedelta(days=days)).isoformat()
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT items.*, COALESCE(max(wears.worn_on), date(items.created_at, 'localtime')) "
                "AS last FROM items LEFT JOIN wear_items ON wear_items.item_id = items.id "
                "LEFT JOIN wears ON wears.id = wear_items.wear_id GROUP BY items.id "
                "HAVING last < ? ORDER BY last, items.rowid", (cutoff,)).fetchall()
        return [_record(r) for r in rows]

    # ---- feedback

    def add_feedback(self, item_ids: Iterable[str], up: bool) -> str:
        """Thumbs up or down on an outfit (two or more items); a later judgement of the same set
        of items replaces the earlier one. Returns the feedback id."""
        ids = _unique_ids(item_ids, 2)
        key = ",".join(sorted(ids))
        with self._tx(write=True) as conn:
            self._require(conn, ids)
            row = conn.execute("SELECT id FROM feedback WHERE outfit_key = ?", (key,)).fetchone()
            if row:
                conn.execute("UPDATE feedback SET up = ?, created_at = ? WHERE id = ?",
                             (int(bool(up)), _now(), row[0]))
                return str(row[0])
            fid = _token(12)
            conn.execute("INSERT INTO feedback (id, outfit_key, up, created_at) VALUES "
                         "(?, ?, ?, ?)", (fid, key, int(bool(up)), _now()))
            conn.executemany("INSERT INTO feedback_items (feedback_id, item_id) VALUES (?, ?)",
                             [(fid, i) for i in ids])
            return fid

    def feedback(self) -> list[FeedbackRecord]:
        """Every judgement, oldest first."""
        with self._tx() as conn:
            rows = conn.execute("SELECT id, outfit_key, up, created_at FROM feedback "
                                "ORDER BY created_at, rowid").fetchall()
        return [FeedbackRecord(r["id"], tuple(r["outfit_key"].split(",")), bool(r["up"]),
                               r["created_at"]) for r in rows]

    def export_feedback_polyvore(self, out_dir: Path | str, *, valid_fraction: float = 0.2,
                                 seed: int = 0) -> dict[str, int]:
        """Write the thumbs-up outfits as a Polyvore Outfits dataset that ``outfit train`` reads.

        Outfits are split into ``train`` and ``valid`` (``valid_fraction``, at least one when
        there are two or more; a seeded draw, so the same feedback gives the same split). Each
        split's ``compatibility_{split}.txt`` holds its outfits (label 1) and the thumbs-down
        outfits (label 0) whose items all appear in its outfits: the layout can only name items
        of a split's outfits, so other thumbs-down outfits are left out and counted. Outfits with
        an item that has no semantic category are left out too. ``out_dir`` must be empty.
        """
        from data.polyvore import write_polyvore_outfits  # only this export needs the writer

        out = Path(out_dir)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise StoreError(f"{out} is not an empty folder", hint="choose a new or empty folder")
        closet = self.closet(available_only=False)
        counts = {"untagged_outfits": 0, "negatives_left_out": 0}
        ups: list[Outfit] = []
        downs: list[tuple[str, ...]] = []
        for fb in self.feedback():
            if not all(i in closet for i in fb.item_ids):
                counts["untagged_outfits"] += 1
            elif fb.up:
                ups.append(Outfit(tuple(closet.get(i) for i in fb.item_ids), id=fb.id))
            else:
                downs.append(fb.item_ids)
        if not ups:
            raise StoreError("no thumbs-up outfit to export",
                             hint="give some outfits a thumbs up first")
        order = list(range(len(ups)))
        random.Random(seed).shuffle(order)
        n_valid = max(1, round(len(ups) * valid_fraction)) if len(ups) >= 2 else 0
        chosen = {"valid": sorted(order[:n_valid]), "train": sorted(order[n_valid:])}
        splits: dict[str, Dataset] = {}
        placed: set[int] = set()
        for split in ("train", "valid"):
            outfits = [ups[k] for k in chosen[split]]
            items = {it.id: it for o in outfits for it in o}
            questions = [CompatibilityQuestion(1, o.item_ids) for o in outfits]
            for n, ids in enumerate(downs):
                if n not in placed and all(i in items for i in ids):
                    placed.add(n)
                    questions.append(CompatibilityQuestion(0, ids))
            splits[split] = Dataset("closet-feedback", split, items, tuple(outfits),
                                    compatibility=tuple(questions))
            counts[f"{split}_outfits"] = len(outfits)
            counts[f"{split}_items"] = len(items)
        counts["negatives"] = len(placed)
        counts["negatives_left_out"] = len(downs) - len(placed)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:  # written beside ``out`` and renamed: never half a dataset under its name
            write_polyvore_outfits(tmp, splits, images=False)
            (tmp / "images").mkdir()
            for it in {it.id: it for ds in splits.values() for it in ds.items.values()}.values():
                shutil.copyfile(str(it.image), tmp / "images" / f"{it.id}.jpg")
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return counts

    # ---- feature cache

    def put_features(self, model_key: str, vectors: Mapping[str, Any]) -> None:
        """Cache one 1-D float32 vector per item for ``model_key`` (replacing older ones)."""
        key = self._model_key(model_key)
        rows = []
        for item_id, vector in vectors.items():
            arr = np.asarray(vector, dtype="<f4")
            if arr.ndim != 1 or arr.size == 0:
                raise StoreError(f"feature vector of item {item_id} has shape {arr.shape}",
                                 hint="give one non-empty 1-D vector per item")
            rows.append((key, str(item_id), int(arr.size), arr.tobytes(), _now()))
        with self._tx(write=True) as conn:
            self._require(conn, [r[1] for r in rows])
            conn.executemany(
                "INSERT INTO features (model_key, item_id, dim, vector, created_at) VALUES "
                "(?, ?, ?, ?, ?) ON CONFLICT (model_key, item_id) DO UPDATE SET dim = "
                "excluded.dim, vector = excluded.vector, created_at = excluded.created_at", rows)

    def features(self, model_key: str, item_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached vectors (float32) of these items for ``model_key``; items with none cached
        are absent from the result (compute those). Unknown ids raise ItemNotFoundError."""
        key, ids = self._model_key(model_key), list(dict.fromkeys(map(str, item_ids)))
        out: dict[str, np.ndarray] = {}
        with self._tx() as conn:
            self._require(conn, ids)
            for part in _chunks(ids):
                for row in conn.execute(
                        f"SELECT item_id, vector FROM features WHERE model_key = ? AND item_id IN "
                        f"({','.join('?' * len(part))})", (key, *part)):
                    out[row[0]] = np.frombuffer(row[1], dtype="<f4").astype(np.float32)
        return out

    def clear_features(self, model_key: str | None = None) -> int:
        """Drop cached vectors of one model (or all); how many were dropped."""
        with self._tx(write=True) as conn:
            if model_key is None:
                return conn.execute("DELETE FROM features").rowcount
            return conn.execute("DELETE FROM features WHERE model_key = ?",
                                (self._model_key(model_key),)).rowcount

    @staticmethod
    def _model_key(model_key: str) -> str:
        if not isinstance(model_key, str) or not model_key.strip() or len(model_key) > 200:
            raise StoreError(f"bad model key {model_key!r}", hint="name the model (1-200 characters)")
        return model_key.strip()

    # ---- archive

    def export_zip(self, path: Path | str) -> ExportReport:
        """Write the closet to one zip: ``manifest.json``, ``closet.db`` (a consistent copy
        made with SQLite's backup API, feature cache dropped) and ``photos/<id>.jpg``.

        Thumbnails are not included (rebuilt on import). Items whose photo file is missing are
        left out and named in the report. The zip is written beside ``path`` and renamed.
        """
        path = Path(path)
        with tempfile.TemporaryDirectory(prefix=".export-", dir=self.folder) as tmp:
            copy_path = Path(tmp) / DB_NAME
            src, dst = self._connect(), sqlite3.connect(copy_path, isolation_level=None)
            try:
                with self._db_errors():
                    src.backup(dst)
                dst.row_factory = sqlite3.Row
                dst.execute("PRAGMA foreign_keys = ON")
                records = [_record(r) for r in dst.execute("SELECT * FROM items ORDER BY rowid")]
                missing = [r.id for r in records if not (self.photos_dir / r.stored_name).is_file()]
                _delete_items(dst, missing)
                dst.execute("DELETE FROM features")
                dst.execute("PRAGMA journal_mode = DELETE")
                dst.execute("VACUUM")
            finally:
                src.close()
                dst.close()
            kept = [r for r in records if r.id not in missing]
            manifest = {"format": ARCHIVE_FORMAT, "format_version": ARCHIVE_VERSION,
                        "schema_version": SCHEMA_VERSION, "created_at": _now(),
                        "items": {r.id: r.sha256 for r in kept}}
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_zip = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
                    zf.writestr(MANIFEST, json.dumps(manifest, indent=1), zipfile.ZIP_DEFLATED)
                    zf.write(copy_path, DB_NAME, zipfile.ZIP_DEFLATED)
                    for r in kept:  # JPEGs do not compress
                        zf.write(self.photos_dir / r.stored_name, f"photos/{r.id}.jpg")
                os.replace(tmp_zip, path)
            except FileNotFoundError as exc:
                Path(tmp_zip).unlink(missing_ok=True)
                raise StoreError(f"a photo went missing during the export ({exc.filename})",
                                 hint="export again") from None
            except BaseException:
                Path(tmp_zip).unlink(missing_ok=True)
                raise
        return ExportReport(path, len(kept), tuple(missing))

    def import_zip(self, path: Path | str) -> ImportReport:
        """Merge a zip made by :meth:`export_zip` into this closet, all or nothing.

        Every member name is checked before anything is read (only the manifest, the database
        and ``photos/<id>.jpg``: no folders, no ``..``, nothing else), the database copy is
        checked (integrity, version, schema) and every photo is checked against its checksum
        and read like an upload. Items already here (same id with the same photo, or the same
        photo under another id) are kept as they are; their wears and feedback are attached to
        the item here. An id here that holds a *different* photo refuses the whole archive.
        Feedback on an outfit already judged here keeps the judgement here.
        """
        path = Path(path)
        written: list[Path] = []
        try:
            with tempfile.TemporaryDirectory(prefix=".import-", dir=self.folder) as tmp, \
                    _open_archive(path) as zf:
                members = _archive_members(zf, path)
                expected = _read_manifest(_read_member(zf, members[MANIFEST], _MAX_MANIFEST_BYTES,
                                                       path), path)
                photos = {m.group(1) for n in members if (m := _PHOTO_MEMBER_RE.fullmatch(n))}
                if photos != set(expected):
                    odd = sorted(photos ^ set(expected))
                    raise ArchiveError(f"{path}: the manifest and the photos disagree (e.g. item "
                                       f"{odd[0]})", hint=_FOREIGN_HINT)
                db_copy = Path(tmp) / DB_NAME
                with db_copy.open("wb") as fh:
                    _copy_member(zf, members[DB_NAME], fh, _MAX_DB_BYTES, path)
                records, wears, feedback = _read_archive_db(db_copy, expected, path)
                with self._tx() as conn:
                    todo = [r for r in records if self._present(conn, r, path) is None]
                prepared: dict[str, ItemRecord] = {}
                for rec in todo:  # check and write every new photo before the transaction
                    data = _read_member(zf, members[f"photos/{rec.id}.jpg"], self.max_upload_bytes,
                                        path)
                    rec, thumb = self._archive_photo(rec, data, path)
                    for folder, payload in ((self.photos_dir, data), (self.thumbs_dir, thumb)):
                        written.append(folder / rec.stored_name)
                        self._write_file(folder / rec.stored_name, payload)
                    prepared[rec.id] = rec
            unused: list[Path] = []
            added: list[str] = []
            with self._tx(write=True) as conn:
                id_map: dict[str, str] = {}
                for rec in records:
                    local = self._present(conn, rec, path)  # again: the closet may have changed
                    if local is None and rec.id not in prepared:
                        raise StoreError("the closet changed during the import",
                                         hint="import the archive again")
                    if local is None:
                        self._insert_item(conn, prepared[rec.id])
                        local = rec.id
                        added.append(rec.id)
                    elif rec.id in prepared:
                        unused += [d / prepared[rec.id].stored_name
                                   for d in (self.photos_dir, self.thumbs_dir)]
                    id_map[rec.id] = local
                wears_added = self._merge_wears(conn, wears, id_map)
                feedback_added = self._merge_feedback(conn, feedback, id_map)
        except BaseException:
            _remove(written)
            raise
        _remove(unused)
        return ImportReport(tuple(added), len(records) - len(added), wears_added, feedback_added)

    def _present(self, conn: sqlite3.Connection, rec: ItemRecord, where: Path) -> str | None:
        """The id of the item here that is ``rec`` (same id, or same photo), or None."""
        row = conn.execute("SELECT sha256 FROM items WHERE id = ?", (rec.id,)).fetchone()
        if row is not None:
            if row[0] != rec.sha256:
                raise ArchiveError(f"{where}: item {rec.id} of the archive holds another photo "
                                   f"than item {rec.id} of this closet",
                                   hint="the archive comes from another closet or was altered")
            return rec.id
        return self._find_photo(conn, rec.sha256, rec.source_sha256)

    def _archive_photo(self, rec: ItemRecord, data: bytes,
                       where: Path) -> tuple[ItemRecord, bytes]:
        """``rec`` with a fresh stored name and the photo's true size, and its thumbnail;
        the photo must match its checksum and be a clean JPEG (no EXIF) that reads like an
        upload."""
        name = f"photos/{rec.id}.jpg"
        if _sha256(data) != rec.sha256:
            raise ArchiveError(f"{where}: {name} does not match its checksum", hint=_FOREIGN_HINT)
        if sniff_format(data[:1024]) != "JPEG":
            raise ArchiveError(f"{where}: {name} is not a JPEG", hint=_FOREIGN_HINT)
        try:
            image = load_image(data, max_pixels=self.max_pixels, name=name)
            with Image.open(io.BytesIO(data)) as im:
                exif = len(im.getexif()) or "exif" in im.info
        except (ImageError, OSError) as exc:
            raise ArchiveError(f"{where}: {exc}", hint=_FOREIGN_HINT) from None
        if exif:
            raise ArchiveError(f"{where}: {name} carries EXIF metadata", hint=_FOREIGN_HINT)
        rec = replace(rec, stored_name=f"{_token(20)}.jpg", width=image.width, height=image.height)
        return rec, _encode_jpeg(image, THUMB_SIZE)

    @staticmethod
    def _merge_wears(conn: sqlite3.Connection, wears: Sequence[tuple[str, str, list[str]]],
                     id_map: Mapping[str, str]) -> int:
        n = 0
        for wear_id, day, ids in wears:
            mapped = list(dict.fromkeys(id_map[i] for i in ids if i in id_map))
            if not mapped or conn.execute("SELECT 1 FROM wears WHERE id = ?", (wear_id,)).fetchone():
                continue
            conn.execute("INSERT INTO wears (id, worn_on, created_at) VALUES (?, ?, ?)",
                         (wear_id, day, _now()))
            conn.executemany("INSERT INTO wear_items (wear_id, item_id) VALUES (?, ?)",
                             [(wear_id, i) for i in mapped])
            n += 1
        return n

    @staticmethod
    def _merge_feedback(conn: sqlite3.Connection,
                        feedback: Sequence[tuple[str, bool, str, list[str]]],
                        id_map: Mapping[str, str]) -> int:
        n = 0
        for fid, up, created, ids in feedback:
            mapped = sorted({id_map[i] for i in ids if i in id_map})
            key = ",".join(mapped)
            if len(mapped) < 2 or conn.execute("SELECT 1 FROM feedback WHERE outfit_key = ?",
                                               (key,)).fetchone():
                continue
            if conn.execute("SELECT 1 FROM feedback WHERE id = ?", (fid,)).fetchone():
                fid = _token(12)
            conn.execute("INSERT INTO feedback (id, outfit_key, up, created_at) VALUES "
                         "(?, ?, ?, ?)", (fid, key, int(up), created))
            conn.executemany("INSERT INTO feedback_items (feedback_id, item_id) VALUES (?, ?)",
                             [(fid, i) for i in mapped])
            n += 1
        return n

    # ---- integrity

    def integrity_report(self) -> dict[str, Any]:
        """What is wrong, if anything: SQLite's ``integrity_check`` and ``foreign_key_check``,
        items whose photo or thumbnail is missing, and files in ``images/`` or ``thumbs/`` that
        belong to no item (e.g. left by a crash between a commit and a file removal)."""
        with self._tx() as conn:
            check = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
            rows = conn.execute("SELECT id, stored_name FROM items ORDER BY rowid").fetchall()
        stored = {r["stored_name"] for r in rows}
        missing_photos = [r["id"] for r in rows if not (self.photos_dir / r["stored_name"]).is_file()]
        missing_thumbs = [r["id"] for r in rows if not (self.thumbs_dir / r["stored_name"]).is_file()]
        orphans = sorted(f"{d.name}/{p.name}" for d in (self.photos_dir, self.thumbs_dir)
                         for p in d.iterdir() if p.name not in stored)
        return {"ok": check == ["ok"] and not fk and not missing_photos and not missing_thumbs
                and not orphans,
                "integrity_check": check, "foreign_key_errors": len(fk),
                "missing_photos": missing_photos, "missing_thumbs": missing_thumbs,
                "orphan_files": orphans}

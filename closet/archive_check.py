"""Reading an archive that comes from a stranger: its table of contents, every member name, the
manifest, the database copy and every row are checked before :func:`closet.archive.import_zip`
lets anything into the closet. Each check raises :class:`~closet.errors.ArchiveError` naming
what is wrong.

The limits, checked against the zip's central directory before any member is read (the sizes
it declares are enforced again while a member is read, whatever it claims):

- :data:`MAX_ARCHIVE_MEMBERS`: :data:`MAX_ARCHIVE_PHOTOS` (10,000) photos, the manifest and
  the database. A large wardrobe is a few hundred items; each photo costs a decode on import.
  The end record's member count and directory size are checked before Python parses the
  directory (a 36 MB zip of 300,000 empty members costs it 3 s and 180 MB).
- :data:`MAX_ARCHIVE_PHOTO_BYTES` (8 MiB) per photo: an export holds the stored photos, JPEGs
  of at most 2048 px a side at quality 90, which measure at most 3.5 MiB even for pure noise
  (a real photo 0.3 to 1.5 MB). A photo that unpacks to more is padding (a zip of 64 KB can
  hold three 20 MiB "photos" of zeros).
- :data:`MAX_ARCHIVE_BYTES` (4 GiB) for all members together: 10,000 photos of 400 KB, or
  four times what the web app's 1 GiB import limit lets through (photos do not compress).
- The database copy may unpack to 1 GiB and the manifest to 64 MiB.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sqlite3
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from closet.errors import ArchiveError, StoreError
from closet.records import (
    _BOOL_COLUMNS,
    _ID_RE,
    _ITEM_COLUMNS,
    ItemRecord,
    _as_date,
    _confidence,
    _tag_value,
    clean_original_name,
)
from closet.schema import (
    _TABLES,
    CHOICE_TAGS,
    DB_NAME,
    SCHEMA_VERSION,
    TAGS,
    _migrate,
    _user_version,
)
from outfit.errors import OutfitError

if TYPE_CHECKING:
    pass

ARCHIVE_FORMAT, ARCHIVE_VERSION, MANIFEST = "outfit-closet", 1, "manifest.json"
MAX_ARCHIVE_PHOTOS = 10_000
MAX_ARCHIVE_MEMBERS = MAX_ARCHIVE_PHOTOS + 2  # the photos, the manifest and the database
MAX_ARCHIVE_PHOTO_BYTES = 8 * 2**20
MAX_ARCHIVE_BYTES = 4 * 2**30
_MAX_DB_BYTES, _MAX_MANIFEST_BYTES = 2**30, 2**26
_MAX_ENTRY_BYTES = 256  # a directory entry of this app's names takes under 100 bytes
_EOCD, _EOCD_SIG = struct.Struct("<4s4H2LH"), b"PK\x05\x06"  # end of central directory
_ZIP64_LOCATOR, _ZIP64_LOCATOR_SIG = struct.Struct("<4sLQL"), b"PK\x06\x07"
_ZIP64_EOCD, _ZIP64_EOCD_SIG = struct.Struct("<4sQ2H2L4Q"), b"PK\x06\x06"
_LIMIT_HINT = ("only a zip written by the closet's export can be imported, of a closet of at "
               f"most {MAX_ARCHIVE_PHOTOS:,} items")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_PHOTO_MEMBER_RE = re.compile(r"photos/([a-z0-9]{12})\.jpg")

_FOREIGN_HINT = "only a zip written by the closet's export can be imported; export it again"
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
               ValueError)


def _zip64_records(fh: BinaryIO, size: int, eocd_at: int) -> list[tuple[int, int]]:
    """(members, directory bytes) of the ZIP64 end record(s) a locator before the end record at
    ``eocd_at`` points to: the one right before the locator and the one at its offset (Python
    versions differ in which they read). ``size``: the file's."""
    if eocd_at < _ZIP64_LOCATOR.size:
        return []
    fh.seek(eocd_at - _ZIP64_LOCATOR.size)
    sig, _, offset, _ = _ZIP64_LOCATOR.unpack(fh.read(_ZIP64_LOCATOR.size))
    if sig != _ZIP64_LOCATOR_SIG:
        return []
    found = []
    for at in {eocd_at - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size, offset}:
        if 0 <= at <= size - _ZIP64_EOCD.size:
            fh.seek(at)
            record = fh.read(_ZIP64_EOCD.size)
            if record[:4] == _ZIP64_EOCD_SIG:
                fields = _ZIP64_EOCD.unpack(record)
                found.append((fields[7], fields[8]))
    return found


def _check_directory(fh: BinaryIO, where: Path) -> None:
    """Refuse a zip whose end records declare more members, or a larger table of contents,
    than :data:`MAX_ARCHIVE_MEMBERS` take, before Python's zipfile reads the table (it reads
    all of it, whatever its size). A file without an end record is left to zipfile."""
    size = fh.seek(0, 2)
    start = max(size - _EOCD.size - 0xFFFF, 0)
    fh.seek(start)
    tail = fh.read()
    at = tail.rfind(_EOCD_SIG)
    if at < 0 or len(tail) - at < _EOCD.size:
        return
    fields = _EOCD.unpack_from(tail, at)
    declared = [(fields[4], fields[5]), *_zip64_records(fh, size, start + at)]
    members = max(n for n, _ in declared)
    table = max(b for _, b in declared)
    if members > MAX_ARCHIVE_MEMBERS:
        raise _too_many(where, members)
    if table > MAX_ARCHIVE_MEMBERS * _MAX_ENTRY_BYTES:
        raise ArchiveError(f"{where}: its table of contents is {table:,} bytes (the limit is "
                           f"{MAX_ARCHIVE_MEMBERS * _MAX_ENTRY_BYTES:,}, room for "
                           f"MAX_ARCHIVE_MEMBERS = {MAX_ARCHIVE_MEMBERS:,} members)",
                           hint=_LIMIT_HINT)


def _too_many(where: Path, members: int) -> ArchiveError:
    return ArchiveError(f"{where}: it holds {members:,} members (the limit is "
                        f"MAX_ARCHIVE_MEMBERS = {MAX_ARCHIVE_MEMBERS:,}: {MAX_ARCHIVE_PHOTOS:,} "
                        "photos, the manifest and the database)", hint=_LIMIT_HINT)


@contextmanager
def _open_archive(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise StoreError(f"{path}: file not found", hint="check the path") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: not a readable zip archive ({exc})",
                           hint=_FOREIGN_HINT) from None
    with fh:
        try:
            _check_directory(fh, path)
            zf = zipfile.ZipFile(fh)
        except ArchiveError:
            raise
        except (*_ZIP_ERRORS, OSError, struct.error) as exc:
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
    _check_sizes(members, where)
    return members


def _check_sizes(members: Mapping[str, zipfile.ZipInfo], where: Path) -> None:
    """The member count and the sizes the central directory declares, against the limits
    (:data:`MAX_ARCHIVE_MEMBERS`, :data:`MAX_ARCHIVE_PHOTO_BYTES`, :data:`MAX_ARCHIVE_BYTES`)."""
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise _too_many(where, len(members))
    total = sum(info.file_size for info in members.values())
    if total > MAX_ARCHIVE_BYTES:
        raise ArchiveError(f"{where}: its members unpack to {total:,} bytes (the limit is "
                           f"MAX_ARCHIVE_BYTES = {MAX_ARCHIVE_BYTES:,})", hint=_LIMIT_HINT)
    for name, info in members.items():
        limit, what = {MANIFEST: (_MAX_MANIFEST_BYTES, "the manifest"),
                       DB_NAME: (_MAX_DB_BYTES, "the database")}.get(
            name, (MAX_ARCHIVE_PHOTO_BYTES, "a photo, MAX_ARCHIVE_PHOTO_BYTES"))
        if info.file_size > limit:
            raise ArchiveError(f"{where}: member {name!r} unpacks to {info.file_size:,} bytes "
                               f"(the limit for {what} is {limit:,})", hint=_LIMIT_HINT)


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
        for tag in CHOICE_TAGS:
            values[tag] = _tag_value(tag, values[tag])
    except OutfitError as exc:
        raise bad(exc.message) from None
    values["original_name"] = clean_original_name(values["original_name"])
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
    manifest. Whatever SQLite or the checks find wrong with it is an ArchiveError."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA foreign_keys = ON")
        _check_archive_db(conn, path, where)
        records = [_archive_record(r, where) for r in conn.execute(
            f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items ORDER BY rowid")]
        twice = [i for i, n in Counter(r.id for r in records).items() if n > 1]
        if twice:
            raise ArchiveError(f"{where}: item {twice[0]} appears twice in {DB_NAME}",
                               hint=_FOREIGN_HINT)
        if {r.id: r.sha256 for r in records} != dict(expected):
            raise ArchiveError(f"{where}: the database and the manifest list different items",
                               hint=_FOREIGN_HINT)
        return records, _archive_wears(conn, where), _archive_feedback(conn, where)
    except sqlite3.Error as exc:  # e.g. the closet's table names with other columns
        raise ArchiveError(f"{where}: {DB_NAME} is not a closet database ({exc})",
                           hint=_FOREIGN_HINT) from None
    except StoreError as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"{where}: {exc}", hint=_FOREIGN_HINT) from None
    finally:
        conn.close()


def _check_archive_db(conn: sqlite3.Connection, path: Path, where: Path) -> None:
    """SQLite's integrity check, a version this code knows, the closet's tables and no views or
    triggers; then the copy is upgraded to this code's version."""
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


def _archive_wears(conn: sqlite3.Connection, where: Path) -> list[tuple[str, str, list[str]]]:
    members: dict[str, list[str]] = {}
    for row in conn.execute("SELECT wear_id, item_id FROM wear_items"):
        members.setdefault(row[0], []).append(row[1])
    wears = []
    for row in conn.execute("SELECT id, worn_on FROM wears ORDER BY rowid"):
        if not isinstance(row[0], str) or not _ID_RE.fullmatch(row[0]):
            raise ArchiveError(f"{where}: bad wear id {row[0]!r}", hint=_FOREIGN_HINT)
        wears.append((row[0], _as_date(row[1]), members.get(row[0], [])))
    return wears


def _archive_feedback(conn: sqlite3.Connection,
                      where: Path) -> list[tuple[str, bool, str, list[str]]]:
    members: dict[str, list[str]] = {}
    for row in conn.execute("SELECT feedback_id, item_id FROM feedback_items"):
        members.setdefault(row[0], []).append(row[1])
    feedback = []
    for row in conn.execute("SELECT id, up, created_at FROM feedback ORDER BY rowid"):
        if not isinstance(row[0], str) or not _ID_RE.fullmatch(row[0]) or row[1] not in (0, 1) \
                or not _is_time(row[2]):
            raise ArchiveError(f"{where}: bad feedback {row[0]!r}", hint=_FOREIGN_HINT)
        feedback.append((row[0], bool(row[1]), str(row[2]), members.get(row[0], [])))
    return feedback

"""Reading an archive that comes from a stranger: every member name, the manifest, the database
copy and every row are checked before :func:`closet.archive.import_zip` lets anything into the
closet. Each check raises :class:`~closet.errors.ArchiveError` naming what is wrong."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sqlite3
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
_MAX_DB_BYTES, _MAX_MANIFEST_BYTES = 2**30, 2**26
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_PHOTO_MEMBER_RE = re.compile(r"photos/([a-z0-9]{12})\.jpg")

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

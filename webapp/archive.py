"""A closet in one zip file, and back: :func:`export_zip` and :func:`import_zip`.

An archive holds ``manifest.json`` (format, versions, item id -> photo checksum), ``closet.db``
(a copy of the database, feature cache dropped) and ``photos/<id>.jpg``. Archives come from
strangers: every member name, the database copy and every photo is checked before anything
lands in the closet. Importing merges: items already here (same id, or same photo) are kept
as they are, never overwritten.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from PIL import Image

from data.images import load_image, sniff_format
from outfit.errors import ImageError, OutfitError
from webapp.errors import ArchiveError, StoreError
from webapp.photos import THUMB_SIZE, _encode_jpeg, _remove, _sha256, _write_file
from webapp.records import (
    _BOOL_COLUMNS,
    _ID_RE,
    _ITEM_COLUMNS,
    ExportReport,
    ImportReport,
    ItemRecord,
    _as_date,
    _clean_original_name,
    _confidence,
    _now,
    _record,
    _tag_value,
    _token,
)
from webapp.schema import (
    _TABLES,
    CHOICE_TAGS,
    DB_NAME,
    SCHEMA_VERSION,
    TAGS,
    _delete_items,
    _migrate,
    _user_version,
    connect,
    db_errors,
)

if TYPE_CHECKING:
    from webapp.store import Store

__all__ = ["export_zip", "import_zip", "ARCHIVE_FORMAT", "ARCHIVE_VERSION", "MANIFEST"]

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


def export_zip(store: Store, path: Path | str) -> ExportReport:
    """Write the closet to one zip: ``manifest.json``, ``closet.db`` (a consistent copy
    made with SQLite's backup API, feature cache dropped) and ``photos/<id>.jpg``.

    Thumbnails are not included (rebuilt on import). Items whose photo file is missing are
    left out and named in the report; items deleted while the export runs are left out as
    deleted (people keep using the closet meanwhile). The zip is written beside ``path`` and
    renamed.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=store.folder) as tmp:
        copy_path = Path(tmp) / DB_NAME
        src = connect(store.db_path, store.busy_timeout_s)
        dst = sqlite3.connect(copy_path, isolation_level=None)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_zip = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with db_errors(store.db_path):
                src.backup(dst)
            dst.row_factory = sqlite3.Row
            dst.execute("PRAGMA foreign_keys = ON")
            records = [_record(r) for r in dst.execute("SELECT * FROM items ORDER BY rowid")]
            kept: list[ItemRecord] = []
            missing: list[str] = []  # still in the closet, photo file gone: reported
            gone: list[str] = []  # deleted while the export ran: not in the archive, as deleted
            with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
                for r in records:
                    # Open first: a photo deleted after its item was copied is left out with
                    # it, and one opened before it is deleted reads on to the end (POSIX).
                    try:
                        photo = (store.photos_dir / r.stored_name).open("rb")
                    except FileNotFoundError:
                        still = src.execute("SELECT 1 FROM items WHERE id = ?", (r.id,)).fetchone()
                        (missing if still else gone).append(r.id)
                        continue
                    with photo, zf.open(f"photos/{r.id}.jpg", "w") as member:  # JPEGs: stored
                        shutil.copyfileobj(photo, member, 1 << 20)
                    kept.append(r)
                _delete_items(dst, missing + gone)
                dst.execute("DELETE FROM features")
                dst.execute("PRAGMA journal_mode = DELETE")
                dst.execute("VACUUM")
                dst.close()
                manifest = {"format": ARCHIVE_FORMAT, "format_version": ARCHIVE_VERSION,
                            "schema_version": SCHEMA_VERSION, "created_at": _now(),
                            "items": {r.id: r.sha256 for r in kept}}
                zf.writestr(MANIFEST, json.dumps(manifest, indent=1), zipfile.ZIP_DEFLATED)
                zf.write(copy_path, DB_NAME, zipfile.ZIP_DEFLATED)
            os.replace(tmp_zip, path)
        except BaseException:
            Path(tmp_zip).unlink(missing_ok=True)
            raise
        finally:
            src.close()
            dst.close()
    return ExportReport(path, len(kept), tuple(missing))


def import_zip(store: Store, path: Path | str) -> ImportReport:
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
        with tempfile.TemporaryDirectory(prefix=".import-", dir=store.folder) as tmp, \
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
            with store._tx() as conn:
                todo = [r for r in records if _present(store, conn, r, path) is None]
            prepared: dict[str, ItemRecord] = {}
            for rec in todo:  # check and write every new photo before the transaction
                data = _read_member(zf, members[f"photos/{rec.id}.jpg"], store.max_upload_bytes,
                                    path)
                rec, thumb = _archive_photo(store, rec, data, path)
                for folder, payload in ((store.photos_dir, data), (store.thumbs_dir, thumb)):
                    written.append(folder / rec.stored_name)
                    _write_file(folder / rec.stored_name, payload)
                prepared[rec.id] = rec
        unused: list[Path] = []
        added: list[str] = []
        with store._tx(write=True) as conn:
            id_map: dict[str, str] = {}
            for rec in records:
                local = _present(store, conn, rec, path)  # again: the closet may have changed
                if local is None and rec.id not in prepared:
                    raise StoreError("the closet changed during the import",
                                     hint="import the archive again")
                if local is None:
                    store._insert_item(conn, prepared[rec.id])
                    local = rec.id
                    added.append(rec.id)
                elif rec.id in prepared:
                    unused += [d / prepared[rec.id].stored_name
                               for d in (store.photos_dir, store.thumbs_dir)]
                id_map[rec.id] = local
            wears_added = _merge_wears(conn, wears, id_map)
            feedback_added = _merge_feedback(conn, feedback, id_map)
    except BaseException:
        _remove(written)
        raise
    _remove(unused)
    return ImportReport(tuple(added), len(records) - len(added), wears_added, feedback_added)


def _present(store: Store, conn: sqlite3.Connection, rec: ItemRecord, where: Path) -> str | None:
    """The id of the item here that is ``rec`` (same id, or same photo), or None."""
    row = conn.execute("SELECT sha256 FROM items WHERE id = ?", (rec.id,)).fetchone()
    if row is not None:
        if row[0] != rec.sha256:
            raise ArchiveError(f"{where}: item {rec.id} of the archive holds another photo "
                               f"than item {rec.id} of this closet",
                               hint="the archive comes from another closet or was altered")
        return rec.id
    return store._find_photo(conn, rec.sha256, rec.source_sha256)


def _archive_photo(store: Store, rec: ItemRecord, data: bytes,
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
        image = load_image(data, max_pixels=store.max_pixels, name=name)
        with Image.open(io.BytesIO(data)) as im:
            exif = len(im.getexif()) or "exif" in im.info
    except (ImageError, OSError) as exc:
        raise ArchiveError(f"{where}: {exc}", hint=_FOREIGN_HINT) from None
    if exif:
        raise ArchiveError(f"{where}: {name} carries EXIF metadata", hint=_FOREIGN_HINT)
    rec = replace(rec, stored_name=f"{_token(20)}.jpg", width=image.width, height=image.height)
    return rec, _encode_jpeg(image, THUMB_SIZE)


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

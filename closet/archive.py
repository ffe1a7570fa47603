"""A closet in one zip file, and back: :func:`export_zip` and :func:`import_zip`.

An archive holds ``manifest.json`` (format, versions, item id -> photo checksum), ``closet.db``
(a copy of the database, feature cache dropped) and ``photos/<id>.jpg``. Archives come from
strangers: the table of contents (against the limits of :mod:`closet.archive_check`), every
member name and the database copy are checked before anything lands in the closet, and every
photo goes through :func:`closet.photos.prepare_photo` like an upload (decoded within the pixel
limit, re-encoded without its metadata). Importing merges: items already here (same id, or
same photo) are kept as they are, never overwritten.

Identity across closets: an item's ``sha256`` is that of the JPEG stored *here*, and
re-encoding is not byte-for-byte repeatable, so a photo imported into another closet gets
another ``sha256`` there; its ``source_sha256`` (the checksum of the file first uploaded) and
its id travel unchanged. An archive item is the item here with its id when either checksum
matches, so an export imported anywhere, any number of times, is recognised as already there.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from closet.archive_check import (
    _FOREIGN_HINT,
    _MAX_DB_BYTES,
    _MAX_MANIFEST_BYTES,
    _PHOTO_MEMBER_RE,
    ARCHIVE_FORMAT,
    ARCHIVE_VERSION,
    MANIFEST,
    MAX_ARCHIVE_PHOTO_BYTES,
    _archive_members,
    _copy_member,
    _open_archive,
    _read_archive_db,
    _read_manifest,
    _read_member,
)
from closet.errors import ArchiveError, StoreError
from closet.photos import PHOTO_MAX_SIDE, _remove, _sha256, _write_file, prepare_photo
from closet.queries import find_photo, insert_item
from closet.records import (
    ExportReport,
    ImportReport,
    ItemRecord,
    _now,
    _record,
    _token,
)
from closet.schema import (
    DB_NAME,
    SCHEMA_VERSION,
    _delete_items,
    connect,
    db_errors,
    transaction,
)
from data.fileio import fsync_dir, fsync_file
from data.images import sniff_format
from outfit.errors import ImageError

if TYPE_CHECKING:
    from closet.store import Store

__all__ = ["export_zip", "import_zip", "ARCHIVE_FORMAT", "ARCHIVE_VERSION", "MANIFEST"]


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
            fsync_file(tmp_zip)
            os.replace(tmp_zip, path)
            fsync_dir(path.parent)
        except BaseException:
            Path(tmp_zip).unlink(missing_ok=True)
            raise
        finally:
            src.close()
            dst.close()
    return ExportReport(path, len(kept), tuple(missing))


def import_zip(store: Store, path: Path | str) -> ImportReport:
    """Merge a zip made by :meth:`export_zip` into this closet, all or nothing.

    The table of contents and every member name are checked before anything is read (only
    the manifest, the database and ``photos/<id>.jpg``: no folders, no ``..``, nothing else;
    the member count and sizes within the limits), the database copy is checked (integrity,
    version, schema) and every new photo is checked against its checksum and stored as an
    upload is (re-encoded). Items already here (same id with the same photo, or the same
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
            with transaction(store.db_path, store.busy_timeout_s) as conn:
                todo = [r for r in records if _present(store, conn, r, path) is None]
            prepared: dict[str, ItemRecord] = {}
            for rec in todo:  # check and write every new photo before the transaction
                data = _read_member(zf, members[f"photos/{rec.id}.jpg"],
                                    MAX_ARCHIVE_PHOTO_BYTES, path)
                rec, photo, thumb = _archive_photo(store, rec, data, path)
                for folder, payload in ((store.photos_dir, photo), (store.thumbs_dir, thumb)):
                    written.append(folder / rec.stored_name)
                    _write_file(folder / rec.stored_name, payload)
                prepared[rec.id] = rec
        with transaction(store.db_path, store.busy_timeout_s, write=True) as conn:
            added, unused, id_map = _add_records(store, conn, records, prepared, path)
            wears_added = _merge_wears(conn, wears, id_map)
            feedback_added = _merge_feedback(conn, feedback, id_map)
    except BaseException:
        _remove(written)
        raise
    _remove(unused)
    return ImportReport(tuple(added), len(records) - len(added), wears_added, feedback_added)


def _add_records(store: Store, conn: sqlite3.Connection, records: Sequence[ItemRecord],
                 prepared: Mapping[str, ItemRecord], where: Path
                 ) -> tuple[list[str], list[Path], dict[str, str]]:
    """Insert the archive's items that are not here, inside the import's write transaction:
    the ids added, the files written for items that turned out to be here after all (to remove)
    and archive id -> id here."""
    unused: list[Path] = []
    added: list[str] = []
    id_map: dict[str, str] = {}
    for rec in records:
        also = (prepared[rec.id].sha256,) if rec.id in prepared else ()
        local = _present(store, conn, rec, where, also)  # again: the closet may have changed
        if local is None and rec.id not in prepared:
            raise StoreError("the closet changed during the import", hint="import the archive again")
        if local is None:
            insert_item(conn, prepared[rec.id])
            local = rec.id
            added.append(rec.id)
        elif rec.id in prepared:
            unused += [d / prepared[rec.id].stored_name for d in (store.photos_dir, store.thumbs_dir)]
        id_map[rec.id] = local
    return added, unused, id_map


def _present(store: Store, conn: sqlite3.Connection, rec: ItemRecord, where: Path,
             also: Sequence[str] = ()) -> str | None:
    """The id of the item here that is ``rec`` (same id and either checksum, or the same photo
    under another id: either checksum, or one of ``also``), or None."""
    row = conn.execute("SELECT sha256, source_sha256 FROM items WHERE id = ?",
                       (rec.id,)).fetchone()
    if row is not None:
        if row[0] != rec.sha256 and row[1] != rec.source_sha256:
            raise ArchiveError(f"{where}: item {rec.id} of the archive holds another photo "
                               f"than item {rec.id} of this closet",
                               hint="the archive comes from another closet or was altered")
        return rec.id
    return find_photo(conn, rec.sha256, rec.source_sha256, *also)


def archive_photo_pixels(store: Store) -> int:
    """The most pixels a photo of an archive may have: what an export holds (a closet stores
    photos at most ``photo_max_side`` px a side), so that a crafted archive of large flat
    photos, small once deflated, cannot cost minutes of decoding per member."""
    side = store.photo_max_side or PHOTO_MAX_SIDE
    return min(store.max_pixels, side * side)


def _archive_photo(store: Store, rec: ItemRecord, data: bytes,
                   where: Path) -> tuple[ItemRecord, bytes, bytes]:
    """``rec`` as it is stored here (a fresh stored name, the stored photo's size and
    checksum), the photo to store and its thumbnail: the archive's photo must match its
    checksum and be a JPEG, and goes through :func:`closet.photos.prepare_photo` like an
    upload (so nothing but its pixels is kept)."""
    name = f"photos/{rec.id}.jpg"
    if _sha256(data) != rec.sha256:
        raise ArchiveError(f"{where}: {name} does not match its checksum", hint=_FOREIGN_HINT)
    if sniff_format(data[:1024]) != "JPEG":
        raise ArchiveError(f"{where}: {name} is not a JPEG", hint=_FOREIGN_HINT)
    try:
        prepared = prepare_photo(data, name, max_bytes=MAX_ARCHIVE_PHOTO_BYTES,
                                 max_pixels=archive_photo_pixels(store),
                                 max_side=store.photo_max_side)
    except ImageError as exc:
        raise ArchiveError(f"{where}: {exc}", hint=_FOREIGN_HINT) from None
    rec = replace(rec, stored_name=f"{_token(20)}.jpg", width=prepared.width,
                  height=prepared.height, sha256=_sha256(prepared.photo))
    return rec, prepared.photo, prepared.thumb


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

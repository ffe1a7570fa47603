"""The closet's storage: one person's items, photos, wear log, feedback and feature cache.

One SQLite database (``closet.db``) and two folders of files (``images/``, ``thumbs/``) in an
instance folder. Plain Python, no Flask: the web app, the command line and the tests share
:class:`Store`. The schema and its migrations are in :mod:`webapp.schema`, the rows in
:mod:`webapp.records`, zip export and import in :mod:`webapp.archive`, the feedback export in
:mod:`webapp.feedback`.

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

A photo is a duplicate when its uploaded bytes or its re-encoded JPEG match those of an item
already stored (either checksum, either way round): it is refused with
:class:`DuplicatePhotoError`, which names that item. :meth:`Store.import_zip` merges: items
already here (same id, or same photo) are kept as they are, never overwritten.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from data.images import DEFAULT_MAX_PIXELS
from outfit.domain import Closet, Item
from outfit.errors import ItemNotFoundError
from outfit.vocab import CATEGORY_SLOT, check_slot
from webapp import archive
from webapp import features as feature_cache
from webapp.archive import ARCHIVE_FORMAT, ARCHIVE_VERSION, MANIFEST  # noqa: F401  (re-exported)
from webapp.errors import ArchiveError, DuplicatePhotoError, SchemaVersionError, StoreError
from webapp.feedback import export_polyvore
from webapp.photos import (
    JPEG_QUALITY,  # noqa: F401  (re-exported)
    PHOTO_MAX_SIDE,
    THUMB_SIZE,
    _remove,
    _sha256,
    _write_file,
    prepare_upload,
)
from webapp.records import (
    _ID_RE,  # noqa: F401  (re-exported)
    _ITEM_COLUMNS,
    ExportReport,
    FeedbackRecord,
    ImportReport,
    ItemRecord,
    WearRecord,
    _as_date,
    _clean_original_name,
    _confidence,
    _initial_tags,
    _now,
    _record,
    _tag_value,
    _token,
    _unique_ids,
)
from webapp.schema import (
    CHOICE_TAGS,
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    TAGS,
    _chunks,
    _delete_items,
    transaction,
    upgrade_database,
)

__all__ = [
    "Store", "ItemRecord", "FeedbackRecord", "WearRecord", "ExportReport", "ImportReport",
    "StoreError", "DuplicatePhotoError", "SchemaVersionError", "ArchiveError",
    "TAGS", "CHOICE_TAGS", "MIGRATIONS", "SCHEMA_VERSION", "DB_NAME", "THUMB_SIZE",
]

PHOTOS, THUMBS, MASKS = "images", "thumbs", "masks"
LOST_AND_FOUND = "lost+found"  # where Store.repair moves files that belong to no item
MAX_UPLOAD_BYTES = 25 * 2**20
_STORED_RE = re.compile(r"[a-z0-9]{20}\.jpg")


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
        upgrade_database(self.db_path, self.busy_timeout_s)

    def __repr__(self) -> str:
        return f"Store({str(self.folder)!r})"

    # ---- connections

    def _tx(self, write: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        """A connection inside one transaction (``BEGIN IMMEDIATE`` to write)."""
        return transaction(self.db_path, self.busy_timeout_s, write=write)

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
        ``name``, the :data:`TAGS`, ``<tag>_confidence`` and the :data:`CHOICE_TAGS` (see
        :func:`webapp.records._initial_tags`).
        Raises ImageError for a refused file, DuplicatePhotoError when the photo is already
        here; either way nothing is left behind.
        """
        name = _clean_original_name(original_name)
        values = _initial_tags(tags)
        data = bytes(data)
        photo, thumb, width, height = prepare_upload(
            data, name, max_bytes=self.max_upload_bytes, max_pixels=self.max_pixels,
            max_side=self.photo_max_side)
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
                    _write_file(path, payload)
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
        """Set tags by hand (``name``, the :data:`TAGS` and the :data:`CHOICE_TAGS`; None or
        an empty value clears one). Each of the :data:`TAGS` is marked edited and loses its
        confidence, so auto-tagging leaves it alone from now on. A season or formality outside
        its vocabulary raises StoreError naming the allowed values; nothing is changed then."""
        known = ("name", *TAGS, *CHOICE_TAGS)
        unknown = sorted(set(tags) - set(known))
        if unknown:
            raise StoreError(f"unknown tag(s): {', '.join(unknown)}",
                             hint="use: " + ", ".join(known))
        sets, params = ["updated_at = ?"], [_now()]
        for tag, value in tags.items():
            clean = _tag_value(tag, value)
            if tag == "name":
                sets.append("name = ?")
                params.append(clean or "")
            elif tag in CHOICE_TAGS:
                sets.append(f"{tag} = ?")
                params.append(clean)
            else:
                sets += [f"{tag} = ?", f"{tag}_confidence = NULL", f"{tag}_edited = 1"]
                params.append(clean)
        with self._tx(write=True) as conn:
            self._get(conn, item_id)
            conn.execute(f"UPDATE items SET {', '.join(sets)} WHERE id = ?", (*params, item_id))
            if set(tags) & set(TAGS):
                feature_cache.forget_item(conn, item_id)
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
            changed = False
            for tag, (value, conf) in clean.items():
                if not getattr(current, f"{tag}_edited"):
                    conn.execute(f"UPDATE items SET {tag} = ?, {tag}_confidence = ?, "
                                 "updated_at = ? WHERE id = ?", (value, conf, _now(), item_id))
                    changed = changed or getattr(current, tag) != value
            if changed:
                feature_cache.forget_item(conn, item_id)
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
        _remove((self._file(self.photos_dir, record), self._file(self.thumbs_dir, record),
                 self._mask_file(record)))

    # ---- garment masks (grader.mask): which pixels of the photo are the garment

    def _mask_file(self, record: ItemRecord) -> Path:
        return self.folder / MASKS / (self._file(self.thumbs_dir, record).stem + ".png")

    def set_mask(self, item_id: str, png: bytes) -> None:
        """Keep the garment mask of an item (a 1-bit PNG at thumbnail size, as
        :func:`grader.mask.mask_to_png` writes it), replacing any earlier one."""
        record = self.get(item_id)
        path = self._mask_file(record)
        path.parent.mkdir(exist_ok=True)
        _write_file(path, png)

    def mask_path(self, item_id: str) -> Path | None:
        """The stored mask of an item, or None where it has none (stored before masks existed,
        or not tagged)."""
        path = self._mask_file(self.get(item_id))
        return path if path.is_file() else None

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
        Each item's ``image`` is its stored photo; ``attributes`` hold those of colour, pattern,
        season and formality that are known (the recommender's constraints read the last two)."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM items WHERE semantic_category IS NOT NULL"
                                + (" AND in_wash = 0" if available_only else "")
                                + " ORDER BY created_at, rowid").fetchall()
        items = []
        for rec in map(_record, rows):
            attrs = {k: v for k, v in (("color", rec.color), ("pattern", rec.pattern),
                                       ("season", rec.season), ("formality", rec.formality)) if v}
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

    def wears(self, limit: int = 20, offset: int = 0,
              item_id: str | None = None) -> list[WearRecord]:
        """The wear log, latest day first (the latest logged first within a day); with
        ``item_id`` only the wears that included that item."""
        where, args = ("", []) if item_id is None else (
            " WHERE id IN (SELECT wear_id FROM wear_items WHERE item_id = ?)", [item_id])
        with self._tx() as conn:
            rows = conn.execute(f"SELECT id, worn_on, created_at FROM wears{where} "
                                "ORDER BY worn_on DESC, created_at DESC, rowid DESC "
                                "LIMIT ? OFFSET ?", (*args, int(limit), int(offset))).fetchall()
            members: dict[str, list[str]] = {r["id"]: [] for r in rows}
            for part in _chunks(list(members)):
                for m in conn.execute(
                        "SELECT wear_id, item_id FROM wear_items WHERE wear_id IN "
                        f"({','.join('?' * len(part))})", part):
                    members[m[0]].append(m[1])
        return [WearRecord(r["id"], r["worn_on"], tuple(members[r["id"]]), r["created_at"])
                for r in rows]

    def wear_total(self) -> int:
        """How many wears are logged."""
        with self._tx() as conn:
            return int(conn.execute("SELECT count(*) FROM wears").fetchone()[0])

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
        """Write the thumbs-up outfits as a Polyvore Outfits dataset that ``outfit train`` reads
        (see :func:`webapp.feedback.export_polyvore`); the counts of what was written."""
        return export_polyvore(self, out_dir, valid_fraction=valid_fraction, seed=seed)

    # ---- feature cache

    def put_features(self, model_key: str, vectors: Mapping[str, Any], *,
                     skip_missing: bool = False) -> None:
        """Cache one 1-D float32 vector per item for ``model_key`` (replacing older ones);
        see :func:`webapp.features.put_features`."""
        feature_cache.put_features(self, model_key, vectors, skip_missing=skip_missing)

    def features(self, model_key: str, item_ids: Iterable[str], *,
                 skip_missing: bool = False) -> dict[str, np.ndarray]:
        """Cached vectors (float32) of these items for ``model_key``; items with none cached
        are absent from the result (compute those); see :func:`webapp.features.features`."""
        return feature_cache.features(self, model_key, item_ids, skip_missing=skip_missing)

    def clear_features(self, model_key: str | None = None) -> int:
        """Drop cached vectors of one model (or all); how many were dropped."""
        return feature_cache.clear_features(self, model_key)

    # ---- archive

    def export_zip(self, path: Path | str) -> ExportReport:
        """Write the closet to one zip (see :func:`webapp.archive.export_zip`)."""
        return archive.export_zip(self, path)

    def import_zip(self, path: Path | str) -> ImportReport:
        """Merge a zip made by :meth:`export_zip` into this closet, all or nothing (see
        :func:`webapp.archive.import_zip`)."""
        return archive.import_zip(self, path)

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

    def repair(self, min_age_s: float = 60.0) -> dict[str, Any]:
        """Move the orphan files of :meth:`integrity_report` older than ``min_age_s`` (an upload
        in flight writes its files a moment before its row) into
        ``lost+found/<UTC time>/{images,thumbs}/``: nothing is deleted, and the closet is
        consistent again. Items whose photo is missing cannot be repaired here: they are
        reported (delete them, or upload the photo again). Returns what was moved and what is
        left."""
        report = self.integrity_report()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        now = time.time()
        moved, young = [], []
        for rel in report["orphan_files"]:
            src = self.folder / rel
            try:
                if now - src.stat().st_mtime < min_age_s:
                    young.append(rel)
                    continue
            except FileNotFoundError:  # its upload committed or failed meanwhile
                continue
            dest = self.folder / LOST_AND_FOUND / stamp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            moved.append(rel)
        after = self.integrity_report()
        return {"moved": moved, "kept_young": young,
                "lost_and_found": str(self.folder / LOST_AND_FOUND / stamp) if moved else None,
                "ok": after["ok"], "report": after}


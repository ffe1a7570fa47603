"""The closet's storage: one person's items, photos, wear log, feedback and feature cache.

One SQLite database (``closet.db``) and two folders of files (``images/``, ``thumbs/``) in an
instance folder. Plain Python, no Flask: the web app, the command line and the tests share
:class:`Store`. The schema and its migrations are in :mod:`closet.schema`, the rows in
:mod:`closet.records`, zip export and import in :mod:`closet.archive`, the feedback export in
:mod:`closet.feedback`.

Why it is built this way (uploads from strangers, a row and its files together, a connection
per call) is told in :mod:`closet`.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from closet import archive, integrity, wears
from closet import feature_rows as feature_cache
from closet.archive import ARCHIVE_FORMAT, ARCHIVE_VERSION, MANIFEST  # noqa: F401  (re-exported)
from closet.errors import ArchiveError, DuplicatePhotoError, SchemaVersionError, StoreError
from closet.feedback import export_polyvore
from closet.photos import (
    JPEG_QUALITY,  # noqa: F401  (re-exported)
    MAX_PHOTO_PIXELS,
    PHOTO_MAX_SIDE,
    THUMB_SIZE,
    DecodeBudget,
    _remove,
    _sha256,
    _write_file,
    prepare_photo,
)
from closet.queries import find_photo, insert_item, item_filter
from closet.records import (
    _ID_RE,  # noqa: F401  (re-exported)
    ExportReport,
    FeedbackRecord,
    ImportReport,
    ItemRecord,
    WearRecord,
    _as_date,
    _confidence,
    _initial_tags,
    _now,
    _record,
    _tag_value,
    _token,
    _unique_ids,
    clean_original_name,
)
from closet.schema import (
    CHOICE_TAGS,
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    TAGS,
    _delete_items,
    transaction,
    upgrade_database,
)
from outfit.domain import Closet, Item
from outfit.errors import ItemNotFoundError

__all__ = [
    "Store", "ItemRecord", "FeedbackRecord", "WearRecord", "ExportReport", "ImportReport",
    "StoreError", "DuplicatePhotoError", "SchemaVersionError", "ArchiveError",
    "TAGS", "CHOICE_TAGS", "MIGRATIONS", "SCHEMA_VERSION", "DB_NAME", "THUMB_SIZE",
]

PHOTOS, THUMBS, MASKS = "images", "thumbs", "masks"
MAX_UPLOAD_BYTES = 25 * 2**20
_STORED_RE = re.compile(r"[a-z0-9]{20}\.jpg")


def _refuse_duplicate(conn: sqlite3.Connection, name: str, *shas: str) -> None:
    existing = find_photo(conn, *shas)
    if existing:
        raise DuplicatePhotoError(name, existing)


class Store:
    """One person's closet in ``folder``: ``closet.db``, ``images/`` and ``thumbs/``.

    Safe to share between threads (each call uses its own connection). ``max_pixels`` and
    ``max_upload_bytes`` bound what an upload may cost (see :mod:`closet.photos`);
    ``photo_max_side`` (px) scales large photos down when they are stored (None keeps them as
    they are).
    """

    def __init__(self, folder: Path | str, *, max_pixels: int = MAX_PHOTO_PIXELS,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 photo_max_side: int | None = PHOTO_MAX_SIDE, busy_timeout_s: float = 10.0) -> None:
        self.folder = Path(folder)
        self.db_path = self.folder / DB_NAME
        self.photos_dir = self.folder / PHOTOS
        self.thumbs_dir = self.folder / THUMBS
        self.max_pixels, self.max_upload_bytes = max_pixels, max_upload_bytes
        self.photo_max_side, self.busy_timeout_s = photo_max_side, busy_timeout_s
        for d in (self.folder, self.photos_dir, self.thumbs_dir):  # private when made here
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        upgrade_database(self.db_path, self.busy_timeout_s)

    def __repr__(self) -> str:
        return f"Store({str(self.folder)!r})"

    # ---- connections

    def _tx(self, write: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        """A connection inside one transaction (``BEGIN IMMEDIATE`` to write)."""
        return transaction(self.db_path, self.busy_timeout_s, write=write)

    # ---- items

    def add_photo(self, data: bytes, original_name: str, tags: Mapping[str, Any] | None = None,
                  *, budget: DecodeBudget | None = None) -> ItemRecord:
        """Store an uploaded photo as a new item and return it: ``data`` is the file's bytes,
        ``original_name`` is kept as data only, ``tags`` may hold ``name``, the :data:`TAGS`,
        ``<tag>_confidence`` and the :data:`CHOICE_TAGS` (see :func:`closet.records._initial_tags`).
        A file stored before is refused before it is decoded; then
        :func:`closet.photos.prepare_photo` reads it, charging ``budget``. Raises ImageError for
        a refused file, DuplicatePhotoError when the photo is already here; either way nothing
        is left behind."""
        name, values, data = clean_original_name(original_name), _initial_tags(tags), bytes(data)
        with self._tx() as conn:
            _refuse_duplicate(conn, name, _sha256(data))
        prepared = prepare_photo(data, name, max_bytes=self.max_upload_bytes,
                                 max_pixels=self.max_pixels, max_side=self.photo_max_side,
                                 budget=budget)
        now = _now()
        record = ItemRecord(**{
            **values, "id": _token(12), "original_name": name, "stored_name": f"{_token(20)}.jpg",
            "in_wash": False, "width": prepared.width, "height": prepared.height,
            "sha256": _sha256(prepared.photo), "source_sha256": _sha256(data),
            "created_at": now, "updated_at": now})
        written: list[Path] = []
        try:
            with self._tx(write=True) as conn:
                _refuse_duplicate(conn, name, record.sha256, record.source_sha256)
                for folder, payload in ((self.photos_dir, prepared.photo),
                                        (self.thumbs_dir, prepared.thumb)):
                    written.append(folder / record.stored_name)
                    _write_file(folder / record.stored_name, payload)
                insert_item(conn, record)
        except BaseException:
            _remove(written)
            raise
        return record

    def get(self, item_id: str) -> ItemRecord:
        with self._tx() as conn:
            return self._get(conn, item_id)

    def _get(self, conn: sqlite3.Connection, item_id: str) -> ItemRecord:
        row = conn.execute("SELECT * FROM items WHERE id = ?", (str(item_id),)).fetchone()
        if row is None:
            raise ItemNotFoundError(f"no item {item_id!r} in the closet",
                                    hint="list the closet to see the item ids")
        return _record(row)

    def list(self, slot: str | None = None, color: str | None = None, pattern: str | None = None,
             available: bool | None = None, search: str | None = None, limit: int | None = None,
             offset: int = 0) -> list[ItemRecord]:
        """Items, newest first. ``available``: True = not in the wash, False = in the wash.
        ``search`` matches every word (case-insensitive) in the name, original name, category,
        semantic category, colour or pattern. Colour and pattern match whole values."""
        if (limit is not None and limit < 0) or offset < 0:
            raise StoreError("limit and offset must not be negative")
        where, params = item_filter(slot, color, pattern, available, search)
        with self._tx() as conn:
            rows = conn.execute(f"SELECT * FROM items{where} ORDER BY created_at DESC, rowid DESC "
                                "LIMIT ? OFFSET ?", (*params, -1 if limit is None else limit,
                                                     offset)).fetchall()
        return [_record(r) for r in rows]

    def count(self, slot: str | None = None, color: str | None = None, pattern: str | None = None,
              available: bool | None = None, search: str | None = None) -> int:
        """How many items :meth:`list` would return without a limit (for paging)."""
        where, params = item_filter(slot, color, pattern, available, search)
        with self._tx() as conn:
            return int(conn.execute(f"SELECT count(*) FROM items{where}", params).fetchone()[0])

    def update_tags(self, item_id: str, *, in_wash: bool | None = None,
                    **tags: str | None) -> ItemRecord:
        """Set tags by hand (``name``, the :data:`TAGS` and the :data:`CHOICE_TAGS`; None or
        an empty value clears one) and, unless None, the in-the-wash flag, in one transaction
        (all or nothing, one ``updated_at``). Each of the :data:`TAGS` is marked edited and
        loses its confidence, so auto-tagging leaves it alone from now on. A season or formality
        outside its vocabulary raises StoreError naming the allowed values; nothing is changed
        then."""
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
        if in_wash is not None:
            sets.append("in_wash = ?")
            params.append(int(bool(in_wash)))
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
        return self.update_tags(item_id, in_wash=in_wash)

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
        path.parent.mkdir(mode=0o700, exist_ok=True)
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

    # ---- wear log and feedback (their SQL is in closet.wears)

    def log_wear(self, item_ids: Iterable[str], date: dt.date | str | None = None) -> str:
        """Record that these items were worn together on ``date`` (default today); the wear id."""
        ids, day = _unique_ids(item_ids, 1), _as_date(date)
        with self._tx(write=True) as conn:
            return wears.log_wear(conn, ids, day)

    def wear_counts(self) -> dict[str, int]:
        """Item id -> times worn, every item present (0 when never worn)."""
        with self._tx() as conn:
            return wears.wear_counts(conn)

    def wears(self, limit: int = 20, offset: int = 0,
              item_id: str | None = None) -> list[WearRecord]:
        """The wear log, latest day first (the latest logged first within a day); with
        ``item_id`` only the wears that included that item."""
        with self._tx() as conn:
            return wears.wears(conn, limit, offset, item_id)

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
            return wears.last_worn_before(conn, cutoff)

    def add_feedback(self, item_ids: Iterable[str], up: bool) -> str:
        """Thumbs up or down on an outfit (two or more items); a later judgement of the same set
        of items replaces the earlier one. Returns the feedback id."""
        ids = _unique_ids(item_ids, 2)
        with self._tx(write=True) as conn:
            return wears.add_feedback(conn, ids, up)

    def feedback(self) -> list[FeedbackRecord]:
        """Every judgement, oldest first."""
        with self._tx() as conn:
            return wears.feedback(conn)

    def export_feedback_polyvore(self, out_dir: Path | str, *, valid_fraction: float = 0.2,
                                 seed: int = 0) -> dict[str, int]:
        """Write the thumbs-up outfits as a Polyvore Outfits dataset that ``outfit train`` reads
        (see :func:`closet.feedback.export_polyvore`); the counts of what was written."""
        return export_polyvore(self, out_dir, valid_fraction=valid_fraction, seed=seed)

    # ---- feature cache

    def put_features(self, model_key: str, vectors: Mapping[str, Any], *,
                     skip_missing: bool = False) -> None:
        """Cache one 1-D float32 vector per item for ``model_key`` (replacing older ones);
        see :func:`closet.feature_rows.put_features`."""
        with self._tx(write=True) as conn:
            feature_cache.put_features(conn, model_key, vectors, skip_missing=skip_missing)

    def features(self, model_key: str, item_ids: Iterable[str], *,
                 skip_missing: bool = False) -> dict[str, np.ndarray]:
        """Cached vectors (float32) of these items for ``model_key``; items with none cached
        are absent from the result (compute those); see :func:`closet.feature_rows.features`."""
        with self._tx() as conn:
            return feature_cache.features(conn, model_key, item_ids, skip_missing=skip_missing)

    def clear_features(self, model_key: str | None = None) -> int:
        """Drop cached vectors of one model (or all); how many were dropped."""
        with self._tx(write=True) as conn:
            return feature_cache.clear_features(conn, model_key)

    # ---- archive

    def export_zip(self, path: Path | str) -> ExportReport:
        """Write the closet to one zip (see :func:`closet.archive.export_zip`)."""
        return archive.export_zip(self, path)

    def import_zip(self, path: Path | str) -> ImportReport:
        """Merge a zip made by :meth:`export_zip` into this closet, all or nothing (see
        :func:`closet.archive.import_zip`)."""
        return archive.import_zip(self, path)

    # ---- integrity (closet.integrity)

    def integrity_report(self) -> dict[str, Any]:
        """What is wrong, if anything (see :func:`closet.integrity.integrity_report`)."""
        return integrity.integrity_report(self)

    def repair(self, min_age_s: float = 60.0) -> dict[str, Any]:
        """Move orphan files to ``lost+found`` (see :func:`closet.integrity.repair`)."""
        return integrity.repair(self, min_age_s)

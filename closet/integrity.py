"""Checking the closet and putting it right: :func:`integrity_report` and :func:`repair`, over a
:class:`~closet.store.Store`'s public folders and its database."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import TYPE_CHECKING, Any

from closet.schema import transaction

if TYPE_CHECKING:
    from closet.store import Store

LOST_AND_FOUND = "lost+found"  # where repair moves files that belong to no item


def integrity_report(store: Store) -> dict[str, Any]:
    """What is wrong, if anything: SQLite's ``integrity_check`` and ``foreign_key_check``,
    items whose photo or thumbnail is missing, and files in ``images/`` or ``thumbs/`` that
    belong to no item (e.g. left by a crash between a commit and a file removal)."""
    with transaction(store.db_path, store.busy_timeout_s) as conn:
        check = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        rows = conn.execute("SELECT id, stored_name FROM items ORDER BY rowid").fetchall()
    stored = {r["stored_name"] for r in rows}
    missing_photos = [r["id"] for r in rows if not (store.photos_dir / r["stored_name"]).is_file()]
    missing_thumbs = [r["id"] for r in rows if not (store.thumbs_dir / r["stored_name"]).is_file()]
    orphans = sorted(f"{d.name}/{p.name}" for d in (store.photos_dir, store.thumbs_dir)
                     for p in d.iterdir() if p.name not in stored)
    return {"ok": check == ["ok"] and not fk and not missing_photos and not missing_thumbs
            and not orphans,
            "integrity_check": check, "foreign_key_errors": len(fk),
            "missing_photos": missing_photos, "missing_thumbs": missing_thumbs,
            "orphan_files": orphans}


def repair(store: Store, min_age_s: float = 60.0) -> dict[str, Any]:
    """Move the orphan files of :func:`integrity_report` older than ``min_age_s`` (an upload
    in flight writes its files a moment before its row) into
    ``lost+found/<UTC time>/{images,thumbs}/``: nothing is deleted, and the closet is
    consistent again. Items whose photo is missing cannot be repaired here: they are
    reported (delete them, or upload the photo again). Returns what was moved and what is
    left."""
    report = integrity_report(store)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    now = time.time()
    moved, young = [], []
    for rel in report["orphan_files"]:
        src = store.folder / rel
        try:
            if now - src.stat().st_mtime < min_age_s:
                young.append(rel)
                continue
        except FileNotFoundError:  # its upload committed or failed meanwhile
            continue
        dest = store.folder / LOST_AND_FOUND / stamp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        moved.append(rel)
    after = integrity_report(store)
    return {"moved": moved, "kept_young": young,
            "lost_and_found": str(store.folder / LOST_AND_FOUND / stamp) if moved else None,
            "ok": after["ok"], "report": after}

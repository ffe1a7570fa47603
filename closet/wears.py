"""The wear log's and the thumbs up and down's SQL, each function inside the caller's
transaction ``conn`` (:class:`~closet.store.Store` opens it and checks the arguments)."""

from __future__ import annotations

import sqlite3

from closet.queries import require_items
from closet.records import FeedbackRecord, ItemRecord, WearRecord, _now, _record, _token
from closet.schema import _chunks


def log_wear(conn: sqlite3.Connection, ids: list[str], day: str) -> str:
    """Log that the items ``ids`` were worn together on ``day``; the new wear's id."""
    require_items(conn, ids)
    wear_id = _token(12)
    conn.execute("INSERT INTO wears (id, worn_on, created_at) VALUES (?, ?, ?)",
                 (wear_id, day, _now()))
    conn.executemany("INSERT INTO wear_items (wear_id, item_id) VALUES (?, ?)",
                     [(wear_id, i) for i in ids])
    return wear_id


def wear_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Item id -> times worn, every item present (0 when never worn)."""
    rows = conn.execute("SELECT items.id, count(wear_items.wear_id) FROM items LEFT JOIN "
                        "wear_items ON wear_items.item_id = items.id GROUP BY items.id")
    return {r[0]: int(r[1]) for r in rows}


def wears(conn: sqlite3.Connection, limit: int, offset: int,
          item_id: str | None) -> list[WearRecord]:
    """A page of the wear log, latest day first; only the wears with ``item_id`` if given."""
    where, args = ("", []) if item_id is None else (
        " WHERE id IN (SELECT wear_id FROM wear_items WHERE item_id = ?)", [item_id])
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


def last_worn_before(conn: sqlite3.Connection, cutoff: str) -> list[ItemRecord]:
    """Items last worn (or, never worn, added) before the ISO date ``cutoff``, longest first."""
    rows = conn.execute(
        "SELECT items.*, COALESCE(max(wears.worn_on), date(items.created_at, 'localtime')) "
        "AS last FROM items LEFT JOIN wear_items ON wear_items.item_id = items.id "
        "LEFT JOIN wears ON wears.id = wear_items.wear_id GROUP BY items.id "
        "HAVING last < ? ORDER BY last, items.rowid", (cutoff,)).fetchall()
    return [_record(r) for r in rows]


def add_feedback(conn: sqlite3.Connection, ids: list[str], up: bool) -> str:
    """Judge the outfit ``ids`` (replacing an earlier judgement of the same set); its id."""
    require_items(conn, ids)
    key = ",".join(sorted(ids))
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


def feedback(conn: sqlite3.Connection) -> list[FeedbackRecord]:
    """Every judgement, oldest first."""
    rows = conn.execute("SELECT id, outfit_key, up, created_at FROM feedback "
                        "ORDER BY created_at, rowid").fetchall()
    return [FeedbackRecord(r["id"], tuple(r["outfit_key"].split(",")), bool(r["up"]),
                           r["created_at"]) for r in rows]

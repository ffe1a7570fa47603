"""SQL over one open connection that the store and its helper modules share (each runs inside
the caller's transaction; none opens its own)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from closet.records import _ITEM_COLUMNS, ItemRecord
from closet.schema import _chunks
from outfit.errors import ItemNotFoundError
from outfit.vocab import CATEGORY_SLOT, check_slot


def existing_ids(conn: sqlite3.Connection, item_ids: Sequence[str]) -> set[str]:
    """Which of ``item_ids`` are items of the closet."""
    found: set[str] = set()
    for part in _chunks(list(item_ids)):
        found.update(r[0] for r in conn.execute(
            f"SELECT id FROM items WHERE id IN ({','.join('?' * len(part))})", part))
    return found


def require_items(conn: sqlite3.Connection, item_ids: Sequence[str]) -> None:
    """Raise ItemNotFoundError naming the first of ``item_ids`` that is not an item."""
    found = existing_ids(conn, item_ids)
    missing = [i for i in item_ids if i not in found]
    if missing:
        raise ItemNotFoundError(f"no item {missing[0]!r} in the closet",
                                hint="list the closet to see the item ids")


def find_photo(conn: sqlite3.Connection, *shas: str) -> str | None:
    """The id of the item whose stored or uploaded photo has one of these checksums, or None."""
    marks = ",".join("?" * len(shas))
    row = conn.execute(f"SELECT id FROM items WHERE sha256 IN ({marks}) OR source_sha256 IN "
                       f"({marks}) LIMIT 1", (*shas, *shas)).fetchone()
    return row[0] if row else None


def insert_item(conn: sqlite3.Connection, record: ItemRecord) -> None:
    """Insert one item row."""
    conn.execute(f"INSERT INTO items ({', '.join(_ITEM_COLUMNS)}) VALUES "
                 f"({', '.join(':' + c for c in _ITEM_COLUMNS)})", asdict(record))


def item_filter(slot: str | None, color: str | None, pattern: str | None,
                available: bool | None, search: str | None) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause and its parameters of :meth:`~closet.store.Store.list`'s filters."""
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

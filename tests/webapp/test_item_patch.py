"""PATCH /api/v1/items/<id> changes the tags and the in-the-wash flag in one transaction: all
of it or nothing, with one ``updated_at`` change."""

from __future__ import annotations

import sqlite3

from web_kit import envelope

import closet.schema


class _WashFails:
    """A connection whose writes of the in-the-wash flag fail as SQLite fails on a full disk;
    everything else goes to the real connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args):
        if sql.lstrip().startswith("UPDATE items") and "in_wash" in sql:
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = 13
            raise exc
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_a_patch_that_fails_halfway_changes_nothing(client, store, add_items, monkeypatch):
    (item,) = add_items(1)
    before = store.get(item["id"])
    real = closet.schema.connect
    monkeypatch.setattr(closet.schema, "connect", lambda *a, **k: _WashFails(real(*a, **k)))
    r = client.patch(f"/api/v1/items/{item['id']}", json={"color": "red", "name": "new name",
                                                          "in_wash": True})
    envelope(r, 507, "storage_full")
    monkeypatch.undo()
    after = store.get(item["id"])
    assert after == before  # neither the tags nor the flag nor updated_at moved
    assert after.color != "red" and not after.in_wash


def test_a_patch_of_tags_and_in_wash_is_one_change(client, store, add_items):
    (item,) = add_items(1)
    with sqlite3.connect(store.db_path) as db:
        db.execute("CREATE TABLE stamp_log (at TEXT)")
        db.execute("CREATE TRIGGER stamp AFTER UPDATE OF updated_at ON items "
                   "BEGIN INSERT INTO stamp_log VALUES (NEW.updated_at); END")
    r = client.patch(f"/api/v1/items/{item['id']}", json={"color": "red", "in_wash": True})
    assert r.status_code == 200 and r.json["color"] == "red" and r.json["in_wash"] is True
    with sqlite3.connect(store.db_path) as db:
        stamps = [row[0] for row in db.execute("SELECT at FROM stamp_log")]
    assert stamps == [store.get(item["id"]).updated_at]

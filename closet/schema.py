"""The closet database's schema and how a connection to it is opened.

The schema grows by numbered steps (:data:`MIGRATIONS`), counted in ``PRAGMA user_version``,
each applied in one transaction; a database newer than the code is refused, not guessed at.
Every connection enforces foreign keys, waits for a busy writer up to its timeout and runs no
function from the schema that is not marked safe (``trusted_schema = OFF``); the database runs
in WAL mode, so readers run beside the one writer.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from closet.errors import SchemaVersionError, StorageFullError, StoreError
from outfit.vocab import FORMALITIES, SEASONS

__all__ = ["DB_NAME", "TAGS", "CHOICE_TAGS", "MIGRATIONS", "SCHEMA_VERSION", "connect",
           "db_errors", "transaction", "upgrade_database"]

DB_NAME = "closet.db"
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
TAGS: tuple[str, ...] = ("semantic_category", "category", "color", "pattern")
# Tags with a fixed vocabulary, set by hand only (no confidence, no edited flag): the item
# attributes that the recommender's season and occasion constraints read. NULL: unknown.
CHOICE_TAGS: dict[str, tuple[str, ...]] = {"season": SEASONS, "formality": FORMALITIES}


def _tag_columns(tag: str) -> str:
    return (f"{tag} TEXT, {tag}_confidence REAL CHECK ({tag}_confidence BETWEEN 0 AND 1), "
            f"{tag}_edited INTEGER NOT NULL DEFAULT 0 CHECK ({tag}_edited IN (0, 1))")


# Each step is a list of statements run in one transaction; step k takes user_version k -> k+1.
# Append steps; never edit one that has shipped.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        f"""CREATE TABLE items (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            original_name TEXT NOT NULL DEFAULT '',
            stored_name TEXT NOT NULL UNIQUE,
            {", ".join(_tag_columns(t) for t in TAGS)},
            in_wash INTEGER NOT NULL DEFAULT 0 CHECK (in_wash IN (0, 1)),
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            sha256 TEXT NOT NULL UNIQUE,
            source_sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT""",
        "CREATE INDEX items_semantic ON items (semantic_category)",
        "CREATE INDEX items_created ON items (created_at)",
        """CREATE TABLE wears (
            id TEXT PRIMARY KEY NOT NULL,
            worn_on TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) STRICT""",
        "CREATE INDEX wears_worn_on ON wears (worn_on)",
        """CREATE TABLE wear_items (
            wear_id TEXT NOT NULL REFERENCES wears (id) ON DELETE CASCADE,
            item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            PRIMARY KEY (wear_id, item_id)
        ) STRICT, WITHOUT ROWID""",
        "CREATE INDEX wear_items_item ON wear_items (item_id)",
        """CREATE TABLE feedback (
            id TEXT PRIMARY KEY NOT NULL,
            outfit_key TEXT NOT NULL UNIQUE,
            up INTEGER NOT NULL CHECK (up IN (0, 1)),
            created_at TEXT NOT NULL
        ) STRICT""",
        """CREATE TABLE feedback_items (
            feedback_id TEXT NOT NULL REFERENCES feedback (id) ON DELETE CASCADE,
            item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            PRIMARY KEY (feedback_id, item_id)
        ) STRICT, WITHOUT ROWID""",
        "CREATE INDEX feedback_items_item ON feedback_items (item_id)",
        """CREATE TABLE features (
            model_key TEXT NOT NULL,
            item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            dim INTEGER NOT NULL CHECK (dim > 0),
            vector BLOB NOT NULL CHECK (length(vector) = 4 * dim),
            created_at TEXT NOT NULL,
            PRIMARY KEY (model_key, item_id)
        ) STRICT, WITHOUT ROWID""",
        "CREATE INDEX features_item ON features (item_id)",
    ),
    # 1 -> 2: season and formality (CHOICE_TAGS). The values are written out, not built from
    # the vocabularies: a shipped step must not change when they do (that takes a new step).
    (
        "ALTER TABLE items ADD COLUMN season TEXT "
        "CHECK (season IN ('summer', 'winter', 'all-season'))",
        "ALTER TABLE items ADD COLUMN formality TEXT "
        "CHECK (formality IN ('casual', 'smart', 'formal'))",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)
_TABLES = ("items", "wears", "wear_items", "feedback", "feedback_items", "features")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _migrate(conn: sqlite3.Connection, where: Path) -> None:
    """Bring the database up to :data:`MIGRATIONS`, one transaction per step; refuse a newer one.

    The version is read again under the write lock, so two processes opening the same old
    database upgrade it once.
    """
    known = len(MIGRATIONS)
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)
            if version > known:
                raise SchemaVersionError(
                    f"{where}: the closet database is version {version}, newer than this code "
                    f"knows (up to {known})",
                    hint="upgrade the outfit package, or use another instance folder")
            if version == known:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


# --------------------------------------------------------------------------- connections


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly), rows as
    :class:`sqlite3.Row`; raises StoreError when the file cannot be opened."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the closet database ({exc})",
                         hint="check the folder exists and is writable") from None
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    conn.execute("PRAGMA trusted_schema = OFF")
    return conn


@contextmanager
def db_errors(path: Path) -> Iterator[None]:
    """SQLite's operational failures (locked, damaged, disk full) as a StoreError."""
    try:
        yield
    except sqlite3.IntegrityError:
        raise
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL:
            raise StorageFullError("the change") from exc
        raise StoreError(f"{path}: closet database error ({exc})",
                         hint="try again; if it persists, run the integrity report") from exc


@contextmanager
def transaction(path: Path, busy_timeout_s: float, *,
                write: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection inside one transaction (``BEGIN IMMEDIATE`` to write), committed at the
    end, rolled back on any exception, always closed."""
    conn = connect(path, busy_timeout_s)
    try:
        with db_errors(path):
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
    finally:
        conn.close()


def upgrade_database(path: Path, busy_timeout_s: float) -> None:
    """Create the database at ``path`` or bring it up to :data:`MIGRATIONS`, in WAL mode;
    a newer database raises SchemaVersionError and is left untouched. A new database file is
    readable by its owner only (0600; SQLite gives its WAL and shared-memory files the same)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    conn = connect(path, busy_timeout_s)
    try:
        with db_errors(path):
            if _user_version(conn) <= len(MIGRATIONS):  # never touch a newer database
                conn.execute("PRAGMA journal_mode = WAL")
            _migrate(conn, path)
    finally:
        conn.close()


# ------------------------------------------------------------------------ deleting items
# What the foreign keys cannot say: feedback and wears that lose their items.


def _chunks(seq: Sequence[str], n: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(seq), n):
        yield seq[start:start + n]


def _delete_items(conn: sqlite3.Connection, item_ids: Sequence[str]) -> None:
    """Delete items with their feedback (a judgement of a set of items no longer holds without
    one of them) and the wears left with no item; wear entries and features cascade."""
    for part in _chunks(item_ids):
        marks = ",".join("?" * len(part))
        conn.execute("DELETE FROM feedback WHERE id IN (SELECT feedback_id FROM feedback_items "
                     f"WHERE item_id IN ({marks}))", part)
        conn.execute(f"DELETE FROM items WHERE id IN ({marks})", part)
    conn.execute("DELETE FROM wears WHERE id NOT IN (SELECT wear_id FROM wear_items)")

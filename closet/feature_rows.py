"""The feature rows' SQL: one vector per item and model (``model_key``), so a closet is
featurised once per model, not on every request. Vectors are stored as little-endian float32.
Each function runs inside the caller's transaction ``conn`` (:class:`~closet.store.Store` opens
it); :mod:`closet.features` is the cache a caller uses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from closet.errors import StoreError
from closet.queries import existing_ids, require_items
from closet.records import _now
from closet.schema import _chunks

__all__ = ["put_features", "features", "clear_features", "forget_item"]


def put_features(conn: sqlite3.Connection, model_key: str, vectors: Mapping[str, Any], *,
                 skip_missing: bool = False) -> None:
    """Cache one 1-D float32 vector per item for ``model_key`` (replacing older ones). Unknown
    ids raise ItemNotFoundError, or with ``skip_missing`` are left out (an item deleted while
    its features were computed)."""
    key = _model_key(model_key)
    rows = []
    for item_id, vector in vectors.items():
        arr = np.asarray(vector, dtype="<f4")
        if arr.ndim != 1 or arr.size == 0:
            raise StoreError(f"feature vector of item {item_id} has shape {arr.shape}",
                             hint="give one non-empty 1-D vector per item")
        rows.append((key, str(item_id), int(arr.size), arr.tobytes(), _now()))
    if skip_missing:
        rows = [r for r in rows if r[1] in existing_ids(conn, [r[1] for r in rows])]
    else:
        require_items(conn, [r[1] for r in rows])
    conn.executemany(
        "INSERT INTO features (model_key, item_id, dim, vector, created_at) VALUES "
        "(?, ?, ?, ?, ?) ON CONFLICT (model_key, item_id) DO UPDATE SET dim = "
        "excluded.dim, vector = excluded.vector, created_at = excluded.created_at", rows)


def features(conn: sqlite3.Connection, model_key: str, item_ids: Iterable[str], *,
             skip_missing: bool = False) -> dict[str, np.ndarray]:
    """Cached vectors (float32) of these items for ``model_key``; items with none cached
    are absent from the result (compute those). Unknown ids raise ItemNotFoundError, or with
    ``skip_missing`` are absent too."""
    key, ids = _model_key(model_key), list(dict.fromkeys(map(str, item_ids)))
    out: dict[str, np.ndarray] = {}
    if not skip_missing:
        require_items(conn, ids)
    for part in _chunks(ids):
        for row in conn.execute(
                f"SELECT item_id, vector FROM features WHERE model_key = ? AND item_id IN "
                f"({','.join('?' * len(part))})", (key, *part)):
            out[row[0]] = np.frombuffer(row[1], dtype="<f4").astype(np.float32)
    return out


def forget_item(conn: Any, item_id: str) -> None:
    """Drop an item's cached vectors (every model), inside the caller's transaction ``conn``:
    its tags changed, and a model that reads photos by their tags
    (:attr:`grader.api.GraderModel.closet_reads`) must see the new ones."""
    conn.execute("DELETE FROM features WHERE item_id = ?", (item_id,))


def clear_features(conn: sqlite3.Connection, model_key: str | None = None) -> int:
    """Drop cached vectors of one model (or all); how many were dropped."""
    if model_key is None:
        return conn.execute("DELETE FROM features").rowcount
    return conn.execute("DELETE FROM features WHERE model_key = ?",
                        (_model_key(model_key),)).rowcount


def _model_key(model_key: str) -> str:
    if not isinstance(model_key, str) or not model_key.strip() or len(model_key) > 200:
        raise StoreError(f"bad model key {model_key!r}", hint="name the model (1-200 characters)")
    return model_key.strip()

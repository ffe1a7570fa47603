"""The closet's item features under the active model, computed once and reused.

    table = ClosetFeatures(store).table(model, key, closet.items)

A row is taken, in this order, from memory (the rows of the current model), from the store's
feature cache (``Store.features``, keyed by :attr:`ActiveModel.key <usecases.services.ActiveModel.key>`),
and only for the photos left from the model itself, in one batch, whose rows go to the store
for the next start. A different key (another or a retrained model) starts memory afresh, so
features are recomputed (or read back from the store) for that model. One lock guards it all:
two requests arriving together compute a photo once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from closet.errors import StoreError
from closet.store import Store
from outfit.domain import Item
from outfit.errors import ImageError

if TYPE_CHECKING:
    from grader.api import FeatureTable, GraderModel

__all__ = ["ClosetFeatures"]


def _described_as(item: Item) -> tuple[str, ...]:
    """What a model reading by tags reads of an item besides its photo: a row computed for
    other tags is stale. The store drops its cached rows when tags change; this catches the
    rows held in memory here, whichever process changed the tags."""
    return (item.category, item.semantic_category, str(item.attributes.get("color") or ""),
            str(item.attributes.get("pattern") or ""))


class ClosetFeatures:
    """Item features per model for one store (see the module)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._key: str | None = None
        self._rows: dict[str, np.ndarray] = {}
        self._described: dict[str, tuple[str, ...]] = {}
        self.computed = 0  # photos featurised by a model since the start (for tests and logs)

    def _vanished(self, items: Sequence[Item]) -> None:
        """A photo could not be read: say why in the closet's terms. An item deleted meanwhile
        (by another request) -> ItemNotFoundError; an item whose file is gone -> StoreError.
        Never the server's path."""
        for it in items:
            if it.image is not None and not Path(it.image).is_file():
                self.store.get(it.id)  # ItemNotFoundError when it was deleted meanwhile
                raise StoreError(f"the photo of item {it.id} is missing from the closet's folder",
                                 hint="run `outfit check --home <instance folder>` to list and "
                                      "repair what is wrong; upload the photo again")

    def table(self, model: GraderModel, key: str, items: Sequence[Item],
              run_lock: threading.Lock | None = None) -> FeatureTable:
        """A :class:`~grader.api.FeatureTable` of ``items`` (in order) under ``model``, whose
        cache key is ``key``; ``run_lock`` is held while the model computes."""
        import torch

        from grader.api import FeatureTable, slot_ids

        items = list({it.id: it for it in items}.values())
        with self._lock:
            if key != self._key:
                self._key, self._rows, self._described = key, {}, {}
            for it in items:
                if self._described.get(it.id, _described_as(it)) != _described_as(it):
                    self._rows.pop(it.id, None)
            missing = [it.id for it in items if it.id not in self._rows]
            if missing:
                # An item deleted since the closet was read keeps its place in this table (a
                # snapshot); its vector is not cached.
                self._rows.update(self.store.features(key, missing, skip_missing=True))
            todo = [it for it in items if it.id not in self._rows]
            if todo:
                try:
                    if run_lock is not None:
                        with run_lock:
                            fresh = model.item_table(todo, reads=model.closet_reads)
                    else:
                        fresh = model.item_table(todo, reads=model.closet_reads)
                except ImageError:
                    self._vanished(todo)
                    raise
                vectors = {i: fresh.feats[k].float().cpu().numpy()
                           for k, i in enumerate(fresh.ids)}
                self.store.put_features(key, vectors, skip_missing=True)
                self._rows.update(vectors)
                self.computed += len(todo)
            self._described.update((it.id, _described_as(it)) for it in items)
            feats = (torch.from_numpy(np.stack([self._rows[it.id] for it in items]))
                     if items else torch.zeros(0, model.layout.dim))
        return FeatureTable(tuple(it.id for it in items), feats.float(), slot_ids(items))

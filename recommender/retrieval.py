"""Complementary retrieval for large closets and catalogues: a faiss index per slot.

Grading every item of a 100,000-item catalogue at every beam step is too slow, so each slot's
items are shortlisted first. The grader is linearised around the slot's mean item: for a
partial outfit ``o``, ``logit(o + x) ~ logit(o + mean) + g . (x - mean)`` with ``g`` the gradient
of the logit with respect to the added item's features. The items with the largest ``g . x``
are found by maximum inner product search over the items' features (``faiss.IndexFlatIP``, one
index per slot), and only those are graded exactly. The indexes can be saved and loaded
(``save``/``load``), keyed by the model and the items, under the instance's ``indexes/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import torch

from data.fileio import atomic_write_bytes, atomic_write_json, atomic_write_with
from outfit.errors import OutfitError
from outfit.vocab import ACCESSORY, SLOTS

from .problem import SearchProblem
from .scoring import ClosetScorer

__all__ = ["SlotIndex", "complement_rows", "SHORTLIST_THRESHOLD", "SHORTLIST_SIZE"]

log = logging.getLogger(__name__)

SHORTLIST_THRESHOLD = 384  # slots with more candidates than this are shortlisted
SHORTLIST_SIZE = 192  # candidates kept per partial outfit and slot
_REBUILD = "delete the folder; it is rebuilt on the next search"


class SlotIndex:
    """One inner-product index per slot over the items' features (rows of ``scorer.table``)."""

    def __init__(self, scorer: ClosetScorer, indexes: dict[str, faiss.Index] | None = None,
                 rows: dict[str, np.ndarray] | None = None) -> None:
        self.scorer = scorer
        feats = scorer.table.feats.float().numpy()
        slots = scorer.table.slots.numpy()
        self.rows: dict[str, np.ndarray] = rows or {
            s: np.flatnonzero(slots == k).astype(np.int64) for k, s in enumerate(SLOTS)}
        self.indexes: dict[str, faiss.Index] = indexes or {}
        if not self.indexes:
            for s, r in self.rows.items():
                index = faiss.IndexFlatIP(feats.shape[1])
                if len(r):
                    index.add(np.ascontiguousarray(feats[r]))
                self.indexes[s] = index
        self.mean = {s: (scorer.table.feats[torch.from_numpy(r)].mean(0) if len(r)
                         else torch.zeros(feats.shape[1])) for s, r in self.rows.items()}

    # ------------------------------------------------------------------ queries
    def directions(self, states: np.ndarray, slot: str) -> np.ndarray:
        """``(B, D)``: the gradient of each state's logit with respect to the features of an
        item added in ``slot``, taken at the slot's mean item."""
        scorer = self.scorer
        table = scorer.table
        rows = torch.from_numpy(states)
        feats, slots, mask = table.gather(rows)
        probe = self.mean[slot].expand(len(rows), -1).clone().requires_grad_(True)
        feats = torch.cat([feats, probe.unsqueeze(1)], 1).to(scorer.device)
        slots = torch.cat([slots, torch.full((len(rows), 1), SLOTS.index(slot))], 1)
        mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=torch.bool)], 1)
        with torch.enable_grad():
            logits = scorer.grader(feats, slots.to(scorer.device), mask.to(scorer.device))
            (grad,) = torch.autograd.grad(logits.sum(), probe)
        return grad.float().cpu().numpy()

    def search(self, queries: np.ndarray, slot: str, k: int) -> list[np.ndarray]:
        """For each query direction, the rows of the ``k`` items of ``slot`` with the largest
        inner product."""
        index, rows = self.indexes[slot], self.rows[slot]
        k = min(k, len(rows))
        if k == 0:
            return [rows[:0] for _ in range(len(queries))]
        _, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return [rows[f[f >= 0]] for f in found]

    def shortlist(self, threshold: int = SHORTLIST_THRESHOLD, size: int = SHORTLIST_SIZE):
        """A ``shortlist`` for :func:`recommender.search`: slots with more than ``threshold``
        candidates are narrowed to ``size`` per partial outfit (candidates the problem rules
        out, e.g. excluded items, are dropped after the index search)."""

        def narrow(problem: SearchProblem, slot: str, states: np.ndarray,
                   candidates: np.ndarray) -> list[np.ndarray]:
            if len(candidates) <= threshold:
                return [candidates] * len(states)
            # ask for more than ``size`` when part of the slot is ruled out
            share = len(candidates) / max(1, len(self.rows[slot]))
            want = min(len(self.rows[slot]), int(size / max(share, 1e-3)) + 1)
            found = self.search(self.directions(states, slot), slot, want)
            allowed = np.zeros(len(self.scorer.table.ids), dtype=bool)
            allowed[candidates] = True
            return [f[allowed[f]][:size] for f in found]

        return narrow

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path | str) -> Path:
        """Write the indexes, each file atomically and durably; ``index.json`` last, so a
        crash midway leaves a folder :meth:`load` refuses (and :meth:`cached` rebuilds)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.json").unlink(missing_ok=True)
        for s, index in self.indexes.items():
            atomic_write_bytes(folder / f"{s}.faiss", faiss.serialize_index(index).tobytes())
            atomic_write_with(folder / f"{s}.rows.npy",
                              lambda fh, rows=self.rows[s]: np.save(fh, rows))
        atomic_write_json(folder / "index.json", {
            "items": len(self.scorer.table.ids), "key": self.key(self.scorer),
            "slots": {s: len(r) for s, r in self.rows.items()}})
        return folder

    @classmethod
    def load(cls, folder: Path | str, scorer: ClosetScorer) -> SlotIndex:
        """The indexes :meth:`save` wrote for ``scorer``'s items; :class:`OutfitError` when
        there are none, they were built for other items, or a file is damaged."""
        folder = Path(folder)
        meta_path = folder / "index.json"
        if not meta_path.is_file():
            raise OutfitError(f"no saved index in {folder}", hint="build one with SlotIndex(...)")
        try:
            meta = json.loads(meta_path.read_text())
            key = meta.get("key")
        except (OSError, ValueError, AttributeError) as exc:
            raise OutfitError(f"the index in {folder} is damaged ({exc})", hint=_REBUILD) from None
        if key != cls.key(scorer):
            raise OutfitError(f"the index in {folder} was built for other items or another model",
                              hint=_REBUILD)
        try:
            indexes = {s: faiss.read_index(str(folder / f"{s}.faiss")) for s in SLOTS}
            rows = {s: np.load(folder / f"{s}.rows.npy", allow_pickle=False) for s in SLOTS}
        except (OSError, ValueError, RuntimeError, EOFError) as exc:
            raise OutfitError(f"the index in {folder} is damaged ({type(exc).__name__}: "
                              f"{str(exc)[:120]})", hint=_REBUILD) from None
        counts = meta.get("slots") if isinstance(meta.get("slots"), dict) else {}
        if any(indexes[s].ntotal != len(rows[s]) or counts.get(s) != len(rows[s]) for s in SLOTS):
            raise OutfitError(f"the index in {folder} is damaged (its files disagree)",
                              hint=_REBUILD)
        return cls(scorer, indexes, rows)

    @staticmethod
    def key(scorer: ClosetScorer) -> str:
        """A fingerprint of the items and their features (so: of the model too)."""
        h = hashlib.sha256()
        h.update("\n".join(scorer.table.ids).encode())
        h.update(scorer.table.feats.float().numpy().tobytes())
        return h.hexdigest()[:20]

    @classmethod
    def cached(cls, scorer: ClosetScorer, folder: Path | str | None) -> SlotIndex:
        """Load the index saved under ``folder/<key>`` or build and save it there."""
        if folder is None:
            return cls(scorer)
        where = Path(folder) / cls.key(scorer)
        try:
            return cls.load(where, scorer)
        except OutfitError as exc:  # none yet, stale or damaged: built again
            if (where / "index.json").exists():
                log.warning("%s; building it again", exc.message)
            index = cls(scorer)
            index.save(where)
            return index


def complement_rows(scorer: ClosetScorer, problem: SearchProblem, given: Sequence[int],
                    slot: str, k: int, index: SlotIndex | None = None) -> list[tuple[int, float]]:
    """The ``k`` items of ``slot`` that best complete ``given`` (rows), with their logits."""
    taken = set(given)
    candidates = np.asarray([r for r in problem.candidates[slot] if r not in taken and (
        slot != ACCESSORY or problem.accessory_ok(given, r))], dtype=np.int64)
    if index is not None and len(candidates) > SHORTLIST_THRESHOLD:
        state = np.full((1, len(given) + 1), -1, dtype=np.int64)
        state[0, :len(given)] = given
        candidates = index.shortlist()(problem, slot, state, candidates)[0]
    if len(candidates) == 0:
        return []
    outfits = torch.full((len(candidates), len(given) + 1), -1, dtype=torch.long)
    outfits[:, :len(given)] = torch.as_tensor(list(given), dtype=torch.long)
    outfits[:, -1] = torch.from_numpy(candidates)
    logits = scorer.logits_padded(outfits)
    top = torch.topk(logits, min(k, len(candidates))).indices
    return [(int(candidates[i]), float(logits[i])) for i in top]

"""Grading many candidate outfits of one closet fast.

A :class:`ClosetScorer` computes the closet's item features once (per model and closet; kept in
a small in-process cache, photos optionally decoded through the on-disk image cache) and grades
batches of outfits given as padded row indices. For the ``slots`` grader it also caches what
each item adds to the grader's first layer (:meth:`grader.model.SlotsGrader.item_terms`), so
grading a candidate costs a few additions and the grader's small head.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from grader.api import FeatureTable, GraderModel, pad_outfits
from grader.model import SlotsGrader
from outfit.domain import Item

__all__ = ["ClosetScorer", "Partial", "closet_scorer", "feature_table", "clear_feature_cache"]

_CACHE_SIZE = 8  # closets kept per model
_cache: weakref.WeakKeyDictionary[GraderModel, OrderedDict[tuple, ClosetScorer]] = (
    weakref.WeakKeyDictionary())
_cache_lock = threading.Lock()


def _item_key(item: Item) -> tuple:
    path = item.image
    try:
        st = path.stat() if path is not None else None
    except OSError:
        st = None
    return (item.id, item.semantic_category, str(path),
            st.st_size if st else -1, st.st_mtime_ns if st else -1)


def closet_scorer(model: GraderModel, items: Sequence[Item], *,
                  cache_dir: Path | str | None = None) -> ClosetScorer:
    """A scorer for ``items``: their features and per-item grader terms are computed once per
    (model, items) and kept in memory (the last few closets of each model); a photo changed on
    disk makes a different key."""
    key = tuple(_item_key(it) for it in items)
    with _cache_lock:
        scorers = _cache.setdefault(model, OrderedDict())
        scorer = scorers.get(key)
        if scorer is not None:
            scorers.move_to_end(key)
            return scorer
    scorer = ClosetScorer(model, model.item_table(list(items), cache_dir=cache_dir))
    with _cache_lock:
        scorers[key] = scorer
        while len(scorers) > _CACHE_SIZE:
            scorers.popitem(last=False)
    return scorer


def feature_table(model: GraderModel, items: Sequence[Item], *,
                  cache_dir: Path | str | None = None) -> FeatureTable:
    """The model's features of ``items`` (cached as :func:`closet_scorer` says)."""
    return closet_scorer(model, items, cache_dir=cache_dir).table


def clear_feature_cache() -> None:
    with _cache_lock:
        _cache.clear()


@dataclass
class Partial:
    """Partial outfits being built, as padded rows and (for the slots grader) running sums."""

    rows: torch.Tensor
    first: torch.Tensor | None = None
    filled: torch.Tensor | None = None
    pair_sum: torch.Tensor | None = None
    pair_sq: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: torch.Tensor | np.ndarray) -> Partial:
        idx = torch.as_tensor(index, device=self.rows.device)
        return Partial(*(None if v is None else v[idx] for v in
                         (self.rows, self.first, self.filled, self.pair_sum, self.pair_sq)))

    def states(self) -> np.ndarray:
        return self.rows.cpu().numpy()

    @staticmethod
    def cat(parts: Sequence[Partial]) -> Partial:
        """The states of several batches as one (for one grading call)."""
        width = max(p.rows.shape[1] for p in parts)
        rows = torch.cat([torch.nn.functional.pad(p.rows, (0, width - p.rows.shape[1]),
                                                  value=-1) for p in parts])
        rest = [None if parts[0].first is None else torch.cat([getattr(p, f) for p in parts])
                for f in ("first", "filled", "pair_sum", "pair_sq")]
        return Partial(rows, *rest)


class ClosetScorer:
    """Grades outfits of one closet: rows are indices into ``table``."""

    def __init__(self, model: GraderModel, table: FeatureTable) -> None:
        self.model = model
        self.table = table
        self.grader = model.grader.eval()
        self.device = model.device
        self._terms = None
        if isinstance(self.grader, SlotsGrader):
            self._terms = self.grader.item_terms(table.feats.to(self.device),
                                                 table.slots.to(self.device))

    @property
    def uses_item_terms(self) -> bool:
        return self._terms is not None

    @torch.no_grad()
    def logits_padded(self, padded: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
        """Logits ``(B,)`` of outfits given as padded rows ``(B, S)`` (-1 = none)."""
        out = []
        for start in range(0, len(padded), chunk):
            rows = padded[start:start + chunk].to(self.device)
            if self._terms is not None:
                out.append(self.grader.from_terms(self._terms, rows).float().cpu())
            else:
                feats, slots, mask = self.table.gather(rows.cpu())
                out.append(self.grader(feats.to(self.device), slots.to(self.device),
                                       mask.to(self.device)).float().cpu())
        return torch.cat(out) if out else torch.zeros(0)

    # ------------------------------------------------------------ incremental (beam search)
    # A beam state's "sums" let its expansions be graded by adding one item each: for the
    # slots grader the running first-layer sum, items per slot and pair-factor sums; for other
    # graders simply the padded rows (graded in full).

    def start(self, states: np.ndarray) -> Partial:
        """Sums of padded row states ``(B, S)``."""
        rows = torch.from_numpy(np.ascontiguousarray(states)).to(self.device)
        t = self._terms
        if t is None:
            return Partial(rows)
        mask = (rows >= 0).unsqueeze(-1).to(t.first.dtype)
        safe = rows.clamp(min=0)
        filled = torch.zeros(len(rows), len(t.empty), dtype=t.first.dtype, device=self.device)
        filled.scatter_add_(1, t.slots[safe], mask[..., 0])
        p = t.pair[safe] * mask
        return Partial(rows, (t.first[safe] * mask).sum(1), filled, p.sum(1), (p**2).sum(1))

    def extend(self, part: Partial, parents: np.ndarray, new_rows: np.ndarray) -> Partial:
        """States ``parents`` of ``part`` each with row ``new_rows`` added (-1: nothing)."""
        parents_t = torch.from_numpy(parents).to(self.device)
        new_t = torch.from_numpy(new_rows).to(self.device)
        rows = part.rows[parents_t].clone()
        has = new_t >= 0
        lengths = (rows >= 0).sum(1)
        where = has.nonzero().squeeze(1)
        rows[where, lengths[where]] = new_t[where]
        t = self._terms
        if t is None:
            return Partial(rows)
        safe = new_t.clamp(min=0)
        w = has.unsqueeze(1).to(t.first.dtype)
        filled = part.filled[parents_t].clone()
        filled[where, t.slots[new_t[where]]] += 1
        p = t.pair[safe] * w
        return Partial(rows, part.first[parents_t] + t.first[safe] * w, filled,
                       part.pair_sum[parents_t] + p, part.pair_sq[parents_t] + p**2)

    def remove(self, part: Partial, parents: np.ndarray, old_rows: np.ndarray) -> Partial:
        """States ``parents`` of ``part`` each without row ``old_rows`` (-1: nothing)."""
        parents_t = torch.from_numpy(parents).to(self.device)
        old_t = torch.from_numpy(old_rows).to(self.device)
        rows = part.rows[parents_t].clone()
        hit = (rows == old_t[:, None]) & (old_t[:, None] >= 0)
        rows[hit] = -1
        # keep the rows packed at the front (extend appends after the last one)
        order = torch.argsort((rows < 0).to(torch.int8), dim=1, stable=True)
        rows = torch.gather(rows, 1, order)
        t = self._terms
        if t is None:
            return Partial(rows)
        has = old_t >= 0
        where = has.nonzero().squeeze(1)
        safe = old_t.clamp(min=0)
        w = has.unsqueeze(1).to(t.first.dtype)
        filled = part.filled[parents_t].clone()
        filled[where, t.slots[old_t[where]]] -= 1
        p = t.pair[safe] * w
        return Partial(rows, part.first[parents_t] - t.first[safe] * w, filled,
                       part.pair_sum[parents_t] - p, part.pair_sq[parents_t] - p**2)

    @torch.no_grad()
    def grade(self, part: Partial) -> torch.Tensor:
        """Logits of the states of ``part``."""
        if self._terms is None:
            return self.logits_padded(part.rows.cpu())
        return self.grader.from_sums(self._terms, part.first, part.filled, part.pair_sum,
                                     part.pair_sq).float().cpu()

    def logits(self, outfits: Sequence[Sequence[int]]) -> torch.Tensor:
        """Logits of outfits given as lists of rows."""
        if not outfits:
            return torch.zeros(0)
        return self.logits_padded(pad_outfits(outfits))

    def calibrate(self, logits: torch.Tensor | np.ndarray) -> np.ndarray:
        """Calibrated probabilities from logits (the grader's temperature and bias)."""
        z = np.asarray(logits, dtype=np.float64) / self.grader.temperature + float(self.grader.bias)
        return 1.0 / (1.0 + np.exp(-z))

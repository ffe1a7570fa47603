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
    """Outfits being built: padded rows ``(B, S)`` (-1 = empty; a removed item may leave a gap),
    an order-free key of each set of rows (equal sets, equal keys), and for the slots grader the
    running sums its head needs: the first layer's pre-activation ``h (B, H)``, items per slot
    ``filled (B, K)``, the pair factors' sum ``pair_sum (B, R)`` and the pairwise term's share
    of the logit ``pair_value (B,)``."""

    rows: torch.Tensor
    key: torch.Tensor
    h: torch.Tensor | None = None
    filled: torch.Tensor | None = None
    pair_sum: torch.Tensor | None = None
    pair_value: torch.Tensor | None = None

    _FIELDS = ("rows", "key", "h", "filled", "pair_sum", "pair_value")

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: torch.Tensor | np.ndarray) -> Partial:
        idx = torch.as_tensor(index, device=self.rows.device)
        return Partial(*(None if v is None else v[idx] for v in map(self.__getattribute__,
                                                                      self._FIELDS)))

    def states(self) -> np.ndarray:
        return self.rows.cpu().numpy()


class ClosetScorer:
    """Grades outfits of one closet: rows are indices into ``table``."""

    def __init__(self, model: GraderModel, table: FeatureTable) -> None:
        self.model = model
        self.table = table
        self.grader = model.grader.eval()
        self.device = model.device
        n = len(table.ids)
        # Row n stands for "no item": its hash and terms are zero.
        gen = torch.Generator().manual_seed(0)
        self._hash = torch.randint(0, 2**58, (n + 1,), generator=gen, dtype=torch.int64)
        self._hash[n] = 0
        self._hash = self._hash.to(self.device)
        self._n = n
        self._terms = None
        if isinstance(self.grader, SlotsGrader):
            t = self.grader.item_terms(table.feats.to(self.device), table.slots.to(self.device))
            self._terms = t
            zero = t.first.new_zeros(1, t.first.shape[1])
            self._slot = torch.cat([t.slots, t.slots.new_zeros(1)])
            # each item's term, then its term when its slot was empty before it (the empty
            # vector comes off), stacked so that expansions gather from one table
            self._first_stack = torch.cat([t.first, zero, t.first - t.empty[t.slots], zero])
            self._first = self._first_stack[:n + 1]
            self._first_into_empty = self._first_stack[n + 1:]
            self._pair = torch.cat([t.pair, t.pair.new_zeros(1, t.pair.shape[1])])

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
    # A state's sums let its expansions be graded by adding one item each: the first layer's
    # pre-activation gains the item's term (less its slot's empty vector if the slot was
    # empty), the pairwise term gains the item's factors times the state's factor sum (the
    # pairs it forms), then only the grader's small head runs. Other graders grade in full.

    def _index(self, rows: np.ndarray | torch.Tensor) -> torch.Tensor:
        r = torch.as_tensor(rows, device=self.device, dtype=torch.int64)
        return torch.where(r >= 0, r, self._n)

    def start(self, states: np.ndarray) -> Partial:
        """The partial outfits ``states`` (padded rows ``(B, S)``) with their sums."""
        rows = torch.as_tensor(np.ascontiguousarray(states), device=self.device,
                               dtype=torch.int64)
        index = self._index(rows)
        part = Partial(rows.clone(), self._hash[index].sum(1))
        t = self._terms
        if t is not None:
            has = (index < self._n).to(t.first.dtype)
            part.filled = torch.zeros(len(rows), len(t.empty), dtype=t.first.dtype,
                                      device=self.device)
            part.filled.scatter_add_(1, self._slot[index], has)
            part.h = (t.bias + self._first[index].sum(1)
                      + (part.filled == 0).to(t.first.dtype) @ t.empty)
            p = self._pair[index]
            part.pair_sum = p.sum(1)
            part.pair_value = 0.5 * ((part.pair_sum**2 - (p**2).sum(1)) @ t.pair_weight)
        return part

    def change(self, part: Partial, parents: np.ndarray, off: np.ndarray,
               on: np.ndarray) -> Partial:
        """States ``parents`` of ``part``, each with row ``off`` taken off and row ``on`` put
        on (-1: nothing)."""
        idx = torch.as_tensor(parents, device=self.device, dtype=torch.int64)
        off_i, on_i = self._index(off), self._index(on)
        rows = part.rows[idx].clone()
        has_off, has_on = off_i < self._n, on_i < self._n
        rows[(rows == off_i[:, None]) & has_off[:, None]] = -1
        pos = (rows < 0).to(torch.int8).argmax(1)  # the first free place
        where = has_on.nonzero().squeeze(1)
        rows[where, pos[where]] = on_i[where]
        out = Partial(rows, part.key[idx] - self._hash[off_i] + self._hash[on_i])
        t = self._terms
        if t is None:
            return out
        h, filled, ps, pv = part.h[idx], part.filled[idx].clone(), part.pair_sum[idx], part.pair_value[idx]
        stride = self._n + 1  # _first_stack: an item's term, then its "into an empty slot" twin
        if bool(has_off.any()):
            slot = self._slot[off_i]
            ps = ps - self._pair[off_i]
            pv = pv - (ps * t.pair_weight * self._pair[off_i]).sum(1)
            filled.scatter_add_(1, slot[:, None], -has_off[:, None].to(filled.dtype))
            now_empty = has_off & (filled.gather(1, slot[:, None])[:, 0] == 0)
            h = h - self._first_stack[off_i + stride * now_empty.to(torch.int64)]
        slot = self._slot[on_i]
        was_empty = has_on & (filled.gather(1, slot[:, None])[:, 0] == 0)
        h = h + self._first_stack[on_i + stride * was_empty.to(torch.int64)]
        filled.scatter_add_(1, slot[:, None], has_on[:, None].to(filled.dtype))
        pv = pv + (ps * t.pair_weight * self._pair[on_i]).sum(1)
        out.h, out.filled, out.pair_sum, out.pair_value = h, filled, ps + self._pair[on_i], pv
        return out

    def extend(self, part: Partial, parents: np.ndarray, new_rows: np.ndarray) -> Partial:
        """States ``parents`` of ``part`` each with row ``new_rows`` added (-1: nothing)."""
        return self.change(part, parents, np.full(len(parents), -1), new_rows)

    def remove(self, part: Partial, parents: np.ndarray, old_rows: np.ndarray) -> Partial:
        """States ``parents`` of ``part`` each without row ``old_rows`` (-1: nothing)."""
        return self.change(part, parents, old_rows, np.full(len(parents), -1))

    def child_keys(self, part: Partial, parents: np.ndarray, new_rows: np.ndarray
                   ) -> torch.Tensor:
        """The set keys of states ``parents`` of ``part`` each with ``new_rows`` added."""
        idx = torch.as_tensor(parents, device=self.device, dtype=torch.int64)
        return part.key[idx] + self._hash[self._index(new_rows)]

    @torch.no_grad()
    def expand(self, part: Partial, parents: np.ndarray, new_rows: np.ndarray) -> torch.Tensor:
        """Logits of states ``parents`` of ``part`` each with ``new_rows`` added (-1: nothing),
        without building the new states (beam search keeps only a few)."""
        t = self._terms
        if t is None:
            return self.grade(self.extend(part, parents, new_rows))
        idx = torch.as_tensor(parents, device=self.device, dtype=torch.int64)
        on_i = self._index(new_rows)
        slot = self._slot[on_i]
        was_empty = (on_i < self._n) & (part.filled[idx, slot] == 0)
        h = part.h[idx] + self._first_stack[on_i + (self._n + 1) * was_empty.to(torch.int64)]
        pv = part.pair_value[idx] + ((part.pair_sum * t.pair_weight)[idx] * self._pair[on_i]).sum(1)
        return self.grader.head(h, pv).float().cpu()

    @torch.no_grad()
    def change_logits(self, part: Partial, parents: np.ndarray, off: np.ndarray,
                      on: np.ndarray) -> torch.Tensor:
        """Logits of :meth:`change` without building the changed states (hill climbing
        grades hundreds of moves and keeps one)."""
        t = self._terms
        if t is None:
            return self.grade(self.change(part, parents, off, on))
        idx = torch.as_tensor(parents, device=self.device, dtype=torch.int64)
        off_i, on_i = self._index(off), self._index(on)
        has_off, has_on = off_i < self._n, on_i < self._n
        slot_off, slot_on = self._slot[off_i], self._slot[on_i]
        filled = part.filled[idx]
        left = filled.gather(1, slot_off[:, None])[:, 0] - has_off.to(filled.dtype)
        now_empty = has_off & (left == 0)
        before_on = filled.gather(1, slot_on[:, None])[:, 0] - (
            has_off & (slot_off == slot_on)).to(filled.dtype)
        was_empty = has_on & (before_on == 0)
        stride = self._n + 1
        h = (part.h[idx] - self._first_stack[off_i + stride * now_empty.to(torch.int64)]
             + self._first_stack[on_i + stride * was_empty.to(torch.int64)])
        ps = part.pair_sum[idx] - self._pair[off_i]
        weighted = ps * t.pair_weight
        pv = (part.pair_value[idx] - (weighted * self._pair[off_i]).sum(1)
              + (weighted * self._pair[on_i]).sum(1))
        return self.grader.head(h, pv).float().cpu()

    @torch.no_grad()
    def grade(self, part: Partial) -> torch.Tensor:
        """Logits of the states of ``part``."""
        if self._terms is None:
            return self.logits_padded(part.rows.cpu())
        return self.grader.head(part.h, part.pair_value).float().cpu()

    def logits(self, outfits: Sequence[Sequence[int]]) -> torch.Tensor:
        """Logits of outfits given as lists of rows."""
        if not outfits:
            return torch.zeros(0)
        return self.logits_padded(pad_outfits(outfits))

    def calibrate(self, logits: torch.Tensor | np.ndarray) -> np.ndarray:
        """Calibrated probabilities from logits (the grader's temperature and bias)."""
        return self.grader.calibrated(np.asarray(logits, dtype=np.float64))

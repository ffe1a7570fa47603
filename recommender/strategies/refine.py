"""Hill climbing from the beam's best outfits: one item swapped, or a layer or an accessory
taken off or put on, while the outfit scores higher."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from outfit.vocab import ACCESSORY, FULL, LOWER, OUTER, UPPER

from ..problem import SearchProblem
from ..scoring import ClosetScorer
from .registry import Candidate, Shortlist
from .steps import WIDTH, _accessory_filter


def _moves(problem: SearchProblem, outfits: Sequence[np.ndarray], shortlist: Shortlist | None
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every move from each complete outfit (rows) to another: ``(taken off, put on)`` row
    pairs (-1: nothing), i.e. one item swapped for another of its slot, or a layer or an
    accessory taken off or put on. Pinned items stay. A shortlist is asked once per slot for
    all the outfits' partial states."""
    shapes = set(problem.shapes())
    # (outfit, item taken off or -1, slot, the state the new item joins)
    asks: list[tuple[int, int, str, np.ndarray]] = []
    for j, rows in enumerate(outfits):
        main = {problem.slot[r] for r in rows if problem.slot[r] in (OUTER, UPPER, LOWER, FULL)}
        for p, r in enumerate(rows):
            if r not in problem.pinned:
                asks.append((j, int(r), problem.slot[r], np.delete(rows, p)))
        if len(rows) < WIDTH:
            if OUTER not in main and frozenset(main | {OUTER}) in shapes:
                asks.append((j, -1, OUTER, rows))
            asks.append((j, -1, ACCESSORY, rows))
    options: list[np.ndarray] = [problem.candidate_rows[slot] for _, _, slot, _ in asks]
    if shortlist is not None:
        for slot in {a[2] for a in asks}:
            which = [k for k, a in enumerate(asks) if a[2] == slot]
            states = np.full((len(which), WIDTH), -1, dtype=np.int64)
            for i, k in enumerate(which):
                states[i, :len(asks[k][3])] = asks[k][3]
            for k, found in zip(which, shortlist(problem, slot, states,
                                                 problem.candidate_rows[slot]), strict=True):
                options[k] = found
    moves: list[tuple[list[np.ndarray], list[np.ndarray]]] = [([], []) for _ in outfits]
    for (j, off, slot, state), cands in zip(asks, options, strict=True):
        if slot == ACCESSORY:
            cands = _accessory_filter(problem, state, cands)
        main = {problem.slot[r] for r in outfits[j] if problem.slot[r] in (OUTER, FULL, UPPER, LOWER)}
        removable = slot == ACCESSORY or (slot == OUTER and frozenset(main - {OUTER}) in shapes)
        if off >= 0 and removable:
            cands = np.concatenate([[-1], cands[cands != off]])
        elif off >= 0:
            cands = cands[cands != off]
        moves[j][0].append(np.full(len(cands), off, dtype=np.int64))
        moves[j][1].append(cands.astype(np.int64))
    return [(np.concatenate(o) if o else np.zeros(0, dtype=np.int64),
             np.concatenate(n) if n else np.zeros(0, dtype=np.int64)) for o, n in moves]


def _refine(problem: SearchProblem, scorer: ClosetScorer, start: Sequence[Candidate],
            shortlist: Shortlist | None, passes: int = 8) -> list[Candidate]:
    """Hill climbing from each of ``start``: take the best move (:func:`_moves`) while it
    scores higher. Partial outfits guide the beam imperfectly (a bag can rescue or spoil what
    the shoes began); one-item repairs of its best outfits recover part of what it missed.
    Each move is graded by taking one item's terms off the outfit's sums and adding another's;
    the moves of all outfits still climbing are graded in one batch per pass."""
    rows = [np.asarray(c.rows, dtype=np.int64) for c in start]
    logit = [c.logit for c in start]
    climbing = list(range(len(start)))
    for _ in range(passes):
        moves = _moves(problem, [rows[i] for i in climbing], shortlist)
        climbing = [i for i, (off, _on) in zip(climbing, moves, strict=True) if len(off)]
        moves = [m for m in moves if len(m[0])]
        if not climbing:
            break
        padded = np.full((len(climbing), WIDTH), -1, dtype=np.int64)
        for j, i in enumerate(climbing):
            padded[j, :len(rows[i])] = rows[i]
        parents = np.concatenate([np.full(len(off), j) for j, (off, _on) in enumerate(moves)])
        offs = np.concatenate([off for off, _on in moves])
        ons = np.concatenate([on for _off, on in moves])
        z = scorer.change_logits(scorer.start(padded), parents, offs, ons)
        better = []
        for j, part in enumerate(torch.split(z, [len(off) for off, _on in moves])):
            best = int(torch.argmax(part))
            i = climbing[j]
            if float(part[best]) > logit[i] + 1e-6:
                m = int(parents.searchsorted(j)) + best
                state = rows[i][rows[i] != offs[m]]
                rows[i] = state if ons[m] < 0 else np.append(state, ons[m])
                logit[i] = float(part[best])
                better.append(i)
        climbing = better
    return [Candidate(tuple(int(r) for r in rs), lg) for rs, lg in zip(rows, logit, strict=True)]

"""Training examples for the grader: positives, same-slot swaps and sub-outfits.

Tangseng et al. (arXiv 1804.09979) trained on real outfits against outfits with items swapped
for random items of the same kind; their beam search then stumbled on partial outfits, which the
grader had never seen. So here every epoch draws fresh negatives and turns a share of both
positives and negatives into random sub-outfits: a part of a good outfit is labelled good, and a
part of a bad one keeps the item that was swapped in (the likely reason it is bad).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

__all__ = ["SwapSampler"]


class SwapSampler:
    """Draws labelled examples from outfits given as row lists.

    ``categories[row]`` is the semantic category of each row (swaps stay within it); ``pool``
    is the rows a swap may draw from (the training items). ``labelled`` are examples whose
    label the dataset states (the train split's compatibility questions): a random swap is
    often still a good outfit, so these cleaner negatives are added to every epoch.
    """

    def __init__(self, outfits: Sequence[Sequence[int]], categories: Sequence[str],
                 pool: Sequence[int], *, labelled: Sequence[tuple[Sequence[int], float]] = (),
                 negatives: int = 2, sub_outfit_rate: float = 0.5, max_swaps: int = 2,
                 min_items: int = 2) -> None:
        self.outfits = [list(o) for o in outfits if len(o) >= 1]
        self.labelled = [(list(r), float(y)) for r, y in labelled]
        self.negatives = negatives
        self.categories = categories
        self.by_category: dict[str, list[int]] = defaultdict(list)
        for row in pool:
            self.by_category[categories[row]].append(row)
        self.sub_outfit_rate = sub_outfit_rate
        self.max_swaps = max_swaps
        self.min_items = min_items

    def swap(self, outfit: list[int], rng: random.Random) -> tuple[list[int], list[int]]:
        """A copy with 1..max_swaps items replaced by others of their category; the new rows."""
        out = list(outfit)
        positions = [p for p, r in enumerate(out) if len(self.by_category[self.categories[r]]) > 1]
        if not positions:
            return out, []
        n = rng.randint(1, min(self.max_swaps, len(positions)))
        new_rows = []
        for p in rng.sample(positions, n):
            choices = self.by_category[self.categories[out[p]]]
            for _ in range(8):
                cand = rng.choice(choices)
                if cand not in out:
                    out[p] = cand
                    new_rows.append(cand)
                    break
        return out, new_rows

    def sub_outfit(self, outfit: list[int], keep: Sequence[int], rng: random.Random) -> list[int]:
        """A random part of ``outfit`` (at least ``min_items``) that still holds ``keep``."""
        if len(outfit) <= self.min_items:
            return outfit
        size = rng.randint(self.min_items, len(outfit) - 1)
        must = [r for r in outfit if r in keep][:size]
        rest = [r for r in outfit if r not in must]
        chosen = set(must) | set(rng.sample(rest, size - len(must)))
        return [r for r in outfit if r in chosen]

    def epoch(self, rng: random.Random) -> list[tuple[list[int], float]]:
        """Each outfit once as a positive and ``negatives`` times swapped, plus the labelled
        examples, shuffled: ``[(rows, label), ...]``."""
        examples: list[tuple[list[int], float]] = list(self.labelled)
        for outfit in self.outfits:
            pos = outfit
            if rng.random() < self.sub_outfit_rate:
                pos = self.sub_outfit(outfit, (), rng)
            examples.append((pos, 1.0))
            for _ in range(self.negatives):
                neg, new_rows = self.swap(outfit, rng)
                if not new_rows:
                    continue
                if rng.random() < self.sub_outfit_rate:
                    neg = self.sub_outfit(neg, new_rows, rng)
                examples.append((neg, 0.0))
        rng.shuffle(examples)
        return examples

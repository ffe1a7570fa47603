"""``suggest``: the item that hurts an outfit most, and what from the closet to put on instead.

The harmful item is the one whose most harmful property is most negative in the attribution
(``gxa`` unless another is given). Every closet item that could take its place (same slot; for
an accessory, one the grammar allows beside the others), and taking it off where the outfit
stays complete, is graded in one batch; the best are returned with the score each would give.

When the harmful item clashes with another (:mod:`explain.clash`: the two share the blame and
fixing either helps), the outfit does not say which of the two to change, so both are tried in
the same batch and the one whose best replacement gives the higher score is suggested; the
other is named in :attr:`Suggestion.clash`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grader.api import FeatureTable, GraderModel
from outfit import defaults
from outfit.domain import Closet, Item, Outfit
from outfit.errors import OutfitError
from outfit.vocab import ACCESSORY, OUTER

from .attribution import Attribution, attribute

__all__ = ["Suggestion", "Replacement", "suggest", "percent"]


@dataclass(frozen=True)
class Replacement:
    """``item`` in place of the harmful one (None: take it off), the outfit's score and logit
    then, and the gain in logit points."""

    item: Item | None
    score: float
    logit: float
    gain: float

    def to_dict(self) -> dict:
        return {"item": None if self.item is None else self.item.id,
                "label": "take it off" if self.item is None else self.item.label,
                "score": round(self.score, 6), "logit": round(self.logit, 6),
                "gain": round(self.gain, 6)}


@dataclass(frozen=True)
class Suggestion:
    """The harmful ``item``, the outfit's current score and logit, the best ``replacements``
    (best first), and the attribution the choice came from."""

    item: Item
    score: float
    logit: float
    replacements: tuple[Replacement, ...]
    method: str
    clash: Item | None = None

    @property
    def best(self) -> Replacement | None:
        return self.replacements[0] if self.replacements else None

    def to_dict(self) -> dict:
        return {"item": self.item.id, "label": self.item.label, "score": round(self.score, 6),
                "logit": round(self.logit, 6), "method": self.method,
                "replacements": [r.to_dict() for r in self.replacements],
                "clash": None if self.clash is None else self.clash.id}

    def sentence(self) -> str:
        best = self.best
        if best is None or best.gain <= 0:
            return f"Nothing in the closet improves on {self.item.label}."
        before, after = percent(self.score), percent(best.score)
        if before == after:  # a small gain: one decimal more, so the sentence shows it
            before, after = percent(self.score, 1), percent(best.score, 1)
        change = f"the score goes from {before} to {after}"
        if self.clash is not None:
            change += f" (better than changing {self.clash.label}, which it clashes with)"
        if best.item is None:
            return f"Take off {self.item.label}: {change}."
        return f"Swap {self.item.label} for {best.item.label}: {change}."


def percent(p: float, extra: int = 0) -> str:
    """``0.47`` -> ``"47 %"``; near 0 or 1 with one decimal (``"99.9 %"``), so that a real
    improvement never reads "from 100 % to 100 %"; ``extra`` decimals more."""
    digits = (1 if (p < 0.01 or p > 0.99) and 0 < p < 1 else 0) + extra
    return f"{100 * p:.{digits}f} %"


def suggest(outfit: Outfit | Sequence[Item], closet: Closet | Sequence[Item], model: GraderModel,
            *, features: FeatureTable | None = None, attribution: Attribution | None = None,
            method: str = defaults.ATTRIBUTION_METHOD, k: int = defaults.SUGGESTIONS,
            excluded: Sequence[str] = ()) -> Suggestion:
    """The most harmful item of ``outfit`` and the ``k`` best ways to replace it from
    ``closet`` (items in ``excluded``, e.g. in the wash, are not offered)."""
    items = tuple(outfit.items if isinstance(outfit, Outfit) else outfit)
    closet = closet if isinstance(closet, Closet) else Closet.of(closet)
    if k < 1:
        raise OutfitError(f"k must be at least 1, got {k}")
    if features is None:
        extra = [it for it in items if it.id not in closet]
        features = model.item_table([*closet.items, *extra])
    att = attribution or attribute(items, model, method, features=features)
    if att.item_ids != tuple(it.id for it in items):
        raise OutfitError("the attribution is of another outfit",
                          hint="attribute this outfit, or leave attribution out")
    first = att.most_harmful_item()
    suspects = [first]
    if att.clash is not None and att.clash.first == first:
        suspects.append(att.clash.second)
    worn = {it.id for it in items} | set(excluded)
    rows = [features.rows(it.id for it in items)]
    choices: list[tuple[int, Item | None]] = []  # (suspect index, its replacement)
    for who in suspects:
        harmful = items[who]
        rest = [it for it in items if it.id != harmful.id]
        options: list[Item | None] = [
            c for c in closet.items
            if c.slot == harmful.slot and c.id not in worn and c.id in features.index
            and Outfit((*rest, c)).wearable]
        if harmful.slot in (ACCESSORY, OUTER) and Outfit(tuple(rest)).complete:
            options.append(None)  # taking it off also counts
        choices += [(who, c) for c in options]
        rows += [features.rows([*(it.id for it in rest), *(() if c is None else (c.id,))])
                 for c in options]
    logits = model.logits(features, [[features.ids[r] for r in row] for row in rows])
    scores = model.grader.calibrated(logits.astype(np.float64))
    chosen = first
    if len(suspects) > 1 and choices:
        chosen = choices[int(np.argmax(logits[1:]))][0]
    mine = [j for j, (who, _) in enumerate(choices) if who == chosen]
    order = sorted(mine, key=lambda j: -logits[1 + j])[:k]
    repl = tuple(Replacement(choices[j][1], float(scores[1 + j]), float(logits[1 + j]),
                             float(logits[1 + j] - logits[0])) for j in order)
    harmful = items[chosen]
    other = next((items[who] for who in suspects if who != chosen), None)
    return Suggestion(harmful, float(scores[0]), float(logits[0]), repl, att.method, other)


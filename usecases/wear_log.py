"""The wear log and the thumbs up and down, as the API and the pages share them: checking that
a set of items can be worn together, logging it, the rows the pages show, and the feedback
export as a zip.

Plain functions over a :class:`~usecases.services.Services`; the store keeps the data
(:meth:`~closet.store.Store.log_wear`, :meth:`~closet.store.Store.add_feedback`...).
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from closet.records import ItemRecord
from outfit import defaults
from outfit.domain import Outfit
from outfit.errors import GrammarError, OutfitError
from outfit.vocab import MAX_ACCESSORIES, SLOTS
from usecases.services import Services

__all__ = ["wearable_items", "log_wear", "add_feedback", "feedback_zip", "feedback_states",
           "outfit_key", "MAX_OUTFIT_ITEMS", "DEFAULT_UNWORN_DAYS", "UNWORN_CHOICES",
           "EXPORT_NAME"]

MAX_OUTFIT_ITEMS = 12
DEFAULT_UNWORN_DAYS = defaults.UNWORN_DAYS
UNWORN_CHOICES = (14, 30, 60, 90, 180, 365)
EXPORT_NAME = "closet-feedback"
_SLOT_ORDER = {s: n for n, s in enumerate(SLOTS)}


def outfit_key(item_ids: Sequence[str]) -> str:
    """The store's key of a set of items (order and repeats do not matter)."""
    return ",".join(sorted(set(item_ids)))


def wearable_items(svc: Services, item_ids: Sequence[str]) -> list[ItemRecord]:
    """The items of ``item_ids`` top to toe, when they can be worn together.

    Raises ItemNotFoundError (404) for an unknown id, OutfitError (400) for an item without a
    kind (it fits no slot) and GrammarError (400) for a set that breaks the outfit grammar
    (two tops, a one-piece with trousers, too many accessories; :meth:`Outfit.problems`).
    """
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise OutfitError("no items given", hint="send the ids of the items worn together")
    records = {i: svc.store.get(i) for i in ids}  # ItemNotFoundError (404) first
    closet = svc.store.closet(available_only=False)
    for i in ids:
        if i not in closet:
            raise OutfitError(f"item {i} has no kind yet, so it fits no slot of an outfit",
                              hint=f"set its kind on its page (/items/{i})")
    problems = Outfit(tuple(closet.get(i) for i in ids)).problems()
    if problems:
        raise GrammarError("not a wearable outfit: " + "; ".join(problems),
                           hint="keep at most one item per main slot, no top or bottom with a "
                                f"one-piece, and at most {MAX_ACCESSORIES} accessories")
    return sorted(records.values(), key=lambda r: _SLOT_ORDER.get(str(r.slot), len(SLOTS)))


def log_wear(svc: Services, item_ids: Sequence[str],
             date: dt.date | None = None) -> tuple[str, list[str]]:
    """Log the items as worn together on ``date`` (default today), after checking they can be;
    the wear id and the item ids top to toe."""
    ids = [r.id for r in wearable_items(svc, item_ids)]
    return svc.store.log_wear(ids, date), ids


def add_feedback(svc: Services, item_ids: Sequence[str], up: bool) -> str:
    """A thumbs up or down on an outfit (two or more items that can be worn together); a later
    judgement of the same items replaces the earlier one. The feedback id."""
    items = wearable_items(svc, item_ids)
    if len(items) < 2:
        raise OutfitError("a thumbs up or down needs an outfit of two or more items",
                          hint="judge a whole outfit, not one item")
    return svc.store.add_feedback([r.id for r in items], up)


def feedback_states(svc: Services) -> dict[str, bool]:
    """:func:`outfit_key` of each judged outfit -> up (True) or down (False)."""
    return {outfit_key(fb.item_ids): fb.up for fb in svc.store.feedback()}


def feedback_zip(svc: Services) -> tuple[bytes, dict[str, int]]:
    """The thumbs up and down as a zipped Polyvore Outfits dataset (one top folder,
    ``closet-feedback/``) that ``outfit train`` reads once extracted, and the export's counts.
    StoreError (400) when no outfit has a thumbs up yet."""
    with tempfile.TemporaryDirectory(prefix="outfit-feedback-") as tmp:
        root = Path(tmp) / EXPORT_NAME
        counts = svc.store.export_feedback_polyvore(root)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    rel = path.relative_to(root.parent).as_posix()
                    zf.write(path, rel, compress_type=zipfile.ZIP_STORED
                             if path.suffix == ".jpg" else zipfile.ZIP_DEFLATED)
    return buf.getvalue(), counts


def wear_rows(svc: Services, limit: int = 20) -> list[dict[str, Any]]:
    """The latest wears for the pages: ``{id, worn_on, items: [ItemRecord...]}`` top to toe."""
    rows = []
    for w in svc.store.wears(limit=limit):
        items = []
        for i in w.item_ids:
            try:
                items.append(svc.store.get(i))
            except OutfitError:  # deleted since: the wear keeps its other items
                continue
        items.sort(key=lambda r: _SLOT_ORDER.get(str(r.slot), len(SLOTS)))
        rows.append({"id": w.id, "worn_on": w.worn_on, "items": items})
    return rows

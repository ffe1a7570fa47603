"""Adding photos to the closet, one file at a time: store, then auto-tag.

Each file gets its own result, so one bad file (not an image, a duplicate, truncated) never
costs the others their place. A photo is stored before it is tagged: a tagging failure leaves
an untagged item the person can tag by hand, never a lost photo. One call shares one decode
budget (:class:`closet.photos.DecodeBudget`): the files past it are refused, each with its own
error, and can come in another request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO

from closet.photos import DecodeBudget
from outfit.errors import ItemNotFoundError, OutfitError
from usecases.services import Services

__all__ = ["add_photos"]


def add_photos(svc: Services, files: Iterable[tuple[str, BinaryIO]], *,
               auto_tag: bool = True) -> list[dict[str, Any]]:
    """Store each ``(name, stream)`` and tag the stored ones (unless ``auto_tag`` is off); per
    file ``{"file", "ok": True, "item", "tagging"}`` or ``{"file", "ok": False, "error"}`` with
    the :class:`OutfitError` that refused it."""
    results: list[dict[str, Any]] = []
    stored: list[tuple[int, str]] = []
    budget = DecodeBudget()
    for name, stream in files:
        try:
            # One byte past the limit is enough to know the file is too large.
            data = stream.read(svc.store.max_upload_bytes + 1)
            if not data:
                raise OutfitError(f"{name}: the file is empty", hint="choose a photo file")
            record = svc.store.add_photo(data, name, budget=budget)
        except OutfitError as exc:
            results.append({"file": name, "ok": False, "error": exc})
            continue
        stored.append((len(results), record.id))
        results.append({"file": name, "ok": True, "item": record})
    if stored and not auto_tag:
        for k, _ in stored:
            results[k]["tagging"] = "not tagged: automatic tagging is off on this server"
    elif stored:
        _tag(svc, stored, results)
    return results


def _tag(svc: Services, stored: list[tuple[int, str]], results: list[dict[str, Any]]) -> None:
    """Tag the stored photos in one batch and keep each one's tags and garment mask."""
    tags = svc.model.tag([svc.store.photo_path(item_id) for _, item_id in stored])
    for (k, item_id), t in zip(stored, tags, strict=True):
        if isinstance(t, str):
            results[k]["tagging"] = t
            continue
        try:
            svc.store.set_mask(item_id, t.mask_png)
            results[k]["item"] = svc.store.set_auto_tags(item_id, t.tags)
            results[k]["tagging"] = "tagged"
        except ItemNotFoundError:  # deleted by another request while it was tagged
            results[k]["tagging"] = "not tagged: the item was deleted meanwhile"

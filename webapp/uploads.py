"""Adding photos to the closet, one file at a time: store, then auto-tag.

The API and the no-JavaScript upload form share this. Each file gets its own result, so one bad
file (not an image, a duplicate, truncated) never costs the others their place. A photo is
stored before it is tagged: a tagging failure leaves an untagged item the person can tag by
hand, never a lost photo.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from outfit.errors import ItemNotFoundError, OutfitError
from webapp.errors_http import ApiError, describe
from webapp.services import Services

__all__ = ["add_uploads", "tag_note"]


def tag_note(item: dict[str, Any]) -> str:
    """'navy shirt (83 %)': what the tagger made of an item, for a status line."""
    words = [w for w in (item.get("color"), item.get("category")) if w]
    if not words:
        return "not tagged"
    conf = item.get("category_confidence")
    return " ".join(words) + (f" ({conf * 100:.0f} %)" if conf is not None else "")


def add_uploads(svc: Services, files: Iterable[FileStorage]) -> list[dict[str, Any]]:
    """Store and tag each file; per file ``{"file", "ok": True, "item", "tagging"}`` or
    ``{"file", "ok": False, "error": {...}, "status"}`` (``status``: the HTTP status the
    error alone would get)."""
    results: list[dict[str, Any]] = []
    stored: list[tuple[int, str]] = []
    for upload in files:
        name = upload.filename or "photo"
        try:
            # One byte past the limit is enough to know the file is too large.
            data = upload.stream.read(svc.store.max_upload_bytes + 1)
            if not data:
                raise OutfitError(f"{name}: the file is empty", hint="choose a photo file")
            record = svc.store.add_photo(data, name)
        except OutfitError as exc:
            error: ApiError = describe(exc)
            results.append({"file": name, "ok": False, "error": error.to_dict(),
                            "status": error.status})
            continue
        stored.append((len(results), record.id))
        results.append({"file": name, "ok": True, "item": record})
    if stored and not current_app.config.get("AUTO_TAG", True):
        for k, _ in stored:
            results[k]["tagging"] = "not tagged: automatic tagging is off on this server"
    elif stored:
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
    return results

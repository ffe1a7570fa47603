"""Uploaded files as the API and the no-JavaScript upload form receive them, handed to the use
case :func:`usecases.add_photos.add_photos` (store, then auto-tag, one result per file), and the
status line of what the tagger made of an item (:func:`tag_note`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from usecases.add_photos import add_photos
from usecases.services import Services
from webapp.errors_http import ApiError, describe

__all__ = ["add_uploads", "tag_note"]


def tag_note(item: dict[str, Any]) -> str:
    """'navy shirt (83 %)': what the tagger made of an item, for a status line."""
    words = [w for w in (item.get("color"), item.get("category")) if w]
    if not words:
        return "not tagged"
    conf = item.get("category_confidence")
    return " ".join(words) + (f" ({conf * 100:.0f} %)" if conf is not None else "")


def add_uploads(svc: Services, files: Iterable[FileStorage]) -> list[dict[str, Any]]:
    """:func:`usecases.add_photos.add_photos` on uploaded files; a refused file's error as the
    API shows it: ``{"file", "ok": False, "error": {...}, "status"}`` (``status``: the HTTP
    status the error alone would get)."""
    results = add_photos(svc, ((f.filename or "photo", f.stream) for f in files),
                         auto_tag=current_app.config.get("AUTO_TAG", True))
    for r in results:
        if not r["ok"]:
            error: ApiError = describe(r["error"])
            r["error"], r["status"] = error.to_dict(), error.status
    return results

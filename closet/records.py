"""The closet's rows as frozen dataclasses, and the checks every value passes on its way in.

Ids are 12 random characters of ``[a-z0-9]`` (62 bits; url-safe, never a leading ``-`` that a
command line would read as an option, and distinct on case-insensitive disks).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import sqlite3
import string
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from closet.errors import StoreError
from closet.schema import CHOICE_TAGS, TAGS
from outfit.vocab import CATEGORY_SLOT, normalize_category

__all__ = ["ItemRecord", "FeedbackRecord", "WearRecord", "ExportReport", "ImportReport"]

_ALPHABET = string.ascii_lowercase + string.digits
_ID_RE = re.compile(r"[a-z0-9]{12}")
_MAX_TAG_LEN, _MAX_NAME_LEN = 64, 200


@dataclass(frozen=True)
class ItemRecord:
    """One row of ``items``. Each of the :data:`~closet.schema.TAGS` has a confidence (None
    when set by hand) and a flag saying the person edited it (auto-tagging never overwrites an
    edited tag); ``season`` and ``formality`` (:data:`~closet.schema.CHOICE_TAGS`) are only
    ever set by hand, None while unknown."""

    id: str
    name: str
    original_name: str
    stored_name: str
    semantic_category: str | None
    semantic_category_confidence: float | None
    semantic_category_edited: bool
    category: str | None
    category_confidence: float | None
    category_edited: bool
    color: str | None
    color_confidence: float | None
    color_edited: bool
    pattern: str | None
    pattern_confidence: float | None
    pattern_edited: bool
    season: str | None  # summer, winter or all-season
    formality: str | None  # casual, smart or formal
    in_wash: bool
    width: int  # px of the stored (upright) photo
    height: int
    sha256: str  # of the stored JPEG
    source_sha256: str  # of the uploaded bytes
    created_at: str  # ISO 8601, UTC
    updated_at: str

    @property
    def slot(self) -> str | None:
        """The outfit slot, or None while the item has no semantic category."""
        return CATEGORY_SLOT.get(self.semantic_category or "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``slot``; ``stored_name`` left out (it is no business of a client)."""
        out = asdict(self)
        del out["stored_name"]
        out["slot"] = self.slot
        return out


_ITEM_COLUMNS = tuple(f.name for f in fields(ItemRecord))
_BOOL_COLUMNS = frozenset({"in_wash", *(f"{t}_edited" for t in TAGS)})


@dataclass(frozen=True)
class FeedbackRecord:
    """A thumbs up (``up``) or down on an outfit, the latest judgement of that set of items."""

    id: str
    item_ids: tuple[str, ...]
    up: bool
    created_at: str


@dataclass(frozen=True)
class WearRecord:
    """Items worn together on one day (``worn_on``, YYYY-MM-DD)."""

    id: str
    worn_on: str
    item_ids: tuple[str, ...]
    created_at: str


@dataclass(frozen=True)
class ExportReport:
    path: Path
    items: int
    left_out: tuple[str, ...]  # items whose photo file was missing


@dataclass(frozen=True)
class ImportReport:
    added: tuple[str, ...]  # ids of the new items
    already_present: int  # items kept as they were (same id or same photo)
    wears_added: int
    feedback_added: int


def _token(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def clean_original_name(name: object) -> str:
    """The file's own name without any folder a browser sent, control characters or excess."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:_MAX_NAME_LEN]


def _tag_value(tag: str, value: object) -> str | None:
    """A valid value for ``tag`` (None clears it); raises a StoreError saying what is wrong."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise StoreError(f"tag {tag} must be text, got {type(value).__name__}")
    value = value.strip()
    if tag == "name":
        if len(value) > _MAX_NAME_LEN:
            raise StoreError(f"name is {len(value)} characters long",
                             hint=f"keep it under {_MAX_NAME_LEN}")
        return value
    if not value:
        return None
    if tag in CHOICE_TAGS:
        if value.lower() not in CHOICE_TAGS[tag]:
            raise StoreError(f"unknown {tag} {value!r}",
                             hint=f"use one of: {', '.join(CHOICE_TAGS[tag])} "
                                  "(or leave it empty while unknown)")
        return value.lower()
    if tag == "semantic_category":
        return normalize_category(value)  # UnknownCategoryError lists the categories
    if len(value) > _MAX_TAG_LEN:
        raise StoreError(f"tag {tag} is {len(value)} characters long",
                         hint=f"keep it under {_MAX_TAG_LEN}")
    return value


def _confidence(tag: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise StoreError(f"{tag}_confidence must be a number from 0 to 1, got {value!r}")
    return float(value)


def _initial_tags(tags: Mapping[str, Any] | None) -> dict[str, Any]:
    """Columns for an upload's tags: a tag with ``<tag>_confidence`` came from a tagger; one
    without was set by the person (edited, no confidence). ``season`` and ``formality`` take
    no confidence."""
    tags = dict(tags or {})
    allowed = {"name", *TAGS, *(f"{t}_confidence" for t in TAGS), *CHOICE_TAGS}
    unknown = sorted(set(tags) - allowed)
    if unknown:
        raise StoreError(f"unknown tag(s): {', '.join(unknown)}",
                         hint="use: " + ", ".join(sorted(allowed)))
    out: dict[str, Any] = {"name": _tag_value("name", tags.get("name")) or ""}
    for tag in TAGS:
        value = _tag_value(tag, tags.get(tag))
        conf = tags.get(f"{tag}_confidence")
        if conf is not None and value is None:
            raise StoreError(f"{tag}_confidence given without a {tag}")
        out[tag] = value
        out[f"{tag}_confidence"] = _confidence(tag, conf) if conf is not None else None
        out[f"{tag}_edited"] = value is not None and conf is None
    for tag in CHOICE_TAGS:
        out[tag] = _tag_value(tag, tags.get(tag))
    return out


def _record(row: sqlite3.Row) -> ItemRecord:
    return ItemRecord(**{c: bool(row[c]) if c in _BOOL_COLUMNS else row[c]
                         for c in _ITEM_COLUMNS})


def _as_date(value: dt.date | str | None) -> str:
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise StoreError(f"not a date: {value!r}", hint="give it as YYYY-MM-DD") from None


def _unique_ids(item_ids: Iterable[str], least: int) -> list[str]:
    ids = list(dict.fromkeys(str(i) for i in item_ids))
    if len(ids) < least:
        raise StoreError(f"need at least {least} different item(s), got {len(ids)}")
    return ids


def item_title(item: ItemRecord) -> str:
    """What a person calls the item: its name, else 'navy shirt', else its file name."""
    if item.name:
        return item.name
    words = " ".join(w for w in (item.color, item.category or item.semantic_category) if w)
    return words or item.original_name or "untitled item"

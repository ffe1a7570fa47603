"""URL converters: what a URL may hold before any view sees it.

An item id is 12 characters of ``[a-z0-9]`` (:mod:`closet.records`); anything else in that
place of a URL, a dot, a slash, ``..``, an encoded separator, is not routed at all (404), so a
view never receives a string that could become part of a path.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter

__all__ = ["ItemIdConverter", "ITEM_ID_PATTERN"]

ITEM_ID_PATTERN = r"[a-z0-9]{12}"


class ItemIdConverter(BaseConverter):
    regex = ITEM_ID_PATTERN
    part_isolating = True

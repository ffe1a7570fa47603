"""The web front end's back office: the closet's storage (:class:`Store`: items, photos, wear
log, feedback, feature cache, zip export and import) and auto-tagging of uploaded photos
(:mod:`webapp.tagging`, imported on demand: it needs torch). The Flask app is not built yet.

    store = Store("instance/closet")
    item = store.add_photo(data, "shirt.jpg", tags={"semantic_category": "tops"})
"""

from .errors import ArchiveError, DuplicatePhotoError, SchemaVersionError, StoreError
from .store import Store

__all__ = ["Store", "StoreError", "DuplicatePhotoError", "SchemaVersionError", "ArchiveError"]

"""The web app (:func:`create_app`, the Flask app factory: closet pages and the JSON API under
``/api/v1``) and its back office: the closet's storage (:class:`Store`: items, photos, wear
log, feedback, feature cache, zip export and import) and auto-tagging of uploaded photos
(:mod:`webapp.tagging`, imported on demand: it needs torch).

    app = create_app({"OUTFIT_HOME": "instance"})     # served by `outfit serve`
    store = Store("instance/closet")
    item = store.add_photo(data, "shirt.jpg", tags={"semantic_category": "tops"})
"""

from .app import create_app  # noqa: E402  (after Store: app imports it)
from .errors import ArchiveError, DuplicatePhotoError, SchemaVersionError, StoreError
from .store import Store

__all__ = ["create_app", "Store", "StoreError", "DuplicatePhotoError", "SchemaVersionError", "ArchiveError"]

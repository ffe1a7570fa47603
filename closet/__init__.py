"""A person's closet as a library, no Flask in it: one SQLite database of items, tags, wear log,
thumbs up and down and feature rows, and the photos, thumbnails and garment masks beside it.

    store = Store("instance/closet")
    item = store.add_photo(data, "shirt.jpg", tags={"semantic_category": "tops"})
    table = ClosetFeatures(store).table(model, key, closet.items)    # features, computed once

:class:`Store` is the public API: the web app, the command line and the tests call it, and no
module outside this package touches its private state. Inside: the schema and its migrations
(:mod:`closet.schema`), the rows and their checks (:mod:`closet.records`), how a photo is stored
(:mod:`closet.photos`), zip export and import (:mod:`closet.archive`), the feedback export
(:mod:`closet.feedback`), the feature rows' SQL (:mod:`closet.feature_rows`) and the one cache
of item features over it (:mod:`closet.features`); the wear log's SQL (:mod:`closet.wears`), the
checks and repair (:mod:`closet.integrity`).

Why it is built this way:

- Uploads come from strangers. Photos are read by :mod:`data.images` (the content decides the
  format: JPEG, PNG and WebP only; the pixel limit is checked before decoding; truncated files
  are refused), turned upright, and *re-encoded* as JPEG under a generated name, which drops
  EXIF (GPS position, camera serial) and whatever else the file carried. The original name is
  kept as data only; no path is ever built from user input.
- A row and its files stand or fall together. Files are written (temporary file, then
  ``os.replace``) inside the write transaction, before the row goes in, and removed again if
  anything fails before the commit. Deleting commits first and removes the files after, so a
  crash in between leaves an orphan file (:meth:`Store.integrity_report` lists it), never a row
  without its photo.
- The web server is multi-threaded and SQLite connections cannot be shared between threads, so
  every call opens its own connection and closes it (opening one costs well under a
  millisecond). WAL lets readers run beside the one writer; writers take the lock up front
  (``BEGIN IMMEDIATE``), so a check and the write that depends on it cannot interleave with
  another thread's, and wait for each other up to the busy timeout.

A photo is a duplicate when its uploaded bytes or its re-encoded JPEG match those of an item
already stored (either checksum, either way round): it is refused with
:class:`DuplicatePhotoError`, which names that item (the very same file before it is decoded).
:meth:`Store.import_zip` merges: items already here (same id, or same photo) are kept as they
are, never overwritten; its photos are re-encoded like uploads (:mod:`closet.photos` has the
limits on what a photo may cost, :mod:`closet.archive_check` those on a zip).
"""

from .errors import ArchiveError, DuplicatePhotoError, SchemaVersionError, StorageFullError, StoreError
from .store import Store

__all__ = ["Store", "StoreError", "DuplicatePhotoError", "SchemaVersionError", "ArchiveError",
           "StorageFullError"]

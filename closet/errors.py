"""The errors of the closet's storage; each carries a message and a hint a person can act on."""

from __future__ import annotations

from outfit.errors import OutfitError

__all__ = ["StoreError", "DuplicatePhotoError", "SchemaVersionError", "ArchiveError",
           "StorageFullError"]


class StoreError(OutfitError):
    """The closet's storage cannot do what was asked (bad value, unreadable database...)."""


class DuplicatePhotoError(StoreError, ValueError):
    """The photo is already in the closet; ``existing_id`` names the item that holds it."""

    def __init__(self, name: str, existing_id: str) -> None:
        self.existing_id = existing_id
        super().__init__(f"{name or 'photo'}: this photo is already in the closet as item "
                         f"{existing_id}", hint="open that item instead of adding it again")


class SchemaVersionError(StoreError):
    """A database written by a newer version of the code."""


class ArchiveError(StoreError, ValueError):
    """A zip that is not a closet export, or a damaged or tampered one."""


class StorageFullError(StoreError):
    """The server's disk (or the person's quota) is full: nothing was written."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the server's disk is full, so {what} was not saved",
                         hint="free some disk space on the server, then try again; nothing in "
                              "the closet was changed")

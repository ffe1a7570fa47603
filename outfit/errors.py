"""Exceptions a user can act on.

Every error the packages raise on purpose derives from :class:`OutfitError`, so the command line
and the web app can turn any of them into a short message (and a 4xx) instead of a traceback.
Each message says what is wrong and, where it helps, what to do about it (``hint``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "OutfitError",
    "UnknownCategoryError",
    "UnknownSlotError",
    "GrammarError",
    "DuplicateItemError",
    "ItemNotFoundError",
    "DataError",
    "DatasetFormatError",
    "MissingFileError",
    "MissingImagesError",
    "ImageError",
    "ModelError",
]


class OutfitError(Exception):
    """Base class of every error the project raises deliberately."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UnknownCategoryError(OutfitError, ValueError):
    """A category name that is not in the vocabulary."""


class UnknownSlotError(OutfitError, ValueError):
    """A slot name that is not in the vocabulary."""


class GrammarError(OutfitError, ValueError):
    """A set of items that cannot be worn together as one outfit (two tops, a dress with trousers)."""


class DuplicateItemError(OutfitError, ValueError):
    """The same item id given twice where ids must be unique."""


class ItemNotFoundError(OutfitError, KeyError):
    """An item id that is not in the closet or dataset."""

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return OutfitError.__str__(self)


class DataError(OutfitError):
    """Base class for problems with data coming in (files, datasets, photos)."""


def _where(path: Path | str | None, line: int | None) -> str:
    if path is None:
        return ""
    return f"{path}:{line}" if line is not None else str(path)


class DatasetFormatError(DataError, ValueError):
    """A dataset file that does not have the expected shape; names the file and line."""

    def __init__(
        self, message: str, *, path: Path | str | None = None, line: int | None = None, hint: str = ""
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        where = _where(path, line)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class MissingFileError(DataError, FileNotFoundError):
    """A file or folder a dataset needs is not there."""

    def __init__(self, path: Path | str, what: str, *, hint: str = "") -> None:
        self.path = Path(path)
        super().__init__(f"{what} not found: {path}", hint=hint)


class MissingImagesError(DataError):
    """Items whose photo is missing; names the first few."""

    def __init__(self, missing: list[Path], total: int, *, hint: str = "") -> None:
        self.missing = list(missing)
        self.total = total
        shown = ", ".join(str(p) for p in self.missing[:5])
        more = f" and {total - 5} more" if total > 5 else ""
        super().__init__(
            f"{total} item image(s) missing: {shown}{more}",
            hint=hint or "add the images, or load with missing images skipped",
        )


class ImageError(DataError, ValueError):
    """A photo that cannot be used: unreadable, truncated, too large or of a refused format."""

    def __init__(self, path: Path | str | None, problem: str, *, hint: str = "") -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        name = str(path) if path is not None else "image"
        super().__init__(f"{name}: {problem}", hint=hint)


class ModelError(OutfitError, ValueError):
    """A model file that cannot be used: missing, corrupt, truncated, foreign or too new."""

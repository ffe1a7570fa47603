"""Named registries (backbones, grader architectures, baselines, and later explainers and search
strategies): register under a name, look up by name, and say which names exist when one is not
found."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import OutfitError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """``kind`` is what the entries are called in messages ("backbone", "baseline");
    ``ordered``: :meth:`names` lists the entries in the order they were registered (else sorted)."""

    def __init__(self, kind: str, *, ordered: bool = False) -> None:
        self.kind = kind
        self.ordered = ordered
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name`` (twice is an error)."""

        def deco(entry: T) -> T:
            if name in self._entries:
                raise OutfitError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return deco

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise OutfitError(f"unknown {self.kind} {name!r}",
                              hint=f"known {self.kind}s: " + ", ".join(self.names())) from None

    def names(self) -> list[str]:
        return list(self._entries) if self.ordered else sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

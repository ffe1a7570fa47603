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
    ``ordered``: :meth:`names` lists the entries in the order they were registered (else sorted);
    ``load``: called once before the first lookup, to register the built-in entries (a package
    whose entries live in modules of their own imports them there)."""

    def __init__(self, kind: str, *, ordered: bool = False,
                 load: Callable[[], object] | None = None) -> None:
        self.kind = kind
        self.ordered = ordered
        self._entries: dict[str, T] = {}
        self._load = load

    def _loaded(self) -> None:
        if self._load is not None:
            load, self._load = self._load, None
            try:
                load()
            except BaseException:
                self._load = load  # try again next time
                raise

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name`` (twice is an error)."""

        def deco(entry: T) -> T:
            if name in self._entries:
                raise OutfitError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return deco

    def get(self, name: str) -> T:
        self._loaded()
        try:
            return self._entries[name]
        except KeyError:
            raise OutfitError(f"unknown {self.kind} {name!r}",
                              hint=f"known {self.kind}s: " + ", ".join(self.names())) from None

    def names(self) -> list[str]:
        self._loaded()
        return list(self._entries) if self.ordered else sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._loaded()
        return name in self._entries

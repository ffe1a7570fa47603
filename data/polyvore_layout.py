"""The Polyvore Outfits folder layout that its reader (:mod:`data.polyvore`) and its writer
(:mod:`data.polyvore_writer`) share: the split and version names and a split's three files."""

from __future__ import annotations

from pathlib import Path

from outfit.errors import OutfitError

__all__ = ["SPLITS", "VERSIONS", "check_choice", "split_paths"]

SPLITS = ("train", "valid", "test")
VERSIONS = ("nondisjoint", "disjoint")


def split_paths(root: Path, version: str, split: str) -> tuple[Path, Path, Path]:
    """The split's outfit list, compatibility file and fill-in-the-blank file."""
    base = root / version
    return (base / f"{split}.json", base / f"compatibility_{split}.txt",
            base / f"fill_in_blank_{split}.json")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OutfitError(f"unknown {name} {value!r}", hint="use one of: " + ", ".join(choices))

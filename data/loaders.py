"""One door for every kind of data: guess a folder's layout and load it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from outfit.domain import Closet
from outfit.errors import MissingFileError, OutfitError

from .dataset import Dataset

__all__ = ["detect_format", "load_dataset", "load_closet", "FORMATS"]

Format = Literal["polyvore", "maryland", "folder"]
FORMATS: tuple[str, ...] = ("polyvore", "maryland", "folder")


def detect_format(path: Path | str) -> Format:
    """``polyvore`` (Polyvore Outfits), ``maryland`` (Maryland Polyvore) or ``folder`` (photos)."""
    path = Path(path)
    if not path.is_dir():
        raise MissingFileError(path, "dataset folder")
    if (path / "polyvore_item_metadata.json").is_file():
        return "polyvore"
    if (path / "category_id.txt").is_file() or any(path.glob("*_no_dup.json")):
        return "maryland"
    return "folder"


def load_dataset(path: Path | str, *, fmt: str = "auto", split: str = "train",
                 version: str = "nondisjoint", on_missing_image: str = "error",
                 check_images: bool = True) -> Dataset:
    """Load one split of a dataset in the Polyvore Outfits or Maryland layout."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "polyvore":
        from .polyvore import read_polyvore_outfits

        return read_polyvore_outfits(path, split, version=version, check_images=check_images,
                                     on_missing_image=on_missing_image)  # type: ignore[arg-type]
    if fmt == "maryland":
        from .maryland import read_maryland

        return read_maryland(path, split, check_images=check_images,
                             on_missing_image=on_missing_image)  # type: ignore[arg-type]
    raise OutfitError(
        f"{path} is a {fmt!r}, not a dataset with outfits",
        hint="give a folder in the Polyvore Outfits or Maryland Polyvore layout",
    )


def load_closet(path: Path | str, *, on_bad_image: str = "error",
                check_images: bool = True) -> tuple[Closet, Mapping[str, int]]:
    """A closet from a folder of photos, or from every item of a dataset; with skip counts."""
    fmt = detect_format(path)
    if fmt == "folder":
        from .folder import read_closet_folder

        result = read_closet_folder(path, on_bad_image=on_bad_image,  # type: ignore[arg-type]
                                    check_images=check_images)
        return result.closet, result.skipped
    ds = load_dataset(path, fmt=fmt, on_missing_image=on_bad_image, check_images=check_images)
    return ds.closet(), ds.skipped

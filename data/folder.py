"""A closet from a folder of photos: the way a person brings their own clothes in.

Two ways to say what each photo shows:

- folders named after the garment, at any depth: ``root/**/<category>/<photo>``, e.g.
  ``clothing-small/train/t-shirt/1a2b.jpg``; only the folder a photo sits in counts (the
  ``train`` above it does not), and a photo directly in ``root`` takes ``root``'s own name;
- a CSV with columns ``file,category`` (``file`` relative to ``root``); further columns
  (``color``, ``pattern``...) become item attributes, and only the listed files are read.

Category names go through a table of common garment words (:data:`CATEGORY_WORDS`: "tee",
"jeans", "outwear", "sneakers"...), plus the eleven semantic categories themselves, forgiving
case, ``_``/space for ``-`` and plurals. An unknown name is always an error
(:class:`UnknownCategoryError` naming every unknown folder): guessing a slot for "misc" would
put wrong items in outfits. A bad photo (refused format, damaged header, too large: probed
from the header only, so thousands take about a second) is an :class:`ImageError`, or with
``on_bad_image="skip"`` is left out and counted. Files that are not photos by their extension
(LICENSE, README.md, .DS_Store) and hidden or ``__MACOSX`` folders are ignored silently.

Item ids are the first 12 hex digits of the SHA-1 of the photo's path relative to ``root``
(POSIX form): stable across runs and machines, and two ``1.jpg`` in different folders do not
collide.
"""

from __future__ import annotations

import csv as _csv
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple

from outfit.domain import Closet, Item
from outfit.errors import (
    DatasetFormatError,
    ImageError,
    MissingFileError,
    MissingImagesError,
    OutfitError,
    UnknownCategoryError,
)
from outfit.vocab import SEMANTIC_CATEGORIES, normalize_category

from .images import is_image_name, probe_image

__all__ = ["CATEGORY_WORDS", "FolderCloset", "category_for", "read_closet_folder"]

OnBad = Literal["error", "skip"]

# semantic category -> fine category -> other words for it
_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "tops": {
        "t-shirt": ("tshirt", "tee", "tees"), "shirt": ("shirts",),
        "long-sleeve top": ("longsleeve", "long-sleeve", "long-sleeve-shirt"),
        "blouse": (), "sweater": ("jumper", "pullover", "knitwear"), "hoodie": ("hoody",),
        "sweatshirt": (), "top": ("crop-top", "croptop"), "tank top": ("tank", "tank-top"),
        "camisole": ("cami",), "polo": ("polo-shirt",), "tunic": (), "turtleneck": (),
        "bodysuit": (),
    },
    "bottoms": {
        "pants": ("trousers", "pant", "slacks", "chinos", "joggers", "sweatpants"),
        "jeans": ("denim",), "shorts": (), "skirt": (), "leggings": (),
    },
    "all-body": {
        "dress": ("gown",), "jumpsuit": ("romper", "playsuit", "overalls", "dungarees"),
        "suit": (),
    },
    "outerwear": {
        "outerwear": ("outwear", "outer"), "jacket": ("parka", "anorak", "windbreaker"),
        "coat": ("trench", "trench-coat", "raincoat", "overcoat"), "blazer": (),
        "cardigan": (), "vest": ("gilet", "waistcoat"),
    },
    "shoes": {
        "shoes": ("shoe", "footwear"), "sneakers": ("trainers", "sneaker"), "boots": ("boot",),
        "heels": ("pumps", "heel"), "sandals": ("sandal",), "flats": ("loafers", "ballerinas"),
        "slippers": (),
    },
    "bags": {"bag": ("handbag", "purse", "tote", "clutch"), "backpack": ("rucksack",)},
    "hats": {"hat": ("beanie",), "cap": ("baseball-cap",)},
    "scarves": {"scarf": ("scarves", "shawl")},
    "sunglasses": {"sunglasses": ("glasses", "eyewear", "shades")},
    "jewellery": {
        "jewellery": ("jewelry",), "necklace": (), "earrings": ("earring",),
        "bracelet": ("bangle",), "ring": (), "watch": (),
    },
    "accessories": {
        "accessory": ("accessories",), "belt": (), "tie": ("bow-tie",), "gloves": ("glove",),
        "socks": ("sock",),
    },
}

#: word (lower case, ``-`` between words) -> (fine category, semantic category)
CATEGORY_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType({
    word: (fine, semantic)
    for semantic, fines in _WORDS.items()
    for fine, others in fines.items()
    for word in (fine.replace(" ", "-"), *others)
})


class FolderCloset(NamedTuple):
    """What :func:`read_closet_folder` returns: ``closet, skipped = read_closet_folder(...)``.

    ``skipped`` maps a reason (``"bad_images"``, ``"missing_files"``) to how many photos were
    left out for it; empty when nothing was.
    """

    closet: Closet
    skipped: Mapping[str, int]


def _accepted_hint() -> str:
    fines = sorted({fine for fine, _ in CATEGORY_WORDS.values()} | set(SEMANTIC_CATEGORIES))
    return ("name each category after what it holds, one of: " + ", ".join(fines)
            + " (plurals and common synonyms such as tee, trousers, outwear, trainers also work)")


def category_for(name: str) -> tuple[str, str]:
    """(fine category, semantic category) for a folder or CSV category name.

    ``"T-Shirts"`` -> ``("t-shirt", "tops")``; ``"outwear"`` -> ``("outerwear", "outerwear")``;
    ``"jewelry"`` -> ``("jewellery", "jewellery")``. Raises :class:`UnknownCategoryError`.
    """
    key = re.sub(r"[\s_]+", "-", str(name).strip().lower())
    if key in SEMANTIC_CATEGORIES:  # a folder named after a semantic category: no finer name
        return key, key
    candidates = [key, key.replace("-", "")]
    for suffix in ("es", "s"):
        if key.endswith(suffix):
            candidates.append(key[: -len(suffix)])
    for cand in candidates:
        if cand in CATEGORY_WORDS:
            return CATEGORY_WORDS[cand]
    try:
        semantic = normalize_category(name)
    except UnknownCategoryError:
        raise UnknownCategoryError(f"unknown category {name!r}", hint=_accepted_hint()) from None
    return semantic, semantic


def _item_id(rel: str) -> str:
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()[:12]


def _walk(root: Path) -> list[tuple[str, str]]:
    """(relative posix path, category folder name) of every photo under root, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        here = Path(dirpath)
        folder = here.name if here != root else root.resolve().name
        for fn in sorted(filenames):
            if not fn.startswith(".") and is_image_name(fn):
                out.append(((here / fn).relative_to(root).as_posix(), folder))
    return out


def _read_csv(root: Path, path: Path) -> list[tuple[str, str, dict[str, str], int]]:
    """(relative posix path, category, extra columns, line) per row of a ``file,category`` CSV."""
    if not path.is_file():
        raise MissingFileError(path, "closet CSV")
    rows = []
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = _csv.DictReader(fh)
            fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
            if "file" not in fields or "category" not in fields:
                raise DatasetFormatError(
                    f"the header must name 'file' and 'category' columns, got {fields}",
                    path=path, line=1, hint="first line e.g.: file,category,color")
            reader.fieldnames = fields
            seen: dict[str, int] = {}
            for row in reader:
                n = reader.line_num
                file = (row.get("file") or "").strip()
                category = (row.get("category") or "").strip()
                if not file or not category:
                    raise DatasetFormatError("empty 'file' or 'category'", path=path, line=n)
                full = Path(os.path.normpath(root / file))
                if root not in full.parents:
                    raise DatasetFormatError(f"{file!r} is not a file inside the closet folder",
                                             path=path, line=n)
                rel = full.relative_to(root).as_posix()
                if rel in seen:
                    raise DatasetFormatError(f"{file!r} is listed twice (first on line "
                                             f"{seen[rel]})", path=path, line=n)
                seen[rel] = n
                extras = {k: str(v).strip() for k, v in row.items()
                          if k and k not in ("file", "category") and v and str(v).strip()}
                rows.append((rel, category, extras, n))
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    except _csv.Error as exc:
        raise DatasetFormatError(f"not a valid CSV ({exc})", path=path) from None
    return rows


def read_closet_folder(
    root: Path | str,
    *,
    csv: Path | str | None = None,
    on_bad_image: OnBad = "error",
    check_images: bool = True,
    name: str | None = None,
) -> FolderCloset:
    """Read a folder of photos as a :class:`Closet` (named ``name`` or after the folder).

    With ``csv``, categories come from that file (a relative ``csv`` is taken from ``root``)
    and a listed file that does not exist is a :class:`MissingImagesError` (or skipped and
    counted under ``"missing_files"``); without it, from folder names. ``check_images`` probes
    each photo's header (:func:`data.images.probe_image`); with ``on_bad_image="skip"`` bad
    photos are counted under ``"bad_images"`` instead of raising. Unknown category names always
    raise :class:`UnknownCategoryError`. Each item gets ``image`` = the absolute path, ``name``
    = ``"<fine category> <first 6 id digits>"`` and ``attributes`` = ``{"source": <relative
    path>}`` plus the CSV's extra columns.
    """
    if on_bad_image not in ("error", "skip"):
        raise OutfitError(f"unknown on_bad_image {on_bad_image!r}", hint="use error or skip")
    root = Path(os.path.normpath(Path(root).absolute()))
    if not root.is_dir():
        raise MissingFileError(root, "closet folder")
    skipped: dict[str, int] = {}

    if csv is None:
        entries = [(rel, folder, {}) for rel, folder in _walk(root)]
        where = {rel: f"e.g. {rel}" for rel, _, _ in entries}
    else:
        entries, where = _csv_entries(root, csv, on_bad_image, skipped)
    if not entries and not skipped:
        raise MissingFileError(root, "photos (.jpg, .jpeg, .png or .webp files in folders "
                               "named after their category)")
    # Categories first: an unknown name fails fast, before any photo is opened.
    cats = _categories(root, entries, where, "category folder name" if csv is None
                       else "category")
    items = _items(root, entries, cats, check_images, on_bad_image, skipped)
    closet = Closet(tuple(items), name=name or root.name)
    return FolderCloset(closet, MappingProxyType(skipped))


_Entry = tuple[str, str, dict[str, str]]  # (relative posix path, category name, extra columns)


def _csv_entries(root: Path, csv: Path | str, on_bad_image: OnBad, skipped: dict[str, int],
                 ) -> tuple[list[_Entry], dict[str, str]]:
    """The CSV's rows whose file exists, and where each was listed (for error messages); a
    listed file that does not exist raises, or is skipped and counted."""
    csv_path = Path(csv) if Path(csv).is_absolute() else root / csv
    rows = _read_csv(root, csv_path)
    entries = [(rel, cat, extras) for rel, cat, extras, _ in rows]
    where = {rel: f"{csv_path.name} line {n}" for rel, _, _, n in rows}
    missing = [root / rel for rel, _, _ in entries if not (root / rel).is_file()]
    if missing and on_bad_image == "error":
        raise MissingImagesError(missing[:5], len(missing),
                                 hint="fix the paths in the CSV (relative to the folder), "
                                 "or load with bad images skipped")
    if missing:
        skipped["missing_files"] = len(missing)
        gone = {p.relative_to(root).as_posix() for p in missing}
        entries = [e for e in entries if e[0] not in gone]
    return entries, where


def _categories(root: Path, entries: list[_Entry], where: Mapping[str, str],
                what: str) -> dict[str, tuple[str, str]]:
    """Relative path -> (fine, semantic category); every unknown name raises at once."""
    unknown: dict[str, str] = {}
    cats: dict[str, tuple[str, str]] = {}
    for rel, cat, _ in entries:
        try:
            cats[rel] = category_for(cat)
        except UnknownCategoryError:
            unknown.setdefault(cat, where[rel])
    if unknown:
        shown = "; ".join(f"{c!r} ({w})" for c, w in list(unknown.items())[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise UnknownCategoryError(
            f"{len(unknown)} unknown {what}(s) in {root}: {shown}{more}", hint=_accepted_hint())
    return cats


def _items(root: Path, entries: list[_Entry], cats: Mapping[str, tuple[str, str]],
           check_images: bool, on_bad_image: OnBad, skipped: dict[str, int]) -> list[Item]:
    """One item per entry, its photo's header probed first with ``check_images``."""
    items = []
    for rel, _cat, extras in entries:
        path = root / rel
        if check_images:
            try:
                probe_image(path)
            except ImageError as exc:
                if on_bad_image == "error":
                    raise ImageError(path, exc.problem, hint=exc.hint + "; or load the closet "
                                     "with bad images skipped") from None
                skipped["bad_images"] = skipped.get("bad_images", 0) + 1
                continue
        fine, semantic = cats[rel]
        item_id = _item_id(rel)
        items.append(Item(id=item_id, category=fine, semantic_category=semantic, image=path,
                          name=f"{fine} {item_id[:6]}", attributes={**extras, "source": rel}))
    return items

"""Maryland Polyvore (Han, Wu, Jiang & Davis, ACM MM 2017): reader of the release layout.

::

    root/{train,valid,test}_no_dup.json          outfits: set_id, items [{index, name, price,
                                                 likes, image, categoryid}, ...]
    root/category_id.txt                         "<id> <name>" per line ("4 Day Dresses")
    root/images/<set_id>/<index>.jpg
    root/fill_in_the_blank_test.json             [{question, answers, blank_position}]; the
                                                 FIRST answer is the right one
    root/fashion_compatibility_prediction.txt    "<1|0> <set_id>_<index> ..." per line

Items are named ``<set_id>_<index>``. The questions exist for the test split only.

Categories: the release names about 380 Polyvore category ids, most of them not clothes
(furniture, make-up, food). Every one of them has an explicit decision in
``maryland_categories.csv`` beside this module: a semantic category of :mod:`outfit.vocab`, or
``none`` for what cannot be placed in an outfit (home and beauty products, and labels too broad
to give a slot, such as "Clothing", "Activewear", "Intimates", "Kids"). A test checks that every
id of the real ``category_id.txt`` has a row, so a category added there is never dropped
unnoticed. Choices that are not obvious: cardigans, vests, robes, cover-ups and activewear
jackets are outerwear (worn over a top); shapewear and sports bras are tops and chemises
all-body (Polyvore filed bodysuits and slip dresses there); pajamas are bottoms; hosiery, tights,
socks, wallets and tech accessories are accessories; eyeglasses share the sunglasses category
(the eyewear slot); generic "Swimwear" is all-body, "Men's Swimwear" bottoms.

Items of unmapped or unknown category ids are dropped and counted in ``Dataset.skipped``; they
are removed from their outfits (an outfit left with fewer than two items goes, counted) and from
the questions (a question that loses its right answer, or is left with too little, goes,
counted). A question that names an item the split does not have at all is skipped and counted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from outfit.domain import Item, Outfit
from outfit.errors import (
    DatasetFormatError,
    MissingFileError,
    MissingImagesError,
    OutfitError,
    UnknownCategoryError,
)
from outfit.vocab import normalize_category

from .dataset import CompatibilityQuestion, Dataset, FITBQuestion
from .fileio import read_json, read_text_lines

__all__ = [
    "SPLITS",
    "MarylandCategory",
    "maryland_categories",
    "read_category_names",
    "read_maryland",
]

SPLITS = ("train", "valid", "test")
OnMissing = Literal["error", "skip"]
COMPATIBILITY_FILES = ("fashion_compatibility_prediction.txt",
                       "fashion-compatibility-prediction.txt")
FITB_FILE = "fill_in_the_blank_test.json"
_TABLE = "maryland_categories.csv"


@dataclass(frozen=True)
class MarylandCategory:
    """One Polyvore category id: its name and semantic category (None: not used in outfits)."""

    id: int
    name: str
    semantic: str | None


@cache
def maryland_categories() -> Mapping[int, MarylandCategory]:
    """The decision table, id -> :class:`MarylandCategory`, read once from the package."""
    text = resources.files(__package__).joinpath(_TABLE).read_text(encoding="utf-8")
    out: dict[int, MarylandCategory] = {}
    for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            cid = int(row["id"])
            value = row["semantic_category"].strip()
            semantic = None if value == "none" else normalize_category(value)
            out[cid] = MarylandCategory(cid, row["name"].strip(), semantic)
        except (KeyError, ValueError, AttributeError, UnknownCategoryError) as exc:
            raise DatasetFormatError(f"bad row ({exc})", path=_TABLE, line=n) from None
    return MappingProxyType(out)


def read_category_names(path: Path | str) -> dict[int, str]:
    """``category_id.txt`` as id -> name (``"4 Day Dresses"`` -> ``{4: "Day Dresses"}``)."""
    out: dict[int, str] = {}
    for n, line in read_text_lines(path, "category list"):
        cid, _, name = line.partition(" ")
        if not cid.isdigit() or not name.strip():
            raise DatasetFormatError(f"expected '<id> <name>', got {line[:80]!r}",
                                     path=path, line=n)
        out[int(cid)] = name.strip()
    return out


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OutfitError(f"unknown {name} {value!r}", hint="use one of: " + ", ".join(choices))


def _bump(skipped: dict[str, int], reason: str, n: int = 1) -> None:
    if n:
        skipped[reason] = skipped.get(reason, 0) + n


def _parse_outfit(k: int, rec: Any, path: Path) -> tuple[str, list[dict[str, Any]]]:
    """(set_id, items) of outfit record #k, or a DatasetFormatError naming it."""
    if not isinstance(rec, dict) or "set_id" not in rec or not isinstance(rec.get("items"), list):
        raise DatasetFormatError(f"outfit #{k} needs 'set_id' and a list of 'items'", path=path)
    set_id = str(rec["set_id"]).strip()
    items = rec["items"]
    for j, it in enumerate(items):
        if not isinstance(it, dict) or "index" not in it or "categoryid" not in it:
            raise DatasetFormatError(
                f"outfit #{k} (set_id {set_id}), item #{j}: needs 'index' and 'categoryid'",
                path=path)
        try:
            int(it["index"])
            int(it["categoryid"])
        except (TypeError, ValueError):
            raise DatasetFormatError(
                f"outfit #{k} (set_id {set_id}), item #{j}: 'index' and 'categoryid' must be "
                f"numbers, got {it['index']!r} and {it['categoryid']!r}", path=path) from None
    return set_id, items


def _make_item(set_id: str, rec: dict[str, Any], cat: MarylandCategory, semantic: str,
               root: Path) -> Item:
    index = int(rec["index"])
    attrs = {"category_id": str(cat.id), "set_id": set_id, "index": index}
    attrs.update({k: rec[k] for k in ("price", "likes") if rec.get(k) is not None})
    return Item(id=f"{set_id}_{index}", category=cat.name.lower(), semantic_category=semantic,
                image=root / "images" / set_id / f"{index}.jpg",
                name=str(rec.get("name") or "").strip(), attributes=attrs)


def read_maryland(
    root: Path | str,
    split: str = "train",
    *,
    on_missing_image: OnMissing = "error",
    check_images: bool = True,
) -> Dataset:
    """Read one split of a Maryland Polyvore folder as a :class:`Dataset` named ``"maryland"``.

    ``check_images`` checks that each kept item's ``images/<set_id>/<index>.jpg`` exists (no
    decoding: 100k photos would take minutes; :func:`data.images.load_image` checks content
    when a photo is used). Missing ones raise :class:`MissingImagesError` naming the first, or
    with ``on_missing_image="skip"`` the items are dropped like unmapped ones and counted.
    The questions are read for the test split, where their files exist.
    """
    root = Path(root)
    _check_choice("split", split, SPLITS)
    _check_choice("on_missing_image", on_missing_image, ("error", "skip"))
    if not root.is_dir():
        raise MissingFileError(root, "Maryland Polyvore folder")
    outfits_path = root / f"{split}_no_dup.json"
    raw = read_json(outfits_path, f"{split} outfit list")
    if not isinstance(raw, list):
        raise DatasetFormatError("expected a JSON list of outfits", path=outfits_path)

    skipped: dict[str, int] = {}
    items, dropped, sets = _read_items(raw, outfits_path, root, skipped)
    if check_images:
        _drop_missing_images(root, items, dropped, on_missing_image, skipped)
    outfits = []
    for set_id, ids in sets:
        kept = tuple(items[i] for i in ids if i in items)
        if len(kept) >= 2:
            outfits.append(Outfit(kept, id=set_id))
        else:
            _bump(skipped, "outfits")

    compatibility: list[CompatibilityQuestion] = []
    fitb: list[FITBQuestion] = []
    if split == "test":
        compatibility, fitb = _read_questions(root, items, dropped, skipped)
    return Dataset(name="maryland", split=split, items=items, outfits=tuple(outfits),
                   compatibility=tuple(compatibility), fitb=tuple(fitb), root=root,
                   skipped=skipped)


def _read_items(raw: list[Any], outfits_path: Path, root: Path, skipped: dict[str, int],
                ) -> tuple[dict[str, Item], set[str], list[tuple[str, list[str]]]]:
    """(items kept, ids dropped for their category, [(set_id, all its item ids in order)])
    from the outfit records; a set_id seen before is skipped and counted."""
    table = maryland_categories()
    items: dict[str, Item] = {}
    dropped: set[str] = set()
    sets: list[tuple[str, list[str]]] = []
    seen_sets: set[str] = set()
    for k, rec in enumerate(raw):
        set_id, recs = _parse_outfit(k, rec, outfits_path)
        if set_id in seen_sets:
            _bump(skipped, "duplicate_outfits")
            continue
        seen_sets.add(set_id)
        ids = []
        for it in recs:
            item_id = f"{set_id}_{int(it['index'])}"
            if item_id in ids:
                raise DatasetFormatError(f"outfit #{k} (set_id {set_id}) lists index "
                                         f"{it['index']} twice", path=outfits_path)
            ids.append(item_id)
            cat = table.get(int(it["categoryid"]))
            if cat is None or cat.semantic is None:
                _bump(skipped, "unknown_category_id_items" if cat is None
                      else "unmapped_category_items")
                dropped.add(item_id)
            else:
                items[item_id] = _make_item(set_id, it, cat, cat.semantic, root)
        sets.append((set_id, ids))
    return items, dropped, sets


def _drop_missing_images(root: Path, items: dict[str, Item], dropped: set[str],
                         on_missing_image: OnMissing, skipped: dict[str, int]) -> None:
    """Raise :class:`MissingImagesError` for items whose photo is absent (with a hint where
    the whole images/ folder is absent), or drop and count them like unmapped ones."""
    missing = [it for it in items.values() if not it.image.is_file()]
    if missing and on_missing_image == "error":
        hint = ""
        if not (root / "images").is_dir():
            hint = ("the images/ folder is absent: download the images (see the dataset's "
                    "README), or read with check_images=False")
        raise MissingImagesError([it.image for it in missing[:5]], len(missing), hint=hint)
    for it in missing:
        del items[it.id]
        dropped.add(it.id)
    _bump(skipped, "missing_image_items", len(missing))


def _read_questions(root: Path, items: Mapping[str, Item], dropped: set[str],
                    skipped: dict[str, int],
                    ) -> tuple[list[CompatibilityQuestion], list[FITBQuestion]]:
    """The test split's questions, from the files that exist."""
    compatibility: list[CompatibilityQuestion] = []
    fitb: list[FITBQuestion] = []
    compat_path = next((root / f for f in COMPATIBILITY_FILES if (root / f).is_file()), None)
    if compat_path is not None:
        compatibility = _read_compatibility(compat_path, items, dropped, skipped)
    if (root / FITB_FILE).is_file():
        fitb = _read_fitb(root / FITB_FILE, items, dropped, skipped)
    return compatibility, fitb


def _read_compatibility(path: Path, items: Mapping[str, Item], dropped: set[str],
                        skipped: dict[str, int]) -> list[CompatibilityQuestion]:
    out = []
    for n, line in read_text_lines(path, "compatibility file"):
        label, *refs = line.split()
        if label not in ("0", "1") or not refs:
            raise DatasetFormatError(
                f"expected '<1|0> <set_id>_<index> <set_id>_<index> ...', got {line[:80]!r}",
                path=path, line=n)
        if any(r not in items and r not in dropped for r in refs):
            _bump(skipped, "compatibility_unknown_items")
            continue
        ids = tuple(dict.fromkeys(r for r in refs if r in items))
        if len(ids) < 2:
            _bump(skipped, "compatibility")
            continue
        out.append(CompatibilityQuestion(label=int(label), item_ids=ids))
    return out


def _read_fitb(path: Path, items: Mapping[str, Item], dropped: set[str],
               skipped: dict[str, int]) -> list[FITBQuestion]:
    raw = read_json(path, "fill-in-the-blank file")
    if not isinstance(raw, list):
        raise DatasetFormatError("expected a JSON list of questions", path=path)
    out = []
    for k, rec in enumerate(raw):
        try:
            question = [str(r).strip() for r in rec["question"]]
            answers = [str(r).strip() for r in rec["answers"]]
            blank = rec.get("blank_position")
            blank = int(blank) if blank is not None else None
        except (KeyError, TypeError, AttributeError, ValueError):
            raise DatasetFormatError(f"question #{k}: needs 'question' and 'answers' lists and "
                                     "a numeric 'blank_position'", path=path) from None
        if not question or len(answers) < 2:
            raise DatasetFormatError(f"question #{k}: needs a question and at least two answers",
                                     path=path)
        if any(r not in items and r not in dropped for r in (*question, *answers)):
            _bump(skipped, "fitb_unknown_items")
            continue
        q_ids = tuple(r for r in question if r in items)
        a_ids = tuple(dict.fromkeys(r for r in answers if r in items))
        if answers[0] not in items or len(a_ids) < 2 or not q_ids:
            _bump(skipped, "fitb")
            continue
        out.append(FITBQuestion(question_ids=q_ids, answer_ids=a_ids, answer_index=0,
                                blank_position=blank, outfit_id=answers[0].rsplit("_", 1)[0]))
    return out

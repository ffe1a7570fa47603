"""Polyvore Outfits (Vasileva et al., ECCV 2018): reader and writer of the release layout.

::

    root/polyvore_item_metadata.json      item_id -> {title, semantic_category, category_id, ...}
    root/categories.csv                   id, fine-grained name, semantic category (no header)
    root/images/<item_id>.jpg
    root/{nondisjoint,disjoint}/{train,valid,test}.json          outfits: set_id + (item_id, index)
    root/{nondisjoint,disjoint}/compatibility_{split}.txt        "1 <set_id>_<index> ..."
    root/{nondisjoint,disjoint}/fill_in_blank_{split}.json       question / answers / blank_position

Questions name items as ``<set_id>_<index>``, resolved through the split's outfit list. The real
files have quirks this reader tolerates: CR line ends, stray spaces and empty semantic categories
in ``categories.csv``, category ids listed more than once, and the misspelt ``catgeories`` key.
The writer is in :mod:`data.polyvore_writer` (importable from here too).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from outfit.domain import Item, Outfit
from outfit.errors import (
    DatasetFormatError,
    MissingFileError,
    MissingImagesError,
    UnknownCategoryError,
)
from outfit.vocab import SEMANTIC_CATEGORIES, normalize_category

from .dataset import CompatibilityQuestion, Dataset, FITBQuestion
from .fileio import read_json, read_text_lines
from .polyvore_layout import SPLITS, VERSIONS, check_choice, split_paths
from .polyvore_writer import write_polyvore_outfits

__all__ = [
    "SPLITS",
    "VERSIONS",
    "CategoryInfo",
    "read_categories",
    "read_polyvore_outfits",
    "write_polyvore_outfits",
]

OnBad = Literal["error", "skip"]

# Keys of a metadata record that become Item fields rather than attributes.
_ITEM_KEYS = ("title", "semantic_category")


@dataclass
class CategoryInfo:
    """One category id of ``categories.csv``: the fine names it was listed with, its semantic
    category (None where the file leaves it empty) and the line it first appeared on."""

    id: str
    names: list[str] = field(default_factory=list)
    semantic: str | None = None
    line: int = 0

    @property
    def name(self) -> str:
        return self.names[0] if self.names else ""


def read_categories(path: Path | str) -> dict[str, CategoryInfo]:
    """Parse ``categories.csv`` into id -> :class:`CategoryInfo`.

    An id listed twice keeps every fine name; where two lines give different semantic
    categories the specific one wins over the catch-all ``accessories`` (the real file lists
    scarves, sunglasses and jewellery ids under both).
    """
    path = Path(path)
    out: dict[str, CategoryInfo] = {}
    for n, line in read_text_lines(path, "categories file"):
        row = [c.strip() for c in next(csv.reader(io.StringIO(line)))]
        if len(row) < 2 or len(row) > 3 or not row[0]:
            raise DatasetFormatError(
                f"expected 'id,fine-grained category,semantic category', got {line!r}",
                path=path, line=n,
            )
        cid, fine = row[0], row[1]
        if not cid.isdigit():
            raise DatasetFormatError(f"category id {cid!r} is not a number", path=path, line=n)
        semantic = None
        if len(row) == 3 and row[2]:
            try:
                semantic = normalize_category(row[2])
            except UnknownCategoryError:
                raise UnknownCategoryError(
                    f"{path}:{n}: unknown semantic category {row[2]!r}",
                    hint="use one of: " + ", ".join(SEMANTIC_CATEGORIES),
                ) from None
        info = out.setdefault(cid, CategoryInfo(cid, line=n))
        if fine and fine not in info.names:
            info.names.append(fine)
        if semantic and (info.semantic is None or info.semantic == "accessories"):
            info.semantic = semantic
    return out


def _read_outfit_refs(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(set_id, [(index, item_id), ...]), ...] from a split's outfit list."""
    raw = read_json(path, "outfit list")
    if not isinstance(raw, list):
        raise DatasetFormatError("expected a JSON list of outfits", path=path)
    out = []
    for k, rec in enumerate(raw):
        try:
            set_id = str(rec["set_id"]).strip()
            refs = [(str(it["index"]).strip(), str(it["item_id"]).strip()) for it in rec["items"]]
        except (KeyError, TypeError) as exc:
            raise DatasetFormatError(
                f"outfit #{k} lacks {exc}: each outfit needs 'set_id' and 'items' of "
                "{'item_id', 'index'}", path=path,
            ) from None
        out.append((set_id, refs))
    return out


def _make_item(item_id: str, rec: Any, cats: Mapping[str, CategoryInfo], root: Path,
               meta_path: Path) -> Item:
    if not isinstance(rec, dict):
        raise DatasetFormatError(f"record of item {item_id} is not an object", path=meta_path)
    cid = str(rec.get("category_id") or "").strip()
    info = cats.get(cid)
    semantic = str(rec.get("semantic_category") or "").strip() or (info.semantic if info else None)
    if not semantic:
        raise UnknownCategoryError(
            f"item {item_id} has no semantic category (category_id {cid or 'missing'}"
            f"{' is not in categories.csv' if cid and info is None else ''})",
            hint="give it a semantic_category in the metadata, or load with unknown "
            "categories skipped",
        )
    attrs = {k: v for k, v in rec.items() if k not in _ITEM_KEYS and k != "catgeories"}
    if "catgeories" in rec:  # the release's spelling
        attrs["categories"] = rec["catgeories"]
    fine = info.name if info and info.name else str(rec.get("category") or semantic)
    name = str(rec.get("title") or rec.get("url_name") or "").strip()
    try:
        return Item(id=item_id, category=fine, semantic_category=semantic,
                    image=root / "images" / f"{item_id}.jpg", name=name, attributes=attrs)
    except UnknownCategoryError as exc:
        raise UnknownCategoryError(f"item {item_id}: {exc.message}", hint=exc.hint) from None


def read_polyvore_outfits(
    root: Path | str,
    split: str = "train",
    *,
    version: str = "nondisjoint",
    check_images: bool = True,
    on_missing_image: OnBad = "error",
    on_unknown_category: OnBad = "error",
) -> Dataset:
    """Read one split of a Polyvore Outfits folder.

    Only the items the split's outfits use are built. ``check_images`` checks that each item's
    ``images/<id>.jpg`` exists (without decoding it); missing images raise
    :class:`MissingImagesError` naming the first ones, or with ``on_missing_image="skip"`` the
    items are dropped (outfits left with fewer than two items and questions that name a dropped
    item go too), counted in ``Dataset.skipped``. Items with no semantic category are handled
    the same way through ``on_unknown_category``.
    """
    root = Path(root)
    check_choice("split", split, SPLITS)
    check_choice("version", version, VERSIONS)
    check_choice("on_missing_image", on_missing_image, ("error", "skip"))
    check_choice("on_unknown_category", on_unknown_category, ("error", "skip"))
    if not root.is_dir():
        raise MissingFileError(root, "Polyvore Outfits folder")
    outfits_path, compat_path, fitb_path = split_paths(root, version, split)
    outfit_refs = _read_outfit_refs(outfits_path)  # first: a wrong split fails before the big file
    cats = read_categories(root / "categories.csv")
    meta_path = root / "polyvore_item_metadata.json"
    meta = read_json(meta_path, "item metadata")
    if not isinstance(meta, dict):
        raise DatasetFormatError("expected a JSON object of item_id -> record", path=meta_path)

    skipped: dict[str, int] = {}
    items = _build_items(outfit_refs, meta, cats, root, meta_path, outfits_path,
                         on_unknown_category, skipped)
    if check_images:
        _drop_missing_images(items, on_missing_image, skipped)
    outfits, ref_to_item = _resolve_outfits(outfit_refs, items, skipped)
    compatibility = _read_compatibility(compat_path, ref_to_item, items, skipped)
    fitb = _read_fitb(fitb_path, ref_to_item, items, skipped)
    return Dataset(name="polyvore-outfits", split=split, items=items, outfits=tuple(outfits),
                   compatibility=tuple(compatibility), fitb=tuple(fitb), root=root,
                   skipped=skipped)


def _build_items(outfit_refs: list[tuple[str, list[tuple[str, str]]]], meta: Mapping[str, Any],
                 cats: Mapping[str, CategoryInfo], root: Path, meta_path: Path,
                 outfits_path: Path, on_unknown_category: OnBad,
                 skipped: dict[str, int]) -> dict[str, Item]:
    """The items the split's outfits use, in the order they first appear; items with no
    semantic category raise or, with ``on_unknown_category="skip"``, are counted."""
    items: dict[str, Item] = {}
    absent: list[str] = []
    unknown = 0
    for _set_id, refs in outfit_refs:
        for _index, item_id in refs:
            if item_id in items:
                continue
            if item_id not in meta:
                absent.append(item_id)
                continue
            try:
                items[item_id] = _make_item(item_id, meta[item_id], cats, root, meta_path)
            except UnknownCategoryError:
                if on_unknown_category == "error":
                    raise
                unknown += 1
    if absent:
        raise DatasetFormatError(
            f"{len(absent)} item(s) of {outfits_path.name} are not in the metadata, e.g. "
            + ", ".join(absent[:5]), path=meta_path,
            hint="the metadata and the outfit lists must come from the same release",
        )
    if unknown:
        skipped["unknown_category_items"] = unknown
    return items


def _drop_missing_images(items: dict[str, Item], on_missing_image: OnBad,
                         skipped: dict[str, int]) -> None:
    """Raise :class:`MissingImagesError` for items whose photo is absent, or drop and count
    them with ``on_missing_image="skip"``."""
    missing = [it for it in items.values() if not it.image.is_file()]
    if missing and on_missing_image == "error":
        raise MissingImagesError([it.image for it in missing[:5]], len(missing))
    for it in missing:
        del items[it.id]
    if missing:
        skipped["missing_image_items"] = len(missing)


def _resolve_outfits(outfit_refs: list[tuple[str, list[tuple[str, str]]]],
                     items: Mapping[str, Item],
                     skipped: dict[str, int]) -> tuple[list[Outfit], dict[str, str]]:
    """The outfits, keeping the items that survived (those left with fewer than two go,
    counted), and ``<set_id>_<index>`` -> item id for the questions."""
    ref_to_item: dict[str, str] = {}
    outfits: list[Outfit] = []
    for set_id, refs in outfit_refs:
        kept = []
        for index, item_id in refs:
            ref_to_item[f"{set_id}_{index}"] = item_id
            if item_id in items and item_id not in (it.id for it in kept):
                kept.append(items[item_id])
        if len(kept) >= 2:
            outfits.append(Outfit(tuple(kept), id=set_id))
        else:
            skipped["outfits"] = skipped.get("outfits", 0) + 1
    return outfits, ref_to_item


def _resolve(ref: str, ref_to_item: Mapping[str, str], path: Path, line: int | None,
             where: str = "") -> str:
    try:
        return ref_to_item[ref]
    except KeyError:
        raise DatasetFormatError(
            f"{where}item reference {ref!r} is not '<set_id>_<index>' of an outfit in this split",
            path=path, line=line,
        ) from None


def _read_compatibility(path: Path, ref_to_item: Mapping[str, str], items: Mapping[str, Item],
                        skipped: dict[str, int]) -> list[CompatibilityQuestion]:
    if not path.exists():
        return []
    out = []
    for n, line in read_text_lines(path, "compatibility file"):
        parts = line.split()
        if parts[0] not in ("0", "1") or len(parts) < 3:
            raise DatasetFormatError(
                f"expected '<0|1> <set_id>_<index> <set_id>_<index> ...', got {line[:80]!r}",
                path=path, line=n,
            )
        ids = tuple(_resolve(r, ref_to_item, path, n) for r in parts[1:])
        if all(i in items for i in ids):
            out.append(CompatibilityQuestion(label=int(parts[0]), item_ids=ids))
        else:
            skipped["compatibility"] = skipped.get("compatibility", 0) + 1
    return out


def _read_fitb(path: Path, ref_to_item: Mapping[str, str], items: Mapping[str, Item],
               skipped: dict[str, int]) -> list[FITBQuestion]:
    if not path.exists():
        return []
    raw = read_json(path, "fill-in-the-blank file")
    if not isinstance(raw, list):
        raise DatasetFormatError("expected a JSON list of questions", path=path)
    out = []
    for k, rec in enumerate(raw):
        where = f"question #{k}: "
        try:
            question = [str(r).strip() for r in rec["question"]]
            answers = [str(r).strip() for r in rec["answers"]]
            blank = rec.get("blank_position")
        except (KeyError, TypeError, AttributeError):
            raise DatasetFormatError(
                f"{where}needs 'question' and 'answers' lists", path=path) from None
        if not question or len(answers) < 2:
            raise DatasetFormatError(f"{where}needs a question and at least two answers", path=path)
        set_id = question[0].rsplit("_", 1)[0]
        right = [j for j, a in enumerate(answers) if a.rsplit("_", 1)[0] == set_id]
        if len(right) != 1:
            raise DatasetFormatError(
                f"{where}{len(right)} answers come from the question's outfit {set_id} "
                "(exactly one must)", path=path,
            )
        q_ids = tuple(_resolve(r, ref_to_item, path, None, where) for r in question)
        a_ids = tuple(_resolve(r, ref_to_item, path, None, where) for r in answers)
        if all(i in items for i in (*q_ids, *a_ids)):
            out.append(FITBQuestion(question_ids=q_ids, answer_ids=a_ids, answer_index=right[0],
                                    blank_position=int(blank) if blank is not None else None,
                                    outfit_id=set_id))
        else:
            skipped["fitb"] = skipped.get("fitb", 0) + 1
    return out

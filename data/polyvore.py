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
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from outfit.domain import Item, Outfit
from outfit.errors import (
    DatasetFormatError,
    DuplicateItemError,
    MissingFileError,
    MissingImagesError,
    OutfitError,
    UnknownCategoryError,
)
from outfit.vocab import SEMANTIC_CATEGORIES, normalize_category

from .dataset import CompatibilityQuestion, Dataset, FITBQuestion
from .fileio import atomic_write_json, atomic_write_text, read_json, read_text_lines

__all__ = [
    "SPLITS",
    "VERSIONS",
    "CategoryInfo",
    "read_categories",
    "read_polyvore_outfits",
    "write_polyvore_outfits",
]

SPLITS = ("train", "valid", "test")
VERSIONS = ("nondisjoint", "disjoint")
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


def _split_paths(root: Path, version: str, split: str) -> tuple[Path, Path, Path]:
    base = root / version
    return (base / f"{split}.json", base / f"compatibility_{split}.txt",
            base / f"fill_in_blank_{split}.json")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OutfitError(f"unknown {name} {value!r}", hint="use one of: " + ", ".join(choices))


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
    _check_choice("split", split, SPLITS)
    _check_choice("version", version, VERSIONS)
    _check_choice("on_missing_image", on_missing_image, ("error", "skip"))
    _check_choice("on_unknown_category", on_unknown_category, ("error", "skip"))
    if not root.is_dir():
        raise MissingFileError(root, "Polyvore Outfits folder")
    outfits_path, compat_path, fitb_path = _split_paths(root, version, split)
    outfit_refs = _read_outfit_refs(outfits_path)  # first: a wrong split fails before the big file
    cats = read_categories(root / "categories.csv")
    meta_path = root / "polyvore_item_metadata.json"
    meta = read_json(meta_path, "item metadata")
    if not isinstance(meta, dict):
        raise DatasetFormatError("expected a JSON object of item_id -> record", path=meta_path)

    skipped: dict[str, int] = {}
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
    if check_images:
        missing = [it for it in items.values() if not it.image.is_file()]
        if missing and on_missing_image == "error":
            raise MissingImagesError([it.image for it in missing[:5]], len(missing))
        for it in missing:
            del items[it.id]
        if missing:
            skipped["missing_image_items"] = len(missing)

    # Resolve <set_id>_<index> through the outfit list; outfits keep the items that survived.
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

    compatibility = _read_compatibility(compat_path, ref_to_item, items, skipped)
    fitb = _read_fitb(fitb_path, ref_to_item, items, skipped)
    return Dataset(name="polyvore-outfits", split=split, items=items, outfits=tuple(outfits),
                   compatibility=tuple(compatibility), fitb=tuple(fitb), root=root,
                   skipped=skipped)


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


# ---------------------------------------------------------------------------------- writer


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _category_ids(items: list[Item]) -> dict[tuple[str, str], str]:
    """(fine name, semantic) -> category id; ids the items carry are kept, others assigned."""
    ids: dict[tuple[str, str], str] = {}
    for it in items:
        cid = str(it.attributes.get("category_id") or "").strip()
        key = (it.category, it.semantic_category)
        if cid:
            if ids.get(key, cid) != cid:
                raise DatasetFormatError(
                    f"category {it.category!r} carries two ids ({ids[key]}, {cid})")
            ids[key] = cid
    used = {int(c) for c in ids.values() if c.isdigit()}
    nxt = max(used, default=0) + 1
    for it in items:
        key = (it.category, it.semantic_category)
        if key not in ids:
            ids[key] = str(nxt)
            nxt += 1
    return ids


def _metadata_record(it: Item, cid: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "url_name": _slug(it.name or it.category),
        "description": "",
        "catgeories": [],
        "title": it.name,
        "related": [],
    }
    for k, v in it.attributes.items():
        if k == "categories":
            rec["catgeories"] = list(v)
        elif k in ("source",):  # paths on the writer's machine mean nothing elsewhere
            continue
        else:
            rec[k] = v
    rec["category_id"] = cid
    rec["semantic_category"] = it.semantic_category
    return rec


def _write_image(it: Item, dest: Path) -> None:
    if it.image is None:
        raise MissingFileError(f"(item {it.id})", "image", hint="every exported item needs a photo")
    if it.image.resolve() == dest.resolve():
        return
    from .images import load_image, save_jpeg  # Pillow only when images are written

    save_jpeg(load_image(it.image), dest)


def write_polyvore_outfits(
    root: Path | str,
    splits: Mapping[str, Dataset],
    *,
    version: str = "nondisjoint",
    images: bool = True,
) -> Path:
    """Write ``splits`` (split name -> Dataset) as a Polyvore Outfits folder under ``root``.

    Items of all splits go into one metadata file and one categories file; an id used in two
    splits must be the same item. Questions are written back as ``<set_id>_<index>``: a
    question's items must belong to outfits of its split. Each file is written atomically.
    With ``images`` every item photo is written to ``images/<id>.jpg`` (re-encoded as JPEG
    unless it is already there).
    """
    root = Path(root)
    _check_choice("version", version, VERSIONS)
    for split in splits:
        _check_choice("split", split, SPLITS)
    all_items: dict[str, Item] = {}
    for ds in splits.values():
        for it in ds.items.values():
            if all_items.setdefault(it.id, it) != it:
                raise DuplicateItemError(f"item id {it.id} names two different items")
    items = list(all_items.values())
    cids = _category_ids(items)
    meta = {it.id: _metadata_record(it, cids[(it.category, it.semantic_category)]) for it in items}
    root.mkdir(parents=True, exist_ok=True)
    if images:
        for it in items:
            _write_image(it, root / "images" / f"{it.id}.jpg")
    atomic_write_json(root / "polyvore_item_metadata.json", meta)
    lines = [f"{cid},{fine},{sem}" for (fine, sem), cid in
             sorted(cids.items(), key=lambda kv: int(kv[1]) if kv[1].isdigit() else 0)]
    atomic_write_text(root / "categories.csv", "\n".join(lines) + "\n")
    for split, ds in splits.items():
        _write_split(root, version, split, ds)
    return root


def _write_split(root: Path, version: str, split: str, ds: Dataset) -> None:
    outfits_path, compat_path, fitb_path = _split_paths(root, version, split)
    records, first_ref, refs_by_set = [], {}, {}
    for n, outfit in enumerate(ds.outfits):
        set_id = outfit.id or f"{split}{n}"
        if set_id in refs_by_set:
            raise DuplicateItemError(f"outfit id {set_id} is used twice in split {split}")
        refs_by_set[set_id] = {it.id: f"{set_id}_{k}" for k, it in enumerate(outfit.items, 1)}
        for item_id, ref in refs_by_set[set_id].items():
            first_ref.setdefault(item_id, ref)
        records.append({"items": [{"item_id": it.id, "index": k}
                                  for k, it in enumerate(outfit.items, 1)], "set_id": set_id})
    atomic_write_json(outfits_path, records, indent=1)

    def ref(item_id: str, what: str) -> str:
        if item_id not in first_ref:
            raise DatasetFormatError(
                f"{what} names item {item_id}, which is in no outfit of split {split}",
                hint="questions can only name items of the split's outfits")
        return first_ref[item_id]

    compat = [" ".join([str(q.label), *(ref(i, "a compatibility question") for i in q.item_ids)])
              for q in ds.compatibility]
    atomic_write_text(compat_path, "".join(line + "\n" for line in compat))
    fitb = []
    for k, q in enumerate(ds.fitb):
        set_id = q.outfit_id or next(
            (s for s, m in refs_by_set.items() if all(i in m for i in (*q.question_ids, q.answer_id))),
            None)
        own = refs_by_set.get(set_id or "", {})
        if not all(i in own for i in (*q.question_ids, q.answer_id)):
            raise DatasetFormatError(
                f"fill-in-the-blank question #{k}: its items and answer are not one outfit of "
                f"split {split}")
        answers = []
        for j, a in enumerate(q.answer_ids):
            if j == q.answer_index:
                answers.append(own[a])
                continue
            other = next((m[a] for s, m in refs_by_set.items() if s != set_id and a in m), None)
            if other is None:
                raise DatasetFormatError(
                    f"fill-in-the-blank question #{k}: distractor {a} is in no other outfit of "
                    f"split {split}")
            answers.append(other)
        blank = q.blank_position if q.blank_position is not None else int(
            own[q.answer_id].rsplit("_", 1)[1])
        fitb.append({"question": [own[i] for i in q.question_ids], "answers": answers,
                     "blank_position": blank})
    atomic_write_json(fitb_path, fitb, indent=1)

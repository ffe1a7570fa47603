"""Polyvore Outfits (Vasileva et al., ECCV 2018): writer of the release layout that
:mod:`data.polyvore` reads (see there for the files). :func:`write_polyvore_outfits` is also
importable from :mod:`data.polyvore`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from outfit.domain import Item
from outfit.errors import DatasetFormatError, DuplicateItemError, MissingFileError

from .dataset import Dataset
from .fileio import atomic_write_json, atomic_write_text
from .polyvore_layout import SPLITS, VERSIONS, check_choice, split_paths

__all__ = ["write_polyvore_outfits"]


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
    check_choice("version", version, VERSIONS)
    for split in splits:
        check_choice("split", split, SPLITS)
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
    outfits_path, compat_path, fitb_path = split_paths(root, version, split)
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

"""The closet's thumbs up and down as training data: a Polyvore Outfits dataset that
``outfit train`` reads (:func:`export_polyvore`)."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from closet.errors import StoreError
from data.dataset import CompatibilityQuestion, Dataset
from data.fileio import fsync_dir
from outfit.domain import Outfit

if TYPE_CHECKING:
    from closet.store import Store

__all__ = ["export_polyvore"]


def export_polyvore(store: Store, out_dir: Path | str, *, valid_fraction: float = 0.2,
                    seed: int = 0) -> dict[str, int]:
    """Write the thumbs-up outfits as a Polyvore Outfits dataset that ``outfit train`` reads.

    Outfits are split into ``train`` and ``valid`` (``valid_fraction``, at least one when
    there are two or more; a seeded draw, so the same feedback gives the same split). Each
    split's ``compatibility_{split}.txt`` holds its outfits (label 1) and the thumbs-down
    outfits (label 0) whose items all appear in its outfits: the layout can only name items
    of a split's outfits, so other thumbs-down outfits are left out and counted. Outfits with
    an item that has no semantic category are left out too. ``out_dir`` must be empty.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StoreError(f"{out} is not an empty folder", hint="choose a new or empty folder")
    counts = {"untagged_outfits": 0, "negatives_left_out": 0}
    ups, downs = _judged_outfits(store, counts)
    if not ups:
        raise StoreError("no thumbs-up outfit to export",
                         hint="give some outfits a thumbs up first")
    splits = _splits(ups, downs, valid_fraction, seed, counts)
    _write(out, splits)
    return counts


def _judged_outfits(store: Store, counts: dict[str, int],
                    ) -> tuple[list[Outfit], list[tuple[str, ...]]]:
    """The thumbs-up outfits and the thumbs-down item ids; feedback naming an item with no
    semantic category is counted under ``untagged_outfits``."""
    closet = store.closet(available_only=False)
    ups: list[Outfit] = []
    downs: list[tuple[str, ...]] = []
    for fb in store.feedback():
        if not all(i in closet for i in fb.item_ids):
            counts["untagged_outfits"] += 1
        elif fb.up:
            ups.append(Outfit(tuple(closet.get(i) for i in fb.item_ids), id=fb.id))
        else:
            downs.append(fb.item_ids)
    return ups, downs


def _splits(ups: list[Outfit], downs: list[tuple[str, ...]], valid_fraction: float, seed: int,
            counts: dict[str, int]) -> dict[str, Dataset]:
    """``train`` and ``valid`` drawn from ``ups`` with ``seed``, each with the thumbs-down
    outfits whose items all appear in its outfits (each placed once); counted in ``counts``."""
    order = list(range(len(ups)))
    random.Random(seed).shuffle(order)
    n_valid = max(1, round(len(ups) * valid_fraction)) if len(ups) >= 2 else 0
    chosen = {"valid": sorted(order[:n_valid]), "train": sorted(order[n_valid:])}
    splits: dict[str, Dataset] = {}
    placed: set[int] = set()
    for split in ("train", "valid"):
        outfits = [ups[k] for k in chosen[split]]
        items = {it.id: it for o in outfits for it in o}
        questions = [CompatibilityQuestion(1, o.item_ids) for o in outfits]
        for n, ids in enumerate(downs):
            if n not in placed and all(i in items for i in ids):
                placed.add(n)
                questions.append(CompatibilityQuestion(0, ids))
        splits[split] = Dataset("closet-feedback", split, items, tuple(outfits),
                                compatibility=tuple(questions))
        counts[f"{split}_outfits"] = len(outfits)
        counts[f"{split}_items"] = len(items)
    counts["negatives"] = len(placed)
    counts["negatives_left_out"] = len(downs) - len(placed)
    return splits


def _write(out: Path, splits: dict[str, Dataset]) -> None:
    """Write ``splits`` as the Polyvore Outfits folder ``out``, with the item photos copied."""
    from data.polyvore import write_polyvore_outfits  # only this export needs the writer

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:  # written beside ``out`` and renamed: never half a dataset under its name
        write_polyvore_outfits(tmp, splits, images=False)
        (tmp / "images").mkdir()
        for it in {it.id: it for ds in splits.values() for it in ds.items.values()}.values():
            shutil.copyfile(str(it.image), tmp / "images" / f"{it.id}.jpg")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

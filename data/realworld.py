"""A world of real photos: the synthetic world's outfit rules applied to labelled real photos.

The synthetic world measures a grader on drawings; a person's closet is photos. This module
makes a test world out of real photos whose attributes a person labelled by eye
(``data/labels/clothing_small_colors_patterns.csv``: main colour and pattern of 1,012
clothing-small photos), so that a grader can be measured on real pixels with known reasons:

- **items**: every labelled photo; its category from its folder (``t-shirt``, ``pants``...,
  through :func:`data.folder.category_for`), its ``color`` (the labelled main colour; blue
  trousers and shorts are denim, :func:`data.synth.attributes.rule_color`) and ``pattern``.
- **rules**: those of :mod:`data.synth.rules` that the labels can decide: a complete outfit,
  colour harmony, one bold pattern. Formality and season are not labelled, so their rules take
  no part (an item without an attribute takes no part in its rule).
- **outfits**: drawn like the synthetic world's, inside a theme (neutrals plus at most two
  hues that do not clash, at most one patterned item, one of the four main shapes, shoes, and
  a hat now and then), each checked against :func:`data.synth.rules.truth`.
- **splits**: photos of clothing-small's ``train`` folder make the train split (four in five)
  and the valid split (the rest, by a hash of the file name); photos of its ``test`` folder
  make the test split, so no photo is in two splits, and the shipped tagger (trained on
  ``train``) never saw a test photo.
- **questions** and **ground truth**: exactly as the synthetic world makes them
  (:func:`data.synth.questions.make_questions`), in the same files (see :mod:`data.synth.writer`).

The photos are copied byte for byte into ``images/<item_id>.jpg``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path

from outfit.domain import Item, Outfit
from outfit.errors import DataError, MissingFileError
from outfit.vocab import ACCESSORY, SLOTS

from .fileio import atomic_write_text
from .folder import category_for
from .synth.attributes import CLASHES, HUES, NEUTRALS, PATTERNS, SOLID, rule_color
from .synth.rules import RULES, truth
from .synth.world import harmonious_palette
from .synth.writer import write_split

__all__ = ["read_labelled_photos", "make_real_world", "random_outfits", "GENERATOR",
           "RULES_USED"]

GENERATOR = "outfit real-photo world"
GENERATOR_VERSION = 1
RULES_USED = ("complete_outfit", "color_harmony", "one_bold_pattern")
_MARKER = ".real-photo-world"
_VALID_SHARE = 0.2
_HAT_SHARE = 0.3
_SHAPES = ((("outer", "upper", "lower"), 0.3), (("upper", "lower"), 0.4),
           (("outer", "full"), 0.1), (("full",), 0.2))
_COLORS = NEUTRALS | frozenset(HUES)


def _item_id(rel: str) -> str:
    return "r" + hashlib.sha1(rel.encode("utf-8")).hexdigest()[:11]


def read_labelled_photos(photos: Path | str, labels: Path | str, *,
                         flat: bool = False) -> dict[str, list[Item]]:
    """The labelled photos as items, per split (``train``, ``valid``, ``test``; see the
    module). ``labels`` is a CSV with columns ``file`` (relative to ``photos``), ``main_color``
    and ``pattern``; rows naming a missing photo raise :class:`MissingFileError`. With
    ``flat``, ``photos`` is one folder of some of the labelled photos under their own names
    (as the demo closet's ``data/demo_closet/photos``): rows whose photo is not there are
    left out."""
    photos, labels = Path(photos), Path(labels)
    if not labels.is_file():
        raise MissingFileError(labels, "labels CSV")
    splits: dict[str, list[Item]] = {"train": [], "valid": [], "test": []}
    with labels.open(newline="") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            rel = (row.get("file") or "").strip()
            color, pattern = (row.get("main_color") or "").strip(), (row.get("pattern") or "").strip()
            if color not in _COLORS or pattern not in PATTERNS:
                raise DataError(f"{labels}, line {n}: colour {color!r} or pattern {pattern!r} is "
                                "not in the vocabulary",
                                hint="colours: " + ", ".join(sorted(_COLORS))
                                + "; patterns: " + ", ".join(PATTERNS))
            path = photos / (Path(rel).name if flat else rel)
            if not path.is_file():
                if flat:
                    continue
                raise MissingFileError(path, "labelled photo",
                                       hint=f"named on line {n} of {labels}")
            top, folder = Path(rel).parts[0], Path(rel).parent.name
            category, semantic = category_for(folder)
            item_id = _item_id(rel)
            item = Item(id=item_id, category=category, semantic_category=semantic, image=path,
                        name=f"{color} {category}",
                        attributes={"color": rule_color(category, color), "pattern": pattern,
                                    "source": rel})
            if top == "test":
                split = "test"
            else:
                valid = int(hashlib.sha1(rel.encode()).hexdigest()[:8], 16) / 2**32 < _VALID_SHARE
                split = "valid" if valid else "train"
            splits[split].append(item)
    return splits


def _theme(rng: random.Random) -> tuple[frozenset[str], bool]:
    return harmonious_palette(rng, (0.15, 0.4, 0.45)), rng.random() < 0.7


def _sample_outfits(items: list[Item], n: int, rng: random.Random) -> list[list[str]]:
    by_slot: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_slot[it.slot].append(it)
    outfits: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for _ in range(n * 40):
        if len(outfits) >= n:
            break
        palette, pattern_ok = _theme(rng)
        shape = rng.choices([s for s, _ in _SHAPES], [w for _, w in _SHAPES])[0]
        slots = [*shape, "shoes"] + ([ACCESSORY] if rng.random() < _HAT_SHARE else [])
        order = list(slots)
        rng.shuffle(order)  # so the pattern and the hues land on any piece
        chosen: dict[str, Item] = {}
        for slot in order:
            fits = [it for it in by_slot.get(slot, ())
                    if it.attributes["color"] in palette
                    and (pattern_ok or it.attributes["pattern"] == SOLID)]
            if not fits:
                break
            pick = rng.choice(fits)
            chosen[slot] = pick
            if pick.attributes["pattern"] != SOLID:
                pattern_ok = False
        if len(chosen) < len(slots):
            continue
        picked = sorted(chosen.values(), key=lambda it: SLOTS.index(it.slot)
                        if it.slot != ACCESSORY else len(SLOTS))
        key = frozenset(it.id for it in picked)
        if key in seen:
            continue
        if not (Outfit(tuple(picked)).complete and truth(picked).ok):
            raise AssertionError(f"sampled a bad outfit {sorted(key)}")  # a sampler bug
        seen.add(key)
        outfits.append([it.id for it in picked])
    return outfits


def random_outfits(items: list[Item], n: int, rng: random.Random) -> list[list[Item]]:
    """``n`` complete outfits drawn at random from ``items`` (one of the four main shapes,
    shoes, a hat now and then), whatever the rules say: the outfits a closet could make,
    good and bad, as a search meets them."""
    by_slot: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_slot[it.slot].append(it)
    shapes = [(s, w) for s, w in _SHAPES if all(by_slot.get(x) for x in s)]
    if not shapes or not by_slot.get("shoes"):
        return []
    out = []
    for _ in range(n):
        shape = rng.choices([s for s, _ in shapes], [w for _, w in shapes])[0]
        slots = [*shape, "shoes"] + ([ACCESSORY] if by_slot.get(ACCESSORY)
                                     and rng.random() < _HAT_SHARE else [])
        out.append([rng.choice(by_slot[slot]) for slot in slots])
    return out


def _dump(path: Path, obj, indent: int | None = 1) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=True) + "\n")


def make_real_world(out_dir: Path | str, photos: Path | str, labels: Path | str, *,
                    outfits: tuple[int, int, int] = (1500, 300, 600), seed: int = 0) -> dict:
    """Write a real-photo world under ``out_dir`` in the Polyvore Outfits layout (the files of
    :mod:`data.synth.writer`, with the photos copied). ``outfits``: good outfits wanted in
    train, valid and test (fewer when the photos cannot make that many distinct ones). A
    folder holding anything but an earlier real-photo world is refused. Returns the summary
    also written to ``world.json``."""
    start = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (out / _MARKER).is_file():
        raise DataError(f"{out} is not empty and holds no real-photo world",
                        hint="give an empty or new folder")
    splits = read_labelled_photos(photos, labels)
    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    (out / "nondisjoint").mkdir()
    atomic_write_text(out / _MARKER, GENERATOR + "\n")
    every = [it for part in splits.values() for it in part]
    cats = sorted({(it.category, it.semantic_category) for it in every})
    cid = {c: str(k) for k, c in enumerate(cats, start=1)}
    atomic_write_text(out / "categories.csv", "".join(f"{cid[c]},{c[0]},{c[1]}\n" for c in cats))
    meta = {it.id: {"url_name": it.name.replace(" ", "-"), "description": "", "catgeories": [],
                    "title": it.name, "related": [],
                    "category_id": cid[(it.category, it.semantic_category)],
                    "semantic_category": it.semantic_category,
                    **{k: v for k, v in it.attributes.items()}} for it in every}
    _dump(out / "polyvore_item_metadata.json", meta, indent=None)
    for it in every:
        shutil.copyfile(it.image, out / "images" / f"{it.id}.jpg")
    truth_file: dict = {"compatibility": {}, "fitb": {}}
    counts: dict[str, dict[str, int]] = {"items": {}, "outfits": {}, "compatibility": {},
                                         "fitb": {}}
    set_no = 300_000_001
    for (split, part), wanted in zip(splits.items(), outfits, strict=True):
        items = {it.id: Item(it.id, it.category, it.semantic_category,
                             out / "images" / f"{it.id}.jpg", it.name, it.attributes)
                 for it in part}
        drawn = _sample_outfits(list(items.values()), wanted, random.Random(f"{seed}:{split}"))
        chosen = [(str(set_no + k), ids) for k, ids in enumerate(drawn)]
        set_no += len(drawn)
        qs = write_split(out, split, chosen, items, random.Random(f"{seed}:questions:{split}"))
        truth_file["compatibility"][split] = qs.compatibility_truth
        truth_file["fitb"][split] = qs.fitb_truth
        counts["items"][split] = len(items)
        counts["outfits"][split] = len(chosen)
        counts["compatibility"][split] = len(qs.compatibility)
        counts["fitb"][split] = len(qs.fitb)
    _dump(out / "ground_truth.json", {
        **truth_file,
        "rules": {r: {"property": RULES[r].property, "weight": RULES[r].weight,
                      "description": RULES[r].description} for r in RULES_USED},
        "attributes": {"colors": sorted(_COLORS), "neutrals": sorted(NEUTRALS),
                       "clashes": sorted(sorted(p) for p in CLASHES), "patterns": list(PATTERNS)},
        "labels": str(labels)})
    summary = {"generator": GENERATOR, "version": GENERATOR_VERSION, "seed": seed,
               "photos": str(photos), "labels": Path(labels).name, **counts}
    _dump(out / "world.json", summary)
    return {**summary, "seconds": round(time.perf_counter() - start, 2)}

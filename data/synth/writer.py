"""``generate_world``: write a whole synthetic world in the Polyvore Outfits layout.

Files written under ``out_dir`` (the layout of Vasileva et al., ECCV 2018, nondisjoint version):

- ``images/<item_id>.jpg``: the product photos (RGB JPEG, ``image_size`` square).
- ``polyvore_item_metadata.json``: item_id -> ``url_name``, ``description``, ``catgeories``
  (misspelt as in the release), ``title``, ``related``, ``category_id``, ``semantic_category``,
  plus ``color``, ``pattern``, ``formality``, ``season``, ``kind`` and ``style``.
- ``categories.csv``: ``id,fine-grained name,semantic category``, one row per style (the
  fine-grained category: ``chelsea boots``, ``sheath dress``), no header.
- ``nondisjoint/{train,valid,test}.json``: outfits, ``{"items": [{"item_id", "index"}], "set_id"}``,
  index from 1.
- ``nondisjoint/compatibility_{split}.txt``: positives (``1 <set_id>_<index> ...``) first, then
  negatives (``0 ...``); every reference names an outfit of the same split.
- ``nondisjoint/fill_in_blank_{split}.json``: ``{"question", "answers" (4), "blank_position"}``;
  the right answer is the one whose set_id is the question's; ``blank_position`` is the
  blank item's ``index`` in its outfit (from 1).
- ``ground_truth.json``: the reason behind every negative and every distractor:
  ``{"compatibility": {split: [{"line", "set_id", "position", "replaced_item_id", "item_id",
  "rule", "property", "violations"}]}, "fitb": {split: [{"question", "answer", "set_id",
  "item_id", "rule", "property", "violations"}]}, "rules": ..., "attributes": ...}``.
  ``line`` is the 1-based line number in ``compatibility_<split>.txt``; ``position`` the 0-based
  position of the swapped item on that line (after the label); ``question`` the 0-based index
  in ``fill_in_blank_<split>.json`` and ``answer`` the 0-based index in its ``answers``.
  ``item_id`` is the swapped-in item (or the distractor), which alone breaks ``rule`` through
  ``property``; ``violations`` lists every ``[item_id, rule, property]`` that
  :func:`~.rules.truth` found (one entry, except for the rare swap that breaks two rules).
- ``world.json``, written last (its presence means the world is complete): generator, version,
  seed, image size and the counts that :func:`generate_world` returns.
- ``.synthetic-world``, written first: marks the folder as one this generator may overwrite.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from outfit.errors import DataError

from ..fileio import atomic_write_text
from .attributes import CLASHES, COLORS, FORMALITIES, NEUTRALS, PATTERN_WORDS, PATTERNS, SEASONS
from .kinds import KIND_BY_NAME, KINDS, STYLE_CATEGORY_IDS
from .questions import SplitQuestions, make_questions
from .rules import RULES
from .world import Catalogue, item_name, make_item, sample_outfits

__all__ = ["generate_world", "write_split", "GENERATOR", "GENERATOR_VERSION", "SPLITS"]

GENERATOR = "outfit synthetic world"
GENERATOR_VERSION = 2  # 2: one fine-grained category per style
SPLITS = ("train", "valid", "test")
_SHARES = {"train": 0.7, "valid": 0.1}
_MARKER = ".synthetic-world"  # written first: a folder with it may be overwritten
_OURS = {"images", "nondisjoint", "polyvore_item_metadata.json", "categories.csv",
         "ground_truth.json", "world.json", _MARKER}


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _ours(out: Path) -> bool:
    """Whether ``out`` holds a world this generator wrote (complete or interrupted)."""
    if (out / _MARKER).is_file():
        return True
    try:
        return json.loads((out / "world.json").read_text()).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        return False


def _prepare(out: Path) -> None:
    """Use an empty or new folder, or replace a world written here before; refuse anything
    else, so that no one's photos are ever deleted."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        foreign = sorted(p.name for p in out.iterdir() if p.name not in _OURS)
        if foreign or not _ours(out):
            raise DataError(f"{out} is not empty and holds no synthetic world"
                            + (f" (it holds {', '.join(foreign[:3])})" if foreign else ""),
                            hint="give a new or empty folder")
        (out / "world.json").unlink(missing_ok=True)
        for old in (out / "images").glob("*.jpg"):
            old.unlink()
    (out / "nondisjoint").mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / _MARKER, GENERATOR + "\n")


def _metadata(catalogue: Catalogue) -> dict[str, dict]:
    meta = {}
    for item_id, spec in catalogue.specs.items():
        kind = KIND_BY_NAME[spec["kind"]]
        pattern = PATTERN_WORDS[spec["pattern"]]
        title = " ".join(w for w in (spec["color"], pattern, spec["style"]) if w)
        meta[item_id] = {
            "url_name": item_name(spec),
            "description": f"A {spec['formality']} {spec['season']} {spec['style']} in "
                           f"{spec['color']}{', ' + pattern if pattern else ''}.",
            "catgeories": ["Synthetic Fashion", kind.semantic_category.capitalize(),
                           kind.name.capitalize()],
            "title": title[:1].upper() + title[1:],
            "related": [],
            "category_id": STYLE_CATEGORY_IDS[spec["style"]],
            "semantic_category": kind.semantic_category,
            **{k: spec[k] for k in ("color", "pattern", "formality", "season", "kind", "style")},
        }
    return meta


def _split(n: int, rng: random.Random) -> dict[str, list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    n_train, n_valid = round(n * _SHARES["train"]), round(n * _SHARES["valid"])
    parts = {"train": order[:n_train], "valid": order[n_train:n_train + n_valid],
             "test": order[n_train + n_valid:]}
    return {k: sorted(v) for k, v in parts.items()}


def _dump(path: Path, obj, indent: int | None = 4) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=True) + "\n")


def write_split(out: Path, split: str, chosen: list[tuple[str, list[str]]],
                items: dict, rng: random.Random) -> SplitQuestions:
    """Write one split's outfits (``(set_id, item ids)``), their compatibility and
    fill-in-the-blank questions (made by :func:`.questions.make_questions` with ``rng``) under
    ``out/nondisjoint``; returns the questions with their ground truth."""
    _dump(out / "nondisjoint" / f"{split}.json",
          [{"items": [{"item_id": i, "index": k} for k, i in enumerate(ids, start=1)],
            "set_id": sid} for sid, ids in chosen])
    qs = make_questions(chosen, items, rng)
    atomic_write_text(out / "nondisjoint" / f"compatibility_{split}.txt",
                      "".join(line + "\n" for line in qs.compatibility))
    _dump(out / "nondisjoint" / f"fill_in_blank_{split}.json", qs.fitb)
    return qs


def _vocabulary() -> dict:
    return {
        "rules": {r.name: {"property": r.property, "weight": r.weight,
                           "description": r.description} for r in RULES.values()},
        "attributes": {
            "colors": list(COLORS), "neutrals": sorted(NEUTRALS),
            "clashes": sorted(sorted(pair) for pair in CLASHES),
            "patterns": list(PATTERNS), "formalities": list(FORMALITIES),
            "seasons": list(SEASONS),
            "kinds": {k.name: {"semantic_category": k.semantic_category,
                               "styles": {s.name: {"category_id": STYLE_CATEGORY_IDS[s.name],
                                                   "formality": s.formality, "season": s.season}
                                          for s in k.styles}}
                      for k in KINDS},
        },
    }


def generate_world(out_dir: str | Path, *, n_outfits: int = 2000, seed: int = 0,
                   image_size: int = 128, workers: int | None = None,
                   progress: bool = False) -> dict:
    """Write a synthetic world under ``out_dir`` (see the module docstring for the files).

    ``n_outfits`` good outfits (at least 10), split about 70/10/20 into train/valid/test; photos
    of ``image_size`` pixels drawn by ``workers`` processes (default up to 2; the photos are the
    same whatever the number; extra processes are spawned, so a script that calls this with
    more than one worker needs the ``if __name__ == "__main__":`` guard). Same ``seed``, same
    files, byte for byte. A folder holding anything but an earlier synthetic world is refused
    (:class:`~outfit.errors.DataError`); an earlier world is replaced.
    Returns the summary also stored in ``world.json``, plus ``seconds``: ``items``, ``kinds``,
    and per split ``outfits``, ``compatibility`` (questions), ``fitb`` (questions) and
    ``skipped`` (outfits too unlike the rest of a small split to get a negative or a question).
    """
    if n_outfits < 10:
        raise DataError(f"a world needs at least 10 outfits, got {n_outfits}")
    if not 16 <= image_size <= 2048:
        raise DataError(f"image size {image_size} is out of range", hint="use 16 to 2048 pixels")
    start = time.perf_counter()
    out = Path(out_dir)
    _prepare(out)
    images = out / "images"
    _say(progress, f"sampling {n_outfits} outfits (seed {seed})")
    catalogue, outfits = sample_outfits(n_outfits, random.Random(f"{seed}:outfits"))
    items = {i: make_item(i, spec, images / f"{i}.jpg") for i, spec in catalogue.specs.items()}

    _say(progress, "writing outfits and questions")
    _dump(out / "polyvore_item_metadata.json", _metadata(catalogue), indent=None)
    atomic_write_text(out / "categories.csv",
                      "".join(f"{STYLE_CATEGORY_IDS[s.name]},{s.name},{k.semantic_category}\n"
                              for k in KINDS for s in k.styles))
    truth_file, counts, skipped = _write_splits(out, outfits, items, seed)
    _write_ground_truth(out, truth_file)

    from .render import write_images  # Pillow and numpy only when drawing

    _say(progress, f"drawing {len(catalogue.specs)} photos")
    write_images(list(catalogue.specs.items()), images, size=image_size, seed=seed,
                 workers=workers, progress=progress)
    summary = {"generator": GENERATOR, "version": GENERATOR_VERSION, "seed": seed,
               "image_size": image_size, "items": len(catalogue.specs),
               "kinds": len({s["kind"] for s in catalogue.specs.values()}), **counts,
               "skipped": skipped}
    _dump(out / "world.json", summary)
    seconds = round(time.perf_counter() - start, 2)
    _say(progress, f"done in {seconds} s")
    return {**summary, "seconds": seconds}


def _write_splits(out: Path, outfits: list[list[str]], items: dict, seed: int,
                  ) -> tuple[dict, dict[str, dict[str, int]], dict[str, int]]:
    """Split the outfits about 70/10/20 and write each split (:func:`write_split`); returns
    the ground truth per split, the counts per split and what each split skipped."""
    set_ids = [str(200_000_001 + n) for n in range(len(outfits))]
    parts = _split(len(outfits), random.Random(f"{seed}:splits"))
    truth_file: dict = {"compatibility": {}, "fitb": {}}
    counts: dict[str, dict[str, int]] = {"outfits": {}, "compatibility": {}, "fitb": {}}
    skipped: dict[str, int] = {}
    for split in SPLITS:
        chosen = [(set_ids[n], outfits[n]) for n in parts[split]]
        qs = write_split(out, split, chosen, items, random.Random(f"{seed}:questions:{split}"))
        truth_file["compatibility"][split] = qs.compatibility_truth
        truth_file["fitb"][split] = qs.fitb_truth
        counts["outfits"][split] = len(chosen)
        counts["compatibility"][split] = len(qs.compatibility)
        counts["fitb"][split] = len(qs.fitb)
        for what, n in qs.skipped.items():
            if n:
                skipped[f"{split} {what}"] = n
    return truth_file, counts, skipped


def _write_ground_truth(out: Path, truth_file: dict) -> None:
    conventions = {"line": "1-based line number in nondisjoint/compatibility_<split>.txt",
                   "position": "0-based position of the swapped item among the line's items",
                   "question": "0-based index in nondisjoint/fill_in_blank_<split>.json",
                   "answer": "0-based index in that question's answers",
                   "item_id": "the swapped-in item or distractor, which breaks the rule"}
    _dump(out / "ground_truth.json", {"conventions": conventions, **truth_file, **_vocabulary()},
          indent=1)

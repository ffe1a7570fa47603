"""Colour and pattern tags against hand labels of real photos (clothing-small test split).

    .venv/bin/python bench/colors.py [--labels data/labels/clothing_small_colors_patterns.csv]
        [--photos ../shared/data/clothing-small] [--split test] [--tagger DIR]

Prints JSON: for the main colour, the share of labelled photos whose name agrees with the label
read from the whole photo (no mask), through the border test alone, and through the garment
mask (with and without white balance), none of them learnt; then the tags as the shipped (or
given) tagger gives them: main colour (its learnt namer), secondary colour (a photo with no
second colour must get none; beside never naming one) and pattern (beside always "solid").
Figures on the photos marked certain are given too, and the commonest main-colour mistakes.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.images import load_image  # noqa: E402
from grader.color import (  # noqa: E402
    COLOR_NAMES,
    color_features,
    garment_color_names,
    main_and_secondary,
)
from grader.mask import garment_mask  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIDE = 192


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=Path,
                    default=ROOT / "data" / "labels" / "clothing_small_colors_patterns.csv")
    ap.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "clothing-small")
    ap.add_argument("--split", default="test")
    ap.add_argument("--tagger", default=None, help="a tagger folder (default: the shipped one)")
    args = ap.parse_args()
    if not args.photos.is_dir():
        sys.exit(f"{args.photos} not found: this benchmark needs the clothing-small photos")
    torch.set_num_threads(2)
    with args.labels.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["file"].startswith(args.split + "/")]
    hits: dict[str, list[bool]] = {k: [] for k in ("whole", "border", "mask", "mask_balanced")}
    second: list[bool] = []
    mask_seconds = 0.0
    for r in rows:
        image = load_image(args.photos / r["file"])
        image.thumbnail((SIDE, SIDE))
        rgb = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
        t0 = time.perf_counter()
        garment = torch.from_numpy(garment_mask(image))
        mask_seconds += time.perf_counter() - t0
        x = rgb[None]
        dists = {
            "whole": color_features(x, background=torch.zeros(1, *rgb.shape[1:], dtype=torch.bool))[0],
            "border": color_features(x)[0],
            "mask": color_features(x, background=~garment[None])[0],
            "mask_balanced": garment_color_names(rgb, garment),
        }
        for k, d in dists.items():
            hits[k].append(COLOR_NAMES[int(d[: len(COLOR_NAMES)].argmax())] == r["main_color"])
        _, sec = main_and_secondary(dists["mask_balanced"])
        second.append((sec[0] if sec else "none") == r["secondary_color"])
    certain = np.array([r["certain"] == "yes" for r in rows])
    out = {"photos": len(rows), "certain_photos": int(certain.sum()),
           "main_color": {k: round(float(np.mean(v)), 4) for k, v in hits.items()},
           "main_color_certain": {k: round(float(np.array(v)[certain].mean()), 4)
                                  for k, v in hits.items()},
           "secondary_color": round(float(np.mean(second)), 4),
           "mask_ms_per_photo": round(1000 * mask_seconds / max(1, len(rows)), 1)}
    out.update(_patterns(args, rows, certain))
    print(json.dumps(out, indent=2))


def _patterns(args: argparse.Namespace, rows: list[dict], certain: np.ndarray) -> dict:
    from grader.photo_tags import describe_photos
    from grader.pretrained import shipped_tagger
    from grader.tagger import load_tagger

    tagger = load_tagger(args.tagger) if args.tagger else shipped_tagger()
    details = describe_photos([args.photos / r["file"] for r in rows], tagger)
    ok = np.array([d.pattern == r["pattern"] for d, r in zip(details, rows, strict=True)])
    solid = np.array([r["pattern"] == "solid" for r in rows])
    color = np.array([d.color == r["main_color"] for d, r in zip(details, rows, strict=True)])
    second = np.array([(d.secondary_color or "none") == r["secondary_color"]
                       for d, r in zip(details, rows, strict=True)])
    return {"pattern": round(float(ok.mean()), 4), "pattern_certain": round(float(ok[certain].mean()), 4),
            "pattern_always_solid": round(float(solid.mean()), 4),
            "main_color_as_tagged": round(float(color.mean()), 4),
            "main_color_as_tagged_certain": round(float(color[certain].mean()), 4),
            "secondary_color_as_tagged": round(float(second.mean()), 4),
            "secondary_never_named": round(float(np.mean([r["secondary_color"] == "none"
                                                          for r in rows])), 4),
            **_color_confusions([d.color for d in details], [r["main_color"] for r in rows])}


DARK = frozenset({"black", "navy", "blue", "grey"})


def _color_confusions(tagged: list[str], labels: list[str]) -> dict:
    """Where the tagged main colour goes wrong: the most frequent (label, tag) pairs, and the
    agreement if black and navy, or all the dark neutrals, counted as one name."""
    pairs = Counter((lab, tag) for tag, lab in zip(tagged, labels, strict=True) if tag != lab)

    def merged(group: frozenset) -> float:
        return float(np.mean([t == lab or (t in group and lab in group)
                              for t, lab in zip(tagged, labels, strict=True)]))

    return {"main_color_confusions": [f"{lab} tagged {tag}: {n}" for (lab, tag), n in pairs.most_common(8)],
            "main_color_black_navy_as_one": round(merged(frozenset({"black", "navy"})), 4),
            "main_color_dark_neutrals_as_one": round(merged(DARK), 4)}


if __name__ == "__main__":
    main()

"""Speed of the item-feature CNN and of batched outfit grading, on this machine's CPU.

Prints one JSON line:
  feature_images_per_s     photos -> item features (colour + CNN + heads), at --image-size
  grading_outfits_per_s    padded outfits -> logits through the whole grader (gather included)
  floor_outfits_per_s      the same network as bare matrix multiplies on ready-made inputs
  grading_vs_floor         grading time / floor time (the target is <= 2)
  grading_item_terms_outfits_per_s  grading as search does it: each item's first-layer terms
                           computed once for the table, then per outfit only sums and the head
Targets (issue 3): >= 250 images/s at the demo image size; >= 20,000 outfits/s within 2x of the
floor. Run: .venv/bin/python bench/grader_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from grader.api import FeatureTable, pad_outfits
from grader.features import ItemFeatureNet
from grader.labels import PATTERNS
from grader.model import create_grader
from outfit.vocab import SLOTS


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--outfits", type=int, default=100_000)
    p.add_argument("--items", type=int, default=5000, help="items in the feature table")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--arch", default="slots")
    p.add_argument("--repeats", type=int, default=5)
    return p


@torch.no_grad()
def main(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fn = ItemFeatureNet([f"c{i}" for i in range(48)], PATTERNS).eval()
    images = (torch.rand(args.images, 3, args.image_size, args.image_size) * 255).to(torch.uint8)

    def features() -> None:
        for s in range(0, args.images, 256):
            x = images[s:s + 256].float().div_(255)
            fn(x)

    t_feat = _median_seconds(features, max(1, args.repeats // 2))

    grader = create_grader(args.arch, fn.layout.dim).eval()
    n = args.items
    table = FeatureTable(tuple(str(i) for i in range(n)), torch.rand(n, fn.layout.dim),
                         torch.randint(0, len(SLOTS), (n,)))
    g = torch.Generator().manual_seed(1)
    padded = pad_outfits(torch.randint(0, n, (args.outfits, 6), generator=g).tolist())

    def grading() -> None:
        for s in range(0, args.outfits, 8192):
            grader(*table.gather(padded[s:s + 8192]))

    t_grade = _median_seconds(grading, args.repeats)

    result = {"bench": "grader_speed", "threads": args.threads, "image_size": args.image_size,
              "arch": args.arch,
              "feature_images_per_s": round(args.images / t_feat, 1),
              "grading_outfits_per_s": round(args.outfits / t_grade, 1)}
    if args.arch == "slots":
        result.update(_floor_and_terms(args, grader, table, padded, t_grade))
    return result


def _floor_and_terms(args: argparse.Namespace, grader, table: FeatureTable, padded, t_grade: float
                     ) -> dict:
    """The slots grader's floor (its layers as bare matrix multiplies) and its speed from
    per-item terms, as search grades."""
    # The floor: the grader's own layers as plain matrix multiplies on inputs already laid
    # out (no gather, no empty-slot handling, no masking): the per-item layers (pooled MLP,
    # pair projection) on every item of every outfit, then the layers over the outfit.
    b, per_item = 8192, 6
    item_layers = [m for m in (*([grader.pool[0], grader.pool[2], grader.first_pool]
                                  if grader.pool is not None else []), grader.pair)
                   if m is not None]
    outfit_layers = [grader.first, grader.rest[2], grader.out]
    item_inputs = [torch.rand(b * per_item, m.in_features) for m in item_layers]
    outfit_inputs = [torch.rand(b, m.in_features) for m in outfit_layers]

    def floor() -> None:
        for _ in range(0, args.outfits, b):
            for m, x in zip(item_layers, item_inputs, strict=True):
                torch.addmm(m.bias, x, m.weight.t()) if m.bias is not None else x @ m.weight.t()
            for m, x in zip(outfit_layers, outfit_inputs, strict=True):
                torch.addmm(m.bias, x, m.weight.t())

    t_floor = _median_seconds(floor, args.repeats)
    out = {"floor_outfits_per_s": round(args.outfits / t_floor, 1),
           "grading_vs_floor": round(t_grade / t_floor, 2)}

    # What search does: each item's first-layer terms once, then sums and the head.
    terms = grader.item_terms(table.feats, table.slots)

    def grading_terms() -> None:
        for s in range(0, args.outfits, b):
            grader.from_terms(terms, padded[s:s + b])

    t_terms = _median_seconds(grading_terms, args.repeats)
    out["grading_item_terms_outfits_per_s"] = round(args.outfits / t_terms, 1)
    return out


if __name__ == "__main__":
    print(json.dumps(main(get_args_parser().parse_args())))

"""The explainer's speed: milliseconds per outfit for every attribution method and for the
pixel heat maps of all an outfit's photos.

Needs a trained model and its synthetic world (``--model``, ``--world``); without them it makes
a 600-outfit world and trains the default model on it first. Prints one JSON object:

  ms_per_outfit          median over --outfits test outfits of attribute(...) for each method,
                         features already computed (as the web app has them)
  pixel_ms_per_outfit    median time of the heat maps of all the outfit's photos, per pixel
                         method (photos decoded beforehand)
  grading_ms             one forward pass of the grader on the same outfit, the floor the
                         attribution times are measured against
  eight_items_ms         median time of the exact item methods (shapley-items, shapley-pairs)
                         on eight items, their most (2^8 = 256 sub-outfits graded in one batch;
                         eight items are more than a wearable outfit holds, so the method is
                         called on the items' input directly, without attribute's checks)
  hint_ms                median time of the shopping hint (explain.counterfactual), the gxa
                         attribution given, and hint_with_gxa_ms with the attribution
Targets (issue 5): gxa <= 10 ms, shapley-items <= 50 ms, Grad-CAM for all photos <= 150 ms,
on 2 cores; issue 18: shapley-pairs on eight items <= 50 ms, the hint <= 100 ms.
Run: .venv/bin/python bench/explain_speed.py [--model DIR --world DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch
from _common import model_and_world, model_world_parser  # (importing it puts the repository on sys.path)


def get_args_parser() -> argparse.ArgumentParser:
    p = model_world_parser(__doc__)
    p.add_argument("--outfits", type=int, default=30)
    p.add_argument("--pixel-outfits", type=int, default=8)
    return p


def _median_ms(fn, runs) -> float:
    fn(runs[0])
    times = []
    for r in runs:
        t = time.perf_counter()
        fn(r)
        times.append(time.perf_counter() - t)
    return round(1000 * statistics.median(times), 2)


def _eight_items_ms(model, table, items, runs: int) -> dict:
    """Median ms of the exact item methods on ``runs`` draws of eight of ``items``."""
    import random

    from explain import get_method
    from explain.attribution import OutfitInput
    from outfit.vocab import SLOTS

    rng = random.Random(0)
    inputs = []
    for _ in range(max(1, runs)):
        eight = rng.sample(items, 8)
        feats = table.feats[torch.tensor(table.rows(it.id for it in eight))].float()
        inputs.append(OutfitInput(tuple(eight), feats,
                                  torch.tensor([SLOTS.index(it.slot) for it in eight]),
                                  feats.clone(), torch.ones(feats.shape[1]), model.layout,
                                  model.grader.eval()))
    return {m: _median_ms(get_method(m), inputs) for m in ("shapley-items", "shapley-pairs")}


def _hint_ms(model, table, outfits) -> dict:
    from explain import attribute
    from explain.counterfactual import property_hints

    atts = {id(items): attribute(items, model, "gxa", features=table) for items in outfits}
    return {"hint_ms": _median_ms(lambda items: property_hints(atts[id(items)], model,
                                                              features=table), outfits),
            "hint_with_gxa_ms": _median_ms(lambda items: property_hints(
                attribute(items, model, "gxa", features=table), model, features=table), outfits)}


def main(args: argparse.Namespace) -> dict:
    from data.loaders import load_dataset
    from explain import attribute, list_methods
    from grader import load_model
    from grader.preprocess import load_image_tensor

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, world = model_and_world(args, tmp)
        model = load_model(model_dir)
        test = load_dataset(world, split="test")
        outfits = [[test.items[i] for i in o.item_ids] for o in test.outfits[:args.outfits]]
        table = model.item_table(list(test.items.values()))
        out = {"threads": args.threads, "outfits": len(outfits),
               "mean_items": round(sum(map(len, outfits)) / len(outfits), 2)}

        def grade(items):
            with torch.no_grad():
                model.logits(table, [[it.id for it in items]])

        out["grading_ms"] = _median_ms(grade, outfits)
        out["ms_per_outfit"] = {
            m: _median_ms(lambda items, m=m: attribute(items, model, m, features=table), outfits)
            for m in list_methods()}
        out["eight_items_ms"] = _eight_items_ms(model, table, list(test.items.values()),
                                                args.outfits)
        out.update(_hint_ms(model, table, outfits))
        try:
            from explain.pixels import pixel_maps
        except ImportError:
            return out
        few = outfits[:args.pixel_outfits]
        photos = {id(items): load_image_tensor(items, model.prep) for items in few}
        out["pixel_ms_per_outfit"] = {
            m: _median_ms(lambda items, m=m: pixel_maps(items, model, m, images=photos[id(items)],
                                                       features=table), few)
            for m in ("gradcam", "saliency", "ig")}
        return out


if __name__ == "__main__":
    print(json.dumps(main(get_args_parser().parse_args())))

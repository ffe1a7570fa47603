"""Grading real photos: the default model on the real-photo world, beside a grader trained on it.

    .venv/bin/python bench/real_world.py --model ~/.outfit/models/demo
        [--photos ../shared/data/clothing-small] [--labels data/labels/...csv]
        [--world DIR] [--trained DIR] [--skip-train]

Makes the real-photo world (:func:`data.realworld.make_real_world`: the synthetic world's
colour, pattern and completeness rules applied to the hand-labelled clothing-small photos) in a
temporary folder (or ``--world``), and prints JSON with the AUC, FITB and ECE on its test split
(photos of clothing-small's test folder, which neither the shipped tagger nor any grader here
trained on) of:

- ``default_pixels``: the given model (trained on the synthetic world's drawings) reading the
  photos with its own CNN, as every model did before;
- ``default_tags_tagger``: the same model reading the photos through their named groups, the
  tags given by the shipped real-photo tagger (category, colour, pattern): what a person's
  closet gets before anyone corrects a tag;
- ``default_tags_tagger_pattern_corrected``: the same, with only the pattern tags corrected
  (set to the hand labels), the tag that matters most in this world;
- ``default_tags_labels``: the same, with the hand labels as tags (a closet whose tags were
  all corrected: the ceiling of reading by tags);
- ``trained_on_world``: a grader trained on the world's train split (EfficientNet-Lite0 with
  its ImageNet weights frozen, ``--freeze-backbone``; a few minutes), reading pixels; or the
  model in ``--trained``;
- ``color_category``: the colour-category baseline learnt on the world's train split;
- ``random``.

``calibration`` (for a model that reads tags): the expected calibration error (10 bins) of
the shown probability, with the model's own calibration (fitted on the drawings) and with its
closet calibration (:mod:`grader.closet_calibration`, fitted on random outfits of the 80 labelled
demo photos), and the log loss of both (a proper score: ECE's ten bins are coarse), on 4,000
random complete outfits of the test photos that are *not* demo photos
(an outfit's answer: whether it keeps the rules by the hand labels; the model reads the
tagger's tags); the same figures the model card holds for the demo photos themselves; and the
scores of the top 10 recommendations of a closet of the 80 demo photos, tagged by the shipped
tagger, under both calibrations.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data import load_dataset  # noqa: E402
from data.dataset import Dataset  # noqa: E402
from data.realworld import make_real_world  # noqa: E402
from grader import TrainConfig, load_model, train  # noqa: E402
from grader.baselines import create_baseline  # noqa: E402
from grader.evaluate import ModelScorer, evaluate  # noqa: E402
from grader.metrics import calibrated_probability  # noqa: E402
from grader.photo_tags import tagged_items  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _retagged(ds: Dataset) -> Dataset:
    """``ds`` with every item's category, colour and pattern as the shipped tagger says."""
    items = list(ds.items.values())
    tagged = {it.id: it for it in tagged_items(items)}
    return dataclasses.replace(ds, items=tagged)


def _figures(result) -> dict:
    s = result.summary()
    out = {k: s[k] for k in ("auc", "fitb", "ece", "accuracy", "n_compat", "n_fitb")}
    # FITB counts a question right only when the answer scores strictly highest; items with
    # the same tags read the same, so a model reading tags ties often. With ties broken at
    # random, a question is worth 1 / (number of top choices) when the answer is among them.
    scores, answers = result.fitb_scores, result.fitb_answers
    if len(answers):
        top = scores.max(1, keepdims=True)
        tied = np.isclose(scores, top, rtol=0, atol=1e-6)
        right = tied[np.arange(len(answers)), answers]
        out["fitb_ties_shared"] = float(np.mean(right / tied.sum(1)))
    return out


def _calibration(model, test: Dataset, retagged: Dataset) -> dict:
    import random

    from data.realworld import random_outfits
    from data.synth.rules import truth
    from grader.closet_calibration import DEMO_PHOTOS, LABELS, _tagged_demo
    from grader.metrics import reliability
    from recommender import search

    demo = {p.name for p in DEMO_PHOTOS.glob("*.jpg")}
    items = [it for it in test.items.values() if Path(it.attributes["source"]).name not in demo]
    outfits = random_outfits(items, 4000, random.Random("bench:calibration"))
    answers = np.array([float(truth(o).ok) for o in outfits])
    table = model.item_table([retagged.items[it.id] for it in items], reads="tags")
    logits = model.logits(table, [[it.id for it in o] for o in outfits]).astype(np.float64)
    own = (model.grader.temperature, float(model.grader.bias))
    cal = model.meta["closet_calibration"]

    def ece(t: float, b: float) -> float:
        return round(reliability(answers, calibrated_probability(logits, t, b))[3], 4)

    def log_loss(t: float, b: float) -> float:
        z = logits / t + b
        return round(float(np.mean(np.logaddexp(0.0, z) - answers * z)), 4)

    labelled, tagged = _tagged_demo(DEMO_PHOTOS, LABELS)
    closet = list(tagged)
    tops = {}
    features = model.item_table(closet, reads="tags")
    for name, (t, b) in (("drawings", own), ("closet", (cal["temperature"], cal["bias"]))):
        model.grader.set_calibration(t, b)
        tops[name] = [round(100 * r.score, 2) for r in search(closet, model, k=10,
                                                                features=features)]
    model.grader.set_calibration(*own)
    return {"outfits": len(outfits), "photos": len(items),
            "good_share": round(float(answers.mean()), 4),
            "ece_drawings_calibration": ece(*own),
            "ece_closet_calibration": ece(cal["temperature"], cal["bias"]),
            "log_loss_drawings_calibration": log_loss(*own),
            "log_loss_closet_calibration": log_loss(cal["temperature"], cal["bias"]),
            "demo_photos_in_sample": {k: cal[k] for k in ("ece_before", "ece_after",
                                                         "good_share", "outfits")},
            "demo_top10_percent": tops}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="the default model's folder")
    ap.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "clothing-small")
    ap.add_argument("--labels", type=Path,
                    default=ROOT / "data" / "labels" / "clothing_small_colors_patterns.csv")
    ap.add_argument("--world", type=Path, default=None, help="make (or reuse) the world here")
    ap.add_argument("--trained", type=Path, default=None,
                    help="a model already trained on the world (else one is trained)")
    ap.add_argument("--skip-train", action="store_true", help="no grader trained on the world")
    args = ap.parse_args()
    if not args.photos.is_dir():
        sys.exit(f"{args.photos} not found: this benchmark needs the clothing-small photos")
    torch.set_num_threads(2)
    tmp = tempfile.TemporaryDirectory()
    world = args.world or Path(tmp.name) / "world"
    if not (world / "world.json").is_file():
        make_real_world(world, args.photos, args.labels)
    summary = json.loads((world / "world.json").read_text())
    test = load_dataset(world, split="test")
    out: dict = {"world": {k: summary[k] for k in ("items", "outfits", "compatibility", "fitb")},
                 "split": "test"}
    model = load_model(args.model)
    out["default_pixels"] = _figures(evaluate(test, ModelScorer(model), name="pixels"))
    if model.named_groups is not None:
        t0 = time.perf_counter()
        retagged = _retagged(test)
        out["tagging_seconds"] = round(time.perf_counter() - t0, 1)
        out["default_tags_tagger"] = _figures(
            evaluate(retagged, ModelScorer(model, reads="tags"), name="tags (tagger)"))
        fixed = {i: dataclasses.replace(t, attributes={**t.attributes, "pattern":
                                                       test.items[i].attributes["pattern"]})
                 for i, t in retagged.items.items()}
        out["default_tags_tagger_pattern_corrected"] = _figures(evaluate(
            dataclasses.replace(test, items=fixed), ModelScorer(model, reads="tags"),
            name="tags (tagger, patterns corrected)"))
        out["default_tags_labels"] = _figures(
            evaluate(test, ModelScorer(model, reads="tags"), name="tags (labels)"))
    else:
        out["note"] = "the model keeps no named groups: it cannot read photos by tags"
    if model.closet_reads == "tags":
        out["calibration"] = _calibration(model, test, retagged)
    train_ds = load_dataset(world, split="train")
    valid_ds = load_dataset(world, split="valid")
    out["color_category"] = _figures(evaluate(
        test, create_baseline("color-category", train_ds, valid=valid_ds), name="color-category"))
    out["random"] = _figures(evaluate(test, create_baseline("random"), name="random"))
    if not args.skip_train:
        trained = args.trained
        if trained is None:
            trained = Path(tmp.name) / "trained"
            t0 = time.perf_counter()
            train(TrainConfig(dataset=str(world), out=str(trained), backbone="efficientnet-lite0",
                              weights="imagenet", image_size=224, freeze_backbone=True,
                              progress=False))
            out["trained_seconds"] = round(time.perf_counter() - t0, 1)
        out["trained_on_world"] = _figures(evaluate(test, ModelScorer(load_model(trained)),
                                                    name="trained"))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

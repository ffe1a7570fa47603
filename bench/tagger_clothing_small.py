"""Accuracy of the category tagger trained from scratch on real photos (clothing-small).

Trains the tagger with the defaults of ``outfit train-tagger`` on ``../shared/data/clothing-small``
(train split; the epoch kept by validation accuracy) and prints one JSON line:
  image_size, epochs     the recipe
  train_seconds          training time on this machine (decoding the photos not included)
  valid_acc, test_acc    top-1 accuracy on the validation and test splits (real photos)
  model_bytes            size of tagger.pt
Target (the issue): test_acc >= 0.85. Run: .venv/bin/python bench/tagger_clothing_small.py
[--threads 2] [--image-size N] [--epochs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "clothing-small"


def get_args_parser() -> argparse.ArgumentParser:
    from outfit_cli.cmd_train import train_tagger as command

    defaults = {p.name: p.default for p in command.params}
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--backbone", default=defaults["backbone"])
    p.add_argument("--image-size", type=int, default=defaults["image_size"])
    p.add_argument("--epochs", type=int, default=defaults["epochs"])
    p.add_argument("--batch-size", type=int, default=defaults["batch_size"])
    p.add_argument("--lr", type=float, default=defaults["lr"])
    p.add_argument("--seed", type=int, default=defaults["seed"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None,
                   help="Keep the trained tagger here (default: a temporary folder).")
    p.add_argument("--progress", action="store_true", help="Print per-epoch progress.")
    return p


def main(args: argparse.Namespace) -> dict:
    import torch

    from grader.tagger_training import train_tagger

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "tagger"
        card = train_tagger(args.data, out, backbone=args.backbone, image_size=args.image_size,
                            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            seed=args.seed, progress=args.progress)
    m = card["metrics"]
    return {"image_size": args.image_size, "epochs": args.epochs,
            "train_seconds": card["train_seconds"], "valid_acc": round(m["valid_acc"], 4),
            "test_acc": round(m["test_acc"], 4), "model_bytes": card["model_bytes"],
            "backbone": args.backbone, "best_epoch": m["best_epoch"], "threads": args.threads}


if __name__ == "__main__":
    arguments = get_args_parser().parse_args()
    if not (arguments.data / "train").is_dir():
        sys.exit(f"clothing-small not found at {arguments.data.resolve()}: this benchmark needs "
                 "../shared/data beside the checkout (the reference data is only on the "
                 "developers' and CI machines)")
    print(json.dumps(main(arguments)))

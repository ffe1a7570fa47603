"""What the benchmarks share: the repository on ``sys.path`` (they run as ``python bench/x.py``)
and the arguments naming the model and world they measure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def model_world_parser(doc: str, *, required: bool = False,
                       world_help: str | None = None) -> argparse.ArgumentParser:
    """A parser described by ``doc``'s first line with ``--model``, ``--world`` (made afresh when
    left out, unless ``required``) and ``--threads`` (2, the target machine's cores)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--model", type=Path, default=None, required=required)
    p.add_argument("--world", type=Path, default=None, required=required, help=world_help)
    p.add_argument("--threads", type=int, default=2)
    return p


def model_and_world(args: argparse.Namespace, tmp: str | Path) -> tuple[Path, Path]:
    """``(model_dir, world)``: those given by ``--model`` and ``--world``, else a 600-outfit
    synthetic world generated under ``tmp`` and the default grader trained on it."""
    if args.model and args.world:
        return Path(args.model), Path(args.world)
    from data.synth import generate_world
    from grader import TrainConfig, train

    world, model_dir = Path(tmp) / "world", Path(tmp) / "model"
    generate_world(world, n_outfits=600, seed=0)
    train(TrainConfig(dataset=str(world), out=str(model_dir), progress=False))
    return model_dir, world

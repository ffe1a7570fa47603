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

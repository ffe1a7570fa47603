"""How far a training run is: the progress bars on the terminal and the progress file that a
watcher (such as the web app's training jobs) reads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from data.fileio import atomic_write_json

from .distributed import Dist

if TYPE_CHECKING:
    from .training import TrainConfig

__all__ = ["ProgressFile", "progress_bar"]


def progress_bar(cfg: TrainConfig, dist: Dist, total: int, desc: str):
    return tqdm(total=total, desc=desc, disable=not (cfg.progress and dist.is_main), leave=False,
                dynamic_ncols=True)


class ProgressFile:
    """How far a run is, rewritten atomically into ``cfg.progress_file`` (at most twice a second
    within an epoch, and at every epoch's end and stage change): ``{"stage", "epoch",
    "epochs", "step", "steps", "fraction", "message"}``. ``fraction`` counts the planned epochs
    of both stages (an early stop jumps to the end). Only the main process writes."""

    def __init__(self, cfg: TrainConfig, dist: Dist) -> None:
        self.path = Path(cfg.progress_file) if cfg.progress_file and dist.is_main else None
        self.feature_epochs = cfg.feature_epochs
        self.units = max(1, cfg.feature_epochs + cfg.epochs)
        self._last = 0.0

    def __call__(self, stage: str, epoch: int = 0, epochs: int = 0, step: int = 0, steps: int = 1,
                 *, message: str = "", force: bool = False) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        done = {"features": epoch + step / max(1, steps),
                "grader": self.feature_epochs + epoch + step / max(1, steps),
                "finishing": self.units, "done": self.units}.get(stage, 0.0)
        atomic_write_json(self.path, {
            "stage": stage, "epoch": epoch + 1 if epochs else 0, "epochs": epochs, "step": step,
            "steps": steps, "fraction": round(min(1.0, done / self.units), 4),
            "message": message})

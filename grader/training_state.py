"""Checkpointing and resuming a training run: ``train_state.pt`` in the output folder.

After every epoch of stage 2 the main process saves everything the loop depends on (both
networks, the optimizer, the schedule, the weight average, the epoch, the best metric and
state so far, the patience count, the sampling RNG and the log), so that ``cfg.resume`` picks
up after the last finished epoch without running stage 1 again. The file is removed once the
model is written.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from torch import nn

from .checkpoint import save_checkpoint

__all__ = ["STATE_NAME", "read_train_state", "restore_loop_state", "save_train_state"]

STATE_NAME = "train_state.pt"


def read_train_state(path: Path, fn: nn.Module, grader: nn.Module) -> dict | None:
    """The saved state at ``path`` (None without one), its networks' weights loaded into ``fn``
    and ``grader``."""
    if not path.is_file():
        return None
    resumed = torch.load(path, map_location="cpu", weights_only=True)
    fn.load_state_dict(resumed["feature_net"])
    grader.load_state_dict(resumed["grader"])
    return resumed


def restore_loop_state(resumed: dict, opt, sched, average, rng: random.Random) -> tuple:
    """Put the saved optimizer, schedule, average and RNG back; (start epoch, best metric,
    bad epochs, best state)."""
    opt.load_state_dict(resumed["optimizer"])
    if "average" in resumed:
        average.load_state_dict(resumed["average"])
    sched.load_state_dict(resumed["scheduler"])
    start_epoch, best, bad_epochs = resumed["epoch"], resumed["best"], resumed["bad_epochs"]
    best_state = resumed["best_state"]
    rng.setstate(_rng_from(resumed["rng"]))
    return start_epoch, best, bad_epochs, best_state


def _rng_from(state: list) -> tuple:
    return (state[0], tuple(state[1]), state[2])


def save_train_state(path: Path, fn, grader, opt, sched, average, epoch, best, bad_epochs,
                     best_state, rng, log):
    rs = rng.getstate()
    save_checkpoint(path, {
        "kind": "train-state", "feature_net": fn.state_dict(), "grader": grader.state_dict(),
        "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "average": average.state_dict(), "epoch": epoch,
        "best": best, "bad_epochs": bad_epochs,
        "best_state": best_state, "rng": [rs[0], list(rs[1]), rs[2]], "log": json.dumps(log),
    })

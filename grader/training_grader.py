"""Stage 2 of training: the outfit grader on cached item features.

Stage 2 freezes the trunk and the shape and pattern heads, caches the colour and trunk
features of every item, and trains the style head with the grader on positives against
same-slot swaps and sub-outfits (see :mod:`grader.sampling`), validating compatibility AUC and
FITB accuracy each epoch, stopping early and keeping the best state. A temperature and a bias
(Platt scaling) are then fitted on the validation questions, so that scores read as
probabilities.
"""

from __future__ import annotations

import math
import random
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .api import GraderModel, pad_outfits, slot_ids
from .distributed import Dist
from .features import ItemFeatureNet
from .metrics import fit_calibration
from .questions import answer_questions, question_set
from .sampling import SwapSampler
from .training_progress import ProgressFile, progress_bar
from .training_state import restore_loop_state, save_train_state

if TYPE_CHECKING:
    from .training import TrainConfig, TrainingData

__all__ = ["CachedFeatures", "GraderStage", "cache_features"]


@dataclass
class CachedFeatures:
    """What stage 2 trains on: every item's colour and trunk features, slot, and row index."""

    color: torch.Tensor
    trunk: torch.Tensor
    slots: torch.Tensor
    index: dict[str, int]
    categories: list[str]


def cache_features(cfg: TrainConfig, dist: Dist, fn: ItemFeatureNet, grader: nn.Module,
                   data: TrainingData) -> tuple[GraderModel, CachedFeatures, float | None]:
    """Freeze stage 1's part of ``fn`` and run it once over every item: (the model, the cached
    features, the shape accuracy on the validation items (None without any))."""
    device = torch.device(cfg.device)
    items, n_train = data.items, data.n_train
    dist.broadcast_module(fn)  # batch-norm statistics are per process until now
    for part in (fn.trunk, fn.shape_head, fn.pattern_head):
        part.requires_grad_(False)
    fn.style_head.requires_grad_(True)
    model = GraderModel(fn, grader, data.prep, device=cfg.device)
    color, trunk = model.color_and_trunk(data.images)
    color, trunk = color.to(device), trunk.to(device)
    slots = slot_ids(items).to(device)
    index = {it.id: k for k, it in enumerate(items)}
    shape_acc = None
    if len(items) > n_train:
        with torch.no_grad():
            shape_acc = float((fn.heads(trunk[n_train:])[0].argmax(-1).cpu()
                               == data.shape_y[n_train:]).float().mean())
    categories = [it.semantic_category for it in items]
    return model, CachedFeatures(color, trunk, slots, index, categories), shape_acc


class _Average:
    """An exponential moving average of a module's trainable parameters (Polyak averaging).

    The decay warms up as ``min(decay, (1 + t) / (10 + t))`` after ``t`` updates, so that a
    short run is not dominated by the initial weights. :meth:`applied` swaps the averaged
    weights in for a while (to validate or keep them) and puts the live ones back.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        if not self.decay:
            return
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, p in zip(self.shadow, self.params, strict=True):
            avg.lerp_(p.detach(), 1.0 - decay)

    @contextmanager
    def applied(self):
        if not self.decay:
            yield
            return
        live = [p.detach().clone() for p in self.params]
        self._copy(self.shadow)
        try:
            yield
        finally:
            self._copy(live)

    @torch.no_grad()
    def _copy(self, values: list[torch.Tensor]) -> None:
        for p, v in zip(self.params, values, strict=True):
            p.copy_(v)

    def state_dict(self) -> dict:
        return {"shadow": [t.cpu() for t in self.shadow], "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.shadow = [t.to(p.device) for t, p in zip(state["shadow"], self.params, strict=True)]
        self.updates = int(state["updates"])


class _Scorer(nn.Module):
    """Stage-2 module: cached colour/trunk features of padded outfits -> logits."""

    def __init__(self, fn: ItemFeatureNet, grader: nn.Module, style_dropout: float = 0.0) -> None:
        super().__init__()
        self.fn, self.grader = fn, grader
        self.style_dropout = style_dropout
        self.style = fn.layout.slice("style")

    def forward(self, color, trunk, slots, mask):  # (B, S, 15), (B, S, C), (B, S), (B, S)
        feats = self.fn.features_from(color, trunk)
        if self.training and self.style_dropout > 0:
            keep = torch.rand(feats.shape[:-1], device=feats.device) >= self.style_dropout
            blank = torch.ones_like(feats)
            blank[..., self.style] = keep.unsqueeze(-1).to(feats.dtype)
            feats = feats * blank
        return self.grader(feats, slots, mask)


class GraderStage:
    """Stage 2's training loop: its sampler, optimizer, schedule and weight average."""

    def __init__(self, cfg: TrainConfig, dist: Dist, fn: ItemFeatureNet, grader: nn.Module,
                 feats: CachedFeatures, data: TrainingData) -> None:
        self.cfg, self.dist, self.fn, self.grader, self.feats = cfg, dist, fn, grader, feats
        self.device = device = torch.device(cfg.device)
        index, n_train = feats.index, data.n_train
        labelled = ([([index[i] for i in q.item_ids], q.label) for q in data.train_ds.compatibility]
                    if cfg.use_labelled else [])
        self.sampler = SwapSampler([[index[i] for i in o.item_ids] for o in data.train_ds.outfits],
                                   feats.categories, range(n_train), labelled=labelled,
                                   negatives=cfg.negatives, sub_outfit_rate=cfg.sub_outfit_rate)
        self.valid_q = question_set(data.valid_ds, index)
        self.scorer = _Scorer(fn, grader, cfg.style_dropout).to(device)
        self.ddp_scorer = dist.wrap(self.scorer)
        self.opt = torch.optim.AdamW([p for p in self.scorer.parameters() if p.requires_grad],
                                     lr=cfg.lr, weight_decay=cfg.weight_decay)
        # One cycle over the planned epochs: warm up, then anneal; early stopping keeps the best.
        per_step = cfg.batch_size * dist.world
        self.steps_per_epoch = max(1, len(self.sampler.epoch(random.Random(cfg.seed))) // per_step)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt, cfg.lr, total_steps=self.steps_per_epoch * cfg.epochs + 1)
        self.average = _Average(self.scorer, cfg.average_decay)

    def score_rows(self, padded: torch.Tensor) -> torch.Tensor:
        mask = padded >= 0
        safe = padded.clamp(min=0).to(self.device)
        f = self.feats
        return self.scorer(f.color[safe], f.trunk[safe], f.slots[safe], mask.to(self.device))

    def run(self, rng: random.Random, resumed: dict | None, log: list, report: ProgressFile,
            state_path: Path) -> dict | None:
        """Train epoch after epoch (after the saved ones when ``resumed``), saving the state
        after each; the best trainable state (None if no epoch improved on the saved best)."""
        cfg, dist = self.cfg, self.dist
        start_epoch, best, best_state, bad_epochs = 0, -math.inf, None, 0
        if resumed is not None:
            start_epoch, best, bad_epochs, best_state = restore_loop_state(
                resumed, self.opt, self.sched, self.average, rng)
        for epoch in range(start_epoch, cfg.epochs):
            total, steps = self._epoch(epoch, rng, report)
            self.scorer.eval()
            with self.average.applied():  # validate (and keep) the averaged weights
                val = answer_questions(self.valid_q, self.score_rows)
                metric = _selection_metric(val)
                if metric > best + 1e-4:
                    best_state = _trainable_state(self.scorer)
            log.append({"stage": "grader", "epoch": epoch + 1, "loss": total / steps,
                        "valid_auc": val["auc"], "valid_fitb": val["fitb"]})
            if dist.is_main and cfg.progress:
                tqdm.write(f"epoch {epoch + 1}: loss {total / steps:.4f}  valid AUC "
                           f"{val['auc']:.4f}  FITB {val['fitb']:.3f}")
            if metric > best + 1e-4:
                best, bad_epochs = metric, 0
            else:
                bad_epochs += 1
            if dist.is_main:
                save_train_state(state_path, self.fn, self.grader, self.opt, self.sched,
                                 self.average, epoch + 1, best, bad_epochs, best_state, rng, log)
            if dist.decide(bad_epochs >= cfg.patience):
                break
        return best_state

    def _epoch(self, epoch: int, rng: random.Random, report: ProgressFile) -> tuple[float, int]:
        """One epoch of training steps: (summed loss, steps)."""
        cfg, dist, f, device = self.cfg, self.dist, self.feats, self.device
        self.scorer.train()
        self.fn.trunk.eval()  # batch-norm statistics stay those of stage 1
        examples = self.sampler.epoch(rng)
        steps = min(self.steps_per_epoch,
                    max(1, len(examples) // (cfg.batch_size * dist.world)))
        bar = progress_bar(cfg, dist, steps, f"grader {epoch + 1}/{cfg.epochs}")
        total = 0.0
        for step in range(steps):
            batch = [examples[k] for k in dist.shard(range(len(examples)), step, cfg.batch_size)]
            padded = pad_outfits([r for r, _ in batch])
            labels = torch.tensor([y for _, y in batch], device=device)
            mask = (padded >= 0).to(device)
            safe = padded.clamp(min=0).to(device)
            logits = self.ddp_scorer(f.color[safe], f.trunk[safe], f.slots[safe], mask)
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.sched.step()
            self.average.update()
            total += loss.item()
            bar.set_postfix(loss=f"{total / (step + 1):.3f}")
            bar.update()
            report("grader", epoch, cfg.epochs, step + 1, steps,
                   message=f"grader, epoch {epoch + 1} of {cfg.epochs}", force=step + 1 == steps)
        bar.close()
        return total, steps

    def calibrate(self, best_state: dict | None) -> tuple[dict, float, float]:
        """Keep the best state, answer the validation questions with it and fit the grader's
        temperature and bias on them: (validation answers, temperature, bias)."""
        if best_state is not None:
            self.scorer.load_state_dict(best_state, strict=False)
        self.scorer.eval()
        val = answer_questions(self.valid_q, self.score_rows)
        temperature, bias = fit_calibration(val["compat_logits"], self.valid_q.compat_labels)
        self.grader.set_calibration(temperature, bias)
        return val, temperature, bias


def _selection_metric(val: dict) -> float:
    auc_, fitb = val["auc"], val["fitb"]
    parts = [v for v in (auc_, fitb) if not math.isnan(v)]
    return sum(parts) / len(parts) if parts else 0.0


def _trainable_state(module: nn.Module) -> dict:
    names = {n for n, p in module.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in module.state_dict().items()
            if k in names or k.endswith("log_temperature")}

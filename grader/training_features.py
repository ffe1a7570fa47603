"""Stage 1 of training: the item-feature CNN.

Stage 1 trains the CNN trunk with the shape and pattern heads on item labels (fine category,
pattern), on photos randomly flipped and shifted. With ``--freeze-backbone`` the trunk stays as
loaded and only the heads train, on the trunk's output computed once per photo. Stage 2
(:mod:`grader.training_grader`) then freezes all of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .distributed import Dist
from .features import ItemFeatureNet
from .labels import UNKNOWN
from .preprocess import to_float
from .training_progress import ProgressFile, progress_bar

if TYPE_CHECKING:
    from .training import TrainConfig

__all__ = ["train_item_features"]


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a shift of up to 1/16 of the side, padding with white."""
    b, _, s, _ = x.shape
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    pad = max(1, s // 16)
    padded = F.pad(x, (pad, pad, pad, pad), value=1.0)
    dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=gen))
    return padded[:, :, dy:dy + s, dx:dx + s]


class _Heads(nn.Module):
    """Stage-1 module: photos -> shape and pattern logits."""

    def __init__(self, fn: ItemFeatureNet) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fn.heads(self.fn.trunk_features(images))


def train_item_features(cfg: TrainConfig, dist: Dist, fn: ItemFeatureNet, images: torch.Tensor,
                        shape_y: torch.Tensor, pattern_y: torch.Tensor, log: list,
                        report: ProgressFile) -> None:
    """Stage 1 on the training items' photos and labels, appending a row per epoch to ``log``."""
    # Only what stage 1's loss reaches may require gradients (DistributedDataParallel
    # refuses parameters that get none): the style head waits for stage 2.
    fn.style_head.requires_grad_(False)
    fn.trunk.requires_grad_(not cfg.freeze_backbone)
    fn.pattern_head.requires_grad_(bool((pattern_y != UNKNOWN).any()))
    _train_features(cfg, dist, fn, images, shape_y, pattern_y, log, report)


def _train_features(cfg: TrainConfig, dist: Dist, fn: ItemFeatureNet, images: torch.Tensor,
                    shape_y: torch.Tensor, pattern_y: torch.Tensor, log: list,
                    report: ProgressFile) -> None:
    """Stage 1: trunk + shape/pattern heads on item labels."""
    if cfg.feature_epochs <= 0:
        return
    if cfg.freeze_backbone:
        _train_heads_on_cache(cfg, fn, images, shape_y, pattern_y, log, report)
        return
    device = torch.device(cfg.device)
    heads = dist.wrap(_Heads(fn).to(device))
    params = [p for p in heads.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.feature_lr, weight_decay=cfg.weight_decay)
    n = len(images)
    steps_per_epoch = max(1, n // (cfg.feature_batch_size * dist.world))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.feature_lr,
                                                total_steps=steps_per_epoch * cfg.feature_epochs)
    gen = torch.Generator().manual_seed(cfg.seed)
    has_pattern = bool((pattern_y != UNKNOWN).any())
    for epoch in range(cfg.feature_epochs):
        heads.train()
        order = torch.randperm(n, generator=gen)
        bar = progress_bar(cfg, dist, steps_per_epoch, f"features {epoch + 1}/{cfg.feature_epochs}")
        total, right = 0.0, 0
        for step in range(steps_per_epoch):
            idx = dist.shard(order, step, cfg.feature_batch_size)
            x = _augment(to_float(images[idx]), gen).to(device)
            shape_logits, pattern_logits = heads(x)
            loss = F.cross_entropy(shape_logits, shape_y[idx].to(device), ignore_index=UNKNOWN)
            if has_pattern:
                loss = loss + F.cross_entropy(pattern_logits, pattern_y[idx].to(device),
                                              ignore_index=UNKNOWN)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            right += int((shape_logits.argmax(-1).cpu() == shape_y[idx]).sum())
            bar.set_postfix(loss=f"{total / (step + 1):.3f}")
            bar.update()
            report("features", epoch, cfg.feature_epochs, step + 1, steps_per_epoch,
                   message=f"item features, epoch {epoch + 1} of {cfg.feature_epochs}",
                   force=step + 1 == steps_per_epoch)  # every epoch's end is written
        bar.close()
        log.append({"stage": "features", "epoch": epoch + 1, "loss": total / steps_per_epoch,
                    "shape_acc": right / max(1, steps_per_epoch * cfg.feature_batch_size)})


def _train_heads_on_cache(cfg: TrainConfig, fn: ItemFeatureNet, images: torch.Tensor,
                          shape_y: torch.Tensor, pattern_y: torch.Tensor, log: list,
                          report: ProgressFile) -> None:
    """Stage 1 with a frozen backbone (``--freeze-backbone``, e.g. EfficientNet-Lite0 with its
    ImageNet weights): the trunk runs once per photo, in eval mode (its batch-norm statistics
    stay as loaded), and the shape and pattern heads train on what it returns."""
    device = torch.device(cfg.device)
    fn.trunk.eval()
    with torch.no_grad():
        cache = torch.cat([fn.trunk_features(to_float(images[s:s + 64]).to(device))
                           for s in range(0, len(images), 64)])
    heads = [fn.shape_head] + ([fn.pattern_head] if bool((pattern_y != UNKNOWN).any()) else [])
    opt = torch.optim.AdamW([p for h in heads for p in h.parameters()], lr=cfg.feature_lr,
                            weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    n, batch = len(cache), cfg.feature_batch_size
    steps = max(1, n // batch)
    for epoch in range(cfg.feature_epochs):
        order = torch.randperm(n, generator=gen)
        total, right = 0.0, 0
        for step in range(steps):
            idx = order[step * batch:(step + 1) * batch]
            x = cache[idx.to(device)]
            shape_logits, pattern_logits = fn.heads(x)
            loss = F.cross_entropy(shape_logits, shape_y[idx].to(device), ignore_index=UNKNOWN)
            if len(heads) > 1:
                loss = loss + F.cross_entropy(pattern_logits, pattern_y[idx].to(device),
                                              ignore_index=UNKNOWN)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            right += int((shape_logits.argmax(-1).cpu() == shape_y[idx]).sum())
        report("features", epoch, cfg.feature_epochs, steps, steps,
               message=f"item features (cached trunk), epoch {epoch + 1} of {cfg.feature_epochs}",
               force=True)
        log.append({"stage": "features", "epoch": epoch + 1, "loss": total / steps,
                    "shape_acc": right / max(1, steps * batch), "cached_trunk": True})

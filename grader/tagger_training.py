"""Training a tagger (:class:`grader.tagger.Tagger`) on a folder of real photos::

    card = train_tagger("clothing-small", "models/tagger")   # tagger.pt + card.json

End to end, every weight trains on augmented photos (:mod:`grader.tagger_data`); with
``freeze > 0`` the first trunk modules stay as loaded and the rest trains on their cached
output (:mod:`grader.tagger_cached`). The epoch kept is the one with the best validation
accuracy; test accuracy is measured once, on that epoch.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from data.fileio import atomic_write_text
from outfit.errors import OutfitError

from .preprocess import Preprocessing, load_image_tensor
from .tagger import TAGGER_NAME, Tagger, _half
from .tagger_data import _augment, _cutmix, _labels, _Split, read_photo_splits

__all__ = ["TaggerConfig", "train_tagger", "card_summary"]


@dataclass
class TaggerConfig:
    """Everything a tagger's training depends on; saved in the checkpoint and the card."""

    folder: str
    out: str
    backbone: str = "small-wide"
    weights: str = "none"
    image_size: int = 96
    epochs: int = 80
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    min_crop: float = 0.3  # smallest crop area of the random resized crop, as a fraction
    max_crop: float = 1.8  # largest; above 1 zooms out (the garment smaller in the frame)
    rotate: float = 10.0  # degrees either way
    color_jitter: float = 0.3
    dropout: float = 0.2
    balance: float = 0.0  # class weights n_c ** -balance: 0 none, 0.5 square root, 1 balanced
    cutmix: float = 0.5  # share of batches with a patch of another photo pasted in (CutMix)
    seed: int = 0
    device: str = "cpu"
    cache_dir: str | None = None
    progress: bool = True
    freeze: int = 0  # > 0: the first `freeze` trunk modules stay as loaded (see grader.tagger_cached)
    views: int = 4  # augmented views of each train photo cached through the frozen part
    labels: str | None = None  # CSV of hand labels (file, pattern, main_color): pattern and colour heads


def _accuracy(model: Tagger, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(top-1 accuracy, mean cross-entropy) with flip averaging."""
    if len(labels) == 0:
        return float("nan"), float("nan")
    p = model.probabilities(images)
    acc = float((p.argmax(-1) == labels).float().mean())
    loss = float(F.nll_loss(p.clamp_min(1e-8).log(), labels))
    return acc, loss


def train_tagger(folder: Path | str, out: Path | str | None, *, backbone: str = "small-wide",
                 weights: str = "none", image_size: int = 96, epochs: int = 80,
                 batch_size: int = 64, lr: float = 3e-3, seed: int = 0, device: str = "cpu",
                 progress: bool = True, **options: Any) -> dict:
    """Train a tagger on ``folder`` (train/validation/test folders of category folders); write
    ``tagger.pt`` and ``card.json`` into ``out`` (unless ``None``) and return the card.

    ``options`` sets the other fields of :class:`TaggerConfig` (``label_smoothing``,
    ``min_crop``, ``cache_dir``...). The card's ``metrics`` hold the validation accuracy of
    the kept epoch and the test accuracy (``None`` without test photos).
    """
    cfg = TaggerConfig(folder=str(folder), out=str(out) if out is not None else "",
                       backbone=backbone, weights=weights, image_size=image_size, epochs=epochs,
                       batch_size=batch_size, lr=lr, seed=seed, device=device, progress=progress,
                       **options)
    return _train(cfg)[0]


def _train(cfg: TaggerConfig) -> tuple[dict, Tagger]:
    started = time.time()
    if cfg.epochs < 1 or cfg.batch_size < 2 or cfg.image_size < 16:
        raise OutfitError("epochs must be >= 1, batch size >= 2 and image size >= 16")
    try:
        device = torch.device(cfg.device)
    except RuntimeError:
        raise OutfitError(f"unknown device {cfg.device!r}", hint="use cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OutfitError("--device cuda asked for, but no CUDA device is available",
                          hint="train with --device cpu")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    items = read_photo_splits(cfg.folder)
    classes = sorted({it.category for it in items["train"]})
    if len(classes) < 2:
        raise OutfitError(f"the train photos in {cfg.folder} show {len(classes)} category",
                          hint="a tagger needs photos of at least two categories")
    prep = Preprocessing(cfg.image_size)
    splits = {}
    for name, its in items.items():
        labels = _labels(its, classes, name)
        images = (load_image_tensor(its, prep, cache_dir=cfg.cache_dir) if its
                  else torch.zeros(0, 3, cfg.image_size, cfg.image_size, dtype=torch.uint8))
        splits[name] = _Split(its, labels, images)
    decoded = time.time()

    model = Tagger(classes, backbone=cfg.backbone, weights=cfg.weights,
                   image_size=cfg.image_size, dropout=cfg.dropout, frozen=cfg.freeze)
    model = model.to(device, memory_format=torch.channels_last)  # faster convolutions on CPU
    if cfg.freeze > 0:
        from .tagger_cached import fit_cached

        log, best_state, best_epoch = fit_cached(cfg, model, splits, gen)
    else:
        log, best_state, best_epoch = _fit_end_to_end(cfg, model, splits, classes, device, gen)
    model.load_state_dict(_half(best_state))  # the weights as saved: what is measured ships
    model.eval()
    if cfg.labels:
        from .tagger_cached import fit_color_head, fit_pattern_head

        label_metrics = {**fit_pattern_head(model, cfg.folder, cfg.labels, gen),
                         **fit_color_head(model, cfg.folder, cfg.labels)}
    else:
        label_metrics = {}
    model.fuse()
    return _finish(cfg, model, splits, classes, log, best_epoch, label_metrics, started, decoded)


class _Epochs:
    """The epochs of a tagger's training: their progress bar, their log rows, and the state of
    the best one (highest validation accuracy, then lowest validation loss)."""

    def __init__(self, cfg: TaggerConfig) -> None:
        self.cfg = cfg
        self.bar = tqdm(range(cfg.epochs), desc="tagger", disable=not cfg.progress,
                        dynamic_ncols=True)
        self.log: list[dict] = []
        self.best = (-1.0, math.inf)
        self.best_state: dict[str, torch.Tensor] = {}
        self.best_epoch = 0

    def end(self, model: nn.Module, epoch: int, total: float, right: int, steps: int,
            valid_acc: float, valid_loss: float) -> None:
        """Log epoch ``epoch`` (0-based) and keep the model's state if it is the best so far."""
        cfg = self.cfg
        row = {"epoch": epoch + 1, "loss": round(total / steps, 4),
               "train_acc": round(right / (steps * cfg.batch_size), 4),
               "valid_acc": round(valid_acc, 4), "valid_loss": round(valid_loss, 4)}
        self.log.append(row)
        if valid_acc > self.best[0] or (valid_acc == self.best[0] and valid_loss < self.best[1]):
            self.best, self.best_epoch = (valid_acc, valid_loss), epoch + 1
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if cfg.progress:
            self.bar.set_postfix(loss=row["loss"], valid=f"{valid_acc:.3f}",
                                 best=f"{self.best[0]:.3f}")
            tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}: loss {row['loss']:.4f}  train acc "
                       f"{row['train_acc']:.3f}  valid acc {valid_acc:.3f}")

    def result(self) -> tuple[list[dict], dict[str, torch.Tensor], int]:
        """(per-epoch log, best state, best epoch), once the epochs have run."""
        self.bar.close()
        assert self.best_state, "no epoch ran"
        return self.log, self.best_state, self.best_epoch


def _fit_end_to_end(cfg: TaggerConfig, model: Tagger, splits: dict[str, _Split],
                    classes: Sequence[str], device: torch.device,
                    gen: torch.Generator) -> tuple[list[dict], dict[str, torch.Tensor], int]:
    """Train every weight on augmented photos; (per-epoch log, best state, best epoch)."""
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    train = splits["train"]
    n = len(train.labels)
    steps = max(1, n // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps * cfg.epochs,
                                                pct_start=0.15)
    counts = torch.bincount(train.labels, minlength=len(classes)).clamp_min(1).float()
    class_weight = counts ** -cfg.balance
    class_weight = (class_weight / (class_weight * counts).sum() * n).to(device)
    epochs = _Epochs(cfg)
    for epoch in epochs.bar:
        model.train()
        order = torch.randperm(n, generator=gen)
        total, right = 0.0, 0
        for step in range(steps):
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x = _augment(train.images[idx], gen, cfg).to(device, memory_format=torch.channels_last)
            y = train.labels[idx].to(device)
            mixed = None
            if cfg.cutmix > 0 and float(torch.rand(1, generator=gen)) < cfg.cutmix:
                x, mixed, lam = _cutmix(x, gen)
            logits = model(x)
            loss = F.cross_entropy(logits, y, weight=class_weight,
                                   label_smoothing=cfg.label_smoothing)
            if mixed is not None:
                loss = lam * loss + (1 - lam) * F.cross_entropy(
                    logits, y[mixed], weight=class_weight, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            right += int((logits.argmax(-1) == y).sum())
        epochs.end(model, epoch, total, right, steps,
                   *_accuracy(model, splits["validation"].images, splits["validation"].labels))
    return epochs.result()


def _finish(cfg: TaggerConfig, model: Tagger, splits: dict[str, _Split], classes: Sequence[str],
            log: list[dict], best_epoch: int, label_metrics: dict, started: float,
            decoded: float) -> tuple[dict, Tagger]:
    """Measure the kept weights on validation and test, write the tagger and its card."""
    best_acc, best_loss = _accuracy(model, splits["validation"].images,
                                    splits["validation"].labels)
    test = splits["test"]
    test_acc, test_loss = _accuracy(model, test.images, test.labels)
    has_test = len(test.labels) > 0
    per_class, confusion = {}, []
    if has_test:
        pred = model.probabilities(test.images).argmax(-1)
        for k, c in enumerate(classes):
            mask = test.labels == k
            if mask.any():
                per_class[c] = round(float((pred[mask] == k).float().mean()), 4)
        confusion = (torch.bincount(test.labels * len(classes) + pred,
                                    minlength=len(classes) ** 2)
                     .view(len(classes), len(classes)).tolist())
    metrics = {"valid_acc": best_acc, "valid_loss": best_loss, "best_epoch": best_epoch,
               "test_acc": test_acc if has_test else None,
               "test_loss": test_loss if has_test else None, "test_per_class": per_class,
               **label_metrics}
    card = {
        "what": f"category tagger ({cfg.backbone}, {cfg.image_size} px) over "
                f"{len(classes)} categories",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "classes": classes,
        "data": {"root": str(cfg.folder),
                 "sizes": {k: len(s.labels) for k, s in splits.items()},
                 "by_class": {k: {c: int((s.labels == i).sum()) for i, c in enumerate(classes)}
                              for k, s in splits.items()}},
        "metrics": metrics,
        "test_confusion": confusion,  # rows: true class, columns: predicted, in class order
        "decode_seconds": round(decoded - started, 1),
        "train_seconds": round(time.time() - decoded, 1),
        "config": asdict(cfg),
        "log": log,
    }
    model.meta = {"metrics": metrics, "created": card["created"], "train_config": card["config"]}
    if cfg.out:
        out = Path(cfg.out)
        path = model.save(out / TAGGER_NAME)
        card["model_bytes"] = path.stat().st_size
        atomic_write_text(out / "card.json", json.dumps(card, indent=2) + "\n")
    return card, model


def card_summary(card: Mapping[str, Any]) -> str:
    """Two lines for the command line: where the accuracies stand."""
    m = card["metrics"]
    test = f"{m['test_acc']:.3f}" if m.get("test_acc") is not None else "n/a (no test photos)"
    lines = (f"valid accuracy {m['valid_acc']:.3f} (epoch {m['best_epoch']})\n"
             f"test accuracy  {test}")
    if m.get("pattern_test_acc") is not None:
        lines += (f"\npattern test accuracy {m['pattern_test_acc']:.3f} on {m['pattern_test_photos']} "
                  f"labelled photos (always 'solid': {m['pattern_test_majority']:.3f})")
    if m.get("color_test_acc") is not None:
        lines += (f"\nmain colour test accuracy {m['color_test_acc']:.3f} (named from the pixels "
                  f"without learning: {m['color_test_unlearned']:.3f})")
    return lines

"""The tagger: a category model trained on real photos, for auto-tagging a person's closet.

A model trained only on the synthetic world has never seen a real photo, so auto-tags come from
this one instead: a CNN trunk and a shape head over fine categories, trained on a folder of real
photos (``../shared/data/clothing-small``: 10 classes that map onto the slots)::

    card = train_tagger("clothing-small", "models/tagger")   # tagger.pt + card.json
    tagger = load_tagger("models/tagger")
    tag(tagger, closet.items)  # -> [("t-shirt", 0.93), ("pants", 0.88), ...]

The folder holds ``train/``, ``validation/`` (or ``valid/``, ``val/``) and ``test/``, each with
one folder per category; names go through :func:`data.folder.category_for` (``longsleeve`` ->
``long-sleeve top``). Photos are decoded once into uint8 tensors (:func:`load_image_tensor`, the
same square-on-white preprocessing as the grader's) and augmented on the fly with batched torch
ops: a random resized crop with a small rotation and a horizontal flip (one ``grid_sample``),
then brightness, contrast and saturation jitter. The epoch kept is the one with the best
validation accuracy; test accuracy is measured once, on that epoch.

The module names match :class:`ItemFeatureNet` (``trunk.*``, ``shape_head.*``, same input
normalisation), so a tagger's state can seed the shape group of a feature net built with the
same backbone and ``shape_names = tagger.classes``.

The checkpoint is a plain dict (``format = "outfit-tagger"``) read with ``weights_only=True``;
a file that is not one is refused with :class:`ModelError`.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from data.fileio import atomic_write_bytes, atomic_write_text
from data.folder import read_closet_folder
from data.images import load_image
from outfit.domain import Item
from outfit.errors import ModelError, OutfitError

from .backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone, create_backbone
from .checkpoint import read_plain_checkpoint, resolve_checkpoint
from .color import GARMENT_FEATURE_DIM
from .preprocess import Preprocessing, load_image_tensor, photo_to_array, to_float

__all__ = ["TAGGER_FORMAT", "TAGGER_FORMAT_VERSION", "TAGGER_NAME", "TaggerConfig", "Tagger",
           "train_tagger", "load_tagger", "tag", "read_photo_splits"]

TAGGER_FORMAT = "outfit-tagger"
TAGGER_FORMAT_VERSION = 1
TAGGER_NAME = "tagger.pt"
_REQUIRED = ("backbone", "preprocessing", "classes", "state_dict")
_VALID_NAMES = ("validation", "valid", "val")


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


# ---------------------------------------------------------------------------------- the model


class Tagger(nn.Module):
    """Photo batch ``(B, 3, H, W)`` in [0, 1] -> category logits ``(B, len(classes))``."""

    def __init__(self, classes: Sequence[str], *, backbone: str = "small", weights: str = "none",
                 image_size: int = 96, dropout: float = 0.0, frozen: int = 0,
                 pattern_classes: Sequence[str] = (), color_classes: Sequence[str] = (),
                 pattern_layer: int | None = None, pattern_in: int | None = None) -> None:
        super().__init__()
        self.classes = tuple(classes)
        self.backbone_name = backbone
        self.base_weights = weights if weights in ("none", "imagenet") else "none"
        self.frozen = frozen
        self.prep = Preprocessing(image_size)
        bb: Backbone = create_backbone(backbone, weights)
        self.trunk = bb.module
        self.trunk_dim = bb.out_dim
        self.dropout = nn.Dropout(dropout)
        self.shape_head = nn.Linear(bb.out_dim, len(self.classes))
        self.pattern_classes = tuple(pattern_classes)
        # The pattern head reads the embedding and, with ``pattern_layer``, the mean and spread
        # of that trunk module's channels over the garment (texture statistics: a stripe or a
        # print shows in mid-level channels that the category-tuned embedding averages away).
        self.pattern_layer = pattern_layer
        self.pattern_head = (nn.Linear(pattern_in or bb.out_dim, len(self.pattern_classes))
                             if self.pattern_classes else None)
        # Colour names from the garment's pixels (grader.color.garment_color_features), not
        # from the trunk: a linear namer learnt from hand labels.
        self.color_classes = tuple(color_classes)
        self.color_head = (nn.Linear(GARMENT_FEATURE_DIM, len(self.color_classes))
                           if self.color_classes else None)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.meta: dict[str, Any] = {}
        self._fused: dict[str, nn.Module] = {}  # a plain dict: not a submodule, not saved

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] -> trunk features ``(B, trunk_dim)``; in eval mode after
        :meth:`fuse`, through the trunk with its batch norms folded (faster, same values)."""
        trunk = self._fused.get("trunk") if not self.training else None
        if trunk is None:
            trunk = self.trunk
        return trunk((images - self.mean) / self.std)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.shape_head(self.dropout(self.embed(images)))

    def embed_with_texture(self, images: torch.Tensor, layer: int | None,
                           masks: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The embedding ``(B, trunk_dim)`` and, for ``layer`` (an index into the trunk, which
        must then be a plain sequence of modules), the per-channel mean and standard deviation
        of that module's output over the garment ``(B, 2 * channels)``. ``masks``: ``(B, 1,
        M, M)`` in [0, 1] over the padded square photo (None: the whole photo)."""
        if layer is None:
            return self.embed(images), None
        trunk = self._fused.get("trunk") if not self.training else None
        if trunk is None:
            trunk = self.trunk
        h, texture = (images - self.mean) / self.std, None
        for i, module in enumerate(trunk):
            h = module(h)
            if i == layer:
                w = (torch.ones_like(h[:, :1]) if masks is None
                     else F.interpolate(masks.to(h.dtype), size=h.shape[-2:], mode="area"))
                total = w.sum((2, 3)).clamp(min=1e-3)
                mean = (h * w).sum((2, 3)) / total
                var = ((h - mean[..., None, None]) ** 2 * w).sum((2, 3)) / total
                texture = torch.cat([mean, var.sqrt()], 1)
        return h, texture

    def pattern_input(self, images: torch.Tensor, masks: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """The embedding and what the pattern head reads (the embedding, plus the texture
        statistics of :attr:`pattern_layer` where it is set)."""
        emb, texture = self.embed_with_texture(images, self.pattern_layer, masks)
        return emb, emb if texture is None else torch.cat([emb, texture], 1)

    def fuse(self) -> Tagger:
        """Fold the trunk's batch norms for inference (only for backbones that support it);
        call again after changing the weights."""
        if self.backbone_name.startswith("efficientnet"):
            from .efficientnet import fold_batchnorm

            self._fused["trunk"] = fold_batchnorm(self.trunk).to(memory_format=torch.channels_last)
        return self

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor, *, batch_size: int = 64,
                      flip: bool = True) -> torch.Tensor:
        """uint8 ``(N, 3, S, S)`` photos (as :func:`load_image_tensor` makes them) -> ``(N, C)``
        class probabilities, averaged over the photo and its mirror image when ``flip``."""
        return self.predict(images, batch_size=batch_size, flip=flip)[0]

    @torch.no_grad()
    def predict(self, images: torch.Tensor, *, batch_size: int = 64, flip: bool = True,
                masks: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Category probabilities ``(N, C)`` and pattern probabilities ``(N, P)`` (``None``
        without a pattern head), each averaged over the photo and its mirror image. ``masks``
        ``(N, 1, M, M)``: where the garment is in each padded photo (for the pattern head's
        texture statistics; None: everywhere)."""
        was_training = self.training
        self.eval()
        device = self.mean.device
        cats, pats = [], []
        try:
            for s in range(0, len(images), batch_size):
                x = to_float(images[s:s + batch_size]).to(device)
                m = None if masks is None else masks[s:s + batch_size].to(device)
                views = [(x, m), (x.flip(-1), None if m is None else m.flip(-1))] if flip else [(x, m)]
                feats = [self.pattern_input(v, vm) if self.pattern_head is not None
                         else (self.embed(v), None) for v, vm in views]
                cats.append(sum(F.softmax(self.shape_head(e), -1) for e, _ in feats).cpu()
                            / len(feats))
                if self.pattern_head is not None:
                    pats.append(sum(F.softmax(self.pattern_head(p), -1)
                                    for _, p in feats).cpu() / len(feats))
        finally:
            self.train(was_training)
        cat = torch.cat(cats) if cats else torch.zeros(0, len(self.classes))
        if self.pattern_head is None:
            return cat, None
        return cat, (torch.cat(pats) if pats else torch.zeros(0, len(self.pattern_classes)))

    def to_checkpoint(self) -> dict[str, Any]:
        state = self.state_dict()
        if self.frozen and self.base_weights == "imagenet":
            # The frozen part is the installed ImageNet weights: ship only what was trained.
            state = {k: v for k, v in state.items() if not _in_prefix(k, self.frozen)}
        return {"format": TAGGER_FORMAT, "format_version": TAGGER_FORMAT_VERSION,
                "backbone": self.backbone_name, "preprocessing": self.prep.to_dict(),
                "classes": list(self.classes), "base_weights": self.base_weights,
                "frozen": self.frozen, "pattern_classes": list(self.pattern_classes),
                "pattern_layer": self.pattern_layer,
                "color_classes": list(self.color_classes),
                "state_dict": _half(state),
                **self.meta}

    def save(self, path: Path | str) -> Path:
        """Write the checkpoint atomically (a folder gets ``tagger.pt`` inside)."""
        path = Path(path)
        if path.suffix != ".pt":
            path = path / TAGGER_NAME
        buffer = io.BytesIO()
        torch.save({"torch_version": str(torch.__version__), **self.to_checkpoint()}, buffer)
        return atomic_write_bytes(path, buffer.getvalue())


def _in_prefix(key: str, frozen: int) -> bool:
    """Whether state key ``key`` belongs to the first ``frozen`` modules of the trunk."""
    parts = key.split(".")
    return len(parts) > 1 and parts[0] == "trunk" and parts[1].isdigit() and int(parts[1]) < frozen


def _half(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with its floating-point tensors as float16: half the file, and no
    measurable change in accuracy (training evaluates the rounded weights it ships)."""
    return {k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu())
            for k, v in state.items()}


# ------------------------------------------------------------------------------ augmentation


def _augment(x: torch.Tensor, gen: torch.Generator, cfg: TaggerConfig) -> torch.Tensor:
    """uint8 ``(B, 3, S, S)`` -> float in [0, 1], randomly cropped, rotated, flipped and
    re-coloured, each photo its own way. Pixels from outside the photo are white."""
    b, _, s, _ = x.shape
    x = to_float(x)
    area = torch.empty(b).uniform_(cfg.min_crop, max(cfg.min_crop, cfg.max_crop), generator=gen)
    log_ratio = torch.empty(b).uniform_(math.log(3 / 4), math.log(4 / 3), generator=gen)
    limit = max(1.0, math.sqrt(cfg.max_crop))
    w = (area * log_ratio.exp()).sqrt().clamp(max=limit)  # half-widths in [-1, 1] coordinates
    h = (area / log_ratio.exp()).sqrt().clamp(max=limit)
    cx = (torch.rand(b, generator=gen) * 2 - 1) * (1 - w).abs()
    cy = (torch.rand(b, generator=gen) * 2 - 1) * (1 - h).abs()
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(cfg.rotate)
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([w * cos * flip, -h * sin, cx], -1),
                         torch.stack([w * sin * flip, h * cos, cy], -1)], 1)
    grid = F.affine_grid(theta, [b, 3, s, s], align_corners=False)
    if cfg.max_crop > 1:  # zooming out: the photo's edges continue its background
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    else:  # zeros padding of (x - 1) is white padding of x
        x = F.grid_sample(x - 1.0, grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False) + 1.0
    j = cfg.color_jitter
    if j > 0:
        def factor() -> torch.Tensor:
            return (1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * j)

        x = x * factor()  # brightness
        gray = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = gray.mean((2, 3), keepdim=True) + (x - gray.mean((2, 3), keepdim=True)) * factor()
        gray = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = gray + (x - gray) * factor()  # saturation
        x = x.clamp_(0.0, 1.0)
    return x


def _cutmix(x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Paste a random box of each photo's partner (a permutation of the batch) into it;
    returns the photos, the partners and the share of each photo left as it was."""
    b, _, s, _ = x.shape
    lam = float(torch.rand(1, generator=gen))
    cut = int(round(s * math.sqrt(1 - lam)))
    cy, cx = (int(v) for v in torch.randint(0, s, (2,), generator=gen))
    y0, y1 = max(cy - cut // 2, 0), min(cy + cut - cut // 2, s)
    x0, x1 = max(cx - cut // 2, 0), min(cx + cut - cut // 2, s)
    partner = torch.randperm(b, generator=gen).to(x.device)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[partner, :, y0:y1, x0:x1]
    return x, partner, 1 - (y1 - y0) * (x1 - x0) / (s * s)


# ---------------------------------------------------------------------------------- the data


@dataclass
class _Split:
    items: list[Item]
    labels: torch.Tensor
    images: torch.Tensor | None = None


def _find_split(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    return None


def read_photo_splits(folder: Path | str) -> dict[str, list[Item]]:
    """``{"train": [...], "validation": [...], "test": [...]}`` from a folder of split folders,
    each holding one folder per category. ``test`` may be missing (an empty list)."""
    folder = Path(folder)
    found = {"train": _find_split(folder, ("train",)),
             "validation": _find_split(folder, _VALID_NAMES),
             "test": _find_split(folder, ("test",))}
    missing = [k for k in ("train", "validation") if found[k] is None]
    if missing:
        raise OutfitError(f"{folder} has no {' or '.join(missing)} folder",
                          hint="give a folder holding train/, validation/ (or valid/) and "
                          "test/, each with one folder of photos per category")
    return {k: list(read_closet_folder(p).closet.items) if p is not None else []
            for k, p in found.items()}


def _labels(items: Sequence[Item], classes: Sequence[str], split: str) -> torch.Tensor:
    index = {c: k for k, c in enumerate(classes)}
    unknown = sorted({it.category for it in items if it.category not in index})
    if unknown:
        raise OutfitError(f"the {split} photos have categories the train photos lack: "
                          f"{', '.join(unknown)}", hint="every category needs training photos")
    return torch.tensor([index[it.category] for it in items], dtype=torch.long)


# ------------------------------------------------------------------------------ training


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


# --------------------------------------------------------------------------- loading, tagging


def _read_checkpoint(path: Path) -> dict[str, Any]:
    return read_plain_checkpoint(path, fmt=TAGGER_FORMAT, version=TAGGER_FORMAT_VERSION,
                                 required=_REQUIRED, made_by="outfit train-tagger")


def load_tagger(path: Path | str, device: str = "cpu") -> Tagger:
    """A tagger from its folder (holding ``tagger.pt``) or the file itself, in eval mode.

    Raises :class:`ModelError` for a missing, corrupt, foreign or too new file."""
    path = resolve_checkpoint(path, TAGGER_NAME, "tagger", "outfit train-tagger")
    ckpt = _read_checkpoint(path)
    try:
        prep = Preprocessing.from_dict(ckpt["preprocessing"])
        frozen = int(ckpt.get("frozen", 0))
        base = str(ckpt.get("base_weights", "none"))
        model = Tagger([str(c) for c in ckpt["classes"]], backbone=str(ckpt["backbone"]),
                       image_size=prep.image_size, weights=base if frozen else "none",
                       frozen=frozen, pattern_classes=[str(c) for c in ckpt.get("pattern_classes", [])],
                       color_classes=[str(c) for c in ckpt.get("color_classes", [])],
                       pattern_layer=ckpt.get("pattern_layer"),
                       pattern_in=(int(ckpt["state_dict"]["pattern_head.weight"].shape[1])
                                   if "pattern_head.weight" in ckpt["state_dict"] else None))
        missing, unexpected = model.load_state_dict(ckpt["state_dict"], strict=False)
        missing = [k for k in missing if not (frozen and base == "imagenet" and _in_prefix(k, frozen))]
        if missing or unexpected:
            raise RuntimeError(f"{len(missing)} weights missing (e.g. {missing[:1]}), "
                               f"{len(unexpected)} unexpected (e.g. {unexpected[:1]})")
    except OutfitError as exc:
        raise ModelError(f"{path}: {exc.message}", hint=exc.hint) from None
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path} does not fit its own description ({type(exc).__name__}: "
                         f"{str(exc)[:160]})", hint="retrain it with 'outfit train-tagger'") from None
    model.prep = prep
    model.meta = {k: ckpt[k] for k in ("metrics", "created", "train_config") if k in ckpt}
    return model.to(device).eval().fuse()


Photo = Item | str | Path | Image.Image


def tag(tagger: Tagger, photos: Sequence[Photo] | torch.Tensor, *,
        batch_size: int = 128) -> list[tuple[str, float]]:
    """The most likely category of each photo, with its probability: ``[(category, p), ...]``.

    ``photos`` are items (their ``image``), paths, PIL images, or a uint8 ``(N, 3, S, S)``
    tensor already preprocessed at the tagger's image size. A photo that cannot be read raises
    :class:`ImageError`."""
    if isinstance(photos, torch.Tensor):
        images = photos
    else:
        prep = tagger.prep
        arrays = []
        for p in photos:
            if isinstance(p, Item):
                arrays.append(load_image_tensor([p], prep)[0].numpy())
            elif isinstance(p, Image.Image):
                arrays.append(photo_to_array(p.convert("RGB"), prep))
            else:
                arrays.append(photo_to_array(load_image(Path(p)), prep))
        size = prep.image_size
        images = (torch.from_numpy(np.stack(arrays)) if arrays
                  else torch.zeros(0, 3, size, size, dtype=torch.uint8))
    probs = tagger.probabilities(images, batch_size=batch_size)
    conf, idx = probs.max(-1)
    return [(tagger.classes[int(k)], float(c)) for k, c in zip(idx, conf, strict=True)]


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

"""Fine-tuning a pretrained tagger on cached early features, so that it fits in minutes on a CPU.

A pretrained trunk (EfficientNet-Lite0 with its ImageNet weights) already sees edges, textures
and parts; what a clothing tagger needs to change is mostly its last stages. So the first
``cfg.freeze`` modules of the trunk are run **once** per photo and view (``cfg.views`` views of
each training photo: the photo itself, then random crops, zooms, rotations, flips and colour
jitter, as :func:`grader.tagger_data._augment` makes them), their output kept in memory as
float16, and only the rest of the trunk and the category head are trained on it. With
``freeze=12`` at 224 px (everything up to the end of the 112-channel stage frozen), the cache
of 3,068 photos x 4 views is 1.1 GB and an epoch takes about a minute on 2 cores, against 10
minutes end to end.

The batch norms of the trained part keep their ImageNet statistics (frozen, eval mode): with
batches of 64 photos of one data set, re-estimating them would only add noise. Validation
photos (and their mirror images) go through the same frozen part once; the epoch kept is the
one with the best validation accuracy.

:func:`fit_pattern_head` then fits a linear pattern head (solid, stripes, checks, dots, floral,
print) on the tagger's own pooled features of hand-labelled photos (``data/labels``), a
multinomial logistic regression with an L2 penalty; it reports the accuracy on the labelled
test photos.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from data.synth.attributes import PATTERNS
from outfit.errors import OutfitError

from .preprocess import Preprocessing, photo_to_array, to_float

if TYPE_CHECKING:
    from .tagger import Tagger
    from .tagger_data import _Split
    from .tagger_training import TaggerConfig

__all__ = ["fit_cached", "fit_pattern_head", "fit_color_head", "read_pattern_labels",
           "read_color_labels"]

_CHUNK = 64


def _frozen_part(model: Tagger) -> nn.Module:
    part = model.trunk[:model.frozen]
    if model.backbone_name.startswith("efficientnet"):
        from .efficientnet import fold_batchnorm

        part = fold_batchnorm(part)
    return part.eval().requires_grad_(False).to(memory_format=torch.channels_last)


@torch.no_grad()
def _through(part: nn.Module, model: Tagger, x: torch.Tensor) -> torch.Tensor:
    """Float photos in [0, 1] -> the frozen part's output, float16, in chunks."""
    out = []
    for s in range(0, len(x), _CHUNK):
        xb = ((x[s:s + _CHUNK].to(model.mean.device) - model.mean) / model.std)
        out.append(part(xb.contiguous(memory_format=torch.channels_last)).half().cpu())
    return torch.cat(out)


def _cache_views(cfg: TaggerConfig, model: Tagger, part: nn.Module, images: torch.Tensor,
                 gen: torch.Generator) -> torch.Tensor:
    """``(N, views, C, h, w)`` float16: view 0 is the photo itself, the others augmented."""
    from .tagger_data import _augment

    views = []
    bar = tqdm(range(cfg.views), desc="caching views", disable=not cfg.progress,
               dynamic_ncols=True)
    for v in bar:
        chunks = []
        for s in range(0, len(images), 256):
            batch = images[s:s + 256]
            x = to_float(batch) if v == 0 else _augment(batch, gen, cfg)
            chunks.append(_through(part, model, x))
        views.append(torch.cat(chunks))
    bar.close()
    return torch.stack(views, 1)


def _eval_cached(model: Tagger, rest: nn.Module, cached: tuple[torch.Tensor, torch.Tensor],
                 labels: torch.Tensor) -> tuple[float, float]:
    """(accuracy, cross-entropy) from the cached photo and mirror image, averaged."""
    if len(labels) == 0:
        return float("nan"), float("nan")
    was = rest.training
    rest.eval()
    model.dropout.eval()
    with torch.no_grad():
        p = sum(torch.cat([F.softmax(model.shape_head(rest(c[s:s + _CHUNK].float().to(
            model.mean.device))), -1).cpu() for s in range(0, len(c), _CHUNK)]) for c in cached) / 2
    rest.train(was)
    return float((p.argmax(-1) == labels).float().mean()), float(F.nll_loss(p.clamp_min(1e-8).log(),
                                                                           labels))


def _freeze_batchnorm(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
            m.requires_grad_(False)


def fit_cached(cfg: TaggerConfig, model: Tagger, splits: dict[str, _Split],
               gen: torch.Generator) -> tuple[list[dict], dict[str, torch.Tensor], int]:
    """Train ``model.trunk[model.frozen:]`` and the category head on cached views; returns
    (per-epoch log, best state dict, best epoch)."""
    from .tagger_training import _Epochs

    if not 0 < model.frozen < len(model.trunk):
        raise OutfitError(f"--freeze {model.frozen} is outside the trunk's 1..{len(model.trunk) - 1} "
                          "modules", hint="efficientnet-lite0 trains well with --freeze 12")
    if cfg.views < 1:
        raise OutfitError("--views must be at least 1")
    part = _frozen_part(model)
    model.trunk[:model.frozen].requires_grad_(False)
    rest = model.trunk[model.frozen:]
    train = splits["train"]
    cached = _cache_views(cfg, model, part, train.images, gen)
    photos = to_float(splits["validation"].images)  # test photos are measured later, once
    valid = (_through(part, model, photos), _through(part, model, photos.flip(-1)))
    _freeze_batchnorm(rest)
    params = [p for p in rest.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": params, "lr": cfg.lr / 6},
                             {"params": model.shape_head.parameters(), "lr": cfg.lr}],
                            weight_decay=cfg.weight_decay)
    n = len(train.labels)
    steps = max(1, n // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, [cfg.lr / 6, cfg.lr],
                                                total_steps=steps * cfg.epochs, pct_start=0.1)
    epochs = _Epochs(cfg)
    for epoch in epochs.bar:
        rest.train()
        _freeze_batchnorm(rest)
        model.dropout.train()
        order = torch.randperm(n, generator=gen)
        total, right = 0.0, 0
        for step in range(steps):
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            view = torch.randint(0, cfg.views, (len(idx),), generator=gen)
            x = cached[idx, view].float().to(model.mean.device)
            y = train.labels[idx].to(model.mean.device)
            logits = model.shape_head(model.dropout(rest(x)))
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            right += int((logits.argmax(-1) == y).sum())
        epochs.end(model, epoch, total, right, steps,
                   *_eval_cached(model, rest, valid, splits["validation"].labels))
    return epochs.result()


# ----------------------------------------------------------------------------- pattern head


def _logistic(x: torch.Tensor, y: torch.Tensor, n_classes: int, l2: float) -> nn.Linear:
    """Multinomial logistic regression on standardised ``x`` with an L2 penalty (L-BFGS), as
    a linear layer on the raw features (the standardisation folded into its weights)."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    w = torch.zeros(x.shape[1], n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    z = (x - mu) / sd
    opt = torch.optim.LBFGS([w, bias], max_iter=500)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z @ w + bias, y) + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    head = nn.Linear(x.shape[1], n_classes)
    with torch.no_grad():
        head.weight.copy_((w / sd[:, None]).T)
        head.bias.copy_(bias - (mu / sd) @ w)
    return head


def read_pattern_labels(path: Path | str) -> dict[str, str]:
    """``{file: pattern}`` from a labels CSV with columns ``file`` and ``pattern`` (as
    ``data/labels/clothing_small_colors_patterns.csv``); an unknown pattern is an error."""
    path = Path(path)
    if not path.is_file():
        raise OutfitError(f"pattern labels not found: {path}",
                          hint="give a CSV with columns file,pattern (see data/labels/README.md)")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "file" not in rows[0] or "pattern" not in rows[0]:
        raise OutfitError(f"{path} has no 'file' and 'pattern' columns")
    bad = sorted({r["pattern"] for r in rows} - set(PATTERNS))
    if bad:
        raise OutfitError(f"{path} names unknown patterns: {', '.join(bad)}",
                          hint="patterns are " + ", ".join(PATTERNS))
    return {r["file"]: r["pattern"] for r in rows}


def _pattern_inputs(model: Tagger, folder: Path, files: list[str]
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """What the pattern head reads for each photo and for its mirror image (each ``(N, F)``),
    with the garment masks as :func:`grader.photo_tags.describe_images` makes them."""
    from data.images import load_image

    from .photo_tags import photo_masks, square_mask

    prep = Preprocessing(model.prep.image_size)
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(files), _CHUNK):
            photos = [load_image(folder / f) for f in files[s:s + _CHUNK]]
            x = to_float(torch.from_numpy(np.stack([photo_to_array(p, prep) for p in photos])))
            m = torch.stack([square_mask(k) for k in photo_masks(photos)])
            x, m = x.to(model.mean.device), m.to(model.mean.device)
            out.append((model.pattern_input(x, m)[1].cpu(),
                        model.pattern_input(x.flip(-1), m.flip(-1))[1].cpu()))
    return torch.cat([a for a, _ in out]), torch.cat([b for _, b in out])


PATTERN_LAYER = 12
"""The trunk module whose texture statistics the pattern head reads beside the embedding
(EfficientNet-Lite0: the end of stage 5, 112 channels at 1/16 of the photo). Chosen by
five-fold cross-validation on the labelled train photos over modules 4, 6, 9 and 12 and the
L2 penalty (see the shipped tagger's ``MODEL_CARD.md``)."""
PATTERN_L2 = 0.01


def fit_pattern_head(model: Tagger, folder: Path | str, labels_csv: Path | str,
                     gen: torch.Generator, *, l2: float = PATTERN_L2) -> dict:
    """Fit ``model.pattern_head`` on the labelled ``train/`` photos of ``folder`` (both the photo
    and its mirror image); measure it on the labelled ``test/`` photos. The head reads the
    embedding and, on an EfficientNet trunk, the texture statistics of :data:`PATTERN_LAYER`
    over the garment mask. Returns the metrics for the card (``pattern_test_acc``,
    ``pattern_test_majority``, ``pattern_test_patterned``: the share of patterned test photos
    called patterned, ``pattern_train_photos``, ``pattern_test_photos``)."""
    folder = Path(folder)
    labels = read_pattern_labels(labels_csv)
    present = {f: p for f, p in labels.items() if (folder / f).is_file()}
    train = sorted(f for f in present if f.startswith("train/"))
    test = sorted(f for f in present if f.startswith("test/"))
    if len(train) < 20:
        raise OutfitError(f"only {len(train)} labelled train photos found under {folder}",
                          hint="the labels' file column is the path under the photo folder")
    classes = list(PATTERNS)
    model.pattern_layer = (PATTERN_LAYER if model.backbone_name.startswith("efficientnet")
                           else None)
    a, b = _pattern_inputs(model, folder, train)
    x = torch.cat([a, b])
    y = torch.tensor([classes.index(present[f]) for f in train] * 2)
    head = _logistic(x, y, len(classes), l2)
    model.pattern_classes = tuple(classes)
    model.pattern_head = head.to(model.mean.device)
    metrics: dict = {"pattern_train_photos": len(train), "pattern_test_photos": len(test),
                     "pattern_layer": model.pattern_layer}
    if test:
        ta, tb = _pattern_inputs(model, folder, test)
        with torch.no_grad():
            p = (F.softmax(model.pattern_head(ta.to(model.mean.device)), -1)
                 + F.softmax(model.pattern_head(tb.to(model.mean.device)), -1)).cpu()
        truth = torch.tensor([classes.index(present[f]) for f in test])
        pred = p.argmax(-1)
        solid = classes.index("solid")
        metrics["pattern_test_acc"] = round(float((pred == truth).float().mean()), 4)
        metrics["pattern_test_majority"] = round(float((truth == truth.mode().values).float().mean()), 4)
        metrics["pattern_test_patterned"] = round(float((pred[truth != solid] != solid)
                                                        .float().mean()), 4)
    return metrics


# ------------------------------------------------------------------------------ colour head


def read_color_labels(path: Path | str) -> dict[str, str]:
    """``{file: main colour}`` from a labels CSV with columns ``file`` and ``main_color``."""
    from .color import COLOR_NAMES

    path = Path(path)
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "main_color" not in rows[0]:
        raise OutfitError(f"{path} has no 'main_color' column",
                          hint="see data/labels/README.md for the columns")
    bad = sorted({r["main_color"] for r in rows} - set(COLOR_NAMES))
    if bad:
        raise OutfitError(f"{path} names unknown colours: {', '.join(bad)}",
                          hint="colours are " + ", ".join(COLOR_NAMES))
    return {r["file"]: r["main_color"] for r in rows}


def garment_features_of_files(folder: Path, files: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """For each photo, through its garment mask at the size :mod:`grader.photo_tags` works at:
    :func:`grader.color.garment_color_features` ``(N, F)``, and the index of the colour name
    :func:`grader.color.garment_color_names` gives without learning ``(N,)``."""
    from data.images import load_image

    from .color import garment_color_features, garment_color_names
    from .mask import garment_mask
    from .photo_tags import small_photo

    feats, plain = [], []
    for f in files:
        image = small_photo(load_image(folder / f))  # exactly as a photo is tagged
        rgb = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
        mask = torch.from_numpy(garment_mask(image))
        feats.append(garment_color_features(rgb, mask))
        plain.append(int(garment_color_names(rgb, mask).argmax()))
    return torch.stack(feats), torch.tensor(plain)


def fit_color_head(model: Tagger, folder: Path | str, labels_csv: Path | str, *,
                   l2: float = 0.01) -> dict:
    """Fit ``model.color_head`` (a linear namer over :func:`grader.color.garment_color_features`)
    on the labelled ``train/`` photos of ``folder``; measure it on the labelled ``test/`` ones,
    beside the colour named from the pixels without learning
    (:func:`grader.color.garment_color_names`). Returns the card's metrics."""
    from .color import COLOR_NAMES

    folder = Path(folder)
    labels = {f: c for f, c in read_color_labels(labels_csv).items() if (folder / f).is_file()}
    train = sorted(f for f in labels if f.startswith("train/"))
    test = sorted(f for f in labels if f.startswith("test/"))
    if len(train) < 20:
        raise OutfitError(f"only {len(train)} labelled train photos found under {folder}")
    x, _ = garment_features_of_files(folder, train)
    y = torch.tensor([COLOR_NAMES.index(labels[f]) for f in train])
    model.color_classes = tuple(COLOR_NAMES)
    model.color_head = _logistic(x, y, len(COLOR_NAMES), l2).to(model.mean.device)
    metrics: dict = {"color_train_photos": len(train), "color_test_photos": len(test)}
    if test:
        xt, plain = garment_features_of_files(folder, test)
        truth = torch.tensor([COLOR_NAMES.index(labels[f]) for f in test])
        with torch.no_grad():
            pred = model.color_head(xt.to(model.mean.device)).argmax(-1).cpu()
        metrics["color_test_acc"] = round(float((pred == truth).float().mean()), 4)
        metrics["color_test_unlearned"] = round(float((plain == truth).float().mean()), 4)
    return metrics

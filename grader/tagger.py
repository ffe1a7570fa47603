"""The tagger: a category model trained on real photos, for auto-tagging a person's closet.

A model trained only on the synthetic world has never seen a real photo, so auto-tags come from
this one instead: a CNN trunk and a shape head over fine categories, trained on a folder of real
photos (``../shared/data/clothing-small``: 10 classes that map onto the slots) by
:func:`grader.tagger_training.train_tagger`::

    card = train_tagger("clothing-small", "models/tagger")   # tagger.pt + card.json
    tagger = load_tagger("models/tagger")
    tag(tagger, closet.items)  # -> [("t-shirt", 0.93), ("pants", 0.88), ...]

This module holds the network, its checkpoint and its loading; :mod:`grader.tagger_data` reads
the photo folders and augments the photos, :mod:`grader.tagger_training` trains end to end and
writes the card, :mod:`grader.tagger_cached` fine-tunes on cached early features.

The module names match :class:`ItemFeatureNet` (``trunk.*``, ``shape_head.*``, same input
normalisation), so a tagger's state can seed the shape group of a feature net built with the
same backbone and ``shape_names = tagger.classes``.

The checkpoint is a plain dict (``format = "outfit-tagger"``) read with ``weights_only=True``;
a file that is not one is refused with :class:`ModelError`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from data.fileio import atomic_write_bytes
from data.images import load_image
from outfit.domain import Item
from outfit.errors import ModelError, OutfitError

from .backbones import IMAGENET_MEAN, IMAGENET_STD, Backbone, create_backbone
from .checkpoint import read_plain_checkpoint, resolve_checkpoint
from .color import GARMENT_FEATURE_DIM
from .preprocess import Preprocessing, load_image_tensor, photo_to_array, to_float

__all__ = ["TAGGER_FORMAT", "TAGGER_FORMAT_VERSION", "TAGGER_NAME", "Tagger", "load_tagger",
           "tag"]

TAGGER_FORMAT = "outfit-tagger"
TAGGER_FORMAT_VERSION = 1
TAGGER_NAME = "tagger.pt"
_REQUIRED = ("backbone", "preprocessing", "classes", "state_dict")


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

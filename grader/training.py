"""Training: the item-feature CNN, then the outfit grader.

Stage 1 trains the CNN trunk with the shape and pattern heads on item labels (fine category,
pattern). Stage 2 freezes them, caches the colour and trunk features of every item, and trains
the style head with the grader on positives against same-slot swaps and sub-outfits (see
:mod:`grader.sampling`), validating compatibility AUC and FITB accuracy each epoch, stopping
early and keeping the best state. A temperature and a bias (Platt scaling) are then fitted on
the validation questions, so that scores read as probabilities.

Runs alone or under ``torchrun --nproc_per_node=N`` (DistributedDataParallel: gloo on CPU,
nccl on GPU); each process takes every N-th batch, rank 0 writes the files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from data.dataset import Dataset
from data.fileio import atomic_write_json
from data.loaders import load_dataset
from outfit import defaults
from outfit.errors import OutfitError

from .api import GraderModel, feature_statistics, pad_outfits, slot_ids
from .checkpoint import CHECKPOINT_NAME, save_checkpoint
from .distributed import Dist
from .features import ItemFeatureNet
from .labels import (
    PATTERNS,
    UNKNOWN,
    pattern_labels,
    shape_labels,
    shape_vocabulary,
)
from .metrics import fit_calibration
from .model import create_grader
from .named_groups import named_groups_from
from .preprocess import Preprocessing, load_image_tensor, to_float
from .questions import answer_questions, question_set
from .sampling import SwapSampler

__all__ = ["TrainConfig", "train", "train_model", "data_fingerprint"]

STATE_NAME = "train_state.pt"


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved in the checkpoint and the card."""

    dataset: str
    out: str
    arch: str = "slots"
    backbone: str = "small"
    weights: str = "none"
    image_size: int = defaults.IMAGE_SIZE
    feature_epochs: int = defaults.FEATURE_EPOCHS
    epochs: int = defaults.EPOCHS
    batch_size: int = 256
    feature_batch_size: int = 128
    lr: float = 5e-3
    feature_lr: float = 3e-3
    weight_decay: float = 1e-4
    style_dim: int = 16
    patience: int = 8
    sub_outfit_rate: float = 0.5
    # Stage 2 validates and keeps an exponential moving average of the weights (Polyak
    # averaging); 0 turns it off. On a 4,000-outfit world: valid AUC +0.004 to +0.008.
    average_decay: float = 0.995
    # Share of items whose style embedding is blanked in each training example, so that the
    # grader reads colour, shape and pattern from their named groups (which the explainer can
    # name) rather than from the style embedding, which sees everything. 0 turns it off. On a
    # 4,000-outfit world, 0.5 against 0: test AUC 0.989 vs 0.984, FITB 0.984 vs 0.976, and
    # gradient x activation names the violated property of a bad outfit's culprit in 99 % of
    # cases instead of 64 % (outfit evaluate-explainer).
    style_dropout: float = 0.5
    negatives: int = 2  # swapped negatives per outfit and epoch
    use_labelled: bool = True  # add the train split's labelled compatibility questions
    device: str = "cpu"
    seed: int = defaults.SEED
    version: str = "nondisjoint"
    freeze_backbone: bool = False
    cache_dir: str | None = None
    resume: bool = False
    progress: bool = True
    # A JSON file rewritten as training goes (stage, epoch, step, fraction done), for a watcher
    # such as the web app's training jobs; None writes nothing.
    progress_file: str | None = None
    grader_config: dict = field(default_factory=dict)


def data_fingerprint(ds: Dataset) -> str:
    """A short hash of the training outfits and their items' categories."""
    h = hashlib.sha256()
    for o in ds.outfits:
        h.update(f"{o.id}:{','.join(o.item_ids)}\n".encode())
    for item_id in sorted(ds.items):
        it = ds.items[item_id]
        h.update(f"{item_id}|{it.category}|{it.semantic_category}\n".encode())
    return h.hexdigest()[:16]


def _seed_all(seed: int) -> random.Random:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    return random.Random(seed)


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a shift of up to 1/16 of the side, padding with white."""
    b, _, s, _ = x.shape
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    pad = max(1, s // 16)
    padded = F.pad(x, (pad, pad, pad, pad), value=1.0)
    dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=gen))
    return padded[:, :, dy:dy + s, dx:dx + s]


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


class _Heads(nn.Module):
    """Stage-1 module: photos -> shape and pattern logits."""

    def __init__(self, fn: ItemFeatureNet) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fn.heads(self.fn.trunk_features(images))


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


def _progress(cfg: TrainConfig, dist: Dist, total: int, desc: str):
    return tqdm(total=total, desc=desc, disable=not (cfg.progress and dist.is_main), leave=False,
                dynamic_ncols=True)


class _ProgressFile:
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


def _train_features(cfg: TrainConfig, dist: Dist, fn: ItemFeatureNet, images: torch.Tensor,
                    shape_y: torch.Tensor, pattern_y: torch.Tensor, log: list,
                    report: _ProgressFile) -> None:
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
        bar = _progress(cfg, dist, steps_per_epoch, f"features {epoch + 1}/{cfg.feature_epochs}")
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
                          report: _ProgressFile) -> None:
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


def _drawn(dataset: str) -> bool:
    """Whether ``dataset`` is a synthetic world (its photos are drawings)."""
    from data.synth.writer import GENERATOR

    try:
        summary = json.loads((Path(dataset) / "world.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("generator") == GENERATOR


def _load_split(cfg: TrainConfig, split: str) -> Dataset:
    return load_dataset(cfg.dataset, split=split, version=cfg.version)


def train(cfg: TrainConfig) -> dict:
    """Train a model as ``cfg`` says; write ``model.pt`` and ``card.json`` into ``cfg.out``.

    Returns the card (a dict). Resumes from ``train_state.pt`` when ``cfg.resume`` is set.
    """
    return train_model(cfg)[0]


def train_model(cfg: TrainConfig) -> tuple[dict, GraderModel]:
    """:func:`train`, also returning the trained model (in every process under torchrun)."""
    dist = Dist.from_env(cfg.device)
    try:
        return _train(cfg, dist)
    finally:
        dist.close()


def _train(cfg: TrainConfig, dist: Dist) -> tuple[dict, GraderModel]:
    started = time.time()
    out = Path(cfg.out)
    report = _ProgressFile(cfg, dist)
    report("loading", message="loading the dataset and its photos", force=True)
    rng = _seed_all(cfg.seed)  # the same seed in every process: one order of batches, split
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OutfitError("--device cuda asked for, but no CUDA device is available",
                          hint="train with --device cpu")
    train_ds, valid_ds = _load_split(cfg, "train"), _load_split(cfg, "valid")
    if not train_ds.outfits:
        raise OutfitError(f"no training outfits in {cfg.dataset}", hint="check the dataset path")
    items = list(train_ds.items.values()) + [it for i, it in valid_ds.items.items()
                                             if i not in train_ds.items]
    n_train = len(train_ds.items)
    shapes = shape_vocabulary(items)
    prep = Preprocessing(cfg.image_size)
    images = load_image_tensor(items, prep, cache_dir=cfg.cache_dir)
    shape_y = torch.tensor(shape_labels(items, shapes))
    pattern_y = torch.tensor(pattern_labels(items))

    fn = ItemFeatureNet(shapes, PATTERNS, backbone=cfg.backbone, weights=cfg.weights,
                        style_dim=cfg.style_dim).to(device)
    grader = create_grader(cfg.arch, fn.layout.dim, **cfg.grader_config).to(device)
    log: list[dict] = []
    state_path = out / STATE_NAME
    resumed = None
    if cfg.resume and state_path.is_file():
        resumed = torch.load(state_path, map_location="cpu", weights_only=True)
        fn.load_state_dict(resumed["feature_net"])
        grader.load_state_dict(resumed["grader"])
        log = json.loads(resumed["log"])

    # ---- stage 1: item features
    if resumed is None:
        # Only what stage 1's loss reaches may require gradients (DistributedDataParallel
        # refuses parameters that get none): the style head waits for stage 2.
        fn.style_head.requires_grad_(False)
        fn.trunk.requires_grad_(not cfg.freeze_backbone)
        fn.pattern_head.requires_grad_(bool((pattern_y[:n_train] != UNKNOWN).any()))
        _train_features(cfg, dist, fn, images[:n_train], shape_y[:n_train], pattern_y[:n_train],
                        log, report)
    dist.broadcast_module(fn)  # batch-norm statistics are per process until now
    for part in (fn.trunk, fn.shape_head, fn.pattern_head):
        part.requires_grad_(False)
    fn.style_head.requires_grad_(True)
    model = GraderModel(fn, grader, prep, device=cfg.device)
    color, trunk = model.color_and_trunk(images)
    color, trunk = color.to(device), trunk.to(device)
    slots = slot_ids(items).to(device)
    index = {it.id: k for k, it in enumerate(items)}
    with torch.no_grad():
        shape_acc = float((fn.heads(trunk[n_train:])[0].argmax(-1).cpu()
                           == shape_y[n_train:]).float().mean()) if len(items) > n_train else None

    # ---- stage 2: the grader (and the style head) on cached features
    categories = [it.semantic_category for it in items]
    labelled = ([([index[i] for i in q.item_ids], q.label) for q in train_ds.compatibility]
                if cfg.use_labelled else [])
    sampler = SwapSampler([[index[i] for i in o.item_ids] for o in train_ds.outfits], categories,
                          range(n_train), labelled=labelled, negatives=cfg.negatives,
                          sub_outfit_rate=cfg.sub_outfit_rate)
    valid_q = question_set(valid_ds, index)
    scorer = _Scorer(fn, grader, cfg.style_dropout).to(device)
    ddp_scorer = dist.wrap(scorer)
    opt = torch.optim.AdamW([p for p in scorer.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    # One cycle over the planned epochs: warm up, then anneal; early stopping keeps the best.
    per_step = cfg.batch_size * dist.world
    steps_per_epoch = max(1, len(sampler.epoch(random.Random(cfg.seed))) // per_step)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr,
                                                total_steps=steps_per_epoch * cfg.epochs + 1)
    average = _Average(scorer, cfg.average_decay)
    start_epoch, best, best_state, bad_epochs = 0, -math.inf, None, 0
    if resumed is not None:
        opt.load_state_dict(resumed["optimizer"])
        if "average" in resumed:
            average.load_state_dict(resumed["average"])
        sched.load_state_dict(resumed["scheduler"])
        start_epoch, best, bad_epochs = resumed["epoch"], resumed["best"], resumed["bad_epochs"]
        best_state = resumed["best_state"]
        rng.setstate(_rng_from(resumed["rng"]))

    def score_rows(padded: torch.Tensor) -> torch.Tensor:
        mask = padded >= 0
        safe = padded.clamp(min=0).to(device)
        return scorer(color[safe], trunk[safe], slots[safe], mask.to(device))

    for epoch in range(start_epoch, cfg.epochs):
        scorer.train()
        fn.trunk.eval()  # batch-norm statistics stay those of stage 1
        examples = sampler.epoch(rng)
        steps = min(steps_per_epoch, max(1, len(examples) // (cfg.batch_size * dist.world)))
        bar = _progress(cfg, dist, steps, f"grader {epoch + 1}/{cfg.epochs}")
        total = 0.0
        for step in range(steps):
            batch = [examples[k] for k in dist.shard(range(len(examples)), step, cfg.batch_size)]
            padded = pad_outfits([r for r, _ in batch])
            labels = torch.tensor([y for _, y in batch], device=device)
            mask = (padded >= 0).to(device)
            safe = padded.clamp(min=0).to(device)
            logits = ddp_scorer(color[safe], trunk[safe], slots[safe], mask)
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            average.update()
            total += loss.item()
            bar.set_postfix(loss=f"{total / (step + 1):.3f}")
            bar.update()
            report("grader", epoch, cfg.epochs, step + 1, steps,
                   message=f"grader, epoch {epoch + 1} of {cfg.epochs}", force=step + 1 == steps)
        bar.close()
        scorer.eval()
        with average.applied():  # validate (and keep) the averaged weights
            val = answer_questions(valid_q, score_rows)
            metric = _selection_metric(val)
            if metric > best + 1e-4:
                best_state = _trainable_state(scorer)
        log.append({"stage": "grader", "epoch": epoch + 1, "loss": total / steps,
                    "valid_auc": val["auc"], "valid_fitb": val["fitb"]})
        if dist.is_main and cfg.progress:
            tqdm.write(f"epoch {epoch + 1}: loss {total / steps:.4f}  valid AUC {val['auc']:.4f}"
                       f"  FITB {val['fitb']:.3f}")
        if metric > best + 1e-4:
            best, bad_epochs = metric, 0
        else:
            bad_epochs += 1
        if dist.is_main:
            _save_state(state_path, fn, grader, opt, sched, average, epoch + 1, best, bad_epochs,
                        best_state, rng, log)
        if dist.decide(bad_epochs >= cfg.patience):
            break

    report("finishing", message="calibrating and saving", force=True)
    if best_state is not None:
        scorer.load_state_dict(best_state, strict=False)
    scorer.eval()
    val = answer_questions(valid_q, score_rows)
    temperature, bias = fit_calibration(val["compat_logits"], valid_q.compat_labels)
    grader.set_calibration(temperature, bias)
    card = _card(cfg, train_ds, valid_ds, val, temperature, bias, shape_acc, log, started)
    with torch.no_grad():  # what the explainer compares items with: the training items
        train_feats = torch.cat([fn.features_from(color[s:s + 4096], trunk[s:s + 4096]).cpu()
                                 for s in range(0, n_train, 4096)])
    model.meta = {"metrics": card["metrics"], "data": card["data"], "created": card["created"],
                  "train_config": card["config"],
                  "feature_reference": feature_statistics(train_feats, categories[:n_train])}
    groups = named_groups_from(items[:n_train], train_feats, fn.layout)
    if groups is not None:  # the model can read a person's photos through their tags
        model.meta["named_groups"] = groups.to_dict()
        model.named_groups = groups
    # A model that learnt from drawings reads a person's photos by their tags, and its scores
    # there are calibrated on real photos with known answers.
    model.meta["closet_reads"] = "tags" if groups is not None and _drawn(cfg.dataset) else "pixels"
    if model.closet_reads == "tags":
        from .closet_calibration import fit_closet_calibration

        report("finishing", message="calibrating on real photos", force=True)
        calibration = fit_closet_calibration(model)
        if calibration is not None:
            model.meta["closet_calibration"] = calibration
            card["closet_calibration"] = calibration
    if dist.is_main:
        save_checkpoint(out / CHECKPOINT_NAME, model.to_checkpoint())
        tmp = out / "card.json.tmp"
        tmp.write_text(json.dumps(card, indent=2) + "\n")
        os.replace(tmp, out / "card.json")
        state_path.unlink(missing_ok=True)
    report("done", message="trained", force=True)
    return card, model


def _selection_metric(val: dict) -> float:
    auc_, fitb = val["auc"], val["fitb"]
    parts = [v for v in (auc_, fitb) if not math.isnan(v)]
    return sum(parts) / len(parts) if parts else 0.0


def _trainable_state(module: nn.Module) -> dict:
    names = {n for n, p in module.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in module.state_dict().items()
            if k in names or k.endswith("log_temperature")}


def _rng_from(state: list) -> tuple:
    return (state[0], tuple(state[1]), state[2])


def _save_state(path: Path, fn, grader, opt, sched, average, epoch, best, bad_epochs, best_state,
                rng, log):
    rs = rng.getstate()
    save_checkpoint(path, {
        "kind": "train-state", "feature_net": fn.state_dict(), "grader": grader.state_dict(),
        "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "average": average.state_dict(), "epoch": epoch,
        "best": best, "bad_epochs": bad_epochs,
        "best_state": best_state, "rng": [rs[0], list(rs[1]), rs[2]], "log": json.dumps(log),
    })


def _card(cfg: TrainConfig, train_ds: Dataset, valid_ds: Dataset, val: dict, temperature: float,
          bias: float, shape_acc: float | None, log: list, started: float) -> dict:
    return {
        "what": f"outfit grader ({cfg.arch}) over {cfg.backbone} item features",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": {"name": train_ds.name, "root": str(cfg.dataset),
                 "fingerprint": data_fingerprint(train_ds),
                 "train": train_ds.summary(), "valid": valid_ds.summary()},
        "metrics": {"valid_auc": val["auc"], "valid_fitb": val["fitb"],
                    "valid_shape_acc": shape_acc, "temperature": temperature,
                    "calibration_bias": bias},
        "train_seconds": round(time.time() - started, 1),
        "config": asdict(cfg),
        "log": log,
    }

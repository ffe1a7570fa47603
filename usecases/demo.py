"""The demo behind ``make demo`` (``outfit demo``): a trained model and a full closet in the
instance folder, made once, so that the app has something to show on its first page.

:func:`prepare_demo` does only what is missing:

1. **The model.** With no ``<home>/models/*/model.pt``, it makes (or reuses) the demo world
   ``<home>/worlds/synth-<seed>`` and trains the default recipe on it into
   ``<home>/models/demo/`` with progress bars (about 2 to 3 minutes on 2 cores; an interrupted
   run resumes from its ``train_state.pt``).
2. **The closet.** With an empty closet, it tags the 80 real photos shipped in
   ``data/demo_closet/photos`` (CC0 clothing-small photos the tagger never trained on) with the
   shipped real-photo tagger, exactly as uploads are tagged, picks about ``closet_items`` of
   them spread over every slot the tagger found, and stores each photo through
   :meth:`~closet.store.Store.add_photo` with its tags as suggestions (with their confidences)
   and its garment mask. A closet left half-filled by an interrupted demo (only demo photos in
   it) is completed: photos already there are skipped.

A second call finds both and returns at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from closet.errors import DuplicatePhotoError, StoreError
from closet.store import Store
from outfit.config import DEMO_WORLD_OUTFITS, DEMO_WORLD_SEED
from outfit.domain import Item
from outfit.vocab import SHOES
from usecases.services import newest_model

__all__ = ["DemoState", "prepare_demo", "DEMO_CLOSET_SEED", "DEMO_CLOSET_ITEMS", "DEMO_MODEL",
           "DEMO_PREFIX", "QUICK", "pick_closet"]

DEMO_CLOSET_SEED = 1001
"""Seed of the closet's world: not :data:`~outfit.config.DEMO_WORLD_SEED`, the training world's."""
DEMO_CLOSET_ITEMS = 80
DEMO_MODEL = "demo"
"""Folder under ``<home>/models`` that the demo model is trained into."""
DEMO_PREFIX = "demo-"
"""Original names of the demo closet's photos start with this (``demo-<world item id>.jpg``)."""

QUICK: dict[str, Any] = {
    "outfits": 240, "world_image_size": 48,
    "train": {"image_size": 32, "feature_epochs": 2, "epochs": 3, "batch_size": 64},
}
"""Settings that prepare a (poor) demo in seconds: for tests and CI (``outfit demo --quick``)."""

# Share of the closet per slot (a person owns more tops than coats).
_SLOT_WEIGHTS: dict[str, int] = {"upper": 5, "lower": 3, "outer": 2, "full": 2, SHOES: 3,
                                 "accessory": 3}


@dataclass
class DemoState:
    """What :func:`prepare_demo` found and did."""

    home: Path
    model_dir: Path
    world: Path | None = None  # the training world (None when a model was already there)
    trained: bool = False
    closet_items: int = 0
    added: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return (self.model_dir / "model.pt").is_file() and self.closet_items > 0


def pick_closet(items: list[Item], n: int, seed: int) -> list[Item]:
    """About ``n`` items spread over the slots by :data:`_SLOT_WEIGHTS`, at least one in each
    slot that has any, varied in kind (shuffled by ``seed``)."""
    rng = random.Random(seed)
    by_slot: dict[str, list[Item]] = {}
    for it in sorted(items, key=lambda i: i.id):
        by_slot.setdefault(it.slot, []).append(it)
    for pool in by_slot.values():
        rng.shuffle(pool)
    total = sum(w for s, w in _SLOT_WEIGHTS.items() if s in by_slot) or 1
    quota = {s: max(1, round(n * w / total)) for s, w in _SLOT_WEIGHTS.items() if s in by_slot}
    picked: list[Item] = []
    for slot, k in quota.items():
        picked.extend(by_slot[slot][:k])
    # Fill or trim to n: fill from the leftovers, trim from the largest slot.
    rest = [it for s, pool in by_slot.items() for it in pool[quota.get(s, 0):]]
    rng.shuffle(rest)
    picked.extend(rest[:max(0, n - len(picked))])
    while len(picked) > n:
        counts: dict[str, int] = {}
        for it in picked:
            counts[it.slot] = counts.get(it.slot, 0) + 1
        big = max(counts, key=lambda s: counts[s])
        picked.remove(next(it for it in reversed(picked) if it.slot == big))
    return picked


def _make_model(home: Path, state: DemoState, *, outfits: int, seed: int, world_image_size: int,
                train: Mapping[str, Any], progress: bool, echo: Callable[[str], None]) -> None:
    from data.synth import generate_world
    from grader import TrainConfig
    from grader import train as run_training

    world = home / "worlds" / f"synth-{seed}"
    state.world = world
    if (world / "world.json").is_file():
        echo(f"training world already there: {world}")
    else:
        echo(f"drawing the training world ({outfits} outfits, seed {seed}) into {world}")
        generate_world(world, n_outfits=outfits, seed=seed, image_size=world_image_size,
                       progress=progress)
    out = state.model_dir
    resume = (out / "train_state.pt").is_file()
    recipe = "custom settings" if train else "the default recipe: a few minutes on 2 cores"
    echo(("resuming" if resume else "training") + f" the demo model into {out} ({recipe})")
    cfg = TrainConfig(dataset=str(world), out=str(out), resume=resume, progress=progress,
                      **dict(train))
    card = run_training(cfg)
    state.trained = True
    m = card.get("metrics", {})
    echo(f"demo model trained in {card.get('train_seconds')} s: valid AUC "
         f"{m.get('valid_auc', float('nan')):.3f}, FITB {m.get('valid_fitb', float('nan')):.3f}")
    cal = card.get("closet_calibration")
    if cal:
        echo(f"it reads real photos through their tags; scores calibrated on {cal['outfits']} "
             f"outfits of {cal['photos']} labelled real photos (calibration error "
             f"{cal['ece_before']:.3f} -> {cal['ece_after']:.3f})")


DEMO_PHOTOS = Path(__file__).resolve().parents[1] / "data" / "demo_closet" / "photos"
"""The real photos the demo closet is made of (80 CC0 clothing-small photos, shipped with the
project; see ``data/demo_closet/README.md``)."""


def _fill_closet(store: Store, state: DemoState, *, n: int, seed: int, progress: bool,
                 echo: Callable[[str], None]) -> None:
    """Tag every shipped photo with the shipped real-photo tagger (as an upload would be), pick
    about ``n`` spread over the slots the tagger found, and store them with their tags (as
    suggestions with their confidences, for the person to confirm) and garment masks."""
    from tqdm.auto import tqdm

    from usecases.tag_photos import AutoTags, TagError, auto_tag_files

    paths = sorted(DEMO_PHOTOS.glob("*.jpg"))
    if not paths:
        raise StoreError(f"no demo photos in {DEMO_PHOTOS}",
                         hint="reinstall the project: the demo photos ship with it")
    echo(f"tagging {len(paths)} real photos for the demo closet with the shipped tagger")
    tagged: dict[str, tuple[Path, AutoTags]] = {}
    items = []
    for path, t in zip(paths, auto_tag_files(paths), strict=True):
        if isinstance(t, TagError) or "semantic_category" not in t.tags:
            state.notes.append(f"{path.name}: not tagged ({getattr(t, 'problem', 'unknown kind')})")
            continue
        tagged[path.stem] = (path, t)
        items.append(Item(id=path.stem, category=str(t.tags["category"][0]),
                          semantic_category=str(t.tags["semantic_category"][0])))
    chosen = pick_closet(items, n, seed)
    for it in tqdm(chosen, desc="closet", unit="photo", disable=not progress):
        path, t = tagged[it.id]
        tags: dict[str, Any] = {"name": f"{t.tags['color'][0]} {t.tags['category'][0]}"}
        for tag, (value, conf) in t.tags.items():
            tags[tag], tags[f"{tag}_confidence"] = value, conf
        try:
            record = store.add_photo(path.read_bytes(), f"{DEMO_PREFIX}{path.name}", tags)
        except DuplicatePhotoError:  # already stored by an interrupted demo
            continue
        store.set_mask(record.id, t.mask_png)
        state.added += 1


def prepare_demo(home: Path | str, *, outfits: int = DEMO_WORLD_OUTFITS,
                 seed: int = DEMO_WORLD_SEED, closet_items: int = DEMO_CLOSET_ITEMS,
                 closet_seed: int = DEMO_CLOSET_SEED, world_image_size: int = 128,
                 train: Mapping[str, Any] | None = None,
                 progress: bool = True,
                 echo: Callable[[str], None] = print) -> DemoState:
    """Make what the demo lacks in the instance folder ``home`` (see the module's docstring).

    ``outfits``, ``seed`` and ``world_image_size`` describe the training world; ``train``
    overrides fields of :class:`grader.TrainConfig` (tests pass tiny settings, see
    :data:`QUICK`); ``closet_*`` describe the closet. ``echo`` gets one line per step.
    """
    t0 = time.perf_counter()
    home = Path(home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    existing = newest_model(home / "models")
    state = DemoState(home=home, model_dir=existing or home / "models" / DEMO_MODEL)
    if existing is None:
        _make_model(home, state, outfits=outfits, seed=seed, world_image_size=world_image_size,
                    train=train or {}, progress=progress, echo=echo)
    else:
        echo(f"model found: {existing}")
    store = Store(home)
    count = store.count()
    demo_only = count > 0 and all(r.original_name.startswith(DEMO_PREFIX) for r in store.list())
    if count == 0 or (demo_only and count < closet_items):
        _fill_closet(store, state, n=closet_items, seed=closet_seed, progress=progress,
                     echo=echo)
    else:
        echo(f"closet found: {count} items")
    state.closet_items = store.count()
    state.seconds = round(time.perf_counter() - t0, 2)
    return state

"""The demo behind ``make demo`` (``outfit demo``): a trained model and a full closet in the
instance folder, made once, so that the app has something to show on its first page.

:func:`prepare_demo` does only what is missing:

1. **The model.** With no ``<home>/models/*/model.pt``, it makes (or reuses) the demo world
   ``<home>/worlds/synth-<seed>`` and trains the default recipe on it into
   ``<home>/models/demo/`` with progress bars (about 2 to 3 minutes on 2 cores; an interrupted
   run resumes from its ``train_state.pt``).
2. **The closet.** With an empty closet, it draws a second, small world from *another* seed in
   a temporary folder (so the closet's photos are not ones the model was trained on), picks
   about 80 items spread over every slot, and stores each photo through
   :meth:`~webapp.store.Store.add_photo` with its known tags (semantic category, fine category,
   colour, pattern, season, formality). A closet left half-filled by an interrupted demo (only
   demo photos in it) is completed: photos already there are skipped.

A second call finds both and returns at once.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outfit.config import DEMO_WORLD_OUTFITS, DEMO_WORLD_SEED
from outfit.domain import Item
from outfit.vocab import SHOES
from webapp.errors import DuplicatePhotoError
from webapp.services import newest_model
from webapp.store import Store

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
    "outfits": 240, "world_image_size": 48, "closet_image_size": 48,
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


def _tags(item: Item) -> dict[str, str | None]:
    """The world item's known tags, season and formality included (so the recommend page's
    season and occasion filters work on the demo closet at once)."""
    attrs = item.attributes
    return {"name": item.name or item.category, "semantic_category": item.semantic_category,
            "category": item.category, "color": attrs.get("color"),
            "pattern": attrs.get("pattern"), "season": attrs.get("season"),
            "formality": attrs.get("formality")}


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


def _fill_closet(store: Store, state: DemoState, *, n: int, seed: int, image_size: int,
                 progress: bool, echo: Callable[[str], None]) -> None:
    from tqdm.auto import tqdm

    from data.loaders import load_closet
    from data.synth import generate_world

    # Enough outfits that every slot has plenty to pick from (a 60-outfit world has ~120 items).
    n_outfits = max(60, 2 * n)
    with tempfile.TemporaryDirectory(prefix="outfit-demo-closet-") as tmp:
        world = Path(tmp) / "world"
        echo(f"drawing a demo closet of {n} items (a world of seed {seed})")
        generate_world(world, n_outfits=n_outfits, seed=seed, image_size=image_size,
                       workers=1, progress=False)
        closet, _ = load_closet(world)
        chosen = pick_closet(list(closet.items), n, seed)
        for it in tqdm(chosen, desc="closet", unit="photo", disable=not progress):
            assert it.image is not None
            try:
                store.add_photo(it.image.read_bytes(), f"{DEMO_PREFIX}{it.id}.jpg", _tags(it))
                state.added += 1
            except DuplicatePhotoError:  # already stored by an interrupted demo
                pass


def prepare_demo(home: Path | str, *, outfits: int = DEMO_WORLD_OUTFITS,
                 seed: int = DEMO_WORLD_SEED, closet_items: int = DEMO_CLOSET_ITEMS,
                 closet_seed: int = DEMO_CLOSET_SEED, world_image_size: int = 128,
                 closet_image_size: int = 128, train: Mapping[str, Any] | None = None,
                 progress: bool = True,
                 echo: Callable[[str], None] = print) -> DemoState:
    """Make what the demo lacks in the instance folder ``home`` (see the module's docstring).

    ``outfits``, ``seed`` and ``world_image_size`` describe the training world; ``train``
    overrides fields of :class:`grader.TrainConfig` (tests pass tiny settings, see
    :data:`QUICK`); ``closet_*`` describe the closet. ``echo`` gets one line per step.
    """
    if closet_seed == seed:
        raise ValueError("the closet's seed must differ from the training world's")
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
        _fill_closet(store, state, n=closet_items,
                     seed=closet_seed, image_size=closet_image_size, progress=progress,
                     echo=echo)
    else:
        echo(f"closet found: {count} items")
    state.closet_items = store.count()
    state.seconds = round(time.perf_counter() - t0, 2)
    return state

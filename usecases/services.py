"""What one web app holds for its whole life: the closet :class:`~closet.store.Store` and the
active model, loaded on first use.

The app keeps one :class:`Services` in ``app.extensions["outfit"]``; views reach it through
:func:`webapp.services.services`. Both parts are safe to share between waitress's threads: the store opens a
connection per call, and :class:`ActiveModel` loads the model once behind a lock (two uploads
arriving together must not load it twice, and a model file must not be read half-written into
memory by one thread while another uses it).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closet.features import ClosetFeatures
from closet.store import Store
from outfit.errors import OutfitError
from usecases.jobs import JobManager

if TYPE_CHECKING:  # torch stays out of the app until a photo is tagged
    from grader.api import GraderModel
    from usecases.tag_photos import AutoTags

__all__ = ["ActiveModel", "Services", "newest_model", "model_key", "TAGGED"]

log = logging.getLogger(__name__)

TAGGED: tuple[str, ...] = ("semantic_category", "category", "color", "pattern")
"""The tags an upload receives from the model (the store's TAGS)."""


def newest_model(models_dir: Path) -> Path | None:
    """The most recently written folder of ``models_dir`` holding a ``model.pt``, or None."""
    if not models_dir.is_dir():
        return None
    found = [p for p in models_dir.iterdir() if (p / "model.pt").is_file()]
    return max(found, key=lambda p: (p / "model.pt").stat().st_mtime, default=None)


def model_key(path: Path) -> str:
    """A model's key in the feature cache (see :attr:`ActiveModel.key`), read before loading
    it, so a file replaced during the load is not taken for the one that was read."""
    file = path / "model.pt" if path.is_dir() else path
    st = file.stat()
    digest = hashlib.sha256(f"{file.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    name = (path.name if path.is_dir() else path.parent.name)[:80] or "model"
    return f"{name}-{digest[:16]}"


class ActiveModel:
    """The model that tags uploads: ``path`` (None = no model), loaded lazily, once.

    A model that fails to load is not retried on every upload: :attr:`error` keeps the reason,
    which the pages and ``/api/v1/health`` show.
    """

    def __init__(self, path: Path | None, run_lock: threading.Lock | None = None) -> None:
        self.path = path
        self.error: str | None = None
        self._model: GraderModel | None = None
        self._key: str | None = None
        self._load_lock = threading.Lock()
        # One photo batch at a time: torch uses every core. A model chosen in place of this one
        # takes over the lock, so the two never compute at once.
        self._run_lock = run_lock or threading.Lock()

    @property
    def run_lock(self) -> threading.Lock:
        """Held while the model computes (tagging, features, explanations): torch uses every
        core, so one batch at a time."""
        return self._run_lock

    @property
    def key(self) -> str | None:
        """The key of the loaded model in the store's feature cache (None until loaded): its
        folder's name and a digest of its file's path, size and modification time, so a
        retrained or another model gets fresh features."""
        return self._key if self._model is not None else None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> GraderModel | None:
        """The model, loading it on first call; None when there is none or it failed to load."""
        if self._model is not None or self.path is None:
            return self._model
        with self._load_lock:
            if self._model is None and self.error is None:
                from grader.api import load_model

                try:
                    key = model_key(self.path)
                    self._model = load_model(self.path).for_closet()
                    self._key = key
                except (OSError, OutfitError) as exc:
                    self.error = str(exc)
                    log.warning("model %s not loaded: %s", self.path, exc)
        return self._model

    def status(self) -> str:
        """One sentence for a person: which model grades outfits, or why none does."""
        if self.path is None:
            return ("No model is active, so outfits are not graded (photos are still tagged by "
                    "the shipped real-photo tagger). Train one with `outfit train` into the "
                    "instance's models/ folder, or start the server with --model.")
        if self.error:
            return f"The model in {self.path.name} could not be loaded: {self.error}"
        return (f"Outfits are graded by the model {self.path.name}; photos are tagged by the "
                "shipped real-photo tagger.")

    def tag(self, paths: Sequence[Path]) -> list[AutoTags | str]:
        """Auto-tags for stored photos, in order: an :class:`~usecases.tag_photos.AutoTags` (tags
        for the store's :meth:`~closet.store.Store.set_auto_tags` and the garment mask), or a
        sentence saying why a photo has none. Real photos are tagged by the shipped tagger
        (:mod:`grader.pretrained`) whatever grader is active, or none is."""
        from usecases.tag_photos import TagError, auto_tag_files

        try:
            with self._run_lock:
                results = auto_tag_files(list(paths))
        except OutfitError as exc:  # the shipped tagger itself cannot be loaded
            log.warning("photos not tagged: %s", exc)
            return [f"not tagged: {exc}"] * len(paths)
        return [f"not tagged: {r.problem}" if isinstance(r, TagError) else r for r in results]


@dataclass
class Services:
    """``model`` is replaced whole when a person chooses another model (views read it once per
    request); ``features`` keeps item features per model key; ``jobs`` runs training and
    evaluations; ``data_roots`` are the folders datasets may be read from."""

    store: Store
    model: ActiveModel
    home: Path
    jobs: JobManager
    features: ClosetFeatures
    data_roots: tuple[Path, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.model.path) if self.model.path else None,
                "loaded": self.model.loaded, "error": self.model.error,
                "status": self.model.status()}

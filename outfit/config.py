"""Where things live at run time: the instance folder (``$OUTFIT_HOME``, default ``~/.outfit``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["instance_dir", "worlds_dir", "DEMO_WORLD_SEED", "DEMO_WORLD_OUTFITS", "PASSWORD_ENV"]

DEMO_WORLD_SEED = 0
DEMO_WORLD_OUTFITS = 2000
# The environment variable ``outfit serve`` reads the web app's password from; the jobs the
# app starts never inherit it (usecases.jobs).
PASSWORD_ENV = "OUTFIT_PASSWORD"


def instance_dir(create: bool = False) -> Path:
    """The instance folder: ``$OUTFIT_HOME`` if set, else ``~/.outfit``. Nothing is written
    into the installed code."""
    env = os.environ.get("OUTFIT_HOME", "").strip()
    path = Path(env).expanduser() if env else Path.home() / ".outfit"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def worlds_dir(create: bool = False) -> Path:
    """Synthetic worlds generated for the demo live here, one folder per seed."""
    path = instance_dir() / "worlds"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path

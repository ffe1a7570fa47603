"""One job as its ``job.json`` stores it (:mod:`usecases.jobs` runs them), and the states it
goes through: ``queued`` (waiting behind the running job), ``running``, then one of
:data:`FINAL_STATES`."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Job", "STATES", "FINAL_STATES", "now"]

STATES: tuple[str, ...] = ("queued", "running", "done", "failed", "cancelled", "interrupted",
                           "timed_out")
FINAL_STATES = frozenset(STATES[2:])


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Job:
    """One job as ``job.json`` stores it. ``commands``: argument lists for ``python -m
    outfit_cli`` (run in order); ``destination``: where ``out/`` goes on success (None: it is
    deleted with the job's folder); ``result``: what the app needs to show the outcome;
    ``started``: when it left the queue."""

    id: str
    kind: str
    title: str
    commands: list[list[str]]
    destination: str | None = None
    state: str = "running"
    step: int = 0
    message: str = ""
    created: str = field(default_factory=now)
    finished: str | None = None
    pid: int | None = None
    result: dict[str, Any] = field(default_factory=dict)
    started: str | None = None

    @property
    def finished_ok(self) -> bool:
        return self.state == "done"

    def to_dict(self, folder: Path | None = None) -> dict[str, Any]:
        """What the API and pages show: the fields above (without the commands' arguments,
        which hold server paths) and ``fraction`` and ``stage`` when ``folder`` is given."""
        d = {k: v for k, v in asdict(self).items()
             if k not in ("commands", "destination", "pid", "started")}
        d["steps"] = len(self.commands)
        if folder is not None:
            d.update(self.progress(folder))
        return d

    def progress(self, folder: Path) -> dict[str, Any]:
        """``fraction`` done (0..1) and ``stage``, a phrase for a person."""
        if self.state == "done":
            return {"fraction": 1.0, "stage": "finished"}
        inner, stage = 0.0, ""
        try:
            doc = json.loads((folder / "progress.json").read_text(encoding="utf-8"))
            inner = min(1.0, max(0.0, float(doc.get("fraction", 0.0))))
            stage = str(doc.get("message") or doc.get("stage") or "")
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        n = max(1, len(self.commands))
        frac = (min(self.step, n) + (inner if self.step < n else 0.0)) / n
        return {"fraction": round(frac, 4), "stage": stage or self.message}

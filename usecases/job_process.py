"""The operating-system side of :mod:`usecases.jobs`: the environment a job's command gets, its
priority, stopping its process group, the last line of a failed command's log, and the pruning
of old finished jobs' folders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Collection
from pathlib import Path

from outfit.config import PASSWORD_ENV

__all__ = ["child_env", "lower_priority", "terminate", "is_our_process", "last_error",
           "prune_jobs", "TERM_WAIT_S", "SECRET_ENV"]

TERM_WAIT_S = 10.0  # after SIGTERM, how long a command gets before SIGKILL
SECRET_ENV: frozenset[str] = frozenset({PASSWORD_ENV})
"""Variables of the server's environment a job's commands never see."""


def child_env() -> dict[str, str]:
    """The server's environment without :data:`SECRET_ENV`, output unbuffered (so the log
    follows the command)."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def lower_priority(pid: int) -> None:
    """Jobs yield the CPU to the server's pages (niceness 10, where the platform allows)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except (AttributeError, OSError):
        pass


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL if it is still there after a while
    (in a thread: this returns at once)."""
    def stop() -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(TERM_WAIT_S)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        except (OSError, AttributeError):
            proc.kill()

    threading.Thread(target=stop, daemon=True).start()


def is_our_process(pid: int, job_id: str) -> bool:
    """Whether ``pid`` still runs one of this job's commands (its command line names the job's
    folder), so a recycled pid is never signalled."""
    try:
        return job_id in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def last_error(log_file: Path) -> str:
    """The last non-empty line of a failed command's output (its error sentence), shortened."""
    try:
        lines = [ln.strip() for ln in log_file.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln and not ln.startswith("$ ")]
    return lines[-1][:300] if lines else ""


def prune_jobs(folder: Path, final_states: Collection[str], kept: int, days: float,
               now: float | None = None) -> list[str]:
    """Remove the folders of finished jobs (state in ``final_states``) beyond the ``kept``
    newest, and those that finished more than ``days`` ago. A job's finishing time is when its
    ``job.json`` was last written; queued or running jobs and folders whose ``job.json``
    cannot be read are left alone. Returns the ids removed."""
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    finished: list[tuple[float, Path]] = []
    for d in folder.iterdir():
        try:
            path = d / "job.json"
            state = json.loads(path.read_text(encoding="utf-8")).get("state")
            if state in final_states:
                finished.append((path.stat().st_mtime, d))
        except (OSError, ValueError, AttributeError):
            continue
    finished.sort(key=lambda t: t[0], reverse=True)
    removed = []
    for k, (mtime, d) in enumerate(finished):
        if k >= kept or now - mtime > days * 86400:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    return removed

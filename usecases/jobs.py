"""Long work the web app starts and watches: training a model, evaluating one on a dataset,
drawing its diagnostics. Each job runs the project's own command line (``outfit train``,
``outfit evaluate``...) as child processes, one after the other, so that a job can be
cancelled at any moment (its process group is terminated), a crash in torch cannot take the
server down, and the server's threads stay free to answer pages.

A job lives in ``<home>/jobs/<id>/``: ``job.json`` (what it is and how it stands, rewritten
atomically), ``log.txt`` (its commands' output) and ``out/``, where its commands write. Only a
job that succeeds moves ``out/`` to its destination (a model folder, an evaluation folder), in
one rename: a cancelled, failed or interrupted job leaves nothing half-made where the app
looks. A command may keep a ``progress.json`` in the job folder (``outfit train
--progress-file``); the job's fraction done counts its commands and that file.

One job runs at a time (training takes every core); asking for a second while one runs is
refused with :class:`JobBusyError`. A job found ``running`` when the app starts belonged to a
server that stopped: it is marked ``interrupted`` and its commands, if still alive, are
stopped. A job's commands do not inherit the server's password (``$OUTFIT_PASSWORD``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from data.fileio import atomic_write_json
from outfit.config import PASSWORD_ENV
from outfit.errors import OutfitError

__all__ = ["Job", "JobManager", "JobBusyError", "JobNotFoundError", "STATES", "FINAL_STATES"]

log = logging.getLogger(__name__)

STATES: tuple[str, ...] = ("running", "done", "failed", "cancelled", "interrupted")
FINAL_STATES = frozenset(STATES[1:])
_STEP_WORDS = {"train": "training starts", "evaluate": "grading the test split",
               "evaluate-explainer": "measuring the explainer on the test split",
               "diagnose": "drawing the diagnostics"}
_TERM_WAIT_S = 10.0  # after SIGTERM, how long a command gets before SIGKILL
_ID_LEN = 12


class JobBusyError(OutfitError):
    """A job is already running."""


class JobNotFoundError(OutfitError):
    """No job has this id."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Job:
    """One job as ``job.json`` stores it. ``commands``: argument lists for ``python -m
    outfit_cli`` (run in order); ``destination``: where ``out/`` goes on success (None: it is
    deleted with the job's folder); ``result``: what the app needs to show the outcome."""

    id: str
    kind: str
    title: str
    commands: list[list[str]]
    destination: str | None = None
    state: str = "running"
    step: int = 0
    message: str = ""
    created: str = field(default_factory=_now)
    finished: str | None = None
    pid: int | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def finished_ok(self) -> bool:
        return self.state == "done"

    def to_dict(self, folder: Path | None = None) -> dict[str, Any]:
        """What the API and pages show: the fields above (without the commands' arguments,
        which hold server paths) and ``fraction`` and ``stage`` when ``folder`` is given."""
        d = {k: v for k, v in asdict(self).items() if k not in ("commands", "destination", "pid")}
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


class JobManager:
    """The jobs of one instance folder (see the module's docstring). ``python``: the
    interpreter that runs ``-m outfit_cli`` (default this one)."""

    def __init__(self, home: Path, python: str | None = None) -> None:
        self.folder = Path(home) / "jobs"
        self.python = python or sys.executable
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._cancel: set[str] = set()
        self._threads: dict[str, threading.Thread] = {}
        self._recover()

    # ------------------------------------------------------------------ reading
    def _dir(self, job_id: str) -> Path:
        if len(job_id) != _ID_LEN or not all(c in "0123456789abcdef" for c in job_id):
            raise JobNotFoundError(f"no job {job_id!r}", hint="job ids are 12 hex digits; see "
                                   "GET /api/v1/jobs for the list")
        return self.folder / job_id

    def _read(self, folder: Path) -> Job:
        return Job(**json.loads((folder / "job.json").read_text(encoding="utf-8")))

    def _write(self, job: Job) -> None:
        atomic_write_json(self.folder / job.id / "job.json", asdict(job), indent=1)

    def get(self, job_id: str) -> Job:
        folder = self._dir(job_id)
        try:
            return self._read(folder)
        except FileNotFoundError:
            raise JobNotFoundError(f"no job {job_id!r}",
                                   hint="see GET /api/v1/jobs for the list") from None

    def folder_of(self, job: Job) -> Path:
        return self.folder / job.id

    def list(self, limit: int = 20) -> list[Job]:
        """The newest jobs first (a folder whose job.json cannot be read is skipped)."""
        if not self.folder.is_dir():
            return []
        jobs = []
        for d in self.folder.iterdir():
            try:
                jobs.append(self._read(d))
            except (OSError, ValueError, TypeError):
                continue
        jobs.sort(key=lambda j: (j.created, j.id), reverse=True)
        return jobs[:limit]

    def running(self) -> Job | None:
        with self._lock:
            ids = [i for i, t in self._threads.items() if t.is_alive()]
        return self.get(ids[0]) if ids else None

    # ------------------------------------------------------------------ running
    def start(self, kind: str, title: str, commands: Sequence[Sequence[str]],
              destination: Path | None = None, result: dict[str, Any] | None = None) -> Job:
        """Start a job whose commands write into ``<job folder>/out`` (pass ``{out}`` in an
        argument to get that path, ``{progress}`` for the progress file). Raises
        :class:`JobBusyError` while another runs."""
        with self._lock:
            busy = [i for i, t in self._threads.items() if t.is_alive()]
            if busy:
                other = self._read(self.folder / busy[0])
                raise JobBusyError(f"another job is running: {other.title}",
                                   hint="wait for it to finish or cancel it on the models page")
            job_id = uuid.uuid4().hex[:_ID_LEN]
            folder = self.folder / job_id
            (folder / "out").mkdir(parents=True)
            job = Job(id=job_id, kind=kind, title=title,
                      commands=[[str(a) for a in c] for c in commands],
                      destination=str(destination) if destination else None,
                      result=dict(result or {}), message="starting")
            self._write(job)
            thread = threading.Thread(target=self._run, args=(job,), name=f"job-{job_id}",
                                      daemon=True)
            self._threads[job_id] = thread
        thread.start()
        return job

    def cancel(self, job_id: str) -> Job:
        """Ask a running job to stop (its commands are terminated); a finished job is returned
        as it is."""
        job = self.get(job_id)
        if job.state in FINAL_STATES:
            return job
        with self._lock:
            self._cancel.add(job_id)
            proc = self._procs.get(job_id)
        if proc is not None:
            _terminate(proc)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job's thread ends (for tests and the command line)."""
        with self._lock:
            thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)

    def shutdown(self) -> None:
        """Cancel the running job and wait for it (the server is stopping)."""
        job = self.running()
        if job is not None:
            self.cancel(job.id)
            self.wait(job.id, _TERM_WAIT_S * 2)

    def _run(self, job: Job) -> None:
        folder = self.folder / job.id
        out, progress = folder / "out", folder / "progress.json"
        code = 0
        try:
            with open(folder / "log.txt", "ab") as logf:
                for k, args in enumerate(job.commands):
                    if job.id in self._cancel:
                        break
                    words = _STEP_WORDS.get(args[0] if args else "", "working")
                    job.step = k
                    job.message = (words if len(job.commands) == 1
                                   else f"step {k + 1} of {len(job.commands)}: {words}")
                    progress.unlink(missing_ok=True)
                    argv = [self.python, "-m", "outfit_cli",
                            *(a.replace("{out}", str(out)).replace("{progress}", str(progress))
                              for a in args)]
                    logf.write(f"$ outfit {' '.join(args)}\n".encode())
                    logf.flush()
                    proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            env=_child_env())
                    _lower_priority(proc.pid)
                    with self._lock:
                        self._procs[job.id] = proc
                        job.pid = proc.pid
                    self._write(job)
                    if job.id in self._cancel:  # cancelled while it was starting
                        _terminate(proc)
                    code = proc.wait()
                    with self._lock:
                        self._procs.pop(job.id, None)
                    if code != 0:
                        break
            if job.id in self._cancel:
                job.state, job.message = "cancelled", "cancelled; nothing was kept"
            elif code != 0:
                job.state = "failed"
                job.message = _last_error(folder / "log.txt") or f"a command exited with {code}"
            else:
                self._deliver(job, out)
                job.state, job.step, job.message = "done", len(job.commands), "finished"
        except Exception as exc:  # the job fails, the server goes on
            log.exception("job %s failed", job.id)
            job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.pid, job.finished = None, _now()
            if job.state != "done":
                shutil.rmtree(out, ignore_errors=True)
            self._write(job)
            with self._lock:
                self._cancel.discard(job.id)

    @staticmethod
    def _deliver(job: Job, out: Path) -> None:
        """Move ``out`` to the destination in one rename (an older result there is replaced:
        it is renamed aside first, then removed)."""
        if job.destination is None:
            return
        dest = Path(job.destination)
        dest.parent.mkdir(parents=True, exist_ok=True)
        old = dest.with_name(f".{dest.name}.old-{job.id}")
        if dest.exists():
            os.replace(dest, old)
        os.replace(out, dest)
        shutil.rmtree(old, ignore_errors=True)

    def _recover(self) -> None:
        """Jobs left ``running`` by a server that stopped become ``interrupted``."""
        if not self.folder.is_dir():
            return
        for d in self.folder.iterdir():
            try:
                job = self._read(d)
            except (OSError, ValueError, TypeError):
                continue
            if job.state != "running":
                continue
            if job.pid is not None and _is_our_process(job.pid, job.id):
                try:
                    os.killpg(job.pid, signal.SIGTERM)
                except OSError:
                    pass
            job.state, job.pid, job.finished = "interrupted", None, _now()
            job.message = "the server stopped while this job ran; start it again"
            shutil.rmtree(d / "out", ignore_errors=True)
            self._write(job)


def _child_env() -> dict[str, str]:
    """The server's environment for a job's command, without the password (a job has no use
    for it, and its log or a crash report must not hold it), output unbuffered."""
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _lower_priority(pid: int) -> None:
    """Jobs yield the CPU to the server's pages (niceness 10, where the platform allows)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except (AttributeError, OSError):
        pass


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL if it is still there after a while."""
    def stop() -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(_TERM_WAIT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except (OSError, AttributeError):
            proc.kill()

    threading.Thread(target=stop, daemon=True).start()


def _is_our_process(pid: int, job_id: str) -> bool:
    """Whether ``pid`` still runs one of this job's commands (its command line names the job's
    folder), so a recycled pid is never signalled."""
    try:
        return job_id in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _last_error(log_file: Path) -> str:
    """The last non-empty line of a failed command's output (its error sentence), shortened."""
    try:
        lines = [ln.strip() for ln in log_file.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln and not ln.startswith("$ ")]
    return lines[-1][:300] if lines else ""

"""Long work the web app starts and watches: training a model, evaluating one on a dataset,
drawing its diagnostics. Each job runs the project's own command line (``outfit train``,
``outfit evaluate``...) as child processes, one after the other, so that a job can be
cancelled at any moment (its process group is terminated), a crash in torch cannot take the
server down, and the server's threads stay free to answer pages.

A job lives in ``<home>/jobs/<id>/``: ``job.json`` (what it is and how it stands, rewritten
atomically), ``log.txt`` (its commands' output) and ``out/``, where its commands write. Only a
job that succeeds moves ``out/`` to its destination (a model folder, an evaluation folder), in
one rename: a cancelled, failed, timed-out or interrupted job leaves nothing half-made where
the app looks. A command may keep a ``progress.json`` in the job folder (``outfit train
--progress-file``); the job's fraction done counts its commands and that file.

Bounds (their values in :mod:`outfit.defaults`): one job runs at a time (training takes every
core) and at most ``JOB_QUEUE`` more wait, ``queued``, to run one after the other; one more is
refused with :class:`JobBusyError`, and so is a job whose destination a queued or running job
will fill already. A job running longer than ``JOB_TIMEOUT_S`` is stopped as a cancelled one
is, and ends ``timed_out``. Finished jobs' folders (their logs) are kept for the ``JOBS_KEPT``
newest that finished within ``JOB_DAYS_KEPT`` days; older ones are removed when the manager
starts and after each job. A job's commands do not inherit the server's password
(:mod:`usecases.job_process`).

A job found ``running`` or ``queued`` when the app starts belonged to a server that stopped: it
is marked ``interrupted`` and its commands, if still alive, are stopped.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from data.fileio import atomic_write_json, fsync_dir
from outfit import defaults
from outfit.errors import OutfitError
from usecases.job_process import (
    TERM_WAIT_S,
    child_env,
    is_our_process,
    last_error,
    lower_priority,
    prune_jobs,
    terminate,
)
from usecases.job_record import FINAL_STATES, STATES, Job, now

__all__ = ["Job", "JobManager", "JobBusyError", "JobNotFoundError", "STATES", "FINAL_STATES"]

log = logging.getLogger(__name__)

_STEP_WORDS = {"train": "training starts", "evaluate": "grading the test split",
               "evaluate-explainer": "measuring the explainer on the test split",
               "diagnose": "drawing the diagnostics"}
_ID_LEN = 12


class JobBusyError(OutfitError):
    """The job queue is full, or a job making the same thing is queued or running."""


class JobNotFoundError(OutfitError):
    """No job has this id."""


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class JobManager:
    """The jobs of one instance folder (see the module's docstring). ``python``: the
    interpreter that runs ``-m outfit_cli`` (default this one); ``timeout_s``, ``queue``,
    ``kept`` and ``days_kept``: the bounds (defaults from :mod:`outfit.defaults`)."""

    def __init__(self, home: Path, python: str | None = None, *,
                 timeout_s: float = defaults.JOB_TIMEOUT_S, queue: int = defaults.JOB_QUEUE,
                 kept: int = defaults.JOBS_KEPT, days_kept: float = defaults.JOB_DAYS_KEPT) -> None:
        self.folder = Path(home) / "jobs"
        self.python = python or sys.executable
        self.timeout_s, self.queue, self.kept, self.days_kept = timeout_s, queue, kept, days_kept
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._cancel: set[str] = set()
        self._current: Job | None = None  # the running job
        self._waiting: deque[Job] = deque()  # the queued ones, in order
        self._ended: dict[str, threading.Event] = {}  # set when a queued or running job ends
        self._recover()
        self.prune()

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
            current = self._current
        return self.get(current.id) if current is not None else None

    def active(self) -> list[Job]:
        """The running job, then the queued ones in the order they will run."""
        with self._lock:
            jobs = [j for j in (self._current, *self._waiting) if j is not None]
        return [self.get(j.id) for j in jobs]

    def full(self) -> bool:
        """Whether a job asked for now would be refused (one runs and ``queue`` wait)."""
        with self._lock:
            return self._current is not None and len(self._waiting) >= self.queue

    # ------------------------------------------------------------------ running
    def start(self, kind: str, title: str, commands: Sequence[Sequence[str]],
              destination: Path | None = None, result: dict[str, Any] | None = None) -> Job:
        """Start a job whose commands write into ``<job folder>/out`` (pass ``{out}`` in an
        argument to get that path, ``{progress}`` for the progress file), or queue it behind
        the running one. Raises :class:`JobBusyError` when the queue is full or a queued or
        running job has the same destination."""
        with self._lock:
            self._check_room(destination)
            job_id = uuid.uuid4().hex[:_ID_LEN]
            (self.folder / job_id / "out").mkdir(parents=True)
            job = Job(id=job_id, kind=kind, title=title,
                      commands=[[str(a) for a in c] for c in commands],
                      destination=str(destination) if destination else None,
                      result=dict(result or {}), state="queued",
                      message=f"waiting for {len(self._waiting) + 1} job(s) to finish")
            self._ended[job_id] = threading.Event()
            if self._current is None:
                self._begin(job)
                threading.Thread(target=self._work, args=(job,), name=f"job-{job_id}",
                                 daemon=True).start()
            else:
                self._write(job)
                self._waiting.append(job)
        return job

    def _check_room(self, destination: Path | None) -> None:
        """Refuse a job when the queue is full or an active job makes the same thing (called
        with the lock held)."""
        current = self._current
        same = next((j for j in (current, *self._waiting) if j is not None and destination
                     and j.destination == str(destination)), None)
        if same is not None:
            raise JobBusyError(f"a job making the same thing is {same.state}: {same.title}",
                               hint="wait for it to finish or cancel it on the models page")
        if current is not None and len(self._waiting) >= self.queue:
            raise JobBusyError(
                f"the job queue is full: {current.title} is running and {len(self._waiting)} "
                f"more wait (at most {self.queue} may wait)",
                hint="wait for a job to finish or cancel one on the models page")

    def _begin(self, job: Job) -> None:
        """``job`` becomes the running one (called with the lock held)."""
        job.state, job.message, job.started = "running", "starting", now()
        self._write(job)
        self._current = job

    def _work(self, job: Job | None) -> None:
        """The worker thread: run ``job``, then each queued job in turn, then end."""
        while job is not None:
            try:
                self._run(job)
            except Exception:  # its job.json could not be written: the queue goes on
                log.exception("job %s failed", job.id)
            try:
                self.prune()
            except Exception:  # pruning is housekeeping: never stops the queue
                log.exception("pruning old jobs failed")
            with self._lock:
                self._ended.pop(job.id, threading.Event()).set()
                self._current = None
                job = self._waiting.popleft() if self._waiting else None
                if job is not None:
                    self._begin(job)

    def cancel(self, job_id: str) -> Job:
        """Ask a running job to stop (its commands are terminated); a queued job is cancelled
        at once and never runs; a finished job is returned as it is."""
        job = self.get(job_id)
        if job.state in FINAL_STATES:
            return job
        with self._lock:
            queued = next((j for j in self._waiting if j.id == job_id), None)
            if queued is not None:
                self._waiting.remove(queued)
                queued.state, queued.finished = "cancelled", now()
                queued.message = "cancelled before it started"
                shutil.rmtree(self.folder / job_id / "out", ignore_errors=True)
                self._write(queued)
                self._ended.pop(job_id, threading.Event()).set()
                return queued
            self._cancel.add(job_id)
            proc = self._procs.get(job_id)
        if proc is not None:
            terminate(proc)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job ends (for tests and the command line)."""
        with self._lock:
            ended = self._ended.get(job_id)
        if ended is not None:
            ended.wait(timeout)
        return self.get(job_id)

    def shutdown(self) -> None:
        """Cancel the queued jobs and the running one, and wait for it (the server is
        stopping)."""
        for job in reversed(self.active()):
            self.cancel(job.id)
        job = self.running()
        if job is not None:
            self.wait(job.id, TERM_WAIT_S * 2)

    def _run(self, job: Job) -> None:
        folder = self.folder / job.id
        out = folder / "out"
        code, timed_out = 0, False
        deadline = time.monotonic() + self.timeout_s
        try:
            with open(folder / "log.txt", "ab") as logf:
                for k, args in enumerate(job.commands):
                    if job.id in self._cancel:
                        break
                    code, timed_out = self._command(job, k, args, logf, deadline)
                    if code != 0 or timed_out:
                        break
            if job.id in self._cancel:
                job.state, job.message = "cancelled", "cancelled; nothing was kept"
            elif timed_out:
                job.state = "timed_out"
                job.message = (f"stopped: it ran longer than {_duration(self.timeout_s)}, "
                               "the limit for a job; nothing was kept")
            elif code != 0:
                job.state = "failed"
                job.message = last_error(folder / "log.txt") or f"a command exited with {code}"
            else:
                self._deliver(job, out)
                job.state, job.step, job.message = "done", len(job.commands), "finished"
        except Exception as exc:  # the job fails, the server goes on
            log.exception("job %s failed", job.id)
            job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.pid, job.finished = None, now()
            if job.state != "done":
                shutil.rmtree(out, ignore_errors=True)
            self._write(job)
            with self._lock:
                self._cancel.discard(job.id)

    def _command(self, job: Job, k: int, args: list[str], logf: Any,
                 deadline: float) -> tuple[int, bool]:
        """Run the job's ``k``-th command until it ends or ``deadline`` (monotonic) passes:
        its exit code and whether it was stopped for running too long."""
        folder = self.folder / job.id
        out, progress = folder / "out", folder / "progress.json"
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
                                env=child_env())
        lower_priority(proc.pid)
        with self._lock:
            self._procs[job.id] = proc
            job.pid = proc.pid
        self._write(job)
        if job.id in self._cancel:  # cancelled while it was starting
            terminate(proc)
        timed_out = False
        try:
            code = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            terminate(proc)
            code = proc.wait()
        with self._lock:
            self._procs.pop(job.id, None)
        return code, timed_out

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
        fsync_dir(dest.parent)
        shutil.rmtree(old, ignore_errors=True)

    def prune(self) -> list[str]:
        """Remove old finished jobs' folders (see the module's docstring); their ids."""
        return prune_jobs(self.folder, FINAL_STATES, self.kept, self.days_kept)

    def _recover(self) -> None:
        """Jobs left ``running`` or ``queued`` by a server that stopped become
        ``interrupted``."""
        if not self.folder.is_dir():
            return
        for d in self.folder.iterdir():
            try:
                job = self._read(d)
            except (OSError, ValueError, TypeError):
                continue
            if job.state not in ("running", "queued"):
                continue
            if job.pid is not None and is_our_process(job.pid, job.id):
                try:
                    os.killpg(job.pid, signal.SIGTERM)
                except OSError:
                    pass
            job.message = ("the server stopped while this job ran; start it again"
                           if job.state == "running" else
                           "the server stopped before this job started; start it again")
            job.state, job.pid, job.finished = "interrupted", None, now()
            shutil.rmtree(d / "out", ignore_errors=True)
            self._write(job)

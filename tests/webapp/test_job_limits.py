"""The bounds on jobs started from the web: epochs and image size within the limits of
outfit.defaults, a wall-clock timeout, one running job and a short queue, old finished jobs'
folders pruned, and no password in a job's environment. The jobs here run short shell commands
through a stand-in interpreter instead of `outfit train`."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from web_kit import envelope

from outfit import defaults
from outfit.config import PASSWORD_ENV
from usecases.datasets import list_datasets
from usecases.jobs import JobBusyError, JobManager
from usecases.manage_models import JobLimitError, start_training


def _fake_python(folder: Path, body: str = 'shift 2\nexec "$@"\n') -> str:
    """A stand-in for the interpreter: ``fake -m outfit_cli CMD ARGS...`` runs ``body`` (by
    default: CMD ARGS themselves)."""
    path = folder / "fake-python"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def _until(gate: Path, then: str = "") -> list[str]:
    """A command that waits for the file ``gate`` to exist, then runs the shell line ``then``."""
    return ["sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.05; done; {then}"]


@pytest.fixture
def fake(tmp_path) -> str:
    return _fake_python(tmp_path)


# ------------------------------------------------------------------------------ the job manager
def test_a_job_over_the_time_limit_is_stopped_and_leaves_nothing(tmp_path, fake):
    jobs = JobManager(tmp_path, fake, timeout_s=1)
    dest = tmp_path / "models" / "slow"
    started = time.monotonic()
    job = jobs.start("train", "Train slow", [["sh", "-c", "echo half > {out}/part; sleep 60"]],
                     destination=dest)
    done = jobs.wait(job.id, 30)
    assert done.state == "timed_out" and "longer than 1 s" in done.message, done
    assert time.monotonic() - started < 20  # stopped, not waited for
    assert not dest.exists() and not (tmp_path / "jobs" / job.id / "out").exists()
    assert jobs.running() is None and done.finished


def test_jobs_wait_in_a_short_queue_and_run_one_after_the_other(tmp_path, fake):
    jobs = JobManager(tmp_path, fake)
    gate, order = tmp_path / "gate", tmp_path / "order.txt"
    first = jobs.start("x", "A", [_until(gate, f"echo A >> {order}")])
    assert first.state == "running"
    waiting = [jobs.start("x", name, [_until(gate, f"echo {name} >> {order}")])
               for name in ("B", "C", "D")]
    assert [j.state for j in waiting] == ["queued"] * 3 == [jobs.get(j.id).state for j in waiting]
    with pytest.raises(JobBusyError, match=f"at most {defaults.JOB_QUEUE} may wait"):
        jobs.start("x", "E", [["true"]])
    assert jobs.full() and [j.title for j in jobs.active()] == ["A", "B", "C", "D"]
    cancelled = jobs.cancel(waiting[1].id)  # C never runs
    assert cancelled.state == "cancelled" == jobs.get(waiting[1].id).state
    gate.touch()
    assert jobs.wait(waiting[2].id, 30).state == "done"
    assert order.read_text().split() == ["A", "B", "D"]
    assert [jobs.get(j.id).state for j in (first, *waiting)] == ["done", "done", "cancelled",
                                                                  "done"]
    assert jobs.running() is None and not jobs.full()


def test_a_job_for_a_destination_already_being_made_is_refused(tmp_path, fake):
    jobs = JobManager(tmp_path, fake)
    gate, dest = tmp_path / "gate", tmp_path / "models" / "m"
    jobs.start("x", "Train m", [_until(gate)], destination=dest)
    with pytest.raises(JobBusyError, match="same thing is running"):
        jobs.start("x", "Train m again", [["true"]], destination=dest)
    other = jobs.start("x", "Train n", [["true"]], destination=tmp_path / "models" / "n")
    with pytest.raises(JobBusyError, match="same thing is queued"):
        jobs.start("x", "Train n again", [["true"]], destination=tmp_path / "models" / "n")
    gate.touch()
    assert jobs.wait(other.id, 30).state == "done" and dest.is_dir()


def _finished_job(folder: Path, job_id: str, age_s: float) -> None:
    (folder / job_id).mkdir(parents=True)
    path = folder / job_id / "job.json"
    path.write_text(json.dumps({"id": job_id, "kind": "x", "title": job_id, "commands": [],
                                "state": "done"}))
    os.utime(path, (time.time() - age_s, time.time() - age_s))


def test_old_finished_jobs_are_pruned(tmp_path, fake):
    folder = tmp_path / "jobs"
    recent = [f"{k:012x}" for k in range(23)]  # k minutes old
    for k, job_id in enumerate(recent):
        _finished_job(folder, job_id, 60 * k)
    old = ["a00000000001", "a00000000002"]
    for job_id in old:
        _finished_job(folder, job_id, 86400 * (defaults.JOB_DAYS_KEPT + 1))
    (folder / "b00000000000").mkdir()  # no job.json (being made): left alone
    jobs = JobManager(tmp_path, fake)
    left = {d.name for d in folder.iterdir()}
    assert left == {*recent[:defaults.JOBS_KEPT], "b00000000000"}
    assert len(jobs.list(limit=100)) == defaults.JOBS_KEPT
    job = jobs.start("x", "fresh", [["true"]])  # a job that finishes prunes the oldest too
    assert jobs.wait(job.id, 30).state == "done"
    left = {d.name for d in folder.iterdir()}
    assert left == {job.id, *recent[:defaults.JOBS_KEPT - 1], "b00000000000"}


def test_jobs_left_queued_by_a_dead_server_are_marked_interrupted(tmp_path):
    folder = tmp_path / "jobs" / "0123456789ab"
    (folder / "out").mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps({
        "id": "0123456789ab", "kind": "train", "title": "Train x", "commands": [["train"]],
        "state": "queued"}))
    jobs = JobManager(tmp_path)
    job = jobs.get("0123456789ab")
    assert job.state == "interrupted" and "before this job started" in job.message
    assert not (folder / "out").exists() and jobs.active() == []


def test_a_job_does_not_see_the_server_password(tmp_path, fake, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "correct horse")
    monkeypatch.setenv("OUTFIT_SOMETHING_ELSE", "kept")
    jobs = JobManager(tmp_path, fake)
    job = jobs.start("x", "env", [["sh", "-c", "env > {out}/env.txt"]],
                     destination=tmp_path / "seen")
    assert jobs.wait(job.id, 30).state == "done"
    env = (tmp_path / "seen" / "env.txt").read_text()
    assert "OUTFIT_SOMETHING_ELSE=kept" in env
    assert PASSWORD_ENV not in env and "correct horse" not in env
    assert os.environ[PASSWORD_ENV] == "correct horse"  # the server's own is untouched


def test_the_use_case_refuses_training_beyond_the_limits(tmp_path, tiny_world, fake):
    (dataset,) = list_datasets([Path(tiny_world)])
    jobs = JobManager(tmp_path, fake)
    for too_much in ({"epochs": defaults.MAX_EPOCHS + 1}, {"epochs": 0},
                     {"feature_epochs": defaults.MAX_FEATURE_EPOCHS + 1},
                     {"image_size": defaults.MAX_IMAGE_SIZE + 8}, {"image_size": 8}):
        with pytest.raises(JobLimitError, match=r"must be a whole number from \d+ to \d+"):
            start_training(jobs, tmp_path, dataset, "m", **too_much)
    assert jobs.list() == []


# ------------------------------------------------------------------------------ the web app
@pytest.fixture
def home(tmp_path, tiny_model):
    home = tmp_path / "home"
    for name in ("tiny", "twin"):
        shutil.copytree(tiny_model, home / "models" / name)
    return home


@pytest.fixture
def mapp(app_factory, home, tiny_world):
    return app_factory(OUTFIT_HOME=home, DATA_ROOTS=[tiny_world])


@pytest.fixture
def c(mapp):
    return mapp.test_client()


def test_the_api_refuses_training_beyond_the_limits_naming_them(c):
    body = {"kind": "train", "dataset": "nope", "name": "m"}
    for field, value, words in (("epochs", defaults.MAX_EPOCHS + 1, f"from 1 to {defaults.MAX_EPOCHS}"),
                                ("feature_epochs", defaults.MAX_FEATURE_EPOCHS + 1,
                                 f"from 0 to {defaults.MAX_FEATURE_EPOCHS}"),
                                ("image_size", defaults.MAX_IMAGE_SIZE + 8,
                                 f"from {defaults.MIN_IMAGE_SIZE} to {defaults.MAX_IMAGE_SIZE}"),
                                ("image_size", 8, f"from {defaults.MIN_IMAGE_SIZE} to")):
        err = envelope(c.post("/api/v1/jobs", json={**body, field: value}), 422)
        assert list(err["fields"]) == [field] and words in json.dumps(err["fields"]), err
    assert c.get("/api/v1/jobs").json["jobs"] == []


def test_the_train_form_refuses_values_beyond_the_limits(c):
    for form, words in (({"epochs": "999"}, f"epochs must be a whole number from 1 to {defaults.MAX_EPOCHS}"),
                        ({"image_size": "1024"}, "image size must be a whole number from"),
                        ({"epochs": "many"}, "epochs must be a whole number")):
        r = c.post("/models/jobs", data={"kind": "train", "dataset": "/etc", "name": "x", **form},
                   follow_redirects=True)
        assert r.status_code == 200 and b"Not started" in r.data
        assert words.encode() in r.data, r.data.decode()[-3000:]
    assert c.get("/api/v1/jobs").json["jobs"] == []


def test_the_api_queues_jobs_and_refuses_one_more(c, mapp, home, tmp_path):
    gate = tmp_path / "gate"
    svc = mapp.extensions["outfit"]
    svc.jobs = JobManager(home, _fake_python(tmp_path, f"while [ ! -e {gate} ]; do sleep 0.05; "
                                                       "done\n"))
    (ds,) = [d["id"] for d in c.get("/api/v1/datasets").json["datasets"]]
    asks = [{"kind": "train", "dataset": ds, "name": "fresh", "epochs": 2},
            {"kind": "evaluate", "dataset": ds, "model": "tiny"},
            {"kind": "diagnose", "dataset": ds, "model": "tiny"},
            {"kind": "evaluate", "dataset": ds, "model": "twin"}]
    states = []
    for body in asks:
        r = c.post("/api/v1/jobs", json=body)
        assert r.status_code == 202, r.json
        states.append(r.json["state"])
    assert states == ["running", "queued", "queued", "queued"]
    again = c.post("/api/v1/jobs", json={"kind": "train", "dataset": ds, "name": "fresh"})
    assert "same thing" in envelope(again, 409, "busy")["message"]
    full = c.post("/api/v1/jobs", json={"kind": "diagnose", "dataset": ds, "model": "twin"})
    assert "queue is full" in envelope(full, 409, "busy")["message"]
    page = c.get("/models")
    assert page.status_code == 200 and page.data.count(b"<td>queued</td>") == 3
    assert b'id="train-start" disabled' in page.data
    gate.touch()
    for job in c.get("/api/v1/jobs").json["jobs"]:
        assert svc.jobs.wait(job["id"], 30).state == "done"

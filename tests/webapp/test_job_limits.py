"""The bounds on jobs started from the web. The jobs here run short shell commands through a
stand-in interpreter instead of `outfit train`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from web_kit import envelope

from outfit import defaults
from outfit.config import PASSWORD_ENV
from usecases.datasets import list_datasets
from usecases.jobs import JobManager
from usecases.manage_models import JobLimitError, start_training


def _fake_python(folder: Path, body: str = 'shift 2\nexec "$@"\n') -> str:
    """A stand-in for the interpreter: ``fake -m outfit_cli CMD ARGS...`` runs ``body`` (by
    default: CMD ARGS themselves)."""
    path = folder / "fake-python"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def fake(tmp_path) -> str:
    return _fake_python(tmp_path)


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

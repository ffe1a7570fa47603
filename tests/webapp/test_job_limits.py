"""The bounds on jobs started from the web. The jobs here run short shell commands through a
stand-in interpreter instead of `outfit train`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from outfit.config import PASSWORD_ENV
from usecases.jobs import JobManager


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

"""Names from requests (models, items) are matched whole: ``$`` after ``re.match`` (and so
marshmallow's Regexp) accepts a trailing newline, which could name a model folder "x\\n"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from web_kit import envelope

from usecases.datasets import DatasetError, list_datasets
from usecases.jobs import JobManager
from usecases.manage_models import read_active_name, start_training


@pytest.fixture
def c(app_factory, tmp_path, tiny_model, tiny_world):
    home = tmp_path / "home"
    for name in ("tiny", "twin"):
        shutil.copytree(tiny_model, home / "models" / name)
    return app_factory(OUTFIT_HOME=home, DATA_ROOTS=[tiny_world]).test_client()


def test_names_with_a_trailing_newline_are_refused(c, tmp_path, tiny_world):
    (dataset,) = list_datasets([Path(tiny_world)])
    jobs = JobManager(tmp_path, shutil.which("true"))  # no training, whatever happens
    with pytest.raises(DatasetError, match="not a usable model name"):
        start_training(jobs, tmp_path, dataset, "fresh\n", epochs=1)
    assert jobs.list() == [] and not (tmp_path / "models").exists()
    for body in ({"kind": "train", "name": "fresh\n"}, {"kind": "evaluate", "model": "tiny\n"}):
        err = envelope(c.post("/api/v1/jobs", json={"dataset": "nope", **body}), 422,
                       "validation_error")
        assert set(err["fields"]) == {"name" if "name" in body else "model"}, err
    r = c.get("/api/v1/models/compare", query_string={"a": "tiny\n", "b": "twin", "dataset": "x"})
    assert "a" in envelope(r, 422, "validation_error")["fields"]
    r = c.post("/api/v1/explain", json={"items": ["abcdefghijkl\n"]})
    assert envelope(r, 422, "validation_error")["fields"]
    (tmp_path / "active_model").write_text("tiny\n\n")  # a name read back is whole too
    assert read_active_name(tmp_path) == "tiny"

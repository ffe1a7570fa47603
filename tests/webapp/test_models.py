"""The models page and its API: model cards, datasets under the data roots only, background
jobs (train with progress and cancel, evaluate, diagnose) run as real `outfit` processes,
comparison of two models, and the choice of the active model."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from web_kit import envelope

from usecases.datasets import list_datasets
from usecases.jobs import JobManager
from usecases.manage_models import read_active_name

TRAIN_FAST = {"epochs": 2, "feature_epochs": 1, "image_size": 32}


@pytest.fixture
def home(tmp_path, tiny_model):
    """An instance folder holding one model, ``tiny`` (a copy of the session's tiny model)."""
    home = tmp_path / "home"
    shutil.copytree(tiny_model, home / "models" / "tiny")
    return home


@pytest.fixture
def mapp(app_factory, home, tiny_world):
    return app_factory(OUTFIT_HOME=home, DATA_ROOTS=[tiny_world])


@pytest.fixture
def c(mapp):
    return mapp.test_client()


def _dataset_id(c) -> str:
    (d,) = c.get("/api/v1/datasets").json["datasets"]
    return d["id"]


def _png(c, url: str) -> bool:
    """Whether ``url`` answers 200 with a PNG (the response is closed: it holds the file)."""
    with c.get(url) as r:
        return r.status_code == 200 and r.data[:8] == b"\x89PNG\r\n\x1a\n"


def _wait(c, job_id: str, timeout: float = 240.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = c.get(f"/api/v1/jobs/{job_id}").json
        if job["state"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout} s")


def test_models_and_datasets_are_listed(c, tiny_world):
    models = c.get("/api/v1/models").json
    (m,) = models["models"]
    assert m["name"] == "tiny" and m["active"] and models["active"] == "tiny"
    detail = c.get("/api/v1/models/tiny").json
    assert detail["card"]["metrics"]["valid_auc"] == pytest.approx(m["valid_auc"])
    assert m["dataset"] == Path(tiny_world).name and m["train_outfits"] > 0
    ds = c.get("/api/v1/datasets").json
    assert [d["path"] for d in ds["datasets"]] == [str(Path(tiny_world).resolve())]
    assert ds["datasets"][0]["ground_truth"] is True
    page = c.get("/models")
    assert page.status_code == 200
    assert b'data-model="tiny"' in page.data and b"not evaluated on" in page.data
    assert b'id="active-badge"' in page.data


def test_datasets_outside_the_roots_are_refused(c, tmp_path, tiny_world):
    outside = tmp_path / "elsewhere"
    shutil.copytree(tiny_world, outside, ignore=shutil.ignore_patterns("images"))
    for value in (str(outside), f"{tiny_world}/../elsewhere", "relative/path", "/etc"):
        r = c.post("/api/v1/jobs", json={"kind": "evaluate", "model": "tiny", "dataset": value})
        err = envelope(r, 422, "bad_dataset")
        assert "server" in err["message"] or "absolute" in err["message"] \
            or "not a dataset" in err["message"]
    assert not (tmp_path / "home" / "evaluations").exists()
    # A folder inside a root that is no dataset is refused too.
    r = c.post("/api/v1/jobs", json={"kind": "evaluate", "model": "tiny",
                                     "dataset": str(Path(tiny_world) / "images")})
    assert "not a dataset" in envelope(r, 422, "bad_dataset")["message"]


def test_job_requests_are_checked(c):
    ds = _dataset_id(c)
    envelope(c.post("/api/v1/jobs", json={"kind": "train", "dataset": ds}), 422)  # no name
    for bad in ({"epochs": 2.5}, {"epochs": "3"}, {"image_size": True}):  # not JSON integers
        err = envelope(c.post("/api/v1/jobs", json={"kind": "train", "dataset": ds,
                                                    "name": "x", **bad}), 422)
        assert set(err["fields"]) == set(bad)
    envelope(c.post("/api/v1/jobs", json={"kind": "evaluate", "dataset": ds}), 422)  # no model
    envelope(c.post("/api/v1/jobs", json={"kind": "explode", "dataset": ds, "model": "tiny"}), 422)
    envelope(c.post("/api/v1/jobs", json={"kind": "evaluate", "dataset": ds,
                                          "model": "../tiny"}), 422)
    err = envelope(c.post("/api/v1/jobs", json={"kind": "evaluate", "dataset": ds,
                                                "model": "nope"}), 404, "not_found")
    assert "nope" in err["message"]
    err = envelope(c.post("/api/v1/jobs", json={"kind": "train", "dataset": ds, "name": "tiny"}),
                   422, "bad_dataset")
    assert "exists already" in err["message"]
    envelope(c.get("/api/v1/jobs/0123456789ab"), 404, "not_found")
    envelope(c.get("/api/v1/jobs/..%2F..%2Fetc"), 404)
    envelope(c.get("/api/v1/models/nope"), 404, "not_found")
    assert c.get("/api/v1/jobs").json == {"jobs": [], "running": None}


def test_training_job_shows_progress_and_delivers_a_model(c, home):
    ds = _dataset_id(c)
    r = c.post("/api/v1/jobs", json={"kind": "train", "dataset": ds, "name": "fresh",
                                     **TRAIN_FAST})
    assert r.status_code == 202, r.json
    job = r.json
    assert job["state"] == "running" and job["kind"] == "train" and "fresh" in job["title"]
    # While it runs: a second job waits its turn (cancelled here before it starts), and
    # nothing is in models/fresh yet.
    queued = c.post("/api/v1/jobs", json={"kind": "evaluate", "dataset": ds, "model": "tiny"})
    assert queued.status_code == 202 and queued.json["state"] == "queued"
    assert c.post(f"/api/v1/jobs/{queued.json['id']}/cancel").json["state"] == "cancelled"
    assert not (home / "models" / "fresh").exists()
    seen = []
    end = time.monotonic() + 240
    while time.monotonic() < end:
        now = c.get(f"/api/v1/jobs/{job['id']}").json
        seen.append(now["fraction"])
        if now["state"] != "running":
            break
        time.sleep(0.1)
    assert now["state"] == "done", now
    assert now["fraction"] == 1.0 and seen == sorted(seen)
    assert any(0 < f < 1 for f in seen)  # the bar moved in between
    names = [m["name"] for m in c.get("/api/v1/models").json["models"]]
    assert sorted(names) == ["fresh", "tiny"]
    assert (home / "models" / "fresh" / "card.json").is_file()
    assert not (home / "jobs" / job["id"] / "out").exists()  # moved, not copied
    assert b"fresh" in c.get("/models").data


def test_cancelled_training_leaves_nothing(c, home):
    ds = _dataset_id(c)
    job = c.post("/api/v1/jobs", json={"kind": "train", "dataset": ds, "name": "never",
                                       "epochs": 200, "feature_epochs": 1,
                                       "image_size": 32}).json
    end = time.monotonic() + 120
    while c.get(f"/api/v1/jobs/{job['id']}").json["fraction"] <= 0:  # it really runs
        assert time.monotonic() < end
        time.sleep(0.1)
    pid = json.loads((home / "jobs" / job["id"] / "job.json").read_text())["pid"]
    assert c.post(f"/api/v1/jobs/{job['id']}/cancel").json["state"] == "running"
    done = _wait(c, job["id"], 60)
    assert done["state"] == "cancelled" and done["finished"]
    assert not (home / "models" / "never").exists()
    assert not (home / "jobs" / job["id"] / "out").exists()
    assert not Path(f"/proc/{pid}").exists() or b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower()
    # Cancelling a finished job changes nothing; a new job may start.
    assert c.post(f"/api/v1/jobs/{job['id']}/cancel").json["state"] == "cancelled"
    assert c.get("/api/v1/jobs").json["running"] is None


def test_evaluate_and_compare_two_models(c, home, tiny_world):
    ds = _dataset_id(c)
    shutil.copytree(home / "models" / "tiny", home / "models" / "twin")
    # Make the twin a different model: its grader's bias moved, so its calibration differs.
    import torch

    ck = torch.load(home / "models" / "twin" / "model.pt", weights_only=True)
    bias_keys = [k for k in ck["grader"] if k == "bias"]
    assert bias_keys
    ck["grader"][bias_keys[0]] += 3.0
    torch.save(ck, home / "models" / "twin" / "model.pt")

    compared = c.get(f"/api/v1/models/compare?a=tiny&b=twin&dataset={ds}").json
    assert compared["evaluated"] == {"a": False, "b": False}
    for name in ("tiny", "twin"):
        r = c.post("/api/v1/jobs", json={"kind": "evaluate", "dataset": ds, "model": name,
                                         "max_outfits": 8})
        assert r.status_code == 202, r.json
        job = _wait(c, r.json["id"])
        assert job["state"] == "done", job
    ev = c.get(f"/api/v1/models/tiny/evaluation?dataset={ds}").json["evaluation"]
    assert 0 <= ev["grader"]["auc"] <= 1 and "roc.png" in ev["plots"]
    assert set(ev["explainer"]["methods"]) >= {"gxa", "occlusion", "shapley-items"}
    assert ev["explainer"]["ground_truth"] is True
    gxa = ev["explainer"]["methods"]["gxa"]
    assert all(v is None or 0 <= v <= 1 for v in (gxa["rules_reason"], gxa["first_sentence"],
                                                   gxa["clash_true"]))
    assert gxa["rules_reason"] is not None  # the rules blame someone in every bad outfit

    compared = c.get(f"/api/v1/models/compare?a=tiny&b=twin&dataset={ds}").json
    rows = {r["label"]: r for r in compared["rows"]}
    auc = rows["Compatibility AUC"]
    assert auc["a"] == pytest.approx(ev["grader"]["auc"])
    assert auc["delta"] == pytest.approx(auc["b"] - auc["a"])
    ece = rows["Calibration error (ECE)"]
    assert ece["a"] != ece["b"] and ece["better"] == ("a" if ece["a"] < ece["b"] else "b")
    truth = rows["Explainer gxa: a true reason named first"]  # a synthetic world: its rules
    assert truth["a"] == pytest.approx(ev["explainer"]["methods"]["gxa"]["rules_reason"])

    page = c.get(f"/models/compare?m=tiny&m=twin&dataset={ds}")
    assert page.status_code == 200
    html = page.data.decode()
    assert html.count('class="model-col"') == 2 and html.count("ROC curve of") == 2
    assert _png(c, f"/models/tiny/plots/{ds}/roc.png")
    assert _png(c, f"/api/v1/models/twin/evaluation/roc.png?dataset={ds}")
    envelope(c.get(f"/api/v1/models/tiny/evaluation/..%2Fgrader.json?dataset={ds}"), 404)
    one = c.get(f"/models/tiny?dataset={ds}").data.decode()
    assert "A true reason first" in one and "Replaced item in the first sentence" in one
    # The models table now shows both test AUCs.
    assert c.get(f"/models?dataset={ds}").data.decode().count('class="num test-auc"') == 2
    # Comparing one model with itself is refused on the page.
    again = c.get(f"/models/compare?m=tiny&m=tiny&dataset={ds}")
    assert again.status_code == 302


def test_diagnostics_job_draws_the_pictures(c, home):
    ds = _dataset_id(c)
    r = c.post("/models/jobs", data={"kind": "diagnose", "model": "tiny", "dataset": ds})
    assert r.status_code == 302
    (job,) = c.get("/api/v1/jobs").json["jobs"]
    assert _wait(c, job["id"])["state"] == "done"
    index = c.get("/api/v1/models/tiny/diagnostics").json
    files = [im["file"] for im in index["images"]]
    assert files[0] == "features.png" and len(files) > 2
    page = c.get("/models/tiny").data.decode()
    for f in files:
        assert f"/models/tiny/diagnostics/{f}" in page
        assert _png(c, f"/models/tiny/diagnostics/{f}")
    assert c.get("/models/tiny/diagnostics/model.pt").status_code == 404


def test_choosing_the_active_model_lasts_across_restarts(c, app_factory, home, tiny_world):
    shutil.copytree(home / "models" / "tiny", home / "models" / "other")
    r = c.post("/models/other/activate", data={"next": "/models"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/models")
    models = c.get("/api/v1/models").json
    assert models["active"] == "other" and "other" in models["status"]
    assert read_active_name(home) == "other"
    again = app_factory(OUTFIT_HOME=home, DATA_ROOTS=[tiny_world]).test_client()
    assert again.get("/api/v1/models").json["active"] == "other"
    assert c.post("/api/v1/models/tiny/activate").json["active"] == "tiny"
    envelope(c.post("/api/v1/models/nope/activate"), 404, "not_found")
    assert read_active_name(home) == "tiny"


def test_a_job_left_running_by_a_dead_server_is_marked_interrupted(tmp_path):
    folder = tmp_path / "jobs" / "0123456789ab"
    (folder / "out").mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps({
        "id": "0123456789ab", "kind": "train", "title": "Train x", "commands": [["train"]],
        "state": "running", "pid": 999999999}))
    jobs = JobManager(tmp_path)
    job = jobs.get("0123456789ab")
    assert job.state == "interrupted" and "server stopped" in job.message
    assert not (folder / "out").exists() and jobs.running() is None


def test_the_train_form_reports_errors_on_the_page(c):
    r = c.post("/models/jobs", data={"kind": "train", "dataset": "/etc", "name": "x"},
               follow_redirects=True)
    assert r.status_code == 200
    assert b"Not started" in r.data and b"outside the data folders" in r.data
    assert c.get("/api/v1/jobs").json["jobs"] == []


def test_dataset_listing_looks_one_level_down(tmp_path, tiny_world):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a").symlink_to(tiny_world, target_is_directory=True)
    (root / "not-a-dataset").mkdir()
    found = list_datasets([root])
    assert [d.name for d in found] == [Path(tiny_world).name]

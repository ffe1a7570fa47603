"""Files that must survive a crash are written atomically and durably (temporary file, fsync,
rename, fsync of the folder), and a damaged one (a truncated or corrupted model card, faiss
index or image cache) is rebuilt or refused with a message: never a 500."""

from __future__ import annotations

import json
import os
import shutil
import stat

import numpy as np
import pytest
import torch
from web_kit import upload_closet

import data.fileio
from data.fileio import atomic_write_bytes
from grader.preprocess import Preprocessing, load_image_tensor
from outfit.domain import Item
from recommender import SlotIndex
from recommender.scoring import ClosetScorer

KINDS = {"top1": "tops", "top2": "tops", "bottom1": "bottoms", "bottom2": "bottoms",
         "shoes1": "shoes", "shoes2": "shoes"}


def test_an_atomic_write_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(data.fileio.os, "fsync", fsync)
    atomic_write_bytes(tmp_path / "card.json", b"{}")
    assert synced == ["file", "folder"]  # the data, then the rename
    assert (tmp_path / "card.json").read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # no temporary file left


def _truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


CORRUPT_CARD = {"what": ["not", "text"], "created": 5, "metrics": [0.9], "train_seconds": "long",
                "data": {"root": 7, "train": "many"}, "config": {"image_size": "big"},
                "log": [1, "x", {"stage": "grader"}]}


def test_a_damaged_model_card_never_gives_a_500(app_factory, tmp_path, tiny_model, tiny_world,
                                                photo):
    home = tmp_path / "home"
    shutil.copytree(tiny_model, home / "models" / "tiny")
    card = home / "models" / "tiny" / "card.json"
    client = app_factory(OUTFIT_HOME=home, DATA_ROOTS=[tiny_world]).test_client()
    upload_closet(client, photo, KINDS)
    whole = card.read_bytes()
    for damage, problem in (("truncated", "card.json cannot be read"),
                            ("corrupt", "card.json is damaged: what is not text")):
        if damage == "truncated":
            card.write_bytes(whole[: len(whole) // 2])
        else:
            card.write_text(json.dumps(CORRUPT_CARD))
        for url in ("/models", "/models/tiny", "/api/v1/models", "/api/v1/models/tiny",
                    "/recommend", "/models/compare?m=tiny&m=tiny"):
            r = client.get(url)
            assert r.status_code in (200, 302), (damage, url, r.status_code, r.data[-800:])
        assert problem.encode() in client.get("/models/tiny").data
        (listed,) = client.get("/api/v1/models").json["models"]
        assert listed["problem"].startswith(problem) and listed["valid_auc"] is None
        assert client.get("/api/v1/models/tiny").json["card"] is None
        r = client.post("/api/v1/recommend", json={"k": 2})  # the model itself is whole
        assert r.status_code == 200 and r.json["recommendations"], (damage, r.json)


def _scorer() -> ClosetScorer:
    """A closet of 40 items over two slots' worth of kinds with random features, and a grader
    that only needs to exist for the index (its directions are never asked for here)."""
    from tests.recommender.test_search import BEST, _closet, _planted

    closet = _closet()
    model, table = _planted(closet, BEST)
    return ClosetScorer(model, table)


@pytest.mark.parametrize("victim", ["upper.faiss", "upper.rows.npy", "index.json"])
def test_a_damaged_saved_index_is_built_again(tmp_path, victim, caplog):
    scorer = _scorer()
    first = SlotIndex.cached(scorer, tmp_path)
    (where,) = list(tmp_path.iterdir())
    _truncate(where / victim, 0.4)
    again = SlotIndex.cached(scorer, tmp_path)  # no RuntimeError or ValueError from the file
    assert "building it again" in caplog.text
    q = first.directions(np.full((1, 8), -1), "upper")
    assert [list(r) for r in again.search(q, "upper", 3)] == [list(r) for r in first.search(q, "upper", 3)]
    assert SlotIndex.load(where, scorer).indexes["upper"].ntotal == len(first.rows["upper"])


def test_a_truncated_image_cache_is_made_again(tmp_path, tiny_world):
    photos = sorted((tiny_world / "images").glob("*.jpg"))[:3]
    items = [Item(id=p.stem, category="shirt", semantic_category="tops", image=p) for p in photos]
    prep = Preprocessing(16)
    first = load_image_tensor(items, prep, cache_dir=tmp_path)
    (cache,) = list(tmp_path.glob("*.npy"))
    _truncate(cache)
    again = load_image_tensor(items, prep, cache_dir=tmp_path)
    assert torch.equal(first, again) and np.load(cache).shape == tuple(first.shape)

import errno
import pickle

import pytest
import torch

import data.fileio as fileio
from grader.api import GraderModel, load_model
from grader.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from grader.features import ItemFeatureNet
from grader.labels import PATTERNS
from grader.model import create_grader
from grader.preprocess import Preprocessing
from outfit.domain import Item
from outfit.errors import ModelError


@pytest.fixture
def model():
    torch.manual_seed(0)
    fn = ItemFeatureNet(["boots", "jeans", "shirt"], PATTERNS)
    g = create_grader("slots", fn.layout.dim)
    with torch.no_grad():
        g.log_temperature.fill_(0.3)
    return GraderModel(fn, g, Preprocessing(32), meta={"metrics": {"valid_auc": 0.9}}).eval()


def _items(tmp_path):
    from PIL import Image

    out = []
    for k, (cat, sem, color) in enumerate([("shirt", "tops", "red"), ("jeans", "bottoms", "navy"),
                                           ("boots", "shoes", "black")]):
        path = tmp_path / f"{k}.png"
        Image.new("RGB", (40, 50), color).save(path)
        out.append(Item(id=str(k), category=cat, semantic_category=sem, image=path))
    return out


def test_round_trip_gives_the_same_scores(model, tmp_path):
    items = _items(tmp_path)
    path = model.save(tmp_path / "m" / "model.pt")
    back = load_model(tmp_path / "m")  # a folder works as well as the file
    t1, t2 = model.item_table(items), back.item_table(items)
    assert torch.equal(t1.feats, t2.feats)
    outfits = [["0", "1", "2"], ["0", "1"]]
    assert (model.score(t1, outfits) == back.score(t2, outfits)).all()
    assert back.grader.temperature == pytest.approx(model.grader.temperature)
    assert back.meta["metrics"] == {"valid_auc": 0.9}
    ckpt = load_checkpoint(path)
    assert ckpt["format_version"] == FORMAT_VERSION and ckpt["layout"]["groups"][0][0] == "color"


def test_truncated_and_garbage_files_are_refused(model, tmp_path):
    path = model.save(tmp_path / "model.pt")
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_checkpoint(tmp_path / "empty.pt")
    (tmp_path / "text.pt").write_text("hello, not a model")
    with pytest.raises(ModelError, match="not a torch file"):
        load_checkpoint(tmp_path / "text.pt")
    with pytest.raises(ModelError, match="no model at"):
        load_checkpoint(tmp_path / "nowhere")


def test_foreign_and_newer_files_are_refused(model, tmp_path):
    torch.save({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    with pytest.raises(ModelError, match="torch file but not an outfit-grader checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    ckpt = load_checkpoint(model.save(tmp_path / "m.pt"))
    ckpt["format_version"] = FORMAT_VERSION + 1
    torch.save(ckpt, tmp_path / "newer.pt")
    with pytest.raises(ModelError, match="format version 2; this program reads up to 1"):
        load_checkpoint(tmp_path / "newer.pt")


class _Payload:
    """Unpickling this would create a file: the loader must never run it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_file_that_would_run_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"format": "outfit-grader", "format_version": 1, "x": _Payload(marker)},
               tmp_path / "evil.pt")
    with pytest.raises(ModelError, match="other than tensors and plain data"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()
    with open(tmp_path / "legacy.pt", "wb") as fh:
        pickle.dump({"a": 1}, fh, protocol=2)
    with pytest.raises(ModelError, match="legacy pickle"):
        load_checkpoint(tmp_path / "legacy.pt")


def test_interrupted_or_failed_save_leaves_the_previous_checkpoint(model, tmp_path, monkeypatch):
    path = model.save(tmp_path / "model.pt")
    before = path.read_bytes()

    def killed_before_rename(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "replace", killed_before_rename)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model.to_checkpoint())
    monkeypatch.undo()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, model.to_checkpoint())
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]  # no temporary left
    load_checkpoint(path)

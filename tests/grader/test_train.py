import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import grader.training_grader as stage2_module
import grader.training_progress as progress_module
from data.loaders import load_dataset
from grader import TrainConfig, load_model, train
from grader.training import data_fingerprint
from outfit.errors import OutfitError


def _cfg(world, out, **kw):
    base = dict(dataset=str(world), out=str(out), image_size=32, feature_epochs=2, epochs=3,
                batch_size=64, progress=False, seed=1)
    return TrainConfig(**{**base, **kw})


def test_training_writes_a_loadable_model_and_its_card(tiny_world, tmp_path):
    card = train(_cfg(tiny_world, tmp_path / "m"))
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["card.json", "model.pt"]  # the resumable state is gone once done
    on_disk = json.loads((tmp_path / "m" / "card.json").read_text())
    assert on_disk["metrics"] == card["metrics"]
    train_split = load_dataset(tiny_world, split="train")
    assert on_disk["data"]["fingerprint"] == data_fingerprint(train_split)
    assert on_disk["data"]["train"]["outfits"] == len(train_split.outfits)
    assert 0.0 <= card["metrics"]["valid_auc"] <= 1.0 and card["metrics"]["temperature"] > 0
    assert [e["epoch"] for e in card["log"] if e["stage"] == "grader"] == [1, 2, 3]

    model = load_model(tmp_path / "m")
    items = list(train_split.items.values())[:20]
    table = model.item_table(items)
    assert table.feats.shape == (20, model.layout.dim)
    assert model.layout.names == ("color", "shape", "pattern", "style")
    shape = table.feats[:, model.layout.slice("shape")]
    assert torch.allclose(shape.sum(1), torch.ones(20), atol=1e-5)  # a distribution
    probs = model.score(table, [[it.id for it in o.items if it.id in table.index]
                                for o in train_split.outfits[:5]])
    assert ((probs > 0) & (probs < 1)).all()
    assert model.meta["data"]["fingerprint"] == on_disk["data"]["fingerprint"]


def test_progress_file_follows_the_run_to_the_end(tiny_world, tmp_path, monkeypatch):
    seen: list[dict] = []
    real = progress_module.atomic_write_json

    def record(path, obj, **kw):
        seen.append(dict(obj))
        return real(path, obj, **kw)

    monkeypatch.setattr(progress_module, "atomic_write_json", record)
    progress = tmp_path / "progress.json"
    train(_cfg(tiny_world, tmp_path / "m", progress_file=str(progress)))
    stages = [p["stage"] for p in seen]
    assert stages[0] == "loading" and stages[-2:] == ["finishing", "done"]
    assert "features" in stages and "grader" in stages
    fractions = [p["fraction"] for p in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0
    assert json.loads(progress.read_text()) == {**seen[-1], "fraction": 1.0}
    grader_steps = [p for p in seen if p["stage"] == "grader"]
    assert all(p["epochs"] == 3 and 1 <= p["epoch"] <= 3 for p in grader_steps)
    assert all(0 < p["fraction"] <= 1 for p in grader_steps)
    assert [p["epoch"] for p in seen if p["stage"] == "features" and p["step"] == p["steps"]] == [1, 2]


def test_interrupted_training_resumes_where_it_stopped(tiny_world, tmp_path, monkeypatch):
    real = stage2_module.answer_questions
    calls = {"n": 0}

    def dies_on_second_epoch(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(stage2_module, "answer_questions", dies_on_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(tiny_world, tmp_path / "m", epochs=4))
    assert (tmp_path / "m" / "train_state.pt").is_file()
    assert not (tmp_path / "m" / "model.pt").exists()
    monkeypatch.setattr(stage2_module, "answer_questions", real)
    card = train(_cfg(tiny_world, tmp_path / "m", epochs=4, resume=True))
    epochs = [e["epoch"] for e in card["log"] if e["stage"] == "grader"]
    assert epochs == [1, 2, 3, 4]  # epoch 1 came from the saved state, not run again
    assert sum(e["stage"] == "features" for e in card["log"]) == 2  # stage 1 not repeated
    assert (tmp_path / "m" / "model.pt").is_file()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_world, tmp_path):
    with pytest.raises(OutfitError, match="no CUDA device"):
        train(_cfg(tiny_world, tmp_path / "m", device="cuda"))


@pytest.mark.slow
def test_two_process_ddp_keeps_the_weights_equal(tiny_world, tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[2])}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(worker), str(tiny_world), str(tmp_path / "ddp")],
        capture_output=True, text=True, env=env, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    digests = [(tmp_path / "ddp" / f"rank{r}.txt").read_text() for r in (0, 1)]
    assert digests[0] == digests[1]
    assert (tmp_path / "ddp" / "model.pt").is_file()  # rank 0 wrote the model


def test_weight_average_tracks_the_parameters_and_puts_the_live_ones_back():
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    frozen = torch.nn.Linear(3, 1).requires_grad_(False)
    module = torch.nn.ModuleDict({"a": layer, "b": frozen})
    average = stage2_module._Average(module, decay=0.5)
    assert len(average.params) == 2  # the frozen layer is not averaged
    start = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.add_(1.0)
    average.update()  # warm-up decay min(0.5, 2/11): the average moves 9/11 of the way
    expected = start + 9 / 11
    assert torch.allclose(average.shadow[0], expected, atol=1e-6)
    live = layer.weight.detach().clone()
    with average.applied():
        assert torch.allclose(layer.weight, expected, atol=1e-6)
    assert torch.equal(layer.weight, live)
    restored = stage2_module._Average(module, decay=0.5)
    restored.load_state_dict(average.state_dict())
    assert torch.equal(restored.shadow[0], average.shadow[0]) and restored.updates == 1


def test_style_dropout_blanks_style_only_in_training():
    from grader.features import ItemFeatureNet

    torch.manual_seed(0)
    fn = ItemFeatureNet(["a", "b"], ["solid", "stripes"], backbone="small", style_dim=4)
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, feats, slots, mask):
            seen.append(feats.detach().clone())
            return feats.sum((1, 2))

    scorer = stage2_module._Scorer(fn, Spy(), style_dropout=0.5)
    color, trunk = torch.rand(64, 3, 15), torch.randn(64, 3, fn.trunk_dim)
    slots, mask = torch.zeros(64, 3, dtype=torch.long), torch.ones(64, 3, dtype=torch.bool)
    fn.eval()
    full = fn.features_from(color, trunk).detach()
    scorer.train()
    scorer(color, trunk, slots, mask)
    style = fn.layout.slice("style")
    blanked = (seen[0][..., style] == 0).all(-1)  # (64, 3): items whose style was blanked
    assert 0.3 < blanked.float().mean() < 0.7  # about half of them
    other = [s for s in (fn.layout.slice(g) for g in ("color", "shape", "pattern"))]
    assert all(torch.allclose(seen[0][..., s], full[..., s], atol=1e-6) for s in other)
    assert torch.allclose(seen[0][~blanked][:, style], full[~blanked][:, style], atol=1e-6)
    scorer.eval()
    scorer(color, trunk, slots, mask)
    assert torch.allclose(seen[1], full, atol=1e-6)  # grading never blanks anything


@pytest.mark.slow
def test_a_pretrained_frozen_backbone_trains_on_its_cached_features(tiny_world, tmp_path):
    """``outfit train --backbone efficientnet-lite0 --weights imagenet --freeze-backbone``: the
    ImageNet trunk runs once per photo and comes out exactly as installed (batch-norm statistics
    included); the heads and the grader train on its features."""
    from grader.api import load_model
    from grader.efficientnet import imagenet_state

    out = tmp_path / "m"
    card = train(TrainConfig(dataset=str(tiny_world), out=str(out), backbone="efficientnet-lite0",
                             weights="imagenet", freeze_backbone=True, image_size=32,
                             feature_epochs=2, epochs=2, batch_size=64, progress=False))
    stage1 = [row for row in card["log"] if row.get("stage") == "features"]
    assert len(stage1) == 2 and all(row["cached_trunk"] for row in stage1)
    model = load_model(out)
    trunk = model.feature_net.trunk.state_dict()
    for key, value in imagenet_state().items():
        assert torch.equal(trunk[key].cpu().to(value.dtype), value), key
    assert 0.0 <= card["metrics"]["valid_auc"] <= 1.0

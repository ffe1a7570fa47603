"""The tagger: trains on a folder of photos, keeps its checkpoint honest, tags photos."""

import io
import pickle
import random

import pytest
import torch
from click.testing import CliRunner
from PIL import Image, ImageDraw

from data.folder import read_closet_folder
from grader.checkpoint import save_checkpoint
from grader.tagger import TAGGER_NAME, load_tagger, tag
from grader.tagger_training import train_tagger
from outfit.errors import ModelError, OutfitError
from outfit_cli import cli

CLASSES = ("t-shirt", "pants", "shoes")


def _draw(kind: str, rng: random.Random) -> Image.Image:
    """A 40x48 product photo: a red T, two blue legs or a dark sole, placed and sized at random
    on a pale background."""
    bg = tuple(rng.randint(215, 255) for _ in range(3))
    im = Image.new("RGB", (40, 48), bg)
    d = ImageDraw.Draw(im)
    s = rng.uniform(0.75, 1.0)
    ox, oy = rng.randint(0, 6), rng.randint(0, 6)

    def box(x0, y0, x1, y1, color):
        d.rectangle([ox + x0 * s, oy + y0 * s, ox + x1 * s, oy + y1 * s], fill=color)

    jitter = rng.randint(-25, 25)
    if kind == "t-shirt":
        red = (200 + jitter // 2, 40 + jitter, 40)
        box(4, 4, 30, 14, red)
        box(10, 4, 24, 38, red)
    elif kind == "pants":
        blue = (40, 60 + jitter, 170 + jitter)
        box(8, 2, 28, 10, blue)
        box(8, 2, 16, 40, blue)
        box(20, 2, 28, 40, blue)
    else:
        dark = (50 + jitter, 35 + jitter // 2, 30)
        box(4, 26, 32, 36, dark)
        box(4, 18, 14, 30, dark)
    return im


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """train/validation/test folders, 3 categories, 20 photos each."""
    root = tmp_path_factory.mktemp("photos")
    rng = random.Random(5)
    for split in ("train", "validation", "test"):
        for kind in CLASSES:
            folder = root / split / kind
            folder.mkdir(parents=True)
            for k in range(20):
                _draw(kind, rng).save(folder / f"{k}.png")
    return root


@pytest.fixture(scope="module")
def trained(photo_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("tagger")
    torch.manual_seed(0)
    card = train_tagger(photo_folder, out, backbone="small", image_size=32, epochs=8,
                        batch_size=16, lr=5e-3, progress=False)
    return card, out


def test_training_reaches_high_accuracy_on_held_out_photos(trained):
    card, out = trained
    m = card["metrics"]
    assert m["test_acc"] >= 0.9
    assert m["valid_acc"] >= 0.9
    assert 1 <= m["best_epoch"] <= 8
    assert sorted(card["classes"]) == sorted(CLASSES)
    assert card["data"]["sizes"] == {"train": 60, "validation": 60, "test": 60}
    assert (out / TAGGER_NAME).stat().st_size == card["model_bytes"]
    assert (out / "card.json").is_file()


def test_round_trip_gives_identical_predictions(trained, photo_folder):
    card, out = trained
    items = read_closet_folder(photo_folder / "test").closet.items
    a = load_tagger(out)
    b = load_tagger(out / TAGGER_NAME)
    tags_a, tags_b = tag(a, items), tag(b, items)
    assert tags_a == tags_b
    assert a.meta["metrics"]["test_acc"] == card["metrics"]["test_acc"]
    right = sum(cat == it.category for (cat, _), it in zip(tags_a, items, strict=True))
    assert right / len(items) == pytest.approx(card["metrics"]["test_acc"], abs=1e-6)


def test_tag_returns_known_categories_with_probabilities(trained, photo_folder):
    _, out = trained
    tagger = load_tagger(out)
    paths = sorted((photo_folder / "test" / "pants").glob("*.png"))[:3]
    photos = [paths[0], str(paths[1]), Image.open(paths[2])]
    tags = tag(tagger, photos)
    assert len(tags) == 3
    for category, confidence in tags:
        assert category in CLASSES
        assert 0.0 <= confidence <= 1.0
    probs = tagger.probabilities(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    assert probs.shape == (2, 3)
    assert torch.all(probs.sum(-1) <= 1 + 1e-5)
    assert tag(tagger, []) == []


def test_foreign_and_corrupt_files_are_refused(trained, tmp_path):
    _, out = trained
    good = (out / TAGGER_NAME).read_bytes()
    cases = {
        "empty.pt": b"",
        "text.pt": b"hello, not a model",
        "truncated.pt": good[: len(good) // 2],
        "pickle.pt": pickle.dumps({"format": "outfit-tagger"}),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError):
            load_tagger(tmp_path / name)
    # a grader checkpoint, or any other torch file, is not a tagger
    save_checkpoint(tmp_path / "grader.pt", {"arch": "slots"})
    with pytest.raises(ModelError, match="outfit-grader"):
        load_tagger(tmp_path / "grader.pt")
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, buffer)
    (tmp_path / "plain.pt").write_bytes(buffer.getvalue())
    with pytest.raises(ModelError, match="not an outfit-tagger checkpoint"):
        load_tagger(tmp_path / "plain.pt")
    with pytest.raises(ModelError, match="no tagger"):
        load_tagger(tmp_path / "nowhere")


def test_a_newer_format_or_a_mismatched_state_is_refused(trained, tmp_path):
    _, out = trained
    ckpt = torch.load(out / TAGGER_NAME, weights_only=True)
    for name, change in {"newer.pt": {"format_version": 99},
                         "wrong.pt": {"classes": ["a", "b"]}}.items():
        buffer = io.BytesIO()
        torch.save({**ckpt, **change}, buffer)
        (tmp_path / name).write_bytes(buffer.getvalue())
        with pytest.raises(ModelError):
            load_tagger(tmp_path / name)


def test_a_folder_without_validation_photos_is_a_clear_error(photo_folder, tmp_path):
    (tmp_path / "train").symlink_to(photo_folder / "train")
    with pytest.raises(OutfitError, match="validation"):
        train_tagger(tmp_path, None, epochs=1, progress=False)


def test_cli_trains_and_prints_the_accuracies(photo_folder, tmp_path):
    out = tmp_path / "cli-tagger"
    result = CliRunner().invoke(cli, ["train-tagger", str(photo_folder), "--out", str(out),
                                      "--backbone", "small", "--image-size", "32", "--epochs",
                                      "2", "--batch-size", "16"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "valid accuracy" in result.output
    assert "test accuracy" in result.output
    assert "epoch 2/2" in result.output
    assert (out / TAGGER_NAME).is_file()
    bad = CliRunner().invoke(cli, ["train-tagger", str(photo_folder), "--out", str(out),
                                   "--device", "abacus"])
    assert bad.exit_code == 1
    assert "unknown device 'abacus'" in bad.output


# ------------------------------------------------ a pretrained trunk fine-tuned on cached views


@pytest.fixture(scope="module")
def pattern_csv(photo_folder, tmp_path_factory):
    """Labels for the drawn photos: every t-shirt red and 'stripes', the trousers blue, the
    shoes brown, both 'solid' (the heads must tell them apart)."""
    path = tmp_path_factory.mktemp("labels") / "labels.csv"
    rows = ["file,main_color,pattern"]
    colors = {"t-shirt": "red", "pants": "blue", "shoes": "brown"}
    for split in ("train", "test"):
        for kind in CLASSES:
            for k in range(20):
                rows.append(f"{split}/{kind}/{k}.png,{colors[kind]},"
                            f"{'stripes' if kind == 't-shirt' else 'solid'}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def finetuned(photo_folder, pattern_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("finetuned")
    card = train_tagger(photo_folder, out, backbone="efficientnet-lite0", weights="imagenet",
                        image_size=64, epochs=3, batch_size=16, lr=3e-3, freeze=12, views=2,
                        labels=str(pattern_csv), progress=False)
    return out, card


@pytest.mark.slow
def test_finetuned_tagger_ships_only_what_it_trained(finetuned):
    out, card = finetuned
    assert card["metrics"]["test_acc"] >= 0.9  # the ImageNet trunk makes this easy
    assert card["metrics"]["pattern_test_acc"] >= 0.9
    assert card["metrics"]["pattern_test_majority"] == pytest.approx(40 / 60, abs=1e-3)
    assert card["metrics"]["color_test_acc"] >= 0.9 and card["metrics"]["color_train_photos"] == 60
    ckpt = torch.load(out / TAGGER_NAME, weights_only=True)
    assert ckpt["frozen"] == 12 and ckpt["base_weights"] == "imagenet"
    keys = list(ckpt["state_dict"])
    assert not any(k.startswith(tuple(f"trunk.{i}." for i in range(12))) for k in keys)
    assert any(k.startswith("trunk.12.") for k in keys) and "pattern_head.weight" in keys
    assert "color_head.weight" in keys and len(ckpt["color_classes"]) == 13
    # The file holds the trained part in float16, not the frozen prefix.
    tagger = load_tagger(out)
    whole = sum(p.numel() for p in tagger.parameters()) * 2
    prefix = sum(p.numel() for p in tagger.trunk[:12].parameters()) * 2
    assert card["model_bytes"] < whole - 0.9 * prefix


@pytest.mark.slow
def test_finetuned_tagger_loads_back_and_tags_as_measured(finetuned, photo_folder):
    out, card = finetuned
    tagger = load_tagger(out)
    assert tagger.pattern_classes[:2] == ("solid", "stripes")
    photos = sorted((photo_folder / "test").rglob("*.png"))
    got = tag(tagger, photos)
    truth = [p.parent.name for p in photos]
    acc = sum(c == t for (c, _), t in zip(got, truth, strict=True)) / len(truth)
    assert acc == pytest.approx(card["metrics"]["test_acc"], abs=1e-6)
    # The folded batch norms change nothing that matters: same classes as the plain trunk.
    x = torch.rand(4, 3, 64, 64)
    tagger.eval()
    fused = tagger(x)
    tagger._fused.clear()
    assert torch.allclose(fused, tagger(x), atol=1e-3)


def test_finetuning_refuses_a_freeze_outside_the_trunk(photo_folder, tmp_path):
    with pytest.raises(OutfitError, match="--freeze 40"):
        train_tagger(photo_folder, tmp_path / "t", backbone="efficientnet-lite0", weights="imagenet",
                     image_size=32, epochs=1, freeze=40, progress=False)


def test_pattern_labels_with_an_unknown_pattern_are_refused(photo_folder, tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("file,main_color,pattern\ntrain/pants/0.png,blue,tartan\n")
    with pytest.raises(OutfitError, match="tartan"):
        train_tagger(photo_folder, tmp_path / "t", backbone="efficientnet-lite0", weights="imagenet",
                     image_size=32, epochs=1, freeze=12, views=1, labels=str(bad),
                     progress=False)

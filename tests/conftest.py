"""Fixtures shared by every test package."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real reference data); skips where it is absent.

    Tests that use it are marked ``@pytest.mark.shared_data`` so they can be selected or left out.
    """
    if not SHARED_DATA.is_dir():
        pytest.skip(
            "../shared/data not found beside the checkout "
            "(reference data is only on the developers' and CI machines)"
        )
    return SHARED_DATA.resolve()


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """A small synthetic world, made once per test session (a few seconds)."""
    from data.synth import generate_world

    root = tmp_path_factory.mktemp("tiny-world")
    generate_world(root, n_outfits=240, seed=11, image_size=48, workers=1)
    return root


@pytest.fixture(scope="session")
def tiny_model(tiny_world, tmp_path_factory):
    """A grader trained for a few epochs on the tiny world (seconds): a real model to search
    and explain with, not a good one."""
    from grader import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-model")
    train(TrainConfig(dataset=str(tiny_world), out=str(out), image_size=32, feature_epochs=2,
                      epochs=3, batch_size=64, progress=False, seed=0))
    return out


@pytest.fixture(scope="session")
def tiny_photo_model(tiny_world, tmp_path_factory):
    """The tiny model's recipe trained on a copy of the tiny world that does not say it is a
    synthetic world (as a Polyvore folder of real photos would not): a model that reads a
    closet's photos by their pixels (:attr:`grader.api.GraderModel.closet_reads`)."""
    import shutil

    from grader import TrainConfig, train

    data = tmp_path_factory.mktemp("tiny-photos") / "data"
    shutil.copytree(tiny_world, data, ignore=shutil.ignore_patterns("world.json",
                                                                   ".synthetic-world"))
    out = tmp_path_factory.mktemp("tiny-photo-model")
    train(TrainConfig(dataset=str(data), out=str(out), image_size=32, feature_epochs=2,
                      epochs=3, batch_size=64, progress=False, seed=0))
    return out

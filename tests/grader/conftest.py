import pytest

from data.synth import generate_world


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """A small synthetic world, made once per test session (a few seconds)."""
    root = tmp_path_factory.mktemp("tiny-world")
    generate_world(root, n_outfits=240, seed=11, image_size=48, workers=1)
    return root

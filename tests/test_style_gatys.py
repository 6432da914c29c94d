"""Gatys style transfer with a small randomly initialised VGG-like network (no downloads)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from fsutils.models.vgg import FeatureExtractor, layer_names
from fsutils.style import color, gatys_transfer
from fsutils.style.gatys import CONTENT_LAYERS, STYLE_LAYERS
from fsutils.style.losses import gram_matrix, mask_weights, style_loss


def tiny_vgg(seed: int = 0) -> nn.Sequential:
    """Five blocks like VGG-19 (conv4_2 exists), 3×3 convs, max pooling, few channels."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    cin = 3
    for block, (ch, n) in enumerate([(8, 1), (16, 1), (16, 1), (32, 2), (32, 1)]):
        for _ in range(n):
            layers += [nn.Conv2d(cin, ch, 3, padding=1), nn.ReLU(inplace=True)]
            cin = ch
        if block < 4:
            layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


@pytest.fixture(scope="module")
def net() -> nn.Sequential:
    return tiny_vgg()


def noise_image(h: int, w: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))


def stripes(h: int, w: int) -> Image.Image:
    x = np.arange(w)[None, :, None]
    y = np.arange(h)[:, None, None]
    arr = 0.5 + 0.4 * np.sin(x / 2.0 + np.array([0, 2, 4])) * np.cos(y / 3.0)
    return Image.fromarray((arr * 255).astype(np.uint8))


def run(content, style, net, **kw):
    kw.setdefault("size", max(content.size))
    kw.setdefault("device", "cpu")
    kw.setdefault("progress", False)
    return gatys_transfer(content, style, features=net, **kw)


def test_layer_names_follow_the_papers():
    import torchvision

    names = layer_names(torchvision.models.vgg19().features)
    assert names[0] == "conv1_1" and names[4] == "pool1" and names[5] == "conv2_1"
    assert names.index("conv4_2") == 21 and names.index("conv5_1") == 28
    assert names[-1] == "pool5"


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_both_optimizers_reduce_the_total_loss(net, optimizer):
    content, style = noise_image(48, 64, 1), stripes(64, 64)
    seen: list[tuple[int, float]] = []
    out = run(content, style, net, steps=20, optimizer=optimizer, tv_weight=1.0,
              callback=lambda step, img, losses: seen.append((step, losses["total"])),
              callback_every=1)
    assert isinstance(out, Image.Image) and out.size == content.size
    assert [s for s, _ in seen] == list(range(1, 21))
    first, final = seen[0][1], seen[-1][1]
    assert final < 0.25 * first, seen


def test_one_forward_pass_per_step_through_a_cut_network(net):
    calls = {"n": 0}
    extractor = FeatureExtractor(net, CONTENT_LAYERS + STYLE_LAYERS)
    # the network ends at conv5_1: nothing after the deepest needed layer is kept
    assert extractor.names[-1] == "conv5_1"
    handles = [m.register_forward_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
               for m in extractor.body if isinstance(m, nn.Conv2d)]
    n_convs = len(handles)
    try:
        run(noise_image(32, 32, 2), stripes(32, 32), extractor, steps=4, optimizer="adam")
    finally:
        for h in handles:
            h.remove()
    # content targets + style targets (once) + one pass per step
    assert calls["n"] == n_convs * (2 + 4)
    assert not any(p.requires_grad for p in extractor.parameters())  # no weight gradients


def test_style_loss_gradient_is_zero_outside_the_mask(net):
    extractor = FeatureExtractor(net, STYLE_LAYERS)
    x = torch.rand(1, 3, 32, 160, generator=torch.Generator().manual_seed(0), requires_grad=True)
    mask = torch.zeros(1, 1, 32, 160)
    mask[..., :16] = 1
    style = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = {k: gram_matrix(v) for k, v in extractor(style).items()}
    feats = extractor(x)
    weights = {k: mask_weights(mask, feats[k].shape[-2:]) for k in STYLE_LAYERS}
    # each layer's own loss term: exactly zero gradient where the downsampled mask is zero
    for k in STYLE_LAYERS:
        term = style_loss({k: feats[k]}, {k: target[k]}, {k: weights[k]})
        (g,) = torch.autograd.grad(term, feats[k], retain_graph=True)
        outside = (weights[k] == 0).expand_as(g)
        assert torch.count_nonzero(g[outside]) == 0, k
        assert g[~outside].abs().sum() > 0, k
    (gx,) = torch.autograd.grad(style_loss(feats, target, weights), x)
    # in the image: zero beyond the receptive field of the masked positions (conv5_1 sees ±47 px)
    assert gx[..., :16].abs().sum() > 0
    assert torch.count_nonzero(gx[..., 96:]) == 0


def test_masked_transfer_leaves_the_far_background_untouched(net):
    content, style = noise_image(32, 160, 3), stripes(64, 64)
    mask = np.zeros((32, 160), dtype=bool)
    mask[:, :16] = True
    for optimizer in ("adam", "lbfgs"):
        out = np.asarray(run(content, style, net, steps=8, optimizer=optimizer, mask=mask,
                             content_weight=0.0), dtype=np.int16)
        src = np.asarray(content, dtype=np.int16)
        assert np.array_equal(out[:, 96:], src[:, 96:]), optimizer
        assert np.abs(out[:, :16] - src[:, :16]).mean() > 1, optimizer


def test_several_styles_at_once_report_each_garment(net):
    content = noise_image(48, 64, 4)
    upper = np.zeros((48, 64), dtype=bool)
    upper[:24] = True
    seen = {}
    out = run(content, {"upper": (upper, stripes(32, 32)), "lower": (~upper, noise_image(32, 32, 5))},
              net, steps=5, optimizer="adam", callback=lambda s, i, losses: seen.update(losses),
              callback_every=5)
    assert out.size == content.size
    assert {"style/upper", "style/lower", "style", "content", "tv", "total"} <= set(seen)
    assert seen["style"] == pytest.approx(seen["style/upper"] + seen["style/lower"], rel=1e-5)
    # a list of (mask, style) pairs works the same way
    same = run(content, [(upper, stripes(32, 32)), (~upper, noise_image(32, 32, 5))], net,
               steps=5, optimizer="adam")
    assert np.array_equal(np.asarray(out), np.asarray(same))


def test_fixed_seed_gives_identical_results(net):
    content, style = noise_image(40, 40, 6), stripes(40, 40)
    a = run(content, style, net, steps=6, init="noise", seed=7)
    b = run(content, style, net, steps=6, init="noise", seed=7)
    c = run(content, style, net, steps=6, init="noise", seed=8)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_working_size_and_pixel_range(net):
    content = noise_image(60, 90, 9)
    out = run(content, stripes(50, 50), net, size=45, steps=3, optimizer="adam", lr=5.0)
    assert out.size == (45, 30)
    arr = np.asarray(out)
    assert arr.min() >= 0 and arr.max() <= 255 and (arr == 255).any()  # clamped, not wrapped


def yiq(img: Image.Image) -> torch.Tensor:
    t = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    return color.rgb_to_yiq(t)[0]


def test_preserve_color_keeps_the_photo_chrominance(net):
    rng = np.random.default_rng(10)
    base = np.array([0.6, 0.45, 0.35]) + 0.1 * rng.random((48, 48, 1))   # mild, unclipped colours
    content = Image.fromarray((base * 255).astype(np.uint8))
    style = stripes(48, 48)
    kept = run(content, style, net, steps=10, optimizer="adam", preserve="color")
    plain = run(content, style, net, steps=10, optimizer="adam")
    c, k, p = yiq(content), yiq(kept), yiq(plain)
    assert (k[1:] - c[1:]).abs().mean() < 0.005          # I, Q of the photo (8-bit rounding)
    assert (p[1:] - c[1:]).abs().mean() > 0.02           # without it the painting's colours come in
    assert (k[0] - c[0]).abs().mean() > 0.01             # the luminance was stylised


def test_preserve_shading_shows_the_folds_under_the_texture(net):
    h, w = 48, 64
    arr = np.zeros((h, w, 3), dtype=np.float32)
    arr[:] = (0.2, 0.3, 0.6)                              # background
    arr[:, 8:56] = (0.8, 0.5, 0.4)                        # garment
    arr[20:30, 8:56] *= 0.5                               # a fold in shadow
    content = Image.fromarray((arr * 255).astype(np.uint8))
    mask = np.zeros((h, w), dtype=bool)
    mask[:, 8:56] = True
    kw = dict(steps=15, optimizer="adam", init="noise", seed=0, content_weight=0.0, mask=mask,
              shading_sigma=1.5)
    shaded = yiq(run(content, stripes(48, 48), net, preserve="shading", **kw))[0]
    plain = yiq(run(content, stripes(48, 48), net, **kw))[0]
    orig = yiq(content)[0]

    def ratio(y):
        band = y[22:28, 12:52].mean()
        rest = torch.cat([y[4:16, 12:52], y[34:44, 12:52]]).mean()
        return (band / rest).item()

    assert ratio(orig) == pytest.approx(0.5, abs=0.02)
    assert ratio(shaded) == pytest.approx(ratio(orig), abs=0.1)   # the fold shows through
    assert ratio(plain) > 0.75                                      # it would not by itself


def test_argument_errors(net):
    c, s = noise_image(16, 16, 0), stripes(16, 16)
    with pytest.raises(ValueError, match="optimizer"):
        run(c, s, net, optimizer="sgd")
    with pytest.raises(ValueError, match="preserve"):
        run(c, s, net, preserve="texture")
    with pytest.raises(ValueError, match="content image is"):
        run(c, s, net, mask=np.ones((8, 8), dtype=bool))
    with pytest.raises(ValueError, match="empty"):
        run(c, s, net, mask=np.zeros((16, 16), dtype=bool), steps=1)
    with pytest.raises(ValueError, match="mask=None"):
        run(c, [(np.ones((16, 16)), s)], net, mask=np.ones((16, 16)))
    with pytest.raises(ValueError, match="do not exist"):
        run(c, s, net, content_layers=("conv9_9",))

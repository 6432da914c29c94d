"""Gram matrix, losses and colour helpers against values computed by hand."""
from __future__ import annotations

import pytest
import torch

from fsutils.style import color
from fsutils.style.losses import content_loss, gram_matrix, mask_weights, style_loss, tv_loss


def feats_2x1x2() -> torch.Tensor:
    # a=1 sample, b=2 channels, c=1 row, d=2 columns: channel 0 = [1, 2], channel 1 = [3, 4]
    return torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])


def test_gram_matrix_normalised_by_abcd():
    g = gram_matrix(feats_2x1x2())
    # F F^T = [[1+4, 3+8], [3+8, 9+16]] = [[5, 11], [11, 25]]; a*b*c*d = 4
    assert torch.allclose(g, torch.tensor([[1.25, 2.75], [2.75, 6.25]]))


def test_masked_gram_uses_region_only_and_its_area():
    w = torch.tensor([[[[1.0, 0.0]]]])
    g = gram_matrix(feats_2x1x2(), w)
    # only the first position: [[1, 3], [3, 9]], divided by b * area = 2 * 1
    assert torch.allclose(g, torch.tensor([[0.5, 1.5], [1.5, 4.5]]))
    # an all-ones mask gives the plain Gram matrix
    assert torch.allclose(gram_matrix(feats_2x1x2(), torch.ones(1, 1, 1, 2)),
                          gram_matrix(feats_2x1x2()))


def test_masked_gram_does_not_depend_on_region_size():
    # a texture repeated over a larger region has the same masked Gram matrix
    torch.manual_seed(0)
    tile = torch.randn(1, 3, 4, 4)
    big = torch.cat([tile, tile, torch.randn(1, 3, 4, 4)], dim=3)
    small_w = torch.zeros(1, 1, 4, 12)
    small_w[..., :4] = 1
    big_w = torch.zeros(1, 1, 4, 12)
    big_w[..., :8] = 1
    assert torch.allclose(gram_matrix(big, small_w), gram_matrix(big, big_w), atol=1e-6)


def test_content_style_tv_losses_by_hand():
    a = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    b = torch.zeros_like(a)
    assert content_loss(a, b).item() == pytest.approx((1 + 4 + 9 + 16) / 4)

    target = {"l1": torch.zeros(2, 2), "l2": torch.eye(2)}
    feats = {"l1": a, "l2": a}
    g = torch.tensor([[1.25, 2.75], [2.75, 6.25]])
    expected = (g ** 2).mean() + ((g - torch.eye(2)) ** 2).mean()
    assert style_loss(feats, target).item() == pytest.approx(expected.item())

    img = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    # vertical differences 2, 3 -> mean square 6.5; horizontal 1, 2 -> 2.5
    assert tv_loss(img).item() == pytest.approx(9.0)


def test_mask_weights_area_average():
    m = torch.zeros(1, 1, 4, 4)
    m[..., :2, :2] = 1
    w = mask_weights(m, (2, 2))
    assert torch.allclose(w, torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]]))
    assert torch.allclose(mask_weights(m, (1, 1)), torch.tensor([[[[0.25]]]]))


def test_yiq_round_trip_and_recombine():
    torch.manual_seed(1)
    rgb = torch.rand(1, 3, 5, 7)
    assert torch.allclose(color.yiq_to_rgb(color.rgb_to_yiq(rgb)), rgb, atol=1e-5)
    grey = torch.full((1, 3, 1, 1), 0.5)
    assert torch.allclose(color.luminance(grey), torch.tensor(0.5), atol=1e-6)
    content = torch.rand(1, 3, 5, 7) * 0.2 + 0.4      # mild colours: nothing is clipped
    out = color.recombine_color(rgb * 0.2 + 0.4, content)
    yo, yc = color.rgb_to_yiq(out), color.rgb_to_yiq(content)
    assert torch.allclose(yo[:, 1:], yc[:, 1:], atol=1e-5)  # chrominance of the photo
    assert torch.allclose(yo[:, :1], color.luminance(rgb * 0.2 + 0.4), atol=1e-5)


def test_match_luminance_moments():
    torch.manual_seed(2)
    style, content = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8) * 0.3
    y = color.match_luminance(style, content)[:, :1]
    yc = color.luminance(content)
    assert y.mean().item() == pytest.approx(yc.mean().item(), abs=1e-4)
    assert y.std().item() == pytest.approx(yc.std().item(), rel=1e-3)


def test_keep_shading_imprints_the_photo_folds_inside_mask_only():
    h, w = 40, 60
    content = torch.full((1, 3, h, w), 0.6)
    content[..., 15:25, :] *= 0.5                     # a horizontal fold: half as bright
    stylised = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)) * 0.4 + 0.3
    mask = torch.zeros(1, 1, h, w)
    mask[..., :, :40] = 1                             # garment = left two thirds
    out = color.keep_shading(stylised, content, mask, sigma=1.5)
    y = color.luminance(out)[0, 0]
    band, rest = y[16:24, 5:35].mean(), torch.cat([y[2:10, 5:35], y[30:38, 5:35]]).mean()
    assert (band / rest).item() == pytest.approx(0.5, abs=0.08)
    assert torch.equal(out[..., 42:], stylised[..., 42:].clamp(0, 1)) or torch.allclose(
        out[..., 42:], stylised[..., 42:], atol=1e-5)  # outside the garment: unchanged

"""fsutils.blend: the formulas on small arrays, the limits, untouched pixels and shape errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from fsutils.blend import (boundary_band, feather_mask, feathered_blend, hard_paste,
                           saliency_blend, seam_score)


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    h, w = 7, 9
    content = rng.random((h, w, 3), dtype=np.float32)
    stylized = rng.random((h, w, 3), dtype=np.float32)
    saliency = rng.random((h, w), dtype=np.float32)
    mask = np.zeros((h, w), bool)
    mask[2:6, 3:8] = True
    return content, stylized, saliency, mask


def test_saliency_blend_is_equation_2_inside_the_mask(scene):
    c, s, sal, mask = scene
    out = saliency_blend(c, s, sal, mask)
    assert out.dtype == np.float32 and out.shape == c.shape
    # Pixel by pixel, written out the slow way.
    for y in range(c.shape[0]):
        for x in range(c.shape[1]):
            m = sal[y, x] if mask[y, x] else 0.0
            np.testing.assert_allclose(out[y, x], m * s[y, x] + (1 - m) * c[y, x], rtol=0, atol=1e-6)


def test_pixels_outside_the_mask_are_the_photo_bit_for_bit(scene):
    c, s, sal, mask = scene
    for out in (saliency_blend(c, s, sal, mask), saliency_blend(c, s, sal, mask, strength=3.0),
                hard_paste(c, s, mask)):
        assert np.array_equal(out[~mask], c[~mask])
    assert np.array_equal(hard_paste(c, s, mask)[mask], s[mask])


def test_saliency_zero_and_one_reduce_to_photo_and_stylised(scene):
    c, s, _, mask = scene
    zeros = np.zeros(mask.shape, np.float32)
    ones = np.ones(mask.shape, np.float32)
    np.testing.assert_array_equal(saliency_blend(c, s, zeros, mask), c)
    np.testing.assert_allclose(saliency_blend(c, s, ones, mask), hard_paste(c, s, mask), atol=1e-7)
    full = np.ones(mask.shape, bool)
    np.testing.assert_allclose(saliency_blend(c, s, ones, full), s, atol=1e-7)


def test_strength_scales_and_clips_the_saliency(scene):
    c, s, sal, mask = scene
    np.testing.assert_array_equal(saliency_blend(c, s, sal, mask, strength=0.0), c)
    half = saliency_blend(c, s, sal, mask, strength=0.5)
    expect = saliency_blend(c, s, sal * 0.5, mask)
    np.testing.assert_allclose(half, expect, atol=1e-6)
    # Strength so large that every masked weight clips to 1: the hard paste.
    np.testing.assert_allclose(saliency_blend(c, s, sal + 0.01, mask, strength=1e6),
                               hard_paste(c, s, mask), atol=1e-6)
    with pytest.raises(ValueError, match="strength"):
        saliency_blend(c, s, sal, mask, strength=-1)
    with pytest.raises(ValueError, match="strength"):
        saliency_blend(c, s, sal, mask, strength=float("nan"))


def test_inputs_are_not_modified(scene):
    c, s, sal, mask = scene
    copies = [a.copy() for a in (c, s, sal, mask)]
    saliency_blend(c, s, sal, mask, strength=2)
    hard_paste(c, s, mask)
    feathered_blend(c, s, mask, 2.0)
    for a, b in zip((c, s, sal, mask), copies):
        assert np.array_equal(a, b)


def test_float64_inputs_give_float32(scene):
    c, s, sal, mask = scene
    out = saliency_blend(c.astype(np.float64), s.astype(np.float64), sal.astype(np.float64), mask)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, saliency_blend(c, s, sal, mask), atol=1e-6)


def test_soft_mask_multiplies_the_saliency(scene):
    c, s, sal, mask = scene
    soft = mask * np.float32(0.25)
    out = saliency_blend(c, s, sal, soft)
    m = (0.25 * sal * mask)[..., None]
    np.testing.assert_allclose(out, m * s + (1 - m) * c, atol=1e-6)


def test_feathered_blend_uses_the_blurred_mask():
    rng = np.random.default_rng(1)
    c = rng.random((64, 80, 3), dtype=np.float32)
    s = rng.random((64, 80, 3), dtype=np.float32)
    mask = np.zeros((64, 80), bool)
    mask[16:48, 20:60] = True
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 3.0, borderType=cv2.BORDER_REPLICATE)
    out = feathered_blend(c, s, mask, width=3.0)
    np.testing.assert_allclose(out, soft[..., None] * s + (1 - soft[..., None]) * c, atol=1e-5)
    # Width 0 is the hard paste; far from the edge nothing changes.
    np.testing.assert_allclose(feathered_blend(c, s, mask, 0), hard_paste(c, s, mask), atol=1e-7)
    np.testing.assert_array_equal(out[0, 0], c[0, 0])
    with pytest.raises(ValueError, match="width"):
        feathered_blend(c, s, mask, -2)


@pytest.mark.parametrize("width", [8, 13.5, 32, 90])
def test_wide_feather_matches_an_exact_gaussian(width):
    mask = np.zeros((500, 610), bool)
    mask[100:420, 150:480] = True
    mask[:40, :] = True  # touching the border too
    mask[300:, 590:] = True
    exact = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), width, borderType=cv2.BORDER_REPLICATE)
    fast = feather_mask(mask, width)
    assert fast.shape == mask.shape and fast.dtype == np.float32
    assert np.abs(fast - exact).max() < 0.005


@pytest.mark.parametrize("bad", [
    dict(content=np.zeros((4, 5, 3), np.float32), stylized=np.zeros((4, 6, 3), np.float32)),
    dict(content=np.zeros((4, 5), np.float32), stylized=np.zeros((4, 5), np.float32)),
    dict(content=np.zeros((4, 5, 4), np.float32), stylized=np.zeros((4, 5, 4), np.float32)),
])
def test_mismatched_or_wrong_image_shapes_name_the_shapes(bad):
    mask = np.ones((4, 5), bool)
    with pytest.raises(ValueError, match=r"\(4, [56]"):
        hard_paste(bad["content"], bad["stylized"], mask)


def test_bad_mask_saliency_and_dtypes_are_rejected(scene):
    c, s, sal, mask = scene
    with pytest.raises(ValueError, match=r"mask has shape \(7, 8\).*\(7, 9\)"):
        hard_paste(c, s, mask[:, :8])
    with pytest.raises(ValueError, match=r"saliency has shape \(9, 7\)"):
        saliency_blend(c, s, sal.T, mask)
    with pytest.raises(ValueError, match="uint8.*to_float"):
        hard_paste((c * 255).astype(np.uint8), s, mask)
    with pytest.raises(ValueError, match="outside 0..1"):
        hard_paste(c, s, mask.astype(np.uint8) * 3)
    with pytest.raises(TypeError, match="numpy array"):
        hard_paste(c.tolist(), s, mask)
    # A H×W×1 mask is accepted as H×W.
    np.testing.assert_array_equal(hard_paste(c, s, mask[..., None]), hard_paste(c, s, mask))


def test_boundary_band_lies_on_the_edge_only():
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    band = boundary_band(mask, 2)
    assert band[10, 20] and band[9, 20] and band[20, 29] and band[20, 30]
    assert not band[20, 20] and not band[0, 0]
    # The image frame is not a boundary.
    assert not boundary_band(np.ones((10, 10), bool), 2).any()


def test_seam_score_ranks_hard_paste_above_smooth_blends():
    h, w = 64, 64
    c = np.zeros((h, w, 3), np.float32)
    s = np.ones((h, w, 3), np.float32)
    mask = np.zeros((h, w), bool)
    mask[:, 32:] = True
    hard = seam_score(hard_paste(c, s, mask), mask)
    feathered = seam_score(feathered_blend(c, s, mask, 6), mask)
    assert hard > 2 * feathered > 0
    # No step at all across the boundary: zero.
    assert seam_score(c, mask) == 0.0
    # A texture running along the edge counts much less than a jump across it.
    stripes = np.zeros((h, w, 3), np.float32)
    stripes[::2] = 1.0  # horizontal stripes, varying along the vertical edge only
    assert seam_score(stripes, mask) < 0.1 * hard
    assert np.isnan(seam_score(c, np.zeros((h, w), bool)))
    with pytest.raises(ValueError, match="mask shape"):
        seam_score(c, mask[:10])

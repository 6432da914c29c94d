"""fsutils.blend: the formulas on small arrays with known answers, the limits, untouched pixels
and shape errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from fsutils.blend import (DEFAULT_MODE, MODES, BlendParams, blend_weight, boundary_band, compose,
                           feather_mask, feathered_blend, garment_probability, guided_filter,
                           hard_paste, poisson_blend, refine_mask, saliency_blend, seam_score,
                           soft_mask)


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


# --------------------------------------------------------------------------- blend weights, modes


def _step_guide(h: int = 32, w: int = 48, edge: int = 24) -> np.ndarray:
    """A photo with one vertical edge at column ``edge``: dark left, light right (+ faint noise)."""
    g = np.full((h, w, 3), 0.2, np.float32)
    g[:, edge:] = (0.8, 0.7, 0.6)
    g += np.random.default_rng(3).normal(0, 0.003, g.shape).astype(np.float32)
    return g


def test_guided_filter_keeps_a_step_the_guide_has_and_softens_one_it_does_not():
    guide = _step_guide()
    on_edge = np.zeros(guide.shape[:2], np.float32)
    on_edge[:, 24:] = 1.0            # the mask's edge is the photo's edge
    off_edge = np.zeros_like(on_edge)
    off_edge[:, 10:] = 1.0           # an edge where the photo is flat
    r, eps = 4, 1e-3
    kept = guided_filter(guide, on_edge, r, eps)
    softened = guided_filter(guide, off_edge, r, eps)
    row = 16
    # Kept: still a jump of almost 1 between two neighbouring pixels, flat on both sides.
    assert kept[row, 24] - kept[row, 23] > 0.9
    np.testing.assert_allclose(kept[:, :20], 0, atol=0.02)
    np.testing.assert_allclose(kept[:, 28:], 1, atol=0.02)
    # Softened: where the guide is flat the filter is a double box blur (ramp over 4r+1 px).
    steps = np.diff(softened[row, 2:20])
    assert steps.max() < 0.2 and softened[row, 10 - 2 * r] < 0.02 and softened[row, 10 + 2 * r] > 0.98
    ramp = cv2.blur(cv2.blur(off_edge, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT),
                    (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(softened[:, :20], ramp[:, :20], atol=0.01)
    # A grey guide gives the same answer on this picture.
    grey = guided_filter(guide.mean(axis=2), on_edge, r, eps)
    assert grey[row, 24] - grey[row, 23] > 0.9


def test_guided_filter_of_a_constant_is_that_constant_and_bad_arguments_are_refused():
    guide = np.random.default_rng(0).random((20, 30, 3), dtype=np.float32)
    np.testing.assert_allclose(guided_filter(guide, np.full((20, 30), 0.3, np.float32), 3, 1e-2),
                               0.3, atol=1e-5)
    with pytest.raises(ValueError, match="radius"):
        guided_filter(guide, np.zeros((20, 30)), 0, 1e-3)
    with pytest.raises(ValueError, match="eps"):
        guided_filter(guide, np.zeros((20, 30)), 2, 0.0)
    with pytest.raises(ValueError, match=r"src has shape \(20, 29\)"):
        guided_filter(guide, np.zeros((20, 29)), 2, 1e-3)


def test_refine_mask_snaps_a_misplaced_mask_edge_to_the_photo_edge():
    guide = _step_guide()            # the photo's edge is at column 24
    for edge in (22, 26):            # the segmenter's edge 2 px too far left, or too far right
        mask = np.zeros(guide.shape[:2], bool)
        mask[:, edge:] = True
        refined = refine_mask(guide, mask, radius=8, eps=1e-4)
        assert refined.dtype == np.float32 and 0 <= refined.min() and refined.max() <= 1
        # The edge is now the photo's, and still sharp.
        np.testing.assert_allclose(refined[:, :24], 0, atol=0.05)
        np.testing.assert_allclose(refined[:, 24:], 1, atol=0.05)
    # A misplacement of half the radius is pulled most of the way: the wrongly included columns
    # end up mostly background.
    mask = np.zeros(guide.shape[:2], bool)
    mask[:, 20:] = True
    assert refine_mask(guide, mask, radius=8, eps=1e-4)[:, 20:24].mean() < 0.5
    # Without the ramp (sharpness 1) it is the guided filter itself.
    np.testing.assert_allclose(refine_mask(guide, mask, 6, 1e-4, sharpness=1),
                               np.clip(guided_filter(guide, mask, 6, 1e-4), 0, 1), atol=1e-6)
    with pytest.raises(ValueError, match="sharpness"):
        refine_mask(guide, mask, sharpness=0)


def test_garment_probability_sums_the_chosen_classes_and_soft_mask_multiplies_saliency():
    rng = np.random.default_rng(2)
    logits = rng.random((4, 5, 6)).astype(np.float32)
    proba = logits / logits.sum(0)
    p = garment_probability(proba, [1, 3])
    np.testing.assert_allclose(p, proba[1] + proba[3], atol=1e-6)
    np.testing.assert_allclose(garment_probability(proba, (0, 1, 2, 3)), 1, atol=1e-6)
    sal = rng.random((5, 6)).astype(np.float32)
    np.testing.assert_allclose(soft_mask(p), p)
    np.testing.assert_allclose(soft_mask(p, sal, strength=2.0), p * np.clip(2 * sal, 0, 1), atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        garment_probability(proba, [4])
    with pytest.raises(ValueError, match="K×H×W"):
        garment_probability(proba[0], [1])
    with pytest.raises(ValueError, match="garment_probability"):
        soft_mask(proba)


def test_poisson_leaves_pixels_outside_the_mask_unchanged_and_keeps_the_style_gradients():
    rng = np.random.default_rng(4)
    h, w = 40, 50
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c = np.stack([0.3 + 0.004 * xx, 0.4 + 0.003 * yy, 0.5 + 0 * xx], -1).astype(np.float32)
    c += rng.normal(0, 0.02, c.shape).astype(np.float32)
    c = np.clip(c, 0, 1)
    mask = np.zeros((h, w), bool)
    mask[8:30, 12:44] = True
    mask[25:, 30:44] = True          # touches the bottom of the frame
    # A stylised image that is the photo plus a constant: its gradients are the photo's, so the
    # Poisson solution inside the mask is the photo again (the constant is absorbed at the seam).
    out = poisson_blend(c, (c + 0.25).clip(0, 1), mask)
    assert np.array_equal(out[~mask], c[~mask])
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert np.abs(out[inner] - c[inner]).mean() < 0.02      # the offset is gone …
    # … while a hard paste would have kept it.
    assert np.abs(hard_paste(c, (c + 0.25).clip(0, 1), mask)[inner] - c[inner]).mean() > 0.2
    # A textured stylised image: its texture (gradients) arrives in place, not shifted.
    s = rng.random((h, w, 3), dtype=np.float32)
    out = poisson_blend(c, s, mask)
    assert np.array_equal(out[~mask], c[~mask])
    core = (slice(12, 26), slice(16, 40))
    gx_out = np.diff(out[core], axis=1)
    gx_s = np.diff(s[core], axis=1)
    assert np.corrcoef(gx_out.ravel(), gx_s.ravel())[0, 1] > 0.95
    # No mask: the photo.
    assert np.array_equal(poisson_blend(c, s, np.zeros((h, w), bool)), c)


def test_blend_params_refuse_bad_values_and_know_what_each_mode_reads():
    assert BlendParams().mode == DEFAULT_MODE in MODES
    assert BlendParams("feathered", width=4).used == (("width", 4),)
    assert BlendParams("hard", width=4).used == ()
    assert BlendParams("guided").replace(radius=3).radius == 3
    for bad in (dict(mode="glue"), dict(strength=-1), dict(width=float("nan")), dict(eps=0),
                dict(radius=0), dict(radius=2.5), dict(strength=float("inf")), dict(width=1e308),
                dict(eps=float("inf")), dict(radius=99999999999)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            BlendParams(**bad)


def test_compose_is_the_weight_formula_for_every_weight_mode_and_eq2_unchanged(scene):
    c, s, sal, mask = scene
    proba = np.where(mask, 0.9, 0.2).astype(np.float32)
    for mode in MODES:
        params = BlendParams(mode, strength=0.8, width=1.5, radius=1)
        out = compose(params, c, s, mask, probability=proba, saliency=sal)
        assert out.shape == c.shape and out.dtype == np.float32
        if mode == "poisson":
            assert np.array_equal(out[~mask], c[~mask])
            with pytest.raises(ValueError, match="no weight map"):
                blend_weight(params, c, mask)
            continue
        wgt = blend_weight(params, c, mask, probability=proba, saliency=sal)
        np.testing.assert_allclose(out, c + wgt[..., None] * (s - c), atol=1e-6)
    np.testing.assert_array_equal(compose(BlendParams("saliency", strength=0.8), c, s, mask,
                                          saliency=sal), saliency_blend(c, s, sal, mask, 0.8))
    with pytest.raises(ValueError, match="needs the probability"):
        compose(BlendParams("soft"), c, s, mask)


def test_guided_filter_matches_the_papers_algorithm_in_double_precision():
    """Algorithm 1 of He et al. written the slow way (float64, np.linalg.solve per pixel)."""
    rng = np.random.default_rng(5)
    guide = cv2.GaussianBlur(rng.random((24, 30, 3)), (0, 0), 1.5).astype(np.float32)
    src = (rng.random((24, 30)) > 0.5).astype(np.float32)
    r, eps = 3, 1e-3
    box = lambda x: cv2.boxFilter(x, cv2.CV_64F, (2 * r + 1,) * 2, borderType=cv2.BORDER_REFLECT)
    g, p = guide.astype(np.float64), src.astype(np.float64)
    mean_i, mean_p = box(g), box(p)
    cov = box(g * p[..., None]) - mean_i * mean_p[..., None]
    sigma = np.empty(g.shape[:2] + (3, 3))
    for i in range(3):
        for j in range(3):
            sigma[..., i, j] = box(g[..., i] * g[..., j]) - mean_i[..., i] * mean_i[..., j]
    a = np.linalg.solve(sigma + eps * np.eye(3), cov[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(-1)
    expect = (box(a) * g).sum(-1) + box(b)
    np.testing.assert_allclose(guided_filter(guide, src, r, eps), expect, atol=1e-4)

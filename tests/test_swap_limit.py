"""The swap stays on the garment: α is limited to the person's garment and a margin, the edge is
feathered, and the background, skin and hair of a hand-made person keep their pixels."""
import numpy as np
import pytest
import torch

from fsutils.models.cagan import SwapOutput, compose
from fsutils.swap.garment import alpha_limit, swap_garment, swap_parts

BACKGROUND, SKIN, HAIR, TOP = (40, 120, 200), (225, 180, 150), (60, 40, 20), (200, 30, 30)


class PaintEverything(torch.nn.Module):
    """A generator that smears pink over the whole crop (α = 1 everywhere)."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x_i, y_i, y_j):
        alpha = torch.ones_like(x_i[:, :1])
        x_tilde = torch.tensor([1.0, -0.4, 0.6]).view(1, 3, 1, 1).expand_as(x_i)
        return SwapOutput(compose(alpha, x_tilde, x_i), alpha, x_tilde)


def _person():
    """240×160: flat background, hair and face, a skin torso and arms, a red top on it."""
    photo = np.empty((240, 160, 3), np.uint8)
    photo[:] = BACKGROUND
    body = np.zeros((240, 160), bool)
    photo[5:25, 60:100] = HAIR
    photo[25:50, 62:98] = SKIN
    body[5:50, 60:100] = True
    photo[50:215, 25:135] = SKIN
    body[50:215, 25:135] = True
    top = np.zeros((240, 160), bool)
    top[70:150, 45:115] = True
    photo[top] = TOP
    return photo, top, body


def _article():
    art = np.full((120, 90, 3), 255, np.uint8)
    art[15:105, 10:80] = (30, 160, 60)
    return art


def test_after_a_swap_the_flat_background_is_unchanged():
    photo, top, body = _person()
    result = np.asarray(swap_garment(photo, _article(), weights=PaintEverything(),
                                     garment_mask=top, device="cpu")).astype(int)
    diff = np.abs(result - photo).max(-1)
    assert diff[~body].max() <= 2  # the background, within 2/255
    assert diff[5:50].max() <= 2  # the hair and the face above the neckline
    assert diff[top].mean() > 100  # and the top did change
    unlimited = np.asarray(swap_garment(photo, _article(), weights=PaintEverything(),
                                        garment_mask=top, device="cpu", garment_margin=None))
    assert np.abs(unlimited.astype(int) - photo).max(-1)[~body].max() > 50  # what the limit stops


def test_the_limit_lets_a_longer_or_wider_article_show_and_feathers_its_edge():
    mask = np.zeros((128, 96), bool)
    mask[40:90, 20:70] = True  # a 50-px garment: margin 10 px, 3 above; feather 2.5 px
    lim = alpha_limit(mask, margin=0.2, feather=0.05)
    assert lim.dtype == np.float32 and lim[mask].min() == 1
    assert lim[99, 45] == 1 and lim[40 - 3, 45] == 1 and lim[60, 10] == 1 and lim[60, 79] == 1
    assert lim[40 - 6, 45] == 0 and lim[103, 45] == 0 and lim[60, 6] == 0
    ramp = lim[100:104, 45]
    assert 0 < ramp[1] < 1 and np.all(np.diff(ramp) <= 0)  # a soft edge, falling outward
    assert (alpha_limit(mask, margin=0.0, feather=0.05) > 0).sum() < (lim > 0).sum()
    assert not alpha_limit(np.zeros((8, 8), bool)).any()


def test_the_parts_keep_the_generators_alpha_and_the_limit():
    photo, top, _ = _person()
    p = swap_parts(photo, _article(), weights=PaintEverything(), garment_mask=top, device="cpu")
    assert p["alpha_raw"].min() == 1  # the generator's own α
    assert np.allclose(p["alpha"], p["limit"]) and p["limit"].min() == 0
    x_i = p["x_i"].astype(np.float32) / 255
    assert np.allclose(p["swap"][p["limit"] == 0], x_i[p["limit"] == 0])


def test_a_negative_margin_is_refused_before_any_work():
    with pytest.raises(ValueError, match="garment_margin must be ≥ 0"):
        swap_parts(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8),
                   weights="no such generator", garment_margin=-0.1)


def test_cross_swaps_of_the_samples_have_figures_and_refusals():
    from fsutils.swap import viz
    from fsutils.swap.data import UPPER
    from fsutils.swap.samples import sample_person

    def by_annotation(photo):  # the "cloth model" finds exactly the annotated top of ccp_0500
        top = sample_person("ccp_0500")[1]
        return (top * UPPER).astype(np.uint8) if top.shape == photo.shape[:2] else \
            np.zeros(photo.shape[:2], np.uint8)

    swaps = viz.cross_swaps([("ccp_0500", "ccp_0001"), ("ccp_0001", "ccp_0500")],
                            weights=PaintEverything(), segmenter=by_annotation,
                            detector=lambda photo: [], device="cpu")
    done, refused = swaps
    assert done.refused is None and set(done.figures) == {"spill", "colour_moved", "coverage",
                                                          "sharpness"}
    assert done.figures["spill"] < 0.2 and done.figures["coverage"] > 0.5  # pink on the top only
    assert refused.result is None and "no upper-body garment" in refused.refused
    changes = viz.change_map(done)
    assert (np.abs(changes - (0.1, 0.75, 0.2)).max(-1) < 1e-6).sum() > 0.5 * done.garment.sum()
    fig = viz.show_cross_swaps(swaps)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("spill ") for t in titles) and any(t.startswith("refused: ") for t in titles)

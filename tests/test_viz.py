"""fsutils.viz: figures are built headless, boxes land on the garment edge."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from fsutils import viz  # noqa: E402
from fsutils.blend import boundary_band, hard_paste, saliency_blend  # noqa: E402


@pytest.fixture
def scene():
    h, w = 120, 160
    rng = np.random.default_rng(0)
    photo = np.full((h, w, 3), 0.6, np.float32)
    stylized = rng.random((h, w, 3), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    mask = ((xx - 80) / 40.0) ** 2 + ((yy - 60) / 35.0) ** 2 < 1
    saliency = np.clip(1 - np.hypot(xx - 80, yy - 60) / 50, 0, 1).astype(np.float32)
    hard = hard_paste(photo, stylized, mask)
    blended = saliency_blend(photo, stylized, saliency, mask)
    return photo, stylized, mask, saliency, hard, blended


def _rendered(fig: Figure) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def test_panels_returns_a_figure_with_titles(scene):
    photo, stylized, mask, saliency, *_ = scene
    fig = viz.panels([photo, Image.fromarray((stylized * 255).astype(np.uint8)), mask, saliency],
                     ["a", "b", "c", "d"], cols=2, boxes=[None, (0, 0, 10, 10), None, None])
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["a", "b", "c", "d"]
    assert _rendered(fig).std() > 0
    with pytest.raises(ValueError, match="2 titles for 4 images"):
        viz.panels([photo] * 4, ["a", "b"])
    with pytest.raises(ValueError, match="shape"):
        viz.panels([np.zeros((4, 4, 5))])


def test_boundary_box_sits_on_the_garment_edge(scene):
    _, _, mask, *_ = scene
    box = viz.boundary_box(mask, size=40)
    assert box.width == box.height == 40
    assert 0 <= box.x0 and box.x1 <= mask.shape[1] and 0 <= box.y0 and box.y1 <= mask.shape[0]
    inside = mask[box.y0:box.y1, box.x0:box.x1]
    # Both garment and background in the crop, in even proportion, and the edge passes its centre.
    assert 0.35 < inside.mean() < 0.65
    band = boundary_band(mask, 2)
    cy, cx = (box.y0 + box.y1) // 2, (box.x0 + box.x1) // 2
    assert band[cy - 2:cy + 3, cx - 2:cx + 3].any()


def test_boundary_box_weight_chooses_among_equally_good_edges():
    mask = np.zeros((60, 200), bool)
    mask[:, 50:150] = True  # two straight edges, at x = 50 and x = 150
    weight = np.zeros(mask.shape)
    weight[:, 140:160] = 1.0
    box = viz.boundary_box(mask, size=30, weight=weight)
    assert box.x0 < 150 < box.x1
    weight = weight[:, ::-1]
    box = viz.boundary_box(mask, size=30, weight=weight)
    assert box.x0 < 50 < box.x1
    with pytest.raises(ValueError, match="weight"):
        viz.boundary_box(mask, 30, weight=weight[:10])


def test_boundary_box_clips_to_the_image_and_rejects_no_boundary():
    mask = np.zeros((30, 50), bool)
    mask[:, :3] = True  # an edge right at the left border
    box = viz.boundary_box(mask, size=20)
    assert box.x0 == 0 and box.width == 20 and mask[box.y0:box.y1, box.x0:box.x1].any()
    small = viz.boundary_box(mask, size=500)  # larger than the image: shrinks to fit
    assert small.width == small.height == 30
    with pytest.raises(ValueError, match="no boundary"):
        viz.boundary_box(np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="no boundary"):
        viz.boundary_box(np.ones((10, 10), bool))


def test_crop_and_zoom():
    img = np.arange(5 * 6 * 3, dtype=np.float32).reshape(5, 6, 3)
    c = viz.crop(img, (1, 2, 4, 5))
    np.testing.assert_array_equal(c, img[2:5, 1:4])
    z = viz.zoom(img, (1, 2, 4, 5), scale=3)
    assert z.shape == (9, 9, 3)
    np.testing.assert_array_equal(z[::3, ::3], c)
    with pytest.raises(ValueError, match="inside the 6×5 image"):
        viz.crop(img, (0, 0, 7, 2))


def test_boundary_closeup_shows_the_same_crop_with_seam_scores(scene):
    *_, mask, _, hard, blended = scene
    fig = viz.boundary_closeup(hard, blended, mask=mask, size=40)
    assert isinstance(fig, Figure)
    images = [ax.get_images()[0].get_array() for ax in fig.axes]
    box = viz.boundary_box(mask, 40, weight=np.abs(hard - blended).sum(axis=2))
    np.testing.assert_allclose(images[1], viz.crop(hard, box))
    np.testing.assert_allclose(images[2], viz.crop(blended, box))
    titles = [ax.get_title() for ax in fig.axes]
    assert "seam" in titles[1] and "seam" in titles[2]
    hard_score = float(titles[1].split("seam ")[1])
    blend_score = float(titles[2].split("seam ")[1])
    assert blend_score < hard_score  # the saliency blend softens the edge of this scene
    # A box given explicitly, no overview, no mask → plain titles.
    fig2 = viz.boundary_closeup(hard, blended, (10, 10, 50, 40), overview=False)
    assert len(fig2.axes) == 2 and fig2.axes[0].get_title() == "hard paste"
    with pytest.raises(ValueError, match="give a box"):
        viz.boundary_closeup(hard, blended)


def test_comparison_figure_writes_a_png(scene, tmp_path):
    photo, stylized, mask, saliency, hard, blended = scene
    fig = viz.comparison_figure(photo, stylized, hard, blended, mask, saliency=saliency)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:6] == ["photo", "garment mask", "saliency", "stylised", "hard paste",
                          "saliency blend"]
    assert titles[6].startswith("close-up: hard paste") and "seam" in titles[6]
    path = tmp_path / "cmp.png"
    fig.savefig(path, dpi=60)
    with Image.open(path) as im:
        assert im.size[0] > im.size[1] > 50
    # Positional call as the pipeline makes it, and a mask without any garment.
    empty = np.zeros(mask.shape, bool)
    fig = viz.comparison_figure(photo, stylized, photo, photo, empty)
    assert "no close-up" in fig.axes[-1].texts[0].get_text()
    with pytest.raises(ValueError, match="photo is"):
        viz.comparison_figure(photo, stylized[:10], hard, blended, mask)


def test_segmentation_figure_has_a_legend(scene):
    photo, _, mask, *_ = scene
    labels = mask.astype(np.uint8) * 3
    fig = viz.segmentation_figure(photo, labels)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["0 background", "1 upper body", "2 lower body", "3 full body"]


def test_difference_box_sits_on_the_edge_where_the_images_differ_most():
    from fsutils.viz import difference_box, modes_closeup

    a = np.zeros((60, 80, 3), np.float32)
    b = a.copy()
    b[40:50, 60:70] = 1.0            # the two results differ only here
    edge = np.zeros((60, 80), bool)
    edge[10, 10] = edge[45, 64] = edge[20, 40] = True
    box = difference_box([a, b], edge, size=16)
    assert box == (56, 37, 72, 53)   # centred on (64, 45), the edge pixel by the difference
    assert box.x1 - box.x0 == 16
    with pytest.raises(ValueError, match="empty"):
        difference_box([a, b], np.zeros((60, 80), bool))
    truth = np.zeros((60, 80), bool)
    truth[:, 64:] = True
    fig = modes_closeup({"one": a, "two": b}, box, overview=a, truth=truth,
                        notes={"two": "coverage 0.5"})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["where", "one", "two\ncoverage 0.5"]

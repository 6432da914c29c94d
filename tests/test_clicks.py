"""Pointing at garments: the points of ``garments=``, the rule that picks the garment under a
point (fsutils.clicks), the pipeline's API, and the click-by-click evaluation, on hand-made label
maps and items (no weights)."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from PIL import Image

from fsutils.clicks import NoGarmentAt, owners, pick, pick_points, to_working
from fsutils.evaluation.clicks import (Click, interior_point, score_clicks, summarize,
                                       summary_line, table_lines)
from fsutils.garments import Point, garment_names, is_point_choice, resolve_garments
from fsutils.instances import Instance, Instances
from fsutils.pipeline import Pipeline

H, W = 40, 60


def item(cls, score, mask, probability=None):
    ys, xs = np.nonzero(mask)
    box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if xs.size else (0, 0, 0, 0)
    return Instance(cls, score, box, mask, probability)


def block(y0, y1, x0, x1, shape=(H, W)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def scene():
    """A coat (rows 0-19) over a dress (rows 10-39), both in columns 10-39, a shoe at the bottom
    right; the detector's coat mask spills over the top of the dress (rows 0-24), but with a
    lower probability there than the dress's."""
    labels = np.zeros((H, W), np.uint8)
    labels[0:20, 10:40] = 3
    labels[20:40, 10:40] = 3
    coat_p = block(0, 25, 10, 40).astype(np.uint8) * 230
    coat_p[20:25] = 140                                  # the spill: a weaker coat
    dress_p = block(18, 40, 10, 40).astype(np.uint8) * 240
    shoe = block(34, 40, 50, 58)
    items = Instances([item("outer", 0.95, coat_p >= 128, coat_p),
                       item("dress", 0.9, dress_p >= 128, dress_p),
                       item("shoe", 0.8, shoe)])
    return labels, items


def test_points_resolve_sorted_once_and_refuse_a_mix():
    assert resolve_garments([(30, 5), (3, 4.5), (30, 5)]) == (Point(3, 4.5), Point(30, 5))
    assert is_point_choice((Point(1, 2),)) and not is_point_choice(("outer",))
    assert not is_point_choice((1, 3))
    assert resolve_garments((1, 3)) == (1, 3)                      # still label indices
    assert garment_names((Point(210, 340),), ()) == ["garment at (210, 340)"]
    with pytest.raises(ValueError, match="mix points and classes"):
        resolve_garments([(1, 2), "upper"])
    with pytest.raises(ValueError, match="not a pixel"):
        resolve_garments([(float("nan"), 2)])


def test_a_click_picks_the_item_under_it_without_the_spill():
    labels, items = scene()
    own = owners(labels, items)
    coat, dress = pick(labels, own, 25, 5), pick(labels, own, 25, 30)
    assert (coat == block(0, 20, 10, 40)).all()          # the spill went to the dress
    assert (dress == block(20, 40, 10, 40)).all()
    assert (pick(labels, own, 54, 37) == block(34, 40, 50, 58)).all()   # a shoe: its own pixels
    assert pick(labels, own, 2, 2) is None                # background: nothing


def test_without_an_item_the_cloth_models_piece_under_the_click():
    labels = np.zeros((H, W), np.uint8)
    labels[5:15, 5:15] = 1
    labels[5:15, 30:40] = 1                               # same class, another piece
    own = owners(labels, [])
    assert (pick(labels, own, 8, 8) == block(5, 15, 5, 15)).all()


def test_several_points_are_the_union_and_a_point_on_nothing_raises():
    labels, items = scene()
    own = owners(labels, items)
    both = pick_points(labels, own, [Point(25, 5), Point(54, 37)])
    assert (both == block(0, 20, 10, 40) | block(34, 40, 50, 58)).all()
    with pytest.raises(NoGarmentAt, match=r"^no garment at \(2, 3\)"):
        pick_points(labels, own, [Point(25, 5), Point(2, 3)])
    # points of the photo as given (twice the size) land on the working photo's pixels
    assert to_working(Point(50, 10), (120, 80), (60, 40)) == (25, 5)
    assert (pick_points(labels, own, [Point(50, 10)], (120, 80)) == block(0, 20, 10, 40)).all()


def _at(arr, photo):
    return cv2.resize(arr.astype(np.uint8), photo.size, interpolation=cv2.INTER_NEAREST)


def scene_segment(photo):
    """The scene's labels at the photo's size."""
    return _at(scene()[0], photo)


def scene_items(photo):
    """The scene's items at the photo's size."""
    return Instances(item(i.cls, i.score, _at(i.mask, photo).astype(bool),
                          None if i.probability is None else _at(i.probability, photo))
                     for i in scene()[1])


class Styler:
    def __init__(self):
        self.calls = 0

    def __call__(self, content, style, *, mask=None, callback=None, progress=False, **kw):
        self.calls += 1
        return Image.fromarray(255 - np.asarray(content))


def make_pipe(photo_size=None):
    styler = Styler()
    p = Pipeline(scene_segment, lambda ph: np.ones((ph.height, ph.width), np.float32),
                 stylers={"fake": styler}, instances=scene_items, photo_size=photo_size)
    return p, styler


def photo(w=W, h=H):
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_pipeline_run_with_points_restyles_only_the_garments_pointed_at():
    p, styler = make_pipe()
    res = p.run(photo(), method="fake", blend="hard", garments=[(25, 5)])
    coat = block(0, 20, 10, 40)
    assert res.garments == (Point(25, 5),) and (res.mask == coat).all()
    assert np.allclose(res.output[coat], res.stylized[coat])
    assert np.allclose(res.output[~coat], res.content[~coat])
    assert list(res.garment_masks) == ["at_25_5"]
    again = p.run(method="fake", blend="hard", garments=[(25, 5), (54, 37)])
    assert (again.mask == coat | block(34, 40, 50, 58)).all() and styler.calls == 1
    assert p.computed["instances"] == 1 and p.computed["segment"] == 1


def test_pipeline_points_are_in_the_photo_as_given():
    p, _ = make_pipe(photo_size=W)                        # a photo twice as large, halved
    res = p.run(photo(2 * W, 2 * H), method="fake", blend="hard", garments=[(50, 10)])
    assert res.mask.shape == (H, W) and (res.mask == block(0, 20, 10, 40)).all()  # the coat
    with pytest.raises(ValueError, match="outside the photo"):
        p.mask([(2 * W, 0)])


def test_pipeline_refuses_points_outside_and_on_no_garment_before_the_style():
    p, styler = make_pipe()
    with pytest.raises(ValueError, match=r"the point \(60, 5\) is outside the photo \(60×40 px\)"):
        p.run(photo(), method="fake", garments=[(60, 5)])
    assert p.computed["segment"] == 0 and styler.calls == 0
    with pytest.raises(NoGarmentAt, match=r"no garment at \(2, 3\)"):
        p.run(method="fake", garments=[(2, 3)])
    assert styler.calls == 0


def test_interior_point_is_farthest_from_the_edge():
    assert interior_point(block(10, 30, 5, 25)) in {(14, 19), (14, 20), (15, 19), (15, 20)}
    assert interior_point(block(10, 30, 0, 20)) in {(9, 19), (9, 20), (10, 19), (10, 20)}  # the
    # photo's border is an edge too
    ring = block(0, 40, 0, 60) & ~block(10, 30, 10, 50)   # a frame: its widest part
    x, y = interior_point(ring)
    assert ring[y, x]
    with pytest.raises(ValueError, match="empty"):
        interior_point(np.zeros((4, 4), bool))


def test_score_clicks_one_click_per_annotated_garment():
    labels, items = scene()
    truths = [item("outer", 1.0, block(0, 20, 10, 40)), item("dress", 1.0, block(20, 40, 10, 40)),
              item("shoe", 1.0, block(34, 40, 50, 58)),       # not a garment: no click
              item("pants", 1.0, block(0, 10, 45, 60))]       # nothing there: IoU 0
    clicks = score_clicks("0001", labels, items, truths)
    assert [c.cls for c in clicks] == ["outer", "dress", "pants"]
    assert [round(c.iou, 3) for c in clicks] == [1.0, 1.0, 0.0]
    s = summarize(clicks)
    assert s["all"]["clicks"] == 3 and s["all"]["iou50"] == pytest.approx(2 / 3)
    assert s["top"]["clicks"] == 0 and np.isnan(s["top"]["iou50"])


def test_the_last_line_is_exactly_the_contract():
    clicks = [Click("1", "top", 0, 0, v) for v in (0.2, 0.6, 0.8, 0.9)]
    assert summary_line(clicks) == "click_iou50=0.7500 click_iou75=0.5000 click_iou_median=0.7000"
    lines = table_lines({"weights": "w", "instance_weights": "i", "split": "val", "images": 1,
                         "clicks": clicks})
    assert lines[-1] == summary_line(clicks)
    assert "| top | 4 | 75.0 % | 50.0 % | 0.700 |" in lines


def test_evaluate_clicks_on_a_ccp_folder_prints_the_table_and_the_last_line(tmp_path, monkeypatch,
                                                                             capsys):
    from fsutils import data
    from fsutils.evaluate import main
    from fsutils.evaluation import choice
    from tests.ccp_fixture import CCP_LABELS, person_groundtruth, write_ccp

    gt = person_groundtruth(100, 60, "blouse", "skirt")
    root = write_ccp(tmp_path, {"0001": gt, "0002": person_groundtruth(100, 60, "dress", None)})
    labels = data.label_lookup(CCP_LABELS)[gt]            # upper and lower body, as annotated

    class Models:  # sees the blouse and the skirt of 0001 in every photo, and no item
        def __init__(self, *args):
            self.weights, self.instance_weights = "fake", "fake detector"

        def predict(self, photo):
            return labels, Instances([])

    monkeypatch.setattr(choice, "GarmentModels", Models)
    assert main(["clicks", "--ccp-root", str(root), "--split", "all", "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    # 0001: the blouse and the skirt found exactly; 0002: the click on the dress gets the blouse
    # or the skirt piece, each half of the dress (IoU 0.5)
    assert "| top | 1 | 100.0 % | 100.0 % | 1.000 |" in out
    assert "| dress | 1 | 100.0 % | 0.0 % | 0.500 |" in out
    assert re.search(r"split=all images=2 clicks=3 ", out[0])
    assert out[-1] == "click_iou50=1.0000 click_iou75=0.6667 click_iou_median=1.0000"


def test_a_click_on_a_panels_picture_adds_and_drops_the_garment_under_it():
    from fsutils.widgets import BlendPanel, GarmentPicker, SegmentationExplorer
    from fsutils.widgets.drawing import DISPLAY_HEIGHT, TITLE_HEIGHT

    p, _ = make_pipe()
    p.set_image(photo())
    p.stylize("fake")
    picker = GarmentPicker(("background", "upper body", "lower body", "full body"))
    seg = SegmentationExplorer(p, garments=picker)
    blend = BlendPanel(p, garments=picker, style={"method": "fake"})
    scale = DISPLAY_HEIGHT / H
    seg.picture.click = [25 * scale, TITLE_HEIGHT + 5 * scale, 1]          # on the coat
    assert picker.garments == (Point(25, 5),) and "pointed at: (25, 5)" in picker.pointed.value
    assert (p.mask(picker.garments) == block(0, 20, 10, 40)).all()
    coat = np.asarray(blend.last_image)[: DISPLAY_HEIGHT, : round(W * scale)]
    assert (np.abs(coat.astype(int) - (255, 220, 0)).sum(-1) < 60).sum() > 50  # outlined
    s = blend.last_image.height / H                                       # the blend's own scale
    blend.picture.click = [54 * s, 37 * s, 1]                              # add the shoe
    assert picker.garments == (Point(25, 5), Point(54, 37))
    blend.picture.click = [30 * s, 10 * s, 2]                              # the coat again: drop
    assert picker.garments == (Point(54, 37),)
    seg.picture.click = [2 * scale, TITLE_HEIGHT + 2 * scale, 2]           # the background
    assert picker.garments == (Point(54, 37),)
    assert "no garment at (2, 2)" in seg.out.outputs[0]["text"]
    picker.boxes[1].value = not picker.boxes[1].value                      # a class: no points
    assert picker.points == () and "pointed" not in picker.pointed.value

"""Cut-out baselines: GrabCut against a known foreground, the automatic rectangle, and the
``python -m fsutils.evaluate cutout`` command on a tiny CCP folder."""
from __future__ import annotations

import re

import numpy as np
import pytest

from fsutils import baselines, data, evaluate
from tests.ccp_fixture import person_groundtruth, write_ccp


def synthetic_photo(h: int = 160, w: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy orange ellipse on a noisy blue-green background: (uint8 photo, true foreground)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    fg = ((yy - h * 0.55) / (h * 0.35)) ** 2 + ((xx - w * 0.5) / (w * 0.3)) ** 2 <= 1
    img = np.where(fg[..., None], [220, 120, 40], [40, 110, 160]).astype(np.float64)
    img += rng.normal(0, 25, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), fg


def test_grabcut_finds_a_known_foreground_from_its_box():
    img, fg = synthetic_photo()
    rect = baselines.expand_box(baselines.mask_box(fg), fg.shape, 0.1)
    mask = baselines.grabcut_mask(img, rect)
    assert mask.dtype == bool and mask.shape == fg.shape
    assert baselines.iou(mask, fg) >= 0.9
    # outside the rectangle is background by definition
    x, y, w, h = rect
    outside = np.ones_like(fg)
    outside[y:y + h, x:x + w] = False
    assert not mask[outside].any()


def test_grabcut_without_a_rectangle_uses_the_saliency_box():
    img, fg = synthetic_photo(seed=1)
    saliency_map = fg.astype(np.float32) * 0.9  # a perfect saliency map
    rect = baselines.auto_rect(img, saliency_map)
    x, y, w, h = rect
    bx, by, bw, bh = baselines.mask_box(fg)
    assert x < bx and y < by and x + w > bx + bw and y + h > by + bh  # grown by the margin
    assert w <= round(bw * (1 + baselines.BOX_MARGIN)) + 2
    auto = baselines.grabcut_mask(img, saliency_map=saliency_map)
    assert np.array_equal(auto, baselines.grabcut_mask(img, rect))  # seeded: reproducible
    assert baselines.iou(auto, fg) >= 0.9


def test_expand_box_stays_inside_the_photo():
    assert baselines.expand_box((0, 0, 100, 50), (50, 100), 0.05) == (1, 1, 98, 48)
    assert baselines.expand_box((40, 20, 20, 10), (100, 100), 0.1) == (39, 19, 22, 12)


@pytest.mark.parametrize("rect, words", [((0, 0, 120, 160), "whole photo"),
                                         ((10, 10, 200, 20), "not inside"),
                                         ((1, 2, 3), "four integers")])
def test_bad_rectangles_are_refused(rect, words):
    img, _ = synthetic_photo()
    with pytest.raises(ValueError, match=words):
        baselines.grabcut_mask(img, rect)


def test_an_empty_saliency_map_asks_for_a_rectangle():
    img, fg = synthetic_photo()
    with pytest.raises(ValueError, match="rect="):
        baselines.grabcut_mask(img, saliency_map=np.zeros(fg.shape, np.float32))


def test_iou_and_the_ccp_targets():
    gt = person_groundtruth(40, 20, "t-shirt", "skirt")
    from tests.ccp_fixture import CCP_LABELS
    lookup = data.label_lookup(CCP_LABELS)
    person, clothes = baselines.person_mask(gt), baselines.clothes_mask(gt, lookup)
    assert person.sum() == (gt != 0).sum() and clothes.sum() < person.sum()
    assert not clothes[: 4].any()  # hair is person, not clothes
    assert baselines.iou(person, person) == 1.0
    assert baselines.iou(clothes, person) == pytest.approx(clothes.sum() / person.sum())


def _ids(n: int) -> tuple[list[str], list[str]]:
    """``n`` validation ids and ``n`` training ids."""
    train, val = data.split_ids([f"{i:04d}" for i in range(1, 200)])
    return val[:n], train[:n]


@pytest.mark.slow
def test_cutout_command_prints_the_table_and_the_contract_last_line(tmp_path, capsys):
    ids, others = _ids(2)
    root = write_ccp(tmp_path / "ccp", {i: person_groundtruth(96, 64, "t-shirt", "jeans") for i in ids}
                     | {i: person_groundtruth(96, 64, "dress", None) for i in others})
    assert evaluate.main(["cutout", "--ccp-root", str(root), "--split", "val", "--no-progress"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith(f"split=val images={len(ids)} ")
    for method in baselines.METHODS:
        row = next(line for line in out if line.startswith(f"| {method} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(0.0 <= float(v) <= 1.0 for v in cells[2:4]) and float(cells[4]) >= 0
    m = re.fullmatch(r"iou_person_saliency=(\d\.\d{4}) iou_person_grabcut_box=(\d\.\d{4})", out[-1])
    assert m, out[-1]
    # the photos are flat colours per label: GrabCut from the true box must find the person
    assert float(m.group(2)) > 0.8


def test_cutout_command_refuses_bad_arguments_before_loading_models(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        evaluate.main(["cutout", "--ccp-root", str(tmp_path), "--max-images", "0"])
    assert e.value.code == 2 and "--max-images" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="not a folder"):
        evaluate.main(["cutout", "--ccp-root", str(tmp_path / "missing")])

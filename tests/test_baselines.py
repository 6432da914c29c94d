"""Cut-out baselines: GrabCut against a known foreground, the automatic rectangle, and the
``python -m fsutils.evaluate cutout`` command on a tiny CCP folder."""
from __future__ import annotations

import re

import numpy as np
import pytest

from fsutils import data, evaluate
from fsutils.evaluation import cutout as baselines
from tests.ccp_fixture import ccp_index, person_groundtruth, write_ccp


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
    x0, y0, x1, y1 = rect
    outside = np.ones_like(fg)
    outside[y0:y1, x0:x1] = False
    assert not mask[outside].any()


def test_grabcut_without_a_rectangle_uses_the_saliency_box():
    img, fg = synthetic_photo(seed=1)
    saliency_map = fg.astype(np.float32) * 0.9  # a perfect saliency map
    rect = baselines.auto_rect(img, saliency_map)
    x0, y0, x1, y1 = rect
    bx0, by0, bx1, by1 = baselines.mask_box(fg)
    assert x0 < bx0 and y0 < by0 and x1 > bx1 and y1 > by1  # grown by the margin
    assert x1 - x0 <= round((bx1 - bx0) * (1 + baselines.BOX_MARGIN)) + 2
    auto = baselines.grabcut_mask(img, saliency_map=saliency_map)
    assert np.array_equal(auto, baselines.grabcut_mask(img, rect))  # seeded: reproducible
    assert baselines.iou(auto, fg) >= 0.9


def test_expand_box_stays_inside_the_photo():
    assert baselines.expand_box((0, 0, 100, 50), (50, 100), 0.05) == (1, 1, 99, 49)
    assert baselines.expand_box((40, 20, 60, 30), (100, 100), 0.1) == (39, 19, 61, 31)
    assert baselines.mask_box(np.eye(5, dtype=bool)[1:4]) == (1, 0, 4, 3)
    assert baselines.mask_box(np.zeros((3, 3), bool)) is None


@pytest.mark.parametrize("rect, words", [((0, 0, 120, 160), "whole photo"),
                                         ((10, 10, 200, 20), "not inside"),
                                         ((30, 10, 20, 40), "not inside"),
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
    with pytest.raises(SystemExit) as e:
        evaluate.main(["cutout", "--ccp-root", str(tmp_path / "missing")])
    assert e.value.code == 2 and "missing is not a CCP folder: it does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_similarity_of_stylised_cutouts_on_a_bundled_photo():
    """Real models on a bundled photo (CCP 0006, person annotation from the CCP folder): the
    U-2-Net cut-out is close to the person, so its stylised version is closer to the stylised
    truth cut than the garments-only cut-out of the cloth model."""
    from fsutils import io

    try:
        root = data.locate_ccp()
    except data.CCPError:
        pytest.skip("the CCP folder is not available here")
    truth = baselines.person_mask(data.load_groundtruth(root, "0006"))
    c = baselines.compare_cutouts(io.load_image(io.sample_path("ccp_0006.jpg")), truth, "candy",
                                  photo_size=256)
    assert c.photo.shape[:2] == c.masks["truth"].shape and max(c.photo.shape[:2]) == 256
    assert set(c.scores) == set(baselines.SIMILARITY_ROWS)
    assert all(0 < v < 100 for row in c.scores.values() for v in row.values())
    assert baselines.iou(c.masks["U2-Net"], c.masks["truth"]) > 0.8
    assert c.scores["U2-Net"]["truth cut"] > c.scores["cloth model"]["truth cut"]
    lines = baselines.similarity_table([c, c])
    assert lines[2].startswith("| U2-Net | ") and f"{c.scores['U2-Net']['style']:.2f}" in lines[2]


def test_compare_cutouts_refuses_an_unknown_style_first():
    img, fg = synthetic_photo()
    with pytest.raises(ValueError, match="unknown fast style"):
        baselines.compare_cutouts(img, fg, "van-gogh")


def test_photos_without_clothes_are_left_out_of_the_clothes_iou(tmp_path):
    """A photo with nothing annotated as clothes has no clothes to cut out: it counts in the person
    column, not in the clothes column (where it would score 1 or 0 whatever the method did)."""
    from fsutils.evaluation.cutout import cutout_table, evaluate_cutout

    items = {f"{i:04d}": person_groundtruth(48, 32, "shirt", "pants") for i in range(1, 4)}
    bare = person_groundtruth(48, 32, "shirt", "pants")
    bare[np.isin(bare, [ccp_index("shirt"), ccp_index("pants")])] = ccp_index("skin")
    items["0004"] = bare
    root = write_ccp(tmp_path / "ccp", items)

    class Everything:  # cuts out every pixel: saliency 1 everywhere, every pixel upper body
        def __init__(self, kind):
            self.kind = kind

        def predict(self, img):
            return np.ones(np.asarray(img).shape[:2], self.kind)

    r = evaluate_cutout(root, "all", iters=1, saliency=Everything(np.float32),
                        segmenter=Everything(np.uint8), progress=False)
    assert r["images"] == 4 and r["scored"] == {"person": 4, "clothes": 3}
    assert 0 < r["iou"]["saliency"]["clothes"] < 1      # the bare photo would have added a 0
    assert "IoU clothes (3 photos)" in cutout_table(r)[0]

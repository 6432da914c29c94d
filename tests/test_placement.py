"""fsutils.evaluation.placement and `python -m fsutils.evaluate blend`: coverage, leakage and edge contrast on
synthetic ground truth with known values, and the command on a tiny CCP folder."""
from __future__ import annotations

import re

import numpy as np
import pytest

from fsutils import data, evaluate
from fsutils.blend import MODES, weighted_blend
from fsutils.evaluation.placement import Placement, placement, style_share
from tests.ccp_fixture import person_groundtruth, write_ccp


def _images(h: int = 10, w: int = 10):
    rng = np.random.default_rng(0)
    c = rng.random((h, w, 3), dtype=np.float32) * 0.4
    s = c + 0.5  # differs from the photo by 0.87 everywhere
    return c, s


def test_style_share_reads_the_weight_back_from_the_images():
    c, s = _images()
    wgt = np.random.default_rng(1).random(c.shape[:2], dtype=np.float32)
    share, valid = style_share(c, s, weighted_blend(c, s, wgt))
    assert valid.all()
    np.testing.assert_allclose(share, wgt, atol=1e-5)
    # Where the stylised image is the photo, nothing can be measured.
    s2 = s.copy()
    s2[0, 0] = c[0, 0] + 0.01
    share, valid = style_share(c, s2, s2)
    assert not valid[0, 0] and valid.sum() == valid.size - 1 and share[0, 0] == 0
    with pytest.raises(ValueError, match="same size"):
        style_share(c, s, s[:5])


def test_coverage_leakage_and_edge_contrast_have_the_known_values():
    truth = np.zeros((10, 10), bool)
    truth[:, :5] = True                  # the garment: the left half
    valid = np.ones((10, 10), bool)
    share = np.zeros((10, 10), np.float32)
    share[:, :5] = 1.0                   # all of the garment styled …
    share[:, 5:7] = 0.5                  # … and half the style on two columns beyond its edge
    p = placement(share, valid, truth, band=2)
    s = p.scores()
    assert s["coverage"] == pytest.approx(1.0)
    assert s["leakage"] == pytest.approx(10 / 60)        # 20 px × 0.5 of a total 50 + 10
    # The band: columns 3–4 inside, 5–6 outside.
    assert s["edge_in"] == pytest.approx(1.0) and s["edge_out"] == pytest.approx(0.5)
    assert s["edge_contrast"] == pytest.approx(0.5)
    # Half the garment missed: coverage 0.5, no leakage, the edge column pair 3–4 is styled.
    half = np.where(truth & (np.arange(10) >= 2), 1.0, 0.0).astype(np.float32)
    s = placement(half, valid, truth, band=2).scores()
    assert s["coverage"] == pytest.approx(0.6) and s["leakage"] == 0 and s["edge_contrast"] == 1


def test_no_style_and_style_everywhere_are_not_rewarded():
    truth = np.zeros((10, 10), bool)
    truth[:, :5] = True
    valid = np.ones((10, 10), bool)
    none = placement(np.zeros((10, 10)), valid, truth, 2).scores()
    assert none["coverage"] == 0 and np.isnan(none["leakage"]) and none["edge_contrast"] == 0
    everywhere = placement(np.ones((10, 10)), valid, truth, 2).scores()
    assert everywhere["coverage"] == 1 and everywhere["leakage"] == pytest.approx(0.5)
    assert everywhere["edge_contrast"] == 0


def test_placements_pool_over_photos_and_unmeasured_pixels_are_left_out():
    truth = np.zeros((4, 4), bool)
    truth[:, :2] = True
    valid = np.ones((4, 4), bool)
    valid[:, 0] = False                  # the stylised image equals the photo in column 0
    a = placement(np.ones((4, 4)), valid, truth, 1)
    b = placement(np.zeros((4, 4)), np.ones((4, 4), bool), truth, 1)
    assert a.garment_pixels == 4 and a.total == 12
    pooled = a + b
    assert pooled.garment_pixels == 12 and pooled.on_garment == 4
    assert pooled.coverage == pytest.approx(4 / 12)
    assert np.isnan(Placement().coverage)
    with pytest.raises(ValueError, match="same H×W"):
        placement(np.ones((4, 4)), valid, truth[:3], 1)


def test_blend_command_prints_one_row_per_mode(tmp_path, monkeypatch, capsys):
    items = {"0004": person_groundtruth(48, 24, "shirt", "jeans"),
             "0042": person_groundtruth(48, 24, "dress", None)}  # 0042: a validation photo
    root = write_ccp(tmp_path / "ccp", items)
    lookup = data.label_lookup(data.read_label_names(root))
    truth = {data.load_photo(root, i).tobytes(): lookup[gt] for i, gt in items.items()}
    import fsutils.pipeline as P
    import fsutils.saliency
    import fsutils.segment

    real = P.Pipeline
    devices = []

    def model(name, device=None, **options):  # no model is loaded; the device it is given is kept
        devices.append(device)

    def oracle_pipeline(*models, photo_size=None, **options):
        """The kit's pipeline with the ground truth as segmenter, flat saliency 0.8 and an
        inverting 'style' (the photos of the fixture are small: no download, no model)."""
        from PIL import Image

        seg = lambda photo: truth[photo.tobytes()]  # noqa: E731
        sal = lambda photo: np.full(photo.size[::-1], 0.8, np.float32)  # noqa: E731
        invert = lambda content, style, **kw: Image.fromarray(255 - np.asarray(content))  # noqa: E731
        return real(seg, sal, stylers={"fast": invert}, photo_size=photo_size,
                    class_names=("background", "upper body", "lower body", "full body"))

    monkeypatch.setattr(P, "Pipeline", oracle_pipeline)
    monkeypatch.setattr(fsutils.segment, "ClothSegmenter", model)
    monkeypatch.setattr(fsutils.saliency, "SaliencyModel", model)
    assert evaluate.main(["blend", "--ccp-root", str(root), "--split", "all", "--band", "2",
                          "--device", "cpu", "--no-progress"]) == 0
    assert devices == ["cpu", "cpu"]  # the cloth model and the saliency model: passed explicitly
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "split=all images=2 style=fast/candy photo_size=512 band=2px"
    rows = {line.split("|")[1].strip(" `"): line for line in lines[3:]}
    assert list(rows) == list(MODES)
    # The segmenter is the truth: the hard paste puts all the style on the garments and none
    # elsewhere; equation 2 with a flat saliency of 0.8 gives 0.8 of it.
    assert rows["hard"].endswith("| 1.000 | 0.000 | 1.000 | 0.000 | 1.000 |")
    assert rows["saliency"].endswith("| 0.800 | 0.000 | 0.800 | 0.000 | 0.800 |")
    # bad arguments: one line and exit status 2
    for options, words in ((["--ccp-root", str(root), "--modes", "hard,glue"], "unknown blend mode 'glue'"),
                           (["--ccp-root", str(root), "--radius", "0"], "radius"),
                           (["--ccp-root", str(root), "--split", "nope"],
                            r"unknown split 'nope'; choose from all, train, val\b"),
                           (["--ccp-root", str(tmp_path)], "not a CCP folder")):
        with pytest.raises(SystemExit) as e:
            evaluate.main(["blend", *options])
        err = capsys.readouterr().err
        assert e.value.code == 2 and len(err.splitlines()) == 1 and re.search(words, err), err


def test_bundled_annotations_match_their_photos_and_score_a_perfect_paste():
    from fsutils import io as fio
    from fsutils.evaluation.placement import SKIN, photo_placement, sample_groundtruth

    for photo in fio.sample_photos():
        gt = sample_groundtruth(photo.stem)
        w, h = fio.load_image(photo).size
        assert gt.shape == (h, w) and gt.dtype == np.uint8 and gt.max() <= SKIN
        assert (gt == SKIN).any() and np.isin(gt, (1, 2, 3)).mean() > 0.02
    with pytest.raises(FileNotFoundError, match="ccp_0001"):
        sample_groundtruth("nobody")
    truth = np.isin(gt, (1, 2, 3))
    c, s = _images(*gt.shape)
    scores = photo_placement(c, s, {"perfect": np.where(truth[..., None], s, c)}, truth)
    assert scores["perfect"].scores() == pytest.approx({"coverage": 1, "leakage": 0, "edge_in": 1,
                                               "edge_out": 0, "edge_contrast": 1})


def test_garment_skin_edge_is_where_a_garment_meets_skin_only():
    from fsutils.evaluation.placement import SKIN, garment_skin_edge, sample_groundtruth

    lab = np.zeros((20, 30), np.uint8)
    lab[:, 10:20] = 1                    # a garment …
    lab[:, 20:] = SKIN                   # … with skin on its right, background on its left
    edge = garment_skin_edge(lab, band=2)
    cols = np.nonzero(edge.any(axis=0))[0]
    assert cols.min() >= 18 and cols.max() <= 21 and edge[:, 19].all() and edge[:, 20].all()
    assert not edge[:, 8:12].any()       # the garment/background edge is not included
    small = sample_groundtruth("ccp_0001", size=(110, 166))
    assert small.shape == (166, 110) and set(np.unique(small)) <= {0, 1, 2, 3, SKIN}

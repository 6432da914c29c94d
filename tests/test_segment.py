"""fsutils.segment with a randomly initialised 4-class network (no checkpoint needed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fsutils import segment
from fsutils.models import U2NETP
from fsutils.segment import (CLASS_NAMES, PALETTE, ClothSegmenter, class_index, colorize,
                             combine_masks, masks, overlay)


class Biased(torch.nn.Module):
    """A fake cloth model whose logits favour class k in the k-th vertical quarter of the input."""

    def forward(self, x):
        n, _, h, w = x.shape
        logits = torch.zeros(n, 4, h, w)
        for k in range(4):
            logits[:, k, :, k * w // 4:(k + 1) * w // 4] = 5.0
        return (logits, logits)


@pytest.fixture(scope="module")
def seg():
    torch.manual_seed(0)
    return ClothSegmenter.from_model(U2NETP(3, 4), input_size=64, device="cpu")


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    return Image.fromarray((rng.random((45, 70, 3)) * 255).astype(np.uint8))


def test_predict_shapes_dtypes_and_class_range(seg, photo):
    labels = seg.predict(photo)
    assert labels.shape == (45, 70) and labels.dtype == np.uint8
    assert labels.min() >= 0 and labels.max() <= 3
    proba = seg.predict_proba(photo)
    assert proba.shape == (4, 45, 70) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=0), 1.0, atol=1e-5)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(labels, proba.argmax(axis=0))


def test_input_types_agree(seg, photo, tmp_path):
    ref = seg.predict(photo)
    path = tmp_path / "p.png"
    photo.save(path)
    arr = np.asarray(photo)
    for variant in (arr, arr.astype(np.float32) / 255, path, path.read_bytes(),
                    photo.convert("RGBA")):
        np.testing.assert_array_equal(seg.predict(variant), ref)


def test_preprocessing_is_square_resize_and_half_normalisation(seg, photo):
    x = seg.preprocess(photo)
    assert x.shape == (1, 3, 64, 64)
    expect = np.asarray(photo.resize((64, 64), Image.Resampling.BICUBIC), np.float32) / 255
    np.testing.assert_allclose(x[0].permute(1, 2, 0).numpy(), (expect - 0.5) / 0.5, atol=1e-6)


def test_labels_follow_the_model_at_the_photo_size():
    seg = ClothSegmenter.from_model(Biased(), input_size=32, device="cpu")
    labels = seg.predict(np.zeros((10, 80, 3), np.uint8))
    assert labels.shape == (10, 80)
    # Quarters of the photo's width get classes 0, 1, 2, 3 (edges may blend over a pixel or two).
    for k in range(4):
        assert (labels[:, k * 20 + 3:(k + 1) * 20 - 3] == k).all()


def test_model_with_wrong_output_channels_is_rejected(photo):
    seg = ClothSegmenter.from_model(U2NETP(3, 1), input_size=32, device="cpu")
    with pytest.raises(ValueError, match="1×4×S×S"):
        seg.predict(photo)


def test_unknown_weights_name_is_a_weights_error():
    from fsutils.weights import WeightsError

    with pytest.raises(WeightsError, match="nope"):
        ClothSegmenter("nope", device="cpu")


def test_saliency_checkpoint_is_not_a_cloth_model():
    from fsutils.weights import WeightsError

    with pytest.raises(WeightsError, match="not a cloth model"):
        ClothSegmenter("u2netp", device="cpu")


def test_masks_and_combine_by_index_and_name():
    labels = np.array([[0, 1, 2, 3], [3, 2, 1, 0]], np.uint8)
    m = masks(labels)
    assert list(m) == list(CLASS_NAMES)
    assert all(v.dtype == bool and v.shape == labels.shape for v in m.values())
    np.testing.assert_array_equal(m["upper body"], labels == 1)
    assert sum(v.astype(int) for v in m.values()).max() == 1  # a partition
    for sel in [(1, 3), ("upper body", "full body"), ["upper_body", "FULL-BODY"], ("upper", 3),
                ("1", "3")]:
        np.testing.assert_array_equal(combine_masks(labels, sel), (labels == 1) | (labels == 3))
    np.testing.assert_array_equal(combine_masks(labels, "lower body"), labels == 2)
    np.testing.assert_array_equal(combine_masks(labels, 2), labels == 2)
    assert not combine_masks(labels, []).any()
    with pytest.raises(ValueError, match="unknown class 'hat'"):
        combine_masks(labels, ["hat"])
    with pytest.raises(ValueError, match="out of range"):
        combine_masks(labels, [4])
    with pytest.raises(ValueError, match="label map"):
        combine_masks(labels.astype(np.float32), [1])
    assert class_index("Lower Body") == 2 and class_index(np.int64(3)) == 3


def test_colorize_and_overlay():
    labels = np.array([[0, 1], [2, 3]], np.uint8)
    col = colorize(labels)
    assert col.dtype == np.uint8 and col.shape == (2, 2, 3)
    np.testing.assert_array_equal(col[0, 1], [255, 0, 0])      # upper body red
    np.testing.assert_array_equal(col[1, 0], [0, 255, 0])      # lower body green
    np.testing.assert_array_equal(col[1, 1], [255, 255, 0])    # full body yellow
    np.testing.assert_array_equal(col[0, 0], PALETTE[0])
    grey = np.full((2, 2, 3), 0.5, np.float32)
    ov = overlay(grey, labels, opacity=0.5)
    assert ov.dtype == np.uint8
    np.testing.assert_array_equal(ov[0, 0], [128, 128, 128])   # background untouched
    np.testing.assert_array_equal(ov[0, 1], [191, 64, 64])     # half red
    np.testing.assert_array_equal(overlay(grey, labels, opacity=0.0), np.full((2, 2, 3), 128))
    with pytest.raises(ValueError, match="same size"):
        overlay(grey, labels[:1])


def test_default_weights_constant():
    assert segment.DEFAULT_CLOTH_WEIGHTS == "ccp_deeplab"
    assert {"ccp_deeplab", "ccp_u2netp", "cloth_segm"} <= set(segment.CLOTH_WEIGHTS)


def test_default_segmenter_names_its_model(capsys):
    seg = ClothSegmenter(device="cpu")
    assert seg.name == "ccp_deeplab" and seg.input_size == 481 and seg.flip
    assert capsys.readouterr().out.startswith("cloth segmentation: ccp_deeplab — DeepLabV3")


def test_a_deeplab_file_loads_into_deeplab(photo, tmp_path):
    from fsutils.models.mobilenet import DeepLabV3, deeplab_v3_mobilenet_v2

    torch.manual_seed(2)
    path = tmp_path / "my_deeplab.pth"
    torch.save({k: v.half() for k, v in deeplab_v3_mobilenet_v2(4).state_dict().items()}, path)
    seg = ClothSegmenter(str(path), device="cpu", verbose=False)
    assert isinstance(seg.model, DeepLabV3) and seg.input_size == 481
    assert seg.predict(photo).shape == np.asarray(photo).shape[:2]


def test_loading_a_registry_model_says_which_model_in_one_line(capsys):
    ClothSegmenter("ccp_u2netp", device="cpu")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("cloth segmentation: ccp_u2netp")
    ClothSegmenter("ccp_u2netp", device="cpu", verbose=False)
    assert capsys.readouterr().out == ""


def test_flip_averages_the_photo_and_its_mirror_image(photo):
    plain = ClothSegmenter.from_model(Biased(), input_size=64, device="cpu")
    both = ClothSegmenter.from_model(Biased(), input_size=64, device="cpu", flip=True)
    assert not plain.flip and both.flip
    p, q = plain.predict_proba(photo), both.predict_proba(photo)
    np.testing.assert_allclose(q, 0.5 * (p + p[:, :, ::-1]), atol=1e-5)   # left-right symmetric
    assert plain.predict(photo)[20, 5] == 0 and both.predict(photo)[20, 5] in (0, 3)
    np.testing.assert_allclose(q.sum(0), 1, atol=1e-5)


def test_a_checkpoint_file_is_loaded_into_the_architecture_it_fits(photo, tmp_path, capsys):
    torch.manual_seed(1)
    mine = U2NETP(3, 4).eval()
    path = tmp_path / "my_cloth_model.pth"
    torch.save({k: v.half() for k, v in mine.state_dict().items()}, path)  # as train --export does
    from_file = ClothSegmenter(str(path), device="cpu", input_size=64)
    assert from_file.name == str(path) and from_file.input_size == 64
    assert capsys.readouterr().out.startswith(f"cloth segmentation: {path} — U2NETP")
    direct = ClothSegmenter.from_model(mine, input_size=64, device="cpu", resample=from_file.resample)
    np.testing.assert_allclose(from_file.predict_proba(photo), direct.predict_proba(photo), atol=2e-2)
    # without input_size, the kit's own model's settings apply
    assert ClothSegmenter(path, device="cpu", verbose=False).input_size == ClothSegmenter(
        "ccp_u2netp", device="cpu", verbose=False).input_size


def test_a_file_that_is_no_cloth_checkpoint_or_missing_is_explained(tmp_path):
    from fsutils.weights import ArchitectureMismatchError, CheckpointError

    saliency = tmp_path / "saliency.pth"
    torch.save(U2NETP(3, 1).state_dict(), saliency)
    with pytest.raises(ArchitectureMismatchError, match="not a 4-class cloth checkpoint.*--export"):
        ClothSegmenter(str(saliency), device="cpu")
    with pytest.raises(CheckpointError, match="no file"):
        ClothSegmenter(str(tmp_path / "runs" / "missing.pth"), device="cpu")


def test_clean_labels_removes_specks_and_fills_holes():
    from fsutils.segment import clean_labels

    lab = np.zeros((100, 100), np.uint8)
    lab[10:60, 10:60] = 1          # a garment …
    lab[30:33, 30:33] = 0          # … with a small hole
    lab[40:45, 70:75] = 3          # 25 px of another class: above the 20-px limit
    lab[80:82, 80:82] = 2          # a 4-px speck
    lab[0:3, 95:100] = 0           # background touching the border stays background
    out = clean_labels(lab, min_fraction=0.002)
    assert out[31, 31] == 1                      # the hole is filled with the garment around it
    assert (out[80:82, 80:82] == 0).all()        # the 4-px speck is gone
    assert (out[40:45, 70:75] == 3).all()        # 25 px ≥ 20 px: kept
    assert out.dtype == np.uint8 and (lab == 1).sum() + 9 == (out == 1).sum()
    assert np.array_equal(clean_labels(out), out)  # idempotent

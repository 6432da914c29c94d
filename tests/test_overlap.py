"""The one IoU (fsutils.evaluation.overlap) on cases worked out by hand, and its three users:
two masks, per class from a confusion matrix, and pooled over photos."""
import numpy as np
import pytest

from fsutils.evaluation import cutout, segmentation
from fsutils.evaluation import swap as sev
from fsutils.evaluation.overlap import iou, iou_from_counts, iou_per_class, overlap_counts


def test_two_masks_by_hand():
    # a: rows 0-1 of a 4x4 (8 px); b: rows 1-2 (8 px); shared: row 1 (4 px); union: rows 0-2 (12 px)
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True
    b[1:3] = True
    assert overlap_counts(a, b) == (4, 12)
    assert iou(a, b) == pytest.approx(1 / 3)
    assert iou(b, a) == iou(a, b)
    assert iou(a, a) == 1.0
    assert iou(a, ~a) == 0.0
    empty = np.zeros((4, 4), bool)
    assert iou(empty, empty) == 1.0  # two empty masks agree
    assert np.isnan(iou(empty, empty, empty=float("nan")))
    with pytest.raises(ValueError, match="differ in size"):
        iou(a, np.zeros((3, 4), bool))


def test_counts_pool_before_dividing():
    # photo 1: 4 of 12, photo 2: 8 of 8 — pooled (4 + 8) / (12 + 8) = 0.6, not the mean 2/3
    assert iou_from_counts(4 + 8, 12 + 8) == pytest.approx(0.6)
    assert isinstance(iou_from_counts(1, 2), float)
    assert np.isnan(iou_from_counts(0, 0))
    assert iou_from_counts(0, 0, empty=1.0) == 1.0
    out = iou_from_counts(np.array([1, 0, 3]), np.array([2, 0, 4]))
    assert out[0] == 0.5 and np.isnan(out[1]) and out[2] == 0.75


def test_per_class_from_a_confusion_matrix_by_hand():
    # cm[true, predicted]; class 0: tp 5, row 6, column 7 -> union 8; class 1: tp 2, row 4,
    # column 3 -> union 5; class 2: never true nor predicted -> NaN
    cm = np.array([[5, 1, 0],
                   [2, 2, 0],
                   [0, 0, 0]])
    out = iou_per_class(cm)
    assert out[0] == pytest.approx(5 / 8) and out[1] == pytest.approx(2 / 5) and np.isnan(out[2])


def test_every_evaluation_uses_the_one_iou():
    assert segmentation.iou_per_class is iou_per_class
    assert cutout.iou is iou
    # the swap's pooled mask IoU: 4 of 12 on one photo, 8 of 8 on another
    t = np.zeros((4, 4), bool)
    t[1:3] = True
    p = np.zeros((4, 4), bool)
    p[:2] = True
    case = sev.KnownAnswer("x", np.zeros((4, 4, 3), np.uint8), t, None, None, None,
                           np.zeros((4, 4, 3), np.uint8), None)
    s = sev.Scores()
    s.add("cagan", case, np.zeros((4, 4, 3), np.float32), p)
    s.add("cagan", case, np.zeros((4, 4, 3), np.float32), t)
    assert s.summary()["cagan"]["mask_iou"] == pytest.approx(0.6)

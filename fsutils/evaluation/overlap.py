"""Intersection over union, written once: :func:`iou_from_counts` divides pixel counts, and every
IoU of the kit goes through it — of two masks (:func:`iou`), per class from a confusion matrix
(:func:`iou_per_class`), or pooled over photos by summing :func:`overlap_counts` first.

Importing this module loads only numpy."""
from __future__ import annotations

import numpy as np

__all__ = ["iou_from_counts", "overlap_counts", "iou", "iou_per_class"]


def iou_from_counts(intersection, union, empty: float = float("nan")):
    """``intersection / union`` of pixel counts: numbers (a float back) or arrays of them (an
    array back), e.g. per class, or summed over photos for a pooled IoU; ``empty`` where the
    union is 0 (nothing in either mask: NaN by default, so means can leave it out)."""
    i = np.asarray(intersection, np.float64)
    u = np.asarray(union, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(u > 0, i / u, empty)
    return float(out) if out.ndim == 0 else out


def overlap_counts(pred: np.ndarray, target: np.ndarray) -> tuple[int, int]:
    """``(intersection, union)`` pixel counts of two bool masks of the same H×W (sum them over
    photos, then :func:`iou_from_counts`, for a pooled IoU)."""
    p, t = np.asarray(pred, bool), np.asarray(target, bool)
    if p.shape != t.shape:
        raise ValueError(f"masks differ in size: {p.shape} and {t.shape}; resize one to the "
                         "other first (nearest).")
    return int(np.logical_and(p, t).sum()), int(np.logical_or(p, t).sum())


def iou(pred: np.ndarray, target: np.ndarray, empty: float = 1.0) -> float:
    """Intersection over union of two bool masks; ``empty`` (1.0: they agree) when both are
    empty."""
    return iou_from_counts(*overlap_counts(pred, target), empty)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """IoU of every class from a confusion matrix ``cm[true, predicted]``; NaN for a class absent
    from both the truth and the prediction."""
    cm = np.asarray(cm)
    tp = np.diag(cm)
    return np.asarray(iou_from_counts(tp, cm.sum(0) + cm.sum(1) - tp))

"""COCO-style average precision at IoU 0.5 (AP50) of instance masks and boxes, per class.

The matching and the 101-point interpolated precision are pycocotools' own (``COCOeval``, the
reference implementation of the COCO metric), fed from memory: ground truth and predictions as
boolean masks with a class, and a score for the predictions. AP50 of a class is the mean of its
interpolated precision at recall 0, 0.01, …, 1 for IoU 0.5, all object sizes, 100 detections per
photo; a class without any ground-truth instance has no AP (NaN) and is left out of means.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

__all__ = ["Truth", "Detection", "ap50", "agnostic", "suppress_duplicates", "mask_iou", "AGNOSTIC",
           "PrecisionRecall", "precision_recall",
           "precision_recall_curves"]

#: The class name used for class-agnostic scoring.
AGNOSTIC = "object"


class Truth(Protocol):
    """A ground-truth instance (e.g. :class:`fsutils.data.GarmentInstance`): class name and
    boolean H×W mask."""

    cls: str
    mask: np.ndarray


class Detection(Truth, Protocol):
    """A predicted instance (e.g. :class:`fsutils.instances.Instance`): also a score and a box
    (x0, y0, x1, y1)."""

    score: float
    box: tuple[float, float, float, float]


def agnostic(items: Sequence, classes: tuple[str, ...] | None = None) -> list:
    """``items`` (of ``classes``, default all) renamed to the one class :data:`AGNOSTIC`."""
    import dataclasses

    return [dataclasses.replace(t, cls=AGNOSTIC) for t in items if classes is None or t.cls in classes]


def _pycocotools():
    try:
        import pycocotools  # noqa: F401
    except ImportError:
        raise ImportError("scoring instances needs pycocotools (the reference COCO evaluation): "
                          "pip install 'pycocotools>=2.0'") from None


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_util

    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def mask_iou(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """``iou[i, j]`` of boolean masks ``a[i]`` and ``b[j]`` (same H×W), by pycocotools."""
    _pycocotools()
    from pycocotools import mask as mask_util

    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    rle = lambda ms: [mask_util.encode(np.asfortranarray(m.astype(np.uint8))) for m in ms]  # noqa: E731
    return np.asarray(mask_util.iou(rle(a), rle(b), [0] * len(b))).reshape(len(a), len(b))


def suppress_duplicates(detections: Sequence, iou: float = 0.5) -> list:
    """``detections`` without those whose mask overlaps a better-scored one's by IoU > ``iou``
    (greedy, across classes): once classes are merged for class-agnostic scoring, one garment
    found as both "top" and "outer" is one find, not a find and a false positive."""
    dets = sorted(detections, key=lambda d: -d.score)
    overlap = mask_iou([d.mask for d in dets], [d.mask for d in dets])
    kept: list[int] = []
    for i in range(len(dets)):
        if all(overlap[i, j] <= iou for j in kept):
            kept.append(i)
    return [dets[i] for i in kept]


def _xywh(box) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


def _mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (0, 0, 0, 0)


def _evaluate(truths: Sequence[Sequence[Truth]], detections: Sequence[Sequence[Detection]],
              classes: tuple[str, ...], iou_type: str):
    """pycocotools' ``COCOeval`` of the photos at IoU 0.5, evaluated and accumulated (``None``
    when there is no detection at all), and the number of ground-truth instances per class."""
    _pycocotools()
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if iou_type not in ("segm", "bbox"):
        raise ValueError(f"iou_type must be 'segm' or 'bbox', not {iou_type!r}")
    if len(truths) != len(detections):
        raise ValueError(f"{len(truths)} photos of ground truth but {len(detections)} of detections")
    cat = {c: k + 1 for k, c in enumerate(classes)}
    images, anns, results = [], [], []
    for i, (gts, dets) in enumerate(zip(truths, detections)):
        shape = next((t.mask.shape for t in gts), next((d.mask.shape for d in dets), (1, 1)))
        images.append({"id": i + 1, "height": int(shape[0]), "width": int(shape[1])})
        for t in gts:
            if t.cls in cat and t.mask.any():
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat[t.cls],
                             "segmentation": _rle(t.mask), "area": float(t.mask.sum()),
                             "bbox": _xywh(_mask_box(t.mask)), "iscrowd": 0})
        for d in dets:
            if d.cls in cat:
                res = {"image_id": i + 1, "category_id": cat[d.cls], "score": float(d.score)}
                res.update({"segmentation": _rle(d.mask)} if iou_type == "segm" else {"bbox": _xywh(d.box)})
                results.append(res)
    counts = {c: sum(a["category_id"] == k for a in anns) for c, k in cat.items()}
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns,
                  "categories": [{"id": k, "name": c} for c, k in cat.items()]}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt.createIndex()
        if not results:
            return None, counts
        ev = COCOeval(gt, gt.loadRes(results), iou_type)
        ev.params.iouThrs = np.array([0.5])
        ev.evaluate()
        ev.accumulate()
    return ev, counts


def ap50(truths: Sequence[Sequence[Truth]], detections: Sequence[Sequence[Detection]], classes: tuple[str, ...],
         iou_type: str = "segm") -> dict[str, float]:
    """AP50 of each class in ``classes`` over photos (``truths[i]`` and ``detections[i]`` belong
    to photo ``i``); ``iou_type`` ``"segm"`` (mask IoU) or ``"bbox"`` (box IoU). Instances of other
    classes are ignored. For class-agnostic AP, rename every instance with :func:`agnostic` and
    pass ``classes=(AGNOSTIC,)``."""
    ev, counts = _evaluate(truths, detections, classes, iou_type)
    if ev is None:
        return {c: (0.0 if counts[c] else float("nan")) for c in classes}
    precision = ev.eval["precision"][0, :, :, 0, -1]  # recall × class, all areas, 100 detections
    out = {}
    for k, c in enumerate(classes):
        p = precision[:, k]
        out[c] = float(p[p > -1].mean()) if (p > -1).any() else float("nan")
    return out


@dataclass(frozen=True)
class PrecisionRecall:
    """One class's precision–recall curve at IoU 0.5. ``recall``, ``precision``: after each
    detection, best score first (the raw curve); ``points``, ``interpolated``: the 101 recall
    points 0, 0.01, …, 1 and COCO's interpolated precision there (the best precision at that
    recall or more; 0 past the last recall reached), whose mean is :attr:`ap`. ``truths``: the
    number of ground-truth instances."""

    recall: np.ndarray
    precision: np.ndarray
    points: np.ndarray
    interpolated: np.ndarray
    truths: int

    @property
    def ap(self) -> float:
        return float(self.interpolated.mean())


def precision_recall(truths: Sequence[Sequence[Truth]], detections: Sequence[Sequence[Detection]],
                     cls: str, iou_type: str = "segm") -> PrecisionRecall:
    """The precision–recall curve of class ``cls`` over photos, as :func:`ap50` scores it: the
    same matching (pycocotools), so ``precision_recall(...).ap == ap50(...)[cls]``."""
    ev, counts = _evaluate(truths, detections, (cls,), iou_type)
    if not counts[cls]:
        raise ValueError(f"no ground-truth instance of {cls!r} in these photos: it has no "
                         "precision–recall curve; choose photos that show one")
    points = np.linspace(0.0, 1.0, 101)
    if ev is None:
        return PrecisionRecall(np.zeros(0), np.zeros(0), points, np.zeros(101), counts[cls])
    # the detections of every photo (all object sizes), as COCOeval.accumulate gathers them
    per_image = [e for e in ev.evalImgs if e is not None and e["aRng"] == ev.params.areaRng[0]]
    scores = np.concatenate([e["dtScores"][:ev.params.maxDets[-1]] for e in per_image])
    matched = np.concatenate([e["dtMatches"][0, :ev.params.maxDets[-1]] for e in per_image]) > 0
    order = np.argsort(-scores, kind="mergesort")
    tp = np.cumsum(matched[order])
    recall = tp / counts[cls]
    precision = tp / np.arange(1, len(tp) + 1)
    interpolated = np.maximum(ev.eval["precision"][0, :, 0, 0, -1], 0.0)
    return PrecisionRecall(recall, precision, points, interpolated, counts[cls])


def precision_recall_curves(truths: Sequence[Sequence[Truth]],
                            detections: Sequence[Sequence[Detection]], classes: Sequence[str],
                            iou_type: str = "segm") -> dict[str, PrecisionRecall]:
    """:func:`precision_recall` of each of ``classes`` that has a ground-truth instance in these
    photos (the others have no curve)."""
    present = {t.cls for gts in truths for t in gts if t.mask.any()}
    return {c: precision_recall(truths, detections, c, iou_type) for c in classes if c in present}

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
from typing import Protocol, Sequence

import numpy as np

__all__ = ["Truth", "Detection", "ap50", "agnostic", "suppress_duplicates", "mask_iou", "AGNOSTIC"]

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


def ap50(truths: Sequence[Sequence[Truth]], detections: Sequence[Sequence[Detection]], classes: tuple[str, ...],
         iou_type: str = "segm") -> dict[str, float]:
    """AP50 of each class in ``classes`` over photos (``truths[i]`` and ``detections[i]`` belong
    to photo ``i``); ``iou_type`` ``"segm"`` (mask IoU) or ``"bbox"`` (box IoU). Instances of other
    classes are ignored. For class-agnostic AP, rename every instance with :func:`agnostic` and
    pass ``classes=(AGNOSTIC,)``."""
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
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns,
                  "categories": [{"id": k, "name": c} for c, k in cat.items()]}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt.createIndex()
        if not results:
            return {c: (0.0 if any(a["category_id"] == cat[c] for a in anns) else float("nan"))
                    for c in classes}
        ev = COCOeval(gt, gt.loadRes(results), iou_type)
        ev.params.iouThrs = np.array([0.5])
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][0, :, :, 0, -1]  # recall × class, all areas, 100 detections
    out = {}
    for k, c in enumerate(classes):
        p = precision[:, k]
        out[c] = float(p[p > -1].mean()) if (p > -1).any() else float("nan")
    return out

"""Cloth segmentation scored against Clothing Co-Parsing annotations: confusion matrix, per-class
IoU, pixel accuracy and the mean IoU over the garment classes, and for every CCP label which kit
class its pixels were predicted as (``python -m fsutils.evaluate segmentation``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..segment import GARMENT_CLASSES
from .overlap import iou_per_class

__all__ = ["confusion_matrix", "label_breakdown", "iou_per_class", "pixel_accuracy",
           "mean_iou_garments", "evaluate_segmentation", "by_label_lines", "no_garment"]


def _cross_count(pred: np.ndarray, target: np.ndarray, num_target: int, num_pred: int) -> np.ndarray:
    """``n[t, p]``: how many pixels have ``target == t`` and ``pred == p``."""
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {target.shape} differ in shape; "
                         "resize the prediction to the photo's size first.")
    idx = target.astype(np.int64).ravel() * num_pred + pred.astype(np.int64).ravel()
    return np.bincount(idx, minlength=num_target * num_pred).reshape(num_target, num_pred)


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int = 4) -> np.ndarray:
    """``cm[t, p]`` = number of pixels of true class ``t`` predicted as ``p`` (int64)."""
    return _cross_count(pred, target, num_classes, num_classes)


def label_breakdown(pred: np.ndarray, groundtruth: np.ndarray, num_classes: int = 4) -> np.ndarray:
    """``b[l, p]`` = number of pixels of CCP label ``l`` (0–255, the raw annotation) predicted as
    kit class ``p`` (int64, 256 × ``num_classes``)."""
    return _cross_count(pred, groundtruth, 256, num_classes)


def pixel_accuracy(cm: np.ndarray) -> float:
    return float(np.trace(cm) / max(cm.sum(), 1))


def mean_iou_garments(cm: np.ndarray) -> float:
    """Mean IoU over the garment classes 1–3 (classes absent everywhere are skipped; NaN when all
    three are)."""
    iou = iou_per_class(cm)[list(GARMENT_CLASSES)]
    present = ~np.isnan(iou)
    return float(iou[present].mean()) if present.any() else float("nan")


def evaluate_segmentation(ccp_root: str | Path, weights: str, split: str = "all",
                          device: str | None = None, progress: bool = True,
                          max_images: int | None = None, input_size: int | None = None,
                          clean: bool = False, skipped: list[tuple[Path, str]] | None = None) -> dict:
    """Run a :class:`fsutils.segment.ClothSegmenter` (a registry name or a checkpoint file) over a
    CCP folder at full resolution; ``input_size`` overrides the model's own.

    The result holds the 4×4 ``confusion``, per-class ``iou``, ``pixel_accuracy``,
    ``mean_iou_garments`` and ``by_label``: for every CCP label with pixels (largest first), its
    kit class and the pixel counts predicted as each kit class.

    A photo that cannot be read or evaluated (an annotation of another size than its photo
    included) raises, or with a ``skipped`` list is appended to it and left out
    (:func:`fsutils.evaluation.photos.evaluate_photos`); ``images`` counts the photos scored.
    Photos without any annotated garment raise :class:`~fsutils.evaluation.photos.NothingToScore`
    (the garment IoU is undefined)."""
    from .. import data
    from ..segment import ClothSegmenter, clean_labels
    from .photos import NothingToScore, evaluate_photos, select_ids

    if input_size is not None and (int(input_size) != input_size or input_size < 1):
        raise ValueError(f"input_size must be a whole number ≥ 1, got {input_size!r}.")
    ids = select_ids(ccp_root, split, max_images)
    names = data.read_label_names(ccp_root)
    lookup = data.label_lookup(names)
    seg = ClothSegmenter(weights=weights, device=device, input_size=input_size)

    def one(image_id: str, photo, groundtruth: np.ndarray) -> np.ndarray:
        pred = seg.predict(photo)
        return label_breakdown(clean_labels(pred) if clean else pred, groundtruth)

    per_photo = evaluate_photos(ccp_root, ids, one, skipped=skipped, progress=progress,
                                     desc=f"evaluating {weights}")
    counts = np.sum(per_photo, axis=0, dtype=np.int64)
    cm = np.zeros((4, 4), dtype=np.int64)
    np.add.at(cm, lookup, counts)  # each CCP label's row goes to its kit class
    if not cm[list(GARMENT_CLASSES)].sum():
        raise NothingToScore(no_garment(len(per_photo), "there is no garment IoU"))
    by_label = {(names[l] if l < len(names) else f"#{l}"):
                {"class": data.CLASS_NAMES[lookup[l]], "predicted": counts[l]}
                for l in np.argsort(-counts.sum(1), kind="stable") if counts[l].sum()}
    iou = iou_per_class(cm)
    return {"weights": weights, "split": split, "images": len(per_photo), "confusion": cm,
            "iou": {data.CLASS_NAMES[c]: float(iou[c]) for c in range(4)},
            "pixel_accuracy": pixel_accuracy(cm), "mean_iou_garments": mean_iou_garments(cm),
            "by_label": by_label}


def no_garment(images: int, so: str, classes: str | None = None) -> str:
    """The one line of an evaluation whose ``images`` photos hold no annotated garment (of
    ``classes``; default the cloth models' garment classes); ``so``: what that leaves undefined."""
    from ..segment import CLASS_NAMES

    classes = classes or ", ".join(CLASS_NAMES[c] for c in GARMENT_CLASSES)
    return (f"none of the {images} photo(s) scored has an annotated garment ({classes}), so {so}; "
            "choose photos whose annotations hold garments (another --split or folder)")


def by_label_lines(by_label: dict, top: int | None = None) -> list[str]:
    """One line per CCP label of :func:`evaluate_segmentation`'s ``by_label`` (largest first):
    ``label[coat] class='full body' pixels=… predicted: background=…% upper=…% lower=…% full=…%``."""
    from ..segment import CLASS_NAMES

    short = [n.split()[0] for n in CLASS_NAMES]  # background, upper, lower, full
    lines = []
    for name, row in list(by_label.items())[:top]:
        share = row["predicted"] / row["predicted"].sum()
        lines.append(f"label[{name}] class={row['class']!r} pixels={row['predicted'].sum()} predicted: "
                     + " ".join(f"{c}={100 * x:.1f}%" for c, x in zip(short, share)))
    return lines

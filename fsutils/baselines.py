"""Cut-outs to compare: GrabCut from a rectangle, and the two the kit makes with its own models.

Three ways to cut a person (or their clothes) out of a photo, each returning a bool H×W mask at
the photo's size:

- :func:`grabcut_mask`: OpenCV's GrabCut (Rother et al. 2004, ``cv2.grabCut``) from a rectangle,
  5 iterations: colour models (Gaussian mixtures) of the inside and outside of the box, refined by
  graph cuts. Without a rectangle, one is made by :func:`auto_rect`: the bounding box of the
  U-2-Net saliency map above 0.5, grown by a margin (5 % of its width and height by default,
  half on each side) and kept one pixel inside the photo (GrabCut needs some background).
- :func:`saliency_cutout`: the U2NETP saliency map above 0.5.
- :func:`cloth_cutout`: the union of the garment classes (upper, lower, full body) of the cloth
  model.

:func:`evaluate_cutout` scores them with IoU against Clothing Co-Parsing annotations for two
targets, *person* (every labelled pixel that is not "null") and *clothes* (the kit's classes 1–3);
``python -m fsutils.evaluate cutout`` prints its table.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

__all__ = ["Rect", "GRABCUT_ITERS", "SALIENCY_THRESHOLD", "BOX_MARGIN", "METHODS", "TARGETS",
           "as_uint8", "mask_box", "expand_box", "auto_rect", "grabcut_mask", "saliency_cutout",
           "cloth_cutout", "cutout", "iou", "person_mask", "clothes_mask", "evaluate_cutout",
           "cutout_table"]

#: ``(x, y, width, height)`` in pixels, OpenCV's convention.
Rect = tuple[int, int, int, int]
GRABCUT_ITERS = 5
SALIENCY_THRESHOLD = 0.5
#: How much a box grows: this fraction of its width and of its height, half on each side.
BOX_MARGIN = 0.05
#: The methods of :func:`evaluate_cutout`, in table order.
METHODS = ("saliency", "grabcut_auto", "grabcut_box", "cloth")
TARGETS = ("person", "clothes")
_DESCRIPTIONS = {
    "saliency": "U2NETP saliency > 0.5",
    "grabcut_auto": "GrabCut, box from the saliency map (+{margin:g} %)",
    "grabcut_box": "GrabCut, true person box (+{margin:g} %)",
    "cloth": "cloth model, garment classes 1–3",
}


def as_uint8(photo: Any) -> np.ndarray:
    """A photo (PIL image, H×W×3 uint8 or float 0..1 array, path or bytes) as uint8 H×W×3 RGB."""
    from . import io

    if not isinstance(photo, (Image.Image, np.ndarray)):
        photo = io.load_image(photo)
    if isinstance(photo, np.ndarray) and photo.dtype == np.uint8 and photo.ndim == 3 \
            and photo.shape[2] == 3:
        return np.ascontiguousarray(photo)
    return np.asarray(io.to_pil(io.to_float(photo)), dtype=np.uint8)


def mask_box(mask: np.ndarray) -> Rect | None:
    """The tight ``(x, y, w, h)`` box of the True pixels of ``mask``; None when there are none."""
    ys, xs = np.nonzero(np.asarray(mask))
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def expand_box(rect: Rect, shape: tuple[int, int], margin: float = BOX_MARGIN) -> Rect:
    """``rect`` grown by ``margin`` × its width and height (half on each side), then clipped so
    that it stays at least one pixel inside an image of ``shape`` = (H, W)."""
    if margin < 0:
        raise ValueError(f"margin must be ≥ 0, got {margin}")
    h, w = shape
    x, y, bw, bh = rect
    dx, dy = margin * bw / 2, margin * bh / 2
    x0, y0 = max(1, int(np.floor(x - dx))), max(1, int(np.floor(y - dy)))
    x1, y1 = min(w - 1, int(np.ceil(x + bw + dx))), min(h - 1, int(np.ceil(y + bh + dy)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _saliency_model(saliency: Any = None):
    if saliency is not None:
        return saliency
    from .saliency import SaliencyModel

    return SaliencyModel("u2netp")


def auto_rect(photo: Any, saliency_map: np.ndarray | None = None, *, saliency: Any = None,
              threshold: float = SALIENCY_THRESHOLD, margin: float = BOX_MARGIN) -> Rect:
    """GrabCut's rectangle without a user: the bounding box of the saliency map above
    ``threshold``, grown by ``margin`` (:func:`expand_box`). Pass a ``saliency_map`` already
    computed (float H×W in 0..1), or a ``saliency`` model (default: U2NETP)."""
    img = as_uint8(photo)
    if saliency_map is None:
        saliency_map = _saliency_model(saliency).predict(img)
    saliency_map = np.asarray(saliency_map)
    if saliency_map.shape != img.shape[:2]:
        raise ValueError(f"the saliency map is {saliency_map.shape}, the photo {img.shape[:2]}; "
                         "compute the map at the photo's size.")
    box = mask_box(saliency_map > threshold)
    if box is None:
        raise ValueError(f"no pixel of the saliency map is above {threshold}, so there is no "
                         "box to start GrabCut from; draw one and pass rect=(x, y, w, h).")
    return expand_box(box, img.shape[:2], margin)


def _check_rect(rect: Sequence[int], shape: tuple[int, int]) -> Rect:
    h, w = shape
    try:
        x, y, rw, rh = (int(v) for v in rect)
    except (TypeError, ValueError):
        raise ValueError(f"rect must be four integers (x, y, width, height), got {rect!r}") from None
    if rw < 1 or rh < 1 or x < 0 or y < 0 or x + rw > w or y + rh > h:
        raise ValueError(f"rect {(x, y, rw, rh)} is not inside the {w}×{h} photo; give (x, y, "
                         "width, height) with width, height ≥ 1 and x + width ≤ W, y + height ≤ H.")
    if rw * rh >= w * h:
        raise ValueError(f"rect {(x, y, rw, rh)} covers the whole photo, so GrabCut has no "
                         "background to learn from; leave at least a one-pixel border.")
    return x, y, rw, rh


def grabcut_mask(photo: Any, rect: Sequence[int] | None = None, iters: int = GRABCUT_ITERS, *,
                 saliency: Any = None, saliency_map: np.ndarray | None = None,
                 seed: int = 0) -> np.ndarray:
    """GrabCut foreground (bool H×W) of ``photo`` from ``rect`` = ``(x, y, width, height)``.

    Everything outside the rectangle is background; inside, GrabCut decides. With ``rect=None``
    the rectangle is :func:`auto_rect` (saliency bounding box + 5 %), from ``saliency_map`` if
    given, else from the ``saliency`` model (default U2NETP). ``seed`` fixes OpenCV's random
    initialisation of the colour models (k-means), so a result can be reproduced.
    """
    import cv2

    if int(iters) != iters or iters < 1:
        raise ValueError(f"iters must be an integer ≥ 1, got {iters!r}")
    img = as_uint8(photo)
    if rect is None:
        rect = auto_rect(img, saliency_map, saliency=saliency)
    rect = _check_rect(rect, img.shape[:2])
    cv2.setRNGSeed(seed)
    mask = np.zeros(img.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), mask, rect, bgd, fgd, int(iters),
                cv2.GC_INIT_WITH_RECT)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def saliency_cutout(photo: Any, saliency: Any = None, threshold: float = SALIENCY_THRESHOLD,
                    saliency_map: np.ndarray | None = None) -> np.ndarray:
    """The U-2-Net cut-out: saliency above ``threshold`` (bool H×W)."""
    if saliency_map is None:
        saliency_map = _saliency_model(saliency).predict(as_uint8(photo))
    return np.asarray(saliency_map) > threshold


def cloth_cutout(photo: Any, segmenter: Any = None, classes: Sequence[int | str] = (1, 2, 3),
                 labels: np.ndarray | None = None) -> np.ndarray:
    """The cloth model's cut-out: the union of ``classes`` (default every garment class) of the
    label map (bool H×W). ``segmenter`` defaults to the kit's default cloth model."""
    from .segment import ClothSegmenter, combine_masks

    if labels is None:
        labels = (segmenter or ClothSegmenter()).predict(as_uint8(photo))
    return combine_masks(labels, classes)


def cutout(photo: Any, mask: np.ndarray, background: float = 1.0) -> np.ndarray:
    """The photo where ``mask`` is True, ``background`` (0..1 grey, white by default) elsewhere:
    float32 H×W×3 in 0..1."""
    from . import io

    img = io.to_float(as_uint8(photo))
    m = np.asarray(mask, dtype=bool)
    if m.shape != img.shape[:2]:
        raise ValueError(f"mask {m.shape} and photo {img.shape[:2]} differ in size")
    return np.where(m[..., None], img, np.float32(background)).astype(np.float32)


def iou(pred: np.ndarray, target: np.ndarray) -> float:
    """Intersection over union of two bool masks (1.0 when both are empty)."""
    p, t = np.asarray(pred, bool), np.asarray(target, bool)
    if p.shape != t.shape:
        raise ValueError(f"masks differ in shape: {p.shape} and {t.shape}")
    union = np.logical_or(p, t).sum()
    return float(np.logical_and(p, t).sum() / union) if union else 1.0


def person_mask(groundtruth: np.ndarray) -> np.ndarray:
    """CCP's person: every pixel whose label is not "null" (index 0)."""
    return np.asarray(groundtruth) != 0


def clothes_mask(groundtruth: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    """CCP's clothes: the pixels whose label maps to a garment class (1–3) through ``lookup``
    (:func:`fsutils.data.label_lookup`)."""
    return lookup[np.asarray(groundtruth)] > 0


def evaluate_cutout(ccp_root: str | Path, split: str = "val", *, max_images: int | None = None,
                    iters: int = GRABCUT_ITERS, margin: float = BOX_MARGIN,
                    saliency: Any = None, segmenter: Any = None, progress: bool = True) -> dict:
    """IoU of every method of :data:`METHODS` for both targets on the photos of a CCP ``split``.

    ``iou[method][target]`` is the mean over photos of each photo's IoU; ``seconds[method]`` the
    mean time per photo (``grabcut_auto`` includes the saliency map it starts from). Models
    default to U2NETP and the kit's default cloth model."""
    from tqdm.auto import tqdm

    from . import data
    from .placement import _split_ids

    if max_images is not None and max_images < 1:
        raise ValueError(f"max_images must be ≥ 1, got {max_images}")
    ids = _split_ids(ccp_root, split)[:max_images]
    lookup = data.label_lookup(data.read_label_names(ccp_root))
    saliency = _saliency_model(saliency)
    if segmenter is None:
        from .segment import ClothSegmenter

        segmenter = ClothSegmenter()
    scores = {m: {t: [] for t in TARGETS} for m in METHODS}
    seconds = {m: 0.0 for m in METHODS}
    for i in tqdm(ids, desc="cut-outs", disable=not progress):
        img = as_uint8(data.load_photo(ccp_root, i))
        gt = data.load_groundtruth(ccp_root, i)
        targets = {"person": person_mask(gt), "clothes": clothes_mask(gt, lookup)}
        t0 = time.perf_counter()
        sal = saliency.predict(img)
        t_sal = time.perf_counter() - t0
        masks, spent = {"saliency": sal > SALIENCY_THRESHOLD}, {"saliency": t_sal}
        t0 = time.perf_counter()
        masks["grabcut_auto"] = grabcut_mask(img, auto_rect(img, sal, margin=margin), iters)
        spent["grabcut_auto"] = t_sal + time.perf_counter() - t0
        box = mask_box(targets["person"])
        t0 = time.perf_counter()
        masks["grabcut_box"] = (grabcut_mask(img, expand_box(box, img.shape[:2], margin), iters)
                                if box is not None else np.zeros(img.shape[:2], bool))
        spent["grabcut_box"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        masks["cloth"] = cloth_cutout(img, segmenter)
        spent["cloth"] = time.perf_counter() - t0
        for m in METHODS:
            seconds[m] += spent[m]
            for t in TARGETS:
                scores[m][t].append(iou(masks[m], targets[t]))
    n = max(len(ids), 1)
    return {"split": split, "images": len(ids), "iters": iters, "margin": margin,
            "iou": {m: {t: float(np.mean(v)) if v else float("nan") for t, v in s.items()}
                    for m, s in scores.items()},
            "seconds": {m: s / n for m, s in seconds.items()}}


def cutout_table(result: dict) -> list[str]:
    """:func:`evaluate_cutout`'s result as Markdown table lines."""
    lines = ["| method | what | IoU person | IoU clothes | s / photo |", "|---|---|---:|---:|---:|"]
    for m in METHODS:
        r = result["iou"][m]
        what = _DESCRIPTIONS[m].format(margin=100 * result["margin"])
        lines.append(f"| {m} | {what} | {r['person']:.4f} | {r['clothes']:.4f} | "
                     f"{result['seconds'][m]:.2f} |")
    return lines

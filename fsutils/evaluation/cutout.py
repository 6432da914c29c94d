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

:func:`compare_cutouts` makes the similarity table of the stylised cut-outs: each method's
cut-out (on white) goes through a fast style model, and :func:`fsutils.metrics.image_similarity`
compares the result with the content photo, the style image and the stylised *truth cut* (the
annotated person cut out the same way).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

__all__ = ["Rect", "GRABCUT_ITERS", "SALIENCY_THRESHOLD", "BOX_MARGIN", "METHODS", "TARGETS",
           "mask_box", "expand_box", "auto_rect", "grabcut_mask", "saliency_cutout",
           "cloth_cutout", "cutout", "iou", "person_mask", "clothes_mask", "evaluate_cutout",
           "cutout_table", "SIMILARITY_ROWS", "SIMILARITY_COLUMNS", "CutoutComparison",
           "compare_cutouts", "similarity_table"]

from ..viz import Box
from .overlap import iou

#: A rectangle is the kit's :class:`fsutils.viz.Box`: ``(x0, y0, x1, y1)`` in pixels, left, top,
#: right and bottom (the last two exclusive), the order of ``PIL.Image.crop``.
Rect = Box
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


def _rgb(photo: Any) -> np.ndarray:
    """A photo (PIL image, H×W×3 uint8 or float 0..1 array, path or bytes) as the uint8 H×W×3
    RGB array OpenCV works on (:func:`fsutils.io.to_rgb`)."""
    from .. import io

    return np.asarray(io.to_rgb(photo))


def mask_box(mask: np.ndarray) -> Rect | None:
    """The tight box ``(x0, y0, x1, y1)`` of the True pixels of ``mask``; None when there are none."""
    ys, xs = np.nonzero(np.asarray(mask))
    if ys.size == 0:
        return None
    return Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def expand_box(rect: Sequence[int], shape: tuple[int, int], margin: float = BOX_MARGIN) -> Rect:
    """``rect`` = ``(x0, y0, x1, y1)`` grown by ``margin`` × its width and height (half on each
    side), then clipped so that it stays at least one pixel inside an image of ``shape`` = (H, W)."""
    if margin < 0:
        raise ValueError(f"margin must be ≥ 0, got {margin}")
    h, w = shape
    x0, y0, x1, y1 = rect
    dx, dy = margin * (x1 - x0) / 2, margin * (y1 - y0) / 2
    x0, y0 = max(1, int(np.floor(x0 - dx))), max(1, int(np.floor(y0 - dy)))
    x1, y1 = min(w - 1, int(np.ceil(x1 + dx))), min(h - 1, int(np.ceil(y1 + dy)))
    return Box(x0, y0, max(x0 + 1, x1), max(y0 + 1, y1))


def _saliency_model(saliency: Any = None, device: Any = None):
    if saliency is not None:
        return saliency
    from ..saliency import SaliencyModel

    return SaliencyModel("u2netp", device)


def auto_rect(photo: Any, saliency_map: np.ndarray | None = None, *, saliency: Any = None,
              threshold: float = SALIENCY_THRESHOLD, margin: float = BOX_MARGIN) -> Rect:
    """GrabCut's rectangle without a user: the bounding box of the saliency map above
    ``threshold``, grown by ``margin`` (:func:`expand_box`). Pass a ``saliency_map`` already
    computed (float H×W in 0..1), or a ``saliency`` model (default: U2NETP)."""
    img = _rgb(photo)
    if saliency_map is None:
        saliency_map = _saliency_model(saliency).predict(img)
    saliency_map = np.asarray(saliency_map)
    if saliency_map.shape != img.shape[:2]:
        raise ValueError(f"the saliency map is {saliency_map.shape}, the photo {img.shape[:2]}; "
                         "compute the map at the photo's size.")
    box = mask_box(saliency_map > threshold)
    if box is None:
        raise ValueError(f"no pixel of the saliency map is above {threshold}, so there is no "
                         "box to start GrabCut from; draw one and pass rect=(x0, y0, x1, y1).")
    return expand_box(box, img.shape[:2], margin)


def _check_rect(rect: Sequence[int], shape: tuple[int, int]) -> Rect:
    h, w = shape
    try:
        x0, y0, x1, y1 = (int(v) for v in rect)
    except (TypeError, ValueError):
        raise ValueError(f"rect must be four integers (x0, y0, x1, y1), got {rect!r}") from None
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"rect {(x0, y0, x1, y1)} is not inside the {w}×{h} photo; give "
                         "(x0, y0, x1, y1) with 0 ≤ x0 < x1 ≤ width and 0 ≤ y0 < y1 ≤ height.")
    if (x1 - x0) * (y1 - y0) >= w * h:
        raise ValueError(f"rect {(x0, y0, x1, y1)} covers the whole photo, so GrabCut has no "
                         "background to learn from; leave at least a one-pixel border.")
    return Box(x0, y0, x1, y1)


def grabcut_mask(photo: Any, rect: Sequence[int] | None = None, iters: int = GRABCUT_ITERS, *,
                 saliency: Any = None, saliency_map: np.ndarray | None = None,
                 seed: int = 0) -> np.ndarray:
    """GrabCut foreground (bool H×W) of ``photo`` from ``rect`` = ``(x0, y0, x1, y1)`` (left, top,
    right and bottom, the last two exclusive: :class:`fsutils.viz.Box`, drawn by ``viz.panels``).

    Everything outside the rectangle is background; inside, GrabCut decides. With ``rect=None``
    the rectangle is :func:`auto_rect` (saliency bounding box + 5 %), from ``saliency_map`` if
    given, else from the ``saliency`` model (default U2NETP). ``seed`` fixes OpenCV's random
    initialisation of the colour models (k-means), so a result can be reproduced.
    """
    import cv2

    if int(iters) != iters or iters < 1:
        raise ValueError(f"iters must be an integer ≥ 1, got {iters!r}")
    img = _rgb(photo)
    if rect is None:
        rect = auto_rect(img, saliency_map, saliency=saliency)
    x0, y0, x1, y1 = _check_rect(rect, img.shape[:2])
    cv2.setRNGSeed(seed)
    mask = np.zeros(img.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, int(iters),
                cv2.GC_INIT_WITH_RECT)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def saliency_cutout(photo: Any, saliency: Any = None, threshold: float = SALIENCY_THRESHOLD,
                    saliency_map: np.ndarray | None = None) -> np.ndarray:
    """The U-2-Net cut-out: saliency above ``threshold`` (bool H×W)."""
    if saliency_map is None:
        saliency_map = _saliency_model(saliency).predict(_rgb(photo))
    return np.asarray(saliency_map) > threshold


def cloth_cutout(photo: Any, segmenter: Any = None, garments: Sequence[int | str] | None = None,
                 labels: np.ndarray | None = None) -> np.ndarray:
    """The cloth model's cut-out: the union of ``garments`` (default every garment class,
    :data:`fsutils.segment.GARMENT_CLASSES`) of the label map (bool H×W). ``segmenter`` defaults
    to the kit's default cloth model."""
    from ..segment import GARMENT_CLASSES, ClothSegmenter, combine_masks

    if labels is None:
        labels = (segmenter or ClothSegmenter()).predict(_rgb(photo))
    return combine_masks(labels, GARMENT_CLASSES if garments is None else garments)


def cutout(photo: Any, mask: np.ndarray, background: float = 1.0) -> np.ndarray:
    """The photo where ``mask`` is True, ``background`` (0..1 grey, white by default) elsewhere:
    float32 H×W×3 in 0..1."""
    from .. import io

    img = io.to_float(io.to_rgb(photo))
    m = np.asarray(mask, dtype=bool)
    if m.shape != img.shape[:2]:
        raise ValueError(f"mask {m.shape} and photo {img.shape[:2]} differ in size")
    return np.where(m[..., None], img, np.float32(background)).astype(np.float32)


def person_mask(groundtruth: np.ndarray) -> np.ndarray:
    """CCP's person: every pixel whose label is not "null" (index 0)."""
    return np.asarray(groundtruth) != 0


def clothes_mask(groundtruth: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    """CCP's clothes: the pixels whose label maps to a garment class (1–3) through ``lookup``
    (:func:`fsutils.data.label_lookup`)."""
    return lookup[np.asarray(groundtruth)] > 0


def _grabcut_from(img: np.ndarray, box: Rect | None, iters: int, margin: float) -> np.ndarray:
    """GrabCut from ``box`` grown by ``margin``; no box (nothing to start from) is no cut-out."""
    if box is None:
        return np.zeros(img.shape[:2], bool)
    return grabcut_mask(img, expand_box(box, img.shape[:2], margin), iters)


def evaluate_cutout(ccp_root: str | Path, split: str = "val", *, max_images: int | None = None,
                    iters: int = GRABCUT_ITERS, margin: float = BOX_MARGIN,
                    saliency: Any = None, segmenter: Any = None, device: Any = None,
                    progress: bool = True, skipped: list[tuple[Path, str]] | None = None) -> dict:
    """IoU of every method of :data:`METHODS` for both targets on the photos of a CCP ``split``.

    ``iou[method][target]`` is the mean over photos of each photo's IoU, over the photos that
    have the target (``scored[target]`` of them: a photo without annotated clothes has no clothes
    to cut out, and is left out of that mean rather than scored 1 or 0); ``seconds[method]`` the
    mean time per photo (``grabcut_auto`` includes the saliency map it starts from; where no
    pixel of that map is above 0.5 there is no box, so its cut-out is empty). Models default to
    U2NETP and the kit's default cloth model, on ``device`` (None: the best available).

    A photo that cannot be read or evaluated (an annotation of another size than its photo
    included) raises, or with a ``skipped`` list is appended to it and left out
    (:func:`fsutils.evaluation.photos.evaluate_photos`); ``images`` counts the photos scored."""
    from .. import data
    from .photos import evaluate_photos, select_ids

    if int(iters) != iters or iters < 1 or not margin >= 0:  # refused before any work
        raise ValueError(f"iters must be a whole number ≥ 1 and margin ≥ 0, got {iters!r} and "
                         f"{margin!r}.")
    ids = select_ids(ccp_root, split, max_images)
    lookup = data.label_lookup(data.read_label_names(ccp_root))
    saliency = _saliency_model(saliency, device)
    if segmenter is None:
        from ..segment import ClothSegmenter

        segmenter = ClothSegmenter(device=device)

    def one(image_id: str, photo: Image.Image, gt: np.ndarray) -> tuple[dict, dict]:
        img = _rgb(photo)
        targets = {"person": person_mask(gt), "clothes": clothes_mask(gt, lookup)}
        t0 = time.perf_counter()
        sal = saliency.predict(img)
        t_sal = time.perf_counter() - t0
        masks, spent = {"saliency": sal > SALIENCY_THRESHOLD}, {"saliency": t_sal}
        t0 = time.perf_counter()
        masks["grabcut_auto"] = _grabcut_from(img, mask_box(masks["saliency"]), iters, margin)
        spent["grabcut_auto"] = t_sal + time.perf_counter() - t0
        t0 = time.perf_counter()
        masks["grabcut_box"] = _grabcut_from(img, mask_box(targets["person"]), iters, margin)
        spent["grabcut_box"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        masks["cloth"] = cloth_cutout(img, segmenter)
        spent["cloth"] = time.perf_counter() - t0
        # a photo without annotated clothes (or person) has no such cut-out to score: left out
        return {m: {t: iou(masks[m], targets[t]) if targets[t].any() else float("nan")
                    for t in TARGETS} for m in METHODS}, spent

    per_photo = evaluate_photos(ccp_root, ids, one, skipped=skipped, progress=progress,
                                     desc="cut-outs")
    def mean(values: list[float]) -> float:
        kept = [v for v in values if v == v]
        return float(np.mean(kept)) if kept else float("nan")

    return {"split": split, "images": len(per_photo), "iters": iters, "margin": margin,
            "iou": {m: {t: mean([s[m][t] for s, _ in per_photo]) for t in TARGETS}
                    for m in METHODS},
            "scored": {t: sum(s[METHODS[0]][t] == s[METHODS[0]][t] for s, _ in per_photo)
                       for t in TARGETS},
            "seconds": {m: float(np.mean([spent[m] for _, spent in per_photo])) for m in METHODS}}


def cutout_table(result: dict) -> list[str]:
    """:func:`evaluate_cutout`'s result as Markdown table lines."""
    n = result.get("scored", {})
    head = [f"IoU {t}" + (f" ({n[t]} photos)" if t in n and n[t] != result["images"] else "")
            for t in TARGETS]
    lines = [f"| method | what | {head[0]} | {head[1]} | s / photo |", "|---|---|---:|---:|---:|"]
    for m in METHODS:
        r = result["iou"][m]
        what = _DESCRIPTIONS[m].format(margin=100 * result["margin"])
        lines.append(f"| {m} | {what} | {r['person']:.4f} | {r['clothes']:.4f} | "
                     f"{result['seconds'][m]:.2f} |")
    return lines


#: Rows and columns of the similarity table (:func:`similarity_table`).
SIMILARITY_ROWS = ("U2-Net", "GrabCut", "cloth model")
SIMILARITY_COLUMNS = ("content", "style", "truth cut")


@dataclass
class CutoutComparison:
    """One photo's cut-outs, their stylised versions and the similarity scores.

    ``masks`` and ``stylised`` hold one entry per row of :data:`SIMILARITY_ROWS` plus ``"truth"``;
    ``scores[row][column]`` is ``image_similarity`` × 100 for the columns of
    :data:`SIMILARITY_COLUMNS`; ``rect`` is the GrabCut rectangle."""

    photo: np.ndarray
    style_image: Image.Image
    rect: Rect
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    stylised: dict[str, Image.Image] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


def compare_cutouts(photo: Any, truth: np.ndarray, style: str = "candy", *,
                    style_image: Any = None, backend: str | None = None,
                    rect: Sequence[int] | None = None, saliency: Any = None,
                    segmenter: Any = None, photo_size: int | None = 512) -> CutoutComparison:
    """Cut ``photo`` out with U2-Net (saliency > 0.5), GrabCut and the cloth model, stylise each
    cut-out (on white) with the fast model ``style``, and score each against the content photo,
    the style image and the stylised truth cut (``truth``: the bool person mask, e.g.
    :func:`person_mask` of the CCP annotation).

    GrabCut starts from ``rect``, by default the truth's box grown by 5 % — the rectangle a
    careful user draws. ``style_image`` defaults to the bundled picture the fast model was trained
    on (``candy.jpg``, ``mosaic.jpg`` …, else ``style`` must name a file); ``backend`` is the
    similarity backend (default :data:`fsutils.metrics.DEFAULT_BACKEND`). The photo is first
    shrunk to ``photo_size`` on its longer side (the fast models' working size)."""
    from .. import io, metrics
    from ..style.fast import fast_stylize, registry_name

    backend = backend or metrics.DEFAULT_BACKEND
    if backend not in metrics.BACKENDS:
        raise ValueError(f"unknown similarity backend {backend!r}; choose one of {', '.join(metrics.BACKENDS)}")
    registry_name(style)  # refuses an unknown style before any work
    img = _rgb(photo)
    truth = np.asarray(truth, bool)
    if truth.shape != img.shape[:2]:
        raise ValueError(f"the truth mask is {truth.shape}, the photo {img.shape[:2]}")
    if style_image is None:
        style_image = io.load_image(io.sample_path(f"{style}.jpg"))
    style_image = io.to_rgb(style_image)
    img = np.asarray(io.fit_long_side(Image.fromarray(img), photo_size, enlarge=False))
    truth = np.asarray(io.fit_long_side(Image.fromarray(truth), photo_size, enlarge=False,
                                        resample=Image.Resampling.NEAREST))
    if rect is None:
        box = mask_box(truth)
        if box is None:
            raise ValueError("the truth mask is empty: there is no person to cut out.")
        rect = expand_box(box, truth.shape)
    rect = _check_rect(rect, img.shape[:2])
    masks = {"U2-Net": saliency_cutout(img, saliency), "GrabCut": grabcut_mask(img, rect),
             "cloth model": cloth_cutout(img, segmenter), "truth": truth}
    stylised = {k: fast_stylize(cutout(img, m), style) for k, m in masks.items()}
    columns = {"content": img, "style": style_image, "truth cut": stylised["truth"]}
    rows = {k: stylised[k] for k in SIMILARITY_ROWS}
    scores = metrics.similarity_matrix(rows, columns, backend=backend)
    return CutoutComparison(img, style_image, rect, masks, stylised, scores)


def similarity_table(comparisons: Sequence[CutoutComparison]) -> list[str]:
    """The mean scores of several :class:`CutoutComparison` as Markdown table lines (rows: cut-out
    method; columns: similarity of the stylised cut-out to the content photo, the style image and
    the stylised truth cut), with the IoU of each cut-out against the truth."""
    if not comparisons:
        raise ValueError("no comparison to tabulate")
    lines = ["| cut-out | to content | to style | to truth cut | IoU with truth |",
             "|---|---:|---:|---:|---:|"]
    for row in SIMILARITY_ROWS:
        mean = [float(np.mean([c.scores[row][col] for c in comparisons])) for col in SIMILARITY_COLUMNS]
        overlap = float(np.mean([iou(c.masks[row], c.masks["truth"]) for c in comparisons]))
        lines.append(f"| {row} | " + " | ".join(f"{v:.2f}" for v in mean) + f" | {overlap:.3f} |")
    return lines

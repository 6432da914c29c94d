"""Blend weights that follow the garment's real edge: the segmenter's soft probability, and the
mask refined with the photo as guide (guided filter).

* :func:`garment_probability` — the probability that a pixel belongs to one of the chosen
  garments (the sum of their class probabilities), instead of the arg-max label's 0/1;
* :func:`soft_mask` — that probability, optionally multiplied by the saliency map;
* :func:`guided_filter` — He, Sun and Tang's guided filter (ECCV 2010 / TPAMI 2013): a local linear
  model ``q = a·I + b`` of the input in each window of the guide image ``I``, so that ``q`` has an
  edge only where the photo has one;
* :func:`refine_mask` — a garment mask (hard or soft) snapped to the photo's edges with it.

The guided filter is the paper's Algorithm 1 (colour guide: a 3×3 covariance per pixel, solved by
its closed-form inverse) written with ``cv2.boxFilter``: about a dozen box filters, each O(1) per
pixel whatever the radius (a 512-px photo takes a few milliseconds). OpenCV's own
``cv2.ximgproc.guidedFilter`` computes the same thing but lives only in the ``opencv-contrib``
wheels, which replace the ``cv2`` module of ``opencv-python(-headless)`` rather than adding to it;
the kit does not swap a core dependency for one 30-line function.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import cv2
import numpy as np

from .compose import DEFAULT_STRENGTH, _image, _plane

__all__ = ["garment_probability", "soft_mask", "guided_filter", "refine_mask"]


def garment_probability(proba: np.ndarray, classes: Iterable[int]) -> np.ndarray:
    """The probability of the chosen garment ``classes`` at each pixel: float32 H×W in 0..1.

    ``proba`` is a segmenter's K×H×W class probabilities (each pixel sums to 1, e.g.
    :meth:`fsutils.segment.ClothSegmenter.predict_proba`); the result is the sum of the chosen
    classes' planes. Where the arg-max label flips from 0 to 1 this passes through 0.5 smoothly.
    """
    if not isinstance(proba, np.ndarray) or proba.ndim != 3:
        raise ValueError(f"proba must be a K×H×W array of class probabilities, got shape "
                         f"{getattr(proba, 'shape', None)}; use the segmenter's predict_proba().")
    cls = sorted({int(c) for c in classes})
    if not cls:
        raise ValueError("choose at least one garment class (e.g. (1, 2, 3)).")
    if cls[0] < 0 or cls[-1] >= proba.shape[0]:
        raise ValueError(f"garment classes {cls} are out of range for {proba.shape[0]} class "
                         f"probability planes (0–{proba.shape[0] - 1}).")
    out = proba[cls].astype(np.float32).sum(axis=0)
    return np.clip(out, 0.0, 1.0, out=out)


def soft_mask(probability: np.ndarray, saliency: np.ndarray | None = None,
              strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """The garment probability as a blend weight, times ``clip(strength·saliency, 0, 1)`` when a
    saliency map is given (float32 H×W in 0..1)."""
    if np.ndim(probability) != 2:
        raise ValueError(f"probability must be an H×W map, got shape {np.shape(probability)}; for "
                         "K×H×W class probabilities use garment_probability() first.")
    p = _plane("probability", probability, np.shape(probability))
    w = np.clip(p, 0.0, 1.0)
    if saliency is not None:
        _check_strength(strength)
        sal = _plane("saliency", saliency, p.shape)
        w *= np.clip(sal * np.float32(strength), 0.0, 1.0)
    return w


def _check_strength(strength: float) -> None:
    if not isinstance(strength, numbers.Real) or not math.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number ≥ 0, got {strength!r}.")


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)² window (the border mirrored), float32."""
    return cv2.boxFilter(x, cv2.CV_32F, (2 * radius + 1, 2 * radius + 1),
                         borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter of ``src`` (H×W) with ``guide`` (H×W×3 or H×W, float in 0..1).

    In every (2·radius+1)² window, ``src`` is fitted by ``a·guide + b`` (ridge regression with
    regularisation ``eps``); the output is the mean of the fits covering a pixel. Where the guide is
    flat (variance ≪ eps) this is a double box blur of ``src``; where the guide has an edge (variance
    ≫ eps) the output follows the guide's edge. ``eps`` is in squared intensity units (0.01 ≈ a
    contrast of 0.1). Returns float32 H×W (not clipped: it may overshoot 0..1 slightly).
    """
    if not isinstance(radius, numbers.Integral) or radius < 1:
        raise ValueError(f"radius must be a whole number of pixels ≥ 1, got {radius!r}.")
    if not isinstance(eps, numbers.Real) or not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}.")
    guide = np.asarray(guide)
    if guide.ndim == 2:
        guide = guide[..., None]
    if guide.ndim != 3 or guide.shape[2] not in (1, 3):
        raise ValueError(f"guide must be H×W×3 or H×W, got shape {guide.shape}.")
    if not np.issubdtype(guide.dtype, np.floating):
        raise ValueError(f"guide must be a float image in 0..1, got dtype {guide.dtype}; "
                         "convert it with fsutils.io.to_float().")
    p = _plane("src", src, guide.shape[:2])
    r = int(radius)
    if guide.shape[2] == 1:
        g = guide[..., 0].astype(np.float32)
        mean_i, mean_p = _box(g, r), _box(p, r)
        a = (_box(g * p, r) - mean_i * mean_p) / (_box(g * g, r) - mean_i * mean_i + np.float32(eps))
        b = mean_p - a * mean_i
        return _box(a, r) * g + _box(b, r)
    g = _image("guide", guide)
    mean_i = _box(g, r)                                   # H×W×3
    mean_p = _box(p, r)
    cov_ip = _box(g * p[..., None], r) - mean_i * mean_p[..., None]
    # The symmetric 3×3 covariance of the guide in each window, plus eps on the diagonal.
    pairs = {(i, j): _box(g[..., i] * g[..., j], r) - mean_i[..., i] * mean_i[..., j]
             for i in range(3) for j in range(i, 3)}
    e = np.float32(eps)
    rr, rg, rb = pairs[0, 0] + e, pairs[0, 1], pairs[0, 2]
    gg, gb, bb = pairs[1, 1] + e, pairs[1, 2], pairs[2, 2] + e
    # a = Σ⁻¹ · cov_ip by the adjugate (Σ is symmetric positive definite: eps > 0).
    inv = [[gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb],
           [None, rr * bb - rb * rb, rb * rg - rr * gb],
           [None, None, rr * gg - rg * rg]]
    for i in range(3):
        for j in range(i):
            inv[i][j] = inv[j][i]
    det = rr * inv[0][0] + rg * inv[0][1] + rb * inv[0][2]
    a = np.stack([(inv[i][0] * cov_ip[..., 0] + inv[i][1] * cov_ip[..., 1]
                   + inv[i][2] * cov_ip[..., 2]) / det for i in range(3)], axis=-1)
    b = mean_p - (a * mean_i).sum(axis=-1)
    return (_box(a, r) * g).sum(axis=-1) + _box(b, r)


#: Default window radius (px) and regularisation of the guided filter of :func:`refine_mask`
#: (also :class:`fsutils.blend.BlendParams`'s).
DEFAULT_RADIUS = 8
DEFAULT_EPS = 1e-4


def refine_mask(photo: np.ndarray, mask: np.ndarray, radius: int = DEFAULT_RADIUS,
                eps: float = DEFAULT_EPS,
                sharpness: float = 4.0) -> np.ndarray:
    """A garment mask (bool, or soft such as :func:`garment_probability`; H×W) moved onto the
    photo's edges: :func:`guided_filter` with the photo as guide, then a ramp of slope
    ``sharpness`` around 0.5, ``clip(sharpness·(q − 0.5) + 0.5, 0, 1)`` (float32 H×W).

    The filter alone (``sharpness=1``) also blurs the mask where the photo is flat; the ramp keeps
    the edge where the filter put it, a pixel or two wide. Its default (4) and the filter's
    ``radius``/``eps`` defaults were chosen on CCP training photos
    (``python -m fsutils.evaluate blend --split train``).
    """
    photo = _image("photo", photo)
    m = _plane("mask", mask, photo.shape[:2])
    if not isinstance(sharpness, numbers.Real) or not math.isfinite(sharpness) or sharpness <= 0:
        raise ValueError(f"sharpness must be a finite number > 0, got {sharpness!r}.")
    out = guided_filter(photo, m, radius, eps)
    if sharpness != 1:
        out -= np.float32(0.5)
        out *= np.float32(sharpness)
        out += np.float32(0.5)
    return np.clip(out, 0.0, 1.0, out=out)

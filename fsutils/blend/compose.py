"""Compositing a stylised image ``S`` over the photo ``C`` through a weight map ``W``.

Every blend of the kit is ``C_final = W·S + (1−W)·C`` for some weight ``W`` in 0..1
(:func:`weighted_blend`); the functions here are the weights that need nothing but the garment
mask (and the saliency map), on float32 H×W×3 images in 0..1 (convert with
:func:`fsutils.io.to_float`):

* :func:`hard_paste` — the pre-saliency baseline: stylised pixels wherever the mask is set;
* :func:`saliency_blend` — equation 2 of the report, ``C_final = M·S + (1−M)·C`` with the
  saliency map ``M`` inside the garment mask and the untouched photo elsewhere;
* :func:`feathered_blend` — the mask softened by a Gaussian blur.
"""
from __future__ import annotations

import math
import numbers

import cv2
import numpy as np

#: Default saliency strength of the saliency blends and default feather width (px): written once
#: here, read by every blend function and by :class:`fsutils.blend.BlendParams`.
DEFAULT_STRENGTH = 1.0
DEFAULT_WIDTH = 8.0
_CHUNK_VALUES = 49_152  # floats per band in _mix (192 kB)
_FEATHER_STEP = 4.0  # blur widths ≥ 2·this are computed on a grid reduced by width // this

__all__ = ["weighted_blend", "hard_paste", "saliency_blend", "feathered_blend", "feather_mask"]


def _image(name: str, arr: np.ndarray) -> np.ndarray:
    """Check one H×W×3 float image; return it as float32 (no copy when it already is)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (H×W×3 float in 0..1), got "
                        f"{type(arr).__name__}; convert a PIL image with fsutils.io.to_float().")
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} must be H×W×3, got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{name} must be a float image in 0..1, got dtype {arr.dtype}; "
                         "convert it with fsutils.io.to_float() (uint8 / 255).")
    return arr.astype(np.float32, copy=False)


def _plane(name: str, arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Check one H×W mask or map (bool or float) of the given size; return float32."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {shape}, got {type(arr).__name__}.")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape} but the images are {shape[0]}×{shape[1]} "
                         f"(expected {shape}); resize it to the photo first.")
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} must be bool or float in 0..1, got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(f"{name} is an integer array with values outside 0..1 "
                             f"({arr.min()}..{arr.max()}); pass a bool mask or floats in 0..1 "
                             "(for a label map use fsutils.segment.combine_masks).")
    return arr.astype(np.float32, copy=False)


def _pair(content: np.ndarray, stylized: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = _image("content", content)
    s = _image("stylized", stylized)
    if c.shape != s.shape:
        raise ValueError(f"content {c.shape} and stylized {s.shape} must have the same shape; "
                         "resize the stylised image to the photo first.")
    return c, s


def _mix(c: np.ndarray, s: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``m·s + (1−m)·c`` computed as ``c + m·(s−c)``, float32, in bands of rows.

    Working on about 200 kB at a time keeps the temporaries in the CPU cache and avoids
    allocating full-size scratch images; the weight is expanded to three channels with
    ``cv2.merge`` because numpy multiplies same-shape arrays much faster than it broadcasts
    H×W×1 over H×W×3. About 2× faster than the three whole-image numpy operations.
    """
    out = np.empty(c.shape, np.float32)
    rows = max(1, _CHUNK_VALUES // (3 * c.shape[1]))
    for y in range(0, c.shape[0], rows):
        band = slice(y, y + rows)
        o = out[band]
        np.subtract(s[band], c[band], out=o)
        w = m[band]
        o *= cv2.merge([w, w, w])
        o += c[band]
    return out


def weighted_blend(content: np.ndarray, stylized: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``weight·stylized + (1−weight)·content`` for an H×W weight map in 0..1 (float32 H×W×3).

    Pixels with weight 0 are the photo bit for bit; the weight is clipped to 0..1.
    """
    c, s = _pair(content, stylized)
    w = np.clip(_plane("weight", weight, c.shape[:2]), 0.0, 1.0)
    return _mix(c, s, w)


def hard_paste(content: np.ndarray, stylized: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Stylised pixels where ``mask`` is set, the photo elsewhere (the baseline).

    ``mask`` is a bool H×W array; a float mask is thresholded at 0.5.
    Returns a new float32 H×W×3 image.
    """
    c, s = _pair(content, stylized)
    m = _plane("mask", mask, c.shape[:2])
    out = np.array(c, dtype=np.float32, order="C", copy=True)
    # cv2.copyTo is one pass in C++; np.where with a broadcast mask is about 5× slower.
    cv2.copyTo(np.ascontiguousarray(s), (m > 0.5).view(np.uint8), out)
    return out


def saliency_blend(content: np.ndarray, stylized: np.ndarray, saliency: np.ndarray,
                   mask: np.ndarray, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """Equation 2 of the report: ``C_final = M·S + (1−M)·C`` inside the garment mask.

    ``M = clip(strength · saliency, 0, 1) · mask``: with a bool mask the photo is returned unchanged
    outside the garment and, inside it, salient pixels take the stylised value and non-salient ones
    keep the photo. ``strength`` scales the saliency (0 → the photo, 1 → the paper's formula,
    above 1 → more of the style). A float mask (e.g. :func:`feather_mask`) multiplies ``M``.
    """
    c, s = _pair(content, stylized)
    sal = _plane("saliency", saliency, c.shape[:2])
    m = _plane("mask", mask, c.shape[:2])
    if not isinstance(strength, numbers.Real) or not math.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number ≥ 0, got {strength!r}.")
    weight = sal * np.float32(strength) if strength != 1.0 else sal.copy()
    np.clip(weight, 0.0, 1.0, out=weight)
    weight *= m
    return _mix(c, s, weight)


def feather_mask(mask: np.ndarray, width: float) -> np.ndarray:
    """The mask as float32 in 0..1, blurred by a Gaussian with standard deviation ``width`` px.

    The edge ramp spans about ``2.5·width`` pixels, centred on the original boundary;
    ``width=0`` returns the hard mask. Widths of 8 px and more are computed on a reduced grid
    (within 0.005 of the exact blur, several times faster).
    """
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        shape = getattr(mask, "shape", None)
        raise ValueError(f"mask must be a 2-D H×W array, got shape {shape}.")
    return _feather(_plane("mask", mask, mask.shape), width)


def _feather(m: np.ndarray, width: float) -> np.ndarray:
    if not isinstance(width, numbers.Real) or not math.isfinite(width) or width < 0:
        raise ValueError(f"width must be a finite number of pixels ≥ 0, got {width!r}.")
    if width == 0:
        return m.copy()
    width = float(width)
    factor = int(width // _FEATHER_STEP)
    if factor < 2 or min(m.shape) < 8 * factor:
        # ksize (0, 0): OpenCV derives the kernel size from sigma (about ±4σ for float images).
        return cv2.GaussianBlur(m, (0, 0), sigmaX=width, sigmaY=width,
                                borderType=cv2.BORDER_REPLICATE)
    # Wide blurs cost O(σ) per pixel; blur a copy reduced by `factor` instead (area average,
    # Gaussian with the box's variance removed, bilinear back). The result stays within about
    # 0.005 of the exact Gaussian (tests/test_blend.py) at a fraction of the time.
    # Replicate-pad by two reduced pixels (so the bilinear clamp at the border falls in the
    # padding) and up to a multiple of `factor` (so the area average is exact).
    h, w = m.shape
    pad = 2 * factor
    bottom = pad + (-(h + 2 * pad)) % factor
    right = pad + (-(w + 2 * pad)) % factor
    big = cv2.copyMakeBorder(m, pad, bottom, pad, right, cv2.BORDER_REPLICATE)
    hb, wb = big.shape
    small = cv2.resize(big, (wb // factor, hb // factor), interpolation=cv2.INTER_AREA)
    # The area average already blurred by a box of `factor` px, variance (f²−1)/12.
    var = width ** 2 - (factor ** 2 - 1) / 12.0
    sigma = math.sqrt(max(var, 0.25 * factor ** 2)) / factor
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, sigmaY=sigma,
                             borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (wb, hb), interpolation=cv2.INTER_LINEAR)[pad:pad + h, pad:pad + w]


def feathered_blend(content: np.ndarray, stylized: np.ndarray, mask: np.ndarray,
                    width: float = DEFAULT_WIDTH) -> np.ndarray:
    """Stylised image over the photo through the mask blurred by a Gaussian of ``width`` px (σ)."""
    c, s = _pair(content, stylized)
    return _mix(c, s, _feather(_plane("mask", mask, c.shape[:2]), width))

"""How visible a garment boundary is in an image (:func:`seam_score`), and the band around it."""
from __future__ import annotations

import cv2
import numpy as np

from .compose import _image, _plane

__all__ = ["boundary_band", "seam_score"]


def boundary_band(mask: np.ndarray, band: int = 3) -> np.ndarray:
    """Bool H×W: pixels within ``band`` px of the mask boundary (on either side)."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise ValueError(f"mask must be a 2-D H×W array, got shape {getattr(mask, 'shape', None)}.")
    if band < 1:
        raise ValueError(f"band must be ≥ 1 pixel, got {band!r}.")
    m = (_plane("mask", mask, mask.shape) > 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    # Borders count as "same as the nearest pixel", so the image frame is not a boundary.
    grown = cv2.dilate(m, kernel, borderType=cv2.BORDER_REPLICATE)
    shrunk = cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)
    return grown > shrunk


def seam_score(image: np.ndarray, mask: np.ndarray, band: int = 3) -> float:
    """How visible the garment boundary is in ``image``: lower = smoother.

    The mean, over the pixels within ``band`` px of the mask boundary, of the image's derivative
    **across** the boundary (the colour gradient projected on the mask's normal, Euclidean norm
    over the three channels), in intensity units per pixel. A hard paste of a stylised texture
    shows a step there; a good blend does not. Texture running along the edge counts less than a
    jump across it. Returns ``nan`` when the mask has no boundary (empty or full), so compare
    scores of the same crop only.
    """
    img = _image("image", image)
    if not isinstance(mask, np.ndarray) or mask.shape[:2] != img.shape[:2] or mask.ndim != 2:
        raise ValueError(f"mask shape {getattr(mask, 'shape', None)} must be the image's "
                         f"{img.shape[:2]}.")
    sel = boundary_band(mask, band)
    if not sel.any():
        return float("nan")
    # Normal direction from the gradient of a slightly smoothed mask.
    soft = cv2.GaussianBlur(_plane("mask", mask, mask.shape), (0, 0), sigmaX=max(1.0, band / 2),
                            borderType=cv2.BORDER_REPLICATE)
    ny = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)[sel]
    nx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)[sel]
    norm = np.hypot(nx, ny)
    ok = norm > 1e-6
    if not ok.any():
        return float("nan")
    nx, ny = nx[ok] / norm[ok], ny[ok] / norm[ok]
    # Central differences (Sobel/8 has unit gain on a linear ramp).
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, scale=0.125, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, scale=0.125, borderType=cv2.BORDER_REPLICATE)
    across = gx[sel][ok] * nx[:, None] + gy[sel][ok] * ny[:, None]
    return float(np.sqrt((across ** 2).sum(axis=1)).mean())

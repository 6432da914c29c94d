"""Poisson blending (Pérez, Gangnet and Blake, SIGGRAPH 2003) with OpenCV's ``cv2.seamlessClone``.

Inside the garment mask the result keeps the **gradients** of the stylised image while its values
are solved so that they meet the photo at the mask's edge: no colour step at the seam, at the price
of shifting the style's colours towards the photo's. It is the classical baseline for seamless
compositing; it needs no saliency and no soft mask.
"""
from __future__ import annotations

import cv2
import numpy as np

from fsutils.io import to_uint8

from .compose import _pair, _plane

__all__ = ["poisson_blend"]

_PAD = 2  # px added around the photo so that the mask never touches the frame


def poisson_blend(content: np.ndarray, stylized: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The stylised image cloned into the photo inside ``mask`` by ``cv2.seamlessClone``
    (``NORMAL_CLONE``); float32 H×W×3 in 0..1.

    Pixels outside the mask (thresholded at 0.5) are the photo bit for bit; an empty mask returns
    the photo. OpenCV works on 8-bit images, so the values inside the mask are quantised to 1/255.
    """
    c, s = _pair(content, stylized)
    m = _plane("mask", mask, c.shape[:2]) > 0.5
    out = np.array(c, dtype=np.float32, copy=True)
    if not m.any():
        return out
    # seamlessClone clears the mask's one-pixel frame and places the source by the centre of the
    # mask's bounding box: pad so the mask stays clear of the frame, and give exactly that centre
    # so the stylised pixels land where they were.
    pad = [(_PAD, _PAD), (_PAD, _PAD), (0, 0)]
    c8 = np.pad(to_uint8(c), pad, mode="edge")
    s8 = np.pad(to_uint8(s), pad, mode="edge")
    m8 = np.pad(m, pad[:2]).astype(np.uint8) * 255
    x, y, w, h = cv2.boundingRect(m8)
    cloned = cv2.seamlessClone(s8, c8, m8, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
    inner = cloned[_PAD:-_PAD, _PAD:-_PAD].astype(np.float32) / np.float32(255)
    out[m] = inner[m]
    return out

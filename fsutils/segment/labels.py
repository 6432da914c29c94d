"""Label maps of the cloth segmentation (0 background, 1 upper body, 2 lower body, 3 full body):
masks by class, cleaning, and drawing in the official colours. numpy and PIL only."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from fsutils import io as fio
from fsutils.garments import CLASS_NAMES, DEFAULT_GARMENTS, class_index

__all__ = ["GARMENT_CLASSES", "PALETTE", "masks", "combine_masks", "clean_labels", "colorize",
           "overlay"]

#: The garment classes (every class but the background): what "all garments" means.
GARMENT_CLASSES: tuple[int, ...] = DEFAULT_GARMENTS
#: Label index → RGB colour, as in the official outputs (black, red, green, yellow).
PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [255, 255, 0]], np.uint8)
PALETTE.setflags(write=False)

def _labels(labels: np.ndarray) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be an integer H×W label map, got shape {arr.shape} and "
                         f"dtype {arr.dtype}")
    return arr


def masks(labels: np.ndarray) -> dict[str, np.ndarray]:
    """One bool H×W mask per class name (background included)."""
    lab = _labels(labels)
    return {name: lab == i for i, name in enumerate(CLASS_NAMES)}


def combine_masks(labels: np.ndarray, classes: Iterable[int | str] | int | str) -> np.ndarray:
    """Bool H×W: pixels whose label is any of ``classes`` (indices or names, e.g.
    ``("upper body", 3)``). An empty selection gives an all-False mask."""
    lab = _labels(labels)
    if isinstance(classes, (int, np.integer, str)):
        classes = [classes]
    idx = sorted({class_index(c) for c in classes})
    if not idx:
        return np.zeros(lab.shape, bool)
    table = np.zeros(max(256, int(lab.max()) + 1) if lab.size else 256, bool)
    table[idx] = True
    if lab.size and lab.min() < 0:
        return np.isin(lab, idx)
    return table[lab]


def clean_labels(labels: np.ndarray, min_fraction: float = 0.002) -> np.ndarray:
    """The label map with small specks removed: each connected garment region smaller than
    ``min_fraction`` of the photo becomes background, and each enclosed background hole of that
    size is filled with the garment around it (the most common label on its one-pixel border)."""
    from scipy import ndimage

    lab = _labels(labels).copy()
    limit = min_fraction * lab.size
    for c in range(1, len(CLASS_NAMES)):
        parts, n = ndimage.label(lab == c)
        if n:
            sizes = np.bincount(parts.ravel())
            lab[(sizes < limit)[parts] & (parts > 0)] = 0
    holes, n = ndimage.label(lab == 0)
    if n:
        sizes = np.bincount(holes.ravel())
        edge = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
        for h in np.flatnonzero(sizes < limit):
            if h == 0 or h in edge:
                continue
            region = holes == h
            ring = ndimage.binary_dilation(region) & ~region
            lab[region] = np.bincount(lab[ring], minlength=len(CLASS_NAMES)).argmax()
    return lab


def colorize(labels: np.ndarray, palette: np.ndarray = PALETTE) -> np.ndarray:
    """The label map as a uint8 H×W×3 colour image (labels outside the palette are black)."""
    lab = _labels(labels)
    pal = np.asarray(palette, np.uint8)
    if pal.ndim != 2 or pal.shape[1] != 3:
        raise ValueError(f"palette must be N×3 RGB, got shape {pal.shape}")
    safe = np.where((lab >= 0) & (lab < len(pal)), lab, 0)
    return pal[safe]


def overlay(image: Any, labels: np.ndarray, opacity: float = 0.5,
            palette: np.ndarray = PALETTE) -> np.ndarray:
    """The photo with the garment classes tinted (background untouched) as uint8 H×W×3.

    ``image``: PIL image or H×W×3 array (uint8 or float 0..1); ``opacity`` the colour's opacity.
    """
    photo = fio.to_float(image)
    lab = _labels(labels)
    if photo.shape[:2] != lab.shape:
        raise ValueError(f"labels {lab.shape} and image {photo.shape[:2]} must have the same size")
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"opacity must be in 0..1, got {opacity!r}")
    colours = colorize(lab, palette).astype(np.float32) / 255
    a = np.where(lab > 0, np.float32(opacity), np.float32(0))[..., None]
    out = photo * (1 - a) + colours * a
    return fio.to_uint8(out)

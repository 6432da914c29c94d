"""U-2-Net's official input: ``RescaleT(320)`` (scikit-image's anti-aliased resize, done with two
small matrices in torch) and ``ToTensorLab(flag=0)`` (divide by the maximum, ImageNet
statistics)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from fsutils import io as fio
from fsutils import weights as W
from fsutils.weights import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["INPUT_SIZE", "skimage_resize_matrix", "preprocess"]

#: U-2-Net's official inference (the registry entries' preprocessing): 320 px, ImageNet statistics.
_OFFICIAL = W.get("u2netp").preprocessing
INPUT_SIZE = _OFFICIAL.input_size


def skimage_resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The ``n_out × n_in`` float64 matrix of ``skimage.transform.resize(..., mode='constant')``
    along one axis (order 1, default anti-aliasing).

    Anti-aliasing: a Gaussian with σ = max(0, (n_in/n_out − 1)/2), zero padding, kernel truncated
    at ``int(4σ + 0.5)`` (``scipy.ndimage.gaussian_filter``); then linear interpolation at
    ``(i + 0.5)·n_in/n_out − 0.5`` with zeros outside the image (``ndimage.zoom``, grid mode,
    ``grid-constant``).
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"sizes must be ≥ 1, got n_in={n_in}, n_out={n_out}")
    scale = n_in / n_out
    pos = (np.arange(n_out) + 0.5) * scale - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    src = np.stack([lo, lo + 1], axis=1)                      # n_out × 2 interpolation taps
    wgt = np.stack([1.0 - frac, frac], axis=1)
    wgt[(src < 0) | (src >= n_in)] = 0.0                      # zeros outside the image
    sigma = max(0.0, (scale - 1.0) / 2.0)
    if sigma > 1e-15:  # scipy skips the axis below this
        radius = int(4.0 * sigma + 0.5)
        offsets = np.arange(-radius, radius + 1)
        kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
        kernel /= kernel.sum()
    else:
        offsets, kernel = np.zeros(1, np.int64), np.ones(1)
    # Row i of the matrix: Σ over the two taps j of wgt · (Gaussian centred on j), the blur
    # reading zeros outside the image (so its weights there are dropped, not renormalised).
    cols = src[:, :, None] + offsets[None, None, :]
    vals = wgt[:, :, None] * kernel[None, None, :]
    rows = np.broadcast_to(np.arange(n_out)[:, None, None], cols.shape)
    ok = (cols >= 0) & (cols < n_in) & (vals != 0)
    out = np.zeros((n_out, n_in))
    np.add.at(out, (rows[ok], cols[ok]), vals[ok])
    return out


def preprocess(image: Any, size: int = INPUT_SIZE, device: Any = "cpu", *,
               mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """The official ``RescaleT(size)`` + ``ToTensorLab(flag=0)`` as a 1×3×size×size tensor."""
    arr = fio.to_float(image)
    h, w = arr.shape[:2]
    my = torch.from_numpy(skimage_resize_matrix(h, size).astype(np.float32))
    mx = torch.from_numpy(skimage_resize_matrix(w, size).astype(np.float32))
    x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))  # 3×H×W
    # (size×H) @ (3×H×W) @ (W×size); the larger dimension is contracted first.
    x = my @ (x @ mx.T) if w >= h else (my @ x) @ mx.T
    peak = float(x.max())
    if peak > 0:  # an all-black photo stays 0 instead of becoming NaN
        x = x / peak
    m = torch.tensor(mean, dtype=x.dtype).view(3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(3, 1, 1)
    return ((x - m) / s).unsqueeze(0).to(device)

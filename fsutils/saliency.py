"""Stage 2: salient-object maps with U-2-Net, exactly as the official inference makes them.

:class:`SaliencyModel` reproduces ``u2net_test.py`` of xuebinqin/U-2-Net (Apache-2.0) step by step:

1. ``RescaleT(320)``: ``skimage.transform.resize(image, (320, 320), mode='constant')`` — a
   Gaussian anti-aliasing blur (σ = (in/out − 1)/2 per downscaled axis, zero padding, truncated at
   4σ) followed by bilinear sampling at pixel centres with zeros outside the image. The kit does
   the same linear maps with two small matrices in torch (no scikit-image dependency; identical to
   scikit-image to 1e-14 in float64, ~1e-5 in float32).
2. ``ToTensorLab(flag=0)``: divide by the image maximum, then ImageNet mean/std per channel.
3. The fused output ``d0`` through a sigmoid (the kit's models return logits), min-max normalised.
4. ``save_output``: the map as an 8-bit image (``Image.fromarray(pred*255)``, truncating) resized
   back to the photo with PIL's bilinear filter.

Against the saliency maps the official code produced with u2netp, the maps differ by a
mean absolute error of about 0.002 (``tests/test_saliency.py``). Other resizers measured on those
11+1 images: PIL bilinear in, 0.0026; torch antialiased bilinear in, 0.0026; OpenCV INTER_AREA in,
0.0026; plain bilinear without anti-aliasing, 0.0044 (up to 0.020 on large photos).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from fsutils import io as fio
from fsutils import weights as W
from fsutils.weights import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["SaliencyModel", "SALIENCY_WEIGHTS", "IMAGENET_MEAN", "IMAGENET_STD",
           "skimage_resize_matrix", "preprocess"]

#: Registry names of the salient-object checkpoints (``fsutils.weights.REGISTRY``).
SALIENCY_WEIGHTS: tuple[str, ...] = W.names_for("saliency")
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


class SaliencyModel:
    """U-2-Net salient-object detection: ``predict(image) -> float32 H×W`` in [0, 1].

    ``weights`` is a registry checkpoint (``"u2netp"``, 4.7 MB, or ``"u2net"``, 176 MB), fetched
    and loaded once through :mod:`fsutils.weights`, or an already built network (any module
    returning ``(d0, …)`` logits), as for every model class of the kit; ``device`` defaults to
    :func:`fsutils.env.device`.
    """

    def __init__(self, weights: str | torch.nn.Module = "u2netp", device: Any = None, *,
                 input_size: int | None = None):
        from fsutils import env

        self.device = torch.device(device) if device is not None else env.device()
        prep = _OFFICIAL
        if isinstance(weights, torch.nn.Module):
            model = weights
            self.name = getattr(model, "name", type(model).__name__)
        else:
            entry = W.get(weights)
            model = W.load_state_dict(entry.build(), weights)
            prep = entry.preprocessing or prep
            self.name = weights
        self.input_size = int(input_size or prep.input_size)
        self.mean, self.std = prep.mean, prep.std
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @classmethod
    def from_model(cls, model: torch.nn.Module, input_size: int = INPUT_SIZE,
                   device: Any = None) -> "SaliencyModel":
        """Wrap an already built (e.g. randomly initialised) network."""
        return cls(model, device=device, input_size=input_size)

    def __repr__(self) -> str:
        return f"SaliencyModel({self.name!r}, device={str(self.device)!r}, input_size={self.input_size})"

    @torch.inference_mode()
    def predict_small(self, image: Any) -> np.ndarray:
        """The min-max normalised map at the network's resolution (float32 size×size)."""
        x = preprocess(image, self.input_size, self.device, mean=self.mean, std=self.std)
        d0 = self.model(x)[0]
        pred = torch.sigmoid(d0[0, 0].float())
        lo, hi = pred.min(), pred.max()
        # normPRED; a constant map (hi == lo) becomes all zeros instead of NaN.
        pred = (pred - lo) / (hi - lo) if hi > lo else torch.zeros_like(pred)
        return pred.cpu().numpy()

    def predict(self, image: Any) -> np.ndarray:
        """Saliency of ``image`` (PIL, H×W×3 uint8/float array, path or bytes) as float32 H×W in
        [0, 1] at the photo's size, with the official 8-bit rounding and PIL bilinear resize."""
        arr = fio.to_float(image)
        h, w = arr.shape[:2]
        small = self.predict_small(arr)
        # Image.fromarray(pred * 255).convert(...) truncates to uint8 as the official code does.
        im8 = Image.fromarray((small * np.float32(255)).astype(np.float32)).convert("L")
        out = im8.resize((w, h), resample=Image.Resampling.BILINEAR)
        return np.asarray(out, dtype=np.float32) / np.float32(255)

    __call__ = predict

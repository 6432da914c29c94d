"""Arbitrary style transfer with Magenta's networks (Ghiasi et al., BMVC 2017): any painting, one
pass, real time.

Two networks (see :mod:`fsutils.models.magenta`):

1. :func:`style_vector` — the *style-prediction* network (a MobileNetV2) reads the painting at
   256×256 and summarises its style in 100 numbers;
2. :func:`magenta_transfer` — the *style-transfer* network renders the photo; the style vector
   sets the scale γ and shift β of each of its 13 instance normalisations.

Because a style is just a vector, styles can be mixed: ``strength`` moves along the line from the
photo's *own* style vector (0: the network redraws the photo in its own style) to the painting's
(1), as in Magenta's demo.

The weights are Magenta's published TensorFlow Lite files (registry entries
``tflite/style_predict_quantized_256`` and ``tflite/style_transfer_f16_384``), read by
:mod:`fsutils.tflite` and copied into PyTorch modules once per device.

>>> from fsutils.style import magenta_transfer, style_vector           # doctest: +SKIP
>>> out = magenta_transfer("photo.jpg", "starry_night_vangogh.jpg")     # doctest: +SKIP
>>> v = style_vector("the_scream_munch.jpg"); v.shape                   # doctest: +SKIP
(100,)
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Union

import numpy as np
import torch
from PIL import Image

from fsutils.io import to_pil, to_rgb
from fsutils.models.magenta import STYLE_DIM, StylePredictor, StyleTransferNet

from ._image import ImageLike, MaskLike, fit_long_side, mask_to_tensor, to_tensor
from .color import keep_photo_color
from .params import MagentaParams

__all__ = ["PREDICT_WEIGHTS", "TRANSFER_WEIGHTS", "DEFAULT_TRANSFER", "STYLE_IMAGE_SIZE",
           "DEFAULT_SIZE",
           "style_predictor", "transfer_network", "style_vector", "magenta_transfer"]

#: Registry entry of the style-prediction network.
PREDICT_WEIGHTS = "tflite/style_predict_quantized_256"
#: Registry entries of the style-transfer network: float16 weights (default) or int8 weights.
TRANSFER_WEIGHTS = {"f16": "tflite/style_transfer_f16_384", "int8": "tflite/style_transfer_quantized_384"}
#: The transfer network used unless one is named (its file ships with the kit).
DEFAULT_TRANSFER = "f16"
#: The painting's size for the prediction network (the size it was trained and exported at).
STYLE_IMAGE_SIZE = 256
#: Default working size of the photo (longer side), the size of the published transfer file.
DEFAULT_SIZE = 384

StyleLike = Union[ImageLike, np.ndarray, torch.Tensor]

_CACHE: dict[tuple[str, str], torch.nn.Module] = {}
_LOCK = threading.Lock()


def _device(device: torch.device | str | None) -> torch.device:
    if device is None:
        from fsutils import env

        device = env.device()
    return torch.device(device)


def _load(name: str, build, device: torch.device | str | None) -> torch.nn.Module:
    from fsutils import tflite
    from fsutils.weights import fetch

    dev = _device(device)
    key = (name, str(dev))
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = build(tflite.read(fetch(name))).to(dev).eval().requires_grad_(False)
            _CACHE[key] = model
    return model


def style_predictor(device: torch.device | str | None = None) -> StylePredictor:
    """The style-prediction network on ``device`` (default ``fsutils.env.device()``), built from
    its TensorFlow Lite file once and cached."""
    from fsutils.models.magenta import predictor_from_tflite

    return _load(PREDICT_WEIGHTS, predictor_from_tflite, device)


def transfer_network(device: torch.device | str | None = None, *,
                     weights: str = DEFAULT_TRANSFER) -> StyleTransferNet:
    """The style-transfer network on ``device``, cached; ``weights`` is ``"f16"`` (default, the
    reference) or ``"int8"`` (the smaller file, slightly less exact)."""
    from fsutils.models.magenta import transfer_from_tflite

    if weights not in TRANSFER_WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(TRANSFER_WEIGHTS)}, got {weights!r}")
    return _load(TRANSFER_WEIGHTS[weights], transfer_from_tflite, device)


def _painting_tensor(painting: ImageLike, device: torch.device) -> torch.Tensor:
    img = to_rgb(painting).resize((STYLE_IMAGE_SIZE, STYLE_IMAGE_SIZE), Image.Resampling.BILINEAR)
    return to_tensor(img, device)


def style_vector(painting: ImageLike, *, device: torch.device | str | None = None) -> np.ndarray:
    """The painting's style vector, shape ``(100,)`` (float32).

    The painting (PIL image, path or H×W×3 array) is resized to 256×256 with PIL's bilinear filter,
    scaled to 0..1 and read by the style-prediction network.
    """
    model = style_predictor(device)
    dev = next(model.parameters()).device
    with torch.inference_mode():
        v = model(_painting_tensor(painting, dev))
    return v[0].float().cpu().numpy()


def _style_tensor(style, device: torch.device) -> torch.Tensor | None:
    """A style vector given directly (1-D array or tensor, or 1×100) as a 1×100 tensor; ``None``
    for a painting."""
    if not isinstance(style, (np.ndarray, torch.Tensor)):
        return None
    if not (style.ndim == 1 or (style.ndim == 2 and style.shape[0] == 1)):
        return None
    if int(np.prod(style.shape)) != STYLE_DIM:
        raise ValueError(f"a style vector has {STYLE_DIM} numbers (from style_vector), got shape "
                         f"{tuple(style.shape)}")
    t = torch.as_tensor(style) if isinstance(style, np.ndarray) else style.detach()
    return t.float().reshape(1, STYLE_DIM).to(device)


def _check(strength: float, size: int | None, weights: str) -> None:
    if weights not in TRANSFER_WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(TRANSFER_WEIGHTS)}, got {weights!r}")
    if not isinstance(strength, (int, float)) or not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"style_strength must be a number in 0..1 (0: the photo's own style, 1: "
                         f"the painting's), got {strength!r}")
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 16):
        raise ValueError(f"size is the photo's longer side in pixels, at least 16; got {size!r}")


def magenta_transfer(content: ImageLike, style: StyleLike, params: MagentaParams | None = None, *,
                     size: int | None = None, mask: MaskLike | None = None,
                     callback: Callable | None = None, progress: bool = False,
                     weights: str = DEFAULT_TRANSFER, device: torch.device | str | None = None,
                     **changes: Any) -> Image.Image:
    """Render ``content`` in the style of a painting with Magenta's networks (the style
    functions' one call convention).

    Args:
        content: the photo (PIL image, path or H×W×3 array).
        style: a painting (PIL image, path or H×W×3 array) or a style vector of 100 numbers from
            :func:`style_vector`.
        params: :class:`~fsutils.style.params.MagentaParams` (``changes`` change its fields, e.g.
            ``style_strength=0.5``): ``style_strength`` 0..1, the style vector used is
            ``(1 − s)·v(photo) + s·v(style)`` with ``v(photo)`` the photo's own style vector; 1
            is the painting's full style.
        size: the photo's longer side while it is processed, in pixels (aspect kept; the network
            is fully convolutional, so any size works). ``None``: the photo's size, at most
            :data:`DEFAULT_SIZE` (the networks' published size: brush strokes keep their scale).
        mask: optional H×W garment mask (bool, 0..1 floats or 0/255, at the photo's size). The
            network's instance normalisations then measure their mean and variance inside the mask
            only, so the garment is styled as if it were the whole picture — its contrast and
            colours are not pulled toward the background's. The whole picture is still rendered;
            combine with :mod:`fsutils.blend` to paste the garment.
        callback, progress: accepted for the common signature (one pass: nothing to report).
        weights: ``"f16"`` (default) or ``"int8"`` transfer network.
        device: defaults to ``fsutils.env.device()`` (CUDA or MPS when present).

    Returns:
        The stylised photo (PIL, RGB) at the processed size.
    """
    p = (params or MagentaParams()).replace(**changes)
    strength = p.style_strength
    _check(strength, size, weights)
    vector = _style_tensor(style, torch.device("cpu"))  # a wrong vector is refused before loading
    model = transfer_network(device, weights=weights)
    dev = next(model.parameters()).device
    original = to_rgb(content)
    small = fit_long_side(original, min(DEFAULT_SIZE, max(original.size)) if size is None else size)
    if vector is not None:
        s = vector.to(dev)
    else:
        s = torch.from_numpy(style_vector(style, device=dev)).reshape(1, STYLE_DIM).to(dev)
    if strength < 1.0:
        own = torch.from_numpy(style_vector(small, device=dev)).reshape(1, STYLE_DIM).to(dev)
        s = strength * s + (1.0 - strength) * own
    x = to_tensor(small, dev)
    m = None
    if mask is not None:
        m = mask_to_tensor(mask, tuple(x.shape[-2:]), (original.size[1], original.size[0]), dev)
    with torch.inference_mode():
        y = model(x, s, mask=m)
    return keep_photo_color(to_pil(y), small) if p.preserve_color else to_pil(y)

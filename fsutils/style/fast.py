"""Feed-forward style transfer with the pretrained pytorch/examples models (Johnson et al. 2016).

One forward pass of a :class:`~fsutils.models.TransformerNet` per image; each model knows one style.
The weights come from the registry (``fast_style/<name>``: members of the official pytorch/examples
``saved_models.zip``, or the mirror / cache) and are loaded once per device, then reused.
Pre- and post-processing follow ``fast_neural_style/neural_style/neural_style.py``: RGB scaled to
0..255 in, output clamped to 0..255 and truncated to 8 bits.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from fsutils.io import to_rgb
from fsutils.models.transformer_net import TransformerNet

from ._image import ImageLike, fit_long_side
from .color import keep_photo_color
from .params import FastParams

__all__ = ["FAST_STYLES", "fast_model", "fast_stylize", "registry_name"]

#: Styles with registry entries (pointilism only exists as an ONNX-model-zoo conversion).
FAST_STYLES: tuple[str, ...] = ("candy", "mosaic", "rain_princess", "udnie", "pointilism")

_CACHE: dict[tuple[str, str], TransformerNet] = {}
_LOCK = threading.Lock()


def registry_name(style: str) -> str:
    """Registry entry of a fast-style model: ``"rain-princess"`` → ``"fast_style/rain_princess"``."""
    key = style.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in FAST_STYLES:
        raise ValueError(f"unknown fast style {style!r}; available: {', '.join(FAST_STYLES)} "
                         "(or pass your own TransformerNet)")
    return f"fast_style/{key}"


def fast_model(style: str, device: torch.device | str | None = None) -> TransformerNet:
    """The pretrained :class:`TransformerNet` for ``style``, in eval mode on ``device`` (cached)."""
    from fsutils.weights import load_state_dict

    if device is None:
        from fsutils import env

        device = env.device()
    name = registry_name(style)
    key = (name, str(torch.device(device)))
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = load_state_dict(TransformerNet(), name)
            model = model.to(device).eval().requires_grad_(False)
            _CACHE[key] = model
    return model


def fast_stylize(content: ImageLike, style: str | nn.Module, params: FastParams | None = None, *,
                 size: int | None = None, mask: Any = None, callback: Callable | None = None,
                 progress: bool = False, device: torch.device | str | None = None,
                 **changes: Any) -> Image.Image:
    """Stylise ``content`` with a feed-forward model (the style functions' one call convention).

    Args:
        content: the photo (PIL image, path, or H×W×3 array).
        style: ``"candy"``, ``"mosaic"``, ``"rain_princess"``, ``"udnie"``, ``"pointilism"`` — or
            a TransformerNet of your own (0..255 RGB in and out, as in pytorch/examples).
        params: :class:`~fsutils.style.params.FastParams` (the model is the style;
            ``preserve_color`` keeps the photo's colours).
        size: working size, longer side in pixels (None: the photo's own size).
        mask, callback, progress: accepted for the common signature; a one-pass model has no
            garment-only mode (the blend places its style) and no steps to report.
        device: defaults to the model's device, or ``fsutils.env.device()``.

    Returns:
        The stylised image (PIL, RGB) at the working size.
    """
    p = (params or FastParams()).replace(**changes)  # an unknown name is refused
    if isinstance(style, nn.Module):
        model = style.eval()
        if device is not None:
            model = model.to(device)
    else:
        model = fast_model(style, device)
    dev = next(model.parameters()).device
    photo = to_rgb(content)
    if size is not None:
        photo = fit_long_side(photo, size)
    x = torch.from_numpy(np.asarray(photo, dtype=np.float32)).permute(2, 0, 1)[None].to(dev)
    with torch.inference_mode():
        y = model(x)[0].clamp(0, 255)
    h, w = x.shape[-2:]
    arr = y[:, :h, :w].permute(1, 2, 0).cpu().numpy().astype(np.uint8)
    out = Image.fromarray(arr)
    return keep_photo_color(out, photo) if p.preserve_color else out

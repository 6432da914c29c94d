"""Arbitrary style transfer in real time with AdaIN (Huang & Belongie, ICCV 2017).

Any painting, one forward pass: encode photo and painting with a normalised VGG-19 up to
``relu4_1``, give the photo's features the painting's per-channel mean and standard deviation
(:func:`adaptive_instance_normalization`), decode. ``alpha`` blends the transferred features with
the photo's own (0: photo, 1: full style). With a ``mask`` the photo's statistics are taken from the
garment region only and only the garment's features are transferred.

The operation follows ``function.py`` of naoto0804/pytorch-AdaIN (MIT); the weights are that
repository's release assets (registry entries ``adain/vgg_normalised`` and ``adain/decoder``).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from fsutils.io import to_pil, to_rgb
from fsutils.models.adain import adain_decoder, adain_encoder, adain_vgg

from ._image import ImageLike, MaskLike, fit_long_side, mask_to_tensor, to_tensor
from .color import keep_photo_color
from .params import AdainParams

__all__ = ["calc_mean_std", "adaptive_instance_normalization", "adain_models", "adain_transfer",
           "load_adain"]

_CACHE: dict[str, tuple[nn.Sequential, nn.Sequential]] = {}
_LOCK = threading.Lock()


def calc_mean_std(feat: torch.Tensor, eps: float = 1e-5, mask: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and standard deviation of ``N×C×H×W`` features (``N×C×1×1``).

    Without a mask: unbiased variance plus ``eps``, as in pytorch-AdaIN. With a mask (``N×1×H×W``,
    weights 0..1 at the features' resolution): the weighted mean and (unbiased-weighted) variance of
    the region.
    """
    if feat.dim() != 4:
        raise ValueError(f"expected N×C×H×W features, got shape {tuple(feat.shape)}")
    n, c = feat.shape[:2]
    if mask is None:
        flat = feat.reshape(n, c, -1)
        var = flat.var(dim=2) + eps
        return flat.mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)
    w = mask.to(feat).expand(n, 1, *feat.shape[-2:])
    wsum = w.sum(dim=(2, 3), keepdim=True)
    if bool((wsum <= 0).any()):
        raise ValueError("the mask is empty at the features' resolution; use a larger mask")
    mean = (feat * w).sum(dim=(2, 3), keepdim=True) / wsum
    wsq = w.pow(2).sum(dim=(2, 3), keepdim=True)
    denom = (wsum - wsq / wsum).clamp_min(1e-8)  # unbiased weighted variance (= N-1 for 0/1 weights)
    var = ((feat - mean).pow(2) * w).sum(dim=(2, 3), keepdim=True) / denom + eps
    return mean, var.sqrt()


def adaptive_instance_normalization(content_feat: torch.Tensor, style_feat: torch.Tensor, *,
                                    content_mask: torch.Tensor | None = None,
                                    style_mask: torch.Tensor | None = None) -> torch.Tensor:
    """AdaIN(x, y) = σ(y) · (x − μ(x)) / σ(x) + μ(y), per sample and channel.

    Masks restrict where the statistics are measured (``N×1×h×w`` at the features' resolution);
    the normalisation is applied to all positions of ``content_feat``.
    """
    if content_feat.shape[:2] != style_feat.shape[:2]:
        raise ValueError(f"content features {tuple(content_feat.shape)} and style features "
                         f"{tuple(style_feat.shape)} differ in batch size or channels")
    s_mean, s_std = calc_mean_std(style_feat, mask=style_mask)
    c_mean, c_std = calc_mean_std(content_feat, mask=content_mask)
    return (content_feat - c_mean) / c_std * s_std + s_mean


#: Registry names of pytorch-AdaIN's encoder and decoder weights.
ADAIN_WEIGHTS = ("adain/vgg_normalised", "adain/decoder")


def load_adain(vgg_weights: str = ADAIN_WEIGHTS[0], decoder_weights: str = ADAIN_WEIGHTS[1]
               ) -> tuple[nn.Sequential, nn.Sequential]:
    """(encoder up to relu4_1, decoder) loaded strictly from registry names or checkpoint paths."""
    from fsutils.weights import load_state_dict

    vgg = load_state_dict(adain_vgg(), vgg_weights)
    decoder = load_state_dict(adain_decoder(), decoder_weights)
    return adain_encoder(vgg).eval().requires_grad_(False), decoder.eval().requires_grad_(False)


def adain_models(device: torch.device | str | None = None) -> tuple[nn.Sequential, nn.Sequential]:
    """The pretrained AdaIN encoder and decoder on ``device``, loaded once and cached."""
    if device is None:
        from fsutils import env

        device = env.device()
    key = str(torch.device(device))
    with _LOCK:
        if key not in _CACHE:
            enc, dec = load_adain()
            _CACHE[key] = (enc.to(device), dec.to(device))
    return _CACHE[key]


def adain_transfer(content: ImageLike, style: ImageLike, params: AdainParams | None = None, *,
                   size: int | None = None, mask: MaskLike | None = None,
                   callback: Callable | None = None, progress: bool = False,
                   style_size: int | None = None,
                   models: tuple[nn.Module, nn.Module] | None = None,
                   device: torch.device | str | None = None, **changes: Any) -> Image.Image:
    """Stylise ``content`` with any ``style`` image in one pass (AdaIN; the style functions' one
    call convention).

    Args:
        content, style: PIL images, paths or H×W×3 arrays.
        params: :class:`~fsutils.style.params.AdainParams` (``changes`` change its fields):
            ``style_strength`` 0..1, how much of the style (the paper's α: features
            ``α·AdaIN(c, s) + (1−α)·c``).
        mask: H×W garment mask at the content's size; statistics of the photo are measured inside
            it and only the garment's features are replaced (outside, the decoder reconstructs the
            photo; combine with :mod:`fsutils.blend` for an exact paste).
        size: working size of the photo (longer side; default ``fsutils.env.default_style_size()``);
            ``style_size``: of the painting (default: the same).
        callback, progress: accepted for the common signature (one pass: nothing to report).
        models: ``(encoder, decoder)`` to use instead of the pretrained ones (see :func:`load_adain`).
        device: defaults to the models' device, or ``fsutils.env.device()``.

    Returns:
        The stylised image (PIL, RGB) at the working size.
    """
    p = (params or AdainParams()).replace(**changes)
    alpha = p.style_strength  # checked: 0..1
    if models is None:
        encoder, decoder = adain_models(device)
    else:
        encoder, decoder = models
        if device is not None:
            encoder, decoder = encoder.to(device), decoder.to(device)
    dev = next(encoder.parameters()).device
    if size is None:
        from fsutils import env

        size = env.default_style_size(dev)
    photo = to_rgb(content)
    c = to_tensor(fit_long_side(photo, size), dev)
    s = to_tensor(fit_long_side(to_rgb(style), style_size or size), dev)
    with torch.inference_mode():
        c_feat, s_feat = encoder(c), encoder(s)
        m = None
        if mask is not None:
            m = mask_to_tensor(mask, tuple(c.shape[-2:]), (photo.size[1], photo.size[0]), dev)
            m = F.interpolate(m, size=c_feat.shape[-2:], mode="area")
        t = adaptive_instance_normalization(c_feat, s_feat, content_mask=m)
        if m is not None:
            t = m * t + (1 - m) * c_feat
        t = alpha * t + (1 - alpha) * c_feat
        out = decoder(t)[..., : c.shape[-2], : c.shape[-1]]
    return keep_photo_color(to_pil(out), photo) if p.preserve_color else to_pil(out)

"""Colour and shading preservation for style transfer on garments.

- **Colour** (Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style
  Transfer", 2016, luminance-only transfer): style transfer runs on luminance images (the style's
  luminance matched to the photo's mean and standard deviation), then the result's luminance ``Y``
  is recombined with the photo's chrominance ``I, Q`` (YIQ colour space).
- **Shading**: a garment's folds and shadows are its *low-frequency luminance relative to the
  garment's mean*. :func:`keep_shading` replaces the stylised image's own low-frequency luminance
  variation inside the mask by the photo's, so the new texture (fine detail, mean brightness,
  colours) is kept and the folds of the photo show through it.

- **Colour for every method** (:func:`keep_photo_color`, each method's ``preserve_color``):
  the stylised image's CIELAB lightness ``L*`` with the photo's ``a*, b*``. Measured against
  matching the stylised image's colour histograms to the photo's
  (``benchmarks/preserve_color_benchmark.py``), this keeps the photo's chroma on the garment
  pixel for pixel (histogram matching only keeps its distribution), while the texture, carried by
  ``L*``, changes as much.

The tensor functions take and return ``N×3×H×W`` RGB tensors in 0..1 (masks ``N×1×H×W``).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

__all__ = ["rgb_to_yiq", "yiq_to_rgb", "luminance", "luminance_only", "match_luminance",
           "recombine_color", "keep_shading", "masked_blur", "keep_photo_color"]

_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114],
                         [0.595716, -0.274453, -0.321263],
                         [0.211456, -0.522591, 0.311135]])
_YIQ2RGB = torch.linalg.inv(_RGB2YIQ)


def _mix(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", m.to(x), x)


def rgb_to_yiq(rgb: torch.Tensor) -> torch.Tensor:
    return _mix(rgb, _RGB2YIQ)


def yiq_to_rgb(yiq: torch.Tensor) -> torch.Tensor:
    return _mix(yiq, _YIQ2RGB)


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """``N×1×H×W`` luma Y = 0.299 R + 0.587 G + 0.114 B."""
    return rgb_to_yiq(rgb)[:, :1]


def luminance_only(rgb: torch.Tensor) -> torch.Tensor:
    """The luminance repeated on three channels (a grey RGB image the VGG can read)."""
    return luminance(rgb).expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Grey image of the style's luminance with the content luminance's mean and std."""
    ys, yc = luminance(style), luminance(content)
    y = (ys - ys.mean()) / ys.std().clamp_min(1e-6) * yc.std() + yc.mean()
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def recombine_color(stylised: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylised image's luminance with the content's chrominance (I, Q)."""
    y = rgb_to_yiq(stylised)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0, 1)


def _gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding (plain conv2d: importing torchvision's
    transforms for this costs seconds)."""
    radius = max(1, min(int(round(3 * sigma)), min(x.shape[-2:]) - 1))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def masked_blur(x: torch.Tensor, mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of ``x`` using only pixels inside ``mask`` (normalised convolution)."""
    num = _gaussian(x * mask, sigma)
    den = _gaussian(mask.expand_as(x[:, :1]).contiguous(), sigma)
    return num / den.clamp_min(1e-6)


def keep_shading(stylised: torch.Tensor, content: torch.Tensor, mask: torch.Tensor | None = None,
                 *, sigma: float | None = None, strength: float = 1.0) -> torch.Tensor:
    """Show the photo's folds and shadows under the stylised texture inside ``mask``.

    With ``L_c = blur_m(Y_content) / mean_m(Y_content)`` (the photo's shading field: smoothed
    luminance relative to the garment's mean) and ``L_s`` the same for the stylised image, the new
    luminance is ``Y_s · (L_c / L_s) ** strength`` inside the mask; the chrominance of the stylised
    image is kept. ``sigma`` (pixels; default 1.5 % of the longer side) separates shading from
    texture: variation finer than ``sigma`` stays the style's. Outside the mask nothing changes.
    """
    n, _, h, w = stylised.shape
    m = torch.ones(n, 1, h, w, device=stylised.device) if mask is None else mask.to(stylised)
    if float(m.sum()) <= 0:
        return stylised
    sigma = sigma if sigma is not None else max(1.0, 0.015 * max(h, w))
    yiq_s = rgb_to_yiq(stylised)
    y_s, y_c = yiq_s[:, :1], luminance(content)
    area = m.sum(dim=(2, 3), keepdim=True)
    eps = 1e-3
    field_c = masked_blur(y_c, m, sigma) / ((y_c * m).sum(dim=(2, 3), keepdim=True) / area + eps)
    field_s = masked_blur(y_s, m, sigma) / ((y_s * m).sum(dim=(2, 3), keepdim=True) / area + eps)
    ratio = ((field_c + eps) / (field_s + eps)).pow(strength)
    y_new = m * (y_s * ratio) + (1 - m) * y_s
    return yiq_to_rgb(torch.cat([y_new, yiq_s[:, 1:]], dim=1)).clamp(0, 1)


def keep_photo_color(stylised: Image.Image, photo: Image.Image) -> Image.Image:
    """The photo's colours with the stylised image's texture: the stylised image's CIELAB
    lightness ``L*`` and the photo's ``a*, b*`` (the photo resized to the stylised image's size).
    Colours that leave the sRGB gamut are clipped to it."""
    size = stylised.size
    if photo.size != size:
        photo = photo.resize(size, Image.Resampling.BILINEAR)
    s = np.asarray(stylised.convert("RGB"), dtype=np.float32) / np.float32(255)
    p = np.asarray(photo.convert("RGB"), dtype=np.float32) / np.float32(255)
    lab = cv2.cvtColor(p, cv2.COLOR_RGB2Lab)
    lab[..., 0] = cv2.cvtColor(s, cv2.COLOR_RGB2Lab)[..., 0]
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    from fsutils.io import to_uint8

    return Image.fromarray(to_uint8(rgb))

"""Losses of Gatys-style optimisation as small pure functions.

Definitions (Gatys, Ecker & Bethge 2016; normalisation as in the project report and the PyTorch
tutorial): for features ``F`` of shape ``a×b×c×d`` (batch, channels, height, width)

- Gram matrix ``G = F̂ F̂ᵀ / (a·b·c·d)`` with ``F̂`` the ``(a·b)×(c·d)`` reshaped features;
- masked Gram matrix with per-position weights ``w`` (the garment mask downsampled to the layer):
  ``G = Σₚ wₚ F̂ᵢₚ F̂ⱼₚ / (a·b·Σₚ wₚ)`` — the Gram matrix of the garment region only, normalised by
  its area, so the statistics do not depend on how large the garment is;
- content loss: mean squared error between features; style loss: mean squared error between Gram
  matrices, summed over layers;
- total variation: ``mean((x[i+1,j]−x[i,j])²) + mean((x[i,j+1]−x[i,j])²)``.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

__all__ = ["gram_matrix", "mask_weights", "content_loss", "style_loss", "tv_loss"]


def gram_matrix(features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Normalised Gram matrix of ``a×b×c×d`` features, optionally weighted per position.

    ``weights`` (``c×d``, ``1×1×c×d`` or ``a×1×c×d``, values 0..1) restricts the statistics to a
    region; the normalisation then uses the region's area ``Σw`` instead of ``c·d``.
    """
    a, b, c, d = features.shape
    flat = features.reshape(a * b, c * d)
    if weights is None:
        return flat @ flat.t() / (a * b * c * d)
    w = weights.reshape(-1, 1, c * d).expand(a, b, c * d).reshape(a * b, c * d)
    area = weights.reshape(-1, c * d).sum(dim=1).mean() * a  # callers reject empty masks
    return (flat * w) @ flat.t() / (b * area)


def mask_weights(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Downsample a ``1×1×H×W`` mask (0..1) to a layer's ``size`` by area averaging."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.interpolate(mask, size=size, mode="area")


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between generated and content features."""
    return F.mse_loss(features, target)


def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
               weights: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Σ over layers of MSE(Gram(generated), target Gram); ``weights``: per-layer mask weights."""
    total = None
    for name, target in target_grams.items():
        g = gram_matrix(features[name], None if weights is None else weights[name])
        term = F.mse_loss(g, target)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("style_loss needs at least one layer")
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of vertical and of horizontal neighbours."""
    dy = image[..., 1:, :] - image[..., :-1, :]
    dx = image[..., :, 1:] - image[..., :, :-1]
    return dy.pow(2).mean() + dx.pow(2).mean()

"""Encoder and decoder of AdaIN arbitrary style transfer (Huang & Belongie, ICCV 2017).

Xun Huang and Serge Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance
Normalization", ICCV 2017. The layer lists reproduce ``net.py`` of naoto0804/pytorch-AdaIN (MIT)
index for index, so its release assets load strictly:

- ``vgg_normalised.pth``: the whole 53-layer ``vgg`` ``nn.Sequential`` (keys ``0.weight``,
  ``2.weight`` …); its first 1×1 convolution converts RGB 0..1 input to the mean-subtracted BGR 0..255
  input of the original Caffe VGG. Only the layers up to ``relu4_1`` (the first 31) are used.
- ``decoder.pth``: the ``decoder`` ``nn.Sequential`` (keys ``1.weight``, ``5.weight`` …), mirroring the
  encoder from ``relu4_1`` back to an RGB image in 0..1.
"""
from __future__ import annotations

import torch.nn as nn

__all__ = ["ENCODER_DEPTH", "adain_vgg", "adain_decoder", "adain_encoder"]

#: Number of layers of the AdaIN ``vgg`` that lead to ``relu4_1`` (``net.py``: ``enc_layers[:31]``).
ENCODER_DEPTH = 31


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]


def _pool() -> nn.Module:
    return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)


def adain_vgg() -> nn.Sequential:
    """The full normalised VGG-19 of pytorch-AdaIN (53 layers; the layout of ``vgg_normalised.pth``)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, (1, 1))]
    layers += _conv(3, 64) + _conv(64, 64) + [_pool()]
    layers += _conv(64, 128) + _conv(128, 128) + [_pool()]
    layers += _conv(128, 256) + _conv(256, 256) + _conv(256, 256) + _conv(256, 256) + [_pool()]
    layers += _conv(256, 512) + _conv(512, 512) + _conv(512, 512) + _conv(512, 512) + [_pool()]
    layers += _conv(512, 512) + _conv(512, 512) + _conv(512, 512) + _conv(512, 512)
    return nn.Sequential(*layers)


def adain_encoder(vgg: nn.Sequential | None = None) -> nn.Sequential:
    """The encoder up to ``relu4_1`` (first :data:`ENCODER_DEPTH` layers of ``vgg``)."""
    vgg = adain_vgg() if vgg is None else vgg
    return nn.Sequential(*list(vgg.children())[:ENCODER_DEPTH])


def adain_decoder() -> nn.Sequential:
    """The decoder of pytorch-AdaIN (the layout of ``decoder.pth``)."""
    up = nn.UpsamplingNearest2d(scale_factor=2)
    layers: list[nn.Module] = _conv(512, 256) + [up]
    layers += _conv(256, 256) + _conv(256, 256) + _conv(256, 256) + _conv(256, 128) + [
        nn.UpsamplingNearest2d(scale_factor=2)]
    layers += _conv(128, 128) + _conv(128, 64) + [nn.UpsamplingNearest2d(scale_factor=2)]
    layers += _conv(64, 64) + [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(64, 3, (3, 3))]
    return nn.Sequential(*layers)

"""Feed-forward style network of Johnson et al. as published in pytorch/examples.

Justin Johnson, Alexandre Alahi and Li Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016; the architecture and the pretrained models (candy, mosaic,
rain_princess, udnie) are those of ``pytorch/examples/fast_neural_style`` (BSD-3-Clause).

Parameter names match ``fast_neural_style/neural_style/transformer_net.py`` exactly, so the official
``saved_models`` files load with ``strict=True``. Those files were saved by PyTorch < 0.4, whose
``InstanceNorm2d`` still carried ``running_mean`` / ``running_var`` buffers; current PyTorch refuses
them, so :class:`TransformerNet` drops exactly those keys while loading (the same filter as
``neural_style.py``: ``re.search(r'in\\d+\\.running_(mean|var)$', key)``). Everything else stays strict.

Input and output are RGB tensors in the 0..255 range (N×3×H×W), as in the original code.
"""
from __future__ import annotations

import re

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["TransformerNet", "ConvLayer", "ResidualBlock", "UpsampleConvLayer", "DEPRECATED_KEY"]

#: Keys written by PyTorch < 0.4 for affine InstanceNorm layers; they carry no information.
DEPRECATED_KEY = re.compile(r"in\d+\.running_(mean|var)$")


class ConvLayer(nn.Module):
    """Reflection padding followed by a convolution (keeps the size for stride 1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    """conv → IN → ReLU → conv → IN, plus the identity (He et al. 2016)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.in1(self.conv1(x)))
        return self.in2(self.conv2(out)) + x


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour upsampling then convolution (avoids checkerboard artefacts)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 upsample: int | None = None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv2d(self.reflection_pad(x))


def _drop_deprecated_instance_norm_stats(state_dict, prefix, *_args) -> None:
    for key in [k for k in state_dict if k.startswith(prefix) and DEPRECATED_KEY.search(k)]:
        del state_dict[key]


class TransformerNet(nn.Module):
    """Image transformation network: 3 down convs, 5 residual blocks, 2 upsampling convs."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = nn.ReLU()
        # Runs before any child sees the state dict, so official pre-0.4 files load strictly.
        self._register_load_state_dict_pre_hook(_drop_deprecated_instance_norm_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)

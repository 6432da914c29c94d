"""VGG feature extraction for optimisation-based style transfer (Gatys et al.).

:func:`vgg19_features` builds torchvision's VGG-19 convolutional part with the ImageNet weights
(registry entry ``"vgg19"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1`` file). :class:`FeatureExtractor`
wraps any VGG-like ``nn.Sequential`` (Conv2d / ReLU / pooling layers), names its layers the way the
papers do (``conv1_1``, ``relu1_1``, ``pool1``, ``conv2_1`` … — the block number increases after each
pooling layer), cuts it after the deepest layer that is needed and returns all requested activations
from **one** forward pass. Its parameters are frozen, so backpropagation computes only the gradient
with respect to the image (no weight gradients).
"""
from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy as copy_module

import torch
import torch.nn as nn

from fsutils.weights import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "FeatureExtractor", "layer_names", "vgg19_features"]



def layer_names(features: nn.Sequential) -> list[str]:
    """Paper-style names of the layers of a VGG-like ``nn.Sequential``.

    >>> import torchvision
    >>> layer_names(torchvision.models.vgg19().features)[:5]
    ['conv1_1', 'relu1_1', 'conv1_2', 'relu1_2', 'pool1']
    """
    names, block, conv = [], 1, 0
    for layer in features:
        if isinstance(layer, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            names.append(f"relu{block}_{conv}")
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        elif isinstance(layer, nn.BatchNorm2d):
            names.append(f"bn{block}_{conv}")
        else:
            raise TypeError(
                f"FeatureExtractor handles Conv2d/ReLU/pooling/BatchNorm layers only, got "
                f"{type(layer).__name__}; pass a VGG-like nn.Sequential such as "
                "torchvision.models.vgg19().features")
    return names


class FeatureExtractor(nn.Module):
    """Returns ``{layer name: activation}`` for the requested layers in one forward pass.

    The input is an RGB batch in 0..1; it is normalised with ``mean``/``std`` (ImageNet by default,
    ``None`` to skip). Layers after the deepest requested one are dropped. ReLUs keep ``inplace=True``
    only where they would not overwrite an activation that is returned. With ``channels_last``
    (default) the convolutions run in NHWC memory layout (same results, faster on CPU and GPU).
    The extractor works on its own frozen copy of the layers (``copy=False`` shares and freezes
    the given modules instead, for a network the caller owns).
    """

    def __init__(self, features: nn.Sequential, layers: Sequence[str],
                 mean: Sequence[float] | None = IMAGENET_MEAN,
                 std: Sequence[float] | None = IMAGENET_STD, channels_last: bool = True,
                 copy: bool = True):
        super().__init__()
        names = layer_names(features)
        wanted = list(dict.fromkeys(layers))
        missing = [n for n in wanted if n not in names]
        if missing:
            raise ValueError(f"layers {missing} do not exist in this network; it has {names}")
        last = max(names.index(n) for n in wanted)
        kept: list[nn.Module] = []
        layers_in = list(features)[: last + 1]
        if copy:  # freezing and re-laying-out must not change the caller's network
            layers_in = [copy_module(m) for m in layers_in]
        for i, layer in enumerate(layers_in):
            if isinstance(layer, nn.ReLU):
                layer = nn.ReLU(inplace=names[i - 1] not in wanted if i > 0 else False)
            kept.append(layer)
        self.body = nn.Sequential(*kept)
        self.names = names[: last + 1]
        self.layers = tuple(wanted)
        self._wanted = frozenset(wanted)
        if mean is not None and std is not None:
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        else:
            self.mean = self.std = None
        self.channels_last = channels_last
        if channels_last:  # NHWC avoids layout reorders around oneDNN / cuDNN convolutions
            self.body.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.mean is not None:
            x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out: dict[str, torch.Tensor] = {}
        for name, layer in zip(self.names, self.body):
            x = layer(x)
            if name in self._wanted:
                out[name] = x
        return out


#: Registry name of torchvision's ImageNet VGG-19 weights.
VGG19_WEIGHTS = "vgg19"


def vgg19_features(pretrained: bool = True, *, progress: bool = True) -> nn.Sequential:
    """torchvision VGG-19 ``features`` (convolutional part), ImageNet weights if ``pretrained``.

    The weights come through the kit's registry (``fsutils.weights.fetch("vgg19")``: the file
    ``vgg19-dcbb9e9d.pth`` from download.pytorch.org, or the mirror / cache) and are loaded strictly;
    like torchvision, ``fetch`` requires a downloaded or cached copy's SHA-256 to start with the 8
    hex digits in its file name (the entry's ``sha256_prefix``; mirror copies are trusted).
    ``pretrained=False`` gives the same network with random weights (same compute; for benchmarks).
    """
    import torchvision

    from fsutils import weights

    # The file first: without it the error comes before 143 M random parameters are made.
    path = weights.fetch(VGG19_WEIGHTS, progress=progress) if pretrained else None
    model = torchvision.models.vgg19(weights=None)
    if path is not None:
        weights.load_state_dict(model, path)
    features = model.features
    del model
    return features.eval()

"""The trainable cloth architectures and how each starts from pretrained weights.

- ``u2netp``: U2NETP from the *saliency* u2netp weights ("model surgery": every layer but the
  seven output convolutions), BatchNorm statistics re-calibrated on real photos;
- ``deeplab``: DeepLabV3-MobileNetV2 from the COCO/VOC TensorFlow Lite file, with a 4-class head
  built from its *background* and *person* outputs (:func:`deeplab_head_surgery`).

:data:`ARCHS` lists them for :mod:`fsutils.train`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from .. import weights
from .mobilenet import VOC_BACKGROUND, VOC_PERSON, DeepLabV3, deeplab_v3_mobilenet_v2
from .u2net import U2NETP

__all__ = ["OUTPUT_LAYERS", "surgery_from_saliency", "calibrate_identity_batchnorm", "initial_model",
           "deeplab_head_surgery", "deeplab_from_registry", "Arch", "ARCHS", "as_outputs",
           "initial_cloth_model"]


#: Layers whose shape depends on the number of output classes; everything else is transferred.
OUTPUT_LAYERS = tuple(f"side{i}" for i in range(1, 7)) + ("outconv",)


def surgery_from_saliency(state_dict: dict[str, torch.Tensor], num_classes: int = 4) -> tuple[U2NETP, list[str]]:
    """A ``U2NETP(3, num_classes)`` with every non-output layer copied from a saliency checkpoint.

    Returns the model and the names of the freshly initialised parameters (the output layers).
    """
    model = U2NETP(3, num_classes)
    kept = {k: v for k, v in state_dict.items() if k.split(".")[0] not in OUTPUT_LAYERS}
    missing, unexpected = model.load_state_dict(kept, strict=False)
    if unexpected or any(k.split(".")[0] not in OUTPUT_LAYERS for k in missing):
        raise ValueError(f"the saliency checkpoint does not fit U2NETP: unexpected {unexpected[:5]}, "
                         f"missing {[k for k in missing if k.split('.')[0] not in OUTPUT_LAYERS][:5]}; "
                         "pass the u2netp.pth saliency weights.")
    return model, sorted(missing)


@torch.no_grad()
def calibrate_identity_batchnorm(model: nn.Module, batch: torch.Tensor) -> int:
    """Give BatchNorm layers that hold identity statistics the statistics of real data.

    Checkpoints with BatchNorm folded into the convolutions (such as the recovered ``u2netp.pth``)
    have BN layers with mean 0, variance 1, weight 1, bias 0. In training mode BN would then
    re-normalise every activation and destroy what the folded convolutions learned. Setting each
    such layer's running statistics to the batch statistics of its input and its affine parameters
    to the inverse (``weight = std``, ``bias = mean``) keeps the network's function unchanged while
    letting BN train normally. Returns the number of layers calibrated.
    """
    identity = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)
                and torch.allclose(m.running_mean, torch.zeros_like(m.running_mean))
                and torch.allclose(m.running_var, torch.ones_like(m.running_var))
                and torch.allclose(m.weight, torch.ones_like(m.weight))
                and torch.allclose(m.bias, torch.zeros_like(m.bias))]
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(module, inputs):
        x = inputs[0]
        stats[module] = (x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False))

    handles = [m.register_forward_pre_hook(hook) for m in identity]
    was_training = model.training
    model.eval()
    try:
        model(batch)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for m in identity:
        mean, var = stats[m]
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.bias.copy_(mean)
        m.weight.copy_(torch.sqrt(var + m.eps))
    return len(identity)


def initial_model(state_dict: dict[str, torch.Tensor], num_classes: int = 4) -> tuple[U2NETP, list[str]]:
    """Start from a cloth checkpoint of the same shape (continue training, e.g. the shipped
    ``ccp_u2netp``) or, for a saliency checkpoint, by :func:`surgery_from_saliency`."""
    out = state_dict.get("outconv.weight")
    if out is not None and out.shape[0] == num_classes:
        model = U2NETP(3, num_classes)
        model.load_state_dict({k: v.float() for k, v in state_dict.items()})
        return model, []
    return surgery_from_saliency(state_dict, num_classes)


def _load_init(init: str) -> dict[str, torch.Tensor]:
    return weights.strip_module_prefix(weights.read_state_dict(init))


def deeplab_head_surgery(model: DeepLabV3, num_classes: int = 4) -> tuple[DeepLabV3, list[str]]:
    """A ``num_classes`` DeepLab whose every layer is copied from a VOC DeepLab ``model`` except
    the logits, whose class 0 is VOC *background* and classes 1… are each VOC *person*, with
    ``log(num_classes − 1)`` taken from their biases so that, at the start, the garment classes
    together are exactly as likely as *person* was. Returns the model and the re-initialised
    layer names (none: every weight comes from the VOC model)."""
    new = DeepLabV3(tuple(b.spec for b in model.backbone.blocks), num_classes=num_classes,
                    stem=model.backbone.stem.out_channels, dropout=_dropout_of(model))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("logits.")}
    new.load_state_dict(state, strict=False)
    src = [VOC_BACKGROUND] + [VOC_PERSON] * (num_classes - 1)
    with torch.no_grad():
        new.logits.weight.copy_(model.logits.weight[src])
        new.logits.bias.copy_(model.logits.bias[src])
        new.logits.bias[1:] -= math.log(num_classes - 1)
    return new, []


def _dropout_of(model: DeepLabV3) -> float:
    return model.dropout.p if isinstance(model.dropout, nn.Dropout2d) else 0.0


def deeplab_from_registry(init: str) -> DeepLabV3:
    """The 21-class VOC DeepLab of a TFLite file: a registry name (fetched) or a ``.tflite`` path."""
    from .. import tflite
    from .mobilenet import deeplab_from_tflite

    path = Path(init) if init.endswith(".tflite") else weights.fetch(init)
    return deeplab_from_tflite(tflite.read(path))


def _deeplab_init(init: str, dropout: float) -> tuple[nn.Module, list[str]]:
    """A 4-class DeepLab from a DeepLab TFLite file (registry name or ``.tflite`` path: head
    surgery) or from a 4-class cloth checkpoint (continue training)."""
    if init.endswith(".tflite") or (init in weights.REGISTRY and weights.get(init).format == "tflite"):
        model, fresh = deeplab_head_surgery(deeplab_from_registry(init))
        model.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        return model, fresh
    model = deeplab_v3_mobilenet_v2(4, dropout=dropout)
    weights.load_state_dict(model, {k: v.float() for k, v in weights.read_state_dict(init).items()})
    return model, []


@dataclass(frozen=True)
class Arch:
    """A trainable cloth architecture: how to build it empty, and which parameters form the
    pretrained backbone (they learn at ``lr × backbone_lr_factor``)."""

    name: str
    build: object            # (dropout) -> nn.Module with 4 outputs
    default_init: str
    backbone_prefix: str | None
    cpu_bf16: bool = True    # "auto" precision may use bf16 autocast on a CPU


ARCHS: dict[str, Arch] = {
    "u2netp": Arch("u2netp", lambda dropout: U2NETP(3, 4), "u2netp", None),
    "deeplab": Arch("deeplab", lambda dropout: deeplab_v3_mobilenet_v2(4, dropout=dropout),
                    "tflite/deeplabv3_mnv2_pascal_quant", "backbone.",
                    # measured on a 2-core CPU with native bf16: a 385-px step of 8 photos takes
                    # 1.6 s in fp32 but 20-120 s under bf16 autocast (depthwise convolutions)
                    cpu_bf16=False),
}


def as_outputs(out) -> tuple[torch.Tensor, ...]:
    """The network's outputs as a tuple whose first entry is the main (fused) logits: U2NETP
    returns seven (deep supervision), DeepLab one tensor."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def initial_cloth_model(arch: str, init: str, dropout: float = 0.0,
                        calibration: torch.Tensor | None = None) -> nn.Module:
    """The 4-class model ``arch`` at the start of training, from ``init`` (the architecture's
    pretrained file, or a cloth checkpoint of the same architecture to continue)."""
    if arch == "deeplab":
        return _deeplab_init(init, dropout)[0]
    model, _ = initial_model(_load_init(init))
    if calibration is not None:
        calibrate_identity_batchnorm(model, calibration)
    return model

"""MobileNetV2 (Sandler et al. 2018) and DeepLabV3 (Chen et al. 2017) in PyTorch, built to match
TensorFlow's published TensorFlow Lite graphs so that their weights can be copied in.

TensorFlow's layers differ from torchvision's in three ways that change the numbers, so the modules
here follow TensorFlow:

- ``"SAME"`` padding is asymmetric for stride 2 (the extra pixel goes to the bottom/right);
- with an output stride of 16 (DeepLab), the last stride-2 layer keeps stride 1 and the layers
  after it use dilation 2 in their depthwise convolutions;
- BatchNorm is folded into the convolutions of the published files (each convolution has a bias
  and no BatchNorm). The kit keeps that folded form when fine-tuning: CPU batches of a few photos
  would give BatchNorm statistics far noisier than the COCO/VOC ones folded into the weights.

:func:`mobilenet_v2_blocks` describes the standard network; :func:`blocks_from_graph` reads the
description off a TFLite file, and :func:`load_tflite_weights` copies the weights, operator by
operator, after checking that every shape agrees.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..tflite import (TFLiteError, TFLiteGraph, activation, conv_weight, depthwise_weight,
                      same_padding)

__all__ = ["PERCEPTUAL_TAPS", "BlockSpec", "TFConv2d", "InvertedResidual", "MobileNetV2Backbone", "DeepLabV3",
           "mobilenet_v2_blocks", "blocks_from_graph", "deeplab_v3_mobilenet_v2",
           "deeplab_from_tflite", "load_tflite_weights", "MobileNetV2Classifier",
           "classifier_from_tflite", "load_backbone_weights", "copy_conv",
           "VOC_BACKGROUND", "VOC_PERSON"]

#: PASCAL VOC class indices of the DeepLab files.
VOC_BACKGROUND, VOC_PERSON = 0, 15


class TFConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``"SAME"``/``"VALID"`` padding and a fused activation
    (``"NONE"``, ``"RELU"``, ``"RELU6"``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, dilation: int = 1,
                 groups: int = 1, act: str = "NONE", padding: str = "SAME"):
        super().__init__(cin, cout, kernel, stride=stride, dilation=dilation, groups=groups,
                         bias=True, padding=0)
        self.act, self.tf_padding = act, padding
        self._act = activation(act)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tf_padding={self.tf_padding}, act={self.act}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = 0
        if self.tf_padding == "SAME":
            (t, b), (l, r) = (same_padding(x.shape[-2], self.kernel_size[0], self.stride[0],
                                           self.dilation[0]),
                              same_padding(x.shape[-1], self.kernel_size[1], self.stride[1],
                                           self.dilation[1]))
            if t == b and l == r:
                pad = (t, l)  # symmetric: let the convolution pad (no copy)
            else:
                x = F.pad(x, (l, r, t, b))
        y = F.conv2d(x, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)
        return self._act(y)


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-residual block: ``hidden`` channels after the 1×1 expansion (``expand`` is
    False for the first block, which has none), depthwise ``stride``/``dilation``."""

    cin: int
    hidden: int
    cout: int
    stride: int = 1
    dilation: int = 1
    expand: bool = True

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.cin == self.cout


class InvertedResidual(nn.Module):
    """1×1 expansion (ReLU6) → 3×3 depthwise (ReLU6) → 1×1 linear projection, plus the input
    when the block keeps the shape."""

    def __init__(self, spec: BlockSpec):
        super().__init__()
        self.spec = spec
        self.expand = TFConv2d(spec.cin, spec.hidden, 1, act="RELU6") if spec.expand else None
        self.depthwise = TFConv2d(spec.hidden, spec.hidden, 3, stride=spec.stride,
                                  dilation=spec.dilation, groups=spec.hidden, act="RELU6")
        self.project = TFConv2d(spec.hidden, spec.cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.spec.residual else y


def mobilenet_v2_blocks(output_stride: int = 32, stem: int = 32) -> tuple[BlockSpec, ...]:
    """The blocks of MobileNetV2 1.0 (the paper's table 2), with TensorFlow's rule for an output
    stride below 32: the stride that would exceed it becomes 1 and later depthwise layers dilate."""
    table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
             (6, 160, 3, 2), (6, 320, 1, 1)]
    blocks, cin, current, rate = [], stem, 2, 1  # the stem already has stride 2
    for t, c, n, s in table:
        for k in range(n):
            stride = s if k == 0 else 1
            if stride > 1 and current >= output_stride:
                layer_stride, layer_rate, rate = 1, rate, rate * stride
            else:
                layer_stride, layer_rate = stride, rate
                current *= stride
            blocks.append(BlockSpec(cin, cin * t, c, layer_stride, layer_rate, expand=t != 1))
            cin = c
    return tuple(blocks)


class MobileNetV2Backbone(nn.Module):
    """The stem convolution and the inverted-residual blocks (no classifier)."""

    def __init__(self, blocks: tuple[BlockSpec, ...], stem: int = 32):
        super().__init__()
        self.stem = TFConv2d(3, stem, 3, stride=2, act="RELU6")
        self.blocks = nn.Sequential(*(InvertedResidual(b) for b in blocks))
        self.out_channels = blocks[-1].cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


class DeepLabV3(nn.Module):
    """DeepLabV3 as in TensorFlow's mobile DeepLab files: MobileNetV2 features, a 1×1 "ASPP"
    branch and an image-pooling branch, concatenated (pooling first), projected to 256 channels,
    then 1×1 logits upsampled bilinearly (corners aligned) to the input size.

    Input: ``(N, 3, H, W)`` RGB scaled to [−1, 1] (``x / 127.5 − 1``); any size. Output: logits
    ``(N, num_classes, H, W)``.
    """

    def __init__(self, blocks: tuple[BlockSpec, ...], num_classes: int = 21, stem: int = 32,
                 channels: int = 256, dropout: float = 0.0):
        super().__init__()
        self.backbone = MobileNetV2Backbone(blocks, stem)
        c = self.backbone.out_channels
        self.image_pooling = TFConv2d(c, channels, 1, act="RELU")
        self.aspp0 = TFConv2d(c, channels, 1, act="RELU")
        self.project = TFConv2d(2 * channels, channels, 1, act="RELU")
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.logits = TFConv2d(channels, num_classes, 1)

    @property
    def num_classes(self) -> int:
        return self.logits.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x)
        pooled = self.image_pooling(f.mean(dim=(2, 3), keepdim=True)).expand(-1, -1, *f.shape[-2:])
        y = self.project(torch.cat([pooled, self.aspp0(f)], dim=1))
        y = self.logits(self.dropout(y))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=True)


def deeplab_v3_mobilenet_v2(num_classes: int = 4, output_stride: int = 16,
                            dropout: float = 0.0) -> DeepLabV3:
    """DeepLabV3-MobileNetV2 1.0 with the architecture of ``deeplabv3_mnv2_pascal_quant.tflite``
    (output stride 16), freshly initialised; the cloth model's registry entry builds this."""
    return DeepLabV3(mobilenet_v2_blocks(output_stride), num_classes=num_classes, dropout=dropout)


# ------------------------------------------------------------------------------- from TFLite
_DEEPLAB_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D",
                          "RESIZE_BILINEAR", "CONCATENATION", "QUANTIZE", "ARG_MAX"})


def _conv_ops(graph: TFLiteGraph):
    return [op for op in graph.operators if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]


def blocks_from_graph(graph: TFLiteGraph) -> tuple[int, tuple[BlockSpec, ...]]:
    """``(stem channels, blocks)`` read off a MobileNetV2-based TFLite graph: the stem is the first
    convolution; each block is an optional 1×1 expansion, a depthwise convolution and a 1×1
    projection; reading stops at the first 1×1 convolution not followed by a depthwise one."""
    convs = _conv_ops(graph)
    shape = lambda op: graph.tensors[op.inputs[1]].shape  # noqa: E731  (OHWI / 1HWC)
    stem = shape(convs[0])[0]
    blocks, cin, k = [], stem, 1
    while k < len(convs):
        has_expand = (convs[k].type == "CONV_2D" and k + 1 < len(convs)
                      and convs[k + 1].type == "DEPTHWISE_CONV_2D")
        dw_at = k + 1 if has_expand else k
        if convs[dw_at].type != "DEPTHWISE_CONV_2D":
            break
        dw, proj = convs[dw_at], convs[dw_at + 1]
        hidden, cout = shape(dw)[3], shape(proj)[0]
        blocks.append(BlockSpec(cin, hidden, cout, dw.options["stride"][0],
                                dw.options["dilation"][0], expand=has_expand))
        cin, k = cout, dw_at + 2
    return stem, tuple(blocks)


def copy_conv(conv: TFConv2d, graph: TFLiteGraph, op) -> None:
    """Copy one ``CONV_2D``/``DEPTHWISE_CONV_2D`` operator's weights and bias into ``conv``,
    after checking shape, stride, dilation and fused activation."""
    w = graph.value(op.inputs[1])
    w = depthwise_weight(w) if op.type == "DEPTHWISE_CONV_2D" else conv_weight(w)
    if tuple(w.shape) != tuple(conv.weight.shape):
        raise TFLiteError(f"Operator {op.index} of {graph.path.name} has weights {tuple(w.shape)} "
                          f"where the PyTorch layer expects {tuple(conv.weight.shape)}.")
    opts = op.options
    if (opts.get("stride", (1, 1))[0], opts.get("dilation", (1, 1))[0], opts.get("activation")) != (
            conv.stride[0], conv.dilation[0], conv.act):
        raise TFLiteError(f"Operator {op.index} of {graph.path.name} ({opts}) does not match the "
                          f"PyTorch layer {conv}.")
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.copy_(graph.value(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0
                        else torch.zeros_like(conv.bias))


def _backbone_convs(backbone: MobileNetV2Backbone) -> list[TFConv2d]:
    convs = [backbone.stem]
    for block in backbone.blocks:
        convs += [c for c in (block.expand, block.depthwise, block.project) if c is not None]
    return convs


def load_backbone_weights(backbone: MobileNetV2Backbone, graph: TFLiteGraph) -> list:
    """Copy the first convolutions of a MobileNetV2-based graph into ``backbone`` (stem, then
    each block's expansion, depthwise and projection); returns the convolution operators that
    follow the backbone (the model's head), for the caller to copy."""
    convs = _conv_ops(graph)
    layers = _backbone_convs(backbone)
    if len(convs) < len(layers):
        raise TFLiteError(f"{graph.path.name} has {len(convs)} convolutions; the backbone needs "
                          f"{len(layers)}.")
    for conv, op in zip(layers, convs):
        copy_conv(conv, graph, op)
    return convs[len(layers):]


def load_tflite_weights(model: DeepLabV3, graph: TFLiteGraph) -> DeepLabV3:
    """Copy a DeepLab TFLite file's weights into ``model`` (same architecture, checked layer by
    layer). The head's branches are matched by their inputs, not by their order in the file."""
    graph.require(_DEEPLAB_OPS, "the DeepLabV3-MobileNetV2 converter")
    head = load_backbone_weights(model.backbone, graph)
    pool = graph.ops("AVERAGE_POOL_2D")
    if len(head) != 4 or len(pool) != 1:
        raise TFLiteError(f"{graph.path.name} does not have the DeepLab head the converter knows "
                          f"(image pooling, 1×1 branch, projection, logits).")
    pooling = next(op for op in head if op.inputs[0] == pool[0].outputs[0])
    last = _conv_ops(graph)[len(_backbone_convs(model.backbone)) - 1]
    branch = next(op for op in head if op.inputs[0] == last.outputs[0])
    project, logits = [op for op in head if op not in (pooling, branch)]
    for conv, op in ((model.image_pooling, pooling), (model.aspp0, branch),
                     (model.project, project), (model.logits, logits)):
        copy_conv(conv, graph, op)
    _check_concat_order(graph, pooling, branch)
    return model


def _check_concat_order(graph: TFLiteGraph, pooling, branch) -> None:
    """The model concatenates (pooling, branch); a file with the other order would need the
    projection's input channels swapped."""
    producers = {o: op for op in graph.operators for o in op.outputs}

    def origin(t: int):
        op = producers.get(t)
        while op is not None and op.type in ("RESIZE_BILINEAR", "QUANTIZE"):
            op = producers.get(op.inputs[0])
        return op

    (concat,) = graph.ops("CONCATENATION")
    first = origin(concat.inputs[0])
    if first is not pooling:
        raise TFLiteError(f"{graph.path.name} concatenates its head branches in an order the "
                          f"converter does not handle (first: operator {first.index if first else '?'}).")


def deeplab_from_tflite(graph: TFLiteGraph, dropout: float = 0.0) -> DeepLabV3:
    """A :class:`DeepLabV3` with the architecture and weights of a DeepLab TFLite file (either of
    the registry's: ``tflite/deeplabv3_mnv2_pascal_quant`` or ``tflite/deeplabv3_257_mv_gpu``)."""
    graph.require(_DEEPLAB_OPS, "the DeepLabV3-MobileNetV2 converter")
    stem, blocks = blocks_from_graph(graph)
    num_classes = graph.tensors[_conv_ops(graph)[-1].inputs[1]].shape[0]
    model = DeepLabV3(blocks, num_classes=num_classes, stem=stem, dropout=dropout)
    return load_tflite_weights(model, graph).eval()


# ------------------------------------------------------------------------ ImageNet classifier
_CLASSIFIER_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE",
                             "SOFTMAX", "QUANTIZE", "DEQUANTIZE"})


#: Blocks whose activations a perceptual loss compares: the last of the stride-4, stride-8 and
#: stride-16 stages of MobileNetV2 (24, 32 and 64 channels).
PERCEPTUAL_TAPS = (2, 5, 9)


class MobileNetV2Classifier(nn.Module):
    """The ImageNet MobileNetV2 of ``mobilenet_v2_1.0_224_quant.tflite``: the backbone, a 1×1
    convolution to ``last`` channels (ReLU6), global average pooling and 1×1 logits.

    Input: ``(N, 3, H, W)`` RGB scaled to [−1, 1] (``(x − 128) / 128``), 224×224 as trained.
    :meth:`features` gives the pooled ``(N, last)`` features, :meth:`forward` the logits
    ``(N, num_classes)`` (TensorFlow's 1001 classes: index 0 is "background")."""

    def __init__(self, blocks: tuple[BlockSpec, ...], num_classes: int = 1001, stem: int = 32,
                 last: int = 1280):
        super().__init__()
        self.backbone = MobileNetV2Backbone(blocks, stem)
        self.last = TFConv2d(self.backbone.out_channels, last, 1, act="RELU6")
        self.logits = TFConv2d(last, num_classes, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.backbone(x)).mean(dim=(2, 3))

    def feature_maps(self, x: torch.Tensor, taps: tuple[int, ...] = PERCEPTUAL_TAPS
                     ) -> list[torch.Tensor]:
        """The backbone's activations after the inverted-residual blocks ``taps`` (0-based), for
        a perceptual loss; the blocks after the last tap are not run."""
        out, z = [], self.backbone.stem(x)
        for i, block in enumerate(self.backbone.blocks):
            z = block(z)
            if i in taps:
                out.append(z)
            if i >= max(taps):
                break
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x)[..., None, None]).flatten(1)


def classifier_from_tflite(graph: TFLiteGraph) -> MobileNetV2Classifier:
    """A :class:`MobileNetV2Classifier` with the architecture and weights of a MobileNetV2
    classification TFLite file (the registry's ``tflite/mobilenet_v2_1.0_224_quant``)."""
    graph.require(_CLASSIFIER_OPS, "the MobileNetV2 classifier converter")
    stem, blocks = blocks_from_graph(graph)
    convs = _conv_ops(graph)
    shape = lambda op: graph.tensors[op.inputs[1]].shape  # noqa: E731
    n_backbone = 1 + sum(3 if b.expand else 2 for b in blocks)
    head = convs[n_backbone:]
    if len(head) != 2 or len(graph.ops("AVERAGE_POOL_2D")) != 1:
        raise TFLiteError(f"{graph.path.name} does not end like a MobileNetV2 classifier (a 1×1 "
                          f"convolution, average pooling, 1×1 logits).")
    model = MobileNetV2Classifier(blocks, num_classes=shape(head[1])[0], stem=stem,
                                  last=shape(head[0])[0])
    for conv, op in zip(_backbone_convs(model.backbone) + [model.last, model.logits], convs):
        copy_conv(conv, graph, op)
    return model.eval()

"""Magenta's arbitrary image stylisation (Ghiasi et al. 2017) in PyTorch, built from the published
TensorFlow Lite files.

Two networks:

- the **style-prediction network** (:class:`StylePredictor`) turns a painting (256×256, RGB in 0..1)
  into a 100-number *style vector*: the kit's MobileNetV2 (:mod:`fsutils.models.mobilenet`:
  TensorFlow "SAME" padding, fused ReLU6) with its 1×1 convolution to 1280 channels and global
  average, then a 1×1 convolution to 100 numbers;
- the **style-transfer network** (:class:`StyleTransferNet`) renders a photo with a style vector.
  It is the feed-forward network of Dumoulin et al. with *conditional instance normalisation*:
  every normalisation after the first three convolutions computes, per channel,
  ``y = γ(s)·(x − mean(x))/sqrt(var(x) + ε) + β(s)``, where ``β(s)`` and ``γ(s)`` are 1×1
  convolutions (linear maps) of the style vector ``s``. Layers: three "contract" convolutions
  (9×9 stride 1, 3×3 stride 2, 3×3 stride 2, ReLU; their BatchNorm is folded into the bias),
  five residual blocks (conv–norm–ReLU–conv–norm, plus the input), two "expand" layers (nearest
  upsampling ×2, 3×3 conv, norm, ReLU) and a last 9×9 conv, norm and sigmoid. Every convolution
  pads its input by reflection (``MIRROR_PAD`` in the file), not with zeros.

The file's graphs were read operator by operator with :func:`fsutils.tflite.read`; the loaders
below follow the same structure, check every weight's shape and padding against the module, and
copy the dequantised weights (float16 or int8 in the files). The modules compute in float32.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..tflite import Operator, TFLiteError, TFLiteGraph, conv_weight
from .mobilenet import MobileNetV2Classifier, blocks_from_graph, copy_conv, load_backbone_weights

__all__ = ["STYLE_DIM", "ConditionalInstanceNorm", "ReflectConv", "StyleTransferNet",
           "StylePredictor", "transfer_from_tflite", "predictor_from_tflite"]

#: Length of the style vector (the prediction network's bottleneck).
STYLE_DIM = 100


class ConditionalInstanceNorm(nn.Module):
    """Instance normalisation whose scale ``γ`` and shift ``β`` are linear functions of the style
    vector (the file's ``StyleNorm/Conv`` → β and ``StyleNorm/Conv_1`` → γ)."""

    def __init__(self, channels: int, style_dim: int = STYLE_DIM, eps: float = 1e-5):
        super().__init__()
        self.beta = nn.Linear(style_dim, channels)
        self.gamma = nn.Linear(style_dim, channels)
        self.eps = eps

    def forward(self, x: torch.Tensor, style: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        else:  # statistics of the masked region only (weights 0..1 at x's resolution)
            w = F.adaptive_avg_pool2d(mask.to(x), x.shape[-2:])
            total = w.sum(dim=(2, 3), keepdim=True)
            if bool((total <= 0).any()):
                raise ValueError("the mask is empty at the network's resolution; use a larger mask")
            mean = (x * w).sum(dim=(2, 3), keepdim=True) / total
            var = ((x - mean).square() * w).sum(dim=(2, 3), keepdim=True) / total
        scale = self.gamma(style)[:, :, None, None] * torch.rsqrt(var + self.eps)
        return x * scale + (self.beta(style)[:, :, None, None] - mean * scale)


class ReflectConv(nn.Module):
    """Reflection padding by ``kernel // 2`` then a convolution without padding."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True):
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.pad,) * 4, mode="reflect"))


class _NormConv(nn.Module):
    """Optional nearest upsampling, reflect-padded convolution, conditional instance norm."""

    def __init__(self, cin: int, cout: int, kernel: int, upsample: int = 1):
        super().__init__()
        self.upsample = upsample
        self.conv = ReflectConv(cin, cout, kernel)
        self.norm = ConditionalInstanceNorm(cout)

    def forward(self, x: torch.Tensor, style: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.norm(self.conv(x), style, mask)


class _Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = _NormConv(channels, channels, 3)
        self.conv2 = _NormConv(channels, channels, 3)

    def forward(self, x: torch.Tensor, style: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x, style, mask)), style, mask)


class StyleTransferNet(nn.Module):
    """Magenta's style-transfer network.

    Input: ``photo`` (N, 3, H, W) RGB in 0..1, any size; ``style`` (N, 100) style vectors.
    ``mask`` (optional, (N, 1, H, W) weights in 0..1): every normalisation measures its mean and
    variance inside the mask only. Output: (N, 3, H, W) in 0..1. The network works on a grid of 4 pixels (two stride-2 layers,
    two ×2 upsamplings); for a side that is not a multiple of 4 its output is slightly larger and
    is cropped to the input's size (top-left, where the upsampling aligns).

    ``widths`` are the contract layers' channels: (32, 64, 128) in the paper, (8, 16, 32) in the
    mobile TensorFlow Lite files.
    """

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 128), residual_blocks: int = 5):
        super().__init__()
        a, b, c = widths
        self.widths = tuple(widths)
        self.contract = nn.ModuleList([ReflectConv(3, a, 9), ReflectConv(a, b, 3, stride=2),
                                       ReflectConv(b, c, 3, stride=2)])
        self.residual = nn.ModuleList(_Residual(c) for _ in range(residual_blocks))
        self.expand = nn.ModuleList([_NormConv(c, b, 3, upsample=2), _NormConv(b, a, 3, upsample=2),
                                     _NormConv(a, 3, 9)])

    def norms(self) -> list[ConditionalInstanceNorm]:
        """The conditional instance norms in graph order."""
        return [m for m in self.modules() if isinstance(m, ConditionalInstanceNorm)]

    def convs(self) -> list[nn.Conv2d]:
        """The image convolutions (not the style maps) in graph order."""
        return [m.conv for m in self.modules() if isinstance(m, ReflectConv)]

    def forward(self, photo: torch.Tensor, style: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        h, w = photo.shape[-2:]
        x = photo
        for conv in self.contract:
            x = F.relu(conv(x))
        for block in self.residual:
            x = block(x, style, mask)
        x = F.relu(self.expand[0](x, style, mask))
        x = F.relu(self.expand[1](x, style, mask))
        x = torch.sigmoid(self.expand[2](x, style, mask))
        return x[..., :h, :w]


class StylePredictor(MobileNetV2Classifier):
    """Magenta's style-prediction network: the ImageNet-style MobileNetV2 classifier of
    :mod:`fsutils.models.mobilenet` (backbone, 1×1 conv to 1280 channels with ReLU6, global
    average) whose last 1×1 convolution gives the 100-number style vector instead of logits.

    Input: (N, 3, 256, 256) RGB in 0..1 (the file takes the painting unscaled); output (N, 100).
    """


# ------------------------------------------------------------------------------- from TFLite
_TRANSFER_OPS = frozenset({"CONV_2D", "MIRROR_PAD", "MEAN", "SQUARED_DIFFERENCE", "ADD", "RSQRT",
                           "MUL", "SUB", "RESIZE_NEAREST_NEIGHBOR", "LOGISTIC", "QUANTIZE",
                           "DEQUANTIZE"})
_PREDICT_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "QUANTIZE", "DEQUANTIZE"})


class _Graph:
    """Producer/consumer look-ups on a graph, seeing through (de)quantisation operators, which
    only change how a tensor is stored."""

    def __init__(self, graph: TFLiteGraph):
        self.g = graph
        self.producer = {o: op for op in graph.operators for o in op.outputs}

    def source(self, t: int) -> int:
        op = self.producer.get(t)
        while op is not None and op.type in ("QUANTIZE", "DEQUANTIZE"):
            t = op.inputs[0]
            op = self.producer.get(t)
        return t

    def made_by(self, t: int) -> Operator | None:
        return self.producer.get(self.source(t))

    def find(self, kind: str, *sources: int) -> Operator:
        """The one operator of ``kind`` whose inputs include (after dequantisation) all
        ``sources``."""
        want = {self.source(s) for s in sources}
        hits = [op for op in self.g.operators if op.type == kind
                and want <= {self.source(i) for i in op.inputs if i >= 0}]
        if len(hits) != 1:
            raise TFLiteError(f"{self.g.path.name}: expected one {kind} operator reading tensors "
                              f"{sorted(want)}, found {len(hits)}; this is not the Magenta "
                              f"style-transfer graph the converter knows.")
        return hits[0]


def _copy_conv(conv: nn.Conv2d, graph: TFLiteGraph, op: Operator) -> None:
    w = conv_weight(graph.value(op.inputs[1]))
    if tuple(w.shape) != tuple(conv.weight.shape) or op.options["stride"][0] != conv.stride[0]:
        raise TFLiteError(f"Operator {op.index} of {graph.path.name} has weights {tuple(w.shape)} "
                          f"and stride {op.options['stride']} where the PyTorch layer expects "
                          f"{tuple(conv.weight.shape)} and stride {conv.stride}.")
    with torch.no_grad():
        conv.weight.copy_(w)
        if conv.bias is not None:
            conv.bias.copy_(graph.value(op.inputs[2]))


def _copy_linear(linear: nn.Linear, graph: TFLiteGraph, op: Operator) -> None:
    w = graph.value(op.inputs[1]).flatten(1)  # (C, 1, 1, 100) → (C, 100)
    if tuple(w.shape) != tuple(linear.weight.shape):
        raise TFLiteError(f"Operator {op.index} of {graph.path.name} maps the style vector with "
                          f"weights {tuple(w.shape)}; the PyTorch layer expects "
                          f"{tuple(linear.weight.shape)}.")
    with torch.no_grad():
        linear.weight.copy_(w)
        linear.bias.copy_(graph.value(op.inputs[2]))


def _load_norm(norm: ConditionalInstanceNorm, q: _Graph, conv_out: int, style_in: int) -> None:
    """Copy β, γ and ε of the normalisation applied to tensor ``conv_out``: mean → squared
    difference → variance → +ε → rsqrt → ×γ (``mul``) → β − mean·(…) (``sub``)."""
    g = q.g
    mean = q.find("MEAN", conv_out)
    var = q.find("MEAN", q.find("SQUARED_DIFFERENCE", conv_out, mean.outputs[0]).outputs[0])
    add = q.find("ADD", var.outputs[0])
    rsqrt = q.find("RSQRT", add.outputs[0])
    mul = q.find("MUL", rsqrt.outputs[0])
    scale = q.find("MUL", mean.outputs[0], mul.outputs[0])  # mean · γ/σ
    sub = q.find("SUB", scale.outputs[0])

    def style_conv(t: int) -> Operator:
        op = q.made_by(t)
        if op is None or op.type != "CONV_2D" or q.source(op.inputs[0]) != q.source(style_in):
            raise TFLiteError(f"{g.path.name}: the normalisation of tensor {conv_out} does not take "
                              f"its scale/shift from the style vector as the converter expects.")
        return op

    gamma = style_conv(next(i for i in mul.inputs if q.source(i) != q.source(rsqrt.outputs[0])))
    beta = style_conv(sub.inputs[0])
    _copy_linear(norm.gamma, g, gamma)
    _copy_linear(norm.beta, g, beta)
    eps = next(i for i in add.inputs if q.source(i) != q.source(var.outputs[0]))
    norm.eps = float(g.value(eps))


def transfer_from_tflite(graph: TFLiteGraph) -> StyleTransferNet:
    """A :class:`StyleTransferNet` with the weights of a Magenta style-transfer TFLite file
    (``tflite/style_transfer_f16_384`` or ``tflite/style_transfer_quantized_384``)."""
    graph.require(_TRANSFER_OPS, "the Magenta style-transfer converter")
    q = _Graph(graph)
    photo_in, style_in = graph.inputs
    if graph.tensors[style_in].shape[-1] != STYLE_DIM:  # the inputs may come in either order
        photo_in, style_in = style_in, photo_in
    image_convs = [op for op in graph.ops("CONV_2D") if q.source(op.inputs[0]) != q.source(style_in)]
    shape = lambda op: graph.tensors[op.inputs[1]].shape  # noqa: E731  (OHWI)
    if len(image_convs) < 16:
        raise TFLiteError(f"{graph.path.name} has {len(image_convs)} image convolutions; the "
                          f"Magenta style-transfer network has 16.")
    widths = tuple(shape(op)[0] for op in image_convs[:3])
    model = StyleTransferNet(widths, residual_blocks=(len(image_convs) - 6) // 2)
    convs = model.convs()
    if len(convs) != len(image_convs):
        raise TFLiteError(f"{graph.path.name}: {len(image_convs)} image convolutions do not make "
                          f"a Magenta style-transfer network.")
    norm_convs = image_convs[3:]
    for conv, op in zip(convs, image_convs):
        _copy_conv(conv, graph, op)
        pad = q.made_by(op.inputs[0])
        if pad is None or pad.type != "MIRROR_PAD" or pad.options.get("mode", 0) != 0:
            raise TFLiteError(f"{graph.path.name}: convolution {op.index} does not read a "
                              f"reflection-padded input.")
        amounts = graph.value(pad.inputs[1]).tolist()
        if amounts[1] != [conv.kernel_size[0] // 2] * 2:
            raise TFLiteError(f"{graph.path.name}: convolution {op.index} pads by {amounts[1]}, "
                              f"the PyTorch layer by {conv.kernel_size[0] // 2}.")
    for norm, op in zip(model.norms(), norm_convs):
        _load_norm(norm, q, op.outputs[0], style_in)
    return model.eval()


def predictor_from_tflite(graph: TFLiteGraph) -> StylePredictor:
    """A :class:`StylePredictor` with the weights of ``tflite/style_predict_quantized_256`` (int8
    weights dequantised to float32)."""
    graph.require(_PREDICT_OPS, "the Magenta style-prediction converter")
    stem, blocks = blocks_from_graph(graph)
    head = [op for op in graph.operators if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    head = head[1 + sum(3 if b.expand else 2 for b in blocks):]
    if len(head) != 2 or len(graph.ops("MEAN")) != 1:
        raise TFLiteError(f"{graph.path.name} does not end as the Magenta style-prediction network "
                          f"(1×1 conv, mean, 1×1 conv to the style vector).")
    shape = lambda op: graph.tensors[op.inputs[1]].shape  # noqa: E731  (OHWI)
    model = StylePredictor(blocks, num_classes=shape(head[1])[0], stem=stem, last=shape(head[0])[0])
    rest = load_backbone_weights(model.backbone, graph)
    copy_conv(model.last, graph, rest[0])
    copy_conv(model.logits, graph, rest[1])
    return model.eval()

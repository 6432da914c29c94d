"""Read TensorFlow Lite files: tensors as float32 torch tensors, operators with their options.

The kit runs several published TensorFlow Lite models (DeepLabV3-MobileNetV2, MobileNetV2, Magenta's
style networks) as PyTorch modules. This module only *reads*: the flatbuffer is parsed with the
``tflite`` package (the TensorFlow Lite schema compiled for Python), constant tensors are
dequantised to float32 — uint8/int8 with per-tensor or per-channel scale and zero point, float16 —
and every operator is listed with its inputs, outputs and options. Model builders in
:mod:`fsutils.models` walk the operator list and copy the weights into their modules.

TensorFlow conventions the builders need, in one place:

- convolution weights are stored OHWI (:func:`conv_weight` turns them into PyTorch's OIHW),
  depthwise weights 1HW(C·M) (:func:`depthwise_weight` → (C·M)1HW, for ``groups=C``);
- ``"SAME"`` padding pads ``total = max((ceil(n/s) − 1)·s + (k − 1)·d + 1 − n, 0)`` with the
  smaller half *before* — asymmetric for stride 2 (:func:`same_padding`, :func:`pad_same`);
- activations such as ReLU6 are fused into the convolution's options (``activation`` below).

>>> g = read("deeplabv3_mnv2_pascal_quant.tflite")         # doctest: +SKIP
>>> g.operators[0].type, g.operators[0].options["stride"]   # doctest: +SKIP
('CONV_2D', (2, 2))
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "TFLiteError", "NotATFLiteFileError", "TruncatedTFLiteError", "UnsupportedOperatorError",
    "Quantization", "TensorInfo", "Operator", "TFLiteGraph", "read",
    "same_padding", "pad_same", "conv_weight", "depthwise_weight", "activation",
]


class TFLiteError(Exception):
    """A TensorFlow Lite file could not be read or converted; the message says what to do."""


class NotATFLiteFileError(TFLiteError):
    """The file is not a TensorFlow Lite flatbuffer."""


class TruncatedTFLiteError(TFLiteError):
    """The file ends before its tensors do (an interrupted download)."""


class UnsupportedOperatorError(TFLiteError):
    """The graph uses an operator that the PyTorch converter does not know."""


_DTYPES = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "UINT8": np.uint8,
           "INT64": np.int64, "INT8": np.int8, "INT16": np.int16, "BOOL": np.bool_}
_PADDING = {0: "SAME", 1: "VALID"}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


@dataclass(frozen=True)
class Quantization:
    """``real = scale · (q − zero_point)``, per channel along ``axis`` when ``scale`` has several
    entries."""

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 0


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the graph: ``buffer`` holds its bytes for constants (weights), else ``None``."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: Quantization | None
    buffer: bytes | None = field(repr=False, default=None)

    @property
    def is_constant(self) -> bool:
        return self.buffer is not None


@dataclass(frozen=True)
class Operator:
    """One operator: ``type`` is the builtin name (``"CONV_2D"``), ``inputs``/``outputs`` tensor
    indices (−1 = optional input left out), ``options`` the builtin options with readable values
    (``padding`` "SAME"/"VALID", ``activation`` "RELU6", ``stride``/``dilation`` as (h, w))."""

    index: int
    type: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any]


class TFLiteGraph:
    """The first subgraph of a ``.tflite`` file: tensors, operators, graph inputs and outputs."""

    def __init__(self, path: Path, tensors: list[TensorInfo], operators: list[Operator],
                 inputs: tuple[int, ...], outputs: tuple[int, ...]):
        self.path = path
        self.tensors = tensors
        self.operators = operators
        self.inputs = inputs
        self.outputs = outputs

    def __repr__(self) -> str:
        return (f"TFLiteGraph({self.path.name}: {len(self.operators)} operators, "
                f"{len(self.tensors)} tensors)")

    def ops(self, *types: str) -> list[Operator]:
        """The operators of the given types, in graph order."""
        return [op for op in self.operators if op.type in types]

    def op_types(self) -> set[str]:
        return {op.type for op in self.operators}

    def require(self, supported: set[str] | frozenset[str], converter: str) -> None:
        """Raise :class:`UnsupportedOperatorError` naming the first operator not in ``supported``."""
        for op in self.operators:
            if op.type not in supported:
                raise UnsupportedOperatorError(
                    f"{self.path.name} uses the operator {op.type} (operator {op.index}), which "
                    f"{converter} does not know (it supports {', '.join(sorted(supported))}). This "
                    f"file is not the model the converter was written for; use the registry's file.")

    def _dequantized_constants(self) -> dict[int, Operator]:
        """Output tensor → the DEQUANTIZE operator that computes it from a stored constant."""
        if not hasattr(self, "_dequantize_map"):
            self._dequantize_map = {
                op.outputs[0]: op for op in self.operators
                if op.type == "DEQUANTIZE" and self.tensors[op.inputs[0]].buffer is not None}
        return self._dequantize_map

    def value(self, index: int) -> torch.Tensor:
        """The constant tensor ``index`` as a torch tensor: float32 (dequantised) for weights,
        int64 for integer tensors without quantisation (shapes, axes). The output of a
        ``DEQUANTIZE`` operator applied to a stored constant (how float16 files keep their
        weights) counts as a constant."""
        t = self.tensors[index]
        if t.buffer is None:
            # float16 files store weights as float16 constants that a DEQUANTIZE operator turns
            # into the float32 tensor the convolution reads: that tensor is a constant too.
            op = self._dequantized_constants().get(index)
            if op is not None:
                return self.value(op.inputs[0])
            raise TFLiteError(f"Tensor {index} ({t.name}) of {self.path.name} is computed by the "
                              f"graph, not stored in the file.")
        a = np.frombuffer(t.buffer, dtype=_DTYPES[t.dtype]).reshape(t.shape)
        q = t.quantization
        if q is not None and t.dtype in ("UINT8", "INT8", "INT16", "INT32"):
            shape = [1] * a.ndim
            if q.scale.size > 1:
                shape[q.axis] = -1
            real = (a.astype(np.float64) - q.zero_point.reshape(shape)) * q.scale.reshape(shape)
            # np.asarray: arithmetic on a 0-d array (a scalar constant) yields a numpy scalar
            return torch.from_numpy(np.asarray(real, dtype=np.float32))
        if t.dtype in ("FLOAT32", "FLOAT16"):
            return torch.from_numpy(a.astype(np.float32))
        return torch.from_numpy(a.astype(np.int64))


# ---------------------------------------------------------------------------------------- reading
def _enum_names(enum_cls) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


def _options(op, tflite) -> dict[str, Any]:
    """The builtin options of ``op`` as a dict of snake_case names with readable values."""
    kind = _enum_names(tflite.BuiltinOptions).get(op.BuiltinOptionsType(), "NONE")
    table = op.BuiltinOptions()
    if kind == "NONE" or table is None:
        return {}
    obj = getattr(tflite, kind)()
    obj.Init(table.Bytes, table.Pos)
    raw: dict[str, Any] = {}
    for name in dir(obj):
        if not name[:1].isupper() or name.startswith(("Init", "GetRootAs")) or name.endswith(
                ("AsNumpy", "Length", "IsNone", "BufferHasIdentifier")):
            continue
        try:
            raw[name] = getattr(obj, name)()
        except TypeError:  # an accessor that needs an index
            continue
    out: dict[str, Any] = {}
    for name, v in raw.items():
        if name == "Padding":
            out["padding"] = _PADDING.get(v, v)
        elif name == "FusedActivationFunction":
            out["activation"] = _ACTIVATIONS.get(v, v)
        elif name in ("StrideH", "DilationHFactor", "FilterHeight"):
            continue
        elif name == "StrideW":
            out["stride"] = (raw["StrideH"], v)
        elif name == "DilationWFactor":
            out["dilation"] = (raw["DilationHFactor"], v)
        elif name == "FilterWidth":
            out["filter"] = (raw["FilterHeight"], v)
        else:
            out["".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")] = v
    return out


def _quantization(t) -> Quantization | None:
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scale = q.ScaleAsNumpy().astype(np.float64)
    zp = q.ZeroPointAsNumpy().astype(np.float64) if q.ZeroPointLength() else np.zeros_like(scale)
    return Quantization(scale=scale, zero_point=zp, axis=q.QuantizedDimension())


def read(path: str | Path) -> TFLiteGraph:
    """Parse a ``.tflite`` file (its first subgraph).

    Raises :class:`NotATFLiteFileError` for a file that is not TensorFlow Lite,
    :class:`TruncatedTFLiteError` for one that ends early.
    """
    import tflite  # the TensorFlow Lite flatbuffer schema, compiled for Python

    path = Path(path)
    if not path.is_file():
        raise TFLiteError(f"There is no file {path}.")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise NotATFLiteFileError(
            f"{path} is not a TensorFlow Lite file (a .tflite flatbuffer carries the identifier "
            f"'TFL3' at byte 4; this one starts with {data[:8]!r}). Fetch it again with "
            f"fsutils.weights.fetch.")
    try:
        return _parse(path, data, tflite)
    except TFLiteError:
        raise
    except (IndexError, ValueError, struct.error, TypeError, AttributeError) as e:
        raise TruncatedTFLiteError(
            f"{path} ({len(data):,} bytes) is damaged or truncated: reading it failed with "
            f"{type(e).__name__}: {e}. Delete it and fetch it again.") from None


def _parse(path: Path, data: bytes, tflite) -> TFLiteGraph:
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() < 1:
        raise TruncatedTFLiteError(f"{path} holds no graph; delete it and fetch it again.")
    g = model.Subgraphs(0)
    types = _enum_names(tflite.TensorType)
    builtin = _enum_names(tflite.BuiltinOperator)
    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        dtype = types.get(t.Type(), str(t.Type()))
        buf = model.Buffers(t.Buffer())
        raw = None
        if buf is not None and buf.DataLength():
            raw = buf.DataAsNumpy().tobytes()
            need = math.prod(shape) * np.dtype(_DTYPES.get(dtype, np.uint8)).itemsize
            if len(raw) != need:
                raise TruncatedTFLiteError(
                    f"{path} is damaged or truncated: tensor {i} ({t.Name().decode()}) has "
                    f"{len(raw):,} of its {need:,} bytes. Delete the file and fetch it again.")
        tensors.append(TensorInfo(i, t.Name().decode(errors="replace"), shape, dtype,
                                  _quantization(t), raw))
    operators = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = builtin.get(kind, f"BUILTIN_{kind}")
        if name == "CUSTOM":
            name = f"CUSTOM:{code.CustomCode().decode(errors='replace')}"
        operators.append(Operator(
            i, name, tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else (),
            tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else (),
            _options(op, tflite)))
    inputs = tuple(int(x) for x in g.InputsAsNumpy())
    outputs = tuple(int(x) for x in g.OutputsAsNumpy())
    return TFLiteGraph(path, tensors, operators, inputs, outputs)


# ------------------------------------------------------------------------------ TF conventions
def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``"SAME"`` padding of one axis: (before, after); the extra pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int] = (1, 1)) -> torch.Tensor:
    """``x`` (N, C, H, W) zero-padded as TensorFlow pads for a ``"SAME"`` convolution or pool."""
    top, bottom = same_padding(x.shape[-2], kernel[0], stride[0], dilation[0])
    left, right = same_padding(x.shape[-1], kernel[1], stride[1], dilation[1])
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


def conv_weight(w: torch.Tensor) -> torch.Tensor:
    """A TFLite ``CONV_2D`` weight, OHWI, as PyTorch's OIHW."""
    return w.permute(0, 3, 1, 2).contiguous()


def depthwise_weight(w: torch.Tensor) -> torch.Tensor:
    """A TFLite ``DEPTHWISE_CONV_2D`` weight, 1HW(C·M), as PyTorch's (C·M)1HW (``groups=C``)."""
    return w.permute(3, 0, 1, 2).contiguous()


def activation(name: str):
    """The PyTorch function of a fused activation name (``"NONE"`` → identity)."""
    table = {"NONE": lambda x: x, "RELU": F.relu, "RELU6": F.relu6,
             "RELU_N1_TO_1": lambda x: x.clamp(-1.0, 1.0), "TANH": torch.tanh}
    try:
        return table[name]
    except KeyError:
        raise UnsupportedOperatorError(f"Fused activation {name} is not supported.") from None

"""fsutils.tflite: the TensorFlow Lite reader, checked against the reference interpreter
(ai-edge-litert, test-only) on small files written here and on the registry's real files."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fsutils import tflite

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert is a test-only "
                             "dependency (pip install -r requirements-dev.txt)")
from ai_edge_litert import schema_py_generated as S  # noqa: E402  (the TFLite schema, writable)

# -------------------------------------------------------------------------- writing small files


def write_model(path, tensors, ops, inputs, outputs) -> str:
    """A one-subgraph .tflite file. ``tensors``: (name, shape, TensorType, bytes | None,
    (scales, zero points, axis) | None); ``ops``: (BuiltinOperator, inputs, outputs,
    (BuiltinOptions type, options object) | None)."""
    import flatbuffers

    m = S.ModelT()
    m.version = 3
    m.buffers = [S.BufferT()]
    sg = S.SubGraphT()
    sg.tensors = []
    for name, shape, ttype, data, q in tensors:
        t = S.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), ttype, 0
        if data is not None:
            b = S.BufferT()
            b.data = np.frombuffer(data, np.uint8).tolist()
            m.buffers.append(b)
            t.buffer = len(m.buffers) - 1
        if q is not None:
            qp = S.QuantizationParametersT()
            qp.scale, qp.zeroPoint, qp.quantizedDimension = list(q[0]), list(q[1]), q[2]
            t.quantization = qp
        sg.tensors.append(t)
    codes: list[int] = []
    sg.operators = []
    for code, ins, outs, opts in ops:
        if code not in codes:
            codes.append(code)
        o = S.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = codes.index(code), list(ins), list(outs)
        if opts is not None:
            o.builtinOptionsType, o.builtinOptions = opts
        sg.operators.append(o)
    m.operatorCodes = []
    for c in codes:
        oc = S.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = c, min(c, 127), 1
        m.operatorCodes.append(oc)
    sg.inputs, sg.outputs = list(inputs), list(outputs)
    m.subgraphs = [sg]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    return str(path)


def interpret(path, feeds=None, *, reference=True) -> "litert.Interpreter":
    """Run the file with the reference interpreter (reference kernels: no delegate)."""
    kind = (litert.OpResolverType.BUILTIN_REF if reference
            else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it = litert.Interpreter(model_path=str(path), experimental_op_resolver_type=kind,
                            experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    for i, x in (feeds or {}).items():
        it.set_tensor(i, x)
    it.invoke()
    return it


def dequantize_file(tmp_path, data: np.ndarray, ttype, q) -> tuple[tflite.TFLiteGraph, np.ndarray]:
    """A file whose only operator dequantises the constant ``data``; returns the reader's graph
    and the interpreter's float32 result."""
    path = write_model(tmp_path / "dq.tflite",
                       [("w", data.shape, ttype, data.tobytes(), q),
                        ("out", data.shape, S.TensorType.FLOAT32, None, None)],
                       [(S.BuiltinOperator.DEQUANTIZE, [0], [1], None)], [], [1])
    return tflite.read(path), interpret(path).get_tensor(1)


# ---------------------------------------------------------------------------- dequantisation
def test_uint8_per_tensor(tmp_path):
    q = np.array([[0, 128, 255], [10, 200, 129]], np.uint8)
    g, ref = dequantize_file(tmp_path, q, S.TensorType.UINT8, ([0.1], [128], 0))
    got = g.value(0)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), [[-12.8, 0.0, 12.7], [-11.8, 7.2, 0.1]], rtol=1e-6)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-6)


def test_int8_per_channel_first_axis(tmp_path):
    q = np.array([[-128, 0, 127], [1, 2, 3]], np.int8)
    g, ref = dequantize_file(tmp_path, q, S.TensorType.INT8, ([0.5, 0.25], [0, 1], 0))
    np.testing.assert_allclose(g.value(0).numpy(), [[-64.0, 0.0, 63.5], [0.0, 0.25, 0.5]])
    np.testing.assert_allclose(g.value(0).numpy(), ref)


def test_int8_per_channel_last_axis(tmp_path):
    """Depthwise weights (1HWC) are quantised per output channel along the last axis."""
    q = np.arange(-6, 6, dtype=np.int8).reshape(1, 2, 2, 3)
    scales = [0.5, 2.0, 0.125]
    g, ref = dequantize_file(tmp_path, q, S.TensorType.INT8, (scales, [0, 0, 0], 3))
    want = q.astype(np.float32) * np.array(scales, np.float32)
    np.testing.assert_allclose(g.value(0).numpy(), want)
    np.testing.assert_allclose(g.value(0).numpy(), ref)


def test_float16(tmp_path):
    h = np.array([1.0, -2.5, 65504.0, 1e-4, 0.1], np.float16)
    g, ref = dequantize_file(tmp_path, h, S.TensorType.FLOAT16, None)
    np.testing.assert_array_equal(g.value(0).numpy(), h.astype(np.float32))
    np.testing.assert_array_equal(g.value(0).numpy(), ref)
    # the float32 tensor a DEQUANTIZE operator makes from a stored constant is a constant too
    np.testing.assert_array_equal(g.value(1).numpy(), h.astype(np.float32))


def test_scalar_quantised_constant(tmp_path):
    g, ref = dequantize_file(tmp_path, np.array(7, np.int8), S.TensorType.INT8, ([0.5], [1], 0))
    assert g.value(0).shape == () and float(g.value(0)) == 3.0 == float(ref)


def test_real_files_match_the_interpreters_constants(weights_path):
    """Every stored constant of the int8 prediction file, as the interpreter reads it (raw values
    and quantisation parameters), dequantises to the reader's tensor; and every float16 weight of
    the transfer file equals the interpreter's float32 result of its DEQUANTIZE operator."""
    path = weights_path("tflite/style_predict_quantized_256")
    g = tflite.read(path)
    it = litert.Interpreter(model_path=str(path))
    per_channel = 0
    for d in it.get_tensor_details():
        t = g.tensors[d["index"]]
        if not t.is_constant or t.dtype not in ("INT8", "INT32"):
            continue
        qp = d["quantization_parameters"]
        raw = it.get_tensor(d["index"]).astype(np.float64)
        if qp["scales"].size == 0:  # plain integers (the MEAN's axes)
            np.testing.assert_array_equal(g.value(d["index"]).numpy(), raw)
            continue
        shape = [1] * raw.ndim
        if qp["scales"].size > 1:
            shape[qp["quantized_dimension"]] = -1
            per_channel += 1
        want = (raw - qp["zero_points"].reshape(shape)) * qp["scales"].reshape(shape)
        np.testing.assert_allclose(g.value(d["index"]).numpy(), want, rtol=1e-6, atol=1e-12)
    assert per_channel > 50  # the conv weights and biases are quantised per channel

    path = weights_path("tflite/style_transfer_f16_384")
    g = tflite.read(path)
    feeds = {g.inputs[0]: np.full(g.tensors[g.inputs[0]].shape, 0.5, np.float32),
             g.inputs[1]: np.zeros(g.tensors[g.inputs[1]].shape, np.float32)}
    it = interpret(path, feeds, reference=False)
    dequantized = [op for op in g.ops("DEQUANTIZE")]
    assert len(dequantized) == 88
    for op in dequantized:
        np.testing.assert_array_equal(g.value(op.outputs[0]).numpy(), it.get_tensor(op.outputs[0]))


# ------------------------------------------------------------------ layouts and SAME padding
@pytest.mark.parametrize("size, kernel, stride, dilation, want", [
    (5, 3, 2, 1, (1, 1)), (4, 3, 2, 1, (0, 1)), (256, 3, 2, 1, (0, 1)), (7, 3, 1, 1, (1, 1)),
    (8, 1, 2, 1, (0, 0)), (9, 3, 1, 2, (2, 2))])
def test_same_padding(size, kernel, stride, dilation, want):
    assert tflite.same_padding(size, kernel, stride, dilation) == want


def _conv_options(stride: int, depthwise: bool = False, multiplier: int = 1):
    if depthwise:
        o = S.DepthwiseConv2DOptionsT()
        o.depthMultiplier = multiplier
        kind = S.BuiltinOptions.DepthwiseConv2DOptions
    else:
        o = S.Conv2DOptionsT()
        kind = S.BuiltinOptions.Conv2DOptions
    o.padding, o.strideH, o.strideW = S.Padding.SAME, stride, stride
    o.dilationHFactor = o.dilationWFactor = 1
    o.fusedActivationFunction = S.ActivationFunctionType.RELU6
    return kind, o


@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
def test_conv_layout_and_same_padding_match_the_interpreter(tmp_path, depthwise):
    """A stride-2 SAME convolution on an even size (TF pads one pixel after, none before) with
    OHWI / 1HW(C·M) weights gives the interpreter's numbers through conv_weight/depthwise_weight,
    pad_same and activation()."""
    rng = np.random.default_rng(0)
    cin, mult, cout = 3, 2, 4
    x = rng.normal(size=(1, 8, 6, cin)).astype(np.float32)
    if depthwise:
        w = rng.normal(size=(1, 3, 3, cin * mult)).astype(np.float32)
        code, outc = S.BuiltinOperator.DEPTHWISE_CONV_2D, cin * mult
    else:
        w = rng.normal(size=(cout, 3, 3, cin)).astype(np.float32)
        code, outc = S.BuiltinOperator.CONV_2D, cout
    bias = rng.normal(size=(outc,)).astype(np.float32)
    path = write_model(
        tmp_path / "conv.tflite",
        [("x", x.shape, S.TensorType.FLOAT32, None, None),
         ("w", w.shape, S.TensorType.FLOAT32, w.tobytes(), None),
         ("b", bias.shape, S.TensorType.FLOAT32, bias.tobytes(), None),
         ("y", (1, 4, 3, outc), S.TensorType.FLOAT32, None, None)],
        [(code, [0, 1, 2], [3], _conv_options(2, depthwise, mult))], [0], [3])
    ref = interpret(path, {0: x}).get_tensor(3)

    g = tflite.read(path)
    (op,) = g.operators
    assert op.options["padding"] == "SAME" and op.options["stride"] == (2, 2)
    wt = g.value(1)
    wt = tflite.depthwise_weight(wt) if depthwise else tflite.conv_weight(wt)
    xt = tflite.pad_same(torch.from_numpy(x).permute(0, 3, 1, 2), (3, 3), op.options["stride"])
    y = F.conv2d(xt, wt, g.value(2), stride=2, groups=cin if depthwise else 1)
    y = tflite.activation(op.options["activation"])(y)
    np.testing.assert_allclose(y.permute(0, 2, 3, 1).numpy(), ref, atol=1e-5)
    # symmetric zero padding (PyTorch's padding=1) would shift the grid: a real difference
    y_sym = F.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), wt, g.value(2), stride=2, padding=1,
                     groups=cin if depthwise else 1).clamp(0, 6)
    assert np.abs(y_sym.permute(0, 2, 3, 1).numpy() - ref).max() > 0.1


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("content", [b"", b"TFL3", b"<!DOCTYPE html><html>quota</html>",
                                     b"\x89PNG\r\n\x1a\n" + bytes(64), b"PK\x03\x04" + bytes(64)])
def test_not_a_tflite_file(tmp_path, content):
    p = tmp_path / "model.tflite"
    p.write_bytes(content)
    with pytest.raises(tflite.NotATFLiteFileError, match="not a TensorFlow Lite file"):
        tflite.read(p)


def test_missing_file(tmp_path):
    with pytest.raises(tflite.TFLiteError, match="no file"):
        tflite.read(tmp_path / "absent.tflite")


@pytest.mark.parametrize("keep", [0.02, 0.3, 0.6, 0.97, 0.9999])
def test_truncated_file(tmp_path, weights_path, keep):
    data = weights_path("tflite/style_transfer_f16_384").read_bytes()
    p = tmp_path / "cut.tflite"
    p.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(tflite.TruncatedTFLiteError, match="truncated") as e:
        tflite.read(p)
    assert "fetch it again" in str(e.value)


def test_unknown_operator_is_named(tmp_path):
    x = np.zeros((1, 4), np.float32)
    path = write_model(tmp_path / "cumsum.tflite",
                       [("x", x.shape, S.TensorType.FLOAT32, None, None),
                        ("axis", (), S.TensorType.INT32, np.int32(1).tobytes(), None),
                        ("y", x.shape, S.TensorType.FLOAT32, None, None)],
                       [(S.BuiltinOperator.CUMSUM, [0, 1], [2], None)], [0], [2])
    g = tflite.read(path)
    assert [op.type for op in g.operators] == ["CUMSUM"]
    with pytest.raises(tflite.UnsupportedOperatorError, match=r"CUMSUM \(operator 0\).*my converter"):
        g.require({"CONV_2D", "ADD"}, "my converter")
    g.require({"CUMSUM"}, "my converter")  # known → no error


def test_computed_tensor_has_no_value(tmp_path):
    path = write_model(tmp_path / "relu.tflite",
                       [("a", (2,), S.TensorType.FLOAT32, None, None),
                        ("b", (2,), S.TensorType.FLOAT32, None, None)],
                       [(S.BuiltinOperator.RELU, [0], [1], None)], [0], [1])
    with pytest.raises(tflite.TFLiteError, match="computed by the graph"):
        tflite.read(path).value(1)

"""refquant.onnx against onnxruntime: a QTensor exported as initializers + DequantizeLinear
(per tensor, per axis, blocked; integer, fixed-point, float8 and MX block formats)
dequantizes in onnxruntime to QTensor.dequantize(np.float32) bit for bit, and the QDQ pair
quantizes a float input as refquant.quantize(compat="onnx"). Every model passes onnx's
full checker."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import refquant as rq  # noqa: E402
from refquant import onnx as ro  # noqa: E402


def _run(model, feeds=None):
    onnx.checker.check_model(model, full_check=True)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so,
                               providers=["CPUExecutionProvider"])
    return sess.run(None, feeds or {})[0]


def _x(rng, shape=(6, 40)):
    return (rng.standard_normal(shape) * np.exp(rng.uniform(-4, 4, (shape[0], 1)))
            ).astype(np.float32)


CASES = [
    ("int8", {}), ("uint8", {}), ("int16", {}), ("uint16", {}),
    ("int8", dict(granularity="axis", axis=0)), ("uint8", dict(granularity="axis", axis=1)),
    ("int4", dict(granularity="axis", axis=0)), ("uint4", {}),
    ("int8", dict(granularity="block", axis=1, block_size=16)),
    ("int4", dict(granularity="block", axis=1, block_size=7)),      # a short last block
    ("uint4", dict(granularity="block", axis=0, block_size=4)),
    ("uint8", dict(granularity="block", axis=1, block_size=8, symmetric=False)),
    ("int8", dict(symmetric=False)),
    ("e4m3fn", {}), ("e5m2", dict(granularity="axis", axis=1)), ("e4m3fnuz", {}),
    ("e5m2fnuz", dict(granularity="block", axis=1, block_size=8)),
    ("q3.4", {}), ("mxfp8_e4m3", {}), ("mxfp8_e5m2", {}), ("mxint8", {}),
]


@pytest.mark.parametrize("fmt, kw", CASES, ids=[f"{f}-{kw}" for f, kw in CASES])
def test_dequantize_linear_equals_onnxruntime(rng, fmt, kw):
    for trial in range(3):
        x = _x(rng)
        q = rq.quantize(x, fmt, **kw)
        got = _run(ro.to_model(q, "w"))
        assert got.dtype == np.float32 and got.shape == x.shape
        np.testing.assert_array_equal(got, q.dequantize(np.float32))


def test_three_dimensional_blocks_and_zero_d(rng):
    x = rng.standard_normal((3, 5, 20)).astype(np.float32)
    q = rq.quantize(x, "int4", granularity="block", axis=2, block_size=8)
    np.testing.assert_array_equal(_run(ro.to_model(q)), q.dequantize(np.float32))
    q = rq.quantize(np.float32(2.5), "int8")
    np.testing.assert_array_equal(_run(ro.to_model(q)), q.dequantize(np.float32))


@pytest.mark.parametrize("fmt, kw", [("int8", {}), ("uint8", dict(symmetric=False)),
                                     ("int4", dict(granularity="axis", axis=0)),
                                     ("int8", dict(granularity="block", axis=1, block_size=8))])
def test_qdq_pair_quantizes_as_compat_onnx(rng, fmt, kw):
    x = _x(rng)
    q = rq.quantize(x, fmt, **kw)
    x2 = (x * 1.3).astype(np.float32)     # other values, some beyond the calibrated range
    got = _run(ro.to_model(q, "w", qdq=True), {"w_float": x2})
    ref = rq.quantize(x2, fmt, scale=q.scale, zero_point=q.zero_point, compat="onnx",
                      **{k: v for k, v in kw.items() if k != "symmetric"})
    np.testing.assert_array_equal(got, ref.dequantize(np.float32))


def test_nodes_and_initializers_are_named_after_the_tensor(rng):
    q = rq.quantize(_x(rng), "int8", granularity="axis", axis=0)
    nodes, inits = ro.dequantize_linear(q, "fc1.weight")
    assert [n.op_type for n in nodes] == ["DequantizeLinear"]
    assert list(nodes[0].input) == ["fc1.weight_quantized", "fc1.weight_scale",
                                    "fc1.weight_zero_point"]
    assert list(nodes[0].output) == ["fc1.weight"]
    assert [i.name for i in inits] == list(nodes[0].input)
    assert {a.name: a.i for a in nodes[0].attribute} == {"axis": 0}


def test_refusals(rng):
    x = _x(rng)
    with pytest.raises(ValueError, match="posit8 has no ONNX element type"):
        ro.to_model(rq.quantize(x, "posit8"))
    with pytest.raises(ValueError, match="nvfp4 has no ONNX element type"):
        ro.to_model(rq.quantize(x, "nvfp4"))
    q = rq.quantize(x, "int8", scale_dtype=np.float64)
    with pytest.raises(ValueError, match="are not all float32 values"):
        ro.to_model(q)
    q = rq.quantize(x, "int8", granularity="block", axis=1, block_size=8)
    with pytest.raises(ValueError, match="blocked DequantizeLinear needs opset >= 21"):
        ro.to_model(q, opset=19)
    q = rq.quantize(x, "int4")
    with pytest.raises(ValueError, match=r"INT4 codes \(int4\) need opset >= 21"):
        ro.to_model(q, opset=19)

"""onnxruntime as an oracle, bit for bit: QuantizeLinear / DequantizeLinear (per tensor,
per axis, blocked; int4, uint4, int8, uint8, int16), QLinearMatMul, MatMulInteger and
ConvInteger against refquant.quantize(compat="onnx") and refquant.intops.

uint8 x int8 MatMulInteger / QLinearMatMul depend on the CPU: with AVX512-VNNI or AVX-VNNI
onnxruntime's products are exact; on other x86-64 CPUs it sums adjacent K-pairs of the
raw code products with int16 saturation (vpmaddubsw), which refquant models as
``pair_saturate=16``. Those tests use inputs on which the two models differ, require
onnxruntime to equal one of them, and record which one as the user property
``onnxruntime_u8s8_model`` ("exact" or "pair_saturate=16"; shown by ``pytest -rA``)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

import refquant as rq  # noqa: E402
from refquant import intops as I  # noqa: E402

TYPES = {"int4": TensorProto.INT4, "uint4": TensorProto.UINT4, "int8": TensorProto.INT8,
         "uint8": TensorProto.UINT8, "int16": TensorProto.INT16, "uint16": TensorProto.UINT16}
NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16}


def _run(nodes, inputs, outputs, feeds, initializers=(), opset=21):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _qdq(x, scale, zero, name, axis=None, block=None):
    """onnxruntime: QuantizeLinear then DequantizeLinear (float32 out) and, for types
    NumPy holds, the codes too."""
    attrs = {}
    if axis is not None:
        attrs["axis"] = axis
    if block is not None:
        attrs["block_size"] = block
    inits = [helper.make_tensor("s", TensorProto.FLOAT, scale.shape, scale.ravel().tolist()),
             helper.make_tensor("z", TYPES[name], zero.shape, zero.ravel().astype(int).tolist())]
    q = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], **attrs)
    dq = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], **attrs)
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)]
    nodes = [q, dq]
    if name in NP:
        outs.insert(0, helper.make_tensor_value_info("q", TYPES[name], x.shape))
    res = _run(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)], outs,
               {"x": x}, inits)
    return (res[0], res[1]) if name in NP else (None, res[0])


def _data(rng, shape, scale_full):
    """Random values with many exact ties (k + 1/2) * s and values beyond the range."""
    x = rng.normal(size=shape).astype(np.float32) * 40 * scale_full
    k = rng.integers(-300, 300, size=shape).astype(np.float32)
    ties = ((k + np.float32(0.5)) * scale_full).astype(np.float32)
    pick = rng.random(shape) < 0.4
    return np.where(pick, ties, x).astype(np.float32)


def _scales(rng, shape):
    # powers of two make (k + 1/2) * s exact ties; others exercise float32 division
    pw = np.float32(2.0) ** rng.integers(-6, 2, size=shape).astype(np.float32)
    other = rng.uniform(0.01, 0.5, size=shape).astype(np.float32)
    return np.where(rng.random(shape) < 0.5, pw, other).astype(np.float32)


@pytest.mark.parametrize("name", ["int4", "uint4", "int8", "uint8", "int16"])
def test_quantize_linear_per_tensor(name):
    rng = np.random.default_rng(1)
    fmt = rq.format(name)
    for trial in range(4):
        s = _scales(rng, ())
        z = np.array(rng.integers(fmt.qmin, fmt.qmax + 1) if trial % 2 else 0)
        x = _data(rng, (64, 9), s)
        codes, y = _qdq(x, np.asarray(s), z, name)
        q = rq.quantize(x, fmt, scale=s, zero_point=z, compat="onnx")
        if codes is not None:
            assert (q.codes.astype(np.int64) == codes.astype(np.int64)).all()
        assert (q.dequantize(np.float32) == y).all()


@pytest.mark.parametrize("name", ["int4", "uint4", "int8", "uint8", "int16"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_quantize_linear_per_axis(name, axis):
    rng = np.random.default_rng(2 + axis)
    fmt = rq.format(name)
    shape = (5, 6, 7)
    s = _scales(rng, (shape[axis],))
    z = rng.integers(fmt.qmin, fmt.qmax + 1, size=shape[axis])
    sfull = np.expand_dims(s, [d for d in range(3) if d != axis])
    x = _data(rng, shape, sfull)
    codes, y = _qdq(x, s, z, name, axis=axis)
    q = rq.quantize(x, fmt, granularity="axis", axis=axis, scale=s, zero_point=z, compat="onnx")
    if codes is not None:
        assert (q.codes.astype(np.int64) == codes.astype(np.int64)).all()
    assert (q.dequantize(np.float32) == y).all()


@pytest.mark.parametrize("name", ["int4", "uint4", "int8", "uint8", "int16"])
@pytest.mark.parametrize("axis,block", [(0, 2), (1, 4), (1, 3), (2, 7)])
def test_quantize_linear_blocked(name, axis, block):
    rng = np.random.default_rng(10 + block)
    fmt = rq.format(name)
    shape = (4, 10, 7)
    sshape = tuple(-(-d // block) if i == axis else d for i, d in enumerate(shape))
    s = _scales(rng, sshape)
    z = rng.integers(fmt.qmin, fmt.qmax + 1, size=sshape)
    sfull = np.take(np.repeat(s, block, axis=axis), np.arange(shape[axis]), axis=axis)
    x = _data(rng, shape, sfull)
    codes, y = _qdq(x, s, z, name, axis=axis, block=block)
    q = rq.quantize(x, fmt, granularity="block", axis=axis, block_size=block, scale=s,
                    zero_point=z, compat="onnx")
    if codes is not None:
        assert (q.codes.astype(np.int64) == codes.astype(np.int64)).all()
    assert (q.dequantize(np.float32) == y).all()


def test_exact_ties_round_half_even_like_onnxruntime():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127.5, -128.5, 3.5], np.float32)
    codes, _ = _qdq(x, np.array(1.0, np.float32), np.array(0), "int8")
    assert codes.tolist() == [0, 2, 2, 0, -2, -2, 126, 127, -128, 4]
    assert rq.quantize(x, "int8", scale=1.0, compat="onnx").codes.tolist() == codes.tolist()


def _qlinear(a, sa, za, b, sb, zb, sy, zy):
    names = ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"]
    vals = [a, sa, za, b, sb, zb, sy, zy]
    tp = {np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8,
          np.dtype(np.float32): TensorProto.FLOAT}
    inputs = [helper.make_tensor_value_info(n, tp[v.dtype], v.shape) for n, v in zip(names, vals)]
    node = helper.make_node("QLinearMatMul", names, ["y"])
    out = helper.make_tensor_value_info("y", tp[zy.dtype], None)
    return _run([node], inputs, [out], dict(zip(names, vals)), opset=21)[0]


@pytest.mark.parametrize("ta,tb,ty", [(np.uint8, np.uint8, np.uint8), (np.int8, np.int8, np.int8)])
def test_qlinear_matmul(ta, tb, ty):
    rng = np.random.default_rng(20)
    ia, ib, iy = np.iinfo(ta), np.iinfo(tb), np.iinfo(ty)
    for trial in range(6):
        M, K, N = rng.integers(1, 9), rng.integers(1, 70), rng.integers(1, 9)
        a = rng.integers(ia.min, ia.max + 1, (M, K)).astype(ta)
        b = rng.integers(ib.min, ib.max + 1, (K, N)).astype(tb)
        za = np.array(rng.integers(ia.min, ia.max + 1), ta)
        zb = np.array(rng.integers(ib.min, ib.max + 1) if tb == np.uint8 else 0, tb)
        zy = np.array(rng.integers(iy.min, iy.max + 1), ty)
        if trial < 3:  # exact ties: acc * 2^-k
            sa, sb = np.float32(2.0 ** -trial), np.float32(0.5)
            sy = np.float32(2.0 ** (trial + 3))
        else:
            sa, sb, sy = (np.float32(rng.uniform(0.001, 0.1)) for _ in range(3))
        sa, sb, sy = (np.array(v, np.float32) for v in (sa, sb, sy))
        want = _qlinear(a, sa, za, b, sb, zb, sy, zy)
        got = I.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy)
        assert got.dtype == want.dtype and (got == want).all()
        if trial < 3:  # power-of-two scales: ONNX float path == exact real rounding
            ex = I.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy, compat="exact")
            assert (ex == want).all()


@pytest.mark.parametrize("ta,tb", [(np.uint8, np.uint8), (np.int8, np.int8)])
def test_matmul_integer(ta, tb):
    rng = np.random.default_rng(30)
    ia, ib = np.iinfo(ta), np.iinfo(tb)
    tp = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}
    for trial in range(4):
        shape_a = (2, 5, 33) if trial % 2 else (7, 33)
        a = rng.integers(ia.min, ia.max + 1, shape_a).astype(ta)
        b = rng.integers(ib.min, ib.max + 1, (33, 6)).astype(tb)
        za = np.array(rng.integers(ia.min, ia.max + 1), ta)
        zb = np.array(rng.integers(ib.min, ib.max + 1), tb)
        node = helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])
        ins = [helper.make_tensor_value_info("a", tp[ta], a.shape),
               helper.make_tensor_value_info("b", tp[tb], b.shape),
               helper.make_tensor_value_info("za", tp[ta], ()),
               helper.make_tensor_value_info("zb", tp[tb], ())]
        want = _run([node], ins, [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                    {"a": a, "b": b, "za": za, "zb": zb}, opset=21)[0]
        got = I.matmul_integer(a, b, za, zb)
        assert got.dtype == np.int32 and (got == want).all()


# ----- uint8 x int8: exact on VNNI CPUs, pair-saturating (vpmaddubsw) elsewhere --------

U8S8_TRIALS = [  # (a zero point, b zero point, a's shape, N)
    (0, 0, (3, 17), 5), (128, 3, (4, 33), 6), (200, -5, (2, 64), 3), (0, -5, (2, 3, 33), 4),
    (128, 0, (5, 64), 2), (200, 3, (1, 17), 7)]


def _u8s8_operands(rng, a_shape, N):
    """A codes near 255 and B codes near +-127 with one sign per K-pair, so that most pairs
    of products leave int16 (2 * 255 * 127 = 64770 > 32767)."""
    K = a_shape[-1]
    a = rng.integers(200, 256, a_shape).astype(np.uint8)
    sign = np.repeat(rng.choice([-1, 1], size=((K + 1) // 2, N)), 2, axis=0)[:K]
    b = (sign * rng.integers(100, 128, (K, N))).astype(np.int8)
    return a, b


def _which(want, models):
    """The names of the models whose output equals onnxruntime's."""
    return [name for name, got in models.items() if got.dtype == want.dtype and (got == want).all()]


def _record(record_property, request, matched):
    record_property("onnxruntime_u8s8_model", ",".join(sorted(set(matched))))
    print(f"{request.node.name}: onnxruntime matched {matched}")


def test_matmul_integer_uint8_int8(record_property, request):
    rng = np.random.default_rng(31)
    matched = []
    for za_v, zb_v, a_shape, N in U8S8_TRIALS:
        a, b = _u8s8_operands(rng, a_shape, N)
        za, zb = np.array(za_v, np.uint8), np.array(zb_v, np.int8)
        node = helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])
        ins = [helper.make_tensor_value_info("a", TensorProto.UINT8, a.shape),
               helper.make_tensor_value_info("b", TensorProto.INT8, b.shape),
               helper.make_tensor_value_info("za", TensorProto.UINT8, ()),
               helper.make_tensor_value_info("zb", TensorProto.INT8, ())]
        want = _run([node], ins, [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                    {"a": a, "b": b, "za": za, "zb": zb}, opset=21)[0]
        models = {"exact": I.matmul_integer(a, b, za, zb),
                  "pair_saturate=16": I.matmul_integer(a, b, za, zb, pair_saturate=16)}
        assert (models["exact"] != models["pair_saturate=16"]).any(), "inputs must tell the models apart"
        found = _which(want, models)
        assert len(found) == 1, (f"onnxruntime equals neither model (za={za_v}, zb={zb_v}, "
                                 f"a {a.shape}): max |ort - exact| = "
                                 f"{int(np.abs(want.astype(np.int64) - models['exact']).max())}")
        matched.append(found[0])
    _record(record_property, request, matched)


def test_qlinear_matmul_uint8_int8_uint8(record_property, request):
    rng = np.random.default_rng(21)
    matched = []
    for za_v, zb_v, a_shape, N in U8S8_TRIALS:
        a, b = _u8s8_operands(rng, a_shape, N)
        za, zb = np.array(za_v, np.uint8), np.array(zb_v, np.int8)
        zy = np.array(rng.integers(100, 156), np.uint8)
        sa, sb = np.array(0.05, np.float32), np.array(0.02, np.float32)
        acc = I.gemm(a, b, za, zb, overflow="exact")
        # y spans about +-100 around zy for the exact model: no saturation hides a difference
        sy = np.array(sa * sb * max(1, int(np.abs(acc).max())) / 100, np.float32)
        want = _qlinear(a, sa, za, b, sb, zb, sy, zy)
        models = {name: I.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy, pair_saturate=p)
                  for name, p in (("exact", None), ("pair_saturate=16", 16))}
        assert (models["exact"] != models["pair_saturate=16"]).any(), "inputs must tell the models apart"
        found = _which(want, models)
        assert len(found) == 1, f"onnxruntime equals neither model (za={za_v}, zb={zb_v}, a {a.shape})"
        matched.append(found[0])
    _record(record_property, request, matched)


@pytest.mark.parametrize("stride,pads,dil,groups", [(1, (0, 0, 0, 0), 1, 1), (2, (1, 2, 1, 0), 1, 1),
                                                    (1, (1, 1, 1, 1), 2, 2)])
def test_conv_integer(stride, pads, dil, groups):
    rng = np.random.default_rng(40)
    x = rng.integers(0, 256, (2, 4, 9, 8)).astype(np.uint8)
    w = rng.integers(0, 256, (6, 4 // groups, 3, 3)).astype(np.uint8)
    xz, wz = np.array(7, np.uint8), np.array(130, np.uint8)
    node = helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], strides=[stride, stride],
                            pads=[pads[0], pads[1], pads[2], pads[3]], dilations=[dil, dil],
                            group=groups)
    ins = [helper.make_tensor_value_info(n, TensorProto.UINT8, v.shape)
           for n, v in (("x", x), ("w", w), ("xz", xz), ("wz", wz))]
    want = _run([node], ins, [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                {"x": x, "w": w, "xz": xz, "wz": wz}, opset=10)[0]
    got = I.conv2d(x, w, xz, wz, stride=stride, padding=pads, dilation=dil, groups=groups)
    assert got.dtype == np.int32 and (got == want).all()

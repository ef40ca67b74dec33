"""refquant.quantize as a specification: error bounds, saturation, idempotence, exact
zero, granularity shapes, the fast path == the general kernel, and bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refquant as rq
import refquant.affine as affine
from refquant import Rounding
from reference import rounding as ref

INT_NAMES = ["int2", "int4", "uint4", "int8", "uint8", "int8n", "int16", "uint16"]
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=9),
                    elements=st.floats(-1e3, 1e3, allow_nan=False, width=32))


def _expand(q):
    """Scale and zero point broadcast to the codes' shape."""
    s = np.asarray(q.scale, dtype=np.float64)
    z = np.asarray(q.zero_point, dtype=np.int64)
    if q.granularity == "tensor":
        return np.broadcast_to(s, q.shape), np.broadcast_to(z, q.shape)
    if q.granularity == "axis":
        sh = [1] * len(q.shape)
        sh[q.axis] = -1
        return np.broadcast_to(s.reshape(sh), q.shape), np.broadcast_to(z.reshape(sh), q.shape)
    rep = lambda a: np.take(np.repeat(a, q.block_size, axis=q.axis),
                            np.arange(q.shape[q.axis]), axis=q.axis)
    return rep(s), rep(z)


@settings()
@given(arrays, st.sampled_from(INT_NAMES), st.sampled_from(["tensor", "axis", "block"]),
       st.integers(1, 4), st.booleans())
def test_error_bound_inside_range_and_saturation(x, name, gran, block, sym):
    fmt = rq.format(name)
    if fmt.min_value == 0 and sym:
        sym = False  # symmetric unsigned clips all negatives; covered separately
    kw = {} if gran == "tensor" else {"axis": x.ndim - 1}
    if gran == "block":
        kw["block_size"] = block
    q = rq.quantize(x, fmt, granularity=gran, symmetric=sym, **kw)
    s, z = _expand(q)
    xh = q.dequantize()
    c = q.codes.astype(np.int64)
    assert ((fmt.qmin <= c) & (c <= fmt.qmax)).all()
    lo = (fmt.qmin - z) * s
    hi = (fmt.qmax - z) * s
    inside = (x >= lo - s / 2) & (x <= hi + s / 2)
    assert (np.abs(x - xh)[inside] <= s[inside] / 2 * (1 + 1e-12)).all()
    assert (c[x > hi + s / 2] == fmt.qmax).all()
    assert (c[x < lo - s / 2] == fmt.qmin).all()
    # the codes equal the exact reference
    flat = [ref.quantize_affine(float(v), float(sv), int(zv), fmt.qmin, fmt.qmax, 0)
            for v, sv, zv in zip(x.ravel(), s.ravel(), z.ravel())]
    assert c.ravel().tolist() == flat
    # idempotent: re-quantizing the dequantized tensor with the same scaling gives the codes
    q2 = rq.quantize(xh, fmt, granularity=gran, scale=q.scale, zero_point=q.zero_point, **kw)
    assert (q2.codes == q.codes).all()


@settings()
@given(arrays, st.sampled_from(["uint8", "int8", "uint4", "int4"]))
def test_zero_exactly_representable_asymmetric(x, name):
    x = np.concatenate([x.ravel(), [0.0]])
    q = rq.quantize(x, name, symmetric=False)
    assert q.dequantize()[-1] == 0.0
    assert q.codes[-1] == q.zero_point


def test_asymmetric_formula_and_default_symmetry():
    x = np.array([-1.0, 0.0, 2.0, 3.0])
    q = rq.quantize(x, "uint8")
    s = np.float32(4.0 / 255)
    assert q.scale == s and q.zero_point == 0 - np.rint(-1.0 / float(s))
    assert q.codes.tolist() == [0, 64, 191, 255]
    qs = rq.quantize(x, "int8")
    assert qs.zero_point == 0 and qs.scale == np.float32(3.0 / 127)
    assert qs.codes.tolist() == [-42, 0, 85, 127]


def test_granularity_shapes_and_blocked_padding():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 10, 4))
    q = rq.quantize(x, "int8", granularity="axis", axis=1)
    assert q.scale.shape == (10,) and q.zero_point.shape == (10,)
    for d in range(10):
        assert q.scale[d] == np.float32(np.abs(x[:, d, :]).max() / 127)
    qb = rq.quantize(x, "int4", granularity="block", axis=1, block_size=4)
    assert qb.scale.shape == (3, 3, 4)  # ceil(10 / 4) = 3, short last block of 2
    assert qb.scale[1, 2, 3] == np.float32(np.abs(x[1, 8:10, 3]).max() / 7)
    assert qb.scale[0, 0, 0] == np.float32(np.abs(x[0, 0:4, 0]).max() / 7)
    assert np.abs(qb.dequantize() - x).max() <= qb.scale.max() / 2


def test_explicit_scale_per_axis_and_torch_onnx_compat_ties():
    x = np.array([[0.5, 1.5, 2.5, -0.5], [1.0, 3.0, 5.0, -1.0]], dtype=np.float32)
    q = rq.quantize(x, "int8", granularity="axis", axis=0, scale=np.array([1.0, 2.0]))
    assert q.codes.tolist() == [[0, 2, 2, 0], [0, 2, 2, 0]]
    qt = rq.quantize(x, "int8", granularity="axis", axis=0, scale=np.array([1.0, 2.0]),
                     compat="tflite")
    assert qt.codes.tolist() == [[1, 2, 3, -1], [1, 2, 3, -1]]
    # exact ties x = (k + 1/2) * s: float32 division keeps them, float32 multiplication by
    # the rounded reciprocal float32(1/7) moves 162 of these 600 off the tie
    s = np.float32(7.0)
    k = np.arange(-300, 300, dtype=np.float32)
    xs = ((k + np.float32(0.5)) * s).astype(np.float32)
    exact = rq.quantize(xs, "int16", scale=s).codes.astype(np.int64)
    onnx = rq.quantize(xs, "int16", scale=s, compat="onnx").codes.astype(np.int64)
    torch = rq.quantize(xs, "int16", scale=s, compat="torch").codes.astype(np.int64)
    assert exact.tolist() == [ref.quantize_affine(float(v), float(s), 0, -32768, 32767, 0) for v in xs]
    assert onnx.tolist() == [ref.quantize_affine(v, s, 0, -32768, 32767, 0, "onnx") for v in xs]
    assert torch.tolist() == [ref.quantize_affine(v, s, 0, -32768, 32767, 0, "torch") for v in xs]
    assert (onnx == exact).all()
    assert (onnx != torch).sum() == 162  # the peers really differ here


def test_stochastic_reproducible_and_unbiased():
    x = np.full(100_000, 0.3)
    a = rq.quantize(x, "int8", scale=1.0, rounding=Rounding.STOCHASTIC, seed=4).codes
    b = rq.quantize(x, "int8", scale=1.0, rounding="stochastic", seed=4).codes
    assert (a == b).all() and set(np.unique(a).tolist()) == {0, 1}
    assert abs(a.mean() - 0.3) < 4 * np.sqrt(0.21 / x.size)
    c = rq.quantize(x, "int8", scale=1.0, rounding="stochastic", seed=5).codes
    assert (a != c).any()
    # element i depends on (seed, i) only: a slice's result equals the reference
    assert a[:100].tolist() == [ref.quantize_affine(0.3, 1.0, 0, -128, 127, 6, seed=4, index=i)
                                for i in range(100)]


@pytest.mark.parametrize("mode", [Rounding.NEAREST_EVEN, Rounding.NEAREST_AWAY, Rounding.DOWN,
                                  Rounding.UP, Rounding.TOWARD_ZERO, Rounding.NEAREST_UP])
@pytest.mark.parametrize("gran,axis,block", [("tensor", None, None), ("axis", 0, None),
                                             ("axis", 1, None), ("block", 0, 3), ("block", 1, 5)])
def test_fast_path_equals_general_kernel(monkeypatch, mode, gran, axis, block):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(40, 130)) * 4).astype(np.float32)
    x[:, :20] = np.float32(0.25) * (rng.integers(-40, 40, size=(40, 20)) + np.float32(0.5))
    x[:5] = 0.0
    kw = dict(granularity=gran, rounding=mode, symmetric=False)
    if axis is not None:
        kw["axis"] = axis
    if block is not None:
        kw["block_size"] = block
    fast = rq.quantize(x, "uint8", **kw)
    monkeypatch.setattr(affine, "FAST_MIN_SIZE", 10**12)
    slow = rq.quantize(x, "uint8", **kw)
    assert (fast.codes == slow.codes).all()
    assert (fast.scale == slow.scale).all() and (fast.zero_point == slow.zero_point).all()


def test_fast_path_falls_back_for_nonfinite():
    x = np.ones(10_000)
    x[5000] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        rq.quantize(x, "int8", scale=0.1)
    q = rq.quantize(x, "int8", scale=0.1, nonfinite="saturate")
    assert q.codes[5000] == 0 and q.codes[0] == 10


def test_bad_input_names_the_parameter():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        rq.quantize(np.array([1.0, np.nan]), "int8")
    with pytest.raises(ValueError, match="scale"):
        rq.quantize(x, "int8", scale=0.0)
    with pytest.raises(ValueError, match="scale"):
        rq.quantize(x, "int8", scale=-1.0)
    with pytest.raises(ValueError, match="scale"):
        rq.quantize(x, "int8", scale=np.inf)
    with pytest.raises(ValueError, match="zero_point"):
        rq.quantize(x, "uint8", scale=1.0, zero_point=np.array(256))
    with pytest.raises(ValueError, match="zero_point"):
        rq.quantize(x, "int4", scale=1.0, zero_point=np.array(-9))
    with pytest.raises(ValueError, match="scale has shape"):
        rq.quantize(np.ones((2, 3)), "int8", granularity="axis", axis=1, scale=np.ones(2))
    with pytest.raises(ValueError, match="unknown format"):
        rq.quantize(x, "int8q")
    with pytest.raises(ValueError, match="bits"):
        rq.quantize(x, "int0")
    with pytest.raises(ValueError, match="granularity"):
        rq.quantize(x, "int8", granularity="row")
    with pytest.raises(ValueError, match="block_size"):
        rq.quantize(x, "int8", granularity="block", axis=0, block_size=0)
    with pytest.raises(ValueError, match="axis=2"):
        rq.quantize(np.ones((2, 3)), "int8", granularity="axis", axis=2)
    with pytest.raises(ValueError, match="calibration"):
        rq.quantize(x, "int8", calibration="magic")
    with pytest.raises(ValueError, match="compat"):
        rq.quantize(x, "int8", compat="tf")
    with pytest.raises(TypeError):
        rq.quantize(np.array([1 + 2j]), "int8")

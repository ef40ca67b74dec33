"""refquant.quantize as a specification: error bounds, saturation, idempotence, exact
zero, granularity shapes, the fast path == the general kernel, and bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refquant as rq
import refquant.integer._affine as affine
from refquant import Rounding
from reference import rounding as ref

INT_NAMES = ["int2", "int4", "uint4", "int8", "uint8", "int8n", "int16", "uint16"]
# magnitudes below 1e-30 are left out: their calibrated float32 scale would underflow to
# 0, which quantize refuses (tests/spec/test_bad_input_quantize.py)
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=9),
                    elements=st.floats(-1e3, 1e3, allow_nan=False, width=32).filter(
                        lambda v: v == 0 or abs(v) > 1e-30))


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
    if fmt.min == 0 and sym:
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


def test_float_formats_honour_saturate_and_other_policies():
    x = np.array([1.0, 500.0, -1000.0, 0.5])
    for name in ("e4m3fn", "e4m3fnuz", "e4m3", "e5m2", "fp16"):
        f = rq.format(name)
        top, bottom = f.encode(np.array([f.max, f.min]))
        for ov in (rq.Overflow.SATURATE, "saturate", "SATURATE"):
            q = rq.quantize(x, f, scale=1e-3 if name in ("fp16", "e5m2") else 1.0, overflow=ov)
            assert q.codes[1] == top and q.codes[2] == bottom, (name, ov)
            assert np.isfinite(q.dequantize()).all()
        # inf inputs saturate too; NaN stays the format's NaN where it has one
        q = rq.quantize(np.array([np.inf, -np.inf, 2.0]), f, scale=1.0)
        assert q.codes.tolist()[:2] == [top, bottom]
    q = rq.quantize(x, "e4m3", scale=1.0, overflow="inf")
    assert np.isinf(q.dequantize()[1:3]).all()
    q = rq.quantize(x, "e4m3fn", scale=1.0, overflow="nan")
    assert np.isnan(q.dequantize()[1:3]).all()
    with pytest.raises(OverflowError, match="beyond"):
        rq.quantize(x, "e4m3fn", scale=1.0, overflow="raise")
    # formats that always saturate take SATURATE only
    assert rq.quantize(x, "posit8", overflow="saturate").codes.size == 4


def test_unsigned_non_integer_formats_saturate_at_their_smallest_value():
    x = np.array([-3.0, 0.0, 1.0, 2.0])
    for name in ("e8m0", "ulog4", "uapot4", "uq3.4", "p3109_k8p3ue"):
        f = rq.format(name)
        q = rq.quantize(x, f)
        v = q.dequantize()
        assert np.isfinite(v).all(), name
        bottom = f.encode(np.array([f.min]))[0]
        assert q.codes[0] == bottom, name


def test_zero_d_inputs_keep_their_shape():
    for name in ("int8", "uint4", "e4m3fn", "posit8", "q3.4"):
        q = rq.quantize(np.float64(-1.5), name)
        assert q.codes.shape == () and q.shape == ()
        assert q.dequantize().shape == () and q.dequantize(np.float32).shape == ()
        q = rq.quantize(2.0, name, scale=0.5)
        assert q.codes.shape == () and q.dequantize().shape == ()
    assert rq.quantize(np.float32(3.0), "int8", scale=1.0).dequantize() == 3.0


def test_dequantize_any_float_dtype_rounds_once():
    x = np.array([-3.0, 0.1, 1000.0, 7.0])
    q = rq.quantize(x, "int16", scale=np.float32(0.1))
    exact = q.dequantize()
    for dt in (np.float16, np.float32, np.float64):
        got = q.dequantize(dt)
        assert got.dtype == dt and (got == exact.astype(dt)).all()
    q = rq.quantize(x, "e4m3fn")
    assert (q.dequantize(np.float16) == q.dequantize().astype(np.float16)).all()


def test_int1_defaults_to_asymmetric():
    x = np.array([-1.0, -0.2, 0.3, 1.0])
    q = rq.quantize(x, "int1")
    assert np.isfinite(q.scale) and q.scale == np.float32(2.0)
    assert q.codes.dtype == np.int8 and set(q.codes.tolist()) <= {-1, 0}
    assert np.isfinite(q.dequantize()).all()
    # the same grid as uint1 shifted by one code
    u = rq.quantize(x, "uint1")
    assert (q.dequantize() == u.dequantize()).all()


def test_scales_at_the_edges_of_the_scale_dtype():
    # amax / 127 just inside float32's finite range: kept (a subnormal float32 scale)
    x = np.array([1e-43, -1e-43])
    q = rq.quantize(x, "int8")
    assert q.scale == np.float32(1e-43 / 127) and q.scale > 0
    q = rq.quantize(np.array([1e300, -1e300]), "int8", scale_dtype=np.float64)
    assert q.scale == 1e300 / 127 and q.dequantize().tolist() == [127 * q.scale, -127 * q.scale]
    q = rq.quantize(np.array([1.0, -2.0]), "int8", scale_dtype=np.float16)
    assert q.scale == np.float16(2.0 / 127) and q.scale.dtype == np.float64
    # an all-zero group still gets s = 1
    assert rq.quantize(np.zeros(3), "int8").scale == 1.0


@pytest.mark.parametrize("mode", [0, 1, 2, 3, 4, 5, 6])
def test_wrap_of_huge_quotients_is_exact(mode):
    """x / s beyond 2^52 (and beyond float64) under WRAP: the exactly rounded quotient
    modulo 2^bits, as the Fraction reference computes it."""
    s = 0.1
    xs = [1e20 + 12345.0, -3.3e17, 7.25e15, 1e308, -1e308, 4.5e15 + 0.5, 12.0, -12.75]
    for name in ("int8", "uint8", "int32", "int8n"):
        f = rq.format(name)
        q = rq.quantize(np.array(xs), f, scale=s, overflow="wrap", rounding=Rounding(mode),
                        seed=3)
        exp = [ref.quantize_affine(v, s, 0, f.qmin, f.qmax, mode, overflow="wrap", seed=3,
                                   index=i) for i, v in enumerate(xs)]
        assert q.codes.astype(np.int64).tolist() == exp, name
    # with a zero point and per-axis scales
    x = np.array([[1e19, -1e19, 3.0], [5e18 + 2048, 1.0, -7e17]])
    sc = np.array([0.3, 7.0])
    z = np.array([-5, 100])
    q = rq.quantize(x, "int8", granularity="axis", axis=0, scale=sc, zero_point=z,
                    overflow="wrap", rounding=Rounding(mode), seed=1)
    exp = [[ref.quantize_affine(x[r, c], sc[r], int(z[r]), -128, 127, mode, overflow="wrap",
                                seed=1, index=r * 3 + c) for c in range(3)] for r in range(2)]
    assert q.codes.astype(np.int64).tolist() == exp

"""refquant.intops: HAWQ-V3 dyadic requantization, exact integer GEMM (every path:
float32 BLAS, chunked float32, float64, int64 kernel, step-saturating kernel), ONNX-style
matmuls and im2col conv2d, against plain Python-integer references."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant import intops as I
from refquant.kernels import integer as KI
from reference import intops as ref


def _lists(a):
    return np.asarray(a).tolist()


# ----- dyadic -------------------------------------------------------------------------

@settings()
@given(st.lists(st.floats(1e-12, 1e6), min_size=1, max_size=10))
def test_dyadic_scale_matches_reference(scales):
    m, e = I.dyadic_scale(scales)
    assert list(zip(m.tolist(), e.tolist())) == [ref.dyadic_scale(s) for s in scales]
    assert ((m >= 1 << 30) & (m <= 1 << 31)).all()


@settings()
@given(st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=1, max_size=30),
       st.floats(1e-6, 10.0), st.integers(-5, 5), st.sampled_from([(8, True), (4, False), (16, True)]))
def test_dyadic_requantize_matches_reference(acc, scale, z, spec):
    bits, signed = spec
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    z = min(max(z, lo), hi)
    m, e = I.dyadic_scale(scale)
    got = I.dyadic_requantize(acc, m, e, bits=bits, signed=signed, zero_point=z)
    assert got.tolist() == [ref.dyadic_requantize(a, int(m), int(e), lo, hi, z) for a in acc]


def test_dyadic_ties_half_even_and_tiny_scales():
    m, e = I.dyadic_scale(0.5)  # exactly 2^30 / 2^31
    assert (int(m), int(e)) == (1 << 30, 31)
    assert I.dyadic_requantize([1, 3, 5, -1, -3, -5], m, e).tolist() == [0, 2, 2, 0, -2, -2]
    m, e = I.dyadic_scale(2.0 ** -40)  # e = 71 > 62: quotients below 1/2 in magnitude
    assert I.dyadic_requantize([(1 << 31) - 1, -(1 << 31)], m, e).tolist() == [0, 0]
    assert I.dyadic_requantize([5, -5, 0], m, e, rounding="down").tolist() == [0, -1, 0]
    assert I.dyadic_requantize([5, -5, 0], m, e, rounding="up").tolist() == [1, 0, 0]
    # the only tie beyond a shift of 62: (-2^31 * 2^31) / 2^63 = -1/2
    lo_acc, top = -(1 << 31), 1 << 31
    for mode, want in (("nearest_even", 0), ("nearest_away", -1), ("nearest_up", 0),
                       ("down", -1), ("up", 0), ("toward_zero", 0)):
        assert I.dyadic_requantize([lo_acc], top, 63, rounding=mode).tolist() == [want], mode
    assert I.dyadic_requantize([lo_acc + 1], top, 63, rounding="nearest_away").tolist() == [0]
    with pytest.raises(ValueError, match="scale"):
        I.dyadic_scale(0.0)


# ----- gemm ---------------------------------------------------------------------------

def _ref_gemm(a, b, az, bz, bias=None, acc_bits=32, overflow="wrap", pair_saturate=None):
    azl = az.tolist() if np.ndim(az) else int(az)
    bzl = bz.tolist() if np.ndim(bz) else int(bz)
    if bias is not None:
        bias = np.broadcast_to(np.asarray(bias, dtype=object), (len(a), np.shape(b)[1]))
    return ref.gemm(_lists(a), _lists(b), azl, bzl, None if bias is None else _lists(bias),
                    acc_bits, overflow, pair_saturate)


OPERANDS = [("int8", -128, 127), ("uint8", 0, 255), ("int4", -8, 7), ("uint2", 0, 3),
            ("int16", -32768, 32767), ("uint16", 0, 65535), ("int2", -2, 1)]


@settings()
@given(st.sampled_from(OPERANDS), st.sampled_from(OPERANDS), st.integers(1, 6), st.integers(1, 40),
       st.integers(1, 6), st.sampled_from(["exact", "wrap", "saturate"]),
       st.sampled_from([8, 16, 20, 32, 48]), st.integers(0, 2**32), st.booleans(), st.booleans())
def test_gemm_matches_reference(ta, tb, M, K, N, overflow, acc_bits, seed, per_row, use_bias):
    rng = np.random.default_rng(seed)
    dt = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16}
    a = rng.integers(ta[1], ta[2] + 1, size=(M, K)).astype(dt.get(ta[0], np.int8 if ta[1] < 0 else np.uint8))
    b = rng.integers(tb[1], tb[2] + 1, size=(K, N)).astype(dt.get(tb[0], np.int8 if tb[1] < 0 else np.uint8))
    az = rng.integers(ta[1], ta[2] + 1, size=M if per_row else ())
    bz = rng.integers(tb[1], tb[2] + 1, size=N if per_row else ())
    bias = rng.integers(-1000, 1000, size=(M, N)) if use_bias else None
    got = I.gemm(a, b, az, bz, acc_bits=acc_bits, overflow=overflow, bias=bias)
    assert got.dtype == (np.int64 if overflow == "exact" or acc_bits > 32 else np.int32)
    bits = 64 if overflow == "exact" else acc_bits
    assert got.tolist() == _ref_gemm(a, b, az, bz, bias, bits, overflow)


def test_gemm_paths_chunked_float32_float64_and_int64():
    rng = np.random.default_rng(0)
    # uint8 x uint8, K = 600: 600 * 255^2 > 2^24 -> chunked float32 accumulated in float64
    a = rng.integers(0, 256, (5, 600)).astype(np.uint8)
    b = rng.integers(0, 256, (600, 4)).astype(np.uint8)
    assert I.gemm(a, b, overflow="exact").tolist() == _ref_gemm(a, b, 0, 0, acc_bits=64, overflow="exact")
    # int16 operands: float64 path
    a = rng.integers(-32768, 32768, (4, 300)).astype(np.int16)
    b = np.full((300, 3), -32768, dtype=np.int16)
    assert I.gemm(a, b, overflow="exact").tolist() == _ref_gemm(a, b, 0, 0, acc_bits=64, overflow="exact")
    # int32 operands beyond float64's exact range: the int64 kernel
    a = rng.integers(-(1 << 28), 1 << 28, (3, 20))
    b = rng.integers(-(1 << 28), 1 << 28, (20, 2))
    assert I.gemm(a, b, overflow="exact").tolist() == _ref_gemm(a, b, 0, 0, acc_bits=64, overflow="exact")
    # and 2^53 < K * max|a| * max|b| with float64 chunks of K
    a = rng.integers(-(1 << 24), 1 << 24, (3, 3000))
    b = rng.integers(-(1 << 24), 1 << 24, (3000, 2))
    assert I.gemm(a, b, overflow="exact").tolist() == _ref_gemm(a, b, 0, 0, acc_bits=64, overflow="exact")


def test_gemm_wrap_and_saturate_known_values():
    a = np.full((1, 4), 127, dtype=np.int8)
    b = np.array([[127], [127], [127], [-128]], dtype=np.int8)
    # products 16129, 16129, 16129, -16256; exact sum 32131 fits 16 bits
    assert I.gemm(a, b, overflow="exact").tolist() == [[32131]]
    assert I.gemm(a, b, acc_bits=16, overflow="wrap").tolist() == [[32131]]
    # saturate at every step (k ascending): 16129, 32258, 48387 -> 32767, 16511
    assert I.gemm(a, b, acc_bits=16, overflow="saturate").tolist() == [[16511]]
    assert I.gemm(a[:, :3], b[:3], acc_bits=16, overflow="wrap").tolist() == [[48387 - 65536]]
    assert I.gemm(a[:, :3], b[:3], acc_bits=16, overflow="saturate").tolist() == [[32767]]
    # the bias is the accumulator's starting value
    assert I.gemm(a, b, acc_bits=16, overflow="saturate", bias=[[-20000]]).tolist() == [[12131]]
    # -40000 -> -32768, then -16639, -510, 15619, -637
    assert I.gemm(a, b, acc_bits=16, overflow="saturate", bias=[[-40000]]).tolist() == [[-637]]
    with pytest.raises(OverflowError, match="16-bit"):
        I.gemm(a[:, :3], b[:3], acc_bits=16, overflow="raise")


def test_gemm_batched_broadcast():
    rng = np.random.default_rng(1)
    a = rng.integers(-8, 8, (2, 1, 3, 5)).astype(np.int8)
    b = rng.integers(-8, 8, (4, 5, 2)).astype(np.int8)
    got = I.gemm(a, b, overflow="exact")
    assert got.shape == (2, 4, 3, 2)
    assert (got == np.matmul(a.astype(np.int64), b.astype(np.int64))).all()
    s = I.gemm(a, b, acc_bits=6, overflow="saturate")
    for i in range(2):
        for j in range(4):
            assert s[i, j].tolist() == ref.gemm(_lists(a[i, 0]), _lists(b[j]), 0, 0, None, 6, "saturate")


def test_saturating_kernel_python_and_compiled_agree():
    rng = np.random.default_rng(2)
    a = rng.integers(-100, 100, (1, 3, 9))
    b = rng.integers(-100, 100, (1, 9, 4))
    c = rng.integers(-50, 50, (1, 3, 4))
    o1 = np.empty((1, 3, 4), np.int64)
    o2 = np.empty((1, 3, 4), np.int64)
    KI.gemm_saturate(a, b, c, -5000, 4999, o1)
    getattr(KI.gemm_saturate, "py_func", KI.gemm_saturate)(a, b, c, -5000, 4999, o2)
    assert (o1 == o2).all()


def test_matmul_integer_per_row_and_column_zero_points():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (4, 7)).astype(np.uint8)
    b = rng.integers(-128, 128, (7, 5)).astype(np.int8)
    az = np.array([1, 2, 3, 4], dtype=np.uint8)
    bz = np.array([0, -1, 5, 7, -128], dtype=np.int8)
    got = I.matmul_integer(a, b, az, bz)
    assert got.dtype == np.int32
    assert got.tolist() == _ref_gemm(a, b, az, bz)


def test_qlinear_matmul_exact_mode_ties_half_even():
    a = np.array([[1, 3, 5, 7]], dtype=np.int8).T  # (4, 1)
    b = np.array([[1]], dtype=np.int8)
    y = I.qlinear_matmul(a, 1.0, np.int8(0), b, 0.5, np.int8(0), 1.0, np.int8(0), compat="exact")
    assert y.ravel().tolist() == [0, 2, 2, 4]
    y = I.qlinear_matmul(a, 0.1, np.int8(0), b, 1.0, np.int8(0), 0.2, np.uint8(3), compat="exact")
    assert y.dtype == np.uint8 and y.ravel().tolist() == [3, 5, 5, 7]  # 0.5, 1.5, 2.5, 3.5 (exact)


def test_errors_name_the_parameter():
    a = np.ones((2, 3), np.int8)
    with pytest.raises(ValueError, match="K=3"):
        I.gemm(a, np.ones((2, 2), np.int8))
    with pytest.raises(TypeError, match="a must be an integer"):
        I.gemm(a.astype(float), a.T)
    with pytest.raises(ValueError, match="b_zero_point"):
        I.gemm(a, a.T, 0, np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="acc_bits"):
        I.gemm(a, a.T, acc_bits=1)
    with pytest.raises(ValueError, match="overflow"):
        I.gemm(a, a.T, overflow="clip")
    with pytest.raises(ValueError, match="y_scale"):
        I.qlinear_matmul(a, 1.0, 0, a.T, 1.0, 0, 0.0, np.int8(0))
    with pytest.raises(ValueError, match="groups"):
        I.conv2d(np.ones((1, 3, 4, 4), np.int8), np.ones((2, 1, 1, 1), np.int8), groups=2)


# ----- conv2d -------------------------------------------------------------------------

@pytest.mark.parametrize("stride,pads,dil,groups", [
    (1, (0, 0, 0, 0), 1, 1), (2, (1, 1, 1, 1), 1, 1), ((1, 2), (0, 1, 2, 0), (2, 1), 1),
    (1, (1, 0, 1, 0), 1, 2), (2, (2, 2, 2, 2), 2, 4)])
def test_conv2d_matches_direct_reference(stride, pads, dil, groups):
    rng = np.random.default_rng(7)
    C, O = 4, 8
    x = rng.integers(0, 256, (2, C, 7, 6)).astype(np.uint8)
    w = rng.integers(-128, 128, (O, C // groups, 3, 2)).astype(np.int8)
    wz = rng.integers(-3, 3, size=O).astype(np.int8)
    bias = rng.integers(-500, 500, size=O).astype(np.int32)
    got = I.conv2d(x, w, np.uint8(11), wz, stride=stride, padding=pads, dilation=dil,
                   groups=groups, bias=bias, overflow="exact")
    st_ = (stride, stride) if isinstance(stride, int) else stride
    dl = (dil, dil) if isinstance(dil, int) else dil
    exp = ref.conv2d(_lists(x), _lists(w), 11, wz.tolist(), st_, pads, dl, groups, bias.tolist())
    assert got.tolist() == exp


# ----- pair saturation (onnxruntime's u8s8 GEMM on x86-64 without VNNI) ----------------

@settings()
@given(st.sampled_from(OPERANDS), st.sampled_from(OPERANDS), st.integers(1, 5), st.integers(1, 40),
       st.integers(1, 5), st.sampled_from(["exact", "wrap", "saturate", "raise"]),
       st.sampled_from([8, 16, 20, 32, 48, 64]), st.one_of(st.just(16), st.integers(2, 40)),
       st.integers(0, 2**32), st.booleans(), st.booleans())
def test_gemm_pair_saturate_matches_reference(ta, tb, M, K, N, overflow, acc_bits, pair, seed,
                                               per_row, use_bias):
    rng = np.random.default_rng(seed)
    dt = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16}
    a = rng.integers(ta[1], ta[2] + 1, size=(M, K)).astype(dt.get(ta[0], np.int8 if ta[1] < 0 else np.uint8))
    b = rng.integers(tb[1], tb[2] + 1, size=(K, N)).astype(dt.get(tb[0], np.int8 if tb[1] < 0 else np.uint8))
    az = rng.integers(ta[1], ta[2] + 1, size=M if per_row else ())
    bz = rng.integers(tb[1], tb[2] + 1, size=N if per_row else ())
    bias = rng.integers(-1000, 1000, size=(M, N)) if use_bias else None
    kw = dict(acc_bits=acc_bits, overflow=overflow, bias=bias, pair_saturate=pair)
    if overflow == "raise":
        exact = _ref_gemm(a, b, az, bz, bias, 64, "exact", pair)
        lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
        if any(not lo <= v <= hi for row in exact for v in row):
            with pytest.raises(OverflowError, match=f"{acc_bits}-bit range"):
                I.gemm(a, b, az, bz, **kw)
            return
        got, want = I.gemm(a, b, az, bz, **kw), exact
    else:
        got = I.gemm(a, b, az, bz, **kw)
        want = _ref_gemm(a, b, az, bz, bias, 64 if overflow == "exact" else acc_bits, overflow, pair)
    assert got.dtype == (np.int64 if overflow == "exact" or acc_bits > 32 else np.int32)
    assert got.tolist() == want


@settings()
@given(st.integers(1, 4), st.integers(1, 70), st.integers(1, 4), st.integers(0, 2**32),
       st.booleans())
def test_matmul_integer_pair_saturate_matches_reference(M, K, N, seed, batched):
    rng = np.random.default_rng(seed)
    a = rng.integers(180, 256, size=(2, M, K) if batched else (M, K)).astype(np.uint8)
    b = (rng.choice([-1, 1], size=(K, N)) * rng.integers(90, 128, size=(K, N))).astype(np.int8)
    az = np.uint8(rng.integers(0, 256))
    bz = np.int8(rng.integers(-128, 128))
    got = I.matmul_integer(a, b, az, bz, pair_saturate=16)
    assert got.dtype == np.int32
    for t, at in enumerate(a if batched else [a]):
        want = _ref_gemm(at, b, az, bz, None, 32, "wrap", 16)
        assert (got[t] if batched else got).tolist() == want
    assert (I.matmul_integer(a, b, az, bz) == I.gemm(a, b, az, bz)).all()


def test_pair_saturate_known_values():
    a = np.array([[255, 255, 255]], dtype=np.uint8)
    b = np.array([[127], [127], [-128]], dtype=np.int8)
    # raw pairs: 255*127 + 255*127 = 64770 -> 32767; the odd K pads with 0: -32640
    assert I.gemm(a, b, overflow="exact").tolist() == [[64770 - 32640]]
    assert I.gemm(a, b, overflow="exact", pair_saturate=16).tolist() == [[32767 - 32640]]
    assert I.matmul_integer(a, b, pair_saturate=16).tolist() == [[127]]
    # zero points are applied after the pair saturation, unsaturated:
    # 127 - zb * rowsum(a) - za * colsum(b) + K * za * zb with za = 128, zb = 3
    want = 127 - 3 * 765 - 128 * 126 + 3 * 128 * 3
    assert I.matmul_integer(a, b, np.uint8(128), np.int8(3), pair_saturate=16).tolist() == [[want]]
    # and not to (a - za) * (b - zb) pairs: those are (127 * 124) * 2 = 31496 < 2^15
    assert want != I.gemm(a, b, 128, 3, overflow="exact").tolist()[0][0]
    # other widths: 8 bits clamps each pair to [-128, 127]
    assert I.gemm(a, b, pair_saturate=8, overflow="exact").tolist() == [[127 - 128]]
    assert I.gemm(a, b, pair_saturate=62, overflow="exact").tolist() == [[64770 - 32640]]
    # qlinear_matmul: the same accumulator, requantized
    one, z8 = np.float32(1.0), np.int8(0)
    y = I.qlinear_matmul(a, one, np.uint8(0), b, np.float32(2.0), z8, np.float32(1024.0),
                         np.uint8(10), pair_saturate=16)
    assert y.dtype == np.uint8 and y.tolist() == [[10]]  # 127 * 2 / 1024 = 0.248 -> 0
    y = I.qlinear_matmul(a, one, np.uint8(0), b, np.float32(2.0), z8, np.float32(1024.0),
                         np.uint8(10))
    assert y.tolist() == [[10 + 63]]  # 32130 * 2 / 1024 = 62.75 -> 63


def test_pair_saturate_with_saturating_accumulator_order():
    # pairs ascending, then the zero-point term as one final saturating step
    a = np.array([[255, 255, 255, 255]], dtype=np.uint8)
    b = np.array([[127], [127], [127], [127]], dtype=np.int8)
    # pairs 32767, 32767 -> acc 16 bits: 32767, 32767; then -za * colsum = -1 * 508
    got = I.gemm(a, b, 1, 0, acc_bits=16, overflow="saturate", pair_saturate=16)
    assert got.tolist() == [[32767 - 508]]
    assert got.tolist() == _ref_gemm(a, b, 1, 0, None, 16, "saturate", 16)


def test_pair_saturate_kernel_python_and_compiled_agree():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (2, 3, 9))
    b = rng.integers(-128, 128, (2, 9, 4))
    c = rng.integers(-50, 50, (2, 3, 4))
    for lo, hi in ((-(1 << 31), (1 << 31) - 1), (-70000, 69999), (-(1 << 63), (1 << 63) - 1)):
        o1 = np.empty((2, 3, 4), np.int64)
        o2 = np.empty((2, 3, 4), np.int64)
        KI.gemm_pair_saturate(a, b, c, -32768, 32767, lo, hi, o1)
        getattr(KI.gemm_pair_saturate, "py_func", KI.gemm_pair_saturate)(a, b, c, -32768, 32767, lo, hi, o2)
        assert (o1 == o2).all()
        assert o1.tolist()[1] == ref.gemm(_lists(a[1]), _lists(b[1]), 0, 0, _lists(c[1]),
                                          64 if hi > 1 << 40 else 18, "saturate", 16)


# ----- bias and zero points: exact means exact -------------------------------------------

def test_gemm_bias_beyond_int64_is_exact_or_raises():
    one = np.ones((1, 1), np.int8)
    top = (1 << 63) - 1
    # the exact sum 2^63 does not fit the int64 result: an error, never a wrapped value
    with pytest.raises(OverflowError, match="int64"):
        I.gemm(one, one, bias=[[top]], overflow="exact")
    assert I.gemm(one, -one, bias=[[top]], overflow="exact").tolist() == [[top - 1]]
    with pytest.raises(OverflowError, match="64-bit range"):
        I.gemm(one, one, bias=[[top]], acc_bits=64, overflow="raise")
    # wrap is modular arithmetic on the exact value
    assert I.gemm(one, one, bias=[[top]], acc_bits=64, overflow="wrap").tolist() == [[-(1 << 63)]]
    # unsigned biases by value
    u = np.array([[(1 << 64) - 1]], dtype=np.uint64)
    with pytest.raises(OverflowError, match="64-bit range"):
        I.gemm(0 * one, one, bias=u, acc_bits=64, overflow="raise")
    with pytest.raises(OverflowError, match="int64"):
        I.gemm(0 * one, one, bias=u, overflow="exact")
    assert I.gemm(0 * one, one, bias=u, acc_bits=32, overflow="saturate").tolist() == [[(1 << 31) - 1]]
    assert I.gemm(0 * one, one, bias=u, acc_bits=32, overflow="wrap").tolist() == [[-1]]
    big = np.array([[(1 << 63) + 5]], dtype=np.uint64)
    assert I.gemm(one, one, bias=big, acc_bits=32, overflow="saturate").tolist() == [[(1 << 31) - 1]]
    assert I.gemm(-one, 10 * one, bias=big, overflow="exact").tolist() == [[(1 << 63) - 5]]
    # Python ints beyond int64 are biases too
    assert I.gemm(-one, one, bias=[[1 << 63]], overflow="exact").tolist() == [[top]]
    assert I.gemm(one, one, bias=[[1 << 70]], acc_bits=8, overflow="wrap").tolist() == [[1]]
    # the most negative int64 bias is clamped, not negated
    got = I.gemm(one, one, bias=[[-(1 << 63)]], acc_bits=32, overflow="saturate")
    assert got.tolist() == [[-(1 << 31) + 1]]
    # a 64-bit saturating accumulator saturates instead of refusing
    a = np.full((1, 4), 1 << 30, np.int64)
    got = I.gemm(a, a.T, bias=[[top - (1 << 61)]], acc_bits=64, overflow="saturate")
    assert got.tolist() == [[top]]
    got = I.gemm(a, -a.T, bias=[[-top + (1 << 61)]], acc_bits=64, overflow="saturate")
    assert got.tolist() == [[-(1 << 63)]]


def test_gemm_zero_points_by_value():
    a = np.zeros((1, 1), np.uint8)
    b = np.ones((1, 1), np.int8)
    with pytest.raises(ValueError, match="a_zero_point"):
        I.gemm(a, b, np.uint64((1 << 63) + 1), overflow="exact")
    with pytest.raises(ValueError, match="b_zero_point"):
        I.gemm(a, b, 0, np.array([(1 << 64) - 1], np.uint64), overflow="exact")
    # a - a_zero beyond int64 is refused, not wrapped (2^63 - 1 + 2^63 - 4 wraps to -5)
    with pytest.raises(ValueError, match="a - a_zero_point"):
        I.gemm(np.array([[(1 << 63) - 1]]), b, -((1 << 63) - 4), overflow="exact")
    # uint64 zero points below 2^63 are used by value
    assert I.gemm(a, b, np.uint64(200), overflow="exact").tolist() == [[-200]]


# ----- overflow policies: Overflow members, names, one face ---------------------------------

@pytest.mark.parametrize("name", ["exact", "wrap", "saturate", "raise"])
def test_overflow_members_and_names_agree(name):
    from refquant.modes import Overflow
    rng = np.random.default_rng(11)
    a = rng.integers(-128, 128, (3, 9)).astype(np.int8)
    b = rng.integers(-128, 128, (9, 4)).astype(np.int8)
    member = Overflow[name.upper()]
    x = rng.integers(0, 256, (1, 2, 5, 5)).astype(np.uint8)
    w = rng.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    for kw in (dict(acc_bits=18), dict(acc_bits=18, pair_saturate=16)):
        try:
            want = I.gemm(a, b, 1, 2, overflow=name, **kw)
        except OverflowError:
            with pytest.raises(OverflowError):
                I.gemm(a, b, 1, 2, overflow=member, **kw)
            continue
        got = I.gemm(a, b, 1, 2, overflow=member, **kw)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        assert got.tolist() == _ref_gemm(a, b, 1, 2, None, 64 if name == "exact" else 18,
                                         member, kw.get("pair_saturate"))
    try:
        want = I.conv2d(x, w, 3, 1, acc_bits=16, overflow=name)
    except OverflowError:
        with pytest.raises(OverflowError):
            I.conv2d(x, w, 3, 1, acc_bits=16, overflow=member)
    else:
        assert np.array_equal(I.conv2d(x, w, 3, 1, acc_bits=16, overflow=member), want)


def test_intops_is_the_face_of_refquant_integer():
    import refquant.integer as integer
    assert set(I.__all__) <= set(integer.__all__)  # the arithmetic; the formats are integer's
    for name in I.__all__:
        assert getattr(I, name) is getattr(integer, name)

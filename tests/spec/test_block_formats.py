"""OCP MX v1.0 and NVFP4 block formats, and pack/unpack."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import refquant as rq
from refquant import Rounding


def _block(vals, n=32):
    x = np.zeros(n)
    x[:len(vals)] = vals
    return x[None, :]


def test_spec_worked_example_mxfp4():
    q = rq.quantize(_block([7.0, 0.3, -7.0]), "mxfp4")
    assert q.extra["scale_codes"].tolist() == [[127]] and q.scale.tolist() == [[1.0]]
    assert q.dequantize()[0, :3].tolist() == [6.0, 0.5, -6.0]
    assert q.codes[0, :3].tolist() == [0x7, 0x1, 0xF]


def test_shared_exponent_rules():
    f = "mxfp8_e4m3"
    # amax exactly at the element max: 448 = 1.75 * 2^8 -> shared_exp 0, exact
    q = rq.quantize(_block([448.0, -3.0]), f)
    assert q.extra["scale_codes"][0, 0] == 127 and q.dequantize()[0, :2].tolist() == [448, -3]
    # just above the element max (but below 2^9): clamped to 448
    q = rq.quantize(_block([500.0]), f)
    assert q.scale[0, 0] == 1.0 and q.dequantize()[0, 0] == 448.0
    # 512 = 2^9: shared_exp 1
    q = rq.quantize(_block([512.0, 1.0]), f)
    assert q.extra["scale_codes"][0, 0] == 128 and q.dequantize()[0, :2].tolist() == [512, 1]
    # all-zero block: X = 2^-127, zero elements
    q = rq.quantize(np.zeros((1, 32)), f)
    assert q.extra["scale_codes"][0, 0] == 0 and not q.dequantize().any()
    # tiny amax: the shared exponent clamps at -127 and elements go subnormal/zero
    q = rq.quantize(_block([2.0 ** -140, 2.0 ** -133]), f)
    assert q.extra["scale_codes"][0, 0] == 0
    assert q.dequantize()[0, :2].tolist() == [0.0, 2.0 ** -133]
    # NaN or inf in a block: NaN scale 0xFF, the whole block dequantizes to NaN
    for bad in (np.nan, np.inf, -np.inf):
        x = np.vstack([_block([1.0, bad]), _block([1.0])])
        q = rq.quantize(x, f)
        assert q.extra["scale_codes"][:, 0].tolist() == [255, 119]
        d = q.dequantize()
        assert np.isnan(d[0]).all() and d[1, 0] == 1.0


def test_shared_exponent_above_127_is_nan():
    q = rq.quantize(_block([2.0 ** 140]), "mxfp4")
    assert q.extra["scale_codes"][0, 0] == 255


def test_microsoft_tie_away_option():
    x = _block([4.0, 2.5, -2.5, 0.25])   # X = 1; 2.5 is a tie between 2 and 3
    even = rq.quantize(x, "mxfp4").dequantize()[0, :4]
    away = rq.quantize(x, "mxfp4", rounding=Rounding.NEAREST_AWAY).dequantize()[0, :4]
    assert even.tolist() == [4.0, 2.0, -2.0, 0.0]
    assert away.tolist() == [4.0, 3.0, -3.0, 0.5]


def test_mxint8():
    q = rq.quantize(_block([1.0, 0.5 + 1 / 128, -1.99, 1 / 256]), "mxint8")
    # amax 1.99 -> shared_exp 0; values k/64 with |k| <= 127, ties to even
    assert q.codes.dtype == np.int8
    assert q.codes[0, :4].tolist() == [64, 32, -127, 0]
    assert q.dequantize()[0, :4].tolist() == [1.0, 0.5, -127 / 64, 0.0]



@pytest.mark.parametrize("mode,want", [
    (Rounding.NEAREST_EVEN, [64, 32, 33, -127, -2, 0]),
    (Rounding.NEAREST_AWAY, [64, 33, 33, -127, -3, 1]),
    (Rounding.NEAREST_UP, [64, 33, 33, -127, -2, 1]),
    (Rounding.TOWARD_ZERO, [64, 32, 32, -127, -2, 0]),
    (Rounding.DOWN, [64, 32, 32, -127, -3, 0]),
    (Rounding.UP, [64, 33, 33, -127, -2, 1]),
])
def test_mxint8_rounding_modes(mode, want):
    # shared_exp 0 (amax 1.99): element codes are V * 64 rounded, clamped to +-127
    x = _block([1.0, 32.5 / 64, 32.75 / 64, -1.99, -2.5 / 64, 0.5 / 64])
    assert rq.quantize(x, "mxint8", rounding=mode).codes[0, :6].tolist() == want


def _mx_reference(x, elem, emax_elem, block=32):
    """Blockwise NumPy statement of OCP MX v1.0 (finite inputs, last axis)."""
    xb = x.reshape(-1, block)
    amax = np.abs(xb).max(axis=1)
    _, e = np.frexp(amax)
    se = np.where(amax > 0, e - 1 - emax_elem, -127).clip(-127, None)
    X = np.ldexp(1.0, se)[:, None]
    q = elem.quantize(xb / X, saturate=True)
    return (q * X).reshape(x.shape), se + 127


@settings(max_examples=20)
@given(st.sampled_from(["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4"]),
       st.integers(0, 2 ** 31), st.floats(-60, 60))
def test_mx_matches_blockwise_definition(name, seed, logscale):
    rng = np.random.default_rng(seed)
    x = (rng.laplace(size=(4, 64)) * 2.0 ** logscale).astype(np.float32)
    x[0, :5] = 0
    fmt = rq.format(name)
    q = rq.quantize(x, fmt)
    want, sc = _mx_reference(x.astype(np.float64), fmt.element, fmt.emax_elem)
    np.testing.assert_array_equal(q.dequantize(), want)
    np.testing.assert_array_equal(q.extra["scale_codes"].reshape(-1), sc)
    # float64 input gives the same codes; axis=0 on the transpose gives the same result
    np.testing.assert_array_equal(rq.quantize(x.astype(np.float64), fmt).codes, q.codes)
    qt = rq.quantize(np.ascontiguousarray(x.T), fmt, axis=0)
    np.testing.assert_array_equal(qt.codes.T, q.codes)


def test_mx_stochastic_reproducible_and_short_last_block():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 40))
    a = rq.quantize(x, "mxfp4", rounding=Rounding.STOCHASTIC, seed=5)
    b = rq.quantize(x, "mxfp4", rounding=Rounding.STOCHASTIC, seed=5)
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.scale.shape == (3, 2)
    d = rq.quantize(x, "mxfp4").dequantize()
    lo = rq.quantize(x, "mxfp4", rounding=Rounding.DOWN).dequantize()
    hi = rq.quantize(x, "mxfp4", rounding=Rounding.UP).dequantize()
    sd = a.dequantize()
    inside = (np.abs(x) <= 6 * a.scale.repeat(32, axis=1)[:, :40])
    assert np.all(((sd == lo) | (sd == hi))[inside]) and np.all((lo <= d) & (d <= hi))


def test_nvfp4_exact_recipe():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((8, 64)).astype(np.float32)
    q = rq.quantize(x, "nvfp4")
    amax = float(np.abs(x).max())
    st_ = float(np.float32(amax / 2688.0))
    assert q.extra["tensor_scale"] == st_ and q.scale.shape == (8, 4)
    e4 = rq.format("e4m3fn")
    e2 = rq.format("e2m1")
    from fractions import Fraction
    for r in range(8):
        for b in range(4):
            blk = x[r, 16 * b:16 * b + 16].astype(np.float64)
            sb_code = int(e4.encode(np.array([float(Fraction(float(np.abs(blk).max())) /
                                                    (6 * Fraction(st_)))]), saturate=True)[0])
            assert q.extra["scale_codes"][r, b] == sb_code
            s = float(e4.decode(np.array([sb_code]))[0]) * st_
            assert q.scale[r, b] == s
            want = e2.encode(blk / s, saturate=True)   # s * 2^k exact; check via Fractions below
            for v, c in zip(blk, q.codes[r, 16 * b:16 * b + 16]):
                exact = Fraction(float(v)) / Fraction(s)
                vals = [Fraction(u) for u in e2.values()]
                best = min(vals, key=lambda u: (abs(u - exact), 0))
                assert abs(Fraction(float(e2.decode(np.array([c]))[0])) - exact) == abs(best - exact)
            assert want.shape == (16,)
    np.testing.assert_array_equal(q.dequantize(),
                                  e2.decode(q.codes) * np.repeat(q.scale, 16, axis=1))
    with pytest.raises(ValueError, match="NaN or inf"):
        rq.quantize(np.array([[1.0, np.nan]]), "nvfp4")


@settings(max_examples=30)
@given(st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16]), st.integers(0, 300), st.integers(0, 2 ** 31))
def test_pack_unpack_round_trip(bits, n, seed):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 1 << bits, n)
    data = rq.pack(c, bits)
    assert data.dtype == np.uint8 and data.size == -(-n * bits // 8)
    np.testing.assert_array_equal(rq.unpack(data, bits, n), c)


def test_pack_layouts():
    assert rq.pack(np.array([0x1, 0x2, 0x3]), 4).tolist() == [0x21, 0x03]
    c = np.array([0b000001, 0b000010, 0b000011, 0b111111])
    # byte0 = c0 | c1 << 6, byte1 = c1 >> 2 | c2 << 4, byte2 = c2 >> 4 | c3 << 2
    assert rq.pack(c, 6).tolist() == [0b10000001, 0b00110000, 0b11111100]
    i8 = np.array([-127, -1, 0, 127], np.int8)
    np.testing.assert_array_equal(rq.unpack(rq.pack(i8, 8), 8, 4, signed=True), i8)
    with pytest.raises(ValueError, match="fit"):
        rq.pack(np.array([16]), 4)


def test_block_format_protocol_and_errors():
    f = rq.format("mxfp6_e2m3")
    assert f.is_block and f.bits == 6 and f.block_size == 32 and f.max_value == 7.5
    x = np.linspace(-3, 3, 64)
    np.testing.assert_array_equal(f.quantize(x), rq.quantize(x, f).dequantize())
    with pytest.raises(ValueError, match="scalar"):
        rq.quantize(np.float64(1.0), f)
    with pytest.raises(ValueError, match="SATURATE"):
        f.quantize_tensor(x, overflow="raise")

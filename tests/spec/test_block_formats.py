"""OCP MX v1.0 and NVFP4 block formats, and pack/unpack."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import refquant as rq
from refquant import Overflow, Rounding


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


def _mx_reference(x, elem, element_emax, block_size=32):
    """Blockwise NumPy statement of OCP MX v1.0 (finite inputs, last axis)."""
    xb = x.reshape(-1, block_size)
    amax = np.abs(xb).max(axis=1)
    _, e = np.frexp(amax)
    se = np.where(amax > 0, e - 1 - element_emax, -127).clip(-127, None)
    X = np.ldexp(1.0, se)[:, None]
    q = elem.quantize(xb / X, overflow=Overflow.SATURATE)
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
    want, sc = _mx_reference(x.astype(np.float64), fmt.element, fmt.element_emax)
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
                                                    (6 * Fraction(st_)))]), overflow=Overflow.SATURATE)[0])
            assert q.extra["scale_codes"][r, b] == sb_code
            s = float(e4.decode(np.array([sb_code]))[0]) * st_
            assert q.scale[r, b] == s
            want = e2.encode(blk / s, overflow=Overflow.SATURATE)   # s * 2^k exact; check via Fractions below
            for v, c in zip(blk, q.codes[r, 16 * b:16 * b + 16]):
                exact = Fraction(float(v)) / Fraction(s)
                vals = [Fraction(u) for u in e2.values()]
                best = min(vals, key=lambda u: (abs(u - exact), 0))
                assert abs(Fraction(float(e2.decode(np.array([c]))[0])) - exact) == abs(best - exact)
            assert want.shape == (16,)
    np.testing.assert_array_equal(q.dequantize(),
                                  e2.decode(q.codes) * np.repeat(q.scale, 16, axis=1))
    # a NaN block gets the E4M3 NaN scale 0x7F and dequantizes to NaN (module table)
    q = rq.quantize(np.array([[1.0, np.nan] + [0.0] * 14 + [3.0] * 16]), "nvfp4")
    assert q.extra["scale_codes"].tolist() == [[0x7F, 0x7E]] and q.extra["tensor_scale"] == \
        float(np.float32(3.0 / 2688))
    alone = rq.quantize(np.array([[3.0] * 16]), "nvfp4").dequantize()
    assert np.isnan(q.dequantize()[0, :16]).all()
    np.testing.assert_array_equal(q.dequantize()[0, 16:], alone[0])


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
    assert f.is_block and f.bits == 6 and f.block_size == 32 and f.max == 7.5
    x = np.linspace(-3, 3, 64)
    np.testing.assert_array_equal(f.quantize(x), rq.quantize(x, f).dequantize())
    with pytest.raises(ValueError, match="scalar"):
        rq.quantize(np.float64(1.0), f)
    with pytest.raises(ValueError, match="SATURATE"):
        f.quantize_tensor(x, overflow="raise")


# --- extreme and non-finite inputs: every output decodes, as the module table says --

BLOCK_FORMATS = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8",
                 "nvfp4"]
EXTREMES = [np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324, -1e-310, 2.0 ** -149, 0.0, -0.0,
            1.0, -3.5, 3e38]


def _check_block_result(fmt, x, q):
    """The documented behaviour (the refquant.floats.BlockFormat docstring's table) of one block
    quantization; x is 2-D, blocked along the last axis."""
    blk = fmt.block_size
    codes = np.asarray(q.codes)
    sc = q.extra["scale_codes"]
    d = q.dequantize()
    # every output decodes with the same formats
    fmt.decode(codes)
    fmt.scale_format.decode(sc)
    assert codes.shape == x.shape and sc.shape == q.scale.shape
    nan_scale = 0xFF if fmt.kind == "mx" else 0x7F
    nb = sc.shape[-1]
    for r in range(x.shape[0]):
        for b in range(nb):
            xb = x[r, b * blk:(b + 1) * blk].astype(np.float64)
            db = d[r, b * blk:(b + 1) * blk]
            cb = codes[r, b * blk:(b + 1) * blk]
            if not np.isfinite(xb).all():
                assert sc[r, b] == nan_scale and (cb == 0).all() and np.isnan(db).all()
                continue
            amax = np.abs(xb).max()
            if fmt.kind == "mx":
                if amax >= 2.0 ** (128 + fmt.element_emax):
                    assert sc[r, b] == 0xFF and (cb == 0).all() and np.isnan(db).all()
                    continue
                assert sc[r, b] != 0xFF
            else:
                assert sc[r, b] not in (0x7F, 0xFF)
            # finite blocks: finite results within the block's range, same signs
            s = q.scale[r, b]
            assert np.isfinite(db).all() and np.isfinite(s)
            assert (np.abs(db) <= fmt.element.max * s).all()
            assert (np.sign(db) * np.sign(xb) >= 0).all()
            if fmt.kind == "nvfp4":
                st_ = q.extra["tensor_scale"]
                assert np.isfinite(st_) and st_ > 0 and float(np.float32(st_)) == st_


@settings(max_examples=60)
@given(st.sampled_from(BLOCK_FORMATS), st.lists(st.sampled_from(EXTREMES), min_size=1,
                                                 max_size=40),
       st.sampled_from([np.float64, np.float32]), st.integers(0, 2 ** 31))
def test_extreme_inputs_encode_and_decode(name, vals, dtype, seed):
    fmt = rq.format(name)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 48))
    pos = rng.choice(x.size, size=min(len(vals), x.size), replace=False)
    with np.errstate(over="ignore"):
        x.reshape(-1)[pos] = vals[:pos.size]
        x = x.astype(dtype)
    q = fmt.quantize_tensor(x)
    _check_block_result(fmt, x, q)


@pytest.mark.parametrize("name", BLOCK_FORMATS)
@pytest.mark.parametrize("v", EXTREMES)
def test_each_extreme_value(name, v):
    fmt = rq.format(name)
    x = np.ones((1, 2 * fmt.block_size))
    x[0, 1] = v
    q = fmt.quantize_tensor(x)
    _check_block_result(fmt, x, q)
    d = q.dequantize()
    if fmt.kind == "mx":
        assert (d[0, fmt.block_size:] == 1.0).all()      # the other block is untouched
    elif np.isfinite(v) and abs(v) < 1e300:
        alone = fmt.quantize_tensor(x[:, fmt.block_size:], tensor_scale=q.extra["tensor_scale"])
        np.testing.assert_array_equal(d[0, fmt.block_size:], alone.dequantize()[0])
    if name == "nvfp4" and abs(v) == 1e300:
        # the tensor scale saturates at the largest float32: the value clips to 6 * 448 * s_t
        assert q.extra["tensor_scale"] == float(np.finfo(np.float32).max)
        assert d[0, 1] == np.copysign(6 * 448 * float(np.finfo(np.float32).max), v)


def test_nvfp4_extremes_exact_codes():
    q = rq.quantize(np.array([[1e300, np.inf, -np.inf, np.nan] + [1.0] * 12 +
                              [-1e300] + [0.0] * 15]), "nvfp4")
    assert q.extra["scale_codes"].tolist() == [[0x7F, 0x7E]]
    assert q.codes[0, :16].tolist() == [0] * 16 and q.codes[0, 16] == 0xF
    assert np.isnan(q.scale[0, 0])


def test_block_zero_d_and_encode_shapes():
    for name in BLOCK_FORMATS:
        f = rq.format(name)
        assert f.encode(np.float64(0.5)).shape == ()
        assert f.decode(f.encode(np.array(0.5))).shape == ()
        assert f.quantize(np.float64(0.5)).shape == ()
        assert f.quantize(0.5) == f.quantize(np.array([0.5]))[0]


# --- pack / unpack stream: output plus O(chunk) memory --------------------------------

def _peak(fn):
    import tracemalloc
    fn()                          # compile / warm up outside the measurement
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


@pytest.mark.parametrize("bits,dtype", [(4, np.uint8), (6, np.uint8), (1, np.uint8),
                                        (12, np.uint16), (8, np.int8), (3, np.int64)])
def test_pack_unpack_memory_is_output_plus_chunk(bits, dtype):
    n = 1 << 20
    rng = np.random.default_rng(bits)
    lo = -(1 << (bits - 1)) if np.dtype(dtype).kind == "i" else 0
    hi = (1 << (bits - 1)) if np.dtype(dtype).kind == "i" else (1 << bits)
    codes = rng.integers(lo, hi, n).astype(dtype)
    data, peak = _peak(lambda: rq.pack(codes, bits))
    assert data.nbytes == -(-n * bits // 8)
    assert peak < 3 * codes.nbytes and peak < data.nbytes + (1 << 18), peak
    signed = np.dtype(dtype).kind == "i"
    back, peak = _peak(lambda: rq.unpack(data, bits, n, signed=signed))
    np.testing.assert_array_equal(back, codes)
    assert peak < back.nbytes + (1 << 18), peak

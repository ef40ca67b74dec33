"""Integer and fixed-point formats, exhaustively over every code of every format up to
16 bits: round trips, order, saturation, WRAP, rounding at midpoints, names."""
import numpy as np
import pytest

import refquant as rq
from refquant import FixedFormat, IntFormat, Overflow, Rounding
from reference import rounding as ref

SMALL_INTS = ([IntFormat(b, s) for b in range(1, 17) for s in (True, False)]
              + [IntFormat(b, True, True) for b in range(2, 17)])
SMALL_FIXED = [FixedFormat(m, n, s) for m, n in ((0, 3), (3, 4), (2, 7), (7, 8), (0, 15))
               for s in (True, False) if m + n + s <= 16]
ALL_SMALL = SMALL_INTS + SMALL_FIXED


def _ids(f):
    return f.name


@pytest.mark.parametrize("fmt", ALL_SMALL, ids=_ids)
def test_every_code_round_trips_and_is_ordered(fmt):
    codes = fmt.codes()
    vals = fmt.decode(codes)
    assert codes.dtype == fmt.code_dtype
    assert len(codes) == fmt.qmax - fmt.qmin + 1
    # codes are the integers themselves; values are code * 2^-n, strictly increasing
    assert (codes.astype(np.int64) == np.arange(fmt.qmin, fmt.qmax + 1)).all()
    assert (vals == codes.astype(np.float64) * 2.0 ** -fmt.frac_bits).all()
    assert (np.diff(vals) > 0).all()
    assert (fmt.encode(vals) == codes).all()
    for mode in Rounding:
        assert (fmt.encode(vals, mode) == codes).all(), mode
    assert (fmt.values() == vals).all()
    assert fmt.max == vals[-1] and fmt.min == vals[0]


@pytest.mark.parametrize("fmt", ALL_SMALL, ids=_ids)
def test_midpoints_round_by_mode(fmt):
    vals = fmt.values()
    if len(vals) < 2:
        return
    mids = (vals[:-1] + vals[1:]) / 2  # exact ties between neighbours
    lo_codes = fmt.codes()[:-1].astype(np.int64)
    expect = {
        Rounding.NEAREST_EVEN: lo_codes + (lo_codes % 2 == 1),
        Rounding.NEAREST_AWAY: np.where(mids > 0, lo_codes + 1, lo_codes),
        Rounding.NEAREST_UP: lo_codes + 1,
        Rounding.TOWARD_ZERO: np.where(mids > 0, lo_codes, lo_codes + 1),
        Rounding.DOWN: lo_codes,
        Rounding.UP: lo_codes + 1,
    }
    for mode, e in expect.items():
        assert (fmt.encode(mids, mode).astype(np.int64) == e).all(), mode
    # a quarter step above each value goes down under nearest modes, up under UP
    q = vals[:-1] + (vals[1:] - vals[:-1]) / 4
    assert (fmt.encode(q) == fmt.codes()[:-1]).all()
    assert (fmt.encode(q, Rounding.UP) == fmt.codes()[1:]).all()


@pytest.mark.parametrize("fmt", ALL_SMALL, ids=_ids)
def test_saturation_and_wrap(fmt):
    step = 2.0 ** -fmt.frac_bits
    n = fmt.qmax - fmt.qmin + 1
    beyond = np.array([fmt.max + step, fmt.max + 7.25 * step, 1e30,
                       fmt.min - step, fmt.min - 3 * step, -1e30])
    sat = fmt.encode(beyond).astype(np.int64)
    assert sat.tolist() == [fmt.qmax] * 3 + [fmt.qmin] * 3
    wrap_in = beyond[[0, 1, 3, 4]]
    w = fmt.encode(wrap_in, overflow=Overflow.WRAP).astype(np.int64)
    exp = [ref.quantize_affine(v, step, 0, fmt.qmin, fmt.qmax, 0, overflow="wrap") for v in wrap_in]
    assert w.tolist() == exp
    assert all(fmt.qmin <= c <= fmt.qmax for c in w)
    assert exp[0] == fmt.qmin  # one step past the top wraps to the bottom
    assert exp[2] == (fmt.qmax if n > 1 else fmt.qmin)
    with pytest.raises(OverflowError):
        fmt.encode(beyond[:1], overflow=Overflow.RAISE)


def test_wrap_is_twos_complement_for_full_range():
    f = rq.format("int8")
    assert f.encode(np.array([128.0, 129.0, 255.0, 256.0, -129.0, -300.0]),
                    overflow="wrap").tolist() == [-128, -127, -1, 0, 127, -44]
    u = rq.format("uint4")
    assert u.encode(np.array([16.0, 17.0, -1.0, 35.0]), overflow="wrap").tolist() == [0, 1, 15, 3]
    n = rq.format("int8n")  # narrow range wraps within its 255 codes
    assert n.encode(np.array([128.0, -128.0]), overflow="wrap").tolist() == [-127, 127]


def test_nonfinite_policy():
    f = rq.format("int4")
    with pytest.raises(ValueError, match="not finite"):
        f.encode(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="not finite"):
        f.encode(np.array([np.inf]))
    assert f.encode(np.array([np.nan, np.inf, -np.inf, 2.0]),
                    nonfinite="saturate").tolist() == [0, 7, -8, 2]


def test_decode_rejects_out_of_range_and_non_integer_codes():
    f = rq.format("int4")
    with pytest.raises(ValueError):
        f.decode(np.array([8]))
    with pytest.raises(TypeError):
        f.decode(np.array([1.0]))


def test_wide_formats_extremes():
    for b in (17, 24, 31, 32):
        f = IntFormat(b)
        v = np.array([f.min, -1.0, 0.0, 1.0, f.max, f.max + 0.5, f.max + 1e6])
        c = f.encode(v).astype(np.int64)
        assert c.tolist() == [f.qmin, -1, 0, 1, f.qmax, f.qmax, f.qmax]
        assert (f.decode(c[:5]) == v[:5]).all()
    u = IntFormat(32, signed=False)
    assert u.encode(np.array([4294967295.0, 4294967296.0, -0.4])).tolist() == [4294967295, 4294967295, 0]


@pytest.mark.parametrize("name,expected", [
    ("int4", IntFormat(4)), ("uint8", IntFormat(8, False)), ("INT7", IntFormat(7)),
    ("int8n", IntFormat(8, True, True)), ("q3.4", FixedFormat(3, 4)),
    ("uq1.7", FixedFormat(1, 7, False)), ("int32", IntFormat(32)),
])
def test_names_parse(name, expected):
    f = rq.format(name)
    assert f == expected and rq.format(f.name) == f


def test_bad_parameters_name_the_parameter():
    with pytest.raises(ValueError, match=r"bits must be an int in \[1, 32\], got 0"):
        IntFormat(0)
    with pytest.raises(ValueError, match=r"bits must be an int in \[1, 32\], got 33"):
        IntFormat(33)
    with pytest.raises(ValueError, match=r"bits must be an int in \[1, 32\], got 40"):
        rq.format("int40")
    with pytest.raises(ValueError, match="unknown format"):
        rq.format("int8x")
    with pytest.raises(ValueError, match="narrow_range"):
        IntFormat(8, signed=False, narrow_range=True)
    assert {"int8", "uint8", "int4", "uint4", "int16"} <= set(rq.format_names())


def test_fixed_point_is_scaled_integer():
    f = FixedFormat(3, 4)
    assert f.bits == 8 and f.max == 127 / 16 and f.min == -8.0
    x = np.array([0.03125, 0.09375, -0.03125, 7.96875, 100.0])  # ties at 1/32, 3/32
    assert f.encode(x).tolist() == [0, 2, 0, 127, 127]
    assert f.quantize(np.array([1.1])).tolist() == [18 / 16]


def _wrap_py(v: int, fmt) -> int:
    """v modulo 2^bits, in the format's code range (Python ints)."""
    m = fmt.qmax - fmt.qmin + 1
    return (v - fmt.qmin) % m + fmt.qmin


HUGE = [2.0 ** 63, 2.0 ** 64 + 3, -2.0 ** 63 - 1, 1e30, -1e30, 2.0 ** 53 + 2, -(2.0 ** 60) - 2048,
        3.0 * 2 ** 70 + 2 ** 30, 1.7976931348623157e308, -5e307, 2.0 ** 52 + 1, 2.0 ** 52 - 0.5,
        -(2.0 ** 52) - 1.5, 130.0, -129.0, 65537.0, 4294967301.0]


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "uint8", "uint16", "int4", "int8n"])
def test_wrap_is_modulo_of_the_exact_rounded_integer(name):
    """Overflow.WRAP reduces the exactly rounded integer modulo 2^bits (narrow ranges:
    modulo their number of codes), at any magnitude; checked against Python ints."""
    fmt = rq.format(name)
    x = np.array(HUGE)
    got = fmt.encode(x, overflow=Overflow.WRAP).astype(np.int64).tolist()
    exp = [_wrap_py(ref.round_fraction(ref.Fraction(v), 0), fmt) for v in HUGE]
    assert got == exp
    assert got[0] == (0 if name != "int8n" else _wrap_py(2 ** 63, fmt))  # 2^63 mod 2^8 = 0
    for mode in Rounding:
        if mode is Rounding.STOCHASTIC:
            continue
        got = fmt.encode(x, mode, overflow="wrap").astype(np.int64).tolist()
        assert got == [_wrap_py(ref.round_fraction(ref.Fraction(v), int(mode)), fmt) for v in HUGE]


@pytest.mark.parametrize("dtype", ["int64", "uint64", ">i8", ">u8"])
@pytest.mark.parametrize("name", ["int8", "int32", "uint8", "uint32"])
def test_integer_inputs_are_taken_by_value(dtype, name):
    """int64 / uint64 inputs are used exactly (not rounded through float64), in any byte
    order: WRAP keeps their low bits, SATURATE and RAISE compare the exact values."""
    fmt = rq.format(name)
    if np.dtype(dtype).kind == "u":
        vals = [0, 5, 2 ** 53 + 1, 2 ** 63 + 3, 2 ** 64 - 1, 300]
    else:
        vals = [0, -5, 2 ** 53 + 1, -(2 ** 63), 2 ** 63 - 1, -(2 ** 53) - 3, 300]
    x = np.array(vals, dtype=dtype)
    assert fmt.encode(x, overflow="wrap").astype(np.int64).tolist() == [_wrap_py(v, fmt) for v in vals]
    sat = [min(max(v, fmt.qmin), fmt.qmax) for v in vals]
    assert fmt.encode(x).astype(np.int64).tolist() == sat
    q = rq.quantize(x, fmt, scale=1.0, overflow="wrap")
    assert q.codes.astype(np.int64).tolist() == [_wrap_py(v, fmt) for v in vals]
    # a scale: the exact quotient v / s is rounded, not float64(v) / s
    q = rq.quantize(np.array([2 ** 53 + 1], dtype=dtype), "int32", scale=2.0 ** 30,
                    rounding=Rounding.UP)
    assert q.codes.tolist() == [2 ** 23 + 1]


def test_zero_d_shapes_are_kept():
    for fmt in (rq.format("int8"), rq.format("q3.4"), rq.format("uint4")):
        c = fmt.encode(np.float64(1.5))
        assert c.shape == () and c.dtype == fmt.code_dtype
        assert fmt.decode(c).shape == ()
        assert fmt.encode(np.float32(1.0), overflow="wrap").shape == ()


def test_big_endian_inputs_and_codes_by_value():
    f = rq.format("int8")
    for dt in (">i2", ">f4", ">f8", ">u4", "<i2"):
        x = np.array([1, 2, 100], dtype=dt)
        assert f.encode(x).tolist() == [1, 2, 100]
    assert f.decode(np.array([1, -2], dtype=">i2")).tolist() == [1.0, -2.0]
    q = rq.quantize(np.array([1.0, 2.0], dtype=">f4"), "int16", scale=np.array(0.5, dtype=">f8"),
                    zero_point=np.array(3, dtype=">i4"))
    assert q.codes.tolist() == [5, 7]
    q.codes = q.codes.astype(">i2")
    assert q.dequantize().tolist() == [1.0, 2.0]
    assert q.dequantize(np.float32).dtype == np.float32

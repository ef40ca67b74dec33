"""Malformed and extreme inputs to the float, block, posit, TENT and power-of-two
families: byte order, 0-d arrays, NaN/inf, and a table of bad arguments with the
exception each must raise and a phrase of its message."""
import math

import numpy as np
import pytest

import refquant as rq
import refquant.posit as P
from refquant import FloatFormat, PositFormat, Rounding, pow2
from refquant.floats import BlockFormat
from refquant.pow2 import APoTFormat, LogFormat, NHotFormat, PWLQFormat
from refquant.posit import TentFormat

ELEMENT_FORMATS = ["e4m3fn", "e5m2", "bf16", "fp16", "fp32", "tf32", "e2m1", "e8m0",
                   "p3109_k8p3se", "mxfp4", "mxfp8_e4m3", "mxint8", "nvfp4", "posit8",
                   "posit16", "posit32", "posit10_1", "tent8", "tent16", "log4", "ulog4",
                   "log5_sqrt2", "apot4", "uapot4", "nhot2_8", "nhot3_8", "pwlq4"]
X = np.array([0.0, 0.3, -0.7, 1.5, -2.0, 0.05, 0.9, -0.01, 3.0, 1e-3])


def _x_for(fmt):
    x = X
    if not getattr(fmt, "signed", True) or getattr(getattr(fmt, "element", None), "signed",
                                                   True) is False:
        x = np.abs(x)
    if fmt.name == "e8m0":
        x = np.abs(x) + 0.125
    return x


# --- big-endian arrays: converted by value ---------------------------------------------

@pytest.mark.parametrize("name", ELEMENT_FORMATS)
def test_big_endian_codes_and_inputs(name):
    fmt = rq.format(name)
    x = _x_for(fmt)
    codes = fmt.encode(x)
    want = fmt.decode(codes)
    for order in (">", "<"):
        c2 = codes.astype(codes.dtype.newbyteorder(order))
        np.testing.assert_array_equal(fmt.decode(c2), want)
        wide = codes.astype(np.int64).astype(np.dtype("i8").newbyteorder(order))
        np.testing.assert_array_equal(fmt.decode(wide), want)
        for ft in ("f4", "f8"):
            xb = x.astype(np.dtype(ft).newbyteorder(order))
            np.testing.assert_array_equal(fmt.encode(xb), fmt.encode(x.astype(ft)))
            np.testing.assert_array_equal(fmt.quantize(xb), fmt.quantize(x.astype(ft)))


def test_big_endian_block_tensor_and_pack():
    x = np.linspace(-3, 3, 64).reshape(2, 32)
    for name in ("mxfp4", "mxint8", "nvfp4"):
        q = rq.quantize(x.astype(">f4"), name)
        w = rq.quantize(x.astype("<f4"), name)
        np.testing.assert_array_equal(q.codes, w.codes)
        np.testing.assert_array_equal(q.dequantize(), w.dequantize())
    c = np.arange(40, dtype=">u2") % 16
    np.testing.assert_array_equal(rq.pack(c, 4), rq.pack(c.astype("<u2"), 4))
    i = np.array([-3, 5, -8, 7], ">i8")
    assert rq.unpack(rq.pack(i, 4), 4, 4, signed=True).tolist() == [-3, 5, -8, 7]
    assert rq.unpack(rq.pack(i, 4), 4, 4, signed=True, dtype=">i2").tolist() == [-3, 5, -8, 7]


@pytest.mark.parametrize("name", ["posit8", "posit16", "posit16_1"])
def test_big_endian_posit_arithmetic_and_quire(name):
    f = rq.format(name)
    a = f.encode(np.linspace(-4, 4, 9))
    b = f.encode(np.linspace(0.1, 2, 9))
    ab, bb = a.astype(a.dtype.newbyteorder(">")), b.astype(b.dtype.newbyteorder(">"))
    for op in ("add", "sub", "mul", "div"):
        np.testing.assert_array_equal(getattr(P, op)(ab, bb, f), getattr(P, op)(a, b, f))
    np.testing.assert_array_equal(P.sqrt(bb, f), P.sqrt(b, f))
    np.testing.assert_array_equal(P.fma(ab, bb, ab, f), P.fma(a, b, a, f))
    np.testing.assert_array_equal(P.convert(ab, f, "posit8"), P.convert(a, f, "posit8"))
    np.testing.assert_array_equal(P.to_int(ab, f), P.to_int(a, f))
    np.testing.assert_array_equal(P.neg(ab, f), P.neg(a, f))
    np.testing.assert_array_equal(P.abs(ab, f), P.abs(a, f))
    np.testing.assert_array_equal(P.compare(ab, bb, f), P.compare(a, b, f))
    np.testing.assert_array_equal(P.from_int(np.arange(-5, 5, dtype=">i4"), f),
                                  P.from_int(np.arange(-5, 5), f))
    assert rq.quire_dot(ab, bb, f) == rq.quire_dot(a, b, f)
    np.testing.assert_array_equal(rq.quire_matmul(ab.reshape(3, 3), bb.reshape(3, 3), f),
                                  rq.quire_matmul(a.reshape(3, 3), b.reshape(3, 3), f))


def test_big_endian_pow2_functions():
    w = rq.format("nhot2_8").encode(np.array([3.0, -5.0, 6.0]))
    wb = w.astype(">u2")
    x = np.array([1, 2, 3], ">i8")
    assert pow2.shift_dot(wb, "nhot2_8", x).acc == pow2.shift_dot(w, "nhot2_8", [1, 2, 3]).acc
    pc = rq.format("pwlq4").encode(np.array([0.5, -0.2, 0.9]))
    got = pow2.pwlq_dot(pc.astype(">i2"), "pwlq4", x).fractions()
    assert got == pow2.pwlq_dot(pc, "pwlq4", [1, 2, 3]).fractions()
    v = np.array([91, -7, 300], ">i4")
    np.testing.assert_array_equal(pow2.term_quantize(v, 3, 2), pow2.term_quantize(v.astype("<i4"), 3, 2))
    np.testing.assert_array_equal(pow2.sparq(np.array([7, 200], ">u2")), pow2.sparq([7, 200]))


# --- 0-d inputs keep shape () ------------------------------------------------------------

@pytest.mark.parametrize("name", ELEMENT_FORMATS)
def test_zero_d_keeps_shape(name):
    fmt = rq.format(name)
    for x in (np.float64(0.5), np.array(0.5), 0.5, np.float32(0.5), np.array(0.5, ">f8")):
        c = fmt.encode(x)
        assert np.shape(c) == (), (name, type(x))
        assert np.shape(fmt.decode(c)) == ()
        assert np.shape(fmt.decode(np.asarray(c)[()])) == ()
        q = fmt.quantize(x)
        assert np.shape(q) == (), (name, "quantize")
        assert float(q) == float(fmt.quantize(np.array([0.5]))[0])


def test_zero_d_posit_operations():
    f = rq.format("posit16")
    a = f.encode(np.float64(1.5))
    assert P.add(a, a, f).shape == () and P.sqrt(a, f).shape == ()
    assert P.to_int(a, f).shape == () and P.from_int(np.int64(3), f).shape == ()
    assert P.convert(a, f, "posit8").shape == ()


# --- NaN / inf inputs do what each family's docstring says ---------------------------------

@pytest.mark.parametrize("name", ["posit8", "posit16", "posit32", "posit8_0", "tent8",
                                  "tent8_3_-2", "tent16"])
def test_tapered_nan_inf_become_nar(name):
    f = rq.format(name)
    nar = 1 << (f.bits - 1)
    for mode in Rounding:
        assert f.encode(np.array([np.nan, np.inf, -np.inf]), mode).tolist() == [nar] * 3
        assert np.isnan(f.quantize(np.array([np.nan, np.inf]), mode)).all()
    # saturation, no underflow to zero, zero exact
    assert f.encode(np.array([1e300, -1e300, 1e-300, 0.0, -0.0])).tolist() == [
        nar - 1, nar + 1, 1, 0, 0]


@pytest.mark.parametrize("name", ["log4", "log5_sqrt2", "log4_lin", "apot4", "nhot2_8",
                                  "pwlq4", "ulog4", "uapot4"])
def test_pow2_nan_raises_inf_saturates(name):
    f = rq.format(name)
    top = f.max
    for dt in (np.float64, np.float32):
        with np.errstate(over="ignore"):
            big = np.array([np.inf, 1e300], dt)
        assert f.quantize(big).tolist() == [top, top]
        with pytest.raises(ValueError, match="NaN"):
            f.encode(np.array([1.0, np.nan], dt))
        with pytest.raises(ValueError, match="NaN"):
            f.quantize(np.array([np.nan], dt))
        if f.signed:
            assert f.quantize(np.array([-np.inf], dt)).tolist() == [-top]
        else:
            with pytest.raises(ValueError, match="unsigned"):
                f.encode(np.array([-np.inf], dt))
    assert f.encode(np.array([-0.0])).tolist() == [0]


@pytest.mark.parametrize("name", ["e4m3fn", "e5m2", "e2m1", "e8m0", "e4m3fnuz", "bf16"])
def test_float_nan_inf(name):
    f = rq.format(name)
    if f.has_nan:
        assert np.isnan(f.quantize(np.array([np.nan]))).all()
    else:
        with pytest.raises(ValueError, match="no NaN"):
            f.encode(np.array([np.nan]))
    d = f.quantize(np.array([np.inf]))
    if f.has_inf:
        assert d.tolist() == [math.inf]
    elif f.default_overflow.name == "NAN":
        assert np.isnan(d).all()
    else:
        assert d.tolist() == [f.max]


# --- bad arguments: exception type and a phrase of the message ------------------------------

_f8 = "posit8"
_c = np.array([64, 72], np.uint8)

BAD = [
    # format names and parameters
    (rq.format, ("e0m3",), ValueError, "exp_bits must be an int in [1, 31], got 0"),
    (rq.format, ("e9m30",), ValueError, "= 40 bits; allowed 2..32"),
    (rq.format, ("e31m0",), ValueError, "largest exponent allowed 1023"),
    (rq.format, ("posit40_2",), ValueError, "bits must be an int in [2, 32], got 40"),
    (rq.format, ("posit8_9",), ValueError, "es must be an int in [0, 4], got 9"),
    (rq.format, ("posit1",), ValueError, "bits must be an int in [2, 32], got 1"),
    (rq.format, ("tent8_0",), ValueError, "rs must be an int in [1, 7], got 0"),
    (rq.format, ("tent8_3_99",), ValueError, "scale_exp must be an int in [-64, 64], got 99"),
    (rq.format, ("log1",), ValueError, "bits must be an int in [2, 11], got 1"),
    (rq.format, ("apot99",), ValueError, "bits must be an int in [3, 7], got 99"),
    (rq.format, ("nhot9_8",), ValueError, "n must be an int in [1, 8], got 9"),
    (rq.format, ("pwlq9",), ValueError, "value_bits must be an int in [2, 8], got 9"),
    (rq.format, ("pwlq4_p2",), ValueError, "strictly increasing in (0, 1)"),
    (rq.format, ("p3109_k8p8se",), ValueError, "p must be an int in [1, 7], got 8"),
    (rq.format, ("p3109_k99p3se",), ValueError, "bits must be an int in [2, 32], got 99"),
    (rq.format, (5,), TypeError, "format name must be a str"),
    (FloatFormat, (4.0, 3), TypeError, "exp_bits must be an int"),
    (FloatFormat, (4, 3, 1.5), TypeError, "bias must be an int"),
    (FloatFormat, (4, 3), ValueError, "specials='IEEE'", {"specials": "IEEE"}),
    (FloatFormat, (4, 3), TypeError, "signed must be a bool", {"signed": 1}),
    (FloatFormat, (4, 3), TypeError, "name must be a str", {"name": 5}),
    (FloatFormat, (11, 52), ValueError, "man_bits must be an int in [0, 31], got 52"),
    (FloatFormat, (8, 23, -900), ValueError, "largest exponent allowed 1023"),
    (PositFormat, (8.0, 2), TypeError, "bits must be an int"),
    (PositFormat, (8, 5), ValueError, "es must be an int in [0, 4], got 5"),
    (TentFormat, (8, 8), ValueError, "rs must be an int in [1, 7], got 8"),
    (LogFormat, (4, 1.5), TypeError, "fsr must be an int"),
    (LogFormat, (4, 1, 3), ValueError, "base=3; allowed: 2, 'sqrt2'"),
    (LogFormat, (4,), TypeError, "signed must be a bool", {"signed": "yes"}),
    (APoTFormat, (4,), TypeError, "signed must be a bool", {"signed": 1}),
    (NHotFormat, (2, 8.0), TypeError, "bits must be an int"),
    (PWLQFormat, (4, (0.5, 0.25)), ValueError, "strictly increasing"),
    (PWLQFormat, (4, 0.25), TypeError, "breakpoints must be a sequence"),
    (BlockFormat, (rq.format("e2m1"), 0, rq.format("e8m0"), "mx", "x"), ValueError,
     "block_size must be an int in [1, 16777216], got 0"),
    (BlockFormat, (rq.format("e2m1"), True, rq.format("e8m0"), "mx", "x"), TypeError,
     "block_size must be an int"),
    (BlockFormat, ("e2m1", 32, rq.format("e8m0"), "mx", "x"), TypeError,
     "element must be a Format"),
    # encode / decode arguments
    (lambda: rq.format("e4m3fn").encode(np.ones(2), Rounding.STOCHASTIC, seed=0.5), (),
     TypeError, "seed must be an int"),
    (lambda: rq.format("posit8").encode(np.ones(2), seed=0.5), (), TypeError,
     "seed must be an int"),
    (lambda: rq.format("tent8").encode(np.ones(2), seed=2 ** 70), (), ValueError,
     f"seed must be an int in [{-2 ** 63}, {2 ** 63 - 1}], got {2 ** 70}"),
    (lambda: rq.format("log4").encode(np.ones(2), seed=0.5), (), TypeError,
     "seed must be an int"),
    (lambda: rq.format("nhot2_8").quantize(np.ones(2), seed="1"), (), TypeError,
     "seed must be an int"),
    (lambda: rq.format("e4m3fn").encode(np.ones(2), rounding="bogus"), (), ValueError,
     "rounding='bogus' is not a Rounding"),
    (lambda: rq.format("e4m3fn").encode(np.ones(2), overflow="wrap"), (), ValueError,
     "overflow=WRAP applies to integer formats"),
    (lambda: rq.format("e2m1").encode(np.ones(2), overflow="nan"), (), ValueError,
     "overflow=NAN: e2m1 has no NaN"),
    (lambda: rq.format("e4m3fn").encode(np.ones(2), overflow="inf"), (), ValueError,
     "overflow=INF: e4m3fn has no infinities"),
    (lambda: rq.format("e4m3fn").encode(np.array(["a"])), (), TypeError,
     "x must be a real numeric array"),
    (lambda: rq.format("posit8").encode(np.ones(2) * 1j), (), TypeError, "x must be real"),
    (lambda: rq.format("e4m3fn").decode(np.array([1.0])), (), TypeError,
     "codes must be integers"),
    (lambda: rq.format("e4m3fn").decode(np.array([256])), (), ValueError,
     "codes outside [0, 2^8) for e4m3fn"),
    (lambda: rq.format("posit8").decode(np.array([-1])), (), ValueError,
     "8-bit patterns in [0, 255]"),
    (lambda: rq.format("nhot2_8").decode(np.array([1 << 20])), (), ValueError,
     "codes outside [0, 2^10) for nhot2_8"),
    (lambda: rq.format("nhot2_8").decode(np.array([-3])), (), ValueError,
     "codes outside [0, 2^10) for nhot2_8"),
    (lambda: rq.format("nhot2_8").decode(np.array([0b1111])), (), ValueError,
     "non-canonical codes"),
    (lambda: rq.format("pwlq4").decode(np.array([1 << 5])), (), ValueError,
     "codes outside [0, 2^5) for pwlq4"),
    (lambda: rq.format("mxfp4").quantize(np.float64(1.0), axis=3), (), ValueError,
     "axis=3 out of range"),
    (lambda: rq.format("nvfp4").quantize_tensor(np.ones((1, 16)), tensor_scale=-1.0), (),
     ValueError, "tensor_scale=-1.0"),
    (lambda: rq.format("e4m3fn").encode(np.ones(2), saturate="yes"), (), TypeError,
     "saturate must be a bool"),
    (lambda: rq.format("e4m3fn").decode(np.array([1]), dtype=np.int8), (), TypeError,
     "allowed float64, float32"),
    (lambda: rq.format("mxfp4").quantize_tensor(np.ones(4), seed=2 ** 70), (), ValueError,
     f"seed must be an int in [{-2 ** 63}, {2 ** 63 - 1}], got {2 ** 70}"),
    (lambda: rq.format("nvfp4").quantize(np.ones(4), seed=0.5), (), TypeError,
     "seed must be an int"),
    (lambda: TentFormat.fit(np.array(["a"])), (), TypeError, "x must be a real numeric array"),
    (lambda: TentFormat.fit(np.ones(3), 1.5), (), TypeError, "bits must be an int"),
    (pow2.apot_levels, (4, "no"), TypeError, "normalized must be a bool"),
    # pack / unpack
    (rq.pack, (np.array([1, 2]), 0), ValueError, "bits must be an int in [1, 16], got 0"),
    (rq.pack, (np.array([1, 2]), 17), ValueError, "bits must be an int in [1, 16], got 17"),
    (rq.pack, (np.array([1, 2]), 4.0), TypeError, "bits must be an int"),
    (rq.pack, (np.array([1.0]), 4), TypeError, "codes must be integers"),
    (rq.pack, (np.array([16], np.uint8), 4), ValueError,
     "codes outside [0, 15] do not fit in 4 bits"),
    (rq.pack, (np.array([-9]), 4), ValueError, "codes outside [-8, 15] do not fit in 4 bits"),
    (rq.unpack, (np.zeros(2, np.uint8), 0, 1), ValueError, "bits must be an int in [1, 16], got 0"),
    (rq.unpack, (np.zeros(2, np.uint8), 4, -1), ValueError, f"count must be an int in [0, {1 << 62}], got -1"),
    (rq.unpack, (np.zeros(2, np.uint8), 4, True), TypeError, "count must be an int"),
    (rq.unpack, (np.zeros(2, np.uint8), 4, 2.0), TypeError, "count must be an int"),
    (rq.unpack, (np.zeros(2, np.uint8), 4, 5), ValueError, "2 bytes hold at most 4 codes"),
    (rq.unpack, (np.zeros(2, np.int8), 4, 2), TypeError, "data must be uint8 bytes"),
    (rq.unpack, (np.zeros(4, np.uint8), 16, 2), ValueError, "dtype=uint8 cannot hold",
     {"dtype": np.uint8}),
    (rq.unpack, (np.zeros(4, np.uint8), 8, 2), ValueError, "dtype=int8 cannot hold",
     {"dtype": np.int8}),
    (rq.unpack, (np.zeros(4, np.uint8), 4, 2), ValueError, "dtype=float32 cannot hold",
     {"dtype": np.float32}),
    (rq.unpack, (np.zeros(4, np.uint8), 4, 2), TypeError, "signed must be a bool",
     {"signed": 2}),
    # posit arithmetic
    (P.add, (np.array([1.0]), _c, _f8), TypeError, "operand 0 must be integers"),
    (P.add, (np.array([True]), _c, _f8), TypeError, "operand 0 must be integers"),
    (P.add, (np.array([300]), _c, _f8), ValueError, "8-bit patterns in [0, 255]"),
    (P.add, (np.array([1, 2, 3]), _c, _f8), ValueError,
     "operands of shapes (3,) and (2,) do not broadcast"),
    (P.add, (_c, _c, "e4m3"), TypeError, "fmt must be a PositFormat"),
    (P.add, (_c, _c, 8), TypeError, "fmt must be a PositFormat"),
    (P.add, (_c, _c, _f8), TypeError, "seed must be an int", {"seed": 1.5}),
    (P.add, (_c, _c, _f8), ValueError, f"seed must be an int in [{-2 ** 63}, {2 ** 63 - 1}], "
     f"got {2 ** 70}", {"seed": 2 ** 70}),
    (P.mul, (_c, _c, _f8, "bogus"), ValueError, "rounding='bogus' is not a Rounding"),
    (P.fma, (_c, _c, np.array([1, 2, 3]), _f8), ValueError, "do not broadcast"),
    (P.compare, (np.array([1, 2, 3]), _c, _f8), ValueError,
     "operands of shapes (3,) and (2,) do not broadcast"),
    (P.neg, (np.array([1.5]), _f8), TypeError, "a must be integers"),
    (P.convert, (_c, _f8, "e4m3"), TypeError, "dst must be a PositFormat"),
    (P.to_int, (np.array([1.0]), _f8), TypeError, "must be integers"),
    (P.from_int, (np.array([1.5]), _f8), TypeError, "x must be integers"),
    (P.from_int, (np.array([2 ** 63], np.uint64), _f8), ValueError, "above 2^63 - 1"),
    (P.from_int, (np.array([3]), _f8), TypeError, "seed must be an int", {"seed": 0.5}),
    # quire
    (rq.quire_dot, (np.array([1, 2, 3]), _c, _f8), ValueError, "1-D of equal length"),
    (rq.quire_dot, (np.array(1), np.array(2), _f8), ValueError, "1-D of equal length"),
    (rq.quire_dot, (np.array([1.0]), np.array([1.0]), _f8), TypeError,
     "a_codes must be integers"),
    (rq.quire_dot, (_c, _c, _f8), TypeError, "seed must be an int", {"seed": 0.5}),
    (rq.quire_dot, (_c, _c, "e4m3fn"), TypeError, "fmt must be a PositFormat"),
    (rq.quire_matmul, (np.ones((2, 3), int), np.ones((2, 3), int), _f8), ValueError,
     "A.shape[1] == B.shape[0]"),
    (rq.quire_matmul, (np.ones(3, int), np.ones(3, int), _f8), ValueError, "must be 2-D"),
    (rq.quire_matmul, (np.ones((2, 2), int), np.ones((2, 2), int), _f8), TypeError,
     "seed must be an int", {"seed": 0.5}),
    # terms, SPARQ, PWLQ, APoT, n-hot helpers
    (pow2.term_quantize, (np.arange(8), 0, 2), ValueError, "block_size must be an int >= 1, got 0"),
    (pow2.term_quantize, (np.arange(8), 1.5, 2), TypeError, "block_size must be an int"),
    (pow2.term_quantize, (np.arange(8), 4, -1), ValueError, "budget must be an int >= 0, got -1"),
    (pow2.term_quantize, (np.arange(8), 4, 2), ValueError, "encoding='x'",
     {"encoding": "x"}),
    (pow2.term_quantize, (np.arange(8), 4, 2), ValueError, "axis=5 out of range",
     {"axis": 5}),
    (pow2.term_quantize, (np.arange(8), 4, 2), TypeError, "axis must be an int",
     {"axis": 0.5}),
    (pow2.term_quantize, (np.arange(8), 4, 2), TypeError, "return_terms must be a bool",
     {"return_terms": "yes"}),
    (pow2.term_quantize, (np.arange(8.0), 4, 2), TypeError, "values must hold integers"),
    (pow2.term_encode, (np.array([2 ** 62]),), ValueError, "allowed |v| < 2^61"),
    (pow2.term_encode, (np.arange(3), "y"), ValueError, "encoding='y'"),
    (pow2.sparq, (np.arange(8),), ValueError, "window='4opt'", {"window": "4opt"}),
    (pow2.sparq, (np.array([256]),), ValueError, "unsigned 8-bit activations (0..255)"),
    (pow2.sparq, (np.arange(8),), TypeError, "axis must be an int", {"axis": 0.5}),
    (pow2.sparq, (np.arange(8),), ValueError, "rounding=UP; SPARQ rounds", {"rounding": "up"}),
    (pow2.sparq, (np.arange(8),), ValueError, "rounding='no' is not a Rounding",
     {"rounding": "no"}),
    (pow2.sparq, (np.arange(8),), TypeError, "vsparq must be a bool", {"vsparq": 1}),
    (pow2.sparq_dot, (np.arange(8), np.arange(7)), ValueError, "do not chain along K"),
    (pow2.nhot_truncate, (np.arange(8), -1), ValueError, "n must be an int in [0, 63], got -1"),
    (pow2.nhot_truncate, (np.arange(8), 1.5), TypeError, "n must be an int"),
    (pow2.pwlq_compare, (np.linspace(-1, 1, 50), 4.5), TypeError, "bits must be an int"),
    (pow2.pwlq_compare, (np.linspace(-1, 1, 50), 1), ValueError, "bits must be an int in [2, 8], got 1"),
    (pow2.apot_terms, (1.5,), TypeError, "bits must be an int"),
    (pow2.apot_terms, (True,), TypeError, "bits must be an int"),
    (pow2.apot_terms, (7,), ValueError, "bits must be an int in [2, 6], got 7"),
    (pow2.apot_levels, (7,), ValueError, "bits must be an int in [2, 6], got 7"),
    (pow2.log_quantize, (np.ones(3), 0, 1), ValueError, "bits must be an int in [1, 10], got 0"),
    (pow2.shift_dot, (np.array([1, 2]), "e4m3", np.array([1, 2])), TypeError,
     "shift_dot supports log, APoT and n-hot formats"),
    (pow2.shift_dot, (np.array([1, 2]), "log4", np.array([1, 2, 3])), ValueError,
     "x has 3 elements; w_codes has K=2"),
    (pow2.pwlq_dot, (np.array([1, 2]), "log4", np.array([1, 2])), TypeError,
     "fmt must be a PWLQ format"),
    (pow2.pwlq_breakpoint, (float("nan"),), ValueError, "m=nan out of range"),
]


def _id(case):
    fn = case[0]
    return getattr(fn, "__name__", "call") + ":" + case[3][:30]


@pytest.mark.parametrize("case", BAD, ids=[_id(c) for c in BAD])
def test_bad_argument(case):
    fn, args, exc, phrase = case[:4]
    kwargs = case[4] if len(case) > 4 else {}
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert phrase in str(info.value), str(info.value)


def test_term_quantize_group_larger_than_axis_does_not_allocate_it():
    v = np.array([91, 7, 12, 3])
    np.testing.assert_array_equal(pow2.term_quantize(v, 10 ** 12, 3),
                                  pow2.term_quantize(v, 4, 3))
    r = pow2.term_quantize(v, 10 ** 12, 3, return_terms=True)
    assert r.sign.shape[:-1] == v.shape


def test_unpack_accepts_bytes():
    assert rq.unpack(bytes([0x21, 0x03]), 4, 3).tolist() == [1, 2, 3]
    assert rq.unpack(bytearray([0x21]), 4, 2, dtype=np.int64).tolist() == [1, 2]

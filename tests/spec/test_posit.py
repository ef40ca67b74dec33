"""Posit format and arithmetic as a specification: the Posit Standard (2022) sentences,
the exhaustive behaviour of small formats and the kernels == the pure-Python reference."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refquant
from refquant import Rounding, posit as P
from refquant.posit import PositFormat
from refquant.kernels import posit as K
from reference import posit as ref

SMALL = [(n, es) for n in (2, 3, 4, 5, 6, 8) for es in range(5)]
FORMATS = [(8, 0), (8, 1), (8, 2), (10, 3), (16, 1), (16, 2), (20, 4), (32, 2), (32, 0), (32, 4)]


def _signed(c, n):
    c = np.asarray(c, dtype=np.int64)
    return np.where(c >= (1 << (n - 1)), c - (1 << n), c)


# --- the standard's worked examples -------------------------------------------------

def test_standard_examples_posit8():
    f = refquant.format("posit8")
    assert f == PositFormat(8, 2)
    codes = f.encode([1.0, 1.5, 0.5, -1.0, 2.0 ** 24, 2.0 ** -24, 0.0, -0.0])
    assert codes.dtype == np.uint8
    assert codes.tolist() == [0x40, 0x44, 0x38, 0xC0, 0x7F, 0x01, 0, 0]
    assert f.decode(np.array([0x7F, 0x01, 0x81, 0xFF], dtype=np.uint8)).tolist() == [
        2.0 ** 24, 2.0 ** -24, -(2.0 ** 24), -(2.0 ** -24)]
    assert f.max == 2.0 ** 24 and f.smallest_subnormal == 2.0 ** -24
    assert f.smallest_normal == 2.0 ** -24 and f.min == -(2.0 ** 24)
    assert (f.emax, f.emin) == (24, -24)


def test_standard_examples_other_sizes():
    assert refquant.format("posit16").encode([1.0]).tolist() == [0x4000]
    assert refquant.format("posit32").encode([1.0]).tolist() == [0x40000000]
    assert refquant.format("posit16").max == 2.0 ** 56
    assert refquant.format("posit32").max == 2.0 ** 120
    assert refquant.format("posit16_1") == PositFormat(16, 1)
    assert refquant.format("posit8_0").max == 64.0
    assert refquant.format("posit12").name == "posit12"
    assert repr(PositFormat(8, 0)) == "PositFormat(bits=8, es=0)"


def test_nar_and_nonfinite():
    for n, es in [(8, 2), (16, 1), (32, 2)]:
        f = PositFormat(n, es)
        nar = 1 << (n - 1)
        assert f.encode([np.nan, np.inf, -np.inf]).tolist() == [nar] * 3
        assert np.isnan(f.decode(np.array([nar])))[0]


def test_saturation_and_no_underflow():
    f = PositFormat(8, 2)
    x = np.array([1e300, 2.0 ** 24 * 1.0001, 2.0 ** 30, -1e300, 1e-300, 2.0 ** -30,
                  5e-324, -5e-324])
    assert f.encode(x).tolist() == [0x7F, 0x7F, 0x7F, 0x81, 0x01, 0x01, 0x01, 0xFF]
    for mode in Rounding:
        # never zero, never NaR, whatever the rounding
        c = f.encode(np.array([1e-30, -1e-30, 1e30, -1e30]), mode)
        assert c.tolist() == [0x01, 0xFF, 0x7F, 0x81]


def test_geometric_tie_where_exponent_bits_are_cut():
    # posit<8,2>: between 0x7E = 2^20 and 0x7F = 2^24 the tie is 2^22 (pattern 0x7E|1 in 9 bits)
    f = PositFormat(8, 2)
    assert f.decode(np.array([0x7E, 0x7F], dtype=np.uint8)).tolist() == [2.0 ** 20, 2.0 ** 24]
    assert f.encode([2.0 ** 22, np.nextafter(2.0 ** 22, 0), np.nextafter(2.0 ** 22, 1e300)]
                    ).tolist() == [0x7E, 0x7E, 0x7F]
    # arithmetic midpoint inside the fraction: 1 + 1/16 between 0x40 (1) and 0x41 (1.125)
    assert f.encode([1.0625, 1.0625 + 2 ** -40, 1.1875]).tolist() == [0x40, 0x41, 0x42]


# --- exhaustive: every code of small formats -----------------------------------------

@pytest.mark.parametrize("n,es", SMALL + [(10, 2), (12, 1)])
def test_decode_every_code_matches_standard_formula(n, es):
    f = PositFormat(n, es)
    codes = np.arange(1 << n)
    got = f.decode(codes.astype(f.code_dtype))
    for c in range(1 << n):
        v = ref.decode_posit(c, n, es)
        if v is None:
            assert math.isnan(got[c])
        else:
            assert Fraction(float(got[c])) == v, (n, es, c)


@pytest.mark.parametrize("n,es", [(8, 0), (8, 2), (16, 0), (16, 1), (16, 2), (16, 4)])
def test_exhaustive_order_roundtrip_symmetry(n, es):
    f = PositFormat(n, es)
    codes = np.arange(1 << n)
    nar = 1 << (n - 1)
    real = codes[codes != nar]
    vals = f.decode(real.astype(f.code_dtype))
    # order of codes as signed integers == order of values
    order = np.argsort(_signed(real, n), kind="stable")
    assert np.all(np.diff(vals[order]) > 0)
    # every value round-trips
    assert np.array_equal(f.encode(vals).astype(np.int64), real)
    # encode(-x) is the two's complement of encode(x)
    assert np.array_equal(f.encode(-vals).astype(np.int64), (-real) & ((1 << n) - 1))
    # values() lists exactly the reals, sorted
    assert np.array_equal(f.values(), np.sort(vals))


@pytest.mark.parametrize("n,es", [(6, 0), (8, 1), (8, 2), (12, 2), (16, 2)])
def test_every_tie_and_its_neighbours(n, es):
    """Ties (the (n+1)-bit patterns u|1) go to the even code; one ulp either side does not."""
    f = PositFormat(n, es)
    u = np.arange(1, (1 << (n - 1)) - 1)
    ties = np.array([float(ref.decode_posit((int(c) << 1) | 1, n + 1, es)) for c in u])
    even = np.where(u % 2 == 0, u, u + 1)
    assert np.array_equal(f.encode(ties).astype(np.int64), even)
    assert np.array_equal(f.encode(np.nextafter(ties, 0)).astype(np.int64), u)
    assert np.array_equal(f.encode(np.nextafter(ties, np.inf)).astype(np.int64), u + 1)
    assert np.array_equal(f.encode(-ties).astype(np.int64), (-even) & ((1 << n) - 1))


def test_all_products_lie_on_the_quire_grid():
    # every posit value is a multiple of minpos, so products are multiples of minpos^2
    for n, es in [(8, 0), (8, 2), (12, 4), (16, 2)]:
        f = PositFormat(n, es)
        v = f.values()
        assert np.all(np.ldexp(v, f.emax) == np.round(np.ldexp(v, f.emax)))


# --- encode vs reference on drawn values ---------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)


@settings()
@given(st.sampled_from(FORMATS), st.lists(finite, min_size=1, max_size=8),
       st.sampled_from([0, 1, 2, 3, 4, 5]))
def test_encode_matches_reference(fmt, xs, mode):
    n, es = fmt
    f = PositFormat(n, es)
    got = f.encode(np.array(xs), mode).astype(np.int64).tolist()
    assert got == [ref.encode(Fraction(x), n, es, mode=mode) for x in xs]


@settings()
@given(st.sampled_from(FORMATS), finite, finite)
def test_encode_is_monotone_and_odd(fmt, x, y):
    n, es = fmt
    f = PositFormat(n, es)
    lo, hi = min(x, y), max(x, y)
    c = _signed(f.encode(np.array([lo, hi, -lo])), n)
    assert c[0] <= c[1]
    assert c[2] == -c[0]


@settings()
@given(st.sampled_from(FORMATS), st.floats(min_value=-1e6, max_value=1e6), st.integers(0, 2 ** 32))
def test_stochastic_picks_a_neighbour_reproducibly(fmt, x, seed):
    n, es = fmt
    f = PositFormat(n, es)
    xs = np.full(16, x)
    c = f.encode(xs, Rounding.STOCHASTIC, seed=seed).astype(np.int64)
    assert np.array_equal(c, f.encode(xs, Rounding.STOCHASTIC, seed=seed).astype(np.int64))
    down = ref.encode(Fraction(x), n, es, mode=ref.DOWN)
    up = ref.encode(Fraction(x), n, es, mode=ref.UP)
    assert set(c.tolist()) <= {down, up}


def test_stochastic_frequency_is_proportional():
    f = PositFormat(8, 2)
    x = np.full(40000, 1.0 + 0.125 * 0.25)  # a quarter of the way from 0x40 to 0x41
    c = f.encode(x, Rounding.STOCHASTIC, seed=7)
    frac_up = np.mean(c == 0x41)
    assert set(np.unique(c).tolist()) == {0x40, 0x41}
    assert abs(frac_up - 0.25) < 0.01


# --- arithmetic: exhaustive small formats and drawn codes ----------------------------

@pytest.mark.parametrize("n,es", [(5, 0), (5, 2), (6, 1)])
def test_arithmetic_all_pairs_small_formats(n, es):
    f = PositFormat(n, es)
    a, b = np.meshgrid(np.arange(1 << n), np.arange(1 << n), indexing="ij")
    a, b = a.ravel(), b.ravel()
    for name in ("add", "sub", "mul", "div"):
        got = getattr(P, name)(a, b, f).astype(np.int64).tolist()
        want = [getattr(ref, name)(int(x), int(y), n, es) for x, y in zip(a, b)]
        assert got == want, name
    got = P.sqrt(np.arange(1 << n), f).astype(np.int64).tolist()
    assert got == [ref.sqrt(c, n, es) for c in range(1 << n)]


def test_fma_all_triples_posit4():
    n, es = 4, 1
    g = np.arange(16)
    a, b, c = [x.ravel() for x in np.meshgrid(g, g, g, indexing="ij")]
    got = P.fma(a, b, c, PositFormat(n, es)).astype(np.int64).tolist()
    assert got == [ref.fma(int(x), int(y), int(z), n, es) for x, y, z in zip(a, b, c)]


def _codes(n):
    return st.integers(0, (1 << n) - 1)


@settings()
@given(st.sampled_from(FORMATS).flatmap(lambda f: st.tuples(
    st.just(f), _codes(f[0]), _codes(f[0]), _codes(f[0]))))
def test_arithmetic_matches_reference(args):
    (n, es), a, b, c = args
    f = PositFormat(n, es)
    for name in ("add", "sub", "mul", "div"):
        assert int(getattr(P, name)(a, b, f)) == getattr(ref, name)(a, b, n, es), name
    assert int(P.sqrt(a, f)) == ref.sqrt(a, n, es)
    assert int(P.fma(a, b, c, f)) == ref.fma(a, b, c, n, es)


@settings()
@given(st.sampled_from([(16, 2), (32, 2), (32, 0)]), st.floats(-1e9, 1e9), st.floats(-1e9, 1e9))
def test_fma_catastrophic_cancellation(fmt, x, y):
    """a*b - p with p = round(a*b): the fused result is the rounded exact residual."""
    n, es = fmt
    f = PositFormat(n, es)
    a, b = f.encode([x, y])
    p = P.mul(a, b, f)
    r = P.fma(a, b, P.neg(p, f), f)
    va, vb, vp = (ref.value(int(c), n, es) for c in (a, b, p))
    assert int(r) == ref.encode(va * vb - vp, n, es)


def test_special_values_in_arithmetic():
    f = PositFormat(16, 2)
    nar, one = 0x8000, 0x4000
    m1 = int(P.neg(one, f))
    assert int(P.add(nar, one, f)) == nar and int(P.mul(0, nar, f)) == nar
    assert int(P.div(one, 0, f)) == nar and int(P.div(0, 0, f)) == nar
    assert int(P.div(0, one, f)) == 0
    assert int(P.sqrt(m1, f)) == nar and int(P.sqrt(0, f)) == 0
    assert int(P.sub(one, one, f)) == 0 and int(P.add(one, m1, f)) == 0
    assert int(P.fma(one, m1, one, f)) == 0 and int(P.fma(0, nar, one, f)) == nar
    assert int(P.mul(0x7FFF, 0x7FFF, f)) == 0x7FFF  # saturates, never NaR
    assert int(P.mul(1, 1, f)) == 1                  # never underflows to zero
    assert int(P.neg(nar, f)) == nar and int(P.neg(0, f)) == 0
    assert int(P.abs(m1, f)) == one and int(P.abs(nar, f)) == nar


def test_comparisons_follow_signed_order():
    f = PositFormat(8, 2)
    c = np.arange(256)
    v = f.decode(c.astype(np.uint8))
    a, b = np.meshgrid(c, c, indexing="ij")
    cmp = P.compare(a, b, f)
    va, vb = v[a], v[b]
    real = ~np.isnan(va) & ~np.isnan(vb)
    assert np.array_equal(cmp[real], np.sign(va - vb)[real].astype(np.int8))
    # NaR equals itself and is below every real
    assert P.eq(0x80, 0x80, f) and P.lt(0x80, 0x81, f) and P.lt(0x80, 0, f)
    assert P.le(0x40, 0x40, f) and not P.lt(0x40, 0x40, f)
    assert P.to_signed(np.array([0x80, 0xFF, 0x7F]), f).tolist() == [-128, -1, 127]


# --- conversions ---------------------------------------------------------------------

@pytest.mark.parametrize("src,dst", [((16, 2), (8, 2)), ((16, 1), (8, 0)), ((12, 3), (9, 1)),
                                     ((8, 2), (16, 2)), ((8, 0), (32, 2))])
def test_convert_every_code(src, dst):
    s, d = PositFormat(*src), PositFormat(*dst)
    codes = np.arange(1 << s.bits)
    got = P.convert(codes, s, d).astype(np.int64)
    # every code: equal to encoding the exact (float64) value in the target format
    assert np.array_equal(got, d.encode(s.decode(codes.astype(s.code_dtype))).astype(np.int64))
    # a stride of codes (and both ends): the literal reference
    for c in list(range(0, 1 << s.bits, 61)) + [1, (1 << (s.bits - 1)) - 1, 1 << (s.bits - 1)]:
        v = ref.decode_posit(c, *src)
        assert got[c] == ((1 << (d.bits - 1)) if v is None else ref.encode(v, *dst)), c


def test_to_int_and_from_int():
    f = PositFormat(16, 2)
    codes = np.arange(1 << 16)
    got = P.to_int(codes, f)
    v = f.decode(codes.astype(np.uint16))
    real = ~np.isnan(v)
    # float64 holds every posit16 value and rint is exact, ties to even
    assert np.array_equal(got[real], np.clip(np.rint(v[real]), -(2.0 ** 63), 2.0 ** 63).astype(np.int64))
    assert got[~real].tolist() == [-(2 ** 63)]
    for c in list(range(0, 1 << 16, 97)) + [0x7FFF, 0x8001]:
        assert got[c] == ref.to_int_nearest_even(c, 16, 2), c
    ints = np.array([0, 1, -1, 2, 3, 1000, 12345, -99999, 2 ** 40 + 1, -(2 ** 62),
                     np.iinfo(np.int64).min, np.iinfo(np.int64).max])
    for fmt in [PositFormat(16, 2), PositFormat(32, 2), PositFormat(8, 0)]:
        got = P.from_int(ints, fmt).astype(np.int64).tolist()
        assert got == [ref.encode(int(i), fmt.bits, fmt.es) for i in ints.tolist()]
    # posit32 beyond int64 saturates
    big = refquant.format("posit32").encode([2.0 ** 100, -(2.0 ** 100), 2.5, 3.5, -2.5])
    assert P.to_int(big, "posit32").tolist() == [2 ** 63 - 1, -(2 ** 63 - 1), 2, 4, -2]
    assert P.to_int(big, "posit32", Rounding.TOWARD_ZERO).tolist()[2:] == [2, 3, -2]
    assert P.to_int(0x80000000, "posit32").tolist() == -(2 ** 63)


# --- validation ----------------------------------------------------------------------

def test_bad_parameters_and_codes():
    with pytest.raises(ValueError, match=r"bits must be an int in \[2, 32\], got 33"):
        PositFormat(33, 2)
    with pytest.raises(ValueError, match=r"bits must be an int in \[2, 32\], got 1"):
        PositFormat(1, 0)
    with pytest.raises(ValueError, match=r"es must be an int in \[0, 4\], got 5"):
        PositFormat(16, 5)
    with pytest.raises(TypeError):
        PositFormat(8.0, 2)
    f = PositFormat(8, 2)
    with pytest.raises(ValueError, match="8-bit patterns"):
        f.decode(np.array([256]))
    with pytest.raises(ValueError, match="8-bit patterns"):
        P.add(np.array([-1]), np.array([1]), f)
    with pytest.raises(TypeError):
        f.decode(np.array([1.0]))
    with pytest.raises(TypeError):
        P.add(1, 2, "int8")
    with pytest.raises(ValueError, match="rounding"):
        f.encode([1.0], rounding="sideways")
    with pytest.raises(TypeError):
        f.encode([1.0], overflow="wrap")


def test_python_and_compiled_paths_agree():
    x = np.array([1.0, -3.3, 1e-9, 7e20, 0.0, np.nan])
    for n, es in [(8, 2), (32, 2)]:
        a = np.empty(x.size, dtype=np.int64)
        b = np.empty(x.size, dtype=np.int64)
        K.encode(x.view(np.int64), n, es, n - 1, 0, 0, 0, a)
        K.encode.py_func(x.view(np.int64), n, es, n - 1, 0, 0, 0, b)
        assert np.array_equal(a, b)
        c = np.empty(x.size, dtype=np.int64)
        K.mul.py_func(a, a[::-1].copy(), n, es, n - 1, 0, 0, c)
        d = np.empty(x.size, dtype=np.int64)
        K.mul(a, a[::-1].copy(), n, es, n - 1, 0, 0, d)
        assert np.array_equal(c, d)


@pytest.mark.parametrize("n,es,rs", [(16, 2, 15), (32, 2, 31), (8, 0, 7), (16, 0, 5)])
def test_vectorised_nearest_encode_matches_general_path(n, es, rs):
    # Nearest-even encode runs a branch-free pass per chunk of 4096 and redoes only the
    # zero / subnormal / inf / NaN inputs; the result must equal the general per-element
    # path everywhere, including those inputs at chunk edges, ties and out-of-range values.
    rng = np.random.default_rng(5)
    size = 3 * 4096 + 17
    x = rng.standard_normal(size) * np.exp2(rng.integers(-140, 140, size))
    v = np.empty(1 << min(n, 12))
    K.decode(np.arange(v.size, dtype=np.int64) << (n - min(n, 12)), n, es, rs, v.view(np.int64))
    v = np.sort(v[np.isfinite(v)])
    ties = (v[1:] + v[:-1]) / 2
    x[:ties.size] = ties
    x[ties.size:2 * ties.size] = np.nextafter(ties, np.inf)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -2.2e-308, 1e300, -1e-300]
    for at in (0, 4095, 4096, 8191, 9000, size - 1):
        x[at:at + len(special)] = special[:size - at]
    xb = x.view(np.int64)
    got = np.empty(size, dtype=np.int64)
    K.encode(xb, n, es, rs, 0, 0, 0, got)
    want = [K._encode_one(b, n, es, rs, 0, 0, 0, i) for i, b in enumerate(xb)]
    assert got.tolist() == want
    for i in range(0, size, 97):
        if np.isfinite(x[i]):
            assert got[i] == ref.encode(Fraction(float(x[i])), n, es, rs)


def test_quantize_with_posits():
    x = np.random.default_rng(3).standard_normal(4096)
    q = refquant.quantize(x, "posit8")
    y = q.dequantize()
    sqnr = 10 * np.log10(np.sum(x ** 2) / np.sum((x - y) ** 2))
    assert q.codes.dtype == np.uint8 and sqnr > 30.0
    assert float(q.scale) == pytest.approx(np.abs(x).max() / 16.0, rel=1e-6)

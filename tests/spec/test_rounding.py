"""Rounding kernels (refquant.kernels.rounding) against the exact Fraction reference:
every mode, ties, negatives, stochastic reproducibility, order independence and
unbiasedness, and the vectorised fast path of the affine quantizer."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant import Rounding
from refquant.kernels import rounding as K
from reference import rounding as ref

MODES = list(range(7))
DET_MODES = list(range(6))
i62 = st.integers(-(1 << 62), (1 << 62) - 1)


def _shift(x, k, mode, seed=0):
    x = np.asarray(x, dtype=np.int64)
    out = np.empty_like(x)
    K.shift_right_round(x, np.broadcast_to(np.asarray(k, dtype=np.int64), x.shape).copy(),
                        mode, seed, out)
    return out


def _div(n, d, mode, seed=0):
    n = np.asarray(n, dtype=np.int64)
    out = np.empty_like(n)
    K.divide_round(n, np.broadcast_to(np.asarray(d, dtype=np.int64), n.shape).copy(), mode,
                   seed, out)
    return out


def test_enum_values_are_the_kernel_codes():
    assert [int(m) for m in Rounding] == MODES
    assert [m.name for m in Rounding] == ["NEAREST_EVEN", "NEAREST_AWAY", "NEAREST_UP",
                                          "TOWARD_ZERO", "DOWN", "UP", "STOCHASTIC"]


# -2.5 .. 2.5 in halves under each deterministic mode (the IEEE 754 / C table).
@pytest.mark.parametrize("mode,expected", [
    (0, [-2, -2, -2, -1, 0, 0, 0, 1, 2, 2, 2]),   # half to even
    (1, [-3, -2, -2, -1, -1, 0, 1, 1, 2, 2, 3]),  # half away
    (2, [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]),   # half up
    (3, [-2, -2, -1, -1, 0, 0, 0, 1, 1, 2, 2]),   # toward zero
    (4, [-3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2]),  # floor
    (5, [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]),   # ceil
])
def test_halves_table(mode, expected):
    halves = np.arange(-5, 6, dtype=np.int64)  # v = halves / 2: -2.5 .. 2.5
    assert _shift(halves, 1, mode).tolist() == expected
    assert _div(halves, 2, mode).tolist() == expected
    out = np.empty(11)
    K.round_float_to_int(halves / 2.0, mode, 0, out)
    assert out.tolist() == expected


@settings()
@given(st.lists(i62, min_size=1, max_size=30), st.integers(0, 62), st.sampled_from(MODES),
       st.integers(0, 2**31))
def test_shift_right_round_matches_reference(xs, k, mode, seed):
    if mode == 6:
        k = min(k, 53)  # the probability rem / 2^k is exact in float64
    got = _shift(xs, k, mode, seed)
    assert got.tolist() == [ref.shift_right_round(x, k, mode, seed, i) for i, x in enumerate(xs)]


@settings()
@given(st.lists(st.integers(-(1 << 52), 1 << 52), min_size=1, max_size=30),
       st.integers(1, 1 << 20), st.sampled_from(MODES), st.integers(0, 2**31))
def test_divide_round_matches_reference(ns, d, mode, seed):
    got = _div(ns, d, mode, seed)
    assert got.tolist() == [ref.divide_round(n, d, mode, seed, i) for i, n in enumerate(ns)]


def test_divide_round_exact_ties_and_negatives():
    n = np.array([-7, -5, -3, -1, 1, 3, 5, 7, -9, 9], dtype=np.int64)
    for mode in DET_MODES:
        assert _div(n, 2, mode).tolist() == [ref.divide_round(v, 2, mode) for v in n]
        assert _div(n * 3, 6, mode).tolist() == [ref.divide_round(v * 3, 6, mode) for v in n]


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings()
@given(st.lists(finite, min_size=1, max_size=20), st.sampled_from(MODES), st.integers(0, 1000))
def test_round_float_to_int_matches_reference(xs, mode, seed):
    x = np.array(xs)
    out = np.empty_like(x)
    K.round_float_to_int(x, mode, seed, out)
    exp = [ref.round_float(v, mode, seed, i) for i, v in enumerate(xs)]
    assert out.tolist() == exp


def test_round_float_to_int_nonfinite_passthrough():
    x = np.array([np.nan, np.inf, -np.inf, 0.5])
    out = np.empty_like(x)
    K.round_float_to_int(x, 0, 0, out)
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == -np.inf and out[3] == 0.0


def test_uniform53_matches_reference_and_range():
    for seed in (0, 1, 12345, 2**40 + 7):
        for i in (0, 1, 2, 1000, 2**33):
            u = K.uniform53(seed, i)
            assert u == ref.uniform53(seed, i)
            assert 0 <= u < 2**53


def test_stochastic_reproducible_and_order_independent():
    x = np.arange(-500, 500, dtype=np.int64) * 37 + 11
    a = _shift(x, 5, 6, seed=99)
    assert (a == _shift(x, 5, 6, seed=99)).all()
    assert (a != _shift(x, 5, 6, seed=100)).any()
    # element i depends only on (seed, i): a computed piece equals the full result when
    # the piece is placed at the same indices (here: reversed input, reversed index map)
    perm = np.random.default_rng(0).permutation(x.size)
    full = np.empty_like(x)
    K.shift_right_round(x, np.full(x.size, 5, np.int64), 6, 99, full)
    assert all(full[i] == ref.shift_right_round(int(x[i]), 5, 6, 99, int(i)) for i in perm[:50])


def test_stochastic_unbiased_in_expectation():
    # v = 3 + 3/8 many times: E[result] = 3.375; the error of the mean is <= 4 sigma.
    n = 200_000
    x = np.full(n, 27, dtype=np.int64)  # 27 / 8
    r = _shift(x, 3, 6, seed=7)
    assert set(np.unique(r).tolist()) == {3, 4}
    sigma = np.sqrt(0.375 * 0.625 / n)
    assert abs(r.mean() - 3.375) < 4 * sigma
    xf = np.full(n, -2.7)
    out = np.empty(n)
    K.round_float_to_int(xf, 6, 3, out)
    assert abs(out.mean() + 2.7) < 4 * np.sqrt(0.7 * 0.3 / n)


# ----- exact real quotient x / s -------------------------------------------------------

pos_scale = st.floats(min_value=1e-30, max_value=1e30, allow_nan=False, allow_infinity=False)


@settings()
@given(finite.filter(lambda v: abs(v) < 1e300), pos_scale, st.sampled_from(MODES))
def test_round_quotient_matches_reference(x, s, mode):
    q = Fraction(x) / Fraction(s)
    if abs(q) >= 2**52:
        return
    got = K.round_quotient(x, s, mode, 5, 3)
    if mode == 6:
        assert got in (np.floor(float(q)), np.floor(float(q)) + 1)
    else:
        assert got == ref.round_fraction(q, mode)


def test_round_quotient_exact_ties_float_quotient_would_miss():
    # x / s is a tie in reals but fl(x / s) is not, and vice versa.
    rng = np.random.default_rng(1)
    for _ in range(2000):
        s = float(np.float32(rng.uniform(0.01, 10)))
        k = int(rng.integers(-1000, 1000))
        x = (k + 0.5) * s  # rounded product: near a tie
        for mode in DET_MODES:
            assert K.round_quotient(x, s, mode, 0, 0) == ref.round_fraction(
                Fraction(x) / Fraction(s), mode)


def _quant3(x, s, z, lo, hi, mode, compat=0, overflow=0, block=None, seed=0):
    x3 = np.ascontiguousarray(x).reshape(1, -1, 1)
    s3 = np.full((1, 1, 1), float(s))
    z3 = np.full((1, 1, 1), int(z), dtype=np.int64)
    out = np.empty(x3.shape, dtype=np.int64)
    stop = K.quantize_affine(x3, s3, z3, x3.shape[1], float(lo), float(hi), mode, seed,
                             compat, overflow, 0, out)
    return stop, out.reshape(-1)


@settings()
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=40), pos_scale.filter(lambda s: 1e-3 < s < 1e3),
       st.integers(-128, 127), st.sampled_from(MODES), st.sampled_from(["exact", "onnx", "torch"]),
       st.sampled_from(["saturate", "wrap"]), st.integers(0, 50))
def test_quantize_affine_matches_reference(xs, s, z, mode, compat, overflow, seed):
    if compat != "exact":
        xs = [float(np.float32(v)) for v in xs]
        s = float(np.float32(s))
    cmap = {"exact": 0, "onnx": 1, "torch": 2}
    stop, got = _quant3(np.array(xs), s, z, -128, 127, mode, cmap[compat],
                        0 if overflow == "saturate" else 1, seed=seed)
    assert stop == -1
    exp = [ref.quantize_affine(v, s, z, -128, 127, mode, compat, overflow, seed, i)
           for i, v in enumerate(xs)]
    assert got.tolist() == exp


def test_quantize_affine_raise_and_nonfinite_stop_index():
    stop, _ = _quant3(np.array([0.0, 1.0, 500.0, 2.0]), 1.0, 0, -128, 127, 0, overflow=2)
    assert stop == 2
    stop, _ = _quant3(np.array([0.0, np.nan, 2.0]), 1.0, 0, -128, 127, 0)
    assert stop == 1


def test_python_and_compiled_paths_agree():
    x = np.array([-7, -6, -5, -3, 3, 5, 6, 7, 1 << 40], dtype=np.int64)
    for mode in DET_MODES:
        a = np.empty_like(x)
        b = np.empty_like(x)
        K.shift_right_round(x, np.full(x.size, 2, np.int64), mode, 0, a)
        K.shift_right_round.py_func(x, np.full(x.size, 2, np.int64), mode, 0, b)
        assert (a == b).all()


# ----- WRAP of integral quotients of any magnitude -------------------------------------

WRAP_T = [0.0, 1.0, -1.0, 255.0, 256.0, -129.0, 2.0 ** 52, 2.0 ** 53 + 2, 2.0 ** 63, -2.0 ** 63,
          2.0 ** 64, 1e30, -1e30, 3.0 * 2 ** 80 + 2 ** 29, 1.7976931348623157e308,
          -1.7976931348623157e308]


@pytest.mark.parametrize("lo,hi", [(-128, 127), (0, 255), (-127, 127), (-2 ** 31, 2 ** 31 - 1),
                                   (0, 2 ** 32 - 1), (-8, 7), (-1, 0)])
@pytest.mark.parametrize("z", [0, 3, -100])
def test_wrap_integral_is_exact_modulo(lo, hi, z):
    m = hi - lo + 1
    for t in WRAP_T:
        exp = (int(t) + z - lo) % m + lo
        assert K.wrap_integral(t, z, lo, m) == exp, t
        py = getattr(K.wrap_integral, "py_func", K.wrap_integral)  # NUMBA_DISABLE_JIT=1
        assert py(t, z, lo, m) == exp, t


def test_quantize_affine_wraps_huge_values_exactly():
    """s = 1: the quotient is the (integral) input itself, of any magnitude."""
    xs = np.array(WRAP_T)
    for lo, hi in ((-128, 127), (0, 255), (-32768, 32767), (-2 ** 31, 2 ** 31 - 1)):
        stop, got = _quant3(xs, 1.0, 0, lo, hi, 0, overflow=1)
        assert stop == -1
        assert got.tolist() == [(int(t) - lo) % (hi - lo + 1) + lo for t in WRAP_T]
        stop, got = _quant3(xs, 1.0, 5, lo, hi, 0, compat=1, overflow=1)
        with np.errstate(over="ignore"):  # the float32 image of a huge float64 is inf
            assert stop == -1 or not np.isfinite(np.float32(xs[stop]))


def test_quantize_affine_wrap_stops_at_a_float32_quotient_that_overflows():
    # compat 1 (float32 x / s): 1e39 is inf in float32, so there is no integer to wrap
    stop, _ = _quant3(np.array([1.0, 1e39, 2.0]), 1.0, 0, -128, 127, 0, compat=1, overflow=1)
    assert stop == 1
    stop, out = _quant3(np.array([1.0, 1e39, 2.0]), 1.0, 0, -128, 127, 0, compat=0, overflow=1)
    assert stop == -1 and out.tolist() == [1, (int(1e39) + 128) % 256 - 128, 2]
    # compat 0: x / s beyond float64 stops too (refquant.integer._affine computes it exactly)
    stop, _ = _quant3(np.array([1.0, 1e308]), 1e-10, 0, -128, 127, 0, compat=0, overflow=1)
    assert stop == 1

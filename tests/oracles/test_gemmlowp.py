"""gemmlowp / TFLite fixed-point functions against a slow transcription of the published
algorithms (tests/reference/intops.py), including INT32_MIN * INT32_MIN and negative ties."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant import intops as I
from reference import intops as ref

i32 = st.integers(ref.INT32_MIN, ref.INT32_MAX)
MIN, MAX = ref.INT32_MIN, ref.INT32_MAX


def test_srdhm_worked_examples():
    a = [MIN, MIN, MAX, MAX, 1 << 30, -(1 << 30), 3, -3, 1, -1, MIN]
    b = [MIN, MAX, MAX, MIN, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1]
    got = I.saturating_rounding_doubling_high_mul(a, b).tolist()
    assert got == [MAX, -MAX, MAX - 1, -MAX, 1 << 29, -(1 << 29), 2, -1, 1, 0, -1]
    # 2 * 3 * 2^30 / 2^32 = 1.5 -> 2 but -1.5 -> -1, 0.5 -> 1 but -0.5 -> 0: ties toward +inf
    assert got == [ref.srdhm(x, y) for x, y in zip(a, b)]
    assert I.saturating_rounding_doubling_high_mul(MIN, MIN).dtype == np.int32


def test_rdbpot_negative_ties_go_away_from_zero():
    x = [5, -5, 6, -6, 7, -7, -1, 1, MIN, MAX, -12, 12]
    e = [1, 1, 2, 2, 1, 1, 1, 1, 31, 31, 3, 3]
    got = I.rounding_divide_by_pot(x, e).tolist()
    assert got == [3, -3, 2, -2, 4, -4, -1, 1, -1, 1, -2, 2]
    assert got == [ref.rdbpot(v, k) for v, k in zip(x, e)]


@settings()
@given(st.lists(st.tuples(i32, i32), min_size=1, max_size=50))
def test_srdhm_matches_transcription(pairs):
    a, b = map(list, zip(*pairs))
    assert I.saturating_rounding_doubling_high_mul(a, b).tolist() == [ref.srdhm(x, y) for x, y in pairs]


@settings()
@given(st.lists(st.tuples(i32, st.integers(0, 31)), min_size=1, max_size=50))
def test_rdbpot_matches_transcription(pairs):
    x, e = map(list, zip(*pairs))
    assert I.rounding_divide_by_pot(x, e).tolist() == [ref.rdbpot(v, k) for v, k in pairs]


multipliers = st.one_of(st.floats(min_value=0, max_value=1e10, allow_nan=False),
                        st.floats(min_value=1e-12, max_value=2.0),
                        st.sampled_from([0.0, 1.0, 0.5, 2.0 ** -31, 2.0 ** -32, 1 - 2 ** -33,
                                         2.0 ** 31, 0.999999999953]))


@settings()
@given(st.lists(multipliers, min_size=1, max_size=20), st.booleans())
def test_quantize_multiplier_matches_transcription(ms, single):
    q, s = I.quantize_multiplier(ms, single_rounding=single)
    exp = [ref.quantize_multiplier(m, single) for m in ms]
    assert list(zip(q.tolist(), s.tolist())) == exp
    assert q.dtype == np.int32 and s.dtype == np.int32


def test_quantize_multiplier_worked_examples():
    q, s = I.quantize_multiplier([0.5, 1.0, 0.75, 1 - 2 ** -33, 2.0 ** -40, 0.0])
    assert q.tolist() == [1 << 30, 1 << 30, 3 << 29, 1 << 30, 0, 0]
    assert s.tolist() == [0, 1, 0, 1, 0, 0]  # 1 - 2^-33 rounds up to 2^31 and renormalises


@settings()
@given(st.lists(st.tuples(i32, st.integers(0, MAX), st.integers(-31, 31)), min_size=1, max_size=40))
def test_mbqm_double_rounding_matches_transcription(items):
    x, q, s = map(list, zip(*items))
    got = I.multiply_by_quantized_multiplier(x, q, s).tolist()
    assert got == [ref.mbqm(a, b, c) for a, b, c in items]


@settings()
@given(st.lists(st.tuples(st.integers(-(1 << 20), 1 << 20), st.integers(1 << 30, MAX),
                          st.integers(-31, 0)), min_size=1, max_size=40))
def test_mbqm_single_rounding_matches_transcription(items):
    x, q, s = map(list, zip(*items))
    got = I.multiply_by_quantized_multiplier(x, q, s, single_rounding=True).tolist()
    assert got == [ref.mbqm(a, b, c, True) for a, b, c in items]


def test_mbqm_ties_in_both_builds():
    x = np.arange(-1000, 1001)
    q, s = I.quantize_multiplier(0.3)
    d = I.multiply_by_quantized_multiplier(x, q, s)
    assert np.abs(d - np.round(x * 0.3)).max() <= 1
    # m = 1/2: q = 2^30, shift 0. SRDHM rounds the tie -1.5 up to -1; single rounding too
    q, s = I.quantize_multiplier(0.5)
    assert (q, s) == (1 << 30, 0)
    xs = np.array([-3, -1, 1, 3])
    assert I.multiply_by_quantized_multiplier(xs, q, s).tolist() == [-1, 0, 1, 2]
    assert I.multiply_by_quantized_multiplier(xs, q, s, single_rounding=True).tolist() == [-1, 0, 1, 2]
    # m = 1/4: the double-rounding build's final RDBPOT rounds -1/2 away to -1; single: 0
    q, s = I.quantize_multiplier(0.25)
    xs = np.array([-2, 2, -6, 6])
    assert I.multiply_by_quantized_multiplier(xs, q, s).tolist() == [-1, 1, -2, 2]
    assert I.multiply_by_quantized_multiplier(xs, q, s, single_rounding=True).tolist() == [0, 1, -1, 2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="exponent"):
        I.rounding_divide_by_pot(1, 32)
    with pytest.raises(ValueError, match=r"a must be in \[-2147483648, 2147483647\], got 2147483648"):
        I.saturating_rounding_doubling_high_mul(1 << 31, 1)
    with pytest.raises(ValueError, match="shift"):
        I.multiply_by_quantized_multiplier(1, 1 << 30, 31, single_rounding=True)
    with pytest.raises(ValueError, match="m must be"):
        I.quantize_multiplier(-1.0)
    with pytest.raises(TypeError):
        I.rounding_divide_by_pot(1.5, 1)
    with pytest.raises(OverflowError):
        I.multiply_by_quantized_multiplier(MAX, MAX, 30, single_rounding=True)

"""I-BERT integer kernels (refquant.intops.i_*) == the slow Python-int transcription of the
paper's algorithms (tests/reference/ibert.py), bit for bit, over Hypothesis-drawn codes and
scales; the integer path alone (raw kernels on ints, compiled and pure Python) gives the
result; bad input raises naming the parameter."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant import intops as I
from refquant.integer import _ibert
from refquant.kernels import ibert as K
from reference import ibert as ref

scales = st.floats(min_value=2.0 ** -12, max_value=0.5, allow_nan=False, allow_infinity=False)
small_scales = st.floats(min_value=2.0 ** -20, max_value=0.6, allow_nan=False)
codes8 = st.lists(st.integers(-128, 127), min_size=1, max_size=40)
codes32 = st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=1, max_size=40)


@settings()
@given(codes32, scales, st.sampled_from([(0.3585, 1.353, 0.344), (-0.2888, -1.769, 1),
                                         (2, -3, 0.5), (1e-3, 7.25, -2)]))
def test_i_poly_equals_reference(q, S, abc):
    a, b, c = abc
    got, s_out = I.i_poly(q, S, a, b, c)
    fa, fb, fc = (Fraction(repr(v)) if isinstance(v, float) else Fraction(v) for v in abc)
    want = [ref.poly(v, Fraction(S), fa, fb, fc)[0] for v in q]
    assert got.tolist() == want
    assert s_out == float(fa * Fraction(S) ** 2)


@settings()
@given(codes32, scales)
def test_i_erf_equals_reference(q, S):
    got, s_out = I.i_erf(q, S)
    want = [ref.erf(v, Fraction(S)) for v in q]
    assert got.tolist() == [-w[0] for w in want]
    assert s_out == float(-want[0][1]) > 0


@settings()
@given(codes8, scales)
def test_i_gelu_equals_reference(q, S):
    got, s_out = I.i_gelu(q, S, out_bits=64)
    want = [ref.gelu(v, Fraction(S)) for v in q]
    assert got.tolist() == [-w[0] for w in want]
    assert s_out == float(-want[0][1]) > 0


@settings()
@given(st.lists(st.integers(-(1 << 31), 0), min_size=1, max_size=40), small_scales)
def test_i_exp_equals_reference(q, S):
    try:
        got, s_out = I.i_exp(q, S)
    except ValueError as exc:          # only scales too small for int64 constants
        assert "too small" in str(exc)
        return
    want = [ref.exp(v, Fraction(S)) for v in q]
    assert got.tolist() == [w[0] for w in want]
    assert s_out == float(want[0][1])


@settings()
@given(st.lists(st.integers(0, (1 << 63) - 1), min_size=1, max_size=40))
def test_i_sqrt_equals_reference_and_isqrt(n):
    import math
    got = I.i_sqrt(n).tolist()
    assert got == [ref.isqrt_newton(v) for v in n] == [math.isqrt(v) for v in n]


def test_i_sqrt_edges():
    n = [0, 1, 2, 3, 4, 8, 9, 15, 16, 17, (1 << 62), (1 << 63) - 1, 2 ** 62 - 1]
    import math
    assert I.i_sqrt(n).tolist() == [math.isqrt(v) for v in n]


@settings()
@given(st.integers(1, 5), st.integers(1, 12), st.data(),
       st.floats(min_value=2.0 ** -14, max_value=0.5), st.integers(1, 16))
def test_i_softmax_equals_reference(rows, n, data, S, out_bits):
    q = np.array(data.draw(st.lists(st.integers(-(1 << 20), 1 << 20), min_size=rows * n,
                                    max_size=rows * n))).reshape(rows, n)
    got, s_out = I.i_softmax(q, S, out_bits=out_bits)
    want = [ref.softmax_row(r, Fraction(S), out_bits) for r in q.tolist()]
    assert got.tolist() == want and s_out == 2.0 ** -out_bits


def test_i_softmax_axis():
    q = np.arange(24).reshape(2, 3, 4) * 37 % 11
    a, _ = I.i_softmax(q, 0.1, axis=1)
    assert np.array_equal(I.i_softmax(q.astype(np.int32), 0.1, axis=1)[0], a)
    b, _ = I.i_softmax(np.moveaxis(q, 1, -1), 0.1)
    assert np.array_equal(a, np.moveaxis(b, -1, 1))


@settings()
@given(st.integers(1, 4), st.integers(1, 16), st.data(), st.integers(0, 20))
def test_i_layernorm_equals_reference(rows, n, data, k):
    q = data.draw(st.lists(st.integers(-(1 << 15), (1 << 15) - 1), min_size=rows * n,
                           max_size=rows * n))
    g = data.draw(st.lists(st.integers(-127, 127), min_size=n, max_size=n))
    b = data.draw(st.lists(st.integers(-(1 << 20), 1 << 20), min_size=n, max_size=n))
    arr = np.array(q).reshape(rows, n)
    got, s_out = I.i_layernorm(arr, 0.01, g, b, gamma_scale=0.02, frac_bits=k)
    want = [ref.layernorm_row(r, k, g, b) for r in arr.tolist()]
    assert got.tolist() == want
    assert s_out == float(np.sqrt(n) * 2.0 ** -k * 0.02)


# ----- the integer path alone ------------------------------------------------------------

def test_kernels_are_integer_only_compiled_and_python_agree():
    """The raw kernels take int64 codes and int64 constants; their pure-Python bodies
    (Python ints throughout) give the same result as the compiled ones."""
    S = Fraction(0.01)
    qb, qc, _ = _ibert._erf_consts(S, True)
    q1 = _ibert._floor(1 / _ibert._erf_consts(S, True)[2])
    q = np.arange(-300, 300, 7, dtype=np.int64)
    out_c = np.empty_like(q)
    K.i_gelu(q, np.int64(qb), np.int64(qc), np.int64(q1), out_c)
    out_p = np.zeros(q.size, dtype=object)
    K.i_gelu.py_func(np.array(q.tolist(), dtype=object), int(qb), int(qc), int(q1), out_p)
    assert out_c.tolist() == out_p.tolist()
    assert all(type(v) is int for v in out_p)
    qln2, qb, qc, _ = _ibert._exp_consts(S)
    qn = -np.arange(0, 5000, 13, dtype=np.int64)
    out_c = np.empty_like(qn)
    K.i_exp(qn, np.int64(qln2), np.int64(qb), np.int64(qc), out_c)
    assert out_c.tolist() == [ref.exp(int(v), S)[0] for v in qn]
    assert all(isinstance(v, int) for v in (qb, qc, q1, qln2))


# ----- bad input -----------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_scale(bad):
    for f in (lambda: I.i_gelu([1], bad), lambda: I.i_exp([0], bad),
              lambda: I.i_softmax([[0, 1]], bad), lambda: I.i_layernorm([[1, 2]], bad),
              lambda: I.i_erf([1], bad), lambda: I.i_poly([1], bad, 1, 1, 1)):
        with pytest.raises(ValueError, match="scale"):
            f()


def test_codes_outside_declared_width():
    with pytest.raises(ValueError, match="codes"):
        I.i_gelu([128], 0.05)                       # bits=8 by default
    with pytest.raises(ValueError, match="codes"):
        I.i_softmax([[1 << 31]], 0.01)
    with pytest.raises(ValueError, match="codes"):
        I.i_layernorm([[1 << 15, 0]], 1.0)           # bits=16
    with pytest.raises(ValueError, match="codes must be <= 0"):
        I.i_exp([1], 0.1)
    with pytest.raises(ValueError, match="n must be"):
        I.i_sqrt([-1])
    with pytest.raises(TypeError, match="codes"):
        I.i_gelu([0.5], 0.05)


def test_output_width_too_small_names_out_bits():
    with pytest.raises(ValueError, match=r"out_bits=16 cannot hold i_gelu's output.*needs \d+"):
        I.i_gelu([1], 0.05, out_bits=16)
    with pytest.raises(ValueError, match="out_bits=8 cannot hold i_exp"):
        I.i_exp([0], 0.01, out_bits=8)
    with pytest.raises(ValueError, match="out_bits=16 cannot hold i_layernorm"):
        I.i_layernorm([[1, 2]], 1.0, frac_bits=14, out_bits=16)
    with pytest.raises(ValueError, match="out_bits"):
        I.i_softmax([[1, 2]], 0.1, out_bits=31)
    with pytest.raises(ValueError, match="bits=31 too wide"):
        I.i_layernorm([[1, 2]], 1.0, bits=31)
    with pytest.raises(ValueError, match="too small"):
        I.i_exp([0], 1e-12)
    with pytest.raises(ValueError, match="scale must be <= ln 2"):
        I.i_softmax([[0, 1]], 0.9)

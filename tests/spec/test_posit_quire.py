"""The quire: fused dot products and matrix products are the exact sum rounded once."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refquant
from refquant import posit as P
from refquant.posit import (PositFormat, quire_bits, quire_dot, quire_limbs, quire_lsb_exponent,
                            quire_matmul)
from reference import posit as ref

FORMATS = [(8, 2), (16, 2), (32, 2), (16, 1), (8, 0), (12, 4), (32, 4)]


def test_quire_geometry_follows_the_standard():
    for n in (8, 16, 32):
        f = PositFormat(n, 2)
        assert quire_bits(f) == 16 * n
        assert quire_lsb_exponent(f) == 16 - 8 * n
    assert quire_bits("posit16_1") == 4 * 28 + 32
    assert quire_lsb_exponent("posit16_1") == -56
    assert quire_limbs("posit32") == 16 + 3


def _codes(n):
    return st.integers(0, (1 << n) - 1).filter(lambda c: c != 1 << (n - 1))


@settings()
@given(st.sampled_from(FORMATS).flatmap(
    lambda f: st.tuples(st.just(f), st.lists(st.tuples(_codes(f[0]), _codes(f[0])),
                                             min_size=0, max_size=24))))
def test_quire_dot_is_exact_sum_rounded_once(args):
    (n, es), pairs = args
    f = PositFormat(n, es)
    a = np.array([p[0] for p in pairs], dtype=f.code_dtype)
    b = np.array([p[1] for p in pairs], dtype=f.code_dtype)
    got = quire_dot(a, b, f)
    assert got.dtype == f.code_dtype
    assert int(got) == ref.dot(a.tolist(), b.tolist(), n, es)


@settings()
@given(st.sampled_from(FORMATS), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=12),
       st.floats(1e3, 1e12))
def test_catastrophic_cancellation(fmt, xs, big):
    """[x..., B, -B, ...] . [1..., B, B, ...]: the huge terms cancel exactly in the quire
    while a naive posit accumulation loses the small ones."""
    n, es = fmt
    f = PositFormat(n, es)
    a = f.encode(np.array(xs + [big, -big]))
    one = f.encode([1.0])[0]
    b = np.concatenate([np.full(len(xs), one), f.encode([big, big])]).astype(f.code_dtype)
    got = int(quire_dot(a, b, f))
    assert got == ref.dot(a.tolist(), b.tolist(), n, es)
    small = ref.dot(a[:-2].tolist(), b[:-2].tolist(), n, es)
    assert got == small


def test_cancellation_beats_naive_accumulation():
    f = refquant.format("posit16")
    x = np.array([2.0 ** 40, 1.0, -(2.0 ** 40), 0.5])
    a = f.encode(x)
    b = f.encode(np.ones(4))
    assert f.decode(quire_dot(a, b, f)) == 1.5
    acc = np.array(0, dtype=np.uint16)
    for i in range(4):
        acc = P.fma(a[i], b[i], acc, f)
    assert f.decode(acc) == 0.5  # the 1.0 was absorbed by 2^40


def test_nar_propagates_and_empty_is_zero():
    f = PositFormat(16, 2)
    a = np.array([0x4000, 0x8000, 0x4000], dtype=np.uint16)
    b = np.array([0x4000, 0x0000, 0x4000], dtype=np.uint16)
    assert int(quire_dot(a, b, f)) == 0x8000
    assert int(quire_dot(np.zeros(0, np.uint16), np.zeros(0, np.uint16), f)) == 0
    A = np.array([[0x4000, 0x4000], [0x8000, 0x4000]], dtype=np.uint16)
    B = np.array([[0x4000], [0x4000]], dtype=np.uint16)
    assert quire_matmul(A, B, f).tolist() == [[0x4800], [0x8000]]  # 2.0 and NaR


def test_extreme_products_and_long_sums():
    for n in (8, 16, 32):
        f = PositFormat(n, 2)
        maxpos, minpos = (1 << (n - 1)) - 1, 1
        k = 1000
        # k * maxpos^2 saturates; k * minpos^2 rounds to minpos; a maxpos^2 - maxpos^2 + minpos^2
        assert int(quire_dot(np.full(k, maxpos), np.full(k, maxpos), f)) == maxpos
        assert int(quire_dot(np.full(k, minpos), np.full(k, minpos), f)) == minpos
        m = (-maxpos) & ((1 << n) - 1)
        a = np.array([maxpos, m, minpos])
        b = np.array([maxpos, maxpos, minpos])
        assert int(quire_dot(a, b, f)) == minpos
        assert int(quire_dot(a[:2], b[:2], f)) == 0


@settings()
@given(st.sampled_from([(8, 2), (16, 2), (32, 2)]), st.integers(1, 4), st.integers(1, 6),
       st.integers(1, 4), st.integers(0, 2 ** 31))
def test_matmul_entries_are_quire_dots(fmt, m, k, nn, seed):
    n, es = fmt
    f = PositFormat(n, es)
    rng = np.random.default_rng(seed)
    A = f.encode(rng.standard_normal((m, k)) * np.exp2(rng.integers(-8, 8, (m, k))))
    B = f.encode(rng.standard_normal((k, nn)))
    C = quire_matmul(A, B, f)
    assert C.shape == (m, nn) and C.dtype == f.code_dtype
    for i in range(m):
        for j in range(nn):
            assert int(C[i, j]) == ref.dot(A[i].tolist(), B[:, j].tolist(), n, es)


def test_quire_directed_rounding():
    f = PositFormat(8, 2)
    a = f.encode([1.0, 2.0 ** -10])
    b = f.encode([1.0, 1.0])
    # 1 + 2^-10 lies between 0x40 (1) and 0x41 (1.125)
    assert int(quire_dot(a, b, f)) == 0x40
    assert int(quire_dot(a, b, f, "UP")) == 0x41
    assert int(quire_dot(a, b, f, "TOWARD_ZERO")) == 0x40


def test_bad_arguments():
    f = PositFormat(8, 2)
    with pytest.raises(ValueError, match="equal length"):
        quire_dot(np.zeros(3, np.uint8), np.zeros(4, np.uint8), f)
    with pytest.raises(ValueError, match="8-bit patterns"):
        quire_dot(np.array([300]), np.array([1]), f)
    with pytest.raises(ValueError, match="A.shape"):
        quire_matmul(np.zeros((2, 3), np.uint8), np.zeros((2, 3), np.uint8), f)
    with pytest.raises(TypeError):
        quire_dot(np.zeros(2, np.uint8), np.zeros(2, np.uint8), "int8")


def test_fraction_reference_agrees_on_a_known_sum():
    f = PositFormat(32, 2)
    x = [0.1, 0.2, 0.3, -0.6]
    a = f.encode(x)
    b = f.encode([1.0] * 4)
    exact = sum(Fraction(float(v)) for v in f.decode(a))
    assert int(quire_dot(a, b, f)) == ref.encode(exact, 32, 2)

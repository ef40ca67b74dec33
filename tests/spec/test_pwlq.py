"""Specification of piecewise linear quantization (refquant.pow2 / PWLQFormat)."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import refquant as rq
from refquant.pow2 import PWLQFormat, pwlq_compare, pwlq_dot, pwlq_error_model
from tests.reference import pow2 as ref


def test_levels_and_layout():
    f = PWLQFormat(3, (0.25,))  # N = 3 steps per region, code = region | sign | k
    assert f.bits == 4
    want = ref.pwlq_levels(3, (0.25,))
    assert [Fraction(v) for v in f.magnitudes] == [Fraction(float(v)) for v in want]
    assert f.decode(np.array([0b0011, 0b1001, 0b1111])).tolist() == [0.25, 0.5, -1.0]
    # a breakpoint magnitude is coded in the lower region
    assert f.encode([0.25]).tolist() == [0b0011]
    assert rq.format("pwlq4_p0.3_0.6").nregions == 3


@pytest.mark.parametrize("dist", ["gaussian", "laplace"])
def test_breakpoint_exact_and_approx(dist):
    for m in (2.0, 3.0, 4.0, 6.0, 8.0, 10.0):
        p = rq.pwlq_breakpoint(m, dist)
        a = rq.pwlq_breakpoint(m, dist, method="approx")
        assert 0 < p < m
        # the exact optimum beats every grid point and the closed form
        grid = np.linspace(0.001, m - 0.001, 2001)
        e = pwlq_error_model(p, m, dist)
        assert e <= min(pwlq_error_model(float(q), m, dist) for q in grid) + 1e-12
        assert e <= pwlq_error_model(a, m, dist)
        assert abs(p - a) < 0.1 * m  # the paper's fit is close
        # the model at p = m/4 is at most 9/16 of uniform (C m^2)
        assert pwlq_error_model(m / 4, m, dist) <= 9 / 16 * m * m
    assert rq.pwlq_breakpoint(4, "gaussian", "approx") == pytest.approx(math.log(0.86143114 * 4 + 0.607901097))
    assert rq.pwlq_breakpoint(4, "laplace", "approx") == pytest.approx(0.80304483 * 2 - 0.31667855)


@pytest.mark.parametrize("dist", ["gaussian", "laplace"])
@pytest.mark.parametrize("bits", [3, 4, 6])
def test_error_below_uniform(dist, bits):
    r = np.random.default_rng(7)
    x = r.standard_normal(50_000) if dist == "gaussian" else r.laplace(size=50_000)
    c = pwlq_compare(x, bits, distribution=dist)
    assert c["ratio"] <= 9 / 16
    assert c["mse_pwlq"] < c["mse_uniform"]


@settings(max_examples=60)
@given(st.integers(2, 6), st.lists(st.floats(0.05, 0.95), min_size=1, max_size=3, unique=True),
       st.integers(1, 12), st.integers(0, 2 ** 31))
def test_dot_exact(b, bps, K, seed):
    bps = sorted(bps)
    if any(q - p < 0.01 for p, q in zip(bps, bps[1:])):
        return
    f = PWLQFormat(b, tuple(bps))
    r = np.random.default_rng(seed)
    w = r.uniform(-1.1, 1.1, size=(2, K))
    codes = f.encode(w)
    x = r.integers(-300, 300, size=K)
    got = pwlq_dot(codes, f, x).fractions()
    for m in range(2):
        region, neg, k = f.split(codes[m])
        want = sum((f.exact_value(int(j), int(s), int(q)) * int(xv)
                    for j, s, q, xv in zip(region, neg, k, x)), Fraction(0))
        assert got[m] == want
    # encode is the exact nearest level (brute force over the rational levels)
    lv = ref.pwlq_levels(b, f.breakpoints)
    for wv, c in zip(w.ravel()[:6], codes.ravel()[:6]):
        j = ref.nearest_index(Fraction(abs(float(wv))), lv)
        region, neg, k = f.split(np.array([c]))
        assert abs(f.exact_value(int(region[0]), 0, int(k[0]))) == lv[j]


def test_pwlq_errors():
    with pytest.raises(ValueError, match="breakpoints"):
        PWLQFormat(4, (0.6, 0.3))
    with pytest.raises(ValueError, match="bits"):
        PWLQFormat(9)
    with pytest.raises(ValueError, match="m="):
        rq.pwlq_breakpoint(-1.0)
    with pytest.raises(ValueError, match="distribution"):
        rq.pwlq_breakpoint(3.0, "cauchy")
    with pytest.raises(ValueError, match="method"):
        rq.pwlq_breakpoint(3.0, method="newton")
    with pytest.raises(TypeError, match="x"):
        pwlq_dot(np.array([1]), "pwlq4", np.array([0.5]))

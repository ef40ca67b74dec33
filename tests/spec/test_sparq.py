"""Specification of SPARQ trimming and its dot product (refquant.pow2.sparq)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import refquant as rq
from refquant import Rounding
from refquant.pow2 import sparq_dot
from tests.reference import pow2 as ref

OPTS = {"5opt": 5, "3opt": 3, "2opt": 2}


def _mode(rnd):
    return Rounding.NEAREST_EVEN if rnd else Rounding.TOWARD_ZERO


@pytest.mark.parametrize("window", list(OPTS))
@pytest.mark.parametrize("rnd", [False, True])
def test_window_exhaustive(window, rnd):
    a = np.arange(256)
    got = rq.sparq(a, window=window, rounding=_mode(rnd), vsparq=False)
    assert got.tolist() == [ref.sparq_window(int(v), OPTS[window], rnd) for v in a]
    # the result keeps at most 4 significant bits inside one of the window masks
    masks = {"5opt": [0xF0, 0x78, 0x3C, 0x1E, 0x0F], "3opt": [0xF0, 0x3C, 0x0F],
             "2opt": [0xF0, 0x0F]}[window]
    assert all(any((int(h) & ~m) == 0 for m in masks) for h in got)
    if not rnd:
        assert np.all(got <= a)


def test_pinned_examples():
    assert rq.sparq(np.array([200, 77, 255, 19, 9]), vsparq=False).tolist() == [192, 80, 240, 20, 9]
    assert rq.sparq(np.array([200, 77, 255, 19]), vsparq=False, rounding="toward_zero").tolist() == [192, 72, 240, 18]
    assert rq.sparq(np.array([0x5C]), window="3opt", vsparq=False).tolist() == [0x60]  # 0x50 + round
    assert rq.sparq(np.array([0x3B]), window="2opt", vsparq=False,
                    rounding=Rounding.TOWARD_ZERO).tolist() == [0x30]
    # 0x3E with 3opt: window 0x3C, round bit set and LSB set -> 0x40 overflows -> saturate
    assert rq.sparq(np.array([0x3E]), window="3opt", vsparq=False).tolist() == [0x3C]
    # vSPARQ: partner zero keeps 8 bits; the odd tail pairs with zero
    assert rq.sparq(np.array([[0, 77, 200, 19, 99]])).tolist() == [[0, 77, 192, 20, 99]]


@settings(max_examples=80)
@given(st.integers(1, 4), st.integers(1, 17), st.sampled_from(list(OPTS)), st.booleans(),
       st.booleans(), st.integers(0, 2 ** 31))
def test_dot_matches_reference(R, K, window, rnd, pair, seed):
    r = np.random.default_rng(seed)
    x = r.integers(0, 256, size=(R, K)) * (r.random((R, K)) < 0.7)
    w = r.integers(-128, 128, size=(K, 3))
    got = sparq_dot(x, w, window, _mode(rnd), pair)
    trimmed = [ref.sparq_row([int(v) for v in row], OPTS[window], rnd, pair) for row in x]
    want = [[sum(t[k] * int(w[k, c]) for k in range(K)) for c in range(3)] for t in trimmed]
    assert got.tolist() == want
    assert rq.sparq(x, window, _mode(rnd), pair).tolist() == trimmed
    if not rnd:  # truncation: DOWN is TOWARD_ZERO for these non-negative values
        assert rq.sparq(x, window, Rounding.DOWN, pair).tolist() == trimmed


def test_sparq_errors():
    with pytest.raises(ValueError, match="window"):
        rq.sparq(np.array([1]), window="4opt")
    with pytest.raises(ValueError, match="8-bit"):
        rq.sparq(np.array([256]))
    with pytest.raises(TypeError, match="values"):
        rq.sparq(np.array([1.0]))
    with pytest.raises(ValueError, match="rounding=NEAREST_AWAY; SPARQ rounds NEAREST_EVEN"):
        rq.sparq(np.array([1]), rounding=Rounding.NEAREST_AWAY)

"""Specification of signed-digit terms and term quantization (refquant.pow2)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import refquant as rq
from refquant.pow2 import term_encode, term_pair_dot, term_quantize
from tests.reference import pow2 as ref

ints = st.integers(-(2 ** 9) + 1, 2 ** 9 - 1)


def test_worked_example():
    # lecture example: binary terms, alpha = 8, g = 4
    assert term_quantize(np.array([21, 6, 17, 11]), 4, 8).tolist() == [21, 6, 16, 10]
    tq = term_quantize(np.array([21, 6, 17, 11]), 4, 8, return_terms=True)
    assert tq.count.tolist() == [3, 2, 1, 2] and int(tq.count.sum()) == 8
    assert tq.exponent[0, :3].tolist() == [4, 2, 0] and tq.sign[2].tolist()[:1] == [1]


def test_hese_examples():
    s, e, c = term_encode(np.array([6, 11, 91, -6]), "hese")
    as_terms = [[int(a) << int(b) for a, b in zip(s[i, :c[i]], e[i, :c[i]])] for i in range(4)]
    assert as_terms == [[8, -2], [8, 4, -1], [128, -32, 16, -4, -1][:0] or as_terms[2], [-8, 2]]
    assert as_terms[2] == ref.terms(91, "hese")
    # HESE is not always minimal: 91 = 1011011b has 5 HESE terms, NAF has 4
    assert rq.term_counts(np.array([91]), "hese").tolist() == [5]
    assert rq.term_counts(np.array([91]), "naf").tolist() == [4]


def test_naf_minimal_and_hese_le_binary_exhaustive():
    v = np.arange(0, 2 ** 10)
    cb = rq.term_counts(v, "binary")
    ch = rq.term_counts(v, "hese")
    cn = rq.term_counts(v, "naf")
    assert cb.tolist() == [bin(int(a)).count("1") for a in v]
    assert cn.tolist() == [ref.min_signed_digit_weight(int(a)) for a in v]
    assert np.all(ch <= cb) and np.all(cn <= ch)
    for enc in ("binary", "hese", "naf"):
        s, e, c = term_encode(v, enc)
        assert ((s << e).sum(axis=-1) == v).all()
        # largest exponent first
        assert all(list(e[i, :c[i]]) == sorted(e[i, :c[i]], reverse=True) for i in range(0, v.size, 37))
        assert [[int(a) << int(b) for a, b in zip(s[i, :c[i]], e[i, :c[i]])]
                for i in range(0, v.size, 7)] == [ref.terms(int(a), enc) for a in v[::7]]


@settings(max_examples=100)
@given(st.lists(ints, min_size=1, max_size=24), st.integers(1, 8), st.integers(0, 20),
       st.sampled_from(["binary", "hese", "naf"]))
def test_selection_matches_reference(vals, g, budget, enc):
    v = np.array(vals)
    tq = term_quantize(v, g, budget, encoding=enc, return_terms=True)
    want = []
    for i in range(0, len(vals), g):
        want += ref.term_quantize_group(vals[i:i + g], budget, enc)
    assert tq.values.tolist() == want
    # the budget is never exceeded, per group
    cnt = tq.count
    for i in range(0, len(vals), g):
        assert cnt[i:i + g].sum() <= budget
    assert ((tq.sign << tq.exponent).sum(axis=-1) == tq.values).all()
    # monotone in the budget: one more term never increases the error of any value,
    # and the selected terms of budget b are a prefix of those of budget b + 1
    more = term_quantize(v, g, budget + 1, encoding=enc)
    if enc == "binary":
        assert np.all(np.abs(v - more) <= np.abs(v - tq.values))
    total = rq.term_counts(v, enc)
    for i in range(0, len(vals), g):
        sel = min(budget, int(total[i:i + g].sum()))
        assert cnt[i:i + g].sum() == sel


def test_axis_and_per_value_budget():
    x = np.array([[21, 3], [6, 5], [17, 0], [11, 7]])
    assert term_quantize(x, 4, 8, axis=0)[:, 0].tolist() == [21, 6, 16, 10]
    # activations: g = 1, per-value budget k = 2
    assert term_quantize(np.array([7, 13, 255, 4]), 1, 2).tolist() == [6, 12, 192, 4]
    assert term_quantize(np.array([7, -13]), 1, 1, encoding="hese").tolist() == [8, -16]


@settings(max_examples=60)
@given(st.lists(st.tuples(ints, ints), min_size=1, max_size=16),
       st.sampled_from(["binary", "hese", "naf"]), st.sampled_from(["binary", "hese", "naf"]))
def test_term_pair_dot_exact(pairs, we, xe):
    w = np.array([p[0] for p in pairs])
    x = np.array([p[1] for p in pairs])
    d, n = term_pair_dot(w, x, we, xe)
    assert int(d) == sum(int(a) * int(b) for a, b in pairs)
    assert int(n) == int((rq.term_counts(w, we) * rq.term_counts(x, xe)).sum())
    W = np.stack([w, -w, w // 3])
    D, N = term_pair_dot(W, x, we, xe)
    assert D.tolist() == [int(r @ x) for r in W]


def test_term_errors():
    with pytest.raises(TypeError, match="values"):
        term_quantize(np.array([1.5]), 1, 1)
    with pytest.raises(ValueError, match="block_size"):
        term_quantize(np.array([1]), 0, 1)
    with pytest.raises(ValueError, match="budget"):
        term_quantize(np.array([1]), 1, -1)
    with pytest.raises(ValueError, match="encoding"):
        term_quantize(np.array([1]), 1, 1, encoding="booth")
    with pytest.raises(TypeError, match="x"):
        term_pair_dot(np.array([1]), np.array([0.5]))


@pytest.mark.parametrize("encoding", ["binary", "hese", "naf"])
def test_term_counts_equal_the_listed_terms(encoding):
    # the counting kernel agrees with term_encode on every 12-bit value, both signs,
    # and on the extremes of the allowed range
    v = np.concatenate([np.arange(-4096, 4097), [2 ** 61 - 1, -(2 ** 61 - 1)]]).astype(np.int64)
    assert np.array_equal(rq.term_counts(v, encoding), rq.pow2.term_encode(v, encoding)[2])
    with pytest.raises(ValueError, match="2\\^61"):
        rq.term_counts(np.array([-2 ** 63], dtype=np.int64), encoding)

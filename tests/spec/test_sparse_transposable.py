"""Transposable N:M masks: validity, optimality against brute force, the greedy rule
against its reference, the 2-approximation bound, and the quality report."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant.kernels import sparse as KS
from refquant.sparse import (is_nm, is_transposable, transposable_mask, transposable_patterns,
                             transposable_report)
from reference import sparse as ref

SMALL = [(2, 4), (1, 4), (3, 4), (1, 2), (2, 5), (1, 3)]


def _blocks(w, m):
    R, C = w.shape
    return [w[i:i + m, j:j + m] for i in range(0, R, m) for j in range(0, C, m)]


def test_pattern_counts():
    pairs, pats = transposable_patterns(2, 4)
    assert pairs.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert pats.shape == (90, 4)
    assert transposable_patterns(1, 4)[1].shape == (24, 4)   # permutations
    for p in pats:
        cols = np.zeros(4, int)
        for q in p:
            cols[pairs[q]] += 1
        assert (cols == 2).all()
    assert len({tuple(p) for p in pats.tolist()}) == 90


@settings()
@given(st.sampled_from(SMALL), st.integers(1, 2), st.integers(1, 2), st.integers(0, 2**32 - 1))
def test_optimal_matches_brute_force(nm, br, bc, seed):
    n, m = nm
    rng = np.random.default_rng(seed)
    w = rng.integers(-20, 21, (br * m, bc * m)).astype(np.float32)
    mask = transposable_mask(w, n, m)
    assert is_transposable(mask, n, m)
    assert is_nm(w * mask, n, m, axis=1) and is_nm(w * mask, n, m, axis=0)
    for wb, mb in zip(_blocks(np.abs(w), m), _blocks(mask, m)):
        assert (mb.sum(0) == n).all() and (mb.sum(1) == n).all()
        assert wb[mb].sum() == ref.transposable_optimum(wb.tolist(), n)


@settings()
@given(st.sampled_from([(2, 4), (1, 4), (3, 4), (1, 2), (1, 3)]), st.integers(0, 2**32 - 1))
def test_optimal_at_most_matches_brute_force(nm, seed):
    n, m = nm
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((m, 2 * m)) * (rng.random((m, 2 * m)) < 0.8)
    w = np.round(w * 64)                                   # exact float64 sums
    best = transposable_mask(w, n, m, "optimal_at_most")
    exact = transposable_mask(w, n, m, "optimal")
    greedy = transposable_mask(w, n, m, "greedy")
    assert is_transposable(best, n, m)
    for wb, bb, eb, gb in zip(_blocks(np.abs(w), m), _blocks(best, m), _blocks(exact, m),
                              _blocks(greedy, m)):
        assert wb[bb].sum() == ref.transposable_optimum_at_most(wb.tolist(), n)
        assert wb[bb].sum() >= max(wb[eb].sum(), wb[gb].sum())
        assert 2 * wb[gb].sum() >= wb[bb].sum()
        assert np.all(wb[bb] > 0)                          # zero-gain entries are not added


def test_at_most_can_beat_exact():
    # completing to exactly two ones per row and column forces zeros into the mask
    w = np.array([[9, 9, 5, 0],
                  [9, 9, 5, 0],
                  [5, 5, 0, 0],
                  [0, 0, 0, 0]], dtype=np.float64)
    exact = transposable_mask(w, 2, 4)
    best = transposable_mask(w, 2, 4, "optimal_at_most")
    greedy = transposable_mask(w, 2, 4, "greedy")
    assert (w[exact].sum(), w[best].sum(), w[greedy].sum()) == (37, 38, 36)
    assert best.astype(int).tolist() == [[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]]


@settings()
@given(st.sampled_from(SMALL + [(2, 8), (4, 8)]), st.integers(0, 2**32 - 1))
def test_greedy_matches_reference_and_half_bound(nm, seed):
    n, m = nm
    rng = np.random.default_rng(seed)
    w = rng.integers(-6, 7, (m, 2 * m)).astype(np.float64)   # ties exercise the order
    g = transposable_mask(w, n, m, "greedy")
    o = transposable_mask(w, n, m, "optimal")
    assert is_transposable(g, n, m)
    for wb, gb, ob in zip(_blocks(w, m), _blocks(g, m), _blocks(o, m)):
        assert gb.tolist() == ref.transposable_greedy(wb.tolist(), n)
        assert 2 * np.abs(wb)[gb].sum() >= np.abs(wb)[ob].sum()


@settings()
@given(st.integers(0, 2**32 - 1))
def test_flow_equals_exhaustive_objective_2_4(seed):
    rng = np.random.default_rng(seed)
    a = np.abs(rng.integers(-50, 51, (8, 8))).astype(np.float64)
    o1 = np.empty(a.shape, np.uint8)
    o2 = np.empty(a.shape, np.uint8)
    KS.transposable_flow(a, 4, 2, True, o1)
    pairs, pats = transposable_patterns(2, 4)
    KS.transposable_exhaustive(a, 4, pairs, pats, o2)
    for b1, b2, wb in zip(_blocks(o1, 4), _blocks(o2, 4), _blocks(a, 4)):
        assert wb[b1 == 1].sum() == wb[b2 == 1].sum()
        assert (b1.sum(0) == 2).all() and (b1.sum(1) == 2).all()


def test_worked_example_2_4():
    # plain 2:4 per row keeps columns 0,1 in every row; transposable must spread them
    w = np.array([[9, 8, 1, 1],
                  [9, 8, 1, 1],
                  [9, 8, 1, 1],
                  [9, 8, 1, 1]], dtype=np.float32)
    mask = transposable_mask(w, 2, 4)
    assert (mask.sum(0) == 2).all() and (mask.sum(1) == 2).all()
    assert w[mask].sum() == 2 * 9 + 2 * 8 + 4 * 1
    # ties: the first pattern in lexicographic order of per-row pair indices
    assert mask.astype(int).tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]
    rep = transposable_report(w, 2, 4)
    assert rep.nm == pytest.approx(68 / 76) and rep.optimal == pytest.approx(38 / 76)
    assert rep.optimal_vs_nm == pytest.approx(38 / 68)


@settings()
@given(st.integers(0, 2**32 - 1))
def test_report_ordering(seed):
    w = np.random.default_rng(seed).standard_normal((8, 16))
    r = transposable_report(w, 2, 4)
    assert r.nm >= r.optimal_at_most >= max(r.optimal, r.greedy)
    assert r.greedy >= r.optimal_at_most / 2
    assert 0.5 <= r.greedy_vs_optimal <= 1


def test_errors():
    with pytest.raises(ValueError, match="divisible"):
        transposable_mask(np.ones((4, 6)), 2, 4)
    with pytest.raises(ValueError, match="n=5 > m=4"):
        transposable_mask(np.ones((4, 4)), 5, 4)
    with pytest.raises(ValueError, match="method"):
        transposable_mask(np.ones((4, 4)), 2, 4, method="best")
    with pytest.raises(ValueError, match="2-d"):
        transposable_mask(np.ones(16), 2, 4)

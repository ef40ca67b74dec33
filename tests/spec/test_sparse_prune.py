"""Pruning masks (counts, ranking, ties) and the Zhu & Gupta gradual schedule."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant.sparse import (BSR, block_prune, global_magnitude_prune, gradual_sparsity,
                             magnitude_prune, structured_prune)


def test_magnitude_worked_example():
    w = np.array([[0.5, -2.0, 1.0], [-1.0, 0.1, 3.0]])
    # prune floor(0.5 * 6) = 3: 0.1, 0.5, and of the tied 1.0 / -1.0 the later one
    assert magnitude_prune(w, 0.5).astype(int).tolist() == [[0, 1, 1], [0, 0, 1]]
    assert magnitude_prune(w, 0.0).all() and not magnitude_prune(w, 1.0).any()


@settings()
@given(st.integers(1, 40), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_magnitude_count_and_threshold(size, s, seed):
    w = np.random.default_rng(seed).integers(-5, 6, size).astype(np.float64)
    keep = magnitude_prune(w, s)
    assert (~keep).sum() == int(np.floor(s * size))
    if keep.any() and (~keep).any():
        assert np.abs(w[keep]).min() >= np.abs(w[~keep]).max()


def test_global_prunes_across_layers():
    a = np.array([1.0, 5.0])
    b = np.array([[2.0, 0.5], [4.0, 3.0]])
    ka, kb = global_magnitude_prune([a, b], 0.5)
    assert ka.tolist() == [False, True]
    assert kb.tolist() == [[False, False], [True, True]]
    with pytest.raises(TypeError):
        global_magnitude_prune(a, 0.5)


def test_structured_filters_and_channels():
    w = np.array([[3.0, 0.0, 0.0],      # L1 3, L2 3
                  [1.5, 1.5, 1.5],      # L1 4.5, L2 2.6
                  [0.0, 0.0, 1.0]])     # L1 1, L2 1
    assert structured_prune(w, 0.34, axis=0, norm="l1")[:, 0].tolist() == [True, True, False]
    assert structured_prune(w, 0.67, axis=0, norm="l1")[:, 0].tolist() == [False, True, False]
    assert structured_prune(w, 0.67, axis=0, norm="l2")[:, 0].tolist() == [True, False, False]
    m = structured_prune(w, 0.34, axis=1)    # column L1: 4.5, 1.5, 2.5
    assert m[0].tolist() == [True, False, True] and (m == m[0]).all()
    conv = np.ones((4, 3, 2, 2))
    conv[2] *= 0.1
    m = structured_prune(conv, 0.25, axis=0, norm="l2")
    assert m.shape == conv.shape and not m[2].any() and m[[0, 1, 3]].all()
    with pytest.raises(ValueError, match="norm"):
        structured_prune(w, 0.5, norm="l3")


def test_block_prune_feeds_bsr():
    w = np.arange(1, 17, dtype=np.float64).reshape(4, 4)
    m = block_prune(w, 0.5, (2, 2))
    # block L1 norms: 14, 22, 46, 54 -> keep the bottom two blocks
    assert m[:2].sum() == 0 and m[2:].all()
    a = BSR.from_dense(w * m, (2, 2))
    assert a.indptr.tolist() == [0, 0, 2] and a.indices.tolist() == [0, 1]
    with pytest.raises(ValueError, match="block_size"):
        block_prune(w, 0.5, (3, 2))
    with pytest.raises(ValueError, match="sparsity"):
        block_prune(w, 1.5, (2, 2))


def test_gradual_schedule_values():
    # s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3
    assert gradual_sparsity(0, 0.0, 0.9, 0, 10, 1) == 0.0
    assert gradual_sparsity(5, 0.0, 0.9, 0, 10, 1) == pytest.approx(0.9 - 0.9 * 0.125)
    assert gradual_sparsity(10, 0.0, 0.9, 0, 10, 1) == pytest.approx(0.9)
    assert gradual_sparsity(500, 0.0, 0.9, 0, 10, 1) == pytest.approx(0.9)
    assert gradual_sparsity(-3, 0.1, 0.9, 0, 10, 1) == pytest.approx(0.1)
    # updates every dt steps: t = 1100..1199 hold the value of t = 1100
    s = gradual_sparsity(np.array([1000, 1099, 1100, 1199, 1200]), 0.05, 0.8, 1000, 4, 100)
    f = [0.8 + (0.05 - 0.8) * (1 - j / 4) ** 3 for j in (1, 2)]
    assert s.tolist() == [0.05, 0.05, f[0], f[0], f[1]]
    with pytest.raises(TypeError):
        gradual_sparsity(1.5)


@settings()
@given(st.floats(0, 1), st.floats(0, 1), st.integers(1, 50), st.integers(1, 5))
def test_gradual_is_monotone_between_endpoints(si, sf, n, dt):
    t = np.arange(-5, n * dt + 10)
    s = gradual_sparsity(t, si, sf, 0, n, dt)
    d = np.diff(s)
    assert (d >= -1e-15).all() if sf >= si else (d <= 1e-15).all()
    assert s[0] == si and s[-1] == sf

"""Column combining: grouping equals the literal reference greedy, group invariants
(alpha, conflicts within gamma), pruning/packing, and the packed GEMM equal to the
dense GEMM of the pruned matrix."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant import intops
from refquant.sparse import CSR, column_combine, conflicts
from reference import sparse as ref


@st.composite
def case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    r, c = draw(st.integers(1, 10)), draw(st.integers(1, 14))
    w = rng.integers(-9, 10, (r, c)).astype(np.int8)
    w[rng.random(w.shape) < draw(st.floats(0.3, 1.0))] = 0
    alpha = draw(st.integers(1, 5))
    gamma = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 3.0]))
    return w, alpha, gamma


@settings()
@given(case())
def test_matches_reference_grouping_and_packing(c):
    w, alpha, gamma = c
    cc = column_combine(w, alpha, gamma)
    groups = ref.column_groups(w.tolist(), alpha, gamma)
    assert [g.tolist() for g in cc.groups] == groups
    packed, select = ref.column_pack(w.tolist(), groups)
    assert cc.packed.tolist() == packed and cc.select.tolist() == select
    assert cc.packed.shape == (w.shape[0], len(groups)) and cc.select.dtype == np.int64


@settings()
@given(case())
def test_invariants(c):
    w, alpha, gamma = c
    cc = column_combine(w, alpha, gamma)
    used = np.concatenate(cc.groups) if cc.groups else np.array([], int)
    assert sorted(used.tolist()) == np.flatnonzero((w != 0).any(axis=0)).tolist()
    for g in cc.groups:
        assert 1 <= len(g) <= alpha
        if len(g) > 1:
            assert conflicts(w, g) <= int(gamma * w.shape[0])
    pruned = cc.unpack()
    # pruning keeps a subset of w, one weight per (row, group), the largest magnitude
    assert np.all((pruned == 0) | (pruned == w))
    for g in cc.groups:
        sub = pruned[:, g]
        assert ((sub != 0).sum(axis=1) <= 1).all()
        assert np.array_equal(np.abs(sub).max(axis=1), np.abs(w[:, g]).max(axis=1))
    assert cc.efficiency == (np.count_nonzero(cc.packed) / cc.packed.size if cc.packed.size else 1.0)
    assert np.all((cc.select >= 0) == (cc.packed != 0))


@settings()
@given(case(), st.sampled_from(["wrap", "saturate", "exact"]), st.sampled_from([8, 12, 32]),
       st.integers(0, 2**32 - 1))
def test_packed_gemm_equals_dense_gemm_of_pruned(c, overflow, bits, seed):
    w, alpha, gamma = c
    cc = column_combine(w, alpha, gamma)
    x = np.random.default_rng(seed).integers(-128, 128, (w.shape[1], 3)).astype(np.int8)
    dense = intops.gemm(cc.unpack(), x, 0, 3, acc_bits=bits, overflow=overflow)
    got = cc.matmul(x, x_zero_point=3, acc_bits=bits, overflow=overflow)
    assert got.dtype == dense.dtype and np.array_equal(got, dense)


def test_packed_gemm_a_zero_point_applies_to_stored_cells_only():
    w = np.array([[5, 0, 0], [0, 0, 7]], dtype=np.int16)
    cc = column_combine(w, 3, 1.0)
    assert [g.tolist() for g in cc.groups] == [[0, 2]]
    x = np.array([[1], [100], [2]], dtype=np.int16)
    assert cc.matmul(x, a_zero_point=[1, 2]).tolist() == [[(5 - 1) * 1], [(7 - 2) * 2]]


def test_float_gemm_bit_identical_to_scipy():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((16, 40))
    w[rng.random(w.shape) < 0.7] = 0
    cc = column_combine(w, 4, 0.5)
    x = rng.standard_normal((40, 5))
    want = sp.csr_array(cc.unpack()) @ x
    assert np.array_equal(cc.matmul(x).view(np.int64), want.view(np.int64))
    assert np.array_equal(cc.matmul(x[:, 0]), want[:, 0])


def test_worked_example():
    w = np.array([[1, 0, 0, 0],
                  [0, 2, 0, 0],
                  [0, 0, 3, -4]])
    cc = column_combine(w, 2, 0.0)
    assert [g.tolist() for g in cc.groups] == [[0, 1], [2], [3]]
    assert cc.packed.tolist() == [[1, 0, 0], [2, 0, 0], [0, 3, -4]]
    assert cc.select.tolist() == [[0, -1, -1], [1, -1, -1], [-1, 2, 3]]
    assert cc.efficiency == pytest.approx(4 / 9)
    cc = column_combine(w, 2, 1 / 3)          # max_overlap = 1: columns 2 and 3 merge
    assert [g.tolist() for g in cc.groups] == [[0, 1], [2, 3]]
    assert cc.packed.tolist() == [[1, 0], [2, 0], [0, -4]]
    assert cc.select.tolist() == [[0, -1], [1, -1], [-1, 3]]
    assert cc.efficiency == 0.5
    assert cc.unpack().tolist() == [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, -4]]


def test_conv_weights_and_errors():
    w = np.zeros((2, 3, 2, 2))
    w[0, 0, 0, 0] = 1
    w[1, 2, 1, 1] = 2
    cc = column_combine(w, 8, 0)
    assert cc.shape == (2, 12) and [g.tolist() for g in cc.groups] == [[0, 11]]
    with pytest.raises(ValueError, match="alpha"):
        column_combine(w, 0, 0.1)
    with pytest.raises(ValueError, match="gamma"):
        column_combine(w, 2, -0.1)
    with pytest.raises(ValueError, match="rows"):
        cc.matmul(np.ones((5, 1)))

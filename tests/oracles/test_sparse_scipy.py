"""scipy.sparse as the oracle: float products bit-identical to scipy's CSR product,
layouts identical to scipy's canonical arrays, from_scipy canonicalisation."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant.sparse import BSR, COO, CSC, CSR


@st.composite
def float_case(draw):
    r = draw(st.integers(1, 12))
    c = draw(st.integers(1, 12))
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((r, c)) * 10.0 ** rng.integers(-8, 8, (r, c))
    x[rng.random((r, c)) < draw(st.floats(0, 1))] = 0
    b = rng.standard_normal((c, n)) * 10.0 ** rng.integers(-8, 8, (c, n))
    return x, b


@settings()
@given(float_case())
def test_float_products_bit_identical_to_scipy(case):
    x, b = case
    want = sp.csr_array(x) @ b
    for a in (CSR.from_dense(x), CSC.from_dense(x), COO.from_dense(x), BSR.from_dense(x, (1, 1))):
        got = a @ b
        assert got.dtype == np.float64
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), type(a).__name__
        assert np.array_equal(a @ b[:, 0], sp.csr_array(x) @ b[:, 0])


@settings()
@given(float_case())
def test_layout_equals_scipy_canonical(case):
    x, _ = case
    s = sp.csr_array(x)
    s.sort_indices()
    a = CSR.from_dense(x)
    assert a.indptr.tolist() == s.indptr.tolist()
    assert a.indices.tolist() == s.indices.tolist()
    assert np.array_equal(a.data, s.data)
    t = sp.csc_array(x)
    c = CSC.from_dense(x)
    assert c.indptr.tolist() == t.indptr.tolist() and c.indices.tolist() == t.indices.tolist()
    assert np.array_equal(c.data, t.data)


def test_bsr_matches_scipy_bsr():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((8, 12))
    x[:, 3:9] = 0
    x[4:6] = 0
    a = BSR.from_dense(x, (2, 3))
    s = sp.bsr_array(x, blocksize=(2, 3))
    s.eliminate_zeros()
    s.sort_indices()
    keep = np.abs(s.data).sum(axis=(1, 2)) != 0
    assert a.indices.tolist() == s.indices[keep].tolist()
    assert np.array_equal(a.data, s.data[keep])
    b = rng.standard_normal((12, 3))
    assert np.allclose(a @ b, s @ b, rtol=0, atol=1e-12)
    assert np.array_equal(a @ b, sp.csr_array(a.to_dense()) @ b)
    assert np.array_equal(BSR.from_scipy(s).to_dense(), x)


def test_from_scipy_canonicalises():
    # duplicates summed, explicit zeros and cancelled duplicates removed, indices sorted
    m = sp.coo_array((np.array([1.0, 2.0, 0.0, 5.0, -5.0]),
                      (np.array([0, 0, 1, 1, 1]), np.array([2, 2, 0, 1, 1]))), shape=(2, 3))
    for cls in (CSR, CSC, COO):
        a = cls.from_scipy(m)
        a.check()
        assert a.nnz == 1
        assert a.to_dense().tolist() == [[0, 0, 3.0], [0, 0, 0]]
    unsorted = sp.csr_array((np.array([1.0, 2.0]), np.array([2, 0]), np.array([0, 2])), shape=(1, 3))
    assert CSR.from_scipy(unsorted).indices.tolist() == [0, 2]
    with pytest.raises(TypeError):
        CSR.from_scipy(np.eye(2))


def test_to_scipy_types_and_values():
    x = np.array([[0, 1.5], [2.0, 0]])
    assert CSR.from_dense(x).to_scipy().format == "csr"
    assert CSC.from_dense(x).to_scipy().format == "csc"
    assert COO.from_dense(x).to_scipy().format == "coo"
    assert BSR.from_dense(x, (1, 2)).to_scipy().format == "bsr"
    for a in (CSR.from_dense(x), CSC.from_dense(x), COO.from_dense(x), BSR.from_dense(x, (2, 1))):
        assert np.array_equal(a.to_scipy().toarray(), x)

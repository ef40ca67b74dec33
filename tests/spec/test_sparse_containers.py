"""refquant.sparse containers: canonical form, round trips, check() errors, and integer
products against the Python-integer GEMM reference and refquant.intops.gemm."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refquant
from refquant import intops
from refquant.kernels import sparse as KS
from refquant.sparse import BSR, COO, CSC, CSR
from reference import sparse as ref

CLASSES = [CSR, CSC, COO]


@st.composite
def sparse_ints(draw, dtype=np.int8, max_dim=9):
    r = draw(st.integers(1, max_dim))
    c = draw(st.integers(1, max_dim))
    info = np.iinfo(dtype)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(info.min, int(info.max) + 1, size=(r, c), dtype=np.int64).astype(dtype)
    x[rng.random((r, c)) < draw(st.floats(0, 1))] = 0
    return x


def _all(x, blocks=True):
    out = [cls.from_dense(x) for cls in CLASSES]
    if blocks:
        out.append(BSR.from_dense(x, (1, 1)))
    return out


@settings()
@given(sparse_ints())
def test_dense_round_trip_and_canonical(x):
    for a in _all(x):
        a.check()
        assert a.to_dense().dtype == x.dtype
        assert np.array_equal(a.to_dense(), x)
        back = type(a).from_scipy(a.to_scipy()) if not isinstance(a, BSR) else \
            BSR.from_scipy(a.to_scipy())
        assert np.array_equal(back.to_dense(), x)
        assert np.array_equal(a.to_scipy().toarray(), x)
    assert CSR.from_dense(x).nnz == np.count_nonzero(x)


@settings()
@given(sparse_ints(np.int8), st.integers(1, 5), st.sampled_from([8, 16, 20, 32, 64]),
       st.sampled_from(["wrap", "saturate", "exact"]), st.data())
def test_int_spmm_matches_reference(x, n, bits, overflow, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    b = rng.integers(-128, 128, size=(x.shape[1], n)).astype(np.int8)
    bz = int(data.draw(st.integers(-3, 3)))
    want = ref.gemm_int(x.tolist(), b.tolist(), 0, bz, bits, overflow)
    dense = intops.gemm(x, b, 0, bz, acc_bits=bits, overflow=overflow)
    assert dense.tolist() == want
    for a in _all(x) + [BSR.from_dense(np.pad(x, ((0, (-x.shape[0]) % 2), (0, (-x.shape[1]) % 3))),
                                         (2, 3))]:
        bb = b if a.shape[1] == b.shape[0] else np.pad(b, ((0, a.shape[1] - b.shape[0]), (0, 0)))
        got = a.matmul(bb, b_zero_point=bz, acc_bits=bits, overflow=overflow)
        assert got.dtype == dense.dtype
        assert got[:x.shape[0]].tolist() == want, type(a).__name__


def test_spmv_returns_vector():
    x = np.array([[0, 2, 0], [-3, 0, 4]], dtype=np.int16)
    v = np.array([5, -1, 7], dtype=np.int16)
    for a in _all(x):
        got = a @ v
        assert got.shape == (2,) and got.tolist() == [-2, 13]


def test_saturating_order_is_ascending_k():
    # with an 8-bit accumulator: 100 + 100 saturates to 127, then -100 -> 27;
    # the other order would give 100.
    x = np.array([[100, 100, -100]], dtype=np.int16)
    v = np.ones(3, dtype=np.int16)
    for a in _all(x):
        assert (a.matmul(v, acc_bits=8, overflow="saturate")).tolist() == [27]
        assert (a.matmul(v, acc_bits=8, overflow="wrap")).tolist() == [100]
    assert CSR.from_dense(x).matmul(v, acc_bits=8, overflow="raise").tolist() == [100]
    with pytest.raises(OverflowError):
        CSR.from_dense(np.array([[100, 100]], dtype=np.int16)).matmul(
            np.ones(2, np.int16), acc_bits=8, overflow="raise")


def test_wrap_64_bit_beyond_int64():
    big = np.int32(-(2**31))
    x = np.full((1, 6), big, dtype=np.int32)
    v = np.full(6, big, dtype=np.int32)
    want = ref.gemm_int(x.tolist(), v.reshape(-1, 1).tolist(), 0, 0, 64, "wrap")[0][0]
    for a in _all(x):
        assert int(a.matmul(v, acc_bits=64, overflow="wrap")[0]) == want
    with pytest.raises(OverflowError):
        CSR.from_dense(x).matmul(v, overflow="exact")


def test_kernel_python_path_agrees():
    rng = np.random.default_rng(3)
    x = rng.integers(-50, 50, (5, 7))
    x[rng.random(x.shape) < 0.5] = 0
    a = CSR.from_dense(x)
    b = rng.integers(-50, 50, (7, 3)).astype(np.int64)
    az = np.zeros(5, np.int64)
    for mode in (0, 1, 2):
        o1 = np.empty((5, 3), np.int64)
        o2 = np.empty((5, 3), np.int64)
        KS.csr_spmm_int(a.indptr, a.indices, a.data.astype(np.int64), az, b, mode, 12, o1)
        py = getattr(KS.csr_spmm_int, "py_func", KS.csr_spmm_int)   # plain under NUMBA_DISABLE_JIT
        assert py(a.indptr, a.indices, a.data.astype(np.int64), az, b, mode, 12, o2) == 0
        assert np.array_equal(o1, o2)


def test_quantized_storage_per_row():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((6, 10))
    w[rng.random(w.shape) < 0.6] = 0
    qt = refquant.quantize(w, "uint8", granularity="axis", axis=0)
    z = np.asarray(qt.zero_point)
    assert np.any(z != 0)
    b = rng.integers(-128, 128, (10, 4)).astype(np.int8)
    want = intops.gemm(qt.codes, b, z, 0, acc_bits=32, overflow="wrap")
    for cls in (CSR, CSC, COO):
        a = cls.from_qtensor(qt)
        assert a.nnz == int(np.count_nonzero(qt.codes.astype(np.int64) != z[:, None]))
        assert np.array_equal(a.to_dense(), qt.codes)
        assert np.array_equal(a.dequantize(), qt.dequantize())
        assert np.array_equal(a @ b, want)
    a = BSR.from_qtensor(qt, (2, 5))
    assert np.array_equal(a.to_dense(), qt.codes)
    assert np.array_equal(a.dequantize(), qt.dequantize())
    assert np.array_equal(a @ b, want)


def test_bsr_layout():
    x = np.zeros((4, 6), dtype=np.int32)
    x[0, 4] = 1
    x[3, 1] = 2
    a = BSR.from_dense(x, (2, 2))
    assert a.indptr.tolist() == [0, 1, 2]
    assert a.indices.tolist() == [2, 0]
    assert a.data.tolist() == [[[1, 0], [0, 0]], [[0, 0], [0, 2]]]
    assert a.block_size == (2, 2)


def test_csr_layout_worked_example():
    x = np.array([[0, 5, 0, 7], [0, 0, 0, 0], [1, 0, 2, 0]], dtype=np.int8)
    a = CSR.from_dense(x)
    assert a.indptr.tolist() == [0, 2, 2, 4]
    assert a.indices.tolist() == [1, 3, 0, 2]
    assert a.data.tolist() == [5, 7, 1, 2]
    c = CSC.from_dense(x)
    assert c.indptr.tolist() == [0, 1, 2, 3, 4]
    assert c.indices.tolist() == [2, 0, 2, 0]
    o = COO.from_dense(x)
    assert o.row.tolist() == [0, 0, 2, 2] and o.col.tolist() == [1, 3, 0, 2]


@pytest.mark.parametrize("kw, msg", [
    (dict(data=[1, 2], indices=[1, 0], indptr=[0, 2, 2]), "unsorted"),
    (dict(data=[1, 2], indices=[1, 1], indptr=[0, 2, 2]), "duplicate"),
    (dict(data=[1, 2], indices=[0, 3], indptr=[0, 2, 2]), "out of bounds"),
    (dict(data=[1], indices=[0, 1], indptr=[0, 2, 2]), "data has length"),
    (dict(data=[1, 2], indices=[0, 1], indptr=[0, 2]), "expected 3"),
    (dict(data=[1, 2], indices=[0, 1], indptr=[1, 2, 2]), "must be 0"),
    (dict(data=[1, 2], indices=[0, 1], indptr=[0, 2, 1]), "non-decreasing"),
    (dict(data=[1, 0], indices=[0, 1], indptr=[0, 2, 2]), "explicit zeros"),
])
def test_csr_check_rejects(kw, msg):
    with pytest.raises(ValueError, match=msg):
        CSR(kw["data"], kw["indices"], kw["indptr"], (2, 3))


def test_sorted_across_rows_is_fine():
    # index 2 then 0 across a row boundary is canonical
    a = CSR([1, 1], [2, 0], [0, 1, 2], (2, 3))
    assert a.to_dense().tolist() == [[0, 0, 1], [1, 0, 0]]


def test_coo_and_bsr_check_rejects():
    with pytest.raises(ValueError, match="not sorted"):
        COO([1, 2], [1, 0], [0, 0], (2, 2))
    with pytest.raises(ValueError, match="duplicate"):
        COO([1, 2], [0, 0], [1, 1], (2, 2))
    with pytest.raises(ValueError, match="out of bounds"):
        COO([1], [2], [0], (2, 2))
    with pytest.raises(ValueError, match="explicit zeros"):
        COO([0], [0], [0], (2, 2))
    with pytest.raises(ValueError, match="entirely zero"):
        BSR(np.zeros((1, 2, 2)), [0], [0, 1], (2, 2))
    with pytest.raises(ValueError, match="divisible"):
        BSR(np.ones((1, 2, 2)), [0], [0, 1], (3, 2))
    with pytest.raises(ValueError, match="out of bounds"):
        BSR(np.ones((1, 2, 2)), [1], [0, 1], (2, 2))


def test_bad_operands():
    a = CSR.from_dense(np.eye(3, dtype=np.int8))
    with pytest.raises(ValueError, match="rows"):
        a @ np.ones((4, 2), np.int8)
    with pytest.raises(ValueError, match="acc_bits"):
        a.matmul(np.ones(3, np.int8), acc_bits=1)
    with pytest.raises(ValueError, match="overflow"):
        a.matmul(np.ones(3, np.int8), overflow="clip")
    with pytest.raises(ValueError, match="2-d"):
        CSR.from_dense(np.ones(3))
    with pytest.raises(ValueError, match="block_size"):
        BSR.from_dense(np.ones((3, 3)), (2, 2))

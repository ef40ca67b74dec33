"""Old refquant.sparse names (docs/glossary.md): each still works for one release, with a
DeprecationWarning that names the replacement and points at the caller."""
import numpy as np
import pytest
import scipy.sparse as sp

import refquant
from refquant.sparse import (BSR, COO, CSC, CSR, block_prune, column_combine, compress_2_4,
                             decompress_2_4, nm_mask, spmm_2_4)

W = np.array([[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 0], [4, 0, 0, 5]], dtype=np.int16)


def _warns(new):
    """pytest.warns for a DeprecationWarning naming ``new``, raised from this file."""
    return pytest.warns(DeprecationWarning, match=new)


def _from_here(record):
    assert all(r.filename == __file__ for r in record), [r.filename for r in record]


# ----------------------------------------------------------------------------------------
# blocksize -> block_size


def test_bsr_from_dense_blocksize():
    with _warns("block_size=") as rec:
        old = BSR.from_dense(W, blocksize=(2, 2))
    _from_here(rec)
    new = BSR.from_dense(W, block_size=(2, 2))
    assert np.array_equal(old.to_dense(), new.to_dense()) and old.block_size == (2, 2)


def test_bsr_from_qtensor_blocksize():
    qt = refquant.quantize(W.astype(np.float64), "int8")
    with _warns("block_size="):
        old = BSR.from_qtensor(qt, blocksize=(2, 2))
    assert np.array_equal(old.to_dense(), BSR.from_qtensor(qt, block_size=(2, 2)).to_dense())


def test_bsr_from_scipy_blocksize():
    m = sp.csr_array(W)
    with _warns("block_size="):
        old = BSR.from_scipy(m, blocksize=(1, 2))
    assert old.block_size == (1, 2) and np.array_equal(old.to_dense(), W)


def test_bsr_blocksize_property():
    a = BSR.from_dense(W, (2, 2))
    with _warns("BSR.block_size") as rec:
        assert a.blocksize == (2, 2)
    _from_here(rec)


def test_block_prune_blocksize():
    w = np.arange(1, 17, dtype=np.float64).reshape(4, 4)
    with _warns("block_size="):
        old = block_prune(w, 0.5, blocksize=(2, 2))
    assert np.array_equal(old, block_prune(w, 0.5, block_size=(2, 2)))


def test_old_and_new_keyword_together_is_an_error():
    with pytest.raises(TypeError, match="both blocksize="):
        BSR.from_dense(W, blocksize=(2, 2), block_size=(2, 2))


# ----------------------------------------------------------------------------------------
# a_zero / b_zero / x_zero -> a_zero_point / b_zero_point / x_zero_point


@pytest.mark.parametrize("cls", [CSR, CSC, COO])
def test_container_matmul_b_zero(cls):
    a = cls.from_dense(W)
    b = np.arange(8, dtype=np.int8).reshape(4, 2)
    with _warns("b_zero_point=") as rec:
        old = a.matmul(b, b_zero=3)
    _from_here(rec)
    assert np.array_equal(old, a.matmul(b, b_zero_point=3))
    assert np.array_equal(old, W.astype(np.int64) @ (b.astype(np.int64) - 3))


def test_bsr_matmul_b_zero():
    a = BSR.from_dense(W, (2, 2))
    b = np.ones(4, np.int8)
    with _warns("b_zero_point="):
        old = a.matmul(b, b_zero=-1)
    assert old.tolist() == (W.astype(np.int64) @ np.full(4, 2)).tolist()


def test_column_combining_matmul_a_zero_x_zero():
    cc = column_combine(W, 2, 1.0)
    x = np.arange(8, dtype=np.int8).reshape(4, 2)
    with _warns("a_zero_point="):
        old_a = cc.matmul(x, a_zero=1)
    assert np.array_equal(old_a, cc.matmul(x, a_zero_point=1))
    with _warns("x_zero_point="):
        old_x = cc.matmul(x, x_zero=2)
    assert np.array_equal(old_x, cc.matmul(x, x_zero_point=2))


# ----------------------------------------------------------------------------------------
# data_bits -> bits, b_zero -> b_zero_point in the 2:4 layout


def _two_four():
    rng = np.random.default_rng(4)
    w = rng.integers(-50, 50, (2, 32)).astype(np.int8)
    return w * nm_mask(w, 2, 4).astype(np.int8)


def test_compress_2_4_data_bits():
    w = _two_four()
    with _warns("bits=") as rec:
        v_old, m_old = compress_2_4(w, data_bits=8)
    _from_here(rec)
    v, m = compress_2_4(w, bits=8)
    assert np.array_equal(v_old, v) and np.array_equal(m_old, m)


def test_decompress_2_4_data_bits():
    w = _two_four()
    v, m = compress_2_4(w)
    with _warns("bits="):
        back = decompress_2_4(v, m, data_bits=8)
    assert np.array_equal(back, w)


def test_spmm_2_4_data_bits_and_b_zero():
    w = _two_four()
    v, m = compress_2_4(w)
    b = np.ones((32, 3), np.int8)
    want = spmm_2_4(v, m, b, bits=8, b_zero_point=2)
    with pytest.warns(DeprecationWarning) as rec:
        got = spmm_2_4(v, m, b, data_bits=8, b_zero=2)
    assert {str(r.message).split(" is deprecated")[0] for r in rec} == {
        "spmm_2_4(data_bits=...)", "spmm_2_4(b_zero=...)"}
    assert np.array_equal(got, want)

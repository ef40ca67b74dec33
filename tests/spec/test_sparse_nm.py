"""N:M masks, compression, the 2:4 hardware layout (nibbles, word packing, CUTLASS
reordering) and SpMM from the compressed form."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant import intops
from refquant.sparse import (VALID_NIBBLES, check_nm, compress_2_4, decompress_2_4, is_nm,
                             nibble_table, nm_compress, nm_decompress, nm_mask,
                             reorder_metadata_cutlass, spmm_2_4, unreorder_metadata_cutlass)
from reference import sparse as ref

NM = [(1, 2), (2, 4), (1, 4), (3, 4), (2, 8), (4, 8), (5, 5)]


@settings()
@given(st.sampled_from(NM), st.integers(1, 4), st.integers(1, 3), st.integers(0, 1),
       st.integers(0, 2**32 - 1))
def test_nm_mask_matches_reference(nm, groups, other, axis, seed):
    n, m = nm
    rng = np.random.default_rng(seed)
    shape = [other, other]
    shape[axis] = groups * m
    w = rng.integers(-3, 4, size=shape).astype(np.float32)  # many ties
    mask = nm_mask(w, n, m, axis=axis)
    assert mask.shape == w.shape and mask.dtype == bool
    g = np.moveaxis(w, axis, -1).reshape(-1, m)
    gm = np.moveaxis(mask, axis, -1).reshape(-1, m)
    for row, mrow in zip(g.tolist(), gm.tolist()):
        assert mrow == ref.nm_mask(row, n)
    assert is_nm(w * mask, n, m, axis=axis)


def test_nm_mask_worked_example():
    w = np.array([[0.5, -3.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0]])
    assert nm_mask(w, 2, 4).astype(int).tolist() == [[0, 1, 1, 0, 1, 1, 0, 0]]
    assert nm_mask(w.T, 2, 4, axis=0).T.astype(int).tolist() == [[0, 1, 1, 0, 1, 1, 0, 0]]


def test_nm_errors():
    with pytest.raises(ValueError, match="n=3 > m=2"):
        nm_mask(np.ones((2, 4)), 3, 2)
    with pytest.raises(ValueError, match="divisible"):
        nm_mask(np.ones((2, 6)), 2, 4)
    with pytest.raises(ValueError, match="NaN"):
        nm_mask(np.array([[np.nan, 1, 2, 3]]), 2, 4)
    with pytest.raises(ValueError, match="group 1"):
        check_nm(np.array([[1, 0, 0, 0, 1, 1, 1, 0]]), 2, 4)
    assert not is_nm(np.array([[1, 1, 1, 0]]), 2, 4)


@settings()
@given(st.sampled_from(NM), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_nm_compress_round_trip(nm, groups, rows, seed):
    n, m = nm
    rng = np.random.default_rng(seed)
    w = rng.integers(-9, 10, (rows, groups * m)).astype(np.int16)
    w *= nm_mask(w, n, m)
    w[rng.random(w.shape) < 0.3] = 0
    v, idx = nm_compress(w, n, m)
    assert v.shape == (rows, groups * n) and idx.dtype == np.uint8
    assert np.array_equal(nm_decompress(v, idx, n, m), w)
    assert np.all(np.diff(idx.reshape(-1, n).astype(int), axis=1) > 0)
    v0, i0 = nm_compress(w.T, n, m, axis=0)
    assert np.array_equal(nm_decompress(v0, i0, n, m, axis=0), w.T)


def test_nm_compress_pads_with_lowest_free_positions():
    v, idx = nm_compress(np.array([[0, 0, 0, 7, 0, 0, 0, 0]]), 2, 4)
    assert idx.tolist() == [[0, 3, 0, 1]] and v.tolist() == [[0, 7, 0, 0]]
    with pytest.raises(ValueError, match="strictly increasing"):
        nm_decompress(v, np.array([[3, 0, 0, 1]]), 2, 4)


def test_nibble_table_every_pattern():
    t = nibble_table()
    for code in range(16):
        grp = [(code >> j) & 1 for j in range(4)]
        if sum(grp) > 2:
            assert t[code] == -1
        else:
            assert t[code] == ref.nibble(grp)
            assert t[code] in VALID_NIBBLES
    # the six two-non-zero patterns, spelled out
    assert t[0b0011] == 0b0100 and t[0b0101] == 0b1000 and t[0b0110] == 0b1001
    assert t[0b1001] == 0b1100 and t[0b1010] == 0b1101 and t[0b1100] == 0b1110


def test_known_words_16_bit():
    # groups {0,1}, {1,3}, {2,3} (empty), {0,2} -> nibbles 0x4, 0xD, 0xE, 0x8
    row = [1, 2, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 5, 0, 6, 0]
    v, meta = compress_2_4(np.array([row], dtype=np.float16))
    assert meta.dtype == np.int16 and meta.shape == (1, 1)
    assert int(meta[0, 0]) & 0xFFFF == 0x8ED4
    assert v.tolist() == [[1, 2, 3, 4, 0, 0, 5, 6]]


def test_known_words_8_bit():
    row = [0, 0, 7, 8] * 8   # every group {2,3}: nibble 0xE, word 0xEEEEEEEE
    v, meta = compress_2_4(np.array([row], dtype=np.int8))
    assert meta.dtype == np.int32 and meta.shape == (1, 1)
    assert int(meta[0, 0]) == 0xEEEEEEEE - 2**32
    assert v.tolist() == [[7, 8] * 8]


@settings()
@given(st.sampled_from([(np.float16, 16, 16), (np.int8, 8, 32), (np.int16, 16, 16)]),
       st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_compress_2_4_matches_reference(spec, rows, words, seed):
    dtype, bits, per = spec
    rng = np.random.default_rng(seed)
    k = per * words
    w = rng.integers(-100, 100, (rows, k)).astype(dtype)
    w = w * nm_mask(w, 2, 4).astype(dtype)
    w[rng.random(w.shape) < 0.3] = 0
    v, meta = compress_2_4(w)
    rv, rw = ref.compress_2_4(w.astype(np.int64).tolist(), 16 if bits == 16 else 32)
    assert v.dtype == w.dtype and v.astype(np.int64).tolist() == rv
    assert meta.astype(np.int64).tolist() == rw
    assert np.array_equal(decompress_2_4(v, meta), w)


def test_one_two_for_32_bit():
    row = np.array([[3.5, 0, 0, -1.0, 0, 0, 2.0, 0]], dtype=np.float32)
    v, meta = compress_2_4(row)
    # pairs: elem 0, elem 1, none (-> 0b1110), elem 0 -> nibbles 4, E, E, 4
    assert meta.dtype == np.int16 and int(meta[0, 0]) & 0xFFFF == 0x4EE4
    assert v.tolist() == [[3.5, -1.0, 0.0, 2.0]]
    assert np.array_equal(decompress_2_4(v, meta), row)
    with pytest.raises(ValueError, match="1:2"):
        compress_2_4(np.array([[1, 1, 0, 0, 0, 0, 0, 0]], dtype=np.float32))


@pytest.mark.parametrize("bad", [0b0000, 0b0101, 0b1010, 0b1111])
def test_invalid_nibbles_raise(bad):
    meta = np.array([[0x4444 & ~0xF | bad]], dtype=np.int16)
    with pytest.raises(ValueError, match="invalid metadata nibble"):
        decompress_2_4(np.zeros((1, 8), np.float16), meta)
    with pytest.raises(ValueError, match="invalid metadata nibble"):
        spmm_2_4(np.zeros((1, 8), np.float16), meta, np.ones((16, 1)))


def test_compress_errors():
    with pytest.raises(ValueError, match="more than 2"):
        compress_2_4(np.array([[1, 1, 1, 0] * 4], dtype=np.float16))
    with pytest.raises(ValueError, match="multiple of 16"):
        compress_2_4(np.zeros((2, 8), np.float16))
    with pytest.raises(ValueError, match="bits=64"):
        compress_2_4(np.zeros((2, 16), np.float64))
    with pytest.raises(TypeError, match="int16"):
        decompress_2_4(np.zeros((1, 8), np.float16), np.zeros((1, 1), np.int32))


@pytest.mark.parametrize("dtype, m, ncols", [(np.int16, 32, 2), (np.int16, 64, 4),
                                             (np.int32, 16, 2), (np.int32, 48, 6)])
def test_cutlass_reorder_matches_reference(dtype, m, ncols):
    meta = np.arange(m * ncols, dtype=dtype).reshape(m, ncols)
    out = reorder_metadata_cutlass(meta)
    flat = out.reshape(-1)
    bits = np.dtype(dtype).itemsize * 8
    for r in range(m):
        for c in range(ncols):
            assert flat[ref.cutlass_position(r, c, m, bits)] == meta[r, c]
    assert np.array_equal(unreorder_metadata_cutlass(out), meta)
    assert sorted(flat.tolist()) == list(range(m * ncols))


def test_cutlass_reorder_errors():
    with pytest.raises(ValueError, match="multiple of 32"):
        reorder_metadata_cutlass(np.zeros((16, 2), np.int16))
    with pytest.raises(ValueError, match="even"):
        reorder_metadata_cutlass(np.zeros((16, 3), np.int32))
    with pytest.raises(TypeError):
        reorder_metadata_cutlass(np.zeros((16, 2), np.int8))


@settings()
@given(st.sampled_from([np.int8, np.int16]), st.sampled_from(["wrap", "saturate", "exact"]),
       st.sampled_from([8, 16, 32]), st.integers(0, 2**32 - 1))
def test_spmm_2_4_equals_dense_gemm(dtype, overflow, bits, seed):
    rng = np.random.default_rng(seed)
    k = 32
    w = rng.integers(-128, 128, (3, k)).astype(dtype)
    w = w * nm_mask(w, 2, 4).astype(dtype)
    b = rng.integers(-128, 128, (k, 2)).astype(np.int8)
    v, meta = compress_2_4(w)
    got = spmm_2_4(v, meta, b, b_zero_point=1, acc_bits=bits, overflow=overflow)
    want = intops.gemm(w, b, 0, 1, acc_bits=bits, overflow=overflow)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_spmm_2_4_float_and_vector():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 16)).astype(np.float16)
    w = w * nm_mask(w, 2, 4)
    b = rng.standard_normal((16, 3))
    v, meta = compress_2_4(w)
    import scipy.sparse as sp
    want = sp.csr_array(w.astype(np.float64)) @ b
    assert np.array_equal(spmm_2_4(v, meta, b), want)
    assert np.array_equal(spmm_2_4(v, meta, b[:, 1]), want[:, 1])
    w32 = rng.standard_normal((2, 8)).astype(np.float32)
    w32[:, 1::2] = 0
    v32, m32 = compress_2_4(w32)
    assert np.array_equal(spmm_2_4(v32, m32, b[:8]), sp.csr_array(w32.astype(np.float64)) @ b[:8])

"""N:M structured sparsity and the 2:4 sparse-tensor-core layout.

N:M: at most N non-zeros in every group of M consecutive elements along an axis (the
reduction axis of a GEMM: the last axis of A in A @ B).

2:4 compressed layout (NVIDIA sparse tensor cores, PTX ``mma.sp``; PyTorch/CUTLASS
semi-structured sparsity) for a matrix A of shape (rows, k):
  * values (rows, k/2): the two kept elements of every group of 4, in ascending position;
  * one 4-bit nibble per group, idx0 | idx1 << 2 with idx0 < idx1 the kept positions:
    0b0100 {0,1}, 0b1000 {0,2}, 0b1001 {1,2}, 0b1100 {0,3}, 0b1101 {1,3}, 0b1110 {2,3};
    0b0000, 0b0101, 0b1010, 0b1111 are invalid (idx0 == idx1);
  * nibbles packed little-endian (group g of a word at bits 4g..4g+3) into int16 words
    (4 groups) for 16-bit data and int32 words (8 groups) for 8-bit data;
  * 32-bit data (tf32/fp32) is 1:2: groups are pairs, values hold the kept element of
    each pair, and the nibble is 0b0100 (element 0) or 0b1110 (element 1), 4 pairs per
    int16 word -- the 2:4 encoding of the pair seen as four 16-bit halves.
Groups holding fewer than two non-zeros still need a valid nibble. The rule here is the
one of PyTorch's CUTLASS conversion (torch.sparse._semi_structured_conversions,
``sparse_semi_structured_from_dense_cutlass``; checked there), written as the non-zero
pattern m0 m1 m2 m3 -> kept positions:
    0000 -> {2,3}   0001 (only 3) -> {2,3}   0010 (only 2) -> {2,3}
    only 1 -> {1,2}    only 0 -> {0,2}
and every 2-non-zero pattern -> its own positions. The values at the chosen positions
are stored (zeros where the group has none). For 1:2 a zero pair keeps element 1
(0b1110) and a pair with one non-zero keeps it. More non-zeros than allowed is an
error here (PyTorch would silently drop some).

CUTLASS reorders the metadata words for its sparse GEMM (ColumnMajorInterleaved<2>
storage after a 2x2 swizzle); ``reorder_metadata_cutlass`` produces that order and
``unreorder_metadata_cutlass`` inverts it. The mapping (from PyTorch's re-implementation
of CUTLASS's host_reorder.h, rederived here): metadata element (r, c) of an (m, ncols)
matrix goes to row r' = (r // G) * G + (r % 8) * I + (r % G) // 8 with (G, I) = (32, 4)
for int16 words and (16, 2) for int32 words; then a 2x2 swizzle: if r' is even and c is
odd, (r', c) -> (r' + 1, c - 1); if r' is odd and c is even, (r', c) -> (r' - 1, c + 1);
finally the flat offset (c // 2) * 2m + 2 r' + c % 2 of the output buffer viewed as
(m, ncols). Requires m % G == 0 and ncols even. Checked (while writing this module)
against both derivations PyTorch has shipped -- the scatter offsets above and an older
closed-form gather table -- for int16 and int32 words on several (m, k); the 16-entry
nibble table was checked against PyTorch's Boolean formulas for all 16 patterns.
"""
from __future__ import annotations

import numpy as np

from .._lazy import kernels as _lazy_kernels
K = _lazy_kernels("sparse")
from ._common import (MAX_BYTES, absmax, check_acc, check_bytes, check_exact_bound,
                      check_exact_for, check_factor, dense_rhs, finish_int, int_array, int_rhs,
                      kernel_mode, native, raise_status)

__all__ = ["nm_mask", "is_nm", "check_nm", "nm_compress", "nm_decompress", "compress_2_4",
           "decompress_2_4", "reorder_metadata_cutlass", "unreorder_metadata_cutlass",
           "spmm_2_4", "VALID_NIBBLES", "nibble_table"]

VALID_NIBBLES = (0b0100, 0b1000, 0b1001, 0b1100, 0b1101, 0b1110)


M_MAX = 2 ** 62


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_nm(n, m):
    """(n, m) as Python ints with 1 <= n <= m <= 2**62."""
    if not _is_int(n):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not _is_int(m):
        raise TypeError(f"m must be an int, got {type(m).__name__}")
    n, m = int(n), int(m)
    if n < 1:
        raise ValueError(f"n={n}; allowed 1 <= n <= m (m={m})")
    if not 1 <= m <= M_MAX:
        raise ValueError(f"m={m}; allowed 1 <= m <= 2**62")
    if n > m:
        raise ValueError(f"n={n} > m={m}; N:M sparsity needs n <= m")
    return n, m


def index_dtype(m):
    """The narrowest unsigned dtype holding the positions 0..m-1: uint8 for m <= 256,
    uint16 for m <= 65536, uint32 for m <= 2^32, uint64 beyond."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if m - 1 <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def _values(w, name="w"):
    """w as an array of numbers (integers, floats, booleans or ml_dtypes' types such as
    bfloat16 / float8, whose NumPy kind is 'V'); TypeError for anything else."""
    w = np.asarray(w)
    if w.dtype.kind not in "iubfV" or w.dtype.fields is not None:
        raise TypeError(f"{name} must be real, got dtype {w.dtype}")
    return w


def _magnitudes(g):
    """Exact |g| with an order-preserving dtype: float64 for floats (exact for float16/32),
    uint64 for integers (so |-2^63| and values beyond 2^53 compare exactly)."""
    if g.dtype.kind == "b":
        return g.astype(np.uint64)
    if g.dtype.kind == "u":
        return g.astype(np.uint64)
    if g.dtype.kind == "i":
        x = g.astype(np.int64)
        neg = x < 0
        mag = x.astype(np.uint64)
        mag[neg] = (-(x[neg] + 1)).astype(np.uint64) + np.uint64(1)
        return mag
    return np.abs(g.astype(np.float64))


def _norm_axis(axis, ndim):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} out of range for a {ndim}-d array")
    return int(axis) % ndim


def _groups(w, m, axis, name="w", mname="m"):
    """w with ``axis`` moved last and split into groups: (moved array, (G, m) view)."""
    w = np.asarray(w)
    if w.ndim == 0:
        raise ValueError(f"{name} must have at least one axis")
    ax = _norm_axis(axis, w.ndim)
    if w.shape[ax] % m:
        raise ValueError(f"{name}.shape[{ax}] = {w.shape[ax]} is not divisible by {mname}={m}")
    moved = np.moveaxis(w, ax, -1)
    return ax, moved, moved.reshape(-1, m)


def nm_mask(w, n, m, axis=-1):
    """Boolean mask keeping the n largest |w| in every group of m consecutive elements
    along ``axis`` (the other m - n are False). Ties go to the lower index inside the
    group (NVIDIA Apex ASP m4n2_1d picks by magnitude the same way; its tie order is
    that of torch.topk, unspecified). w: real array, no NaN; w.shape[axis] % m == 0.
    Magnitudes are exact: float64 for floats, uint64 for integers (int64 values that
    float64 would round, and -2^63, compare correctly).
    """
    n, m = _check_nm(n, m)
    w = np.asarray(w)
    if w.dtype.kind not in "iubf":
        raise TypeError(f"w must be real, got dtype {w.dtype}")
    ax, moved, g = _groups(w, m, axis)
    a = _magnitudes(native(g))
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError("w contains NaN; magnitudes must be comparable")
    out = np.empty(a.shape, dtype=np.uint8)
    K.nm_select(np.ascontiguousarray(a), n, out)
    return np.moveaxis(out.reshape(moved.shape).astype(bool), -1, ax)


def is_nm(w, n, m, axis=-1):
    """True when every group of m consecutive elements along ``axis`` has at most n
    non-zeros (w.shape[axis] % m == 0 required; NaN counts as a non-zero)."""
    n, m = _check_nm(n, m)
    _, _, g = _groups(_values(w), m, axis)
    return bool(((g != 0).sum(axis=1) <= n).all())


def check_nm(w, n, m, axis=-1):
    """Raise ValueError naming the first group with more than n non-zeros."""
    n, m = _check_nm(n, m)
    _, _, g = _groups(_values(w), m, axis)
    cnt = (g != 0).sum(axis=1)
    bad = np.flatnonzero(cnt > n)
    if bad.size:
        raise ValueError(f"group {int(bad[0])} (along axis {axis}) has {int(cnt[bad[0]])} "
                         f"non-zeros; {n}:{m} allows {n}")


def nm_compress(w, n, m, axis=-1):
    """Compress an N:M-sparse array along ``axis``: (values, indices), each with
    w.shape[axis] * n / m along the axis. Per group, indices are the positions (0..m-1,
    ascending) of the non-zeros, padded with the lowest unused positions when the
    group has fewer than n; values are w at those positions. The index dtype is the
    narrowest that holds m - 1 (``index_dtype(m)``: uint8 up to m = 256, uint16 up to
    65536, uint32 up to 2^32, else uint64), so every position is stored exactly.
    ValueError if a group has more than n non-zeros."""
    n, m = _check_nm(n, m)
    w = _values(w)
    check_nm(w, n, m, axis)
    ax, moved, g = _groups(w, m, axis)
    nz = g != 0
    # rank positions: non-zeros first, then zeros, each ascending; keep the first n, sorted
    key = np.where(nz, 0, m) + np.arange(m)[None, :]
    idx = np.sort(np.argsort(key, axis=1, kind="stable")[:, :n], axis=1)
    vals = np.take_along_axis(g, idx, axis=1)
    shape = moved.shape[:-1] + (moved.shape[-1] // m * n,)
    return (np.moveaxis(vals.reshape(shape), -1, ax),
            np.moveaxis(idx.astype(index_dtype(m)).reshape(shape), -1, ax))


def nm_decompress(values, indices, n, m, axis=-1, *, max_bytes=MAX_BYTES):
    """Inverse of nm_compress: dense array with values[..] at their positions. Indices
    (any integer dtype, taken by value) must lie in [0, m) and be strictly increasing
    inside each group (ValueError). ValueError when the result (values.size / n * m
    elements) would exceed ``max_bytes`` (default 4 GiB; None: no limit)."""
    n, m = _check_nm(n, m)
    values = _values(values, "values")
    indices = int_array(indices, "indices")
    if values.shape != indices.shape:
        raise ValueError(f"values {values.shape} and indices {indices.shape} differ in shape")
    ax, moved, gv = _groups(values, n, axis, "values", "n")
    check_bytes(values.size // n * m * values.dtype.itemsize, "nm_decompress", max_bytes)
    gi = np.moveaxis(indices, ax, -1).reshape(-1, n)
    if gi.size and (int(gi.min()) < 0 or int(gi.max()) >= m):
        raise ValueError(f"indices must lie in [0, {m})")
    gi = gi.astype(np.int64)
    if n > 1 and np.any(np.diff(gi, axis=1) <= 0):
        raise ValueError("indices must be strictly increasing inside every group")
    out = np.zeros((gv.shape[0], m), dtype=values.dtype)
    np.put_along_axis(out, gi, gv, axis=1)
    shape = moved.shape[:-1] + (moved.shape[-1] // n * m,)
    return np.moveaxis(out.reshape(shape), -1, ax)


def nibble_table():
    """The 16-entry table: non-zero pattern m0 | m1<<1 | m2<<2 | m3<<3 -> nibble, for
    patterns with at most two non-zeros (the PyTorch/CUTLASS choice for sparser groups,
    see the module docstring: the kept positions are filled up to two with position 2,
    then 3); -1 for patterns with three or four non-zeros."""
    t = np.full(16, -1, dtype=np.int64)
    for code in range(16):
        kept = {i for i in range(4) if (code >> i) & 1}
        if len(kept) > 2:
            continue
        for fill in (2, 3):
            if len(kept) < 2:
                kept.add(fill)
        i0, i1 = sorted(kept)
        t[code] = i0 | (i1 << 2)
    return t


def _data_bits(x, data_bits):
    if data_bits is None:
        data_bits = x.dtype.itemsize * 8
    elif not _is_int(data_bits):
        raise TypeError(f"data_bits must be an int (8, 16 or 32) or None, got "
                        f"{type(data_bits).__name__}")
    data_bits = int(data_bits)
    if data_bits not in (8, 16, 32):
        raise ValueError(f"data_bits={data_bits}; the 2:4 layout exists for 8-, 16- and "
                         "32-bit data (pass data_bits for other dtypes)")
    return data_bits


def _layout(data_bits):
    """(group size, groups per word, word dtype)."""
    if data_bits == 8:
        return 4, 8, np.int32
    if data_bits == 16:
        return 4, 4, np.int16
    return 2, 4, np.int16


def _pack_words(nib, per_word, dtype):
    rows, G = nib.shape
    q = nib.reshape(rows, G // per_word, per_word).astype(np.int64)
    w = np.zeros(q.shape[:2], dtype=np.int64)
    for g in range(per_word):
        w |= q[:, :, g] << (4 * g)
    bits = np.dtype(dtype).itemsize * 8
    w = np.where(w >= (1 << (bits - 1)), w - (1 << bits), w)
    return w.astype(dtype)


def _unpack_words(meta, per_word):
    meta = np.asarray(meta).astype(np.int64)
    rows, W = meta.shape
    nib = np.empty((rows, W, per_word), dtype=np.int64)
    for g in range(per_word):
        nib[:, :, g] = (meta >> (4 * g)) & 0xF
    return nib.reshape(rows, W * per_word)


def compress_2_4(x, data_bits=None):
    """Compress a 2:4-sparse matrix x (rows, k) into the hardware layout of the module
    docstring: (values (rows, k/2) of x's dtype, metadata (rows, k / (4 * per_word)) int16
    or int32 words), before any CUTLASS reordering.

    data_bits: 8, 16 or 32; default x.dtype.itemsize * 8 (so float16/bfloat16/int16 ->
    int16 words, int8/uint8/fp8 -> int32 words, float32/int32 -> 1:2 with int16 words).
    k must be a multiple of 16 (16-bit), 32 (8-bit) or 8 (32-bit, 1:2). ValueError when a
    group has more than 2 (1:2: more than 1) non-zeros.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-d matrix, got {x.ndim} dimensions")
    x = _values(x, "x")
    bits = _data_bits(x, data_bits)
    gs, per_word, wdt = _layout(bits)
    rows, k = x.shape
    if k % (gs * per_word):
        raise ValueError(f"x.shape[1] = {k} must be a multiple of {gs * per_word} for "
                         f"{bits}-bit data")
    g = x.reshape(rows, k // gs, gs)
    nz = (g != 0)
    if gs == 4:
        code = nz[..., 0] * 1 + nz[..., 1] * 2 + nz[..., 2] * 4 + nz[..., 3] * 8
        nib = nibble_table()[code]
        if np.any(nib < 0):
            r, c = np.argwhere(nib < 0)[0]
            raise ValueError(f"group {c} of row {r} has more than 2 non-zeros; x is not 2:4 sparse")
        idx = np.stack([nib & 3, nib >> 2], axis=-1)
        vals = np.take_along_axis(g, idx, axis=-1).reshape(rows, k // 2)
    else:
        if np.any(nz.all(axis=-1)):
            r, c = np.argwhere(nz.all(axis=-1))[0]
            raise ValueError(f"pair {c} of row {r} has 2 non-zeros; 32-bit data is 1:2 sparse")
        first = nz[..., 0]
        nib = np.where(first, 0b0100, 0b1110)
        vals = np.where(first, g[..., 0], g[..., 1]).astype(x.dtype)
    return vals, _pack_words(nib, per_word, wdt)


def _nibbles(meta, rows, k, data_bits):
    gs, per_word, wdt = _layout(data_bits)
    meta = native(np.asarray(meta))
    if meta.dtype != np.dtype(wdt):
        raise TypeError(f"metadata must be {np.dtype(wdt).name} words for {data_bits}-bit data, "
                        f"got {meta.dtype}")
    if meta.shape != (rows, k // (gs * per_word)):
        raise ValueError(f"metadata has shape {meta.shape}; expected {(rows, k // (gs * per_word))}")
    nib = _unpack_words(meta, per_word)
    valid = (0b0100, 0b1110) if gs == 2 else VALID_NIBBLES
    bad = ~np.isin(nib, valid)
    if np.any(bad):
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"invalid metadata nibble {int(nib[r, c]):#06b} for group {c} of row {r}; "
                         f"valid: {', '.join(format(v, '#06b') for v in valid)}")
    return nib, gs


def _kept_columns(nib, gs):
    """Column index in the dense matrix of every stored value (rows, k/2), ascending."""
    rows, G = nib.shape
    if gs == 4:
        idx = np.stack([nib & 3, nib >> 2], axis=-1) + 4 * np.arange(G)[None, :, None]
        return idx.reshape(rows, 2 * G)
    return (nib >> 3) + 2 * np.arange(G)[None, :]


def _stored_columns(values, metadata, data_bits):
    """(values as a 2-d array, dense column of every stored value) of a compressed
    (values, metadata) pair, both validated."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-d, got {values.ndim} dimensions")
    values = _values(values, "values")
    bits = _data_bits(values, data_bits)
    nib, gs = _nibbles(metadata, values.shape[0], 2 * values.shape[1], bits)
    return values, _kept_columns(nib, gs)


def decompress_2_4(values, metadata, data_bits=None):
    """Dense (rows, k) matrix from compress_2_4's output (k = 2 * values.shape[1]).
    data_bits defaults to values.dtype.itemsize * 8. Invalid nibbles (0b0000, 0b0101,
    0b1010, 0b1111, and for 1:2 anything but 0b0100 / 0b1110) raise ValueError."""
    values, cols = _stored_columns(values, metadata, data_bits)
    rows, k = values.shape[0], 2 * values.shape[1]
    out = np.zeros((rows, k), dtype=values.dtype)
    np.put_along_axis(out, cols, values, axis=1)
    return out


def _cutlass_offsets(m, ncols, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.int16:
        G, I = 32, 4
    elif dtype == np.int32:
        G, I = 16, 2
    else:
        raise TypeError(f"metadata must be int16 or int32 words, got {dtype}")
    if m % G:
        raise ValueError(f"metadata has {m} rows; CUTLASS reordering needs a multiple of {G}")
    if ncols % 2:
        raise ValueError(f"metadata has {ncols} columns; CUTLASS reordering needs an even number")
    r = np.arange(m)[:, None] + np.zeros((1, ncols), dtype=np.int64)
    c = np.arange(ncols)[None, :] + np.zeros((m, 1), dtype=np.int64)
    rr = (r // G) * G + (r % 8) * I + (r % G) // 8
    tr = ((rr % 2 == 0) & (c % 2 == 1)).astype(np.int64)
    bl = ((rr % 2 == 1) & (c % 2 == 0)).astype(np.int64)
    rr = rr + tr - bl
    cc = c - tr + bl
    return ((cc // 2) * (2 * m) + rr * 2 + cc % 2).reshape(-1)


def reorder_metadata_cutlass(metadata):
    """Metadata words (rows, ncols) in the order CUTLASS's sparse GEMM reads them (see
    the module docstring for the exact mapping); same shape and dtype."""
    meta = native(np.asarray(metadata))
    if meta.ndim != 2:
        raise ValueError(f"metadata must be 2-d, got {meta.ndim} dimensions")
    off = _cutlass_offsets(meta.shape[0], meta.shape[1], meta.dtype)
    out = np.empty(meta.size, dtype=meta.dtype)
    out[off] = meta.reshape(-1)
    return out.reshape(meta.shape)


def unreorder_metadata_cutlass(reordered):
    """Inverse of reorder_metadata_cutlass."""
    meta = native(np.asarray(reordered))
    if meta.ndim != 2:
        raise ValueError(f"metadata must be 2-d, got {meta.ndim} dimensions")
    off = _cutlass_offsets(meta.shape[0], meta.shape[1], meta.dtype)
    return meta.reshape(-1)[off].reshape(meta.shape)


def spmm_2_4(values, metadata, b, *, data_bits=None, b_zero=0, acc_bits=32, overflow="wrap"):
    """A @ b straight from the 2:4 (or 1:2) compressed form of A (values, metadata as
    compress_2_4 returns them, not CUTLASS-reordered). Integer values and b: the
    integer GEMM rules (sum of a * (b - b_zero) over the stored values in ascending k,
    accumulator acc_bits with overflow "wrap" | "saturate" | "exact" | "raise" and the
    result dtype of refquant.intops.gemm; A's codes are symmetric, as on sparse tensor
    cores, so a padded zero contributes 0). Otherwise float64 products summed in ascending k.
    b: (k, n) matrix or length-k vector."""
    values, cols = _stored_columns(values, metadata, data_bits)
    rows, k = values.shape[0], 2 * values.shape[1]
    cols = np.ascontiguousarray(cols.reshape(-1))
    per = cols.size // max(rows, 1)
    indptr = np.arange(rows + 1, dtype=np.int64) * per
    mode, abits = check_acc(acc_bits, overflow)
    b2, vec = dense_rhs(b, k)
    if values.dtype.kind in "iub" and b2.dtype.kind in "iub":
        bb = int_rhs(b2, b_zero)
        az = np.zeros(rows, dtype=np.int64)
        d = values.reshape(-1)
        if d.size:
            check_factor(d, "values")           # by value: uint64 is not reinterpreted
            if check_exact_for(mode):
                check_exact_bound(absmax(d), absmax(bb), k)
        d = d.astype(np.int64)
        out = np.empty((rows, b2.shape[1]), dtype=np.int64)
        raise_status(K.csr_spmm_int(indptr, cols, d, az, bb, kernel_mode(mode), abits, out),
                     "spmm_2_4")
        out = finish_int(out, mode, abits)
    else:
        if np.any(np.asarray(b_zero) != 0):
            raise ValueError("b_zero applies to integer products only")
        out = np.empty((rows, b2.shape[1]), dtype=np.float64)
        raise_status(K.csr_spmm_float(indptr, cols,
                                      np.ascontiguousarray(values.astype(np.float64).reshape(-1)),
                                      np.ascontiguousarray(b2, dtype=np.float64), out),
                     "spmm_2_4")
    return out[:, 0] if vec else out

"""N:M structured sparsity (masks, compression) and the 2:4 metadata layout of sparse
tensor cores, with products straight from it."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._deprecate import renamed_kwargs
from .._lazy import kernels
from .._validate import MAX_BYTES, check_bytes, check_int, is_int, native, norm_axis
from ..modes import Overflow
from ._common import (absmax, check_acc, check_exact_bound, check_exact_for, check_factor,
                      dense_rhs, finish_int, int_array, int_rhs, kernel_mode, raise_status)

_k = kernels("sparse")

__all__ = ["nm_mask", "is_nm", "check_nm", "nm_compress", "nm_decompress", "compress_2_4",
           "decompress_2_4", "reorder_metadata_cutlass", "unreorder_metadata_cutlass",
           "spmm_2_4", "VALID_NIBBLES", "nibble_table"]

#: The six valid 2:4 metadata nibbles idx0 | idx1 << 2 (idx0 < idx1 the kept positions).
VALID_NIBBLES = (0b0100, 0b1000, 0b1001, 0b1100, 0b1101, 0b1110)

M_MAX = 2 ** 62


def nm_params(n: Any, m: Any) -> tuple[int, int]:
    """(n, m) as Python ints with 1 <= n <= m <= 2**62."""
    n = check_int(n, "n", lo=1)
    m = check_int(m, "m", lo=1, hi=M_MAX)
    if n > m:
        raise ValueError(f"n={n} > m={m}; N:M sparsity needs n <= m")
    return n, m


def index_dtype(m: int) -> np.dtype:
    """The narrowest unsigned dtype holding the positions 0..m-1: uint8 for m <= 256,
    uint16 for m <= 65536, uint32 for m <= 2^32, uint64 beyond."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if m - 1 <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def _values(w: Any, name: str = "w") -> np.ndarray:
    """w as an array of numbers (integers, floats, booleans or ml_dtypes' types such as
    bfloat16 / float8, whose NumPy kind is 'V'); TypeError for anything else."""
    w = np.asarray(w)
    if w.dtype.kind not in "iubfV" or w.dtype.fields is not None:
        raise TypeError(f"{name} must be real, got dtype {w.dtype}")
    return w


def magnitudes(g: np.ndarray) -> np.ndarray:
    """Exact |g| with an order-preserving dtype: float64 for floats (exact for float16/32),
    uint64 for integers (so |-2^63| and values beyond 2^53 compare exactly)."""
    if g.dtype.kind in "bu":
        return g.astype(np.uint64)
    if g.dtype.kind == "i":
        x = g.astype(np.int64)
        neg = x < 0
        mag = x.astype(np.uint64)
        mag[neg] = (-(x[neg] + 1)).astype(np.uint64) + np.uint64(1)
        return mag
    return np.abs(g.astype(np.float64))


def _groups(w: Any, m: int, axis: Any, name: str = "w",
            mname: str = "m") -> tuple[int, np.ndarray, np.ndarray]:
    """w with ``axis`` moved last and split into groups: (axis, moved array, (G, m) view)."""
    w = np.asarray(w)
    if w.ndim == 0:
        raise ValueError(f"{name} must have at least one axis")
    ax = norm_axis(axis, w.ndim)
    if w.shape[ax] % m:
        raise ValueError(f"{name}.shape[{ax}] = {w.shape[ax]} is not divisible by {mname}={m}")
    moved = np.moveaxis(w, ax, -1)
    return ax, moved, moved.reshape(-1, m)


def nm_mask(w: npt.ArrayLike, n: int, m: int, axis: int = -1) -> np.ndarray:
    """Boolean mask keeping the n largest |w| in every group of m consecutive elements
    along ``axis`` (the other m - n are False): N:M sparsity, at most n non-zeros in
    every group of m along the reduction axis of a GEMM (the last axis of A in A @ B).
    Ties go to the lower index inside the group (NVIDIA Apex ASP m4n2_1d picks by
    magnitude the same way; its tie order is that of torch.topk, unspecified).
    w: real array, no NaN; w.shape[axis] % m == 0. Magnitudes are exact: float64 for
    floats, uint64 for integers (int64 values that float64 would round, and -2^63,
    compare correctly).
    """
    n, m = nm_params(n, m)
    wa = np.asarray(w)
    if wa.dtype.kind not in "iubf":
        raise TypeError(f"w must be real, got dtype {wa.dtype}")
    ax, moved, g = _groups(wa, m, axis)
    a = magnitudes(native(g))
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError("w contains NaN; magnitudes must be comparable")
    out = np.empty(a.shape, dtype=np.uint8)
    _k.nm_select(np.ascontiguousarray(a), n, out)
    return np.moveaxis(out.reshape(moved.shape).astype(bool), -1, ax)


def is_nm(w: npt.ArrayLike, n: int, m: int, axis: int = -1) -> bool:
    """True when every group of m consecutive elements along ``axis`` has at most n
    non-zeros (w.shape[axis] % m == 0 required; NaN counts as a non-zero)."""
    n, m = nm_params(n, m)
    _, _, g = _groups(_values(w), m, axis)
    return bool(((g != 0).sum(axis=1) <= n).all())


def check_nm(w: npt.ArrayLike, n: int, m: int, axis: int = -1) -> None:
    """Raise ValueError naming the first group with more than n non-zeros."""
    n, m = nm_params(n, m)
    _, _, g = _groups(_values(w), m, axis)
    cnt = (g != 0).sum(axis=1)
    bad = np.flatnonzero(cnt > n)
    if bad.size:
        raise ValueError(f"group {int(bad[0])} (along axis {axis}) has {int(cnt[bad[0]])} "
                         f"non-zeros; {n}:{m} allows {n}")


def nm_compress(w: npt.ArrayLike, n: int, m: int,
                axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Compress an N:M-sparse array along ``axis``: (values, indices), each with
    w.shape[axis] * n / m along the axis. Per group, indices are the positions (0..m-1,
    ascending) of the non-zeros, padded with the lowest unused positions when the
    group has fewer than n; values are w at those positions. The index dtype is the
    narrowest that holds m - 1 (uint8 up to m = 256, uint16 up to 65536, uint32 up to
    2^32, else uint64), so every position is stored exactly.
    ValueError if a group has more than n non-zeros."""
    n, m = nm_params(n, m)
    wa = _values(w)
    check_nm(wa, n, m, axis)
    ax, moved, g = _groups(wa, m, axis)
    nz = g != 0
    # rank positions: non-zeros first, then zeros, each ascending; keep the first n, sorted
    key = np.where(nz, 0, m) + np.arange(m)[None, :]
    idx = np.sort(np.argsort(key, axis=1, kind="stable")[:, :n], axis=1)
    vals = np.take_along_axis(g, idx, axis=1)
    shape = moved.shape[:-1] + (moved.shape[-1] // m * n,)
    return (np.moveaxis(vals.reshape(shape), -1, ax),
            np.moveaxis(idx.astype(index_dtype(m)).reshape(shape), -1, ax))


def nm_decompress(values: npt.ArrayLike, indices: npt.ArrayLike, n: int, m: int,
                  axis: int = -1, *, max_bytes: int | None = MAX_BYTES) -> np.ndarray:
    """Inverse of nm_compress: dense array with values[..] at their positions. Indices
    (any integer dtype, taken by value) must lie in [0, m - 1] and be strictly increasing
    inside each group (ValueError). ValueError when the result (values.size / n * m
    elements) would exceed ``max_bytes`` (default 4 GiB; None: no limit)."""
    n, m = nm_params(n, m)
    va = _values(values, "values")
    ia = int_array(indices, "indices", 0, m - 1)
    if va.shape != ia.shape:
        raise ValueError(f"values {va.shape} and indices {ia.shape} differ in shape")
    ax, moved, gv = _groups(va, n, axis, "values", "n")
    check_bytes(va.size // n * m * va.dtype.itemsize, "nm_decompress", max_bytes)
    gi = np.moveaxis(ia, ax, -1).reshape(-1, n)
    if n > 1 and np.any(np.diff(gi, axis=1) <= 0):
        raise ValueError("indices must be strictly increasing inside every group")
    out = np.zeros((gv.shape[0], m), dtype=va.dtype)
    np.put_along_axis(out, gi, gv, axis=1)
    shape = moved.shape[:-1] + (moved.shape[-1] // n * m,)
    return np.moveaxis(out.reshape(shape), -1, ax)


# ----------------------------------------------------------------------------------------
# the 2:4 metadata layout of sparse tensor cores


def nibble_table() -> np.ndarray:
    """The 16-entry table: non-zero pattern m0 | m1<<1 | m2<<2 | m3<<3 -> nibble, for
    patterns with at most two non-zeros; -1 for patterns with three or four non-zeros.

    A group with two non-zeros keeps their positions. A sparser group still needs a
    valid nibble; its kept positions are filled up to two with position 2, then 3 (the
    rule of PyTorch's CUTLASS conversion, ``sparse_semi_structured_from_dense_cutlass``):
        0000 -> {2,3}   only 3 -> {2,3}   only 2 -> {2,3}   only 1 -> {1,2}   only 0 -> {0,2}
    """
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


def _bits(x: np.ndarray, bits: Any) -> int:
    if bits is None:
        bits = x.dtype.itemsize * 8
    elif not is_int(bits):
        raise TypeError(f"bits must be an int (8, 16 or 32) or None, got "
                        f"{type(bits).__name__}")
    bits = int(bits)
    if bits not in (8, 16, 32):
        raise ValueError(f"bits={bits}; the 2:4 layout exists for 8-, 16- and 32-bit data "
                         "(pass bits for other dtypes)")
    return bits


def _layout(bits: int) -> tuple[int, int, type]:
    """(group size, groups per word, word dtype)."""
    if bits == 8:
        return 4, 8, np.int32
    if bits == 16:
        return 4, 4, np.int16
    return 2, 4, np.int16


def _pack_words(nib: np.ndarray, per_word: int, dtype: type) -> np.ndarray:
    rows, G = nib.shape
    q = nib.reshape(rows, G // per_word, per_word).astype(np.int64)
    w = np.zeros(q.shape[:2], dtype=np.int64)
    for g in range(per_word):
        w |= q[:, :, g] << (4 * g)
    width = np.dtype(dtype).itemsize * 8
    w = np.where(w >= (1 << (width - 1)), w - (1 << width), w)
    return w.astype(dtype)


def _unpack_words(meta: np.ndarray, per_word: int) -> np.ndarray:
    meta = np.asarray(meta).astype(np.int64)
    rows, W = meta.shape
    nib = np.empty((rows, W, per_word), dtype=np.int64)
    for g in range(per_word):
        nib[:, :, g] = (meta >> (4 * g)) & 0xF
    return nib.reshape(rows, W * per_word)


@renamed_kwargs(data_bits="bits")
def compress_2_4(x: npt.ArrayLike, bits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Compress a 2:4-sparse matrix x (rows, k) into the layout of NVIDIA sparse tensor
    cores (PTX ``mma.sp``; PyTorch / CUTLASS semi-structured sparsity), before any
    CUTLASS reordering: (values, metadata).

    * values (rows, k/2), x's dtype: the two kept elements of every group of 4, in
      ascending position;
    * one 4-bit nibble per group, idx0 | idx1 << 2 with idx0 < idx1 the kept positions:
      0b0100 {0,1}, 0b1000 {0,2}, 0b1001 {1,2}, 0b1100 {0,3}, 0b1101 {1,3}, 0b1110 {2,3}
      (``VALID_NIBBLES``); a group with fewer than two non-zeros keeps the positions
      ``nibble_table`` gives, storing zeros there;
    * metadata (rows, k / (4 * per_word)): nibbles packed little-endian (group g of a
      word at bits 4g..4g+3) into int16 words (4 groups) for 16-bit data and int32 words
      (8 groups) for 8-bit data;
    * 32-bit data (tf32 / fp32) is 1:2: groups are pairs, values hold the kept element of
      each pair, and the nibble is 0b0100 (element 0) or 0b1110 (element 1), 4 pairs per
      int16 word -- the 2:4 encoding of the pair seen as four 16-bit halves. A zero pair
      keeps element 1.

    bits: 8, 16 or 32; default x.dtype.itemsize * 8 (so float16/bfloat16/int16 -> int16
    words, int8/uint8/fp8 -> int32 words, float32/int32 -> 1:2 with int16 words).
    k must be a multiple of 16 (16-bit), 32 (8-bit) or 8 (32-bit, 1:2). ValueError when a
    group has more than 2 (1:2: more than 1) non-zeros (PyTorch would silently drop some).

    The name keeps the hardware's: the layout fixes n:m by ``bits`` (2:4, or 1:2 for
    32-bit data), so it takes no ``n, m`` as the general ``nm_compress`` does.
    """
    xa = np.asarray(x)
    if xa.ndim != 2:
        raise ValueError(f"x must be a 2-d matrix, got {xa.ndim} dimensions")
    xa = _values(xa, "x")
    nbits = _bits(xa, bits)
    gs, per_word, wdt = _layout(nbits)
    rows, k = xa.shape
    if k % (gs * per_word):
        raise ValueError(f"x.shape[1] = {k} must be a multiple of {gs * per_word} for "
                         f"{nbits}-bit data")
    g = xa.reshape(rows, k // gs, gs)
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
        vals = np.where(first, g[..., 0], g[..., 1]).astype(xa.dtype)
    return vals, _pack_words(nib, per_word, wdt)


def _nibbles(meta: Any, rows: int, k: int, bits: int) -> tuple[np.ndarray, int]:
    gs, per_word, wdt = _layout(bits)
    meta = native(np.asarray(meta))
    if meta.dtype != np.dtype(wdt):
        raise TypeError(f"metadata must be {np.dtype(wdt).name} words for {bits}-bit data, "
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


def _kept_columns(nib: np.ndarray, gs: int) -> np.ndarray:
    """Column index in the dense matrix of every stored value (rows, k/2), ascending."""
    rows, G = nib.shape
    if gs == 4:
        idx = np.stack([nib & 3, nib >> 2], axis=-1) + 4 * np.arange(G)[None, :, None]
        return idx.reshape(rows, 2 * G)
    return (nib >> 3) + 2 * np.arange(G)[None, :]


def _stored_columns(values: Any, metadata: Any, bits: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values as a 2-d array, dense column of every stored value) of a compressed
    (values, metadata) pair, both validated."""
    va = np.asarray(values)
    if va.ndim != 2:
        raise ValueError(f"values must be 2-d, got {va.ndim} dimensions")
    va = _values(va, "values")
    nib, gs = _nibbles(metadata, va.shape[0], 2 * va.shape[1], _bits(va, bits))
    return va, _kept_columns(nib, gs)


@renamed_kwargs(data_bits="bits")
def decompress_2_4(values: npt.ArrayLike, metadata: npt.ArrayLike,
                   bits: int | None = None) -> np.ndarray:
    """Dense (rows, k) matrix from compress_2_4's output (k = 2 * values.shape[1]).
    bits defaults to values.dtype.itemsize * 8. Invalid nibbles (0b0000, 0b0101,
    0b1010, 0b1111, and for 1:2 anything but 0b0100 / 0b1110) raise ValueError."""
    va, cols = _stored_columns(values, metadata, bits)
    rows, k = va.shape[0], 2 * va.shape[1]
    out = np.zeros((rows, k), dtype=va.dtype)
    np.put_along_axis(out, cols, va, axis=1)
    return out


def _cutlass_offsets(m: int, ncols: int, dtype: Any) -> np.ndarray:
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


def reorder_metadata_cutlass(metadata: npt.ArrayLike) -> np.ndarray:
    """Metadata words (rows, ncols) in the order CUTLASS's sparse GEMM reads them
    (ColumnMajorInterleaved<2> storage after a 2x2 swizzle); same shape and dtype.

    Metadata element (r, c) of an (m, ncols) matrix goes to row
    r' = (r // G) * G + (r % 8) * I + (r % G) // 8 with (G, I) = (32, 4) for int16 words
    and (16, 2) for int32 words; then a 2x2 swizzle: if r' is even and c is odd,
    (r', c) -> (r' + 1, c - 1); if r' is odd and c is even, (r', c) -> (r' - 1, c + 1);
    finally the flat offset (c // 2) * 2m + 2 r' + c % 2 of the output buffer viewed as
    (m, ncols). Requires m % G == 0 and ncols even."""
    meta = native(np.asarray(metadata))
    if meta.ndim != 2:
        raise ValueError(f"metadata must be 2-d, got {meta.ndim} dimensions")
    off = _cutlass_offsets(meta.shape[0], meta.shape[1], meta.dtype)
    out = np.empty(meta.size, dtype=meta.dtype)
    out[off] = meta.reshape(-1)
    return out.reshape(meta.shape)


def unreorder_metadata_cutlass(reordered: npt.ArrayLike) -> np.ndarray:
    """Inverse of reorder_metadata_cutlass."""
    meta = native(np.asarray(reordered))
    if meta.ndim != 2:
        raise ValueError(f"metadata must be 2-d, got {meta.ndim} dimensions")
    off = _cutlass_offsets(meta.shape[0], meta.shape[1], meta.dtype)
    return meta.reshape(-1)[off].reshape(meta.shape)


@renamed_kwargs(data_bits="bits", b_zero="b_zero_point")
def spmm_2_4(values: npt.ArrayLike, metadata: npt.ArrayLike, b: npt.ArrayLike, *,
             bits: int | None = None, b_zero_point: npt.ArrayLike = 0, acc_bits: int = 32,
             overflow: Overflow | str = Overflow.WRAP) -> np.ndarray:
    """A @ b straight from the 2:4 (or 1:2) compressed form of A (values, metadata as
    compress_2_4 returns them, not CUTLASS-reordered; ``bits`` as there).

    Integer values and b: the integer GEMM rules of ``CSR.matmul`` -- the sum of
    a * (b - b_zero_point) over the stored values in ascending k, an ``acc_bits``
    accumulator with ``overflow`` EXACT | WRAP | SATURATE | RAISE and the result dtype of
    refquant.intops.gemm; A's codes are symmetric, as on sparse tensor cores, so a padded
    zero contributes 0. Otherwise float64 products summed in ascending k.
    b: (k, n) matrix or length-k vector."""
    va, cols = _stored_columns(values, metadata, bits)
    rows, k = va.shape[0], 2 * va.shape[1]
    cols = np.ascontiguousarray(cols.reshape(-1))
    per = cols.size // max(rows, 1)
    indptr = np.arange(rows + 1, dtype=np.int64) * per
    ov, abits = check_acc(acc_bits, overflow)
    b2, vec = dense_rhs(b, k)
    if va.dtype.kind in "iub" and b2.dtype.kind in "iub":
        bb = int_rhs(b2, b_zero_point)
        az = np.zeros(rows, dtype=np.int64)
        d = va.reshape(-1)
        if d.size:
            check_factor(d, "values")           # by value: uint64 is not reinterpreted
            if check_exact_for(ov):
                check_exact_bound(absmax(d), absmax(bb), k, ov)
        d = d.astype(np.int64)
        out = np.empty((rows, b2.shape[1]), dtype=np.int64)
        raise_status(_k.csr_spmm_int(indptr, cols, d, az, bb, kernel_mode(ov), abits, out),
                     "spmm_2_4")
        out = finish_int(out, ov, abits)
    else:
        if np.any(np.asarray(b_zero_point) != 0):
            raise ValueError("b_zero_point applies to integer products only")
        out = np.empty((rows, b2.shape[1]), dtype=np.float64)
        raise_status(_k.csr_spmm_float(indptr, cols,
                                       np.ascontiguousarray(va.astype(np.float64).reshape(-1)),
                                       np.ascontiguousarray(b2, dtype=np.float64), out),
                     "spmm_2_4")
    return out[:, 0] if vec else out

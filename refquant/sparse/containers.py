"""CSR, CSC, COO and BSR sparse matrices in canonical form, with exact products.

Canonical form (what ``check()`` enforces and every constructor produces):
  * CSR / CSC: ``indptr`` of length (major + 1), starting at 0, non-decreasing, ending at
    nnz; ``indices`` strictly increasing inside every row (column) -- sorted, no
    duplicates -- and in bounds; ``data`` of length nnz; no explicit zeros.
  * COO: entries sorted by (row, column), no duplicates, in bounds, no explicit zeros.
  * BSR: shape divisible by the block shape (R, C); ``indptr`` over block rows,
    block-column ``indices`` strictly increasing per block row; ``data`` of shape
    (nnzb, R, C); no block that is entirely zero (zeros inside a kept block are allowed).
"Zero" is the value 0, or for quantized storage the code that means 0 (the zero point of
integer formats; a code decoding to +-0 for other formats).

Products (``A @ b`` and ``A.matmul(b, ...)``, b a dense vector or matrix):
  * both integer: sum_k (a[i, k] - a_zero[i]) * (b[k, j] - b_zero[j]) with an
    accumulator of ``acc_bits`` (default 32) and ``overflow`` "wrap" (default; the exact
    sum modulo 2^acc_bits, signed), "saturate" (clamp after every product, in ascending
    k), "exact" (int64; OverflowError when the operands could leave int64) or "raise"
    (exact, OverflowError when a result leaves the accumulator) -- the rules of the dense
    integer GEMM refquant.intops.gemm, and its result dtype: int32 for acc_bits <= 32,
    int64 for wider accumulators and for "exact".
  * otherwise: float64 products and sums, each row summed in ascending k from +0.0 --
    bit-identical to scipy.sparse's CSR product on float64 operands.
Quantized containers (``from_qtensor``) of integer formats multiply their codes in the
integer rules above with a_zero = the row's zero point; other formats multiply their
dequantized values in float64. Integer values of any dtype (uint64 included) enter
products by value: a factor outside [-2^31, 2^31] is a ValueError, never reinterpreted.

Memory safety: every constructor copies the arrays it is given (index arrays as int64,
data in native byte order) and stores them read-only, so changing the caller's arrays
afterwards changes nothing. ``check=False`` skips only the canonical-form checks
(sorted, unique, no explicit zeros; products then sum in stored order); the structural
invariants (lengths, indptr monotone within [0, nnz], indices in bounds, integer index
dtypes) are checked at construction and again before every kernel call, to_dense,
dequantize and conversion -- O(nnz) -- and the product kernels check every index they
follow as well, so a structure reassigned after construction raises ValueError instead
of reading or writing out of bounds.

Dense results (to_dense, dequantize, the result of matmul) are limited to ``max_bytes``
(default 4 GiB, refquant.sparse._common.MAX_BYTES; None: no limit): a shape that would
need more is a ValueError naming the bytes.

Sources: scipy.sparse (layout, product order), the spec note of this project.
"""
from __future__ import annotations

import numpy as np

from .._lazy import kernels as _lazy_kernels
K = _lazy_kernels("sparse")
from ._common import (MAX_BYTES, absmax, as_int64, check_acc, check_bytes, check_exact_bound,
                      check_exact_for, check_factor, dense_rhs, exact_sub, finish_int,
                      int_array, int_rhs, kernel_mode, native, raise_status)

__all__ = ["CSR", "CSC", "COO", "BSR"]


def _as_dense2d(x, name="x"):
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array, got {x.ndim} dimensions")
    if x.dtype.kind not in "iubf":
        raise TypeError(f"{name} must hold integers, floats or booleans, got dtype {x.dtype}")
    return x


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_shape(shape):
    """(rows, cols) as Python ints: two ints in [0, 2^63)."""
    try:
        entries = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a pair of ints, got {shape!r}") from None
    if isinstance(shape, (str, bytes)) or not all(_is_int(v) for v in entries):
        raise TypeError(f"shape must be a pair of ints, got {shape!r}")
    if len(entries) != 2:
        raise ValueError(f"shape must have two entries, got {shape!r}")
    r, c = (int(v) for v in entries)
    if r < 0 or c < 0:
        raise ValueError(f"shape must be non-negative, got {shape!r}")
    if r >= 2 ** 63 or c >= 2 ** 63:
        raise ValueError(f"shape entries must be < 2**63, got {shape!r}")
    return r, c


def _check_flag(check):
    if not isinstance(check, (bool, np.bool_)):
        raise TypeError(f"check must be a bool, got {type(check).__name__}")
    return bool(check)


def _frozen(a, copy):
    """a stored read-only: a private copy when ``copy``, else a itself (callers pass
    arrays nobody else holds)."""
    if copy:
        a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _index(x, name, copy):
    """An index array as int64 (by value), read-only; copied when ``copy``."""
    a = as_int64(x, name) if copy else _index_view(x, name)
    return _frozen(a, False)


def _index_view(x, name):
    """x as a contiguous int64 array (no copy when it already is one), integers only."""
    a = int_array(x, name)
    if a.dtype == np.int64:
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(as_int64(a, name))


def _data(x, copy):
    """Stored values: native byte order, read-only; a private copy when ``copy``."""
    a = np.asarray(x)
    b = native(a)
    return _frozen(b, copy and b is a)


def _indptr_of(major, nmajor):
    """indptr of entries whose major indices ``major`` are already in ascending order."""
    indptr = np.zeros(nmajor + 1, dtype=np.int64)
    np.cumsum(np.bincount(major, minlength=nmajor), out=indptr[1:])
    return indptr


def _scipy_input(m):
    import scipy.sparse as sp
    if not sp.issparse(m):
        raise TypeError(f"m must be a scipy.sparse matrix or array, got {type(m).__name__}")
    return m


class _Quant:
    """Quantization metadata and the operations common to all containers (None when
    unquantized). A container provides shape, data, nnz, _triples() and, except COO,
    indices, indptr and the product kernels named by _kernel."""

    fmt = None
    scale = None
    zero_point = None
    qaxis = None
    _kernel = None          # prefix of the kernels.sparse product kernels

    @property
    def dtype(self):
        """dtype of the stored values (codes when quantized)."""
        return self.data.dtype

    def _set_quant(self, fmt, scale, zero_point, qaxis):
        self.fmt = fmt
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        if zero_point is None:
            self.zero_point = None
        elif np.asarray(zero_point).dtype.kind in "iu":
            self.zero_point = as_int64(zero_point, "zero_point")
        else:
            self.zero_point = np.asarray(zero_point, dtype=np.int64)
        self.qaxis = qaxis

    @property
    def is_quantized(self):
        """True when the stored values are codes of ``fmt`` with scales and zero points."""
        return self.fmt is not None

    def _copy_quant(self, other):
        other._set_quant(self.fmt, self.scale, self.zero_point, self.qaxis)
        return other

    def _entry_is_zero(self, data, rows, cols):
        """Which stored entries represent the value 0."""
        if self.fmt is None:
            return data == 0
        if not self.fmt.is_integer:
            return np.asarray(self.fmt.decode(data), dtype=np.float64) == 0
        z = self.zero_point
        if z.ndim == 0:
            return data.astype(np.int64) == int(z)
        idx = rows if self.qaxis == 0 else cols
        return data.astype(np.int64) == z[idx]

    def _entry_values(self, data, rows, cols):
        """Real values of stored entries (float64)."""
        if self.fmt is None:
            return data.astype(np.float64)
        if self.fmt.is_integer:
            v = data.astype(np.float64)
        else:
            v = np.asarray(self.fmt.decode(data), dtype=np.float64)
        z = 0 if self.zero_point is None else self.zero_point
        s = self.scale
        if s.ndim:
            idx = rows if self.qaxis == 0 else cols
            s = s[idx]
            if np.ndim(z):
                z = z[idx]
        return (v - z) * s

    def _a_zero(self, nrows):
        if self.fmt is None or not self.fmt.is_integer:
            return np.zeros(nrows, dtype=np.int64)
        z = self.zero_point
        if z.ndim == 0:
            return np.full(nrows, int(z), dtype=np.int64)
        if self.qaxis == 0:
            return z.astype(np.int64)
        if np.all(z == 0):
            return np.zeros(nrows, dtype=np.int64)
        raise ValueError("integer products need one zero point per row (qaxis 0) or per "
                         "tensor; this matrix has non-zero zero points per column")

    def _int_mode(self, b2):
        """True: integer product; False: float64 product."""
        if self.fmt is not None:
            return self.fmt.is_integer and b2.dtype.kind in "iub"
        return self.dtype.kind in "iub" and b2.dtype.kind in "iub"

    def _float_data(self):
        """Stored entries as float64 values, in data's shape."""
        if self.fmt is None:
            return self.data.astype(np.float64)
        r, c, v = self._triples()
        return self._entry_values(v, r, c).reshape(self.data.shape)

    @staticmethod
    def _from_qtensor(qt):
        codes = np.asarray(qt.codes)
        if codes.ndim != 2:
            raise ValueError(f"qt must be 2-d, got shape {codes.shape}")
        if qt.granularity == "tensor":
            qaxis = None
        elif qt.granularity == "axis":
            qaxis = qt.axis
        else:
            raise ValueError(f"qt.granularity={qt.granularity!r}; sparse storage takes "
                             "'tensor' or 'axis' scales")
        fmt = qt.fmt
        if fmt.is_integer:
            z = np.asarray(qt.zero_point, dtype=np.int64)
            zfull = z if z.ndim == 0 else (z[:, None] if qaxis == 0 else z[None, :])
            nz = codes.astype(np.int64) != zfull
        else:
            nz = np.asarray(fmt.decode(codes), dtype=np.float64) != 0
        return codes, nz, (fmt, qt.scale, qt.zero_point, qaxis)

    def _with_quant(self, q):
        """Attach the quantization q (as _from_qtensor returns it) and validate."""
        self._set_quant(*q)
        return self.check()

    def dequantize(self, *, max_bytes=MAX_BYTES):
        """Dense float64 matrix of the real values: (code - zero_point) * scale for
        quantized storage (decode(code) * scale for non-integer formats), data as float64
        otherwise; implicit entries are 0. ValueError when the result would exceed
        ``max_bytes`` (see the module docstring)."""
        check_bytes(self.shape[0] * self.shape[1] * 8, "dequantize", max_bytes)
        r, c, v = self._triples()
        out = np.zeros(self.shape, dtype=np.float64)
        out[r, c] = self._entry_values(v, r, c)
        return out

    def to_dense(self, *, max_bytes=MAX_BYTES):
        """Dense array of the stored data (data dtype; implicit entries 0). Quantized
        storage returns the codes with implicit entries set to the zero code; use
        dequantize() for real values. ValueError when the result would exceed
        ``max_bytes`` (see the module docstring)."""
        check_bytes(self.shape[0] * self.shape[1] * self.dtype.itemsize, "to_dense", max_bytes)
        r, c, v = self._triples()
        if self.fmt is not None and self.fmt.is_integer:
            z = self.zero_point
            zfull = z if z.ndim == 0 else (z[:, None] if self.qaxis == 0 else z[None, :])
            out = np.broadcast_to(zfull, self.shape).astype(self.dtype)
        else:
            out = np.zeros(self.shape, dtype=self.dtype)
        out[r, c] = v
        return out

    def __matmul__(self, b):
        return self.matmul(b)

    def matmul(self, b, *, b_zero=0, acc_bits=32, overflow="wrap", max_bytes=MAX_BYTES):
        """self @ b (see the module docstring for the exact rules). b: dense vector
        (result a vector) or matrix; b_zero: integer scalar or one per column of b.
        ValueError when the result would exceed ``max_bytes`` (default 4 GiB)."""
        mode, bits = check_acc(acc_bits, overflow)
        b2, vec = dense_rhs(b, self.shape[1])
        check_bytes(self.shape[0] * b2.shape[1] * 8, f"{type(self).__name__}.matmul",
                    max_bytes)
        if self._int_mode(b2):
            bb = int_rhs(b2, b_zero)
            az = self._a_zero(self.shape[0])
            out = np.empty((self.shape[0], b2.shape[1]), dtype=np.int64)
            self._matmul_int(az, bb, mode, bits, out)
            out = finish_int(out, mode, bits)
        else:
            if np.any(np.asarray(b_zero) != 0):
                raise ValueError("b_zero applies to integer products only")
            bf = np.ascontiguousarray(b2, dtype=np.float64)
            out = np.empty((self.shape[0], b2.shape[1]), dtype=np.float64)
            self._matmul_float(bf, out)
        return out[:, 0] if vec else out

    def _matmul_int(self, az, bb, mode, bits, out):
        indptr, indices, data = self._structure()
        d, az = self._prep_int(data, az, bb, mode)
        kernel = getattr(K, f"{self._kernel}_spmm_int")
        raise_status(kernel(indptr, indices, d, az, bb, kernel_mode(mode), bits, out),
                     type(self).__name__)

    def _matmul_float(self, bf, out):
        indptr, indices, _ = self._structure()
        kernel = getattr(K, f"{self._kernel}_spmm_float")
        raise_status(kernel(indptr, indices, self._float_data(), bf, out), type(self).__name__)

    def _prep_int(self, d, az, bb, mode):
        """Checks of the integer operands, by value (every a - a_zero within
        [-2^31, 2^31]; for exact policies, a bound that keeps the sum inside int64).
        Returns (data, a_zero) for the kernels: data itself (no copy) when it is a signed
        integer array and a_zero is all zero, else the exact a - a_zero as int64 with a
        zero a_zero -- the same products either way."""
        if not d.size:
            return d.astype(np.int64), az
        if np.any(az):
            r = self._triples()[0]
            shifted = exact_sub(d.reshape(-1), az[r])
            check_factor(shifted, "a - a_zero")
            d = shifted.astype(np.int64).reshape(d.shape)
            az = np.zeros_like(az)
        else:
            check_factor(d, "a - a_zero")
            if d.dtype.kind == "b" or d.dtype == np.uint64:
                d = d.astype(np.int64)
        if check_exact_for(mode):
            check_exact_bound(absmax(d), absmax(bb), self.shape[1])
        return d, az

    def _check_data_dtype(self, name, d=None):
        d = self.data if d is None else d
        if d.dtype.kind not in "iubf":
            raise ValueError(f"{name}.data must hold integers or floats, got {d.dtype}")

    def __repr__(self):
        q = f", fmt={self.fmt.name}" if self.fmt is not None else ""
        return f"{type(self).__name__}(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype}{q})"


class _Indexed(_Quant):
    """Common code of CSR, CSC and BSR: entries (or blocks) grouped along a major axis
    by ``indptr``, with minor-axis ``indices`` strictly increasing inside each group."""

    def __init__(self, data, indices, indptr, shape, *, check=True):
        self._init(data, indices, indptr, shape, check, copy=True)

    def _init(self, data, indices, indptr, shape, check, copy):
        """Store (copies when ``copy``, always read-only) and validate: the structure
        always, the canonical form when ``check``."""
        check = _check_flag(check)
        self.shape = _check_shape(shape)
        name = type(self).__name__
        self.data = _data(data, copy)
        self.indices = _index(indices, f"{name}.indices", copy)
        self.indptr = _index(indptr, f"{name}.indptr", copy)
        if check:
            self.check()
        else:
            self._structure()

    @classmethod
    def _new(cls, data, indices, indptr, shape, check=False):
        """Constructor for arrays built here (taken without a copy, then frozen)."""
        obj = cls.__new__(cls)
        obj._init(data, indices, indptr, shape, check, copy=False)
        return obj

    _data_ndim = 1          # data holds entries (1) or (R, C) blocks (3)

    def _check_index(self, nmaj, nmin, what, other):
        """indptr / indices / data-length invariants over nmaj groups ("what"s) of minor
        index range [0, nmin) ("other"s) -- what the kernels rely on. Returns (indptr,
        indices, data) as the kernels take them (int64 / native order, no copies of
        arrays that already are)."""
        name = type(self).__name__
        ip = _index_view(self.indptr, f"{name}.indptr")
        ix = _index_view(self.indices, f"{name}.indices")
        d = native(np.asarray(self.data))
        if ip.ndim != 1 or ip.size != nmaj + 1:
            raise ValueError(f"{name}.indptr has length {ip.size}; expected {nmaj + 1} "
                             f"({what}s + 1)")
        if ix.ndim != 1:
            raise ValueError(f"{name}.indices must be 1-d, got shape {ix.shape}")
        if ip[0] != 0:
            raise ValueError(f"{name}.indptr[0] = {ip[0]}; must be 0")
        if np.any(np.diff(ip) < 0):
            raise ValueError(f"{name}.indptr must be non-decreasing")
        if ip[-1] != ix.size:
            raise ValueError(f"{name}.indptr[-1] = {ip[-1]} but indices has length {ix.size}")
        if d.ndim != self._data_ndim:
            raise ValueError(f"{name}.data must have {self._data_ndim} dimension(s), got "
                             f"shape {d.shape}")
        if len(d) != ix.size:
            raise ValueError(f"{name}.data has length {len(d)}; indices has {ix.size}")
        self._check_data_dtype(name, d)
        if ix.size and (ix.min() < 0 or ix.max() >= nmin):
            raise ValueError(f"{name}.indices out of bounds: {other} indices must lie in "
                             f"[0, {nmin})")
        return ip, ix, d

    def to_scipy(self):
        """The same matrix as a scipy.sparse csr_array / csc_array / bsr_array (data
        dtype kept)."""
        import scipy.sparse as sp
        ip, ix, d = self._structure()
        ctor = getattr(sp, f"{self._kernel}_array")
        return ctor((d.copy(), ix.copy(), ip.copy()), shape=self.shape)


class _Compressed(_Indexed):
    """Common code of CSR (major axis = rows) and CSC (major axis = columns)."""

    _major = 0

    @property
    def nnz(self):
        """Number of stored entries (explicit zeros are never stored in canonical form)."""
        return int(self.indices.size)

    def _dims(self):
        r, c = self.shape
        return (r, c) if self._major == 0 else (c, r)

    def _structure(self):
        nmaj, nmin = self._dims()
        return self._check_index(nmaj, nmin, *(("row", "column") if self._major == 0 else
                                               ("column", "row")))

    def _triples(self):
        ip, ix, d = self._structure()
        nmaj, _ = self._dims()
        maj = np.repeat(np.arange(nmaj, dtype=np.int64), np.diff(ip))
        if self._major == 0:
            return maj, ix, d
        return ix, maj, d

    def check(self):
        """Validate the structure and the canonical-form invariants; raise ValueError
        naming the first violated one. Returns self."""
        ip, ix, _ = self._structure()
        _check_sorted_unique(ix, ip, f"{type(self).__name__}.indices",
                             "row" if self._major == 0 else "column")
        r, c, v = self._triples()
        if self.indices.size and np.any(self._entry_is_zero(v, r, c)):
            raise ValueError(f"{type(self).__name__} stores explicit zeros; canonical form "
                             "removes them")
        return self

    @classmethod
    def from_dense(cls, x):
        """Store the non-zero entries of a 2-d array (NaN counts as non-zero), keeping
        its dtype."""
        x = _as_dense2d(x)
        return cls._from_mask(x, x != 0)

    @classmethod
    def _from_mask(cls, x, nz):
        """The entries of x where nz holds, in canonical order."""
        xm, nzm = (x, nz) if cls._major == 0 else (x.T, nz.T)
        maj, mn = np.nonzero(nzm)
        return cls._new(native(xm[maj, mn]), mn, _indptr_of(maj, xm.shape[0]), x.shape)

    @classmethod
    def from_qtensor(cls, qt):
        """Store a 2-d QTensor (per-tensor or per-axis scales): its codes where they do
        not represent 0, with .fmt, .scale, .zero_point and .qaxis kept."""
        codes, nz, q = cls._from_qtensor(qt)
        return cls._from_mask(codes, nz)._with_quant(q)

    @classmethod
    def from_scipy(cls, m):
        """Canonical copy of any scipy.sparse matrix or array: duplicates summed (in
        the matrix's dtype, as scipy's sum_duplicates does), indices sorted, explicit
        zeros removed."""
        m = _scipy_input(m)
        t = m.tocsr() if cls._major == 0 else m.tocsc()
        t = t.copy()
        t.sum_duplicates()
        t.eliminate_zeros()
        t.sort_indices()
        return cls._new(native(t.data), t.indices, t.indptr, _check_shape(t.shape), check=True)

    def tocoo(self):
        """The same matrix as a canonical COO (entries in row-major order)."""
        r, c, v = self._triples()
        order = np.lexsort((c, r))
        return self._copy_quant(COO._new(v[order], r[order], c[order], self.shape))


def _check_sorted_unique(ix, ip, name, what):
    if ix.size < 2:
        return
    d = np.diff(ix)
    starts = ip[1:-1]
    starts = starts[(starts > 0) & (starts < ix.size)]
    ok = np.ones(d.size, dtype=bool)
    ok[starts - 1] = False
    bad = ok & (d <= 0)
    if np.any(bad):
        p = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(ip, p, side="right") - 1)
        kind = "duplicate" if d[p] == 0 else "unsorted"
        raise ValueError(f"{name} has {kind} entries in {what} {row} (positions {p}, {p + 1}); "
                         "canonical form needs strictly increasing indices")


class CSR(_Compressed):
    """Compressed sparse rows: row i holds columns indices[indptr[i]:indptr[i+1]]
    (strictly increasing) with values data[indptr[i]:indptr[i+1]] (scipy's layout)."""

    _major = 0
    _kernel = "csr"


class CSC(_Compressed):
    """Compressed sparse columns: column j holds rows indices[indptr[j]:indptr[j+1]]
    (strictly increasing) with values data[...] (scipy's layout). Products give the
    same results as CSR (each output sums in ascending k)."""

    _major = 1
    _kernel = "csc"


class COO(_Quant):
    """Coordinate format: entry e is data[e] at (row[e], col[e]); canonical order is
    by row, then column, without duplicates. Products use the CSR kernels."""

    def __init__(self, data, row, col, shape, *, check=True):
        self._init(data, row, col, shape, check, copy=True)

    def _init(self, data, row, col, shape, check, copy):
        check = _check_flag(check)
        self.shape = _check_shape(shape)
        self.data = _data(data, copy)
        self.row = _index(row, "COO.row", copy)
        self.col = _index(col, "COO.col", copy)
        if check:
            self.check()
        else:
            self._structure()

    @classmethod
    def _new(cls, data, row, col, shape, check=False):
        """Constructor for arrays built here (taken without a copy, then frozen)."""
        obj = cls.__new__(cls)
        obj._init(data, row, col, shape, check, copy=False)
        return obj

    @property
    def nnz(self):
        """Number of stored entries."""
        return int(self.row.size)

    def _structure(self):
        """Lengths, integer index dtypes and bounds (what conversions and products rely
        on); returns (row, col, data) as int64 / native-order arrays."""
        r = _index_view(self.row, "COO.row")
        c = _index_view(self.col, "COO.col")
        v = native(np.asarray(self.data))
        if r.ndim != 1 or c.ndim != 1 or v.ndim != 1 or not (r.size == c.size == v.size):
            raise ValueError(f"COO row, col and data must be 1-d of one length; got "
                             f"{r.size}, {c.size}, {v.size}")
        self._check_data_dtype("COO", v)
        if r.size:
            if r.min() < 0 or r.max() >= self.shape[0]:
                raise ValueError(f"COO.row out of bounds: must lie in [0, {self.shape[0]})")
            if c.min() < 0 or c.max() >= self.shape[1]:
                raise ValueError(f"COO.col out of bounds: must lie in [0, {self.shape[1]})")
        return r, c, v

    def _triples(self):
        return self._structure()

    def check(self):
        """Validate lengths, bounds, (row, column) order, uniqueness and the absence of
        explicit zeros; ValueError naming the violation. Returns self."""
        r, c, v = self._structure()
        if r.size:
            d = _key_steps(r, c)
            if np.any(d == 0):
                raise ValueError("COO has duplicate (row, col) entries")
            if np.any(d < 0):
                raise ValueError("COO entries are not sorted by (row, col)")
            if np.any(self._entry_is_zero(v, r, c)):
                raise ValueError("COO stores explicit zeros; canonical form removes them")
        return self

    @classmethod
    def from_dense(cls, x):
        """Non-zero entries of a 2-d array in (row, column) order."""
        x = _as_dense2d(x)
        r, c = np.nonzero(x)
        return cls._new(native(x[r, c]), r, c, x.shape)

    @classmethod
    def from_qtensor(cls, qt):
        """As CSR.from_qtensor, in coordinate form."""
        return CSR.from_qtensor(qt).tocoo()

    @classmethod
    def from_scipy(cls, m):
        """Canonical copy of a scipy.sparse matrix (duplicates summed, zeros removed)."""
        return CSR.from_scipy(m).tocoo()

    def to_scipy(self):
        """A scipy.sparse.coo_array holding copies of the stored values and indices."""
        import scipy.sparse as sp
        r, c, v = self._structure()
        return sp.coo_array((v.copy(), (r.copy(), c.copy())), shape=self.shape)

    def tocsr(self):
        """The same matrix as a CSR. A canonical COO needs no sorting; entries of a COO
        built with check=False are first put in (row, column) order (stable, so
        duplicates keep their order and are summed by products)."""
        r, c, v = self._structure()
        if r.size > 1 and np.any(_key_steps(r, c) < 0):
            order = np.lexsort((c, r))
            r, c, v = r[order], c[order], v[order]
        indptr = _indptr_of(r, self.shape[0])
        return self._copy_quant(CSR._new(v, c, indptr, self.shape))

    def _matmul_int(self, az, bb, mode, bits, out):
        self.tocsr()._matmul_int(az, bb, mode, bits, out)

    def _matmul_float(self, bf, out):
        self.tocsr()._matmul_float(bf, out)


class BSR(_Indexed):
    """Block sparse rows with blocks of shape (R, C): block row I holds the blocks
    data[indptr[I]:indptr[I+1]] at block columns indices[...] (strictly increasing);
    scipy's bsr layout. Entry (I*R + r, J*C + c) = data[p, r, c]."""

    _kernel = "bsr"
    _data_ndim = 3

    @property
    def blocksize(self):
        """(rows, cols) of one stored block."""
        return tuple(int(s) for s in self.data.shape[1:3])

    @property
    def nnz(self):
        """Number of stored entries (blocks x R x C), as scipy counts them."""
        return int(self.data.size)

    def _triples(self):
        ip, ix, d = self._structure()
        R, C = d.shape[1:]
        nb = ix.size
        brow = np.repeat(np.arange(ip.size - 1, dtype=np.int64), np.diff(ip))
        rr = (brow[:, None, None] * R + np.arange(R)[None, :, None]) + np.zeros((1, 1, C), np.int64)
        cc = (ix[:, None, None] * C + np.arange(C)[None, None, :]) + np.zeros((1, R, 1), np.int64)
        return rr.reshape(nb * R * C), cc.reshape(nb * R * C), d.reshape(nb * R * C)

    def _structure(self):
        d = np.asarray(self.data)
        if d.ndim != 3:
            raise ValueError(f"BSR.data must have shape (nnzb, R, C), got {d.shape}")
        R, C = d.shape[1:]
        if R < 1 or C < 1:
            raise ValueError(f"BSR block shape must be positive, got {(R, C)}")
        if self.shape[0] % R or self.shape[1] % C:
            raise ValueError(f"BSR shape {self.shape} is not divisible by the block shape {(R, C)}")
        return self._check_index(self.shape[0] // R, self.shape[1] // C, "block row",
                                 "block column")

    def check(self):
        """Validate block shape, indptr, bounds, sortedness, uniqueness and that no
        stored block is entirely zero; ValueError naming the violation. Returns self."""
        ip, ix, _ = self._structure()
        _check_sorted_unique(ix, ip, "BSR.indices", "block row")
        if ix.size:
            r, c, v = self._triples()
            z = self._entry_is_zero(v, r, c).reshape(self.data.shape)
            if np.any(z.all(axis=(1, 2))):
                raise ValueError("BSR stores a block that is entirely zero; canonical form removes it")
        return self

    @classmethod
    def from_dense(cls, x, blocksize):
        """Store every (R, C) block of a 2-d array that has a non-zero entry."""
        x = _as_dense2d(x)
        return cls._from_mask(x, x != 0, blocksize)

    @classmethod
    def _from_mask(cls, x, nz, blocksize):
        """The (R, C) blocks of x where nz holds anywhere, in canonical order."""
        R, C = _check_blocksize(blocksize, x.shape)
        nbr, nbc = x.shape[0] // R, x.shape[1] // C
        blocks = x.reshape(nbr, R, nbc, C).transpose(0, 2, 1, 3)
        keep = nz.reshape(nbr, R, nbc, C).any(axis=(1, 3))
        bi, bj = np.nonzero(keep)
        return cls._new(native(np.ascontiguousarray(blocks[bi, bj])), bj, _indptr_of(bi, nbr),
                        x.shape)

    @classmethod
    def from_qtensor(cls, qt, blocksize):
        """Blocks of a 2-d QTensor's codes with a code not representing 0."""
        codes, nz, q = cls._from_qtensor(qt)
        return cls._from_mask(codes, nz, blocksize)._with_quant(q)

    @classmethod
    def from_scipy(cls, m, blocksize=None):
        """Canonical copy of a scipy.sparse matrix as BSR (blocksize: that of a scipy
        bsr input, else required): duplicates summed, all-zero blocks dropped."""
        m = _scipy_input(m)
        if blocksize is None:
            if m.format != "bsr":
                raise ValueError("blocksize is required unless m is a scipy BSR matrix")
            blocksize = m.blocksize
        csr = CSR.from_scipy(m)
        return cls.from_dense(csr.to_dense(), blocksize)


def _key_steps(r, c):
    """Steps between consecutive (row, col) keys: negative = out of order, 0 = duplicate."""
    dr = np.diff(r)
    return np.where(dr != 0, dr, np.diff(c))


def _check_blocksize(blocksize, shape):
    try:
        entries = tuple(blocksize)
    except TypeError:
        entries = ()
    if len(entries) != 2 or not all(_is_int(b) for b in entries):
        raise TypeError(f"blocksize must be a pair of ints, got {blocksize!r}")
    R, C = (int(b) for b in entries)
    if R < 1 or C < 1:
        raise ValueError(f"blocksize={blocksize!r}; both entries must be >= 1")
    if shape[0] % R or shape[1] % C:
        raise ValueError(f"shape {tuple(shape)} is not divisible by blocksize {(R, C)}")
    return R, C

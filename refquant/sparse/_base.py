"""What every sparse container shares: stored arrays (private, read-only, int64
indices), quantization metadata, dense conversions and the exact products."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np
import numpy.typing as npt

from .._deprecate import renamed_kwargs
from .._validate import MAX_BYTES, check_bool, check_bytes, is_int, native
from ..modes import Overflow
from ._common import (absmax, check_acc, check_exact_bound, check_exact_for, check_factor,
                      dense_rhs, exact_sub, finish_int, int_array, int_rhs, kernel_mode,
                      raise_status)

if TYPE_CHECKING:
    from ..protocol import Format
    from ..qtensor import QTensor

__all__ = ["Container", "Indexed", "as_dense2d", "check_shape", "index_array", "index_view",
           "stored_data", "indptr_of", "scipy_input"]

_Q = TypeVar("_Q", bound="Container")
_I = TypeVar("_I", bound="Indexed")

Quantization = tuple[Any, Any, Any, Any]   # (fmt, scale, zero_point, qaxis)


def as_dense2d(x: Any, name: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array, got {x.ndim} dimensions")
    if x.dtype.kind not in "iubf":
        raise TypeError(f"{name} must hold integers, floats or booleans, got dtype {x.dtype}")
    return x


def check_shape(shape: Any) -> tuple[int, int]:
    """(rows, cols) as Python ints: two ints in [0, 2^63)."""
    try:
        entries = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a pair of ints, got {shape!r}") from None
    if isinstance(shape, (str, bytes)) or not all(is_int(v) for v in entries):
        raise TypeError(f"shape must be a pair of ints, got {shape!r}")
    if len(entries) != 2:
        raise ValueError(f"shape must have two entries, got {shape!r}")
    r, c = (int(v) for v in entries)
    if r < 0 or c < 0:
        raise ValueError(f"shape must be non-negative, got {shape!r}")
    if r >= 2 ** 63 or c >= 2 ** 63:
        raise ValueError(f"shape entries must be < 2**63, got {shape!r}")
    return r, c


def _frozen(a: np.ndarray, copy: bool) -> np.ndarray:
    """a stored read-only: a private copy when ``copy``, else a itself (callers pass
    arrays nobody else holds)."""
    if copy:
        a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def index_array(x: Any, name: str, copy: bool) -> np.ndarray:
    """An index array as int64 (by value), read-only; copied when ``copy``."""
    a = int_array(x, name) if copy else index_view(x, name)    # int_array always copies
    return _frozen(a, False)


def index_view(x: Any, name: str) -> np.ndarray:
    """x as a contiguous int64 array (no copy when it already is one), integers only."""
    a = np.asarray(x)
    if a.dtype == np.dtype(np.int64):
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(int_array(a, name))


def stored_data(x: Any, copy: bool) -> np.ndarray:
    """Stored values: native byte order, read-only; a private copy when ``copy``."""
    a = np.asarray(x)
    b = native(a)
    return _frozen(b, copy and b is a)


def indptr_of(major: np.ndarray, nmajor: int) -> np.ndarray:
    """indptr of entries whose major indices ``major`` are already in ascending order."""
    indptr = np.zeros(nmajor + 1, dtype=np.int64)
    np.cumsum(np.bincount(major, minlength=nmajor), out=indptr[1:])
    return indptr


def scipy_input(m: Any) -> Any:
    import scipy.sparse as sp
    if not sp.issparse(m):
        raise TypeError(f"m must be a scipy.sparse matrix or array, got {type(m).__name__}")
    return m


class Container:
    """Quantization metadata and the operations common to all containers (None when
    unquantized). A container provides shape, data, nnz, _triples(), _structure(),
    check() and, except COO, the product kernels _spmm_int / _spmm_float."""

    shape: tuple[int, int]
    data: np.ndarray
    fmt: Format | None = None
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    qaxis: int | None = None

    @property
    def nnz(self) -> int:
        raise NotImplementedError

    def _triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def check(self: _Q) -> _Q:
        raise NotImplementedError

    @property
    def dtype(self) -> np.dtype:
        """dtype of the stored values (codes when quantized)."""
        return self.data.dtype

    def _set_quant(self, fmt: Any, scale: Any, zero_point: Any, qaxis: Any) -> None:
        self.fmt = fmt
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        if zero_point is None:
            self.zero_point = None
        elif np.asarray(zero_point).dtype.kind in "iu":
            self.zero_point = int_array(zero_point, "zero_point")
        else:
            self.zero_point = np.asarray(zero_point, dtype=np.int64)
        self.qaxis = qaxis

    @property
    def is_quantized(self) -> bool:
        """True when the stored values are codes of ``fmt`` with scales and zero points."""
        return self.fmt is not None

    def _copy_quant(self, other: _Q) -> _Q:
        other._set_quant(self.fmt, self.scale, self.zero_point, self.qaxis)
        return other

    def _entry_is_zero(self, data: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> Any:
        """Which stored entries represent the value 0."""
        if self.fmt is None:
            return data == 0
        if not self.fmt.is_integer:
            return np.asarray(self.fmt.decode(data), dtype=np.float64) == 0
        z = self.zero_point
        assert z is not None
        if z.ndim == 0:
            return data.astype(np.int64) == int(z)
        idx = rows if self.qaxis == 0 else cols
        return data.astype(np.int64) == z[idx]

    def _entry_values(self, data: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> Any:
        """Real values of stored entries (float64)."""
        if self.fmt is None:
            return data.astype(np.float64)
        if self.fmt.is_integer:
            v = data.astype(np.float64)
        else:
            v = np.asarray(self.fmt.decode(data), dtype=np.float64)
        z: Any = 0 if self.zero_point is None else self.zero_point
        s = self.scale
        assert s is not None
        if s.ndim:
            idx = rows if self.qaxis == 0 else cols
            s = s[idx]
            if np.ndim(z):
                z = z[idx]
        return (v - z) * s

    def _a_zero_point(self, nrows: int) -> np.ndarray:
        if self.fmt is None or not self.fmt.is_integer:
            return np.zeros(nrows, dtype=np.int64)
        z = self.zero_point
        assert z is not None
        if z.ndim == 0:
            return np.full(nrows, int(z), dtype=np.int64)
        if self.qaxis == 0:
            return z.astype(np.int64)
        if np.all(z == 0):
            return np.zeros(nrows, dtype=np.int64)
        raise ValueError("integer products need one zero point per row (qaxis 0) or per "
                         "tensor; this matrix has non-zero zero points per column")

    def _int_mode(self, b2: np.ndarray) -> bool:
        """True: integer product; False: float64 product."""
        if self.fmt is not None:
            return bool(self.fmt.is_integer) and b2.dtype.kind in "iub"
        return self.dtype.kind in "iub" and b2.dtype.kind in "iub"

    def _float_data(self) -> np.ndarray:
        """Stored entries as float64 values, in data's shape."""
        if self.fmt is None:
            return self.data.astype(np.float64)
        r, c, v = self._triples()
        return np.asarray(self._entry_values(v, r, c)).reshape(self.data.shape)

    @staticmethod
    def _from_qtensor(qt: QTensor) -> tuple[np.ndarray, np.ndarray, Quantization]:
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

    def _with_quant(self: _Q, q: Quantization) -> _Q:
        """Attach the quantization q (as _from_qtensor returns it) and validate."""
        self._set_quant(*q)
        return self.check()

    def dequantize(self, *, max_bytes: int | None = MAX_BYTES) -> np.ndarray:
        """Dense float64 matrix of the real values: (code - zero_point) * scale for
        quantized storage (decode(code) * scale for non-integer formats), data as float64
        otherwise; implicit entries are 0. ValueError when the result would exceed
        ``max_bytes`` (default 4 GiB; None: no limit)."""
        check_bytes(self.shape[0] * self.shape[1] * 8, "dequantize", max_bytes)
        r, c, v = self._triples()
        out = np.zeros(self.shape, dtype=np.float64)
        out[r, c] = self._entry_values(v, r, c)
        return out

    def to_dense(self, *, max_bytes: int | None = MAX_BYTES) -> np.ndarray:
        """Dense array of the stored data (data dtype; implicit entries 0). Quantized
        storage returns the codes with implicit entries set to the zero code; use
        dequantize() for real values. ValueError when the result would exceed
        ``max_bytes`` (default 4 GiB; None: no limit)."""
        check_bytes(self.shape[0] * self.shape[1] * self.dtype.itemsize, "to_dense", max_bytes)
        r, c, v = self._triples()
        if self.fmt is not None and self.fmt.is_integer:
            z = self.zero_point
            assert z is not None
            zfull = z if z.ndim == 0 else (z[:, None] if self.qaxis == 0 else z[None, :])
            out = np.broadcast_to(zfull, self.shape).astype(self.dtype)
        else:
            out = np.zeros(self.shape, dtype=self.dtype)
        out[r, c] = v
        return out

    def __matmul__(self, b: npt.ArrayLike) -> np.ndarray:
        return self.matmul(b)

    @renamed_kwargs(b_zero="b_zero_point")
    def matmul(self, b: npt.ArrayLike, *, b_zero_point: npt.ArrayLike = 0, acc_bits: int = 32,
               overflow: Overflow | str = Overflow.WRAP,
               max_bytes: int | None = MAX_BYTES) -> np.ndarray:
        """self @ b, b a dense vector (the result is a vector) or matrix.

        * Both integer: sum_k (a[i, k] - a_zero_point[i]) * (b[k, j] - b_zero_point[j])
          (b_zero_point: an integer scalar or one per column of b; a_zero_point: the
          row's zero point of quantized storage, else 0) with an accumulator of
          ``acc_bits`` (2..64, default 32) and ``overflow`` (an ``Overflow`` member or
          its name): WRAP (default; the exact sum modulo 2^acc_bits, signed), SATURATE
          (clamp after every product, in ascending k), EXACT (int64; OverflowError when
          the operands could leave int64) or RAISE (exact, OverflowError when a result
          leaves the accumulator) -- the rules of the dense integer GEMM
          refquant.intops.gemm, and its result dtype: int32 for acc_bits <= 32, int64 for
          wider accumulators and for EXACT.
        * Otherwise: float64 products and sums, each row summed in ascending k from
          +0.0 -- bit-identical to scipy.sparse's CSR product on float64 operands.

        Quantized storage (``from_qtensor``) of integer formats multiplies its codes in
        the integer rules; other formats multiply their dequantized values in float64.
        Integer values of any dtype (uint64 included) enter by value: a factor outside
        [-2^31, 2^31] is a ValueError, never reinterpreted. Every index the product
        follows is checked (a structure reassigned after construction raises ValueError).
        ValueError when the result would exceed ``max_bytes`` (default 4 GiB; None: no
        limit)."""
        ov, bits = check_acc(acc_bits, overflow)
        b2, vec = dense_rhs(b, self.shape[1])
        check_bytes(self.shape[0] * b2.shape[1] * 8, f"{type(self).__name__}.matmul",
                    max_bytes)
        if self._int_mode(b2):
            bb = int_rhs(b2, b_zero_point)
            az = self._a_zero_point(self.shape[0])
            out = np.empty((self.shape[0], b2.shape[1]), dtype=np.int64)
            self._matmul_int(az, bb, ov, bits, out)
            out = finish_int(out, ov, bits)
        else:
            if np.any(np.asarray(b_zero_point) != 0):
                raise ValueError("b_zero_point applies to integer products only")
            bf = np.ascontiguousarray(b2, dtype=np.float64)
            out = np.empty((self.shape[0], b2.shape[1]), dtype=np.float64)
            self._matmul_float(bf, out)
        return out[:, 0] if vec else out

    def _matmul_int(self, az: np.ndarray, bb: np.ndarray, ov: Overflow, bits: int,
                    out: np.ndarray) -> None:
        raise NotImplementedError

    def _matmul_float(self, bf: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def _prep_int(self, d: np.ndarray, az: np.ndarray, bb: np.ndarray,
                  ov: Overflow) -> tuple[np.ndarray, np.ndarray]:
        """Checks of the integer operands, by value (every a - a_zero_point within
        [-2^31, 2^31]; for exact policies, a bound that keeps the sum inside int64).
        Returns (data, a_zero_point) for the kernels: data itself (no copy) when it is a
        signed integer array and the zero points are all zero, else the exact
        a - a_zero_point as int64 with zero zero points -- the same products either way."""
        if not d.size:
            return d.astype(np.int64), az
        if np.any(az):
            r = self._triples()[0]
            shifted = exact_sub(d.reshape(-1), az[r])
            check_factor(shifted, "a - a_zero_point")
            d = shifted.astype(np.int64).reshape(d.shape)
            az = np.zeros_like(az)
        else:
            check_factor(d, "a - a_zero_point")
            if d.dtype.kind == "b" or d.dtype == np.uint64:
                d = d.astype(np.int64)
        if check_exact_for(ov):
            check_exact_bound(absmax(d), absmax(bb), self.shape[1], ov)
        return d, az

    def _check_data_dtype(self, name: str, d: np.ndarray | None = None) -> None:
        d = self.data if d is None else d
        if d.dtype.kind not in "iubf":
            raise ValueError(f"{name}.data must hold integers or floats, got {d.dtype}")

    def __repr__(self) -> str:
        q = f", fmt={self.fmt.name}" if self.fmt is not None else ""
        return f"{type(self).__name__}(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype}{q})"


class Indexed(Container):
    """Common code of CSR, CSC and BSR: entries (or blocks) grouped along a major axis
    by ``indptr``, with minor-axis ``indices`` strictly increasing inside each group."""

    indices: np.ndarray
    indptr: np.ndarray
    _data_ndim = 1          # data holds entries (1) or (R, C) blocks (3)

    def __init__(self, data: npt.ArrayLike, indices: npt.ArrayLike, indptr: npt.ArrayLike,
                 shape: tuple[int, int], *, check: bool = True) -> None:
        """Store copies of the arrays (indices and indptr as int64, data in native byte
        order), read-only, so changing the caller's arrays afterwards changes nothing.
        ``check=False`` skips only the canonical-form checks (sorted, unique, no explicit
        zeros; products then sum in stored order); the structural invariants (lengths,
        indptr monotone within [0, nnz], indices in bounds, integer index dtypes) are
        checked here and again before every product, to_dense, dequantize and conversion."""
        self._init(data, indices, indptr, shape, check, copy=True)

    def _init(self, data: Any, indices: Any, indptr: Any, shape: Any, check: Any,
              copy: bool) -> None:
        """Store (copies when ``copy``, always read-only) and validate: the structure
        always, the canonical form when ``check``."""
        check = check_bool(check, "check")
        self.shape = check_shape(shape)
        name = type(self).__name__
        self.data = stored_data(data, copy)
        self.indices = index_array(indices, f"{name}.indices", copy)
        self.indptr = index_array(indptr, f"{name}.indptr", copy)
        if check:
            self.check()
        else:
            self._structure()

    @classmethod
    def _new(cls: type[_I], data: Any, indices: Any, indptr: Any, shape: Any,
             check: bool = False) -> _I:
        """Constructor for arrays built here (taken without a copy, then frozen)."""
        obj = cls.__new__(cls)
        obj._init(data, indices, indptr, shape, check, copy=False)
        return obj

    def _structure(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    @staticmethod
    def _spmm_int(*args: Any) -> int:
        raise NotImplementedError

    @staticmethod
    def _spmm_float(*args: Any) -> int:
        raise NotImplementedError

    @staticmethod
    def _scipy_array() -> Callable[..., Any]:
        raise NotImplementedError

    def _check_index(self, nmaj: int, nmin: int, what: str,
                     other: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """indptr / indices / data-length invariants over nmaj groups ("what"s) of minor
        index range [0, nmin) ("other"s) -- what the kernels rely on. Returns (indptr,
        indices, data) as the kernels take them (int64 / native order, no copies of
        arrays that already are)."""
        name = type(self).__name__
        ip = index_view(self.indptr, f"{name}.indptr")
        ix = index_view(self.indices, f"{name}.indices")
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

    def _matmul_int(self, az: np.ndarray, bb: np.ndarray, ov: Overflow, bits: int,
                    out: np.ndarray) -> None:
        indptr, indices, data = self._structure()
        d, az = self._prep_int(data, az, bb, ov)
        raise_status(self._spmm_int(indptr, indices, d, az, bb, kernel_mode(ov), bits, out),
                     type(self).__name__)

    def _matmul_float(self, bf: np.ndarray, out: np.ndarray) -> None:
        indptr, indices, _ = self._structure()
        raise_status(self._spmm_float(indptr, indices, self._float_data(), bf, out),
                     type(self).__name__)

    def to_scipy(self) -> Any:
        """The same matrix as a scipy.sparse csr_array / csc_array / bsr_array (data
        dtype kept)."""
        ip, ix, d = self._structure()
        return self._scipy_array()((d.copy(), ix.copy(), ip.copy()), shape=self.shape)

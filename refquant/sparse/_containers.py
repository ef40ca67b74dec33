"""CSR, CSC, COO and BSR sparse matrices in canonical form, with exact products (the
layouts of scipy.sparse)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._deprecate import renamed_kwargs
from .._lazy import kernels
from .._validate import check_bool, native
from ..modes import Overflow
from ._base import (Container, Indexed, as_dense2d, check_shape, index_array, index_view,
                    indptr_of, scipy_input, stored_data)
from ._common import check_block_size

if TYPE_CHECKING:
    from ..qtensor import QTensor

_k = kernels("sparse")

__all__ = ["CSR", "CSC", "COO", "BSR"]

_C = TypeVar("_C", bound="_Compressed")


class _Compressed(Indexed):
    """Common code of CSR (major axis = rows) and CSC (major axis = columns)."""

    _major = 0

    @property
    def nnz(self) -> int:
        """Number of stored entries (explicit zeros are never stored in canonical form)."""
        return int(self.indices.size)

    def _dims(self) -> tuple[int, int]:
        r, c = self.shape
        return (r, c) if self._major == 0 else (c, r)

    def _structure(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nmaj, nmin = self._dims()
        return self._check_index(nmaj, nmin, *(("row", "column") if self._major == 0 else
                                               ("column", "row")))

    def _triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ip, ix, d = self._structure()
        nmaj, _ = self._dims()
        maj = np.repeat(np.arange(nmaj, dtype=np.int64), np.diff(ip))
        if self._major == 0:
            return maj, ix, d
        return ix, maj, d

    def check(self: _C) -> _C:
        """Validate the structure and the canonical form: ``indptr`` of length
        (major + 1), starting at 0, non-decreasing, ending at nnz; ``indices`` strictly
        increasing inside every row (column) -- sorted, no duplicates -- and in bounds;
        ``data`` of length nnz; no explicit zeros ("zero" is 0, or for quantized storage
        the code that means 0: the zero point of integer formats, a code decoding to +-0
        for other formats). ValueError naming the first violated one; returns self."""
        ip, ix, _ = self._structure()
        _check_sorted_unique(ix, ip, f"{type(self).__name__}.indices",
                             "row" if self._major == 0 else "column")
        r, c, v = self._triples()
        if self.indices.size and np.any(self._entry_is_zero(v, r, c)):
            raise ValueError(f"{type(self).__name__} stores explicit zeros; canonical form "
                             "removes them")
        return self

    @classmethod
    def from_dense(cls: type[_C], x: npt.ArrayLike) -> _C:
        """Store the non-zero entries of a 2-d array (NaN counts as non-zero), keeping
        its dtype."""
        xa = as_dense2d(x)
        return cls._from_mask(xa, xa != 0)

    @classmethod
    def _from_mask(cls: type[_C], x: np.ndarray, nz: np.ndarray) -> _C:
        """The entries of x where nz holds, in canonical order."""
        xm, nzm = (x, nz) if cls._major == 0 else (x.T, nz.T)
        maj, mn = np.nonzero(nzm)
        return cls._new(native(xm[maj, mn]), mn, indptr_of(maj, xm.shape[0]), x.shape)

    @classmethod
    def from_qtensor(cls: type[_C], qt: QTensor) -> _C:
        """Store a 2-d QTensor (per-tensor or per-axis scales): its codes where they do
        not represent 0, with .fmt, .scale, .zero_point and .qaxis kept."""
        codes, nz, q = cls._from_qtensor(qt)
        return cls._from_mask(codes, nz)._with_quant(q)

    @classmethod
    def from_scipy(cls: type[_C], m: Any) -> _C:
        """Canonical copy of any scipy.sparse matrix or array: duplicates summed (in
        the matrix's dtype, as scipy's sum_duplicates does), indices sorted, explicit
        zeros removed."""
        m = scipy_input(m)
        t = m.tocsr() if cls._major == 0 else m.tocsc()
        t = t.copy()
        t.sum_duplicates()
        t.eliminate_zeros()
        t.sort_indices()
        return cls._new(native(t.data), t.indices, t.indptr, check_shape(t.shape), check=True)

    def tocoo(self) -> COO:
        """The same matrix as a canonical COO (entries in row-major order)."""
        r, c, v = self._triples()
        order = np.lexsort((c, r))
        return self._copy_quant(COO._new(v[order], r[order], c[order], self.shape))


def _check_sorted_unique(ix: np.ndarray, ip: np.ndarray, name: str, what: str) -> None:
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
    (strictly increasing) with values data[indptr[i]:indptr[i+1]] (scipy's layout).
    Products: see ``matmul``."""

    _major = 0

    @staticmethod
    def _spmm_int(*args: Any) -> int:
        return int(_k.csr_spmm_int(*args))

    @staticmethod
    def _spmm_float(*args: Any) -> int:
        return int(_k.csr_spmm_float(*args))

    @staticmethod
    def _scipy_array() -> Callable[..., Any]:
        import scipy.sparse as sp
        return sp.csr_array


class CSC(_Compressed):
    """Compressed sparse columns: column j holds rows indices[indptr[j]:indptr[j+1]]
    (strictly increasing) with values data[...] (scipy's layout). Products give the
    same results as CSR (each output sums in ascending k)."""

    _major = 1

    @staticmethod
    def _spmm_int(*args: Any) -> int:
        return int(_k.csc_spmm_int(*args))

    @staticmethod
    def _spmm_float(*args: Any) -> int:
        return int(_k.csc_spmm_float(*args))

    @staticmethod
    def _scipy_array() -> Callable[..., Any]:
        import scipy.sparse as sp
        return sp.csc_array


class COO(Container):
    """Coordinate format: entry e is data[e] at (row[e], col[e]); canonical order is
    by row, then column, without duplicates. Products use the CSR kernels."""

    row: np.ndarray
    col: np.ndarray

    def __init__(self, data: npt.ArrayLike, row: npt.ArrayLike, col: npt.ArrayLike,
                 shape: tuple[int, int], *, check: bool = True) -> None:
        """Store copies of the arrays, read-only (as ``CSR``); ``check=False`` skips only
        the canonical-form checks (order, uniqueness, no explicit zeros)."""
        self._init(data, row, col, shape, check, copy=True)

    def _init(self, data: Any, row: Any, col: Any, shape: Any, check: Any,
              copy: bool) -> None:
        check = check_bool(check, "check")
        self.shape = check_shape(shape)
        self.data = stored_data(data, copy)
        self.row = index_array(row, "COO.row", copy)
        self.col = index_array(col, "COO.col", copy)
        if check:
            self.check()
        else:
            self._structure()

    @classmethod
    def _new(cls, data: Any, row: Any, col: Any, shape: Any, check: bool = False) -> COO:
        """Constructor for arrays built here (taken without a copy, then frozen)."""
        obj = cls.__new__(cls)
        obj._init(data, row, col, shape, check, copy=False)
        return obj

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.row.size)

    def _structure(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lengths, integer index dtypes and bounds (what conversions and products rely
        on); returns (row, col, data) as int64 / native-order arrays."""
        r = index_view(self.row, "COO.row")
        c = index_view(self.col, "COO.col")
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

    def _triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._structure()

    def check(self) -> COO:
        """Validate lengths, bounds, (row, column) order, uniqueness and the absence of
        explicit zeros (as ``CSR.check``); ValueError naming the violation. Returns self."""
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
    def from_dense(cls, x: npt.ArrayLike) -> COO:
        """Non-zero entries of a 2-d array in (row, column) order."""
        xa = as_dense2d(x)
        r, c = np.nonzero(xa)
        return cls._new(native(xa[r, c]), r, c, xa.shape)

    @classmethod
    def from_qtensor(cls, qt: QTensor) -> COO:
        """As CSR.from_qtensor, in coordinate form."""
        return CSR.from_qtensor(qt).tocoo()

    @classmethod
    def from_scipy(cls, m: Any) -> COO:
        """Canonical copy of a scipy.sparse matrix (duplicates summed, zeros removed)."""
        return CSR.from_scipy(m).tocoo()

    def to_scipy(self) -> Any:
        """A scipy.sparse.coo_array holding copies of the stored values and indices."""
        import scipy.sparse as sp
        r, c, v = self._structure()
        return sp.coo_array((v.copy(), (r.copy(), c.copy())), shape=self.shape)

    def tocsr(self) -> CSR:
        """The same matrix as a CSR. A canonical COO needs no sorting; entries of a COO
        built with check=False are first put in (row, column) order (stable, so
        duplicates keep their order and are summed by products)."""
        r, c, v = self._structure()
        if r.size > 1 and np.any(_key_steps(r, c) < 0):
            order = np.lexsort((c, r))
            r, c, v = r[order], c[order], v[order]
        indptr = indptr_of(r, self.shape[0])
        return self._copy_quant(CSR._new(v, c, indptr, self.shape))

    def _matmul_int(self, az: np.ndarray, bb: np.ndarray, ov: Overflow, bits: int,
                    out: np.ndarray) -> None:
        self.tocsr()._matmul_int(az, bb, ov, bits, out)

    def _matmul_float(self, bf: np.ndarray, out: np.ndarray) -> None:
        self.tocsr()._matmul_float(bf, out)


class BSR(Indexed):
    """Block sparse rows with blocks of shape (R, C): block row I holds the blocks
    data[indptr[I]:indptr[I+1]] at block columns indices[...] (strictly increasing);
    scipy's bsr layout. Entry (I*R + r, J*C + c) = data[p, r, c]."""

    _data_ndim = 3

    @staticmethod
    def _spmm_int(*args: Any) -> int:
        return int(_k.bsr_spmm_int(*args))

    @staticmethod
    def _spmm_float(*args: Any) -> int:
        return int(_k.bsr_spmm_float(*args))

    @staticmethod
    def _scipy_array() -> Callable[..., Any]:
        import scipy.sparse as sp
        return sp.bsr_array

    @property
    def block_size(self) -> tuple[int, int]:
        """(rows, cols) of one stored block."""
        R, C = (int(s) for s in self.data.shape[1:3])
        return R, C

    @property
    def blocksize(self) -> tuple[int, int]:
        """Deprecated alias of ``block_size``."""
        _deprecate.warn("BSR.blocksize", "BSR.block_size")
        return self.block_size

    @property
    def nnz(self) -> int:
        """Number of stored entries (blocks x R x C), as scipy counts them."""
        return int(self.data.size)

    def _triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ip, ix, d = self._structure()
        R, C = d.shape[1:]
        nb = ix.size
        brow = np.repeat(np.arange(ip.size - 1, dtype=np.int64), np.diff(ip))
        rr = (brow[:, None, None] * R + np.arange(R)[None, :, None]) + np.zeros((1, 1, C), np.int64)
        cc = (ix[:, None, None] * C + np.arange(C)[None, None, :]) + np.zeros((1, R, 1), np.int64)
        return rr.reshape(nb * R * C), cc.reshape(nb * R * C), d.reshape(nb * R * C)

    def _structure(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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

    def check(self) -> BSR:
        """Validate the canonical form: shape divisible by the block shape (R, C);
        ``indptr`` over block rows, block-column ``indices`` strictly increasing per block
        row and in bounds; ``data`` of shape (nnzb, R, C); no block that is entirely zero
        (zeros inside a kept block are allowed). ValueError naming the violation; returns
        self."""
        ip, ix, _ = self._structure()
        _check_sorted_unique(ix, ip, "BSR.indices", "block row")
        if ix.size:
            r, c, v = self._triples()
            z = np.asarray(self._entry_is_zero(v, r, c)).reshape(self.data.shape)
            if np.any(z.all(axis=(1, 2))):
                raise ValueError("BSR stores a block that is entirely zero; canonical form removes it")
        return self

    @classmethod
    @renamed_kwargs(blocksize="block_size")
    def from_dense(cls, x: npt.ArrayLike, block_size: tuple[int, int]) -> BSR:
        """Store every (R, C) block of a 2-d array that has a non-zero entry
        (block_size = (R, C), dividing x's shape)."""
        xa = as_dense2d(x)
        return cls._from_mask(xa, xa != 0, block_size)

    @classmethod
    def _from_mask(cls, x: np.ndarray, nz: np.ndarray, block_size: Any) -> BSR:
        """The (R, C) blocks of x where nz holds anywhere, in canonical order."""
        R, C = check_block_size(block_size, x.shape)
        nbr, nbc = x.shape[0] // R, x.shape[1] // C
        blocks = x.reshape(nbr, R, nbc, C).transpose(0, 2, 1, 3)
        keep = nz.reshape(nbr, R, nbc, C).any(axis=(1, 3))
        bi, bj = np.nonzero(keep)
        return cls._new(native(np.ascontiguousarray(blocks[bi, bj])), bj, indptr_of(bi, nbr),
                        x.shape)

    @classmethod
    @renamed_kwargs(blocksize="block_size")
    def from_qtensor(cls, qt: QTensor, block_size: tuple[int, int]) -> BSR:
        """Blocks of a 2-d QTensor's codes with a code not representing 0."""
        codes, nz, q = cls._from_qtensor(qt)
        return cls._from_mask(codes, nz, block_size)._with_quant(q)

    @classmethod
    @renamed_kwargs(blocksize="block_size")
    def from_scipy(cls, m: Any, block_size: tuple[int, int] | None = None) -> BSR:
        """Canonical copy of a scipy.sparse matrix as BSR (block_size: that of a scipy
        bsr input, else required): duplicates summed, all-zero blocks dropped."""
        m = scipy_input(m)
        if block_size is None:
            if m.format != "bsr":
                raise ValueError("block_size is required unless m is a scipy BSR matrix")
            block_size = m.blocksize
        csr = CSR.from_scipy(m)
        return cls.from_dense(csr.to_dense(), block_size)


def _key_steps(r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Steps between consecutive (row, col) keys: negative = out of order, 0 = duplicate."""
    dr = np.diff(r)
    return np.where(dr != 0, dr, np.diff(c))

"""Operand preparation shared by the sparse modules: accumulator policies, exact integer
operands and zero points, dense right-hand sides, block sizes."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _validate
from .._validate import check_int, is_int, native
from ..modes import Overflow, as_overflow

_FACTOR_LIMIT = 2 ** 31
_SAFE = 2 ** 62             # |x|, |z| below this: x - z is exact in int64

# The one table from overflow policies to the accumulation codes of the product kernels
# (kernels/sparse.py: 0 exact, 1 wrap, 2 saturate). RAISE accumulates exactly; finish_int
# then checks every sum against the accumulator range.
_KERNEL_MODE = {Overflow.EXACT: 0, Overflow.WRAP: 1, Overflow.SATURATE: 2, Overflow.RAISE: 0}


def int_array(x: Any, name: str, lo: int | None = None, hi: int | None = None) -> np.ndarray:
    """``x`` as an int64 array by value (``refquant._validate.int_array``: any integer
    dtype and byte order; values outside [lo, hi] or int64, such as uint64 above
    2^63 - 1, are a ValueError, never reinterpreted), from an integer dtype only: floats
    are a TypeError even when they hold integer values (indices and codes are never
    floats). An empty array of any real dtype counts as integers."""
    return _validate.int_array(x, name, lo, hi, floats=False)


def exact_sub(x: npt.ArrayLike, z: npt.ArrayLike) -> np.ndarray:
    """x - z (broadcast) with exact integer values: int64 when every value of x and z lies
    in (-2^62, 2^62), otherwise an object array of Python ints (rare extreme inputs)."""
    xa = native(np.asarray(x))
    za = native(np.asarray(z))
    if _within(xa) and _within(za):
        return xa.astype(np.int64) - za.astype(np.int64)
    return xa.astype(object) - za.astype(object)


def _within(a: np.ndarray) -> bool:
    return not a.size or (-_SAFE < int(a.min()) and int(a.max()) < _SAFE)


def raise_status(status: int, name: str) -> None:
    """Turn a non-zero product-kernel status into ValueError (the structure was changed
    in a way the checks before the call did not see)."""
    if status:
        why = {1: "operand sizes disagree", 2: "indptr leaves [0, number of stored entries] "
               "or decreases", 3: "an index lies outside its dimension"}.get(int(status), "?")
        raise ValueError(f"{name}: the product kernel rejected the structure ({why}); "
                         "call check() for details")


def check_acc(acc_bits: Any, overflow: Any) -> tuple[Overflow, int]:
    """Validate (acc_bits, overflow): the policy (an Overflow member or its name, parsed
    by refquant.modes.as_overflow; EXACT, WRAP, SATURATE or RAISE) and the accumulator
    width in [2, 64]."""
    ov = as_overflow(overflow)
    if ov not in _KERNEL_MODE:
        raise ValueError(f"overflow={ov.name} does not apply to an integer accumulator; "
                         "allowed: EXACT, WRAP, SATURATE, RAISE")
    return ov, check_int(acc_bits, "acc_bits", 2, 64)


def kernel_mode(overflow: Overflow) -> int:
    """The product kernels' accumulation code of an overflow policy."""
    return _KERNEL_MODE[overflow]


def check_exact_for(overflow: Overflow) -> bool:
    """True for the policies that accumulate exactly in int64 (EXACT, RAISE)."""
    return overflow in (Overflow.EXACT, Overflow.RAISE)


def check_exact_bound(amax: int, bmax: int, terms: int, overflow: Overflow) -> None:
    """Exact accumulation must stay inside int64: |sum| <= amax * bmax * terms."""
    if int(amax) * int(bmax) * int(terms) >= 2 ** 63:
        raise OverflowError(f"overflow={overflow.name} accumulates exactly in int64, which "
                            "these operands could leave; use overflow=Overflow.WRAP with "
                            "acc_bits=64, or smaller inputs")


def finish_int(out: np.ndarray, overflow: Overflow, bits: int) -> np.ndarray:
    """Result dtype as refquant.intops.gemm: int64 for EXACT or acc_bits > 32, int32
    otherwise; RAISE checks the exact sums against the accumulator range."""
    if overflow is Overflow.EXACT:
        return out
    if overflow is Overflow.RAISE and out.size:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if int(out.min()) < lo or int(out.max()) > hi:
            i = np.unravel_index(np.argmax((out < lo) | (out > hi)), out.shape)
            raise OverflowError(f"result {tuple(int(t) for t in i)} = {int(out[i])} leaves the "
                                f"{bits}-bit accumulator range [{lo}, {hi}]")
    return out.astype(np.int32) if bits <= 32 else out


def dense_rhs(b: Any, k: int, name: str = "b") -> tuple[np.ndarray, bool]:
    """Return (b2d, was_vector) with b2d of shape (k, n)."""
    b = np.asarray(b)
    if b.ndim == 1:
        b2 = b.reshape(-1, 1)
        vec = True
    elif b.ndim == 2:
        b2 = b
        vec = False
    else:
        raise ValueError(f"{name} must be a vector or a matrix, got {b.ndim} dimensions")
    if b2.shape[0] != k:
        raise ValueError(f"{name} has {b2.shape[0]} rows; the sparse matrix has {k} columns")
    if b.dtype.kind not in "iubf":
        raise TypeError(f"{name} must hold integers or floats, got dtype {b.dtype}")
    return native(b2), vec


def int_rhs(b2: np.ndarray, b_zero_point: Any, bname: str = "b",
            zname: str = "b_zero_point") -> np.ndarray:
    """b - b_zero_point (zero point scalar or one per column), by value (uint64 operands
    are not reinterpreted), factors checked to lie within [-2^31, 2^31]: b itself when it
    is a signed integer array of at most 32 bits and every zero point is 0, else int64."""
    n = b2.shape[1]
    bz = _zero_points(b_zero_point, zname)
    if bz.ndim == 0:
        bz = np.broadcast_to(bz, (n,))
    elif bz.shape != (n,):
        raise ValueError(f"{zname} has shape {bz.shape}; allowed () or ({n},)")
    if not np.any(bz) and b2.dtype.kind == "i" and b2.dtype.itemsize <= 4:
        # already exact factors: kept in their narrow dtype (the kernels read any signed
        # integer type; a narrow b is a smaller stream than its int64 copy)
        out = np.ascontiguousarray(native(b2))
        check_factor(out, f"{bname} - {zname}")
        return out
    out = exact_sub(b2, bz[None, :])
    check_factor(out, f"{bname} - {zname}")
    return np.ascontiguousarray(out.astype(np.int64, copy=False))


def row_zero(a_zero_point: Any, rows: int, name: str = "a_zero_point") -> np.ndarray:
    """Zero points, one per row (a scalar is repeated), kept by value in their integer
    dtype (native byte order); exact_sub takes them."""
    z = _zero_points(a_zero_point, name)
    if z.ndim == 0:
        return np.broadcast_to(z, (rows,))
    if z.shape != (rows,):
        raise ValueError(f"{name} has shape {z.shape}; allowed () or ({rows},) (one per row)")
    return z


def _zero_points(z: Any, name: str) -> np.ndarray:
    """Integer zero points by value: an integer array (native byte order), or Python ints
    of any size (an object array, e.g. 2**70, which exact_sub takes exactly)."""
    za = np.asarray(z)
    if za.dtype == object and za.size and all(
            is_int(v) for v in za.reshape(-1)):
        return za
    if za.dtype.kind not in "iub":
        raise TypeError(f"{name} must be integers, got dtype {za.dtype}")
    return native(za)


def check_factor(x: np.ndarray, name: str) -> None:
    """ValueError unless every value of x (any integer or object dtype, by value) lies
    within [-2^31, 2^31], the factor range that keeps products exact in int64."""
    if x.size and (int(x.min()) < -_FACTOR_LIMIT or int(x.max()) > _FACTOR_LIMIT):
        raise ValueError(f"{name} must lie within [-2^31, 2^31] so products are exact in "
                         f"int64; got values in [{int(x.min())}, {int(x.max())}]")


def absmax(x: np.ndarray) -> int:
    """max |x| as a Python int (no overflow for the most negative integer)."""
    return max(-int(x.min()), int(x.max())) if x.size else 0


def check_block_size(block_size: Any, shape: tuple[int, ...]) -> tuple[int, int]:
    """(R, C) of a block shape: a pair of ints >= 1 dividing the matrix ``shape``."""
    try:
        entries = tuple(block_size)
    except TypeError:
        entries = ()
    if len(entries) != 2 or not all(is_int(b) for b in entries):
        raise TypeError(f"block_size must be a pair of ints, got {block_size!r}")
    R, C = (int(b) for b in entries)
    if R < 1 or C < 1:
        raise ValueError(f"block_size={block_size!r}; both entries must be >= 1")
    if shape[0] % R or shape[1] % C:
        raise ValueError(f"shape {tuple(shape)} is not divisible by block_size {(R, C)}")
    return R, C

"""Argument checking and operand preparation shared by the sparse modules."""
from __future__ import annotations

import numpy as np

OVERFLOW_MODES = {"exact": 0, "wrap": 1, "saturate": 2, "raise": 3}
_FACTOR_LIMIT = 2 ** 31


def check_acc(acc_bits, overflow):
    """Validate (acc_bits, overflow) and return (mode int, bits int): 0 exact, 1 wrap,
    2 saturate, 3 raise (exact, then OverflowError outside the accumulator)."""
    if isinstance(overflow, str):
        key = overflow.lower()
    else:
        key = getattr(overflow, "name", str(overflow)).lower()
    if key not in OVERFLOW_MODES:
        raise ValueError(f"overflow={overflow!r}; allowed: 'exact', 'wrap', 'saturate', 'raise'")
    if not isinstance(acc_bits, (int, np.integer)) or isinstance(acc_bits, bool):
        raise TypeError(f"acc_bits must be an int, got {type(acc_bits).__name__}")
    if not 2 <= acc_bits <= 64:
        raise ValueError(f"acc_bits={acc_bits}; allowed 2..64")
    return OVERFLOW_MODES[key], int(acc_bits)


def is_int_array(x):
    return np.asarray(x).dtype.kind in "iub"


def check_positive_int(value, name, lo=1):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name}={value}; must be >= {lo}")
    return int(value)


def dense_rhs(b, k, name="b"):
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
    return b2, vec


def int_rhs(b2, b_zero):
    """b - b_zero as int64 (b_zero scalar or one per column), factors checked."""
    n = b2.shape[1]
    bz = np.asarray(b_zero)
    if bz.dtype.kind not in "iub":
        raise TypeError(f"b_zero must be integers, got dtype {bz.dtype}")
    if bz.ndim == 0:
        bz = np.full(n, int(bz), dtype=np.int64)
    elif bz.shape != (n,):
        raise ValueError(f"b_zero has shape {bz.shape}; allowed () or ({n},)")
    if not np.any(bz) and b2.dtype.kind == "i" and b2.dtype.itemsize <= 4:
        out = np.ascontiguousarray(b2)        # already exact factors: no copy needed
    else:
        out = np.ascontiguousarray(b2.astype(np.int64) - bz.astype(np.int64)[None, :])
    check_factor(out, "b - b_zero")
    return out


def row_zero(a_zero, rows):
    z = np.asarray(a_zero)
    if z.dtype.kind not in "iub":
        raise TypeError(f"a_zero must be integers, got dtype {z.dtype}")
    if z.ndim == 0:
        return np.full(rows, int(z), dtype=np.int64)
    if z.shape != (rows,):
        raise ValueError(f"a_zero has shape {z.shape}; allowed () or ({rows},) (one per row)")
    return z.astype(np.int64)


def check_factor(x, name):
    if x.size and (int(x.min()) < -_FACTOR_LIMIT or int(x.max()) > _FACTOR_LIMIT):
        raise ValueError(f"{name} must lie within [-2^31, 2^31] so products are exact in int64")


def check_exact_bound(amax, bmax, terms):
    """Exact accumulation must stay inside int64: |sum| <= amax * bmax * terms."""
    if int(amax) * int(bmax) * int(terms) >= 2 ** 63:
        raise OverflowError("overflow='exact' could leave int64 for these operands; "
                            "use 'wrap' with acc_bits=64 or smaller inputs")


def kernel_mode(mode):
    """The kernel accumulation mode of a policy ("raise" accumulates exactly)."""
    return 0 if mode == 3 else mode


def check_exact_for(mode):
    return mode in (0, 3)


def finish_int(out, mode, bits):
    """Result dtype as refquant.intops.gemm: int64 for "exact" or acc_bits > 32, int32
    otherwise; "raise" checks the exact sums against the accumulator range."""
    if mode == 0:
        return out
    if mode == 3 and out.size:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if int(out.min()) < lo or int(out.max()) > hi:
            i = np.unravel_index(np.argmax((out < lo) | (out > hi)), out.shape)
            raise OverflowError(f"result {tuple(int(t) for t in i)} = {int(out[i])} leaves the "
                                f"{bits}-bit accumulator range [{lo}, {hi}]")
    return out.astype(np.int32) if bits <= 32 else out


def absmax(x):
    """max |x| as a Python int (no overflow for the most negative integer)."""
    return max(-int(x.min()), int(x.max())) if x.size else 0

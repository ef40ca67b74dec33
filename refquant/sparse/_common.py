"""Argument checking and operand preparation shared by the sparse modules."""
from __future__ import annotations

import numpy as np

OVERFLOW_MODES = {"exact": 0, "wrap": 1, "saturate": 2, "raise": 3}
_FACTOR_LIMIT = 2 ** 31
_SAFE = 2 ** 62             # |x|, |z| below this: x - z is exact in int64

# Default limit of the dense arrays a sparse function allocates from a shape or an
# N:M parameter (to_dense, dequantize, matmul's result, nm_decompress): 4 GiB. Each such
# function takes ``max_bytes=`` to allow more (None: no limit).
MAX_BYTES = 2 ** 32


def check_bytes(nbytes, what, max_bytes):
    """Raise ValueError when an allocation of ``nbytes`` exceeds ``max_bytes`` (default
    MAX_BYTES; None: unlimited)."""
    if max_bytes is not None:
        if not isinstance(max_bytes, (int, np.integer)) or isinstance(max_bytes, bool):
            raise TypeError(f"max_bytes must be an int or None, got {type(max_bytes).__name__}")
        if nbytes > max_bytes:
            raise ValueError(f"{what} would allocate {nbytes} bytes, more than "
                             f"max_bytes={max_bytes}; pass a larger max_bytes= (or None) "
                             "to allow it")


def check_int(value, name, lo=None, hi=None, hi_text=None):
    """``value`` as a Python int: an int or NumPy integer (not bool) in [lo, hi]."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_t = "" if lo is None else f"{lo} <= "
        hi_t = "" if hi is None else f" <= {hi_text or hi}"
        raise ValueError(f"{name}={value}; allowed {lo_t}{name}{hi_t}")
    return value


def check_real(value, name):
    """``value`` as a Python float: a real number (int, float or NumPy scalar; not bool,
    not a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                    np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def int_array(x, name):
    """x as an array of integers (any integer dtype, native byte order); an empty array
    of any real dtype counts as integers. TypeError otherwise (floats are not truncated)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu" and not (a.size == 0 and a.dtype.kind in "biuf"):
        raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    return native(a)


def native(a):
    """a in native byte order (a itself when it already is)."""
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))


def as_int64(x, name):
    """Integer array x as int64, by value: ValueError when a value lies outside int64
    (e.g. a uint64 above 2^63 - 1), never reinterpreted."""
    a = int_array(x, name)
    if a.size and a.dtype == np.uint64 and int(a.max()) > 2 ** 63 - 1:
        raise ValueError(f"{name} must lie within int64 [-2^63, 2^63 - 1], got {int(a.max())}")
    return a.astype(np.int64)


def exact_sub(x, z):
    """x - z (broadcast) with exact integer values: int64 when every value of x and z lies
    in (-2^62, 2^62), otherwise an object array of Python ints (rare extreme inputs)."""
    x = native(np.asarray(x))
    z = native(np.asarray(z))
    if _within(x) and _within(z):
        return x.astype(np.int64) - z.astype(np.int64)
    return x.astype(object) - z.astype(object)


def _within(a):
    return not a.size or (-_SAFE < int(a.min()) and int(a.max()) < _SAFE)


def raise_status(status, name):
    """Turn a non-zero product-kernel status into ValueError (the structure was changed
    in a way the checks before the call did not see)."""
    if status:
        why = {1: "operand sizes disagree", 2: "indptr leaves [0, number of stored entries] "
               "or decreases", 3: "an index lies outside its dimension"}.get(int(status), "?")
        raise ValueError(f"{name}: the product kernel rejected the structure ({why}); "
                         "call check() for details")


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
    return native(b2), vec


def int_rhs(b2, b_zero, bname="b", zname="b_zero"):
    """b - b_zero as int64 (b_zero scalar or one per column), by value (uint64 operands
    are not reinterpreted), factors checked to lie within [-2^31, 2^31]."""
    n = b2.shape[1]
    bz = _zero_points(b_zero, zname)
    if bz.ndim == 0:
        bz = np.broadcast_to(bz, (n,))
    elif bz.shape != (n,):
        raise ValueError(f"{zname} has shape {bz.shape}; allowed () or ({n},)")
    if not np.any(bz) and b2.dtype.kind == "i" and b2.dtype.itemsize <= 4:
        out = np.ascontiguousarray(native(b2))    # already exact factors: no copy needed
    else:
        out = exact_sub(b2, bz[None, :])
    check_factor(out, f"{bname} - {zname}")
    return np.ascontiguousarray(out.astype(np.int64, copy=False))


def row_zero(a_zero, rows, name="a_zero"):
    """Zero points, one per row (a scalar is repeated), kept by value in their integer
    dtype (native byte order); exact_sub takes them."""
    z = _zero_points(a_zero, name)
    if z.ndim == 0:
        return np.broadcast_to(z, (rows,))
    if z.shape != (rows,):
        raise ValueError(f"{name} has shape {z.shape}; allowed () or ({rows},) (one per row)")
    return z


def _zero_points(z, name):
    """Integer zero points by value: an integer array (native byte order), or Python ints
    of any size (an object array, e.g. 2**70, which exact_sub takes exactly)."""
    z = np.asarray(z)
    if z.dtype == object and z.size and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
            for v in z.reshape(-1)):
        return z
    if z.dtype.kind not in "iub":
        raise TypeError(f"{name} must be integers, got dtype {z.dtype}")
    return native(z)


def check_factor(x, name):
    """ValueError unless every value of x (any integer or object dtype, by value) lies
    within [-2^31, 2^31], the factor range that keeps products exact in int64."""
    if x.size and (int(x.min()) < -_FACTOR_LIMIT or int(x.max()) > _FACTOR_LIMIT):
        raise ValueError(f"{name} must lie within [-2^31, 2^31] so products are exact in "
                         f"int64; got values in [{int(x.min())}, {int(x.max())}]")


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

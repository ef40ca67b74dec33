"""Argument checks shared by every module: ints and bools in range, real and integer
arrays by value, native byte order, axes, and the memory budget of one call."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._interop import to_numpy

__all__ = ["is_int", "check_int", "check_bool", "check_real", "native", "as_real_array",
           "float64_array", "int_array", "norm_axis", "float_dtype", "MAX_BYTES", "check_bytes",
           "format_bytes"]

MAX_BYTES = 4 * 2 ** 30  # default memory budget of one call (4 GiB); callers take max_bytes=


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _range_text(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def check_int(value: Any, param: str, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as a Python int in [lo, hi] (either bound may be None): TypeError for
    anything that is not an int (bools included), ValueError outside the range; both
    messages name ``param`` and the allowed range."""
    if not is_int(value):
        raise TypeError(f"{param} must be an int{_range_text(lo, hi)}, got {value!r}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{param} must be an int{_range_text(lo, hi)}, got {v}")
    return v


def check_bool(value: Any, param: str) -> bool:
    """``value`` as a bool; TypeError for anything else (1 and "yes" included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{param} must be a bool, got {value!r}")
    return bool(value)


def check_real(value: Any, param: str, *, finite: bool = False) -> float:
    """``value`` as a Python float: an int, float or NumPy real scalar (not a bool or a
    string); with ``finite`` NaN and ±inf raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{param} must be a real number, got {type(value).__name__}")
    v = float(value)
    if finite and not np.isfinite(v):
        raise ValueError(f"{param} must be finite, got {v}")
    return v


def native(a: Any, param: str = "array") -> np.ndarray:
    """``a`` as an array in the machine's byte order, converted by value (a big-endian
    '>u2' array becomes the native uint16 array of the same numbers; a native array is
    returned as it is): kernels are compiled for native byte order only. Structured and
    sub-array dtypes raise TypeError naming ``param``. Arrays of other libraries are
    taken by ``refquant._interop``'s input rule (ml_dtypes by value, PyTorch CPU tensors,
    DLPack; a GPU tensor raises ValueError)."""
    a = np.asarray(to_numpy(a, param))
    if a.dtype.fields is not None or a.dtype.subdtype is not None:
        raise TypeError(f"{param} must be a plain numeric array, got dtype {a.dtype}")
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))


def as_real_array(x: Any, param: str = "x") -> np.ndarray:
    """``x`` as a float32 or float64 array in native byte order, converted by value:
    float32 and float64 keep their type, other real dtypes become float64; wider floats
    (longdouble) must hold float64 values exactly (ValueError otherwise). Complex and
    non-numeric dtypes raise TypeError. ml_dtypes arrays, PyTorch CPU tensors and DLPack
    objects are taken by value (``refquant._interop``)."""
    a = np.asarray(to_numpy(x, param))
    if a.dtype.kind == "c":
        raise TypeError(f"{param} must be real, got complex dtype {a.dtype}")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{param} must be a real numeric array, got dtype {a.dtype}")
    if a.dtype.kind == "f" and a.dtype.itemsize in (4, 8):
        return native(a)
    b = a.astype(np.float64)
    if a.dtype.kind == "f" and a.dtype.itemsize > 8:
        lost = ~((b == a) | np.isnan(a))
        if lost.any():
            i = int(np.flatnonzero(lost.reshape(-1))[0])
            idx = np.unravel_index(i, a.shape) if a.ndim else ()
            where = "[" + ", ".join(str(int(j)) for j in idx) + "]"
            raise ValueError(f"{param} has dtype {a.dtype}: {param}{where} = "
                             f"{a.reshape(-1)[i]} is not a float64 value (convert it first)")
    return b


def float64_array(x: Any, param: str = "x") -> np.ndarray:
    """``x`` as a float64 array in native byte order, by value, from integer and float
    dtypes only: bools, complex and non-numeric dtypes raise TypeError; wider floats
    (longdouble) must hold float64 values exactly (ValueError otherwise, as
    ``as_real_array``; other libraries' arrays as there)."""
    a = np.asarray(to_numpy(x, param))
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{param} must be real numbers, got dtype {a.dtype}")
    return as_real_array(a, param).astype(np.float64, copy=False)


def int_array(x: Any, param: str, lo: int | None = None, hi: int | None = None, *,
              floats: bool = True) -> np.ndarray:
    """``x`` as an int64 array, by value: integer dtypes of any byte order (uint64 above
    2^63 - 1 raises ValueError rather than wrapping), float arrays only with ``floats``
    and when every value is a finite integer (an empty array of any real dtype counts as
    integers); values outside [lo, hi] raise ValueError naming ``param``. ml_dtypes
    arrays, PyTorch CPU tensors and DLPack objects are taken by value
    (``refquant._interop``)."""
    a = np.asarray(to_numpy(x, param))
    if a.dtype.kind not in "iu":
        if a.size == 0 and a.dtype.kind in "bf":
            return np.zeros(a.shape, dtype=np.int64)
        if a.dtype.kind != "f" or not floats:
            raise TypeError(f"{param} must hold integers, got dtype {a.dtype}")
        f = a.astype(np.float64)
        if not np.all(np.isfinite(f)) or np.any(f != np.round(f)):
            raise TypeError(f"{param} must hold integers, got dtype {a.dtype} with "
                            "non-integer values")
        a = f
    if a.size:
        mn, mx = int(a.min()), int(a.max())
        lo64 = -2 ** 63 if lo is None else max(lo, -2 ** 63)
        hi64 = 2 ** 63 - 1 if hi is None else min(hi, 2 ** 63 - 1)
        if mn < lo64 or mx > hi64:
            raise ValueError(f"{param} must be in [{lo64}, {hi64}], got "
                             f"{mn if mn < lo64 else mx}")
    return native(a).astype(np.int64)


def norm_axis(axis: Any, ndim: int, param: str = "axis") -> int:
    """``axis`` as an index in [0, ndim): negative axes count from the end; TypeError
    for a non-int, ValueError outside [-ndim, ndim - 1]."""
    if not is_int(axis):
        raise TypeError(f"{param} must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{param}={axis} out of range for a {ndim}-d array; "
                         f"allowed {-ndim}..{ndim - 1}")
    return int(axis) % ndim


def format_bytes(nbytes: float) -> str:
    """A byte count for messages: '7.28 TiB (8000000000000 bytes)'."""
    v, unit = float(nbytes), "bytes"
    for u in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if v < 1024:
            break
        v, unit = v / 1024, u
    return f"{v:.3g} {unit} ({int(nbytes)} bytes)" if unit != "bytes" else f"{int(nbytes)} bytes"


def check_bytes(nbytes: int, what: str, max_bytes: int | None = MAX_BYTES) -> None:
    """Raise ValueError when ``what`` would need more than ``max_bytes`` (None: no
    limit), before anything is allocated; the message names the estimate and the
    keyword that allows it."""
    if max_bytes is None:
        return
    check_int(max_bytes, "max_bytes", lo=0)
    if nbytes > max_bytes:
        raise ValueError(f"{what} would need about {format_bytes(nbytes)}, above "
                         f"max_bytes={max_bytes}; pass a larger max_bytes (or None) to allow it")


def float_dtype(dtype, param="dtype") -> np.dtype:
    """np.dtype(dtype) if it is a floating dtype (float16, float32, float64, longdouble),
    else TypeError naming ``param``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise TypeError(f"{param} must be a floating dtype (float16, float32, float64), got "
                        f"{dtype!r}")
    return dt

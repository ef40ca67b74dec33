"""Correctly rounded posit arithmetic on codes: the reference a posit unit is checked
against (Posit Standard 2022; peer: SoftPosit)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from .._validate import native
from ..modes import Rounding, as_rounding
from ._posit import PositFormat, PositLike, as_posit
from ._tapered import RoundingLike, check_codes, check_seed

_k = kernels("posit")

__all__ = ["add", "sub", "mul", "div", "sqrt", "fma", "neg", "abs", "compare", "eq", "lt",
           "le", "to_signed", "convert", "to_int", "from_int"]


def _broadcast(arrs: Sequence[np.ndarray]) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrs))
    except ValueError:
        shapes = " and ".join(str(a.shape) for a in arrs)
        raise ValueError(f"operands of shapes {shapes} do not broadcast to one shape "
                         "(NumPy broadcasting rules)") from None


def _prep(fmt: PositLike, rounding: RoundingLike, *operands: npt.ArrayLike
          ) -> tuple[PositFormat, int, list[np.ndarray], np.ndarray, tuple[int, ...]]:
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    arrs = [check_codes(o, f.bits, f.name, param=f"operand {i}") for i, o in enumerate(operands)]
    arrs = _broadcast(arrs)
    shape = arrs[0].shape
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrs]
    out = np.empty(flat[0].size, dtype=f.code_dtype)
    return f, mode, flat, out, shape


def _binary(kernel: Callable[..., Any], a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike,
            rounding: RoundingLike, seed: int) -> np.ndarray:
    f, mode, (x, y), out, shape = _prep(fmt, rounding, a, b)
    kernel(x, y, f.bits, f.es, f.bits - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


# Shared by every rounded operation: operands are codes (bits-bit patterns in any integer
# dtype, values in [0, 2^bits)) that broadcast like NumPy; ``fmt`` is a PositFormat or a
# posit name; the exact real result is rounded once by ``rounding`` (default NEAREST_EVEN,
# the standard's rule: ties to the even pattern, saturation at ±maxpos, no underflow to
# zero; other modes round the same exact result and stay in [minpos, maxpos];
# STOCHASTIC is counter-based on ``seed`` and the flat element index). Results are codes
# of ``fmt.code_dtype``. NaR propagates; zero is exact (x - x = 0, 0 * x = 0).


def add(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike,
        rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0) -> np.ndarray:
    """Codes of a + b, rounded once by ``rounding`` (NaR if either operand is NaR)."""
    return _binary(_k.add, a, b, fmt, rounding, seed)


def sub(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike,
        rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0) -> np.ndarray:
    """Codes of a - b, rounded once by ``rounding`` (NaR if either operand is NaR;
    x - x = 0 exactly)."""
    return _binary(_k.sub, a, b, fmt, rounding, seed)


def mul(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike,
        rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0) -> np.ndarray:
    """Codes of a * b, rounded once by ``rounding`` (NaR if either operand is NaR;
    0 * x = 0 for x not NaR)."""
    return _binary(_k.mul, a, b, fmt, rounding, seed)


def div(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike,
        rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0) -> np.ndarray:
    """Codes of a / b, rounded once by ``rounding`` (NaR if either operand is NaR or b is
    zero; 0 / x = 0 for x not 0 or NaR)."""
    return _binary(_k.div, a, b, fmt, rounding, seed)


def sqrt(a: npt.ArrayLike, fmt: PositLike, rounding: RoundingLike = Rounding.NEAREST_EVEN,
         *, seed: int = 0) -> np.ndarray:
    """Codes of sqrt(a), rounded once by ``rounding`` (NaR for NaR and negative a;
    sqrt(0) = 0)."""
    f, mode, (x,), out, shape = _prep(fmt, rounding, a)
    _k.sqrt(x, f.bits, f.es, f.bits - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


def fma(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, fmt: PositLike,
        rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0) -> np.ndarray:
    """Codes of a * b + c with a single rounding by ``rounding`` (NaR if any operand is
    NaR)."""
    f, mode, (x, y, z), out, shape = _prep(fmt, rounding, a, b, c)
    _k.fma(x, y, z, f.bits, f.es, f.bits - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


def neg(a: npt.ArrayLike, fmt: PositLike) -> np.ndarray:
    """Codes of -a: the two's complement of the pattern (exact; -0 = 0, -NaR = NaR)."""
    f = as_posit(fmt)
    c = check_codes(a, f.bits, f.name, param="a").astype(np.int64)
    return ((-c) & ((1 << f.bits) - 1)).astype(f.code_dtype)


def abs(a: npt.ArrayLike, fmt: PositLike) -> np.ndarray:  # noqa: A001 - the standard's name
    """Codes of |a| (exact; |NaR| = NaR)."""
    f = as_posit(fmt)
    c = check_codes(a, f.bits, f.name, param="a").astype(np.int64)
    s = to_signed(c, f)
    m = np.where(s < 0, -c & ((1 << f.bits) - 1), c)
    m = np.where(c == f.nar, c, m)
    return m.astype(f.code_dtype)


def to_signed(a: npt.ArrayLike, fmt: PositLike) -> np.ndarray:
    """The codes read as bits-bit two's-complement integers (int64). Their order is the
    order of the values, with NaR (-2^(bits-1)) below every real (Posit Standard 2022)."""
    f = as_posit(fmt)
    c = check_codes(a, f.bits, f.name, param="a").astype(np.int64)
    return np.where(c >= (1 << (f.bits - 1)), c - (1 << f.bits), c)


def compare(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike) -> np.ndarray:
    """sign(a - b) in the posit total order as int8 (-1, 0, 1): the codes compared as
    signed integers, so NaR == NaR and NaR < every real."""
    sa, sb = _broadcast([to_signed(a, fmt), to_signed(b, fmt)])
    return np.sign(sa - sb).astype(np.int8)


def eq(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike) -> np.ndarray:
    """a == b (NaR equals NaR)."""
    return compare(a, b, fmt) == 0


def lt(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike) -> np.ndarray:
    """a < b in the posit order (NaR below every real)."""
    return compare(a, b, fmt) < 0


def le(a: npt.ArrayLike, b: npt.ArrayLike, fmt: PositLike) -> np.ndarray:
    """a <= b in the posit order (NaR below every real)."""
    return compare(a, b, fmt) <= 0


def convert(a: npt.ArrayLike, src: PositLike, dst: PositLike,
            rounding: RoundingLike = Rounding.NEAREST_EVEN, *, seed: int = 0) -> np.ndarray:
    """Codes of ``src`` posits converted to posit format ``dst`` (any bits, es), rounded
    once by ``rounding`` (widening conversions are exact). 0 -> 0, NaR -> NaR."""
    s = as_posit(src, "src")
    d = as_posit(dst, "dst")
    mode = int(as_rounding(rounding))
    c = check_codes(a, s.bits, s.name, param="a")
    flat = np.ascontiguousarray(c).reshape(-1)
    out = np.empty(flat.size, dtype=d.code_dtype)
    _k.convert(flat, s.bits, s.es, s.bits - 1, d.bits, d.es, d.bits - 1, mode,
               check_seed(seed), out)
    return out.reshape(c.shape)


def to_int(a: npt.ArrayLike, fmt: PositLike, rounding: RoundingLike = Rounding.NEAREST_EVEN,
           *, seed: int = 0) -> np.ndarray:
    """int64 values of the posits rounded to integers by ``rounding`` (default nearest,
    ties to even, as the standard's conversion to integer). NaR -> -2^63 (the integer
    pattern 10...0); magnitudes beyond 2^63 - 1 saturate to ±(2^63 - 1)."""
    f, mode, (x,), _, shape = _prep(fmt, rounding, a)
    out = np.empty(x.size, dtype=np.int64)
    _k.to_int(x, f.bits, f.es, f.bits - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


def from_int(x: npt.ArrayLike, fmt: PositLike, rounding: RoundingLike = Rounding.NEAREST_EVEN,
             *, seed: int = 0) -> np.ndarray:
    """Codes of integers (any integer dtype up to 64 bits, exact value) rounded once by
    ``rounding`` (default the standard rule, saturating at ±maxpos). uint64 values above
    2^63 - 1 are refused (ValueError)."""
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    v = native(x, "x")
    if v.dtype.kind not in "iu":
        raise TypeError(f"x must be integers, got dtype {v.dtype}")
    s = check_seed(seed)
    if v.dtype == np.uint64 and v.size and int(v.max()) > np.iinfo(np.int64).max:
        raise ValueError("x has uint64 values above 2^63 - 1; allowed range is int64")
    flat = np.ascontiguousarray(v.astype(np.int64)).reshape(-1)
    out = np.empty(flat.size, dtype=f.code_dtype)
    _k.from_int(flat, f.bits, f.es, f.bits - 1, mode, s, out)
    return out.reshape(v.shape)

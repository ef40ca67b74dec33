"""Correctly rounded posit arithmetic on codes: the reference a posit unit is checked against.

Every operation takes codes (n-bit patterns in any integer dtype, values in [0, 2^n);
operands broadcast like NumPy) and a posit format (``PositFormat`` or a name such as
``"posit16"`` / ``"posit16_1"``), computes the exact real result with integer arithmetic
and rounds it once with the Posit Standard 2022 rule (nearest, ties to the even pattern,
saturation at ±maxpos, no underflow to zero; see ``refquant.formats.posit``). Results are
codes of the format's ``code_dtype``.

NaR (10...0) propagates: any NaR operand gives NaR; x / 0 and sqrt(x < 0) give NaR.
Zero is exact: x - x = 0, 0 * x = 0, 0 / x = 0 (x not 0 or NaR).

``rounding`` (default NEAREST_EVEN, the standard's only rounding) selects a directed or
stochastic rounding of the same exact result; results stay in [minpos, maxpos].

Sources: Posit Standard (2022) sections on rounding, arithmetic operations, comparison
(codes compare as two's-complement integers; NaR equals itself and is below every real)
and conversions (posit to integer rounds to nearest even; NaR gives the most negative
integer). Peer: SoftPosit 0.3.4.4 (``tests/oracles/test_posit_softposit.py``).
"""
from __future__ import annotations

import numpy as np

from .formats.base import native_order
from .formats.posit import PositFormat, as_posit, check_codes, check_seed
from ._lazy import kernels as _lazy_kernels
_k = _lazy_kernels("posit")
from .modes import Rounding, as_rounding

__all__ = ["add", "sub", "mul", "div", "sqrt", "fma", "neg", "abs", "compare", "eq", "lt",
           "le", "to_signed", "convert", "to_int", "from_int", "PositFormat"]


def _broadcast(arrs):
    try:
        return np.broadcast_arrays(*arrs)
    except ValueError:
        shapes = " and ".join(str(a.shape) for a in arrs)
        raise ValueError(f"operands of shapes {shapes} do not broadcast to one shape "
                         "(NumPy broadcasting rules)") from None


def _prep(fmt, rounding, *operands):
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    arrs = [check_codes(o, f.n, f.name, param=f"operand {i}") for i, o in enumerate(operands)]
    arrs = _broadcast(arrs)
    shape = arrs[0].shape
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrs]
    out = np.empty(flat[0].size, dtype=f.code_dtype)
    return f, mode, flat, out, shape


def _binary(kernel, a, b, fmt, rounding, seed):
    f, mode, (x, y), out, shape = _prep(fmt, rounding, a, b)
    kernel(x, y, f.n, f.es, f.n - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


def add(a, b, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of a + b, rounded once (NaR if either operand is NaR)."""
    return _binary(_k.add, a, b, fmt, rounding, seed)


def sub(a, b, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of a - b, rounded once (NaR if either operand is NaR)."""
    return _binary(_k.sub, a, b, fmt, rounding, seed)


def mul(a, b, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of a * b, rounded once (NaR if either operand is NaR)."""
    return _binary(_k.mul, a, b, fmt, rounding, seed)


def div(a, b, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of a / b, rounded once (NaR if either operand is NaR or b is zero)."""
    return _binary(_k.div, a, b, fmt, rounding, seed)


def sqrt(a, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of sqrt(a), rounded once (NaR for NaR and negative a; sqrt(0) = 0)."""
    f, mode, (x,), out, shape = _prep(fmt, rounding, a)
    _k.sqrt(x, f.n, f.es, f.n - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


def fma(a, b, c, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of a * b + c with a single rounding (NaR if any operand is NaR)."""
    f, mode, (x, y, z), out, shape = _prep(fmt, rounding, a, b, c)
    _k.fma(x, y, z, f.n, f.es, f.n - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


def neg(a, fmt):
    """Codes of -a: the two's complement of the pattern (exact; -0 = 0, -NaR = NaR)."""
    f = as_posit(fmt)
    c = check_codes(a, f.n, f.name, param="a").astype(np.int64)
    return ((-c) & ((1 << f.n) - 1)).astype(f.code_dtype)


def abs(a, fmt):  # noqa: A001 - the arithmetic namespace mirrors the standard's names
    """Codes of |a| (exact; |NaR| = NaR)."""
    f = as_posit(fmt)
    c = check_codes(a, f.n, f.name, param="a").astype(np.int64)
    s = to_signed(c, f)
    m = np.where(s < 0, -c & ((1 << f.n) - 1), c)
    m = np.where(c == f.nar, c, m)
    return m.astype(f.code_dtype)


def to_signed(a, fmt) -> np.ndarray:
    """The codes read as n-bit two's-complement integers (int64). Their order is the
    order of the values, with NaR (-2^(n-1)) below every real (Posit Standard 2022)."""
    f = as_posit(fmt)
    c = check_codes(a, f.n, f.name, param="a").astype(np.int64)
    return np.where(c >= (1 << (f.n - 1)), c - (1 << f.n), c)


def compare(a, b, fmt) -> np.ndarray:
    """sign(a - b) in the posit total order as int8 (-1, 0, 1): the codes compared as
    signed integers, so NaR == NaR and NaR < every real."""
    sa, sb = _broadcast([to_signed(a, fmt), to_signed(b, fmt)])
    return np.sign(sa - sb).astype(np.int8)


def eq(a, b, fmt) -> np.ndarray:
    """a == b (NaR equals NaR)."""
    return compare(a, b, fmt) == 0


def lt(a, b, fmt) -> np.ndarray:
    """a < b in the posit order (NaR below every real)."""
    return compare(a, b, fmt) < 0


def le(a, b, fmt) -> np.ndarray:
    """a <= b in the posit order (NaR below every real)."""
    return compare(a, b, fmt) <= 0


def convert(a, src, dst, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of ``src`` posits converted to posit format ``dst`` (any n, es), rounded once
    by the standard rule (widening conversions are exact). 0 -> 0, NaR -> NaR."""
    s = as_posit(src, "src")
    d = as_posit(dst, "dst")
    mode = int(as_rounding(rounding))
    c = check_codes(a, s.n, s.name, param="a")
    flat = np.ascontiguousarray(c).reshape(-1)
    out = np.empty(flat.size, dtype=d.code_dtype)
    _k.convert(flat, s.n, s.es, s.n - 1, d.n, d.es, d.n - 1, mode, check_seed(seed), out)
    return out.reshape(c.shape)


def to_int(a, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0) -> np.ndarray:
    """int64 values of the posits rounded to integers by ``rounding`` (default nearest,
    ties to even, as the standard's conversion to integer). NaR -> -2^63 (the integer
    pattern 10...0); magnitudes beyond 2^63 - 1 saturate to ±(2^63 - 1)."""
    f, mode, (x,), _, shape = _prep(fmt, rounding, a)
    out = np.empty(x.size, dtype=np.int64)
    _k.to_int(x, f.n, f.es, f.n - 1, mode, check_seed(seed), out)
    return out.reshape(shape)


def from_int(x, fmt, rounding=Rounding.NEAREST_EVEN, *, seed=0):
    """Codes of integers (any integer dtype up to 64 bits, exact value) rounded once by
    the standard rule (saturating at ±maxpos). uint64 values above 2^63 - 1 are refused."""
    f = as_posit(fmt)
    mode = int(as_rounding(rounding))
    v = native_order(x, "x")
    if v.dtype.kind not in "iu":
        raise TypeError(f"x must be integers, got dtype {v.dtype}")
    seed = check_seed(seed)
    if v.dtype == np.uint64 and v.size and int(v.max()) > np.iinfo(np.int64).max:
        raise ValueError("x has uint64 values above 2^63 - 1; allowed range is int64")
    flat = np.ascontiguousarray(v.astype(np.int64)).reshape(-1)
    out = np.empty(flat.size, dtype=f.code_dtype)
    _k.from_int(flat, f.n, f.es, f.n - 1, mode, check_seed(seed), out)
    return out.reshape(v.shape)

"""Fixed-point requantization of integer accumulators: gemmlowp / TFLite multipliers and
HAWQ-V3 dyadic scales, vectorised over arrays and exact."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from .._validate import check_bool, check_int, float64_array, int_array
from ..modes import Rounding, as_rounding

_k = kernels("integer")
_kr = kernels("rounding")

__all__ = ["quantize_multiplier", "saturating_rounding_doubling_high_mul",
           "rounding_divide_by_pot", "multiply_by_quantized_multiplier", "dyadic_scale",
           "dyadic_requantize"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _flat(names: tuple[str, ...], *arrays: np.ndarray
          ) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """The broadcast shape of ``arrays`` and each broadcast to it as a contiguous 1-D
    array; ValueError naming every argument's shape when they do not broadcast."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        parts = [f"{n} with shape {a.shape}" for n, a in zip(names, arrays)]
        raise ValueError(", ".join(parts[:-1]) + " and " + parts[-1] + " do not broadcast") from None
    flats = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
    return shape, flats


# --------------------------------------------------------------------------------------
# gemmlowp / TFLite fixed point
# --------------------------------------------------------------------------------------

def quantize_multiplier(m: npt.ArrayLike, *,
                        single_rounding: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Split real multipliers m >= 0 into (q, shift) with m ~= q * 2^(shift - 31).

    TFLite ``QuantizeMultiplier``: (f, shift) = frexp(m) (f in [0.5, 1)); q = f * 2^31
    rounded half away from zero (``TfLiteRound``); if q == 2^31 then q = 2^30 and
    shift += 1; if shift < -31 then q = shift = 0 (the multiplier underflows); m == 0 gives
    (0, 0). With ``single_rounding=True`` (TFLITE_SINGLE_ROUNDING) a shift above 30 is
    capped: shift = 30, q = 2^31 - 1. Returns int32 arrays (q, shift) of m's shape.
    m must be finite and non-negative (ValueError otherwise).
    """
    single_rounding = check_bool(single_rounding, "single_rounding")
    mv = float64_array(m, "m")
    if not np.all(np.isfinite(mv)) or np.any(mv < 0):
        raise ValueError("m must be finite and >= 0")
    f, e = np.frexp(mv)
    t = f * 2.0 ** 31  # exact: scaling by a power of two
    q = (np.floor(t + 0.5)).astype(np.int64)  # t >= 0: half away from zero == half up
    e = e.astype(np.int64)
    full = q == (1 << 31)
    q = np.where(full, q // 2, q)
    e = np.where(full, e + 1, e)
    under = e < -31
    q = np.where(under, 0, q)
    e = np.where(under, 0, e)
    if single_rounding:
        big = e > 30
        q = np.where(big, INT32_MAX, q)
        e = np.where(big, 30, e)
    return q.astype(np.int32), e.astype(np.int32)


def saturating_rounding_doubling_high_mul(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul of int32 arrays (broadcast).

    Result: (a * b + nudge) / 2^31 with C truncating division, nudge = 2^30 when
    a * b >= 0 else 1 - 2^30, which equals floor(a * b / 2^31 + 1/2): the high half of 2ab
    rounded to nearest with ties toward +inf (-1.5 -> -1); a == b == INT32_MIN gives
    INT32_MAX. Inputs outside int32 raise ValueError. Returns int32.
    """
    av = int_array(a, "a", INT32_MIN, INT32_MAX)
    bv = int_array(b, "b", INT32_MIN, INT32_MAX)
    shape, (fa, fb) = _flat(("a", "b"), av, bv)
    out = np.empty(fa.size, dtype=np.int64)
    _k.srdhm(fa, fb, out)
    return out.astype(np.int32).reshape(shape)


def rounding_divide_by_pot(x: npt.ArrayLike, exponent: npt.ArrayLike) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero
    (mask = 2^e - 1, rem = x & mask, thr = (mask >> 1) + (x < 0), (x >> e) + (rem > thr)).
    x int32, 0 <= exponent <= 31 (ValueError otherwise); broadcast; returns int32."""
    xv = int_array(x, "x", INT32_MIN, INT32_MAX)
    ev = int_array(exponent, "exponent", 0, 31)
    shape, (fx, fe) = _flat(("x", "exponent"), xv, ev)
    out = np.empty(fx.size, dtype=np.int64)
    _k.rdbpot(fx, fe, out)
    return out.astype(np.int32).reshape(shape)


def multiply_by_quantized_multiplier(x: npt.ArrayLike, quantized_multiplier: npt.ArrayLike,
                                     shift: npt.ArrayLike, *,
                                     single_rounding: bool = False) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier: x * q * 2^(shift - 31) rounded, in int32.

    Double rounding (default, TFLite's standard build):
    RDBPOT(SRDHM(x * 2^max(shift, 0), q), max(-shift, 0)); the left shift wraps modulo 2^32
    like the C++ int32 product; shift in -31..31 (the right shift is at most 31).
    ``single_rounding=True`` (TFLITE_SINGLE_ROUNDING): (x * q + 2^(30 - shift)) >> (31 - shift)
    in int64 (round half up), q >= 0, shift in -31..30, and a result outside int32 raises
    OverflowError (TFLite asserts it cannot happen).
    All arguments broadcast; x and q are int32. Returns int32.
    """
    single_rounding = check_bool(single_rounding, "single_rounding")
    xv = int_array(x, "x", INT32_MIN, INT32_MAX)
    if single_rounding:
        q = int_array(quantized_multiplier, "quantized_multiplier", 0, INT32_MAX)
        s = int_array(shift, "shift", -31, 30)
    else:
        q = int_array(quantized_multiplier, "quantized_multiplier", INT32_MIN, INT32_MAX)
        s = int_array(shift, "shift", -31, 31)
    shape, (fx, fq, fs) = _flat(("x", "quantized_multiplier", "shift"), xv, q, s)
    out = np.empty(fx.size, dtype=np.int64)
    _k.mbqm(fx, fq, fs, 1 if single_rounding else 0, out)
    if single_rounding and out.size and (out.min() < INT32_MIN or out.max() > INT32_MAX):
        i = int(np.argmax((out < INT32_MIN) | (out > INT32_MAX)))
        raise OverflowError(f"single-rounding result {int(out[i])} at flat index {i} "
                            "leaves int32")
    return out.astype(np.int32).reshape(shape)


# --------------------------------------------------------------------------------------
# HAWQ-V3 dyadic requantization
# --------------------------------------------------------------------------------------

def dyadic_scale(scale: npt.ArrayLike, *, bits: int = 31) -> tuple[np.ndarray, np.ndarray]:
    """HAWQ-V3 dyadic number for a positive real scale: (m, e) with scale ~= m / 2^e.

    (frac, exp) = frexp(scale); m = round_half_away(frac * 2^bits) (``decimal``
    ROUND_HALF_UP in HAWQ's ``batch_frexp``), e = bits - exp. ``bits`` in 1..62; scale
    must be finite, > 0 and give e >= 0 (scale < 2^bits). Returns int64 arrays (m, e).
    """
    bits = check_int(bits, "bits", 1, 62)
    s = float64_array(scale, "scale")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("scale must be finite and > 0")
    f, ex = np.frexp(s)
    m = np.floor(f * 2.0 ** bits + 0.5).astype(np.int64)
    e = bits - ex.astype(np.int64)
    if np.any(e < 0):
        raise ValueError(f"scale must be < 2^{bits} (a dyadic exponent e >= 0)")
    return m, e


def dyadic_requantize(acc: npt.ArrayLike, m: npt.ArrayLike, e: npt.ArrayLike, *,
                      bits: int = 8, signed: bool = True, zero_point: npt.ArrayLike = 0,
                      rounding: Rounding | str = Rounding.NEAREST_EVEN) -> np.ndarray:
    """HAWQ-V3 integer requantization: clamp(round(acc * m / 2^e) + zero_point) to the
    ``bits``-bit signed/unsigned range, computed exactly in integers.

    acc: int32 accumulators; m: 0 <= m <= 2^31 (``dyadic_scale``); e >= 0; all broadcast.
    ``rounding`` (default half to even, as HAWQ's ``torch.round``) is applied to the exact
    quotient. HAWQ evaluates acc * m / 2^e in float64 (``fixedpoint_mul``), which agrees
    whenever |acc * m| < 2^53. Returns int64.
    """
    av = int_array(acc, "acc", INT32_MIN, INT32_MAX)
    mv = int_array(m, "m", 0, 1 << 31)
    ev = int_array(e, "e", 0, 1 << 20)
    bits = check_int(bits, "bits", 1, 32)
    signed = check_bool(signed, "signed")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    z = int_array(zero_point, "zero_point", lo, hi)
    mode = as_rounding(rounding)
    shape, (fa, fm, fe, fz) = _flat(("acc", "m", "e", "zero_point"), av, mv, ev, z)
    prod = fa * fm  # |acc * m| <= 2^62
    # For e > 62 the quotient lies in [-1/2, 1/2], with +-1/2 only for |prod| = 2^62 and
    # e = 63. Replace such elements by an equivalent shift of 62: prod / 2 (exact) when
    # e = 63 and prod is even, else sign(prod), whose quotient +-2^-62 has the same
    # floor, sign and side of 1/2 as the true one.
    big = fe > 62
    if big.any():
        if mode is Rounding.STOCHASTIC:
            raise ValueError("STOCHASTIC rounding needs e <= 62")
        halve = big & (fe == 63) & (prod % 2 == 0)
        prod = np.where(halve, prod // 2, np.where(big, np.sign(prod), prod))
    sh = np.minimum(fe, 62)
    out = np.empty(fa.size, dtype=np.int64)
    _kr.shift_right_round(prod, sh, int(mode), 0, out)
    return np.clip(out + fz, lo, hi).reshape(shape)

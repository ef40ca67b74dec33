"""Integer-only arithmetic: fixed-point requantization and exact integer matrix products.

Requantization follows gemmlowp (``fixedpoint/fixedpoint.h``) and TFLite
(``kernels/internal/common.h``, ``quantization_util.cc``), all vectorised over arrays:

- ``quantize_multiplier(m)``: (q, shift) with m ~= q * 2^(shift - 31), q a Q0.31 int32.
  (f, shift) = frexp(m); q = round_half_away(f * 2^31); q == 2^31 -> q = 2^30, shift + 1;
  shift < -31 -> q = 0, shift = 0. The single-rounding build also caps shift at 30
  (q = 2^31 - 1 there).
- ``saturating_rounding_doubling_high_mul(a, b)``: high 32 bits of 2ab rounded to nearest,
  ties toward +inf: floor(ab / 2^31 + 1/2) (nudge 2^30 or 1 - 2^30, C truncating division); INT32_MIN * INT32_MIN
  saturates to INT32_MAX.
- ``rounding_divide_by_pot(x, e)``: x / 2^e rounded half away from zero (0 <= e <= 31).
- ``multiply_by_quantized_multiplier(x, q, shift)``: RDBPOT(SRDHM(x * 2^max(shift, 0), q),
  max(-shift, 0)) (double rounding, TFLite default); ``single_rounding=True`` gives the
  TFLITE_SINGLE_ROUNDING build (x * q + 2^(30 - shift)) >> (31 - shift).
- HAWQ-V3 dyadic requantization (Yao et al., ICML 2021, arXiv 2011.10680; the HAWQ
  repository's ``batch_frexp`` / ``fixedpoint_mul``): ``dyadic_scale(s)`` gives
  m = round_half_away(frac * 2^31), e = 31 - exp with (frac, exp) = frexp(s), and
  ``dyadic_requantize`` computes clamp(round_half_even(acc * m / 2^e) + z) exactly
  (HAWQ evaluates acc * m / 2^e in float64, which agrees whenever |acc * m| < 2^53).

Integer matrix products are exact: ``gemm`` runs float BLAS on chunks of K small enough
that every partial sum is an integer below the float's significand (float32 when
K * max|a| * max|b| <= 2^24, float64 when <= 2^53), adds the chunk results exactly, and
then applies the accumulator width and overflow policy. Saturation at every step
depends on the summation order and runs a sequential kernel (k ascending).
``matmul_integer`` and ``qlinear_matmul`` follow ONNX MatMulInteger / QLinearMatMul and
are tested bit-exact against onnxruntime; ``conv2d`` is ONNX ConvInteger (plus bias,
accumulator width and overflow) through im2col.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._lazy import kernels as _lazy_kernels
_ki = _lazy_kernels("integer")
_kr = _lazy_kernels("rounding")
from .modes import Overflow, Rounding, as_rounding

__all__ = ["quantize_multiplier", "saturating_rounding_doubling_high_mul",
           "rounding_divide_by_pot", "multiply_by_quantized_multiplier", "dyadic_scale",
           "dyadic_requantize", "gemm", "matmul_integer", "qlinear_matmul", "conv2d"]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _int_array(v, param, lo=INT32_MIN, hi=INT32_MAX):
    a = np.asarray(v)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "b" or a.dtype == object:
            raise TypeError(f"{param} must be an integer array, got dtype {a.dtype}")
        if a.dtype.kind != "f" or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise TypeError(f"{param} must hold integers, got dtype {a.dtype}")
    if a.size and (a.min() < lo or a.max() > hi):
        raise ValueError(f"{param} outside the allowed range [{lo}, {hi}]")
    return a.astype(np.int64)


def _flat(*arrays):
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flats = [np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
    return shape, flats


# --------------------------------------------------------------------------------------
# gemmlowp / TFLite fixed point
# --------------------------------------------------------------------------------------

def quantize_multiplier(m, *, single_rounding=False):
    """Split real multipliers m >= 0 into (q, shift) with m ~= q * 2^(shift - 31).

    TFLite ``QuantizeMultiplier``: (f, shift) = frexp(m) (f in [0.5, 1)); q = f * 2^31
    rounded half away from zero (``TfLiteRound``); if q == 2^31 then q = 2^30 and
    shift += 1; if shift < -31 then q = shift = 0 (the multiplier underflows); m == 0 gives
    (0, 0). With ``single_rounding=True`` (TFLITE_SINGLE_ROUNDING) a shift above 30 is
    capped: shift = 30, q = 2^31 - 1. Returns int32 arrays (q, shift) of m's shape.
    m must be finite and non-negative (ValueError otherwise).
    """
    m = np.asarray(m, dtype=np.float64)
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError("m must be finite and >= 0")
    f, e = np.frexp(m)
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


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul of int32 arrays (broadcast).

    Result: (a * b + nudge) / 2^31 with C truncating division, nudge = 2^30 when
    a * b >= 0 else 1 - 2^30, which equals floor(a * b / 2^31 + 1/2): the high half of 2ab
    rounded to nearest with ties toward +inf (-1.5 -> -1); a == b == INT32_MIN gives INT32_MAX. Inputs outside int32 raise ValueError.
    Returns int32.
    """
    a = _int_array(a, "a")
    b = _int_array(b, "b")
    shape, (fa, fb) = _flat(a, b)
    out = np.empty(fa.size, dtype=np.int64)
    _ki.srdhm(fa, fb, out)
    return out.astype(np.int32).reshape(shape)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero
    (mask = 2^e - 1, rem = x & mask, thr = (mask >> 1) + (x < 0), (x >> e) + (rem > thr)).
    x int32, 0 <= exponent <= 31 (ValueError otherwise); broadcast; returns int32."""
    x = _int_array(x, "x")
    e = _int_array(exponent, "exponent", 0, 31)
    shape, (fx, fe) = _flat(x, e)
    out = np.empty(fx.size, dtype=np.int64)
    _ki.rdbpot(fx, fe, out)
    return out.astype(np.int32).reshape(shape)


def multiply_by_quantized_multiplier(x, quantized_multiplier, shift, *, single_rounding=False):
    """TFLite MultiplyByQuantizedMultiplier: x * q * 2^(shift - 31) rounded, in int32.

    Double rounding (default, TFLite's standard build):
    RDBPOT(SRDHM(x * 2^max(shift, 0), q), max(-shift, 0)); the left shift wraps modulo 2^32
    like the C++ int32 product; shift in -31..31 (the right shift is at most 31).
    ``single_rounding=True`` (TFLITE_SINGLE_ROUNDING): (x * q + 2^(30 - shift)) >> (31 - shift)
    in int64 (round half up), q >= 0, shift in -31..30, and a result outside int32 raises
    OverflowError (TFLite asserts it cannot happen).
    All arguments broadcast; x and q are int32. Returns int32.
    """
    x = _int_array(x, "x")
    if single_rounding:
        q = _int_array(quantized_multiplier, "quantized_multiplier", 0, INT32_MAX)
        s = _int_array(shift, "shift", -31, 30)
    else:
        q = _int_array(quantized_multiplier, "quantized_multiplier")
        s = _int_array(shift, "shift", -31, 31)
    shape, (fx, fq, fs) = _flat(x, q, s)
    out = np.empty(fx.size, dtype=np.int64)
    _ki.mbqm(fx, fq, fs, 1 if single_rounding else 0, out)
    if single_rounding and out.size and (out.min() < INT32_MIN or out.max() > INT32_MAX):
        i = int(np.argmax((out < INT32_MIN) | (out > INT32_MAX)))
        raise OverflowError(f"single-rounding result {int(out[i])} at flat index {i} "
                            "leaves int32")
    return out.astype(np.int32).reshape(shape)


def dyadic_scale(scale, *, bits=31):
    """HAWQ-V3 dyadic number for a positive real scale: (m, e) with scale ~= m / 2^e.

    (frac, exp) = frexp(scale); m = round_half_away(frac * 2^bits) (``decimal``
    ROUND_HALF_UP in HAWQ), e = bits - exp. ``bits`` in 1..62; scale must be finite,
    > 0 and give e >= 0 (scale < 2^bits). Returns int64 arrays (m, e).
    """
    if not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 62:
        raise ValueError(f"bits={bits!r} out of range; allowed 1..62")
    s = np.asarray(scale, dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("scale must be finite and > 0")
    f, ex = np.frexp(s)
    m = np.floor(f * 2.0 ** bits + 0.5).astype(np.int64)
    e = bits - ex.astype(np.int64)
    if np.any(e < 0):
        raise ValueError(f"scale must be < 2^{bits} (a dyadic exponent e >= 0)")
    return m, e


def dyadic_requantize(acc, m, e, *, bits=8, signed=True, zero_point=0,
                      rounding=Rounding.NEAREST_EVEN):
    """HAWQ-V3 integer requantization: clamp(round(acc * m / 2^e) + zero_point) to the
    ``bits``-bit signed/unsigned range, computed exactly in integers.

    acc: int32 accumulators; m: 0 <= m <= 2^31 (``dyadic_scale``); e >= 0; all broadcast.
    ``rounding`` (default half to even, as HAWQ's ``torch.round``) is applied to the exact
    quotient. Returns int64.
    """
    acc = _int_array(acc, "acc")
    m = _int_array(m, "m", 0, 1 << 31)
    e = _int_array(e, "e", 0, 1 << 20)
    if not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 32:
        raise ValueError(f"bits={bits!r} out of range; allowed 1..32")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    z = _int_array(zero_point, "zero_point", lo, hi)
    mode = as_rounding(rounding)
    shape, (fa, fm, fe, fz) = _flat(acc, m, e, z)
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


# --------------------------------------------------------------------------------------
# exact integer matrix products
# --------------------------------------------------------------------------------------

_OVERFLOWS = {"wrap": "wrap", "saturate": "saturate", "exact": "exact", "raise": "raise"}


def _as_overflow_policy(overflow):
    if isinstance(overflow, Overflow):
        key = overflow.name.lower()
    elif isinstance(overflow, str):
        key = overflow.strip().lower()
    else:
        key = None
    if key not in _OVERFLOWS:
        raise ValueError(f"overflow={overflow!r}; allowed: 'wrap', 'saturate', 'exact', 'raise'")
    return key


def _bound(a_lo, a_hi, b_lo, b_hi):
    return max(abs(a_lo), abs(a_hi)), max(abs(b_lo), abs(b_hi))


def _exact_matmul(A, B, ma, mb):
    """Exact product of integer-valued arrays A (..., M, K) and B (..., K, N) with
    max|A| <= ma and max|B| <= mb (Python ints), via float BLAS on exact chunks.
    Returns an array holding the exact integer results: float32/float64 (whose values are
    exact integers) or int64."""
    K = A.shape[-1]
    pm = ma * mb
    out_shape = np.broadcast_shapes(A.shape[:-2], B.shape[:-2]) + (A.shape[-2], B.shape[-1])
    if pm == 0 or K == 0:
        return np.zeros(out_shape, dtype=np.int64)
    if K * pm >= (1 << 62):
        raise ValueError(f"operands too large for an exact int64 product: K * max|a| * max|b| "
                         f"= {K * pm} >= 2^62")
    kc32 = (1 << 24) // pm
    kc64 = (1 << 53) // pm
    if K <= kc32:
        return np.matmul(A.astype(np.float32, copy=False), B.astype(np.float32, copy=False))
    if kc32 >= 1 and -(-K // kc32) <= 4 and K * pm <= (1 << 53):
        acc = np.zeros(out_shape, dtype=np.float64)  # every partial sum < 2^53: exact
        A32 = A.astype(np.float32, copy=False)
        B32 = B.astype(np.float32, copy=False)
        for k0 in range(0, K, kc32):
            acc += np.matmul(A32[..., k0:k0 + kc32], B32[..., k0:k0 + kc32, :])
        return acc
    if kc64 >= 1:
        A64 = A.astype(np.float64, copy=False)
        B64 = B.astype(np.float64, copy=False)
        if K <= kc64:
            return np.matmul(A64, B64)
        acc = np.zeros(out_shape, dtype=np.int64)
        for k0 in range(0, K, kc64):
            acc += np.matmul(A64[..., k0:k0 + kc64], B64[..., k0:k0 + kc64, :]).astype(np.int64)
        return acc
    A3, B3, C3, shape = _batch3(A, B, None)
    out = np.empty(C3.shape, dtype=np.int64)
    _ki.gemm_int64(A3, B3, C3, out)
    return out.reshape(shape)


def _batch3(A, B, C):
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    M, K = A.shape[-2:]
    N = B.shape[-1]
    shape = batch + (M, N)
    A3 = np.ascontiguousarray(np.broadcast_to(A, batch + (M, K)), dtype=np.int64).reshape(-1, M, K)
    B3 = np.ascontiguousarray(np.broadcast_to(B, batch + (K, N)), dtype=np.int64).reshape(-1, K, N)
    if C is None:
        C3 = np.zeros((A3.shape[0], M, N), dtype=np.int64)
    else:
        C3 = np.ascontiguousarray(np.broadcast_to(C, shape), dtype=np.int64).reshape(-1, M, N)
    return A3, B3, C3, shape


def _matmul_policy(A, B, ma, mb, bias, acc_bits, overflow):
    """Apply bias, accumulator width and overflow policy to the product of the
    zero-point-free operands A, B (integer-valued arrays)."""
    if not isinstance(acc_bits, (int, np.integer)) or not 2 <= acc_bits <= 64:
        raise ValueError(f"acc_bits={acc_bits!r} out of range; allowed 2..64")
    acc_bits = int(acc_bits)
    policy = _as_overflow_policy(overflow)
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    K = A.shape[-1]
    cmax = 0
    if bias is not None:
        cmax = int(np.abs(bias).max()) if bias.size else 0
    out_dtype = np.int64 if (policy == "exact" or acc_bits > 32) else np.int32
    if policy == "saturate" and K * ma * mb + cmax > hi:
        if K * ma * mb + cmax >= (1 << 63):
            raise ValueError("operands too large for the saturating int64 kernel")
        A3, B3, C3, shape = _batch3(A, B, bias)
        out = np.empty(C3.shape, dtype=np.int64)
        _ki.gemm_saturate(A3, B3, C3, lo, hi, out)
        return out.reshape(shape).astype(out_dtype)
    res = _exact_matmul(A, B, ma, mb)
    if res.dtype != np.int64 and (K * ma * mb + cmax <= hi or policy == "exact"):
        if bias is None:  # cannot leave the accumulator: convert once
            return res.astype(out_dtype)
        return (res.astype(np.int64) + bias).astype(out_dtype)
    res = res.astype(np.int64, copy=False)
    if bias is not None:
        res = res + bias
    if policy == "exact":
        return res
    if res.size and (res.min() < lo or res.max() > hi):
        if policy == "raise":
            idx = np.unravel_index(int(np.argmax((res < lo) | (res > hi))), res.shape)
            raise OverflowError(f"accumulator at {list(map(int, idx))} = {int(res[idx])} "
                                f"leaves the {acc_bits}-bit range [{lo}, {hi}]")
        if acc_bits < 64:
            res = ((res - lo) & ((1 << acc_bits) - 1)) + lo
    return res.astype(out_dtype)


def _operand(v, param):
    a = np.asarray(v)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{param} must be an integer array, got dtype {a.dtype}")
    if a.ndim < 2:
        raise ValueError(f"{param} must have at least 2 dimensions (..., rows, cols); got {a.ndim}")
    if a.dtype == np.uint64 and a.size and a.max() >= (1 << 63):
        raise ValueError(f"{param} holds values >= 2^63")
    return a


def _zero(z, param, length, what):
    zz = np.asarray(0 if z is None else z)
    if zz.dtype.kind not in "iu":
        raise TypeError(f"{param} must be an integer scalar or 1-D array, got dtype {zz.dtype}")
    if zz.ndim > 1 or (zz.ndim == 1 and zz.size not in (1, length)):
        raise ValueError(f"{param} must be a scalar or have {length} elements (one per {what}); "
                         f"got shape {zz.shape}")
    return zz.astype(np.int64).reshape(-1)


def _shifted(a, z, row):
    """a - z with z per row (axis -2) or per column (axis -1), and max|a - z|.
    Small operands come back as exact float32 (ready for BLAS), others as int64."""
    if a.size == 0:
        return a.astype(np.int64), 0
    lo, hi = int(a.min()), int(a.max())
    zlo, zhi = int(z.min()), int(z.max())
    bound = max(abs(lo - zhi), abs(hi - zlo))
    if bound <= (1 << 24) and a.dtype.itemsize <= 2 and z.size == 1:
        d = a.astype(np.float32)
        if z[0]:
            d -= np.float32(z[0])  # exact: every value and result is an integer < 2^24
        return d, bound
    a64 = a.astype(np.int64)
    if z.size == 1:
        d = a64 - int(z[0])
    elif row:
        d = a64 - z[:, None]
    else:
        d = a64 - z[None, :]
    if d.size == 0:
        return d, 0
    return d, max(abs(int(d.min())), abs(int(d.max())))


def gemm(a, b, a_zero=0, b_zero=0, *, acc_bits=32, overflow="wrap", bias=None):
    """Integer matrix product sum_k (a[i, k] - a_zero) * (b[k, j] - b_zero) (+ bias)
    with a ``acc_bits``-bit two's-complement accumulator.

    a: (..., M, K), b: (..., K, N) integer arrays (int2..int16 and unsigned operands are
    the intended use; any integers work while K * max|a - a_zero| * max|b - b_zero| < 2^62);
    batch dimensions broadcast as in ``np.matmul``. a_zero: scalar or one per row (M,);
    b_zero: scalar or one per column (N,). bias: broadcastable to the output, the
    accumulator's initial value.

    overflow:
      "exact"    the exact sum as int64 (acc_bits ignored).
      "wrap"     the exact sum modulo 2^acc_bits (equal to wrapping after every step).
      "saturate" clamp to [-2^(acc_bits-1), 2^(acc_bits-1) - 1] after every addition, in
                 the order acc = clamp(bias); for k = 0..K-1: acc = clamp(acc + product)
                 (products are exact). When K * max|a| * max|b| + max|bias| fits the
                 accumulator no step can saturate and the fast exact path is used.
      "raise"    the exact sum; OverflowError if any leaves the accumulator range.
    Exact sums are computed on float BLAS in chunks of K whose partial sums are integers
    below 2^24 (float32) or 2^53 (float64), so no rounding ever occurs.
    Returns int32 for acc_bits <= 32, int64 otherwise (and for "exact").
    """
    a = _operand(a, "a")
    b = _operand(b, "b")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"a has K={a.shape[-1]} columns but b has {b.shape[-2]} rows")
    az = _zero(a_zero, "a_zero", a.shape[-2], "row of a")
    bz = _zero(b_zero, "b_zero", b.shape[-1], "column of b")
    A, ma = _shifted(a, az, True)
    B, mb = _shifted(b, bz, False)
    c = None
    if bias is not None:
        c = np.asarray(bias)
        if c.dtype.kind not in "iu":
            raise TypeError(f"bias must be integers, got dtype {c.dtype}")
        c = c.astype(np.int64)
    return _matmul_policy(A, B, ma, mb, c, acc_bits, overflow)


def matmul_integer(a, b, a_zero_point=None, b_zero_point=None):
    """ONNX MatMulInteger: int32 (a - a_zero_point) @ (b - b_zero_point).

    a, b: int8 / uint8 (any integers accepted) with NumPy matmul batch broadcasting (at
    least 2-D). a_zero_point: scalar or one per row of a; b_zero_point: scalar or one per
    column of b (ONNX's per-row / per-column 1-D zero points). The int32 accumulator wraps
    (exact for K < 2^16 with 8-bit operands)."""
    return gemm(a, b, a_zero_point, b_zero_point, acc_bits=32, overflow="wrap")


def _range_of(dtype, param):
    if dtype.kind not in "iu" or dtype.itemsize > 4:
        raise TypeError(f"{param} must have an 8/16/32-bit integer dtype (it fixes the output "
                        f"type); got {dtype}")
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def qlinear_matmul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point,
                   *, compat="onnx"):
    """ONNX QLinearMatMul: y = saturate(round((a - az) @ (b - bz) * sa * sb / sy) + yz).

    a: (..., M, K), b: (..., K, N) integers; az scalar or per row, bz scalar or per column;
    a_scale scalar, b_scale scalar or per column (N,), y_scale scalar; the output dtype is
    y_zero_point's (uint8 / int8 / ...). The integer product is exact.
    compat="onnx" (default) reproduces onnxruntime's CPU requantization bit for bit:
    multiplier = float32(float32(sa * sb) / sy), v = float32(float32(acc) * multiplier),
    rounded half to even, plus yz, saturated. compat="exact": the exact real value
    acc * sa * sb / sy (scales taken as the float64 values given) rounded half to even.
    """
    if compat not in ("onnx", "exact"):
        raise ValueError(f"compat={compat!r}; allowed: 'onnx', 'exact'")
    yz = np.asarray(y_zero_point)
    ylo, yhi = _range_of(yz.dtype, "y_zero_point")
    if yz.size != 1:
        raise ValueError("y_zero_point must be a scalar")
    yzv = int(yz.reshape(-1)[0])
    sa = np.asarray(a_scale, dtype=np.float64).reshape(-1)
    sb = np.asarray(b_scale, dtype=np.float64).reshape(-1)
    sy = np.asarray(y_scale, dtype=np.float64).reshape(-1)
    b_arr = np.asarray(b)
    n = b_arr.shape[-1] if b_arr.ndim >= 2 else 0
    for name, s, allowed in (("a_scale", sa, (1,)), ("b_scale", sb, (1, n)), ("y_scale", sy, (1,))):
        if s.size not in allowed:
            raise ValueError(f"{name} must be a scalar{' or one per column of b' if len(allowed) > 1 else ''}; "
                             f"got {s.size} elements")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError(f"{name} must be positive and finite")
    acc = gemm(a, b, a_zero_point, b_zero_point, overflow="exact")
    if compat == "onnx":
        mult = ((sa.astype(np.float32) * sb.astype(np.float32)) / sy.astype(np.float32)).astype(np.float32)
        v = acc.astype(np.float32) * mult
        r = np.rint(v.astype(np.float64))
        return np.clip(r + yzv, ylo, yhi).astype(yz.dtype)
    num = np.empty(sb.size, dtype=object)
    den = np.empty(sb.size, dtype=object)
    for j, sbj in enumerate(sb):
        fr = Fraction(float(sa[0])) * Fraction(float(sbj)) / Fraction(float(sy[0]))
        num[j], den[j] = fr.numerator, fr.denominator
    if sb.size == 1:
        num, den = num[0], den[0]
    p = acc.astype(object) * num
    q = p // den
    r2 = (p - q * den) * 2
    up = (r2 > den) | ((r2 == den) & (q % 2 == 1))
    res = (q + up.astype(np.int64)).astype(np.int64)
    return np.clip(res + yzv, ylo, yhi).astype(yz.dtype)


def _pair(v, param, n=2, lo=1):
    if isinstance(v, (int, np.integer)):
        t = (int(v),) * n
    else:
        t = tuple(int(u) for u in v)
    if len(t) != n or any(u < lo for u in t):
        raise ValueError(f"{param}={v!r}; expected an int or {n} ints, each >= {lo}")
    return t


def im2col(x, kh, kw, *, stride=1, padding=0, dilation=1):
    """Patches of x (N, C, H, W) for a kh x kw kernel, as a contiguous array of shape
    (N, C * kh * kw, Ho, Wo): cols[n, (c * kh + u) * kw + v, i, j] =
    xp[n, c, i * sh + u * dh, j * sw + v * dw], where xp is x padded with zeros, so the
    rows follow ``w.reshape(O, -1)`` of an (O, C, kh, kw) kernel.

    stride, dilation: an int or (h, w), each >= 1; padding: an int, (h, w) or ONNX order
    (top, left, bottom, right), each >= 0. Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    (likewise Wo). Returns (cols, Ho, Wo); cols has x's dtype. Integer-exact (a copy).
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W); got shape {x.shape}")
    kh, kw = _pair((kh, kw), "kernel size")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    if isinstance(padding, (int, np.integer)):
        pt = pl = pb = pr = int(padding)
    else:
        p = tuple(int(u) for u in padding)
        if len(p) == 2:
            pt, pl = pb, pr = p
        elif len(p) == 4:
            pt, pl, pb, pr = p
        else:
            raise ValueError(f"padding={padding!r}; expected an int, (h, w) or (top, left, bottom, right)")
    if min(pt, pl, pb, pr) < 0:
        raise ValueError(f"padding={padding!r} must be >= 0")
    N, C, H, W = x.shape
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"the kernel does not fit the padded input (output {Ho} x {Wo})")
    xp = np.zeros((N, C, H + pt + pb, W + pl + pr), dtype=x.dtype)
    xp[:, :, pt:pt + H, pl:pl + W] = x
    st = xp.strides
    cols = np.lib.stride_tricks.as_strided(
        xp, (N, C, kh, kw, Ho, Wo),
        (st[0], st[1], st[2] * dh, st[3] * dw, st[2] * sh, st[3] * sw), writeable=False)
    return np.ascontiguousarray(cols).reshape(N, C * kh * kw, Ho, Wo), Ho, Wo


def conv2d(x, w, x_zero=0, w_zero=0, *, stride=1, padding=0, dilation=1, groups=1,
           bias=None, acc_bits=32, overflow="wrap"):
    """Integer 2-D convolution (cross-correlation, NCHW) through im2col and ``gemm``.

    out[n, o, i, j] = bias[o] + sum_{c, u, v} (xp[n, g*Cg + c, i*sh + u*dh, j*sw + v*dw]
    - x_zero) * (w[o, c, u, v] - w_zero[o]) with g = o // (O / groups), xp = x padded with
    x_zero (padded taps contribute 0, as ONNX ConvInteger / QLinearConv pad).
    x: (N, C, H, W), w: (O, C / groups, kh, kw) integers; x_zero scalar; w_zero scalar or
    one per output channel; stride, dilation: int or (h, w); padding: int, (h, w) or ONNX
    order (top, left, bottom, right). Accumulator width and overflow as in ``gemm`` (the
    saturating order is c, u, v ascending, row-major over w[o]).
    Returns (N, O, Ho, Wo) with Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1.
    """
    x = np.asarray(x)
    w = np.asarray(w)
    for name, v in (("x", x), ("w", w)):
        if v.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array, got dtype {v.dtype}")
        if v.ndim != 4:
            raise ValueError(f"{name} must be 4-D (NCHW / OIHW); got {v.ndim}-D")
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    if not isinstance(groups, (int, np.integer)) or groups < 1 or C % groups or O % groups:
        raise ValueError(f"groups={groups!r} must be an int >= 1 dividing C={C} and O={O}")
    if Cg != C // groups:
        raise ValueError(f"w has {Cg} input channels; expected C / groups = {C // groups}")
    xz = _zero(x_zero, "x_zero", 1, "tensor")
    wz = _zero(w_zero, "w_zero", O, "output channel")
    xd = x.astype(np.int64) - int(xz[0])
    cols, Ho, Wo = im2col(xd, kh, kw, stride=stride, padding=padding, dilation=dilation)
    G = groups
    cols = cols.reshape(N, G, Cg * kh * kw, Ho * Wo)
    wd = w.astype(np.int64).reshape(O, -1) - wz[:, None]
    wm = wd.reshape(G, O // G, Cg * kh * kw)
    ma = int(np.abs(wd).max()) if wd.size else 0
    mb = int(np.abs(xd).max()) if xd.size else 0
    c = None
    if bias is not None:
        c = np.asarray(bias)
        if c.dtype.kind not in "iu" or c.shape not in ((O,),):
            raise ValueError(f"bias must be an integer array of shape ({O},)")
        c = c.astype(np.int64).reshape(G, O // G, 1)
    out = _matmul_policy(wm[None], cols, ma, mb, c, acc_bits, overflow)
    return out.reshape(N, O, Ho, Wo)

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
Biases and zero points are taken by value (uint64 and Python ints included) and added
exactly; an exact result that does not fit the int64 output raises OverflowError.
``matmul_integer`` and ``qlinear_matmul`` follow ONNX MatMulInteger / QLinearMatMul and
are tested bit-exact against onnxruntime; ``conv2d`` is ONNX ConvInteger (plus bias,
accumulator width and overflow) through im2col, and refuses inputs whose working memory
would exceed ``max_bytes`` (default ``MAX_BYTES``, 4 GiB) before allocating.

onnxruntime's uint8 x int8 products depend on the CPU: exact on x86-64 CPUs with
AVX512-VNNI or AVX-VNNI, while without them MLAS uses vpmaddubsw, which adds each pair of
adjacent products along K (k = 0 and 1, 2 and 3, ...) of the raw codes into int16 with
signed saturation before the int32 accumulation, and applies the zero points afterwards
through row and column sums. ``pair_saturate=16`` on ``gemm``, ``matmul_integer`` and
``qlinear_matmul`` models that path bit for bit (default None: exact).
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


INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
MAX_BYTES = 4 << 30
"""Default ``max_bytes`` of ``conv2d`` and ``im2col``: the working memory (bytes) they may
allocate before they refuse with a ValueError; pass ``max_bytes=`` (None: no limit)."""


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_int(v, param, lo, hi):
    """v as a Python int in [lo, hi]: TypeError for a non-int (bools included), ValueError
    outside the range."""
    if not _is_int(v):
        raise TypeError(f"{param} must be an int in [{lo}, {hi}], got {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{param} must be an int in [{lo}, {hi}], got {v!r}")
    return int(v)


def _check_bool(v, param):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{param} must be a bool, got {v!r}")
    return bool(v)


def _real_array(v, param):
    """v as float64; TypeError unless it holds real numbers (ints or floats; no bools,
    complex, strings or objects)."""
    a = np.asarray(v)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{param} must be real numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def _int_array(v, param, lo=INT32_MIN, hi=INT32_MAX):
    """v as int64, its values in [lo, hi]. Integer dtypes are taken by value (any byte
    order); floats are accepted when every value is a finite integer."""
    a = np.asarray(v)
    if a.dtype.kind not in "iu":
        if a.dtype.kind != "f":
            raise TypeError(f"{param} must hold integers, got dtype {a.dtype}")
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise TypeError(f"{param} must hold integers, got dtype {np.asarray(v).dtype} "
                            "with non-integer values")
    if a.size:
        mn, mx = int(a.min()), int(a.max())
        if mn < lo or mx > hi:
            raise ValueError(f"{param} must be in [{lo}, {hi}], got {mn if mn < lo else mx}")
    return a.astype(np.int64)


def _flat(names, *arrays):
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

def quantize_multiplier(m, *, single_rounding=False):
    """Split real multipliers m >= 0 into (q, shift) with m ~= q * 2^(shift - 31).

    TFLite ``QuantizeMultiplier``: (f, shift) = frexp(m) (f in [0.5, 1)); q = f * 2^31
    rounded half away from zero (``TfLiteRound``); if q == 2^31 then q = 2^30 and
    shift += 1; if shift < -31 then q = shift = 0 (the multiplier underflows); m == 0 gives
    (0, 0). With ``single_rounding=True`` (TFLITE_SINGLE_ROUNDING) a shift above 30 is
    capped: shift = 30, q = 2^31 - 1. Returns int32 arrays (q, shift) of m's shape.
    m must be finite and non-negative (ValueError otherwise).
    """
    single_rounding = _check_bool(single_rounding, "single_rounding")
    m = _real_array(m, "m")
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
    shape, (fa, fb) = _flat(("a", "b"), a, b)
    out = np.empty(fa.size, dtype=np.int64)
    _ki.srdhm(fa, fb, out)
    return out.astype(np.int32).reshape(shape)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero
    (mask = 2^e - 1, rem = x & mask, thr = (mask >> 1) + (x < 0), (x >> e) + (rem > thr)).
    x int32, 0 <= exponent <= 31 (ValueError otherwise); broadcast; returns int32."""
    x = _int_array(x, "x")
    e = _int_array(exponent, "exponent", 0, 31)
    shape, (fx, fe) = _flat(("x", "exponent"), x, e)
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
    single_rounding = _check_bool(single_rounding, "single_rounding")
    x = _int_array(x, "x")
    if single_rounding:
        q = _int_array(quantized_multiplier, "quantized_multiplier", 0, INT32_MAX)
        s = _int_array(shift, "shift", -31, 30)
    else:
        q = _int_array(quantized_multiplier, "quantized_multiplier")
        s = _int_array(shift, "shift", -31, 31)
    shape, (fx, fq, fs) = _flat(("x", "quantized_multiplier", "shift"), x, q, s)
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
    bits = _check_int(bits, "bits", 1, 62)
    s = _real_array(scale, "scale")
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
    bits = _check_int(bits, "bits", 1, 32)
    signed = _check_bool(signed, "signed")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    z = _int_array(zero_point, "zero_point", lo, hi)
    mode = as_rounding(rounding)
    shape, (fa, fm, fe, fz) = _flat(("acc", "m", "e", "zero_point"), acc, m, e, z)
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
    """A (..., M, K), B (..., K, N) and C (broadcastable to the output, or None) as
    contiguous int64 arrays (T, M, K), (T, K, N), (T, M, N), and the output shape."""
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    M, K = A.shape[-2:]
    N = B.shape[-1]
    T = int(np.prod(batch, dtype=np.int64))
    shape = batch + (M, N)
    A3 = np.ascontiguousarray(np.broadcast_to(A, batch + (M, K)), dtype=np.int64).reshape(T, M, K)
    B3 = np.ascontiguousarray(np.broadcast_to(B, batch + (K, N)), dtype=np.int64).reshape(T, K, N)
    if C is None:
        C3 = np.zeros((T, M, N), dtype=np.int64)
    else:
        C3 = np.ascontiguousarray(np.broadcast_to(C, shape), dtype=np.int64).reshape(T, M, N)
    return A3, B3, C3, shape


def _accumulator(acc_bits, overflow):
    """Validated (acc_bits, policy, lo, hi, result dtype)."""
    acc_bits = _check_int(acc_bits, "acc_bits", 2, 64)
    policy = _as_overflow_policy(overflow)
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    out_dtype = np.int64 if (policy == "exact" or acc_bits > 32) else np.int32
    return acc_bits, policy, lo, hi, out_dtype


def _check_pair_saturate(pair_saturate):
    if pair_saturate is None:
        return None
    if not _is_int(pair_saturate):
        raise TypeError(f"pair_saturate must be None or an int in [2, 62], got {pair_saturate!r}")
    if not 2 <= pair_saturate <= 62:
        raise ValueError(f"pair_saturate must be None or an int in [2, 62], got {pair_saturate!r}")
    return int(pair_saturate)


def _max_abs(x):
    """max |x| as a Python int (0 for an empty array); exact for int64 and object arrays."""
    if x is None or x.size == 0:
        return 0
    return max(abs(int(x.min())), abs(int(x.max())))


def _clamp(c, lo, hi):
    """c (int64 or Python-int object array) clamped to [lo, hi], as int64."""
    return np.minimum(np.maximum(c, lo), hi).astype(np.int64)


def _finish(res, bound, c, acc_bits, policy, lo, hi, out_dtype):
    """Add the bias c (None, int64 or an object array of Python ints, broadcastable to
    res) to the exact sums res (integer-valued float or int64 array, |res| <= bound <
    2^63) and apply the accumulator policy "exact", "wrap" or "raise" (or "saturate" where
    bound + max|c| <= hi, so that no step can saturate). The bias is added exactly: in
    Python integers where the sum could leave int64."""
    if c is None and res.dtype != np.int64 and (bound <= hi or policy == "exact"):
        return res.astype(out_dtype)  # cannot leave the accumulator: convert once
    res = res.astype(np.int64, copy=False)
    if c is not None:
        if c.dtype == object or bound + _max_abs(c) > INT64_MAX:
            res = res.astype(object) + c
        else:
            res = res + c
    if policy == "exact":
        if res.dtype == object and res.size and (res.min() < INT64_MIN or res.max() > INT64_MAX):
            idx = np.unravel_index(int(np.argmax((res < INT64_MIN) | (res > INT64_MAX))), res.shape)
            raise OverflowError(f"exact result at {list(map(int, idx))} = {res[idx]} does not fit "
                                "int64, the result dtype of overflow='exact'")
        return res.astype(np.int64)
    if res.size and (res.min() < lo or res.max() > hi):
        if policy == "raise":
            idx = np.unravel_index(int(np.argmax((res < lo) | (res > hi))), res.shape)
            raise OverflowError(f"accumulator at {list(map(int, idx))} = {int(res[idx])} "
                                f"leaves the {acc_bits}-bit range [{lo}, {hi}]")
        if res.dtype == object:
            res = (res - lo) % (1 << acc_bits) + lo
        elif acc_bits < 64:
            res = ((res - lo) & ((1 << acc_bits) - 1)) + lo
    return res.astype(out_dtype)


def _matmul_policy(A, B, ma, mb, bias, acc_bits, overflow):
    """Apply bias, accumulator width and overflow policy to the product of the
    zero-point-free operands A, B (integer-valued arrays, max|A| <= ma, max|B| <= mb).
    bias: None, int64 or an object array of Python ints, broadcastable to the output."""
    acc_bits, policy, lo, hi, out_dtype = _accumulator(acc_bits, overflow)
    K = A.shape[-1]
    bound = K * ma * mb
    if policy == "saturate" and (bound + _max_abs(bias) > hi or bound >= (1 << 62)):
        if ma * mb >= (1 << 62):
            raise ValueError(f"operands too large for the saturating int64 kernel: "
                             f"max|a| * max|b| = {ma * mb} >= 2^62")
        c = None if bias is None else _clamp(bias, lo, hi)  # the accumulator's start
        A3, B3, C3, shape = _batch3(A, B, c)
        out = np.empty(C3.shape, dtype=np.int64)
        _ki.gemm_saturate(A3, B3, C3, lo, hi, out)
        return out.reshape(shape).astype(out_dtype)
    res = _exact_matmul(A, B, ma, mb)
    return _finish(res, bound, bias, acc_bits, policy, lo, hi, out_dtype)


def _pair_matmul(a, b, az, bz, bias, acc_bits, overflow, pbits):
    """gemm with pair saturation (see ``gemm``): a, b raw int64 operands, az (M,) or (1,),
    bz (N,) or (1,) int64 zero points."""
    acc_bits, policy, lo, hi, out_dtype = _accumulator(acc_bits, overflow)
    K = a.shape[-1]
    ma, mb = _max_abs(a), _max_abs(b)
    if 2 * ma * mb >= (1 << 63):
        raise ValueError(f"operands too large for pair_saturate: 2 * max|a| * max|b| = "
                         f"{2 * ma * mb} >= 2^63")
    za, zb = _max_abs(az), _max_abs(bz)
    pair_bound = min(2 * ma * mb, 1 << (pbits - 1))
    sum_bound = ((K + 1) // 2) * pair_bound
    corr_bound = K * (zb * ma + za * mb + za * zb)
    if sum_bound >= (1 << 62) or corr_bound >= (1 << 62):
        raise ValueError(f"operands too large for pair_saturate: the pair sums (up to "
                         f"{sum_bound}) or the zero-point terms (up to {corr_bound}) reach 2^62")
    saturate = policy == "saturate"
    c = _clamp(bias, lo, hi) if (saturate and bias is not None) else None
    A3, B3, C3, shape = _batch3(a, b, c)
    out = np.empty(C3.shape, dtype=np.int64)
    klo, khi = (lo, hi) if saturate else (INT64_MIN, INT64_MAX)
    _ki.gemm_pair_saturate(A3, B3, C3, -(1 << (pbits - 1)), (1 << (pbits - 1)) - 1, klo, khi, out)
    res = out.reshape(shape)
    corr = np.zeros((1, 1), dtype=np.int64)
    if zb:  # - zb[j] * sum_k a[i, k]
        corr = corr - a.sum(axis=-1, dtype=np.int64)[..., :, None] * bz[None, :]
    if za:  # - za[i] * sum_k b[k, j]
        corr = corr - az[:, None] * b.sum(axis=-2, dtype=np.int64)[..., None, :]
    if za and zb:
        corr = corr + K * (az[:, None] * bz[None, :])
    if saturate:  # one final saturating step
        if max(-lo, hi) + corr_bound > INT64_MAX:
            return _clamp(res.astype(object) + corr, lo, hi).astype(out_dtype)
        return np.clip(res + corr, lo, hi).astype(out_dtype)
    return _finish(res + corr, sum_bound + corr_bound, bias, acc_bits, policy, lo, hi, out_dtype)


def _int_values(v, param):
    """v by value: int64, or an object array of Python ints where a value leaves int64.
    TypeError unless every element is an integer (bools excluded)."""
    a = np.asarray(v)
    if a.dtype == object:
        flat = a.reshape(-1)
        for x in flat:
            if not _is_int(x):
                raise TypeError(f"{param} must hold integers, got an element of type "
                                f"{type(x).__name__}")
        vals = [int(x) for x in flat]
        if all(INT64_MIN <= x <= INT64_MAX for x in vals):
            return np.array(vals, dtype=np.int64).reshape(a.shape)
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out.reshape(a.shape)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{param} must hold integers, got dtype {a.dtype}")
    if a.dtype == np.uint64 and a.size and int(a.max()) > INT64_MAX:
        return a.astype(object)  # Python ints, by value
    return a.astype(np.int64)


def _operand(v, param):
    a = np.asarray(v)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{param} must be an integer array, got dtype {a.dtype}")
    if a.ndim < 2:
        raise ValueError(f"{param} must have at least 2 dimensions (..., rows, cols); got {a.ndim}")
    if a.dtype == np.uint64 and a.size and a.max() >= (1 << 63):
        raise ValueError(f"{param} holds values >= 2^63 (operands must lie in int64)")
    return a


def _zero(z, param, length, what):
    zz = np.asarray(0 if z is None else z)
    if zz.dtype.kind not in "iuO":
        raise TypeError(f"{param} must be an integer scalar or 1-D array, got dtype {zz.dtype}")
    if zz.ndim > 1 or (zz.ndim == 1 and zz.size not in (1, length)):
        raise ValueError(f"{param} must be a scalar or have {length} elements (one per {what}); "
                         f"got shape {zz.shape}")
    zz = _int_values(zz, param)
    if zz.dtype == object:
        bad = next(int(x) for x in zz.reshape(-1) if not INT64_MIN <= x <= INT64_MAX)
        raise ValueError(f"{param} must be in [-2^63, 2^63 - 1], got {bad}")
    return zz.reshape(-1)


def _minus(a, z, row, param, zparam):
    """a - z exactly as int64 (z per row (axis -2) when ``row``, else per column (axis
    -1), or a scalar), or ValueError when a value leaves int64."""
    zz = z.reshape(-1, 1) if row else z.reshape(1, -1)
    if a.size == 0:
        return a.astype(np.int64)
    lo, hi = int(a.min()), int(a.max())
    zlo, zhi = int(z.min()), int(z.max())
    if max(abs(lo - zhi), abs(hi - zlo)) <= INT64_MAX:
        return a.astype(np.int64) - zz
    d = a.astype(object) - zz.astype(object)
    if d.min() < INT64_MIN or d.max() > INT64_MAX:
        raise ValueError(f"{param} - {zparam} leaves int64 (operands and zero points must "
                         f"differ by less than 2^63)")
    return d.astype(np.int64)


def _shifted(a, z, row, param, zparam):
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
    d = _minus(a, z, row, param, zparam)
    return d, _max_abs(d)


def _bias(bias, out_shape):
    """The bias by value (int64 or Python-int object array), checked to broadcast to the
    output shape without enlarging it."""
    if bias is None:
        return None
    c = _int_values(bias, "bias")
    try:
        ok = np.broadcast_shapes(c.shape, out_shape) == tuple(out_shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"bias of shape {c.shape} does not broadcast to the output shape "
                         f"{tuple(out_shape)}")
    return c


def gemm(a, b, a_zero=0, b_zero=0, *, acc_bits=32, overflow="wrap", bias=None,
         pair_saturate=None):
    """Integer matrix product sum_k (a[i, k] - a_zero) * (b[k, j] - b_zero) (+ bias)
    with a ``acc_bits``-bit two's-complement accumulator.

    a: (..., M, K), b: (..., K, N) integer arrays (int2..int16 and unsigned operands are
    the intended use; any integers work while K * max|a - a_zero| * max|b - b_zero| < 2^62);
    batch dimensions broadcast as in ``np.matmul``. a_zero: scalar or one per row (M,);
    b_zero: scalar or one per column (N,); any integer dtype, taken by value, within
    int64. bias: integers broadcastable to the output shape (int64, uint64 or Python ints
    of any size, taken by value), the accumulator's initial value.

    overflow:
      "exact"    the exact sum as int64 (acc_bits ignored); OverflowError if it does not
                 fit int64 (a bias near 2^63 can make it so).
      "wrap"     the exact sum modulo 2^acc_bits (equal to wrapping after every step).
      "saturate" clamp to [-2^(acc_bits-1), 2^(acc_bits-1) - 1] after every addition, in
                 the order acc = clamp(bias); for k = 0..K-1: acc = clamp(acc + product)
                 (products are exact). When K * max|a| * max|b| + max|bias| fits the
                 accumulator no step can saturate and the fast exact path is used.
      "raise"    the exact sum; OverflowError if any leaves the accumulator range.
    Exact sums are computed on float BLAS in chunks of K whose partial sums are integers
    below 2^24 (float32) or 2^53 (float64), so no rounding ever occurs; the bias is added
    exactly.

    pair_saturate: None (default, the exact products above) or p in [2, 62]: the model of
    a GEMM that sums adjacent products along K into a p-bit saturating register before
    accumulating, as onnxruntime's MLAS does for uint8 x int8 (MatMulInteger,
    QLinearMatMul, DynamicQuantizeMatMul) on x86-64 CPUs without AVX512-VNNI or AVX-VNNI,
    whose vpmaddubsw instruction adds the two u8 x s8 products of each byte pair with
    signed int16 saturation (pair_saturate=16 reproduces it bit for bit). The sum becomes
        sum_{k = 0, 2, 4, ...} clamp_p(a[i, k] * b[k, j] + a[i, k+1] * b[k+1, j])
          - b_zero[j] * sum_k a[i, k] - a_zero[i] * sum_k b[k, j] + K * a_zero[i] * b_zero[j]
    over the raw codes a, b (zero points not subtracted), an odd K padded with a zero
    product, clamp_p to [-2^(p-1), 2^(p-1) - 1]; the zero-point terms are not clamped.
    The accumulator policy then applies to bias + that sum as above; under "saturate"
    the order is acc = clamp(bias); for each pair (ascending k): acc = clamp(acc + pair);
    finally acc = clamp(acc + zero-point terms). It applies to any integer operands; on
    onnxruntime only the uint8 x int8 products differ from the exact model.
    Requires 2 * max|a| * max|b| < 2^63 and pair sums and zero-point terms below 2^62.

    Returns int32 for acc_bits <= 32, int64 otherwise (and for "exact").
    """
    pbits = _check_pair_saturate(pair_saturate)
    a = _operand(a, "a")
    b = _operand(b, "b")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"a has K={a.shape[-1]} columns but b has {b.shape[-2]} rows")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"batch dimensions of a {a.shape[:-2]} and b {b.shape[:-2]} do not "
                         "broadcast") from None
    az = _zero(a_zero, "a_zero", a.shape[-2], "row of a")
    bz = _zero(b_zero, "b_zero", b.shape[-1], "column of b")
    c = _bias(bias, batch + (a.shape[-2], b.shape[-1]))
    if pbits is not None:
        return _pair_matmul(a.astype(np.int64), b.astype(np.int64), az, bz, c, acc_bits,
                            overflow, pbits)
    A, ma = _shifted(a, az, True, "a", "a_zero")
    B, mb = _shifted(b, bz, False, "b", "b_zero")
    return _matmul_policy(A, B, ma, mb, c, acc_bits, overflow)


def matmul_integer(a, b, a_zero_point=None, b_zero_point=None, *, pair_saturate=None):
    """ONNX MatMulInteger: int32 (a - a_zero_point) @ (b - b_zero_point).

    a, b: int8 / uint8 (any integers accepted) with NumPy matmul batch broadcasting (at
    least 2-D). a_zero_point: scalar or one per row of a; b_zero_point: scalar or one per
    column of b (ONNX's per-row / per-column 1-D zero points). The int32 accumulator wraps
    (exact for K < 2^16 with 8-bit operands). pair_saturate=16 gives onnxruntime's result
    for uint8 x int8 on x86-64 CPUs without AVX512-VNNI / AVX-VNNI (see ``gemm``)."""
    return gemm(a, b, a_zero_point, b_zero_point, acc_bits=32, overflow="wrap",
                pair_saturate=pair_saturate)


def _range_of(dtype, param):
    if dtype.kind not in "iu" or dtype.itemsize > 4:
        raise TypeError(f"{param} must have an 8/16/32-bit integer dtype (it fixes the output "
                        f"type); got {dtype}")
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def qlinear_matmul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point,
                   *, compat="onnx", pair_saturate=None):
    """ONNX QLinearMatMul: y = saturate(round((a - az) @ (b - bz) * sa * sb / sy) + yz).

    a: (..., M, K), b: (..., K, N) integers; az scalar or per row, bz scalar or per column;
    a_scale scalar, b_scale scalar or per column (N,), y_scale scalar; the output dtype is
    y_zero_point's (uint8 / int8 / ...). The integer product is exact.
    compat="onnx" (default) reproduces onnxruntime's CPU requantization bit for bit:
    multiplier = float32(float32(sa * sb) / sy), v = float32(float32(acc) * multiplier),
    rounded half to even, plus yz, saturated; the scales are float32 values there, so a
    scale outside float32's finite positive range, or a multiplier that overflows
    float32, is a ValueError. compat="exact": the exact real value acc * sa * sb / sy
    (scales taken as the float64 values given, any finite positive ones) rounded half to
    even. pair_saturate: the accumulator model of ``gemm`` (16 gives onnxruntime's result
    for uint8 x int8 on x86-64 CPUs without AVX512-VNNI / AVX-VNNI); None: exact.
    """
    if compat not in ("onnx", "exact"):
        raise ValueError(f"compat={compat!r}; allowed: 'onnx', 'exact'")
    _check_pair_saturate(pair_saturate)
    yz = np.asarray(y_zero_point)
    ylo, yhi = _range_of(yz.dtype, "y_zero_point")
    if yz.size != 1:
        raise ValueError("y_zero_point must be a scalar")
    yzv = int(yz.reshape(-1)[0])
    sa = _real_array(a_scale, "a_scale").reshape(-1)
    sb = _real_array(b_scale, "b_scale").reshape(-1)
    sy = _real_array(y_scale, "y_scale").reshape(-1)
    b_arr = np.asarray(b)
    n = b_arr.shape[-1] if b_arr.ndim >= 2 else 0
    for name, s, allowed in (("a_scale", sa, (1,)), ("b_scale", sb, (1, n)), ("y_scale", sy, (1,))):
        if s.size not in allowed:
            raise ValueError(f"{name} must be a scalar{' or one per column of b' if len(allowed) > 1 else ''}; "
                             f"got {s.size} elements")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError(f"{name} must be positive and finite")
        if compat == "onnx":
            with np.errstate(over="ignore"):
                s32 = s.astype(np.float32)
            bad = ~np.isfinite(s32) | (s32 == 0)
            if bad.any():
                f32 = np.finfo(np.float32)
                raise ValueError(f"{name}={float(s[np.argmax(bad)])!r} is outside float32's finite "
                                 f"range [{float(f32.smallest_subnormal):.4g}, {float(f32.max):.8g}] "
                                 "(compat='onnx' computes with float32 scales; compat='exact' "
                                 "takes any positive float64)")
    acc = gemm(a, b, a_zero_point, b_zero_point, overflow="exact", pair_saturate=pair_saturate)
    if compat == "onnx":
        with np.errstate(over="ignore"):
            mult = ((sa.astype(np.float32) * sb.astype(np.float32)) / sy.astype(np.float32)).astype(np.float32)
        if not np.all(np.isfinite(mult)):
            raise ValueError("the float32 multiplier a_scale * b_scale / y_scale overflows float32 "
                             f"(a_scale={sa.tolist()}, b_scale={sb.tolist()}, y_scale={sy.tolist()})")
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
    """v as n ints >= lo: an int (repeated) or a sequence of n ints; TypeError for other
    types, ValueError for a wrong length or a value below lo."""
    if _is_int(v):
        t = (int(v),) * n
    elif isinstance(v, (tuple, list, np.ndarray)) and all(_is_int(u) for u in np.ravel(v)):
        t = tuple(int(u) for u in np.ravel(v))
    else:
        raise TypeError(f"{param}={v!r}; expected an int or {n} ints, each >= {lo}")
    if len(t) != n or any(u < lo for u in t):
        raise ValueError(f"{param}={v!r}; expected an int or {n} ints, each >= {lo}")
    return t


def _pads(padding):
    """(top, left, bottom, right) from an int, (h, w) or ONNX order (top, left, bottom,
    right), each >= 0."""
    msg = f"padding={padding!r}; expected an int, (h, w) or (top, left, bottom, right), each >= 0"
    if _is_int(padding):
        p = (int(padding),) * 4
    elif isinstance(padding, (tuple, list, np.ndarray)) and all(_is_int(u) for u in np.ravel(padding)):
        p = tuple(int(u) for u in np.ravel(padding))
        if len(p) == 2:
            p = (p[0], p[1], p[0], p[1])
        elif len(p) != 4:
            raise ValueError(msg)
    else:
        raise TypeError(msg)
    if min(p) < 0:
        raise ValueError(msg)
    return p


def _check_max_bytes(max_bytes):
    if max_bytes is None:
        return None
    if not _is_int(max_bytes):
        raise TypeError(f"max_bytes must be None or an int >= 0, got {max_bytes!r}")
    if max_bytes < 0:
        raise ValueError(f"max_bytes must be None or an int >= 0, got {max_bytes!r}")
    return int(max_bytes)


def _geometry(shape, kh, kw, stride, padding, dilation):
    """Validated convolution geometry of an (N, C, H, W) input: (pads, (sh, sw), (dh, dw),
    Ho, Wo), Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1 (likewise Wo)."""
    kh, kw = _pair((kh, kw), "kernel size")
    st = _pair(stride, "stride")
    dl = _pair(dilation, "dilation")
    pt, pl, pb, pr = _pads(padding)
    H, W = shape[2], shape[3]
    Ho = (H + pt + pb - dl[0] * (kh - 1) - 1) // st[0] + 1
    Wo = (W + pl + pr - dl[1] * (kw - 1) - 1) // st[1] + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"the kernel does not fit the padded input (output {Ho} x {Wo})")
    return (pt, pl, pb, pr), st, dl, Ho, Wo


def _check_bytes(need, max_bytes, what):
    if max_bytes is not None and need > max_bytes:
        raise ValueError(f"{what} would need about {need / 2**30:.1f} GiB ({need} bytes) of working "
                         f"memory, above max_bytes={max_bytes}; pass a larger max_bytes (or "
                         "max_bytes=None) to allow it")


def im2col(x, kh, kw, *, stride=1, padding=0, dilation=1, max_bytes=MAX_BYTES):
    """Patches of x (N, C, H, W) for a kh x kw kernel, as a contiguous array of shape
    (N, C * kh * kw, Ho, Wo): cols[n, (c * kh + u) * kw + v, i, j] =
    xp[n, c, i * sh + u * dh, j * sw + v * dw], where xp is x padded with zeros, so the
    rows follow ``w.reshape(O, -1)`` of an (O, C, kh, kw) kernel.

    stride, dilation: an int or (h, w), each >= 1; padding: an int, (h, w) or ONNX order
    (top, left, bottom, right), each >= 0. Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    (likewise Wo). Returns (cols, Ho, Wo); cols has x's dtype. Integer-exact (a copy).
    max_bytes: the padded copy and the patches together may take at most this many bytes
    (default ``MAX_BYTES``, 4 GiB; None: no limit); above it a ValueError states the need
    before anything is allocated.
    """
    max_bytes = _check_max_bytes(max_bytes)
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W); got shape {x.shape}")
    (pt, pl, pb, pr), (sh, sw), (dh, dw), Ho, Wo = _geometry(x.shape, kh, kw, stride, padding,
                                                             dilation)
    N, C, H, W = x.shape
    Hp, Wp = H + pt + pb, W + pl + pr
    need = x.dtype.itemsize * N * C * (Hp * Wp + kh * kw * Ho * Wo)
    _check_bytes(need, max_bytes, f"im2col(x of shape {x.shape}, kernel {kh} x {kw}, "
                                  f"padding={padding!r}, stride={stride!r}, dilation={dilation!r})")
    xp = np.zeros((N, C, Hp, Wp), dtype=x.dtype)
    xp[:, :, pt:pt + H, pl:pl + W] = x
    st = xp.strides
    cols = np.lib.stride_tricks.as_strided(
        xp, (N, C, kh, kw, Ho, Wo),
        (st[0], st[1], st[2] * dh, st[3] * dw, st[2] * sh, st[3] * sw), writeable=False)
    return np.ascontiguousarray(cols).reshape(N, C * kh * kw, Ho, Wo), Ho, Wo


def conv2d(x, w, x_zero=0, w_zero=0, *, stride=1, padding=0, dilation=1, groups=1,
           bias=None, acc_bits=32, overflow="wrap", max_bytes=MAX_BYTES):
    """Integer 2-D convolution (cross-correlation, NCHW) through im2col and ``gemm``.

    out[n, o, i, j] = bias[o] + sum_{c, u, v} (xp[n, g*Cg + c, i*sh + u*dh, j*sw + v*dw]
    - x_zero) * (w[o, c, u, v] - w_zero[o]) with g = o // (O / groups), xp = x padded with
    x_zero (padded taps contribute 0, as ONNX ConvInteger / QLinearConv pad).
    x: (N, C, H, W), w: (O, C / groups, kh, kw) integers; x_zero scalar; w_zero scalar or
    one per output channel (zero points and bias taken by value, within int64); stride,
    dilation: int or (h, w); padding: int, (h, w) or ONNX order (top, left, bottom,
    right). Accumulator width and overflow as in ``gemm`` (the saturating order is c, u,
    v ascending, row-major over w[o]).
    max_bytes: the working memory (int64 copies of x and w, the padded copy of x, the
    im2col patches and their BLAS copy, the output) may take at most this many bytes (default
    ``MAX_BYTES``, 4 GiB; None: no limit); above it a ValueError states the need before
    anything is allocated.
    Returns (N, O, Ho, Wo) with Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1.
    """
    max_bytes = _check_max_bytes(max_bytes)
    x = np.asarray(x)
    w = np.asarray(w)
    for name, v in (("x", x), ("w", w)):
        if v.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array, got dtype {v.dtype}")
        if v.ndim != 4:
            raise ValueError(f"{name} must be 4-D (NCHW / OIHW); got {v.ndim}-D")
        if v.dtype == np.uint64 and v.size and v.max() >= (1 << 63):
            raise ValueError(f"{name} holds values >= 2^63 (operands must lie in int64)")
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    if not _is_int(groups):
        raise TypeError(f"groups must be an int >= 1 dividing C={C} and O={O}, got {groups!r}")
    if groups < 1 or C % groups or O % groups:
        raise ValueError(f"groups={groups!r} must be an int >= 1 dividing C={C} and O={O}")
    groups = int(groups)
    if Cg != C // groups:
        raise ValueError(f"w has {Cg} input channels; expected C / groups = {C // groups}")
    pads, st, dl, Ho, Wo = _geometry(x.shape, kh, kw, stride, padding, dilation)
    need = 8 * (N * C * H * W + N * C * (H + pads[0] + pads[2]) * (W + pads[1] + pads[3])
                + 2 * N * C * kh * kw * Ho * Wo + O * Cg * kh * kw + 2 * N * O * Ho * Wo)
    _check_bytes(need, max_bytes, f"conv2d(x of shape {x.shape}, w of shape {w.shape}, "
                                  f"padding={padding!r}, stride={stride!r}, dilation={dilation!r})")
    xz = _zero(x_zero, "x_zero", 1, "tensor")
    wz = _zero(w_zero, "w_zero", O, "output channel")
    c = None
    if bias is not None:
        c = np.asarray(bias)
        if c.dtype.kind not in "iuO" or c.shape != (O,):
            raise ValueError(f"bias must be an integer array of shape ({O},)")
        c = _int_values(c, "bias").reshape(groups, O // groups, 1)
    xd = _minus(x, xz, False, "x", "x_zero")
    cols, _, _ = im2col(xd, kh, kw, stride=st, padding=pads, dilation=dl, max_bytes=None)
    G = groups
    cols = cols.reshape(N, G, Cg * kh * kw, Ho * Wo)
    wd = _minus(w.reshape(O, Cg * kh * kw), wz, True, "w", "w_zero")
    wm = wd.reshape(G, O // G, Cg * kh * kw)
    out = _matmul_policy(wm[None], cols, _max_abs(wd), _max_abs(xd), c, acc_bits, overflow)
    return out.reshape(N, O, Ho, Wo)

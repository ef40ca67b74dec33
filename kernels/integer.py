"""Integer-only arithmetic kernels: gemmlowp / TFLite fixed-point requantization and the
integer matrix products that refquant cannot hand to float BLAS.

All values are int64 arrays; int32 semantics are stated per kernel (inputs are taken to
lie in the int32 range, which the validating wrappers in ``refquant.integer`` check).
Integer arithmetic stays in int64 with explicit masks; nothing promotes to float.
"""
import numpy as np
from numba import njit

_INT32_MIN = -2147483648
_INT32_MAX = 2147483647


__all__ = [
    "clamp",
    "wrap32",
    "srdhm_scalar",
    "rdbpot_scalar",
    "srdhm",
    "rdbpot",
    "mbqm",
    "gemm_saturate",
    "sat_add",
    "gemm_pair_saturate",
    "gemm_int64",
]


@njit(cache=True)
def wrap32(v):
    """v modulo 2^32 as a two's-complement int32 value held in an int64."""
    return ((v + 2147483648) & 4294967295) - 2147483648


@njit(cache=True)
def srdhm_scalar(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul of two int32 values.

    INT32_MIN * INT32_MIN (the only overflowing case) gives INT32_MAX. Otherwise, with
    ab = a * b exact in int64 and nudge = 2^30 if ab >= 0 else 1 - 2^30, the result is
    (ab + nudge) / 2^31 with C truncating division, which equals floor(ab / 2^31 + 1/2):
    the high half of 2ab rounded to nearest with ties toward +inf (-1.5 -> -1).
    """
    if a == _INT32_MIN and b == _INT32_MIN:
        return np.int64(_INT32_MAX)
    ab = np.int64(a) * np.int64(b)
    t = ab + (np.int64(1073741824) if ab >= 0 else np.int64(-1073741823))
    if t >= 0:
        return t >> 31
    return -((-t) >> 31)


@njit(cache=True)
def rdbpot_scalar(x, e):
    """gemmlowp RoundingDivideByPOT: x / 2^e (0 <= e <= 62) rounded to nearest, ties away
    from zero. mask = 2^e - 1, rem = x & mask, thr = (mask >> 1) + (x < 0),
    result = (x >> e) + (rem > thr) with an arithmetic shift."""
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


@njit(cache=True)
def srdhm(a, b, out):
    """out[i] = srdhm_scalar(a[i], b[i]) (int32 values in int64 arrays)."""
    for i in range(out.size):
        out[i] = srdhm_scalar(a[i], b[i])


@njit(cache=True)
def rdbpot(x, e, out):
    """out[i] = rdbpot_scalar(x[i], e[i])."""
    for i in range(out.size):
        out[i] = rdbpot_scalar(x[i], e[i])


@njit(cache=True)
def mbqm(x, q, shift, single, out):
    """TFLite MultiplyByQuantizedMultiplier of int32 x by the Q0.31 multiplier q (int32)
    with exponent shift, elementwise.

    single == 0 (double rounding, TFLite's default build):
        ls = max(shift, 0), rs = max(-shift, 0);
        out = RDBPOT(SRDHM(wrap32(x * 2^ls), q), rs).
        The left shift wraps modulo 2^32 as the C++ int32 product does on two's-complement
        machines.
    single == 1 (TFLITE_SINGLE_ROUNDING build, -31 <= shift <= 30):
        total = 31 - shift; out = (x * q + 2^(total - 1)) >> total (int64, arithmetic
        shift: round half up), returned unclamped (the caller checks the int32 range).
    """
    for i in range(out.size):
        s = shift[i]
        if single == 0:
            ls = s if s > 0 else 0
            rs = -s if s < 0 else 0
            xs = wrap32(x[i] << ls)
            out[i] = rdbpot_scalar(srdhm_scalar(xs, q[i]), rs)
        else:
            total = 31 - s
            out[i] = (x[i] * q[i] + (np.int64(1) << (total - 1))) >> total


@njit(cache=True)
def gemm_saturate(a, b, c, lo, hi, out):
    """Integer matrix product with an accumulator saturated at every step.

    a: (T, M, K), b: (T, K, N), c: (T, M, N) initial accumulators, all int64; out (T, M, N).
    For each (t, i, j): acc = clamp(c[t, i, j]); for k = 0, 1, ..., K-1 in ascending
    order: acc = clamp(acc + a[t, i, k] * b[t, k, j]) with clamp to [lo, hi]. Each
    product is exact (the caller guarantees |a[t, i, k] * b[t, k, j]| < 2^62); only the
    running sum saturates, and the saturating addition never leaves int64 even for
    [lo, hi] = [-2^63, 2^63 - 1]. The result depends on the order of k, which is
    ascending by definition.
    """
    T, M, K = a.shape
    N = b.shape[2]
    for t in range(T):
        for i in range(M):
            for j in range(N):
                out[t, i, j] = clamp(c[t, i, j], lo, hi)
            for k in range(K):
                aik = a[t, i, k]
                if aik == 0:
                    continue
                for j in range(N):
                    out[t, i, j] = sat_add(out[t, i, j], aik * b[t, k, j], lo, hi)


@njit(cache=True)
def clamp(v, lo, hi):
    """v limited to [lo, hi]."""
    return lo if v < lo else (hi if v > hi else v)


@njit(cache=True)
def sat_add(acc, p, lo, hi):
    """clamp(acc + p) to [lo, hi] for lo <= acc <= hi and |p| < 2^63, computed without
    leaving int64 (lo - p and hi - p are formed only where they cannot overflow)."""
    if p > 0:
        return hi if acc > hi - p else acc + p
    if p < 0:
        return lo if acc < lo - p else acc + p
    return acc


@njit(cache=True)
def gemm_pair_saturate(a, b, c, plo, phi, lo, hi, out):
    """Integer matrix product summing pairs of adjacent products, each pair saturated.

    a: (T, M, K), b: (T, K, N), c: (T, M, N), all int64; out (T, M, N). For each
    (t, i, j): acc = clamp(c[t, i, j]); for k = 0, 2, 4, ... (ascending):
        pair = a[t, i, k] * b[t, k, j] + a[t, i, k + 1] * b[t, k + 1, j]
    (the second product taken as 0 when k + 1 == K), pair = min(max(pair, plo), phi),
    acc = clamp(acc + pair), with clamp to [lo, hi] (pass [-2^63, 2^63 - 1] for a plain
    sum). This is x86's vpmaddubsw (pairs of u8 x s8 products summed into int16 with
    signed saturation) followed by an accumulator. The caller guarantees
    2 * |a| * |b| < 2^63 elementwise, plo <= 0 <= phi and lo <= 0 <= hi; the
    accumulation saturates without leaving int64 (``sat_add``), so no step overflows.
    """
    T, M, K = a.shape
    N = b.shape[2]
    for t in range(T):
        for i in range(M):
            for j in range(N):
                out[t, i, j] = clamp(c[t, i, j], lo, hi)
            for k in range(0, K, 2):
                a0 = a[t, i, k]
                a1 = a[t, i, k + 1] if k + 1 < K else np.int64(0)
                for j in range(N):
                    pair = a0 * b[t, k, j]
                    if k + 1 < K:
                        pair += a1 * b[t, k + 1, j]
                    pair = clamp(pair, plo, phi)
                    out[t, i, j] = sat_add(out[t, i, j], pair, lo, hi)


@njit(cache=True)
def gemm_int64(a, b, c, out):
    """Exact integer matrix product in int64: out[t, i, j] = c[t, i, j] +
    sum_k a[t, i, k] * b[t, k, j]. The caller guarantees no partial sum leaves int64
    (K * max|a| * max|b| + max|c| < 2^63)."""
    T, M, K = a.shape
    N = b.shape[2]
    for t in range(T):
        for i in range(M):
            for j in range(N):
                out[t, i, j] = c[t, i, j]
            for k in range(K):
                aik = a[t, i, k]
                for j in range(N):
                    out[t, i, j] += aik * b[t, k, j]

"""Kernels of the parameterised floating-point formats (refquant.floats.FloatFormat) and of
the block-scaled formats built on them (refquant.floats.BlockFormat).

A format is described to the kernels by plain integers, the fields of
``refquant.floats.KernelParams`` (``FloatFormat.kernel_params()``) in this order; the
decode kernels take the first eight, the encode kernels all ten:

    E, M       exponent and mantissa field widths (exp_bits, man_bits)
    bias       exponent bias
    signed     1: a sign bit above the exponent field (sign-magnitude); 0: unsigned
    sub        1: exponent field 0 is the subnormal binade (contains zero);
               0: exponent field 0 is a normal binade of exponent -bias and there is no zero
    tmax       the largest magnitude code t (code without its sign bit) that is finite
    has_inf    1: magnitude code tmax + 1 is infinity
    uz         1: the code with sign bit set and t == 0 is the single NaN (no negative zero;
               the field unsigned_zero)
    nan_code   the code a NaN becomes (-1: the format has no NaN)
    nan_signed 1: the NaN code takes the input's sign bit (IEEE and OCP "fn" formats)

Magnitude codes t are ordered like the magnitudes they decode to, and within the exponent
field e and mantissa field m (t = e * 2^M + m)

    sub = 1:  value(t) = m * 2^(1 - bias - M)                 if e == 0
                         (2^M + m) * 2^(e - bias - M)         otherwise
    sub = 0:  value(t) = (2^M + m) * 2^(e - bias - M)

Rounding is done on the real magnitude's position in the (unbounded) grid of magnitude
codes: inside a binade of exponent x >= elo the code of a real r is
base(x) + r / 2^(x - M), linear in r, so every Rounding mode is decided exactly on integers
and ties are resolved toward the even *code* (the IEEE rule for M >= 1; for M = 0 it is the
rule of the exponent-only formats). A rounded code above tmax is an overflow.

Rounding modes (refquant.Rounding): 0 NEAREST_EVEN, 1 NEAREST_AWAY, 2 NEAREST_UP (half toward
+inf), 3 TOWARD_ZERO, 4 DOWN, 5 UP, 6 STOCHASTIC (round the magnitude up with probability
equal to the fractional code distance, uniform53(seed, flat index)).
Overflow policies (refquant.Overflow): 0 SATURATE, 2 RAISE, 3 INF, 4 NAN.
"""
import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from .rounding import choose, round_real, sign_x_minus_ts

__all__ = [
    "encode_scalar",
    "encode_float",
    "exact_quotient",
    "decode_scalar",
    "decode_float",
    "gather",
    "f32_rne_mag",
    "f32_rne_t",
    "encode_f32_rne",
    "mx_quantize_cols",
    "mx_quantize_rows",
    "nvfp4_quantize",
    "encode_f32_e8_rne",
    "decode_e8_to_f32",
    "encode_f32_e8_rne_par",
    "decode_e8_to_f32_par",
    "pack_bits",
    "unpack_bits",
]


_ERR = np.int64(-1)


@njit(cache=True)
def _round_mag(fl, cmp_half, exact, frac, mode, neg, seed, index):
    """Round a non-negative magnitude code position (floor fl, comparison with fl + 1/2,
    exactness, fraction) for a value of sign ``neg`` under ``mode`` (see module doc)."""
    if exact:
        return fl
    if mode == 0 or mode == 6:
        return choose(fl, cmp_half, False, frac, mode, seed, index)
    if mode == 1:   # ties away from zero: magnitude ties up
        return fl if cmp_half < 0 else fl + 1
    if mode == 2:   # ties toward +inf: magnitude ties up for positives, down for negatives
        if neg:
            return fl + 1 if cmp_half > 0 else fl
        return fl if cmp_half < 0 else fl + 1
    if mode == 3:
        return fl
    if mode == 4:
        return fl + 1 if neg else fl
    return fl if neg else fl + 1


@njit(cache=True)
def encode_scalar(v, index, E, M, bias, signed, sub, tmax, has_inf, uz, nan_code, nan_signed,
                  mode, overflow, seed):
    """Code of one float64 value ``v`` (see the module docstring for the parameters).

    NaN -> nan_code (with v's sign bit when nan_signed); no NaN in the format -> -1 (error).
    Unsigned formats: v < 0 -> nan_code (-1 when none); -0 -> +0.
    Zero in a format without zero (sub = 0) -> nan_code, or the smallest code if no NaN.
    Magnitudes below the smallest value of a format without zero become the smallest value.
    ±inf and finite values whose rounded code exceeds tmax follow ``overflow``:
    0 SATURATE -> ±max; 3 INF -> ±inf and 4 NAN -> the NaN code, except that rounding
    toward zero in magnitude (TOWARD_ZERO, DOWN for positives, UP for negatives) gives
    ±max for finite v (IEEE 754 7.4), while ±inf inputs give ±inf (INF) or NaN (NAN) in
    every mode; 2 RAISE -> -1 (error).
    Returns the code as int64, or -1 when the wrapper must raise.
    """
    sbit = np.int64(1) << (E + M)
    if v != v:
        if nan_code < 0:
            return _ERR
        if nan_signed and signed and math.copysign(1.0, v) < 0:
            return nan_code | sbit
        return nan_code
    neg = v < 0.0 or (v == 0.0 and math.copysign(1.0, v) < 0.0)
    if neg and signed == 0:
        if v == 0.0 and sub:
            return np.int64(0)
        return nan_code
    sign = sbit if neg else np.int64(0)
    a = abs(v)
    if a == 0.0:
        if sub == 0:
            return nan_code if nan_code >= 0 else np.int64(0)
        return np.int64(0) if uz else sign
    nan_out = nan_code
    if nan_signed and neg and nan_code >= 0:
        nan_out = nan_code | sbit
    if math.isinf(a):
        if overflow == 0:
            return tmax | sign
        if overflow == 3:
            return (tmax + 1) | sign
        if overflow == 4:
            return nan_out
        return _ERR
    mant, ex = math.frexp(a)            # a = mant * 2^ex, 0.5 <= mant < 1
    S = np.int64(math.ldexp(mant, 53))  # 2^52 <= S < 2^53, a = S * 2^(ex - 53)
    elo = 1 - bias if sub else -bias
    e_unb = ex - 1
    top = (tmax >> M) + 1               # binade index above the largest finite binade
    if e_unb - elo > top + 1:
        t = tmax + 2                    # far beyond the range: an overflow in every mode
    else:
        e_eff = e_unb if e_unb > elo else elo
        k = e_eff - M - ex + 53         # shift from S to the code grid (>= 1 since M <= 52)
        base = np.int64(e_eff - elo) << M
        if sub == 0:
            base -= np.int64(1) << M
        if k > 62:
            fl = base
            t = _round_mag(fl, -1, False, math.ldexp(float(S), int(-k)), mode, neg, seed, index)
        else:
            rem = S & ((np.int64(1) << k) - 1)
            half = np.int64(1) << (k - 1)
            c = -1 if rem < half else (1 if rem > half else 0)
            fl = base + (S >> k)
            t = _round_mag(fl, c, rem == 0, math.ldexp(float(rem), int(-k)), mode, neg, seed, index)
        if t < 0:
            t = np.int64(0)             # below the smallest value of a format without zero
    if t > tmax:
        if overflow == 0:
            t = tmax
        elif overflow == 3 or overflow == 4:
            if mode == 3 or (mode == 4 and not neg) or (mode == 5 and neg):
                t = tmax                # IEEE 754 7.4: rounding toward zero in magnitude
            elif overflow == 3:
                t = tmax + 1
            else:
                return nan_out
        else:
            return _ERR
    if t == 0 and uz:
        return np.int64(0)
    return t | sign


@njit(cache=True)
def encode_float(x, E, M, bias, signed, sub, tmax, has_inf, uz, nan_code, nan_signed, mode,
                 overflow, seed, out):
    """out[i] = encode_scalar(x[i], i, ...) for a flat float32/float64 array x (float32
    inputs are converted exactly). Returns -1, or the first index whose encoding is an
    error (NaN without a NaN code, negative without a NaN code, overflow under RAISE);
    out is then only partly written."""
    for i in range(x.size):
        c = encode_scalar(float(x[i]), i, E, M, bias, signed, sub, tmax, has_inf, uz,
                          nan_code, nan_signed, mode, overflow, seed)
        if c < 0:
            return i
        out[i] = c
    return -1


@njit(cache=True)
def exact_quotient(x, s):
    """A float64 q that rounds, to any format of at most 52 significand bits whose grid
    lies in float64's normal range, exactly as the real quotient x / s does.

    q = fl(x / s); if the division was inexact, q is moved one float64 ulp toward the
    real quotient, so that q is never a grid point or a midpoint of the coarser grid while
    x / s is not (the real quotient lies strictly between fl(x / s) and the moved q, and no
    coarser grid point or midpoint lies in that interval). s > 0 finite; x finite.
    """
    q = x / s
    if q == 0.0 or not math.isfinite(q):
        return q
    # exact sign of x - q * s (q * s is within a factor 2 of x)
    r = sign_x_minus_ts(x, q, s)
    if r == 0:
        return q
    # the real quotient is q + (x - q * s) / s: move toward it
    return np.nextafter(q, math.inf if (r > 0) == (s > 0.0) else -math.inf)


@njit(cache=True)
def decode_scalar(c, E, M, bias, signed, sub, tmax, has_inf, uz):
    """Value of code c (int64, already known to be within the format's bits) as float64."""
    nbits = E + M
    t = c & ((np.int64(1) << nbits) - 1)
    neg = signed == 1 and ((c >> nbits) & 1) == 1
    if neg and uz and t == 0:
        return math.nan
    if t > tmax:
        if has_inf and t == tmax + 1:
            return -math.inf if neg else math.inf
        return math.nan
    e = t >> M
    m = t & ((np.int64(1) << M) - 1)
    if sub == 1 and e == 0:
        val = math.ldexp(float(m), int(1 - bias - M))
    else:
        val = math.ldexp(float((np.int64(1) << M) + m), int(e) - bias - M)
    return -val if neg else val


@njit(cache=True)
def decode_float(codes, E, M, bias, signed, sub, tmax, has_inf, uz, out):
    """out[i] = decode_scalar(codes[i], ...) (flat arrays; out float64 is exact for every
    format of at most 53 significand bits within float64's range)."""
    for i in range(codes.size):
        out[i] = decode_scalar(np.int64(codes[i]), E, M, bias, signed, sub, tmax, has_inf, uz)


@njit(cache=True)
def gather(codes, lut, bits, out):
    """out[i] = lut[codes[i] & (2^bits - 1)] for lut of 2^bits entries, in one pass that
    also validates the codes: returns 0 when every code is in [0, 2^bits), else a
    non-zero value (the OR of codes[i] >> bits; negative codes count as invalid), in
    which case the caller must discard out and raise."""
    mask = (np.int64(1) << bits) - 1
    bad = np.int64(0)
    for i in range(codes.size):
        c = np.int64(codes[i])
        bad |= c >> bits
        out[i] = lut[c & mask]
    return bad


@njit(cache=True)
def f32_rne_mag(b, se, M, bias, tmax):
    """Magnitude code of the float32 with bit pattern b (int64, 0..2^32-1) times 2^-se,
    rounded to nearest even on a grid with subnormals (E, M, bias, tmax as the module doc).
    Returns -1 where the caller must fall back to encode_scalar: NaN, inf, zero, float32
    subnormals, and results above tmax. Integer arithmetic only: the target exponent of a
    normal float32 of exponent x is x - se; the code is |bits| re-biased when that is a
    normal exponent of the target, else the significand 2^23 + m shifted right."""
    ef = (b >> 23) & 0xFF
    if ef == 0 or ef == 0xFF:
        return np.int64(-1)
    sh = 23 - M
    x = ef - 127 - se
    if x >= 1 - bias:
        t32 = (np.int64(x + bias) << 23) | (b & 0x7FFFFF)
        if sh > 0:
            t = (t32 + ((np.int64(1) << (sh - 1)) - 1) + ((t32 >> sh) & 1)) >> sh
        else:
            t = t32
    else:
        k = sh + (1 - bias) - x
        if k > 40:
            return np.int64(0)
        n = np.int64(0x800000) | (b & 0x7FFFFF)
        t = (n + ((np.int64(1) << (k - 1)) - 1) + ((n >> k) & 1)) >> k
    if t > tmax:
        return np.int64(-1)
    return t


@njit(cache=True)
def f32_rne_t(mag, sh, halfm1, rebias, efmin):
    """Branch-free magnitude code of the float32 magnitude bits ``mag`` (0..2^31-1) times
    2^-se on a grid with subnormals, rounded to nearest even, for sh = 23 - M >= 1,
    halfm1 = 2^(sh-1) - 1, rebias = (127 - bias + se) * 2^23 and efmin = 128 - bias + se
    (the float32 biased exponent of the target's smallest normal binade).

    Float32 exponent field ef >= efmin (target normal): t = (t32 + halfm1 + lsb) >> sh with
    t32 = mag - rebias (the re-biased bits). ef < efmin (target subnormal): the significand
    n (2^23 + m, or m for ef == 0) shifted right by k = sh + efmin - max(ef, 1) (clamped to
    40, beyond which the result is 0) with the same tie rule. Exact (same as f32_rne_mag)
    for every finite input except a float32 subnormal or zero with efmin <= 0, and for
    inf/NaN bits (ef == 255); results above the format's tmax are overflows. The caller
    checks those cases."""
    ef = mag >> 23
    t32 = mag - rebias
    tn = (t32 + halfm1 + ((t32 >> sh) & 1)) >> sh
    efe = ef if ef > 1 else np.int64(1)
    k = sh + efmin - efe
    k = k if k < 40 else np.int64(40)
    k = k if k > 1 else np.int64(1)
    n = (mag & 0x7FFFFF) | (np.int64(0x800000) if ef != 0 else np.int64(0))
    ts = (n + ((np.int64(1) << (k - 1)) - 1) + ((n >> k) & 1)) >> k
    return tn if ef >= efmin else ts


@njit(cache=True)
def _encode_f32_rne_range(x, xi, i0, i1, E, M, bias, signed, sub, tmax, has_inf, uz,
                          nan_code, nan_signed, overflow, out):
    """Element-by-element encode_f32_rne of x[i0:i1] (f32_rne_mag, encode_scalar for the
    cases it leaves). Returns -1 or the first error index."""
    for i in range(i0, i1):
        b = np.int64(xi[i]) & 0xFFFFFFFF
        t = f32_rne_mag(b, 0, M, bias, tmax)
        if t < 0 or (t == 0 and uz):
            c = encode_scalar(float(x[i]), i, E, M, bias, signed, sub, tmax, has_inf, uz,
                              nan_code, nan_signed, 0, overflow, 0)
            if c < 0:
                return i
            out[i] = c
            continue
        if b >> 31:
            t |= np.int64(1) << (E + M)
        out[i] = t
    return -1


@njit(cache=True)
def encode_f32_rne(x, xi, E, M, bias, signed, sub, tmax, has_inf, uz, nan_code, nan_signed,
                   overflow, out):
    """Fast path of encode_float for float32 x under NEAREST_EVEN (xi is x viewed as
    int32), for signed formats with subnormals (sub = 1) and M <= 23. Same results as
    encode_float, including the returned first error index.

    x is processed in chunks of 256 elements. A chunk first goes through a branch-free
    loop (f32_rne_t with se = 0; the sign bit re-attached except to a zero code of a
    format without -0) that also notes whether any element is inf/NaN, overflows
    (code above tmax) or is a float32 subnormal the integer rule does not cover; only
    such a chunk is then redone element by element, with encode_scalar for those
    elements (NaN, inf and overflow policies)."""
    n = x.size
    sh = 23 - M
    sgnbit = np.int64(1) << (E + M)
    efmin = np.int64(128 - bias)
    rebias = np.int64(127 - bias) << 23
    halfm1 = ((np.int64(1) << sh) >> 1) - 1
    chunk = 256
    for i0 in range(0, n, chunk):
        i1 = min(i0 + chunk, n)
        slow = sh == 0
        if not slow:
            for i in range(i0, i1):
                b = np.int64(xi[i])
                mag = b & 0x7FFFFFFF
                ef = mag >> 23
                t = f32_rne_t(mag, sh, halfm1, rebias, efmin)
                slow |= (ef == 255) | (t > tmax) | ((ef == 0) & (efmin <= 0))
                neg = (b < 0) & ((t != 0) | (uz == 0))
                out[i] = t | (sgnbit if neg else np.int64(0))
        if slow:
            stop = _encode_f32_rne_range(x, xi, i0, i1, E, M, bias, signed, sub, tmax,
                                         has_inf, uz, nan_code, nan_signed, overflow, out)
            if stop >= 0:
                return stop
    return -1


@njit(cache=True)
def _mx_exp_bits(mmax, element_emax):
    """Shared exponent (as _mx_block_exp) from the largest float32 magnitude bit pattern
    mmax of a block."""
    if mmax >= 0x7F800000:
        return np.int64(128)
    if mmax == 0:
        return np.int64(-127)
    ef = mmax >> 23
    if ef > 0:
        e = ef - 127
    else:
        e = np.int64(math.frexp(float(mmax))[1] - 1 - 149)
    se = e - element_emax
    return se if se > -127 else np.int64(-127)


@njit(cache=True)
def _mx_exp_float(amax, bad, element_emax):
    """Shared exponent (as _mx_block_exp) from amax = max |V_i| of a block (bad: the
    block holds a NaN)."""
    if bad or math.isinf(amax):
        return np.int64(128)
    if amax == 0.0:
        return np.int64(-127)
    se = np.int64(math.frexp(amax)[1] - 1) - element_emax
    if se > 127:
        return np.int64(128)
    return se if se > -127 else np.int64(-127)


@njit(cache=True)
def _mx_block_exp(x, xi, p, d0, d1, element_emax, fast):
    """Shared exponent of the block x[p, d0:d1] (OCP MX: floor(log2 amax) - element_emax,
    clamped below at -127; amax 0 gives -127), or 128 when the block contains NaN or
    ±inf or its shared exponent is above 127 (the NaN scale). fast: x is float32 and xi
    its int32 view; amax is then the largest magnitude bit pattern (integer max)."""
    if fast:
        mmax = np.int64(0)
        for d in range(d0, d1):
            m = np.int64(xi[p, d]) & 0x7FFFFFFF
            mmax = m if m > mmax else mmax
        return _mx_exp_bits(mmax, element_emax)
    amax = 0.0
    for d in range(d0, d1):
        a = abs(float(x[p, d]))
        if a > amax:
            amax = a
        elif not (a <= amax):
            return _mx_exp_float(amax, True, element_emax)
    return _mx_exp_float(amax, False, element_emax)


def _mag(v):
    """Magnitude key of one element, ordered like |value|: abs(v) of a float, or the
    magnitude bits (sign cleared) of a float32 viewed as int32 (NaN bits then lie above
    inf). Typed per element dtype at compile time (see _mag_impl)."""
    if isinstance(v, (int, np.integer)):
        return int(v) & 0x7FFFFFFF
    return abs(float(v))


@overload(_mag)
def _mag_impl(v):
    if isinstance(v, types.Integer):
        return lambda v: np.int64(v) & 0x7FFFFFFF
    return lambda v: abs(float(v))


@njit(cache=True)
def _block_colmax(a, p, b, block_size, out):
    """For block b of row p of a viewed as (P, D, Q), blocked along D (rows d0 <= d < d1
    with d0 = b * block_size, d1 = min(d0 + block_size, D)): out[q] = max of _mag(a[p, d, q]) over
    the block (0 if empty; the Q axis is contiguous, so the inner loop vectorises).
    Returns (d0, d1)."""
    d0 = b * block_size
    d1 = min(d0 + block_size, a.shape[1])
    for q in range(out.size):
        out[q] = 0
    for d in range(d0, d1):
        for q in range(out.size):
            m = _mag(a[p, d, q])
            out[q] = m if m > out[q] else out[q]
    return d0, d1


@njit(cache=True)
def mx_quantize_cols(x, xi, block_size, E, M, bias, uz, tmax, element_emax, codes, scodes):
    """mx_quantize_rows for float32 x viewed as (P, D, Q) with the blocked axis D not
    last (Q > 1), float element formats with subnormals and M <= 22, NEAREST_EVEN: the
    same results, with the branch-free integer path running along the contiguous Q axis
    (xi: x viewed as int32). codes (P, D, Q), scodes (P, ceil(D / block_size), Q). Returns
    False when some block holds a float32 subnormal the integer path does not cover
    (codes are then incomplete and the caller uses mx_quantize_rows)."""
    P, D, Q = x.shape
    nb = (D + block_size - 1) // block_size
    sh = 23 - M
    halfm1 = ((np.int64(1) << sh) >> 1) - 1
    sgnbit = np.int64(1) << (E + M)
    mmax = np.empty(Q, dtype=np.int64)
    rebias = np.empty(Q, dtype=np.int64)
    efmin = np.empty(Q, dtype=np.int64)
    keep = np.empty(Q, dtype=np.int64)
    slow = False
    for p in range(P):
        for b in range(nb):
            d0, d1 = _block_colmax(xi, p, b, block_size, mmax)
            for q in range(Q):
                se = _mx_exp_bits(mmax[q], element_emax)
                keep[q] = 0 if se == 128 else -1
                se = se if se != 128 else np.int64(0)
                scodes[p, b, q] = 255 if keep[q] == 0 else se + 127
                rebias[q] = np.int64(127 - bias + se) << 23
                efmin[q] = np.int64(128 - bias) + se
            for d in range(d0, d1):
                for q in range(Q):
                    bb = np.int64(xi[p, d, q])
                    mag = bb & 0x7FFFFFFF
                    t = f32_rne_t(mag, sh, halfm1, rebias[q], efmin[q])
                    t = t if t < tmax else tmax
                    t = t if mag != 0 else np.int64(0)
                    slow |= (mag < 0x800000) & (mag != 0) & (efmin[q] <= 0)
                    neg = (bb < 0) & ((t != 0) | (uz == 0))
                    codes[p, d, q] = (t | (sgnbit if neg else np.int64(0))) & keep[q]
    return not slow


@njit(cache=True)
def mx_quantize_rows(x, xi, Q, block_size, kind, E, M, bias, signed, sub, tmax, has_inf, uz,
                     nan_code, nan_signed, element_emax, int_frac, int_max, mode, seed, codes,
                     scodes):
    """OCP MX v1.0 quantization of x viewed as (R, D): blocks of ``block_size`` consecutive
    elements along each row (the last block may be short).

    Per block: amax = max |V_i|. NaN or ±inf in the block, or a shared exponent above
    127, give scale code 255 (NaN) and element codes 0. Otherwise
    shared_exp = floor(log2 amax) - element_emax (exact, from frexp), clamped below at
    -127 (an all-zero block has amax 0 and gets -127); scodes = shared_exp + 127 (E8M0).
    Elements: kind 0 (float element format given by E..nan_signed) code of
    V_i * 2^-shared_exp (exact) rounded by ``mode`` with overflow saturated to ±max;
    kind 1 (MXINT8) the integer round(V_i * 2^(int_frac - shared_exp)) clamped to
    [-int_max, int_max], stored in two's complement (codes of a signed integer dtype).
    codes (R, D), scodes (R, ceil(D / block_size)).

    Row r is the (p, q) = (r // Q, r % Q) line of an array viewed as (P, D, Q) (the
    caller transposes a non-last blocked axis to the last one); STOCHASTIC uses the flat
    index (p * D + d) * Q + q of that (P, D, Q) array. xi: x viewed as int32 when x is
    float32, else an empty array; float32 elements under NEAREST_EVEN then take a
    branch-free integer path (f32_rne_t with the block's shift, saturated to tmax), a
    block being redone element by element only when it holds a float32 subnormal that
    path does not cover.
    """
    R, D = x.shape
    nb = (D + block_size - 1) // block_size
    fast = kind == 0 and mode == 0 and sub == 1 and xi.size == x.size and M <= 22
    sh = 23 - M
    halfm1 = ((np.int64(1) << sh) >> 1) - 1
    sgnbit = np.int64(1) << (E + M)
    for r in range(R):
        p = r // Q
        q = r - p * Q
        for b in range(nb):
            d0 = b * block_size
            d1 = min(d0 + block_size, D)
            se = _mx_block_exp(x, xi, r, d0, d1, element_emax, xi.size == x.size)
            if se == 128:
                scodes[r, b] = 255
                for d in range(d0, d1):
                    codes[r, d] = 0
                continue
            scodes[r, b] = se + 127
            if fast:
                rebias = np.int64(127 - bias + se) << 23
                efmin = np.int64(128 - bias) + se
                slow = False
                for d in range(d0, d1):
                    bb = np.int64(xi[r, d])
                    mag = bb & 0x7FFFFFFF
                    t = f32_rne_t(mag, sh, halfm1, rebias, efmin)
                    t = t if t < tmax else tmax
                    t = t if mag != 0 else np.int64(0)
                    slow |= (mag < 0x800000) & (mag != 0) & (efmin <= 0)
                    neg = (bb < 0) & ((t != 0) | (uz == 0))
                    codes[r, d] = t | (sgnbit if neg else np.int64(0))
                if not slow:
                    continue
            mul = math.ldexp(1.0, int(int_frac - se))
            for d in range(d0, d1):
                flat = (p * D + d) * Q + q
                if fast:
                    bb = np.int64(xi[r, d]) & 0xFFFFFFFF
                    t = f32_rne_mag(bb, se, M, bias, tmax)
                    if t > 0 or (t == 0 and not uz):
                        if bb >> 31:
                            t |= sgnbit
                        codes[r, d] = t
                        continue
                v = float(x[r, d]) * mul
                if kind == 0:
                    codes[r, d] = encode_scalar(v, flat, E, M, bias, signed, sub, tmax,
                                                has_inf, uz, nan_code, nan_signed, mode, 0, seed)
                else:
                    rr = np.int64(round_real(v, mode, seed, flat))
                    if rr > int_max:
                        rr = int_max
                    elif rr < -int_max:
                        rr = -int_max
                    codes[r, d] = rr


@njit(cache=True)
def nvfp4_quantize(x, block_size, tscale, mode, seed, codes, scodes, scales):
    """NVFP4 quantization of x viewed as (P, D, Q), blocks of ``block_size`` (16) along D.

    Per block: amax = max |V_i|; the block scale code is the E4M3 (OCP "fn", bias 7)
    code of the real quotient amax / (6 * tscale), rounded to nearest even and saturated
    to 448; sb = its value. scales = sb * tscale (exact in float64). Elements: E2M1 codes
    of the real quotients V_i / (sb * tscale) rounded by ``mode`` and saturated to ±6;
    a block with sb == 0 gets element codes 0 (+0). A block holding NaN or ±inf gets the
    E4M3 NaN scale code 0x7F, scale NaN and element codes 0. tscale > 0 finite.
    """
    P, D, Q = x.shape
    nb = (D + block_size - 1) // block_size
    amax = np.empty(Q, dtype=np.float64)
    bad = np.empty(Q, dtype=np.bool_)
    for p in range(P):
        for b in range(nb):
            d0, d1 = _block_colmax(x, p, b, block_size, amax)
            for q in range(Q):
                bad[q] = False
            for d in range(d0, d1):
                for q in range(Q):
                    bad[q] |= not math.isfinite(float(x[p, d, q]))
            for q in range(Q):
                if bad[q]:
                    scodes[p, b, q] = 0x7F
                    scales[p, b, q] = math.nan
                    amax[q] = 0.0
                    continue
                # E4M3 "fn": E=4, M=3, bias 7, signed, subnormals, tmax 126, NaN 127
                sc = encode_scalar(exact_quotient(amax[q], 6.0 * tscale), 0, 4, 3, 7, 1, 1,
                                   126, 0, 0, 127, 1, 0, 0, 0)
                scodes[p, b, q] = sc
                sv = decode_scalar(sc, 4, 3, 7, 1, 1, 126, 0, 0) * tscale
                scales[p, b, q] = sv
                amax[q] = sv
            for d in range(d0, d1):
                for q in range(Q):
                    s = amax[q]
                    if s == 0.0:
                        codes[p, d, q] = 0
                        continue
                    flat = (p * D + d) * Q + q
                    v = exact_quotient(float(x[p, d, q]), s)
                    # E2M1: E=2, M=1, bias 1, signed, subnormals, tmax 7, no specials
                    codes[p, d, q] = encode_scalar(v, flat, 2, 1, 1, 1, 1, 7, 0, 0, -1, 0,
                                                   mode, 0, seed)


@njit(cache=True)
def encode_f32_e8_rne(xi, M, out):
    """float32 (bits xi) -> a format with float32's exponent (E = 8, bias 127, IEEE
    specials, M <= 22: bfloat16, tf32) under NEAREST_EVEN with overflow to inf: the
    code is (|bits| + 2^(sh-1) - 1 + lsb) >> sh with the sign re-attached (sh = 23 - M);
    NaN becomes the quiet NaN with the input's sign. Same results as encode_float."""
    sh = 23 - M
    half = (np.int64(1) << (sh - 1)) - 1
    sgn = np.int64(1) << (8 + M)
    qnan = (np.int64(0xFF) << M) | (np.int64(1) << (M - 1))
    for i in range(xi.size):
        b = np.int64(xi[i]) & 0xFFFFFFFF
        mag = b & 0x7FFFFFFF
        t = (mag + half + ((mag >> sh) & 1)) >> sh
        if mag > 0x7F800000:
            t = qnan
        out[i] = t | (sgn if b >> 31 else 0)


@njit(cache=True)
def decode_e8_to_f32(codes, M, out_bits):
    """out_bits[i] = float32 bit pattern of a code of a format with float32's exponent
    (E = 8, bias 127, IEEE specials): code << (23 - M), truncated to 32 bits (the sign bit
    8 + M moves to bit 31). Exact. Validates in the same pass: returns 0 when every code
    is in [0, 2^(9 + M)), else a non-zero value (the caller must discard out_bits and
    raise)."""
    sh = 23 - M
    nb = 9 + M
    bad = np.int64(0)
    for i in range(codes.size):
        c = np.int64(codes[i])
        bad |= c >> nb
        out_bits[i] = np.int32(c << sh)
    return bad


# Parallel variants: the flat array is cut into blocks of PAR_BLOCK elements, each block
# run through the serial kernel above by one thread, into its own slice of the output.
# Every element is computed on its own, so the results do not depend on the thread count.
# They pay off for large arrays on idle cores (the page faults of a fresh output and the
# memory traffic spread over cores); a thread start waits for a free core, so on a busy
# machine they can be slower. Call them from Python only (no nested parallelism).
PAR_BLOCK = 1 << 16


@njit(cache=True, parallel=True)
def encode_f32_e8_rne_par(xi, M, out):
    """encode_f32_e8_rne with blocks of PAR_BLOCK elements in parallel (same results)."""
    n = xi.size
    for b in prange((n + PAR_BLOCK - 1) // PAR_BLOCK):
        i0 = b * PAR_BLOCK
        i1 = min(i0 + PAR_BLOCK, n)
        encode_f32_e8_rne(xi[i0:i1], M, out[i0:i1])


@njit(cache=True, parallel=True)
def decode_e8_to_f32_par(codes, M, out_bits):
    """decode_e8_to_f32 with blocks of PAR_BLOCK elements in parallel (same out_bits and
    the same returned flag: the OR of the blocks' flags)."""
    n = codes.size
    nblk = (n + PAR_BLOCK - 1) // PAR_BLOCK
    bads = np.zeros(nblk, dtype=np.int64)
    for b in prange(nblk):
        i0 = b * PAR_BLOCK
        i1 = min(i0 + PAR_BLOCK, n)
        bads[b] = decode_e8_to_f32(codes[i0:i1], M, out_bits[i0:i1])
    bad = np.int64(0)
    for b in range(nblk):
        bad |= bads[b]
    return bad


@njit(cache=True)
def pack_bits(codes, bits, out):
    """Little-endian bit stream of the low ``bits`` bits (1..16) of each code (flat
    integer array): code i occupies stream bits [i * bits, (i + 1) * bits), stream bit j
    is bit (j mod 8) of out[j // 8]. out has ceil(codes.size * bits / 8) bytes; every
    byte is written. One pass, no temporary arrays."""
    mask = (np.int64(1) << bits) - 1
    acc = np.int64(0)
    nacc = 0
    j = 0
    for i in range(codes.size):
        acc |= (np.int64(codes[i]) & mask) << nacc
        nacc += bits
        while nacc >= 8:
            out[j] = acc & 0xFF
            acc >>= 8
            nacc -= 8
            j += 1
    if nacc > 0:
        out[j] = acc & 0xFF


@njit(cache=True)
def unpack_bits(data, bits, signed, out):
    """out[i] = code i of the bit stream ``data`` (pack_bits' layout) for i < out.size,
    sign-extended from ``bits`` bits when ``signed`` (two's complement). data holds at
    least ceil(out.size * bits / 8) bytes. One pass, no temporary arrays."""
    mask = (np.int64(1) << bits) - 1
    sbit = np.int64(1) << (bits - 1)
    acc = np.int64(0)
    nacc = 0
    j = 0
    for i in range(out.size):
        while nacc < bits:
            acc |= np.int64(data[j]) << nacc
            nacc += 8
            j += 1
        v = acc & mask
        acc >>= bits
        nacc -= bits
        if signed and v >= sbit:
            v -= mask + 1
        out[i] = v

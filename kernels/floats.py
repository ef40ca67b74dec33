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
from numba import prange, types
from numba.extending import overload

from . import njit
from .rounding import choose, round_real, sign_x_minus_ts

__all__ = [
    "encode_scalar",
    "encode_float",
    "exact_quotient",
    "decode_scalar",
    "decode_float",
    "gather",
    "f32_rne_t",
    "f32_rne_consts",
    "encode_f32_rne",
    "encode_f32_rne_par",
    "mx_f32_rows",
    "mx_f32_cols",
    "mx_f32_rows_par",
    "mx_f32_cols_par",
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


# -- float32 inputs under NEAREST_EVEN: integer rounding of the bit pattern ---------------
# The kernels below round float32 bit patterns with integer operations only and no
# branches in their inner loops (so the loops compile to SIMD code): NaN, inf, overflow and
# every policy are selected per element, at the cost of an ordinary element. Inputs are
# processed in chunks of F32_CHUNK elements; a chunk is redone element by element (with
# encode_scalar where the integer rule does not apply) only when it holds an element the
# rule marks -1: an error (NaN without a NaN code, a negative input to an unsigned format
# without one, an overflow under RAISE) or, in a format whose smallest normal binade lies
# below float32's normal range (efmin <= 0), a float32 subnormal or zero.
F32_CHUNK = 256


@njit(cache=True)
def f32_rne_t(mag, sh, efmin, ulo):
    """Magnitude code, rounded to nearest even, of the float32 magnitude bits ``mag``
    (an int64 in 0..2^31 - 1) times 2^-se on the grid of a format with subnormals, for
    sh = 23 - M >= 1, efmin = 128 - bias + se (the float32 exponent field of the format's
    smallest normal binade) and ulo = max(1, sh + efmin - 40). With ef = mag >> 23 and
    m = mag mod 2^23:

        u = min(max(ef, ulo), efmin)
        v = mag - (u - 1) * 2^23
        s = sh + efmin - u                (1 <= s <= 40)
        t = (v + 2^(s-1) - 1 + ((v >> s) & 1)) >> s

    ef >= efmin: v = (ef - efmin + 1) * 2^23 + m is the float32 pattern re-biased to the
    format's exponent field, shifted by sh with ties to even. ulo <= ef < efmin (or
    ef == 0 with ulo == 1): v is the significand (2^23 + m, or m when ef == 0), shifted
    further by the binades below the format's normal range. ef < ulo (when ulo > 1): s = 40
    and v < 2^23 (possibly negative), so t = 0, which is also the rounded value (the input
    is below 2^-16 times the smallest subnormal). Exact (the code encode_scalar gives
    x * 2^-se) for every finite mag except a float32 subnormal or zero when efmin <= 0; a
    result above the format's tmax is an overflow; inf and NaN bits give no meaningful
    code. No branches."""
    ef = mag >> 23
    u = ef if ef > ulo else ulo
    u = u if u < efmin else efmin
    v = mag - ((u - 1) << 23)
    s = sh + efmin - u
    return (v + ((np.int64(1) << (s - 1)) - 1) + ((v >> s) & 1)) >> s


@njit(cache=True)
def f32_rne_consts(E, M, bias, signed, tmax, uz, nan_code, nan_signed, overflow):
    """The per-call constants of the encode_f32_rne element rules for a format with
    subnormals and M <= 22 (module doc for the parameters; overflow 0 SATURATE, 2 RAISE,
    3 INF, 4 NAN): (sh, efmin, ulo, thrp, thrn, sgnbit, zmin, ovp, ovn, nanp, nann,
    lowthr, general).

    sh, efmin, ulo: f32_rne_t's with se = 0. thrp: the smallest float32 magnitude pattern
    whose code exceeds tmax (bisection on the monotone f32_rne_t; at most inf's pattern
    0x7F800000); thrn: the same for negative inputs (1 in unsigned formats: every negative
    non-zero input is out of range). ovp / ovn: the code of an out-of-range positive /
    negative input (SATURATE ±max, INF ±inf, NAN the NaN code with the sign where
    nan_signed; unsigned negatives the NaN code); nanp / nann: the code of a positive /
    negative NaN; -1 marks an error. zmin: 1 where a zero code takes no sign bit (uz),
    else 0. lowthr: 2^23 when efmin <= 0 (float32 subnormals and zeros are left to
    encode_scalar), else 0. general: 0 when the format is signed, efmin >= 1 and every
    negative special code is the positive one with the sign bit set (ovn == ovp | sgnbit,
    nann == nanp | sgnbit; true of every signed format), so that _f32_rne_code applies;
    else 1 (_f32_rne_code_any)."""
    sh = np.int64(23 - M)
    efmin = np.int64(128 - bias)
    ulo = sh + efmin - 40
    ulo = ulo if ulo > 1 else np.int64(1)
    lo = np.int64(-1) if efmin >= 1 else np.int64(0x7FFFFF)
    hi = np.int64(0x7F800000)
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if f32_rne_t(mid, sh, efmin, ulo) > tmax:
            hi = mid
        else:
            lo = mid
    sgn = np.int64(1) << (E + M) if signed else np.int64(0)
    nanp = np.int64(nan_code)
    nann = nanp | sgn if nan_signed and nan_code >= 0 else nanp
    if overflow == 0:
        ovp, ovn = np.int64(tmax), tmax | sgn
    elif overflow == 3:
        ovp, ovn = np.int64(tmax + 1), (tmax + 1) | sgn
    elif overflow == 4:
        ovp, ovn = nanp, nann
    else:
        ovp, ovn = np.int64(-1), np.int64(-1)
    thrn = hi
    if not signed:
        thrn, ovn = np.int64(1), nanp
    zmin = np.int64(1) if uz else np.int64(0)
    lowthr = np.int64(0x800000) if efmin <= 0 else np.int64(0)
    general = np.int64(0) if (signed and efmin >= 1 and ovn == ovp | sgn
                              and nann == nanp | sgn) else np.int64(1)
    return (sh, efmin, ulo, hi, thrn, sgn, zmin, ovp, ovn, nanp, nann, lowthr, general)


@njit(cache=True)
def _f32_rne_code(b, sh, efmin, ulo, thr, sgnbit, zmin, ovp, nanp):
    """Code of the float32 bit pattern b (sign-extended int32) under NEAREST_EVEN in a
    format with general == 0 (f32_rne_consts): the magnitude's code, the overflow code
    from thr on, the NaN code above inf's pattern, then the sign bit (not on a zero code
    when zmin == 1). -1 marks an error. No branches."""
    mag = b & 0x7FFFFFFF
    t = f32_rne_t(mag, sh, efmin, ulo)
    c = ovp if mag >= thr else t
    c = nanp if mag > 0x7F800000 else c
    return c | (sgnbit if (b < 0) & (c >= zmin) else np.int64(0))


@njit(cache=True)
def _f32_rne_code_any(b, sh, efmin, ulo, thrp, thrn, sgnbit, zmin, ovp, ovn, nanp, nann,
                      lowthr):
    """_f32_rne_code for any format encode_f32_rne takes with subnormals (signed or
    unsigned, any efmin), with every constant of f32_rne_consts; -1 also where
    encode_scalar must decide (a float32 subnormal or zero when efmin <= 0)."""
    mag = b & 0x7FFFFFFF
    neg = b < 0
    t = f32_rne_t(mag, sh, efmin, ulo)
    c = t | (sgnbit if neg & (t >= zmin) else np.int64(0))
    c = (ovn if neg else ovp) if mag >= (thrn if neg else thrp) else c
    c = (nann if neg else nanp) if mag > 0x7F800000 else c
    return c if mag >= lowthr else np.int64(-1)


@njit(cache=True)
def _f32_e8m0_code(b, ovp):
    """E8M0 code of the float32 bit pattern b under NEAREST_EVEN (ties between 2^k and
    2^(k+1) to the even code; a float32 subnormal becomes 2^-127, or 2^-126 above
    1.5 * 2^-127); ovp: the code of a positive overflow (-1: an error); 0, negative
    inputs and NaN give 255. No branches."""
    mag = b & 0x7FFFFFFF
    t = (mag + 0x3FFFFF + ((mag >> 23) & 1) - (0x200000 if mag < 0x800000 else 0)) >> 23
    c = ovp if mag >= 0x7F400001 else t
    return np.int64(255) if (b <= 0) | (mag > 0x7F800000) else c


@njit(cache=True)
def encode_f32_rne(x, xi, E, M, bias, signed, sub, tmax, has_inf, uz, nan_code, nan_signed,
                   overflow, out):
    """encode_float of float32 x under NEAREST_EVEN (xi: x viewed as int32), for formats
    with subnormals (sub = 1, signed or unsigned) and M <= 22, and for E8M0 (E = 8, M = 0,
    bias 127, unsigned, no subnormals, tmax 254, NaN 255). Same codes as encode_float and
    the same return value: -1, or the first error index (out is then only partly
    written).

    Each element's code is computed branch-free from its bit pattern (f32_rne_t and the
    per-call constants of f32_rne_consts: out-of-range and NaN inputs are selected per
    element, so they cost what an ordinary input costs; E8M0: the exponent field rounded
    on the mantissa). A chunk of F32_CHUNK elements holding an element marked -1 is
    redone element by element, with encode_scalar for the marked ones."""
    e8 = (E == 8 and M == 0 and bias == 127 and signed == 0 and sub == 0 and tmax == 254
          and nan_code == 255)
    (sh, efmin, ulo, thrp, thrn, sgnbit, zmin, ovp, ovn, nanp, nann, lowthr,
     general) = f32_rne_consts(E, M, bias, signed, tmax, uz, nan_code, nan_signed, overflow)
    e8ov = np.int64(254) if overflow == 0 else (np.int64(255) if overflow == 4 else np.int64(-1))
    n = xi.size
    for i0 in range(0, n, F32_CHUNK):
        i1 = min(i0 + F32_CHUNK, n)
        xs = xi[i0:i1]
        os = out[i0:i1]
        acc = np.int64(0)
        if e8:
            for i in range(xs.size):
                c = _f32_e8m0_code(np.int64(xs[i]), e8ov)
                os[i] = c
                acc |= c
        elif general:
            for i in range(xs.size):
                c = _f32_rne_code_any(np.int64(xs[i]), sh, efmin, ulo, thrp, thrn, sgnbit,
                                      zmin, ovp, ovn, nanp, nann, lowthr)
                os[i] = c
                acc |= c
        else:
            for i in range(xs.size):
                c = _f32_rne_code(np.int64(xs[i]), sh, efmin, ulo, thrp, sgnbit, zmin, ovp,
                                  nanp)
                os[i] = c
                acc |= c
        if acc >= 0:
            continue
        for i in range(i0, i1):
            b = np.int64(xi[i])
            if e8:
                c = _f32_e8m0_code(b, e8ov)
            else:
                c = _f32_rne_code_any(b, sh, efmin, ulo, thrp, thrn, sgnbit, zmin, ovp, ovn,
                                      nanp, nann, lowthr)
            if c < 0:
                c = encode_scalar(float(x[i]), i, E, M, bias, signed, sub, tmax, has_inf, uz,
                                  nan_code, nan_signed, 0, overflow, 0)
                if c < 0:
                    return i
            out[i] = c
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


# OCP MX quantization of float32 inputs under NEAREST_EVEN (float element formats with
# subnormals, M <= 22): one pass per block, the block's largest magnitude pattern (an
# integer max) and then its element codes, branch-free (f32_rne_t with the block's shift
# se, saturated to ±max). Blocks are numbered g = p * nb + b (nb blocks per line); the
# serial kernels take a range [g0, g1) of them, the parallel ones cut all of them into
# MX_GROUPS ranges. Along a non-last axis the Q columns of a block are done MX_TILE at a
# time, so that a tile of the block (block_size rows of MX_TILE elements) stays in cache
# between its two passes.
MX_TILE = 256
MX_GROUPS = 64


@njit(cache=True)
def _mx_f32_code(bb, sh, efmin, ulo, tmax, sgnbit, zmin):
    """Element code of the float32 bit pattern bb (sign-extended int32, finite) times
    2^-se (f32_rne_t's sh, efmin = 128 - bias + se >= 1 and ulo), rounded to nearest even
    and saturated to tmax; no sign bit on a zero code when zmin == 1 (uz). No branches."""
    t = f32_rne_t(bb & 0x7FFFFFFF, sh, efmin, ulo)
    t = t if t < tmax else tmax
    return t | (sgnbit if (bb < 0) & (t >= zmin) else np.int64(0))


@njit(cache=True)
def _mx_f32_exact(xv, bb, se, E, M, bias, uz, tmax):
    """Element code of the finite float32 xv (bit pattern bb) times 2^-se, for blocks
    whose shift puts the element format's normal range below float32's (efmin <= 0):
    ±0 directly, anything else by encode_scalar (saturating)."""
    if bb & 0x7FFFFFFF == 0:
        return np.int64(1) << (E + M) if bb < 0 and not uz else np.int64(0)
    return encode_scalar(float(xv) * math.ldexp(1.0, int(-se)), 0, E, M, bias, 1, 1, tmax,
                         0, uz, -1, 0, 0, 0, 0)


@njit(cache=True)
def _max_mag(xr, n):
    """Largest magnitude pattern (sign bit cleared) of the int32 float32 patterns xr[:n]
    (0 for n == 0)."""
    mmax = np.int64(0)
    for d in range(n):
        m = np.int64(xr[d]) & 0x7FFFFFFF
        mmax = m if m > mmax else mmax
    return mmax


@njit(cache=True)
def _mx_f32_codes(xr, cr, n, sh, efmin, tmax, sgnbit, zmin):
    """cr[d] = _mx_f32_code(xr[d], ...) for d < n (efmin >= 1)."""
    ulo = max(sh + efmin - 40, np.int64(1))
    for d in range(n):
        cr[d] = _mx_f32_code(np.int64(xr[d]), sh, efmin, ulo, tmax, sgnbit, zmin)


@njit(cache=True)
def mx_f32_rows(x, xi, g0, g1, block_size, E, M, bias, uz, tmax, element_emax, codes, scodes):
    """OCP MX quantization (mx_quantize_rows' rules, kind 0, NEAREST_EVEN) of blocks
    g0 <= g < g1 of the float32 x (R, D) (xi: x viewed as int32), blocked along rows:
    block g = r * nb + b covers x[r, b * block_size : (b + 1) * block_size] (the last one
    may be short). Element formats signed with subnormals and M <= 22. codes (R, D),
    scodes (R, nb). Same codes as mx_quantize_rows. (A full block of MX's 32 elements
    runs loops of a constant length, which compile to straight SIMD code.)"""
    R, D = xi.shape
    nb = (D + block_size - 1) // block_size
    sh = np.int64(23 - M)
    sgnbit = np.int64(1) << (E + M)
    zmin = np.int64(1) if uz else np.int64(0)
    if g1 <= g0:
        return
    for r in range(g0 // nb, (g1 - 1) // nb + 1):
        xrow = xi[r]
        crow = codes[r]
        srow = scodes[r]
        for b in range(max(g0 - r * nb, 0), min(g1 - r * nb, nb)):
            d0 = b * block_size
            d1 = min(d0 + block_size, D)
            xr = xrow[d0:d1]
            cr = crow[d0:d1]
            full32 = xr.size == 32
            mmax = _max_mag(xr, 32) if full32 else _max_mag(xr, xr.size)
            se = _mx_exp_bits(mmax, element_emax)
            if se == 128:
                srow[b] = 255
                for d in range(cr.size):
                    cr[d] = 0
                continue
            srow[b] = se + 127
            efmin = np.int64(128 - bias) + se
            if efmin >= 1:
                if full32:
                    _mx_f32_codes(xr, cr, 32, sh, efmin, tmax, sgnbit, zmin)
                else:
                    _mx_f32_codes(xr, cr, xr.size, sh, efmin, tmax, sgnbit, zmin)
            else:
                for d in range(xr.size):
                    cr[d] = _mx_f32_exact(x[r, d0 + d], np.int64(xr[d]), se, E, M, bias, uz,
                                          tmax)


@njit(cache=True)
def mx_f32_cols(x, xi, g0, g1, block_size, E, M, bias, uz, tmax, element_emax, codes, scodes):
    """mx_f32_rows for float32 x viewed as (P, D, Q), blocked along D: block g = p * nb + b
    covers x[p, b * block_size : (b + 1) * block_size, :] (one block per column q). codes
    (P, D, Q), scodes (P, nb, Q). Same codes as mx_quantize_rows of the transposed array."""
    P, D, Q = xi.shape
    nb = (D + block_size - 1) // block_size
    sh = np.int64(23 - M)
    sgnbit = np.int64(1) << (E + M)
    zmin = np.int64(1) if uz else np.int64(0)
    tq = min(Q, MX_TILE)
    mm = np.empty(tq, dtype=np.int64)
    efm = np.empty(tq, dtype=np.int64)
    ulo = np.empty(tq, dtype=np.int64)
    keep = np.empty(tq, dtype=np.int64)
    for g in range(g0, g1):
        p = g // nb
        b = g - p * nb
        d0 = b * block_size
        d1 = min(d0 + block_size, D)
        for q0 in range(0, Q, tq):
            w = min(q0 + tq, Q) - q0
            for q in range(w):
                mm[q] = 0
            d4 = d0 + (d1 - d0) // 4 * 4
            for d in range(d0, d4, 4):      # four rows per pass over mm
                r0 = xi[p][d][q0:q0 + w]
                r1 = xi[p][d + 1][q0:q0 + w]
                r2 = xi[p][d + 2][q0:q0 + w]
                r3 = xi[p][d + 3][q0:q0 + w]
                for q in range(w):
                    a0 = np.int64(r0[q]) & 0x7FFFFFFF
                    a1 = np.int64(r1[q]) & 0x7FFFFFFF
                    a2 = np.int64(r2[q]) & 0x7FFFFFFF
                    a3 = np.int64(r3[q]) & 0x7FFFFFFF
                    a0 = a0 if a0 > a1 else a1
                    a2 = a2 if a2 > a3 else a3
                    a0 = a0 if a0 > a2 else a2
                    mm[q] = a0 if a0 > mm[q] else mm[q]
            for d in range(d4, d1):
                row = xi[p][d][q0:q0 + w]
                for q in range(w):
                    m = np.int64(row[q]) & 0x7FFFFFFF
                    mm[q] = m if m > mm[q] else mm[q]
            low = False
            for q in range(w):
                se = _mx_exp_bits(mm[q], element_emax)
                keep[q] = 0 if se == 128 else -1
                scodes[p, b, q0 + q] = 255 if se == 128 else se + 127
                e = np.int64(128 - bias) + (se if se != 128 else np.int64(0))
                low |= e <= 0
                efm[q] = e if e >= 1 else np.int64(1)
                ulo[q] = max(sh + efm[q] - 40, np.int64(1))
            for d in range(d0, d1):
                row = xi[p][d][q0:q0 + w]
                crow = codes[p][d][q0:q0 + w]
                for q in range(w):
                    crow[q] = _mx_f32_code(np.int64(row[q]), sh, efm[q], ulo[q], tmax,
                                           sgnbit, zmin) & keep[q]
            if not low:
                continue
            for q in range(w):
                se = _mx_exp_bits(mm[q], element_emax)
                if se == 128 or 128 - bias + se >= 1:
                    continue
                for d in range(d0, d1):
                    codes[p, d, q0 + q] = _mx_f32_exact(x[p, d, q0 + q],
                                                        np.int64(xi[p, d, q0 + q]), se, E, M,
                                                        bias, uz, tmax)


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
    float32 (the block's amax is then an integer max of magnitude patterns), else an
    empty array. Float32 inputs under NEAREST_EVEN with a float element format with
    subnormals are faster through mx_f32_rows / mx_f32_cols (the same codes).
    """
    R, D = x.shape
    nb = (D + block_size - 1) // block_size
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
            mul = math.ldexp(1.0, int(int_frac - se))
            for d in range(d0, d1):
                flat = (p * D + d) * Q + q
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
def encode_f32_rne_par(x, xi, E, M, bias, signed, sub, tmax, has_inf, uz, nan_code,
                       nan_signed, overflow, out):
    """encode_f32_rne with blocks of PAR_BLOCK elements in parallel (the same codes and
    the same returned first error index)."""
    n = xi.size
    nblk = (n + PAR_BLOCK - 1) // PAR_BLOCK
    stops = np.empty(nblk, dtype=np.int64)
    for b in prange(nblk):
        i0 = b * PAR_BLOCK
        i1 = min(i0 + PAR_BLOCK, n)
        s = encode_f32_rne(x[i0:i1], xi[i0:i1], E, M, bias, signed, sub, tmax, has_inf, uz,
                           nan_code, nan_signed, overflow, out[i0:i1])
        stops[b] = s + i0 if s >= 0 else -1
    for b in range(nblk):
        if stops[b] >= 0:
            return stops[b]
    return -1


@njit(cache=True, parallel=True)
def mx_f32_rows_par(x, xi, block_size, E, M, bias, uz, tmax, element_emax, codes, scodes):
    """mx_f32_rows over every block, MX_GROUPS ranges of blocks in parallel (the same
    codes)."""
    R, D = xi.shape
    n = R * ((D + block_size - 1) // block_size)
    ng = min(n, MX_GROUPS)
    for g in prange(ng):
        mx_f32_rows(x, xi, g * n // ng, (g + 1) * n // ng, block_size, E, M, bias, uz, tmax,
                    element_emax, codes, scodes)


@njit(cache=True, parallel=True)
def mx_f32_cols_par(x, xi, block_size, E, M, bias, uz, tmax, element_emax, codes, scodes):
    """mx_f32_cols over every block, MX_GROUPS ranges of blocks in parallel (the same
    codes)."""
    P, D, Q = xi.shape
    n = P * ((D + block_size - 1) // block_size)
    ng = min(n, MX_GROUPS)
    for g in prange(ng):
        mx_f32_cols(x, xi, g * n // ng, (g + 1) * n // ng, block_size, E, M, bias, uz, tmax,
                    element_emax, codes, scodes)


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

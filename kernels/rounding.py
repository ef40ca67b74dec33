"""Rounding kernels shared by every format: integer shifts and divisions, float to
integer, exact rounding of a real quotient x / s, counter-based stochastic rounding, and
the affine quantize / dequantize kernels built on them.

Rounding modes are the integer values of ``refquant.Rounding``:
0 NEAREST_EVEN, 1 NEAREST_AWAY, 2 NEAREST_UP, 3 TOWARD_ZERO, 4 DOWN, 5 UP, 6 STOCHASTIC.
Overflow policies are those of ``refquant.Overflow``: 0 SATURATE, 1 WRAP, 2 RAISE.
"""
import math

import numpy as np

from . import njit

# splitmix64 constants as signed int64 (uint64 arithmetic would promote to float64).
__all__ = [
    "lsr64",
    "uniform53",
    "choose",
    "round_real",
    "round_float_to_int",
    "shift_right_round",
    "divide_round",
    "two_prod",
    "sign_x_minus_ts",
    "round_quotient",
    "to_f32",
    "f32_sum",
    "quotient_rounded",
    "wrap_integral",
    "quantize_affine",
    "dequantize_affine",
]


_GOLDEN = np.int64(-7046029254386353131)   # 0x9E3779B97F4A7C15
_MIX1 = np.int64(-4658895280553007687)     # 0xBF58476D1CE4E5B9
_MIX2 = np.int64(-7723592293110705685)     # 0x94D049BB133111EB
_TWO_M53 = 1.0 / 9007199254740992.0


@njit(cache=True)
def lsr64(x, k):
    """Logical right shift of an int64 bit pattern by 0 < k < 64."""
    return (x >> k) & ((np.int64(1) << (64 - k)) - 1)


@njit(cache=True)
def uniform53(seed, index):
    """Counter-based uniform integer in [0, 2^53): splitmix64 of (seed, index).

    z = seed * 0x9E3779B97F4A7C15 + (index + 1) * 0x9E3779B97F4A7C15, then the
    splitmix64 finaliser; the top 53 bits are returned. Arithmetic is modulo 2^64.
    """
    z = np.int64(seed) * _GOLDEN + (np.int64(index) + 1) * _GOLDEN
    z = (z ^ lsr64(z, 30)) * _MIX1
    z = (z ^ lsr64(z, 27)) * _MIX2
    z = z ^ lsr64(z, 31)
    return lsr64(z, 11)


@njit(cache=True)
def choose(fl, cmp_half, exact, frac, mode, seed, index):
    """Resolve a real value v with floor(v) = fl (an int64) to fl or fl + 1.

    cmp_half is the sign of v - (fl + 1/2) (-1, 0, 1); exact says v == fl; frac is
    v - fl (used by STOCHASTIC only: round up when uniform53(seed, index) / 2^53 < frac).
    """
    if exact:
        return fl
    if mode == 0:
        if cmp_half < 0:
            return fl
        if cmp_half > 0:
            return fl + 1
        return fl if (fl & 1) == 0 else fl + 1
    if mode == 1:
        if cmp_half < 0:
            return fl
        if cmp_half > 0:
            return fl + 1
        return fl + 1 if fl >= 0 else fl
    if mode == 2:
        return fl if cmp_half < 0 else fl + 1
    if mode == 3:
        return fl if fl >= 0 else fl + 1
    if mode == 4:
        return fl
    if mode == 5:
        return fl + 1
    u = uniform53(seed, index) * _TWO_M53
    return fl + 1 if u < frac else fl


@njit(cache=True)
def round_real(v, mode, seed, index):
    """Round a finite float64 v to an integral float64 by ``mode`` (exact for every v)."""
    fl = math.floor(v)
    if fl == v or abs(v) >= 4503599627370496.0:
        return v
    frac = v - fl  # exact: v and fl share the exponent range
    if frac < 0.5:
        c = -1
    elif frac > 0.5:
        c = 1
    else:
        c = 0
    # fl fits int64 here because |v| < 2^52.
    return float(choose(np.int64(fl), c, False, frac, mode, seed, index))


@njit(cache=True)
def round_float_to_int(x, mode, seed, out):
    """out[i] = x[i] rounded to an integral value by ``mode`` (float64 out).

    NaN and ±inf are copied unchanged. STOCHASTIC uses element index i.
    """
    for i in range(x.size):
        v = x[i]
        if math.isfinite(v):
            out[i] = round_real(float(v), mode, seed, i)
        else:
            out[i] = v


@njit(cache=True)
def shift_right_round(x, shift, mode, seed, out):
    """out[i] = x[i] / 2^shift[i] rounded to an integer by ``mode`` (int64, exact).

    0 <= shift[i] <= 62. STOCHASTIC rounds up with probability rem / 2^shift, drawn
    from uniform53(seed, i) (exact to 2^-53).
    """
    for i in range(x.size):
        k = shift[i]
        v = x[i]
        if k == 0:
            out[i] = v
            continue
        fl = v >> k
        rem = v & ((np.int64(1) << k) - 1)
        half = np.int64(1) << (k - 1)
        c = -1 if rem < half else (1 if rem > half else 0)
        out[i] = choose(fl, c, rem == 0, rem / (np.int64(1) << k), mode, seed, i)


@njit(cache=True)
def divide_round(num, den, mode, seed, out):
    """out[i] = num[i] / den[i] rounded to an integer by ``mode`` (int64, exact).

    den[i] > 0 (the wrapper normalises signs). STOCHASTIC rounds up with probability
    rem / den.
    """
    for i in range(num.size):
        n = num[i]
        d = den[i]
        fl = n // d
        rem = n - fl * d
        other = d - rem
        c = -1 if rem < other else (1 if rem > other else 0)
        out[i] = choose(fl, c, rem == 0, rem / d, mode, seed, i)


@njit(cache=True)
def two_prod(a, b):
    """Dekker's exact product: (p, e) with p = fl(a*b) and p + e == a*b exactly
    (no overflow or underflow assumed)."""
    p = a * b
    split = 134217729.0  # 2^27 + 1
    t = split * a
    ahi = t - (t - a)
    alo = a - ahi
    t = split * b
    bhi = t - (t - b)
    blo = b - bhi
    e = ((ahi * bhi - p) + ahi * blo + alo * bhi) + alo * blo
    return p, e


@njit(cache=True)
def sign_x_minus_ts(x, t, s):
    """Exact sign of x - t*s when t*s is within a factor two of x or t*s is a float.

    p + e = t*s exactly (two_prod); x - p is exact by Sterbenz's lemma in that range, and
    a single rounded subtraction (x - p) - e has the sign of the exact difference
    (gradual underflow: fl(a - b) == 0 iff a == b).
    """
    p, e = two_prod(t, s)
    r = (x - p) - e
    if r > 0:
        return 1
    if r < 0:
        return -1
    return 0


@njit(cache=True)
def round_quotient(x, s, mode, seed, index):
    """Round the real quotient x / s (float64 x finite, s > 0 finite) to an integral
    float64 by ``mode``, deciding floor and ties on the exact quotient, not on fl(x / s).

    |x / s| >= 2^52 returns fl(x / s) (already integral; callers saturate such values).
    """
    q = x / s
    if abs(q) >= 4503599627370496.0 or not math.isfinite(q):
        return q
    fl = math.floor(q)
    # fl(x / s) may sit on the wrong side of an integer: correct floor exactly.
    if sign_x_minus_ts(x, fl, s) < 0:
        fl -= 1.0
    elif sign_x_minus_ts(x, fl + 1.0, s) >= 0:
        fl += 1.0
    exact = sign_x_minus_ts(x, fl, s) == 0
    c = sign_x_minus_ts(x, fl + 0.5, s)
    frac = q - fl
    if frac < 0.0:
        frac = 0.0
    return float(choose(np.int64(fl), c, exact, frac, mode, seed, index))


# ``compat`` codes of quotient_rounded; refquant.affine maps the public compat names and the
# PyTorch op rules onto them. inv = float32(1 / s) (the float32 quotient, correctly rounded:
# the float64 quotient rounded to float32, a double rounding that is innocuous for a
# division since 53 >= 2 * 24 + 2); zf = float32(z).
COMPAT_EXACT = 0          # round(x / s) + z on the real quotient
COMPAT_F32_DIV = 1        # round(float32(x / s)) + z                       (ONNX, TFLite)
COMPAT_TORCH = 2          # float32(round(float32(x * inv)) + zf)
COMPAT_TORCH_FMA = 3      # round(float32(x * inv + zf)), the exact sum rounded once
COMPAT_TORCH_ADD32 = 4    # round(float32(float32(x * inv) + zf))
COMPAT_TORCH_F64 = 5      # round(float64(x * inv)) + z
COMPAT_TORCH_F64_INV = 6  # round(float64(x * float64(1 / s))) + z

_F32_OVERFLOW = 2.0 ** 128 - 2.0 ** 103  # from here on, rounding to float32 gives inf


@njit(cache=True)
def to_f32(v):
    """float64 v rounded to float32 (half to even) and returned as float64; +-inf where the
    rounded value overflows float32, NaN stays NaN."""
    if abs(v) >= _F32_OVERFLOW:
        return math.copysign(math.inf, v)
    return float(np.float32(v))


@njit(cache=True)
def f32_sum(a, b):
    """float32(a + b) for float64 a, b (|a|, |b| < 2^1000): the exact sum rounded once to
    float32, half to even, as a fused multiply-add rounds x * inv + z when a = x * inv is
    the exact product of two float32 values (48 significant bits, exact in float64).

    s = fl64(a + b) and e = (a + b) - s exactly (Knuth's TwoSum). Every point where rounding
    to float32 changes its result (a midpoint between adjacent float32 values: 25
    significant bits; the overflow threshold 2^128 - 2^103) is a float64 number. Had one of
    them lain strictly between s and a + b, or equalled a + b != s, it would be nearer to
    a + b than s, and s would not be the float64 nearest a + b. So a + b rounds to float32
    as s does, except when s is itself a midpoint m: then a + b = m + e lies on e's side
    of m (e == 0: the tie, which float32(s) breaks to even). Detecting that case: with
    f = float32(s), d = s - f is exact (Sterbenz) and g = s + d is exact; g is a float32
    value (the other neighbour of m) exactly when s is a midpoint, since otherwise
    |g - f| = 2|s - f| is less than the float32 spacing on that side. A sum at the overflow
    threshold itself returns inf whatever e is (callers saturate either way).
    """
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    f = to_f32(s)
    if e == 0.0 or f == s or not math.isfinite(f):
        return f
    d = s - f
    g = s + d
    if to_f32(g) != g:
        return f
    if e > 0.0:
        return max(f, g)
    return min(f, g)


@njit(cache=True)
def quotient_rounded(xv, sv, z, compat, mode, seed, index):
    """The code before the overflow policy: x / s rounded by ``mode``, plus the zero point
    z, formed the way ``compat`` says (float64 in and out; a non-finite value is returned
    as is for the caller to saturate). With inv = float32(1 / s) and zf = float32(z):

    0 COMPAT_EXACT          round(x / s) + z, deciding on the exact real quotient.
    1 COMPAT_F32_DIV        round(float32(x / s)) + z (ONNX, TFLite).
    2 COMPAT_TORCH          float32(round(float32(x * inv)) + zf).
    3 COMPAT_TORCH_FMA      round(float32(x * inv + zf)), x * inv + zf rounded once (FMA).
    4 COMPAT_TORCH_ADD32    round(float32(float32(x * inv) + zf)).
    5 COMPAT_TORCH_F64      round(float64(x * inv)) + z.
    6 COMPAT_TORCH_F64_INV  round(float64(x * float64(1 / s))) + z.

    Codes 1 to 4 take float32 values x and s. Their float32 operations are exact
    emulations: x * inv is exact in float64 (two 24-bit significands) and rounds once to
    float32; a float32 sum or quotient formed in float64 and rounded to float32 equals the
    float32 operation (53 >= 2 * 24 + 2); code 3 rounds the exact sum with ``f32_sum``.
    """
    if compat == 0:
        return round_quotient(xv, sv, mode, seed, index) + z
    if compat == 1:
        q = float(np.float32(xv / sv))  # float64 quotient of float32s rounds like float32 division
        if not math.isfinite(q):
            return q
        return round_real(q, mode, seed, index) + z
    if compat == 6:
        q = xv * (1.0 / sv)
        if not math.isfinite(q):
            return q
        return round_real(q, mode, seed, index) + z
    inv = to_f32(1.0 / sv)
    if compat == 5:
        q = xv * inv
        if not math.isfinite(q):
            return q
        return round_real(q, mode, seed, index) + z
    zf = to_f32(float(z))
    if compat == 3:
        q = f32_sum(xv * inv, zf)
    else:
        q = to_f32(xv * inv)
        if compat == 4 and math.isfinite(q):
            q = to_f32(q + zf)
    if not math.isfinite(q):
        return q
    r = round_real(q, mode, seed, index)
    if compat == 2:
        return to_f32(r + zf)
    return r


@njit(cache=True)
def wrap_integral(t, z, lo, modulus):
    """(t + z - lo) mod modulus + lo, exactly, for a finite integral float64 t of any
    magnitude and int64 z, lo, 1 <= modulus <= 2^40: the integer t + z wrapped into
    [lo, lo + modulus - 1] (two's complement wrapping for modulus 2^bits, lo = -2^(bits-1)).

    fmod(t, modulus) is exact (C's fmod, like IEEE 754 remainder, is exact), |a| < modulus,
    and the remaining sum is of int64 values far from overflow.
    """
    m = np.int64(modulus)
    a = np.int64(np.fmod(t, float(m)))
    k = (a % m + (np.int64(z) - np.int64(lo)) % m) % m
    return k + np.int64(lo)


@njit(cache=True)
def quantize_affine(x, scale, zero, block, lo, hi, mode, seed, compat, overflow,
                    nonfinite, out):
    """Affine quantization of x viewed as (P, D, Q) with scales per block of D.

    scale, zero: arrays of shape (Ps, ceil(D / block), Qs) with Ps in {1, P}, Qs in {1, Q}.
    out[p, d, q] = OV(round(x / s) + z) where s, z = scale/zero[p', d // block, q'],
    ``round(x / s) + z`` is ``quotient_rounded`` (compat, mode; STOCHASTIC uses the flat
    index) and
    OV applies the overflow policy to [lo, hi]: 0 clamp, 1 wrap modulo hi - lo + 1 into
    [lo, hi] (2^bits for full-range formats), 2 stop. Non-finite x: nonfinite 0 stops; 1 maps NaN to z and ±inf to hi/lo.
    Wrapping is exact at any magnitude (``wrap_integral``): for the compat codes that add
    z after rounding (0, 1, 5, 6) it reduces round(x / s) and z separately; for the others
    it reduces the integral value the code forms. A rounded quotient that is not finite
    (x / s beyond float64, or beyond float32 for the float32 rules) has no integer to wrap:
    the kernel stops there. For compat 0 the rounded quotient of |x / s| >= 2^52 is
    fl(x / s) (see ``round_quotient``), exact only where x / s is a float64 value; callers
    that need every magnitude exactly compute those elements apart.
    Returns -1, or the flat index of the element that stopped the kernel (out is then
    only partly written).
    """
    P, D, Q = x.shape
    Ps = scale.shape[0]
    Qs = scale.shape[2]
    ilo = np.int64(lo)
    imod = np.int64(hi - lo + 1.0)  # 2^bits for full-range formats; narrow ranges wrap within [lo, hi]
    for p in range(P):
        ps = p if Ps > 1 else 0
        for d in range(D):
            b = d // block
            for q in range(Q):
                qs = q if Qs > 1 else 0
                sv = scale[ps, b, qs]
                z = zero[ps, b, qs]
                xv = float(x[p, d, q])
                flat = (p * D + d) * Q + q
                if not math.isfinite(xv):
                    if nonfinite == 0:
                        return flat
                    if math.isnan(xv):
                        out[p, d, q] = z
                    elif xv > 0:
                        out[p, d, q] = hi
                    else:
                        out[p, d, q] = lo
                    continue
                if overflow == 1:
                    additive = compat == 0 or compat == 1 or compat == 5 or compat == 6
                    zz = z if not additive else 0
                    t = quotient_rounded(xv, sv, zz, compat, mode, seed, flat)
                    if not math.isfinite(t):
                        return flat
                    out[p, d, q] = wrap_integral(t, z - zz, ilo, imod)
                    continue
                r = quotient_rounded(xv, sv, z, compat, mode, seed, flat)
                if r < lo or r > hi:
                    if overflow == 0 or not math.isfinite(r):
                        if overflow == 2:
                            return flat
                        out[p, d, q] = lo if r < lo else hi
                    else:
                        return flat
                else:
                    out[p, d, q] = np.int64(r)
    return -1


@njit(cache=True)
def dequantize_affine(codes, scale, zero, block, out):
    """out[p, d, q] = (codes[p, d, q] - z) * s with s, z indexed as in quantize_affine.

    The product is formed in float64 and rounded once to out's dtype, so a float64 out
    is exact whenever |codes - z| < 2^29 and s is a float32 value, and a float32 out is
    the correctly rounded float32 product (ONNX DequantizeLinear).
    """
    P, D, Q = codes.shape
    Ps = scale.shape[0]
    Qs = scale.shape[2]
    for p in range(P):
        ps = p if Ps > 1 else 0
        for d in range(D):
            b = d // block
            for q in range(Q):
                qs = q if Qs > 1 else 0
                out[p, d, q] = (float(codes[p, d, q]) - float(zero[ps, b, qs])) * scale[ps, b, qs]

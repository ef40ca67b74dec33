"""Posit and tapered fixed-point kernels: decode, correctly rounded encode, arithmetic,
conversions and the quire, all on integer codes with exact int64 arithmetic."""

import math

import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros as _lz_intrinsic
from numba.extending import overload

from . import njit
from .rounding import choose

_M32 = np.int64(0xFFFFFFFF)

# Semantics shared by every kernel below.
#
# One parameterisation covers both families: a word of ``n`` bits (2..32), ``es`` exponent
# bits (0..4) and a regime whose run of identical bits is at most ``rs`` long (1..n-1).
# Posits (Posit Standard 2022, and the legacy es of SoftPosit) are ``rs = n - 1``: the run
# can only be ended by the end of the word. Tapered fixed point (TENT) is ``es = 0`` and a
# smaller ``rs``: a run that reaches ``rs`` bits has no terminating bit.
#
# Layout of a code c (unsigned n-bit pattern): 0 is zero, 10...0 is NaR; a negative value
# is the two's complement of the pattern of its magnitude. The magnitude pattern ("body",
# n - 1 bits after the sign bit) is: a run of m identical bits (m <= rs), the opposite bit
# when m < rs, es exponent bits (bits cut off by the end of the word count as 0), and the
# remaining f fraction bits F. Regime k = m - 1 for a run of ones, -m for a run of zeros.
# value = (1 + F / 2^f) * 2^(k * 2^es + exponent).
#
# Rounding (Posit Standard 2022, section 4 "rounding"): the exact magnitude is written as
# the unbounded bit string regime | exponent | fraction and rounded to n - 1 bits; nearest
# ties go to the even pattern, so the tie point between neighbours u < w is the (n+1)-bit
# pattern u followed by a 1. A magnitude beyond the largest pattern gives the largest
# (saturation, never NaR); a nonzero magnitude below the smallest pattern gives the
# smallest (never zero). Directed modes round the bit string the same way (toward 0, away,
# toward -inf / +inf on the signed value) and are then clamped into [minpos, maxpos].
#
# Rounding modes are the integer values of ``refquant.Rounding`` (0 NEAREST_EVEN,
# 1 NEAREST_AWAY, 2 NEAREST_UP, 3 TOWARD_ZERO, 4 DOWN, 5 UP, 6 STOCHASTIC); the default
# nearest-even is computed inline without data-dependent branches, the other modes are
# decided by ``rounding.choose`` on the signed position between the two neighbouring codes
# (STOCHASTIC: rounds away from the lower neighbour with probability equal to the
# discarded fraction in float64; in arithmetic, bits below the 56 kept ones count as half a
# unit of the last kept one).
#
# Exactness: significands of n <= 32 bit posits have at most 30 bits, so products need at
# most 60 bits and fit int64; sums align the larger operand at bit 61 and fold bits shifted
# out of the smaller one into a sticky bit (exact for rounding: when bits are lost the
# result keeps at least 60 bits); quotients are formed from a 62-bit dividend (>= 32
# quotient bits and an exact remainder); square roots take the integer square root of a
# 62-bit radicand. The quire holds 32-bit digits in int64 limbs with lazy carries
# (see the notes at the quire kernels).


__all__ = [
    "leading_zeros",
    "hibit",
    "unpack",
    "pack",
    "decode",
    "decode_table",
    "encode",
    "convert",
    "add_core",
    "add",
    "sub",
    "mul",
    "div",
    "isqrt",
    "sqrt",
    "fma",
    "to_int",
    "from_int",
    "posit_fields",
    "quire_carry",
    "quire_round",
    "quire_dot",
    "quire_matmul",
]


def leading_zeros(x):
    """Number of leading zero bits of x as a 64-bit word (64 for 0, 0 for a negative x).
    Compiled code uses LLVM's count of leading zeros (see _leading_zeros_impl); this body
    is the pure-Python path (NUMBA_DISABLE_JIT=1) with the same result."""
    return np.int64(64 - (int(x) & 0xFFFFFFFFFFFFFFFF).bit_length())


@overload(leading_zeros)
def _leading_zeros_impl(x):
    return lambda x: _lz_intrinsic(np.int64(x))


@njit(cache=True)
def hibit(x):
    """Index of the highest set bit of 0 < x < 2^63 (0 for x = 0): LLVM's count of
    leading zeros."""
    return 63 - leading_zeros(np.int64(x) | 1)


@njit(cache=True)
def unpack(c, n, es, rs):
    """Split a code into (kind, neg, E, sig, f): kind 0 zero, 1 NaR, 2 finite nonzero;
    for kind 2 the magnitude is sig * 2^(E - f) with 2^f <= sig < 2^(f + 1)."""
    mask = (np.int64(1) << n) - 1
    sbit = np.int64(1) << (n - 1)
    c = np.int64(c) & mask
    # Branch-free (so that loops over codes vectorise); zero and NaR are selected at the end.
    negm = -((c >> (n - 1)) & 1)               # all ones for a negative code
    body = ((c ^ negm) - negm) & mask          # two's complement magnitude pattern
    first = (body >> (n - 2)) & 1
    x = (body ^ ((-first) & (sbit - 1))) | 1  # the run is the leading zeros of x
    m = n - 2 - hibit(x)
    full = np.int64(x == 1) & np.int64(((body & 1) ^ first) == 0)
    m = m + full                               # the run fills the word: m = n - 1
    bounded = np.int64(m >= rs)
    m = min(m, rs)
    r = n - 2 - m + bounded                    # bits after the run (and its terminator)
    k = first * (2 * m - 1) - m                # m - 1 for a run of ones, -m for zeros
    rest = body & ((np.int64(1) << r) - 1)
    expo = (rest << es) >> r                   # bits beyond the word count as zero
    f = max(r - es, 0)
    frac = body & ((np.int64(1) << f) - 1)
    E = k * (1 << es) + expo
    kind = 2 - 2 * np.int64(c == 0) - np.int64(c == sbit)
    return kind, negm != 0, E, (np.int64(1) << f) | frac, f


@njit(cache=True)
def _apply_sign(body, neg, n):
    """The n-bit code of magnitude pattern ``body`` with sign ``neg`` (branch-free)."""
    negm = -np.int64(neg)
    return ((body ^ negm) - negm) & ((np.int64(1) << n) - 1)


@njit(cache=True)
def pack(neg, E, sig, t, sticky, n, es, rs, mode, seed, index):
    """Code of the exact value (-1)^neg * (sig + s) * 2^(E - t), rounded by ``mode``.

    2^t <= sig < 2^(t + 1) (t <= 62), s in [0, 1) is nonzero exactly when ``sticky``.
    Result clamped into [minpos, maxpos] in magnitude (never zero, never NaR).
    """
    if t > 56:
        d = t - 56
        if (sig & ((np.int64(1) << d) - 1)) != 0:
            sticky = True
        sig = sig >> d
        t = 56
    maxbody = (np.int64(1) << (n - 1)) - 1
    k = np.int64(E) >> es                      # floor(E / 2^es)
    expo = np.int64(E) - (k << es)
    if k > rs - 1:
        body = maxbody
    elif k < -rs:
        body = np.int64(1)
    else:
        pos = np.int64(k >= 0)
        m = (k ^ (k >> 63)) + 1                 # k + 1 for k >= 0, -k for k < 0
        if m < rs:
            L = m + 1
            regime = ((((np.int64(1) << m) - 1) << 1) & (-pos)) | (1 - pos)
        else:
            L = rs
            regime = ((np.int64(1) << rs) - 1) & (-pos)
        avail = n - 1 - L
        tail = (expo << t) | (sig - (np.int64(1) << t))
        shift = es + t - avail
        if shift <= 0:
            fl = (regime << avail) | (tail << (-shift))
            rem = np.int64(0)
            half = np.int64(1)
            shift = 1
        else:
            fl = (regime << avail) | (tail >> shift)
            rem = tail & ((np.int64(1) << shift) - 1)
            half = np.int64(1) << (shift - 1)
        if mode == 0:
            # nearest, ties to the even pattern, without data-dependent branches
            up = np.int64(rem > half) | (np.int64(rem == half) & (np.int64(sticky) | (fl & 1)))
            body = fl + up
            return _apply_sign(min(max(body, np.int64(1)), maxbody), neg, n)
        cmp = 1 if (rem > half or (rem == half and sticky)) else (0 if rem == half else -1)
        exact = rem == 0 and not sticky
        frac = 0.0
        if mode == 6:
            frac = (rem + (0.5 if sticky else 0.0)) / float(np.int64(1) << shift)
        if neg:
            # Round the signed value -(fl + frac): floor is -(fl + 1).
            if exact:
                body = fl
            else:
                body = -choose(-(fl + 1), -cmp, False, 1.0 - frac, mode, seed, index)
        else:
            body = choose(fl, cmp, exact, frac, mode, seed, index)
        body = min(max(body, np.int64(1)), maxbody)
    return _apply_sign(body, neg, n)


@njit(cache=True)
def decode(codes, n, es, rs, out):
    """out[i] = bits of the float64 value of codes[i] (out is an int64 view of a float64
    array; exact for every code since |exponent| <= 480 and <= 29 fraction bits);
    NaR -> the quiet NaN 0x7FF8000000000000."""
    nan_bits = np.int64(0x7FF8000000000000)
    for i in range(codes.size):
        kind, neg, E, sig, f = unpack(codes[i], n, es, rs)
        if kind == 0:
            out[i] = 0
        elif kind == 1:
            out[i] = nan_bits
        else:
            b = (np.int64(E + 1023) << 52) | ((sig - (np.int64(1) << f)) << (52 - f))
            out[i] = b | (np.int64(neg) << 63)


@njit(cache=True)
def decode_table(codes, table, out):
    """out[i] = table[codes[i]] (decode of formats up to 16 bits by lookup)."""
    for i in range(codes.size):
        out[i] = table[codes[i]]


_ENC_CHUNK = 4096


@njit(cache=True)
def _encode_one(b, n, es, rs, scale_exp, mode, seed, index):
    """Code of the float64 with bits b, times 2^-scale_exp, rounded by ``mode`` (any
    input: ±0 -> 0, NaN and ±inf -> NaR, subnormals exact)."""
    mmask = (np.int64(1) << 52) - 1
    neg = b < 0
    ef = (b >> 52) & 0x7FF
    mant = b & mmask
    if ef == 0x7FF:
        return np.int64(1) << (n - 1)
    if ef == 0:
        if mant == 0:
            return np.int64(0)
        t = hibit(mant)
        return pack(neg, t - 1074 - scale_exp, mant, t, False, n, es, rs, mode, seed, index)
    return pack(neg, ef - 1023 - scale_exp, mant | (mmask + 1), 52, False,
                n, es, rs, mode, seed, index)


@njit(cache=True)
def _encode_nearest(b, n, es, rs, scale_exp):
    """``_encode_one`` in mode NEAREST_EVEN for a normal float64 (bits b), without
    data-dependent branches so that loops over it vectorise: ``pack`` specialised to a
    52-bit fraction and no sticky bit (the discarded part is then always >= 22 bits, so
    the shift below is never <= 0). Meaningless for zero, subnormal, inf and NaN bits."""
    maxbody = (np.int64(1) << (n - 1)) - 1
    E = ((b >> 52) & 0x7FF) - 1023 - scale_exp
    k = E >> es
    expo = E - (k << es)
    kc = min(max(k, np.int64(-rs)), np.int64(rs - 1))  # saturated k: selected away below
    pos = np.int64(kc >= 0)
    m = (kc ^ (kc >> 63)) + 1                   # run length, 1..rs
    term = np.int64(m < rs)                     # 1 when a terminating bit follows
    regime = ((((np.int64(1) << m) - 1) << term) & (-pos)) | (term & (pos - 1))
    avail = n - 1 - m - term
    shift = es + 52 - avail
    tail = (expo << 52) | (b & ((np.int64(1) << 52) - 1))
    fl = (regime << avail) | (tail >> shift)
    rem = tail & ((np.int64(1) << shift) - 1)
    half = np.int64(1) << (shift - 1)
    up = np.int64(rem > half) | (np.int64(rem == half) & (fl & 1))
    body = min(max(fl + up, np.int64(1)), maxbody)
    body = maxbody if k > rs - 1 else body
    body = np.int64(1) if k < -rs else body
    return _apply_sign(body, b < 0, n)


@njit(cache=True)
def encode(xbits, n, es, rs, scale_exp, mode, seed, out):
    """out[i] = code of x[i] * 2^-scale_exp rounded by ``mode`` (exact real value), where
    xbits is the int64 view of a float64 array x (subnormals included).

    ±0 -> 0; NaN and ±inf -> NaR (10...0). STOCHASTIC uses index i.
    NEAREST_EVEN runs ``encode_nearest`` (a vectorised pass) and then, only when there
    are subnormal inputs, recomputes those with ``_encode_one``.
    """
    size = xbits.size
    if mode != 0:
        for i in range(size):
            out[i] = _encode_one(xbits[i], n, es, rs, scale_exp, mode, seed, i)
        return
    if encode_nearest(xbits, n, es, rs, scale_exp, out):
        mmask = (np.int64(1) << 52) - 1
        for i in range(size):
            b = xbits[i]
            if (b >> 52) & 0x7FF == 0 and b & mmask != 0:
                out[i] = _encode_one(b, n, es, rs, scale_exp, 0, seed, i)


@njit(cache=True)
def encode_nearest(xbits, n, es, rs, scale_exp, out):
    """``encode`` in mode NEAREST_EVEN for every input but the subnormal ones (±0 -> 0,
    NaN and ±inf -> NaR written directly): returns the number of subnormal inputs, whose
    out is left meaningless (``encode`` gives them). Compiles without ``pack``."""
    size = xbits.size
    nar = np.int64(1) << (n - 1)
    mmask = (np.int64(1) << 52) - 1
    cnt = 0
    for s in range(0, size, _ENC_CHUNK):
        e = min(s + _ENC_CHUNK, size)
        xc = xbits[s:e]
        oc = out[s:e]
        special = np.int64(0)
        for j in range(xc.size):
            b = xc[j]
            oc[j] = _encode_nearest(b, n, es, rs, scale_exp)
            special += np.int64((((b >> 52) + 1) & 0x7FF) <= 1)  # exponent field 0 or 0x7FF
        if special != 0:
            for j in range(xc.size):
                b = xc[j]
                ef = (b >> 52) & 0x7FF
                if ef == 0x7FF:
                    oc[j] = nar
                elif ef == 0:
                    if b & mmask == 0:
                        oc[j] = 0
                    else:
                        cnt += 1
    return cnt


@njit(cache=True)
def convert(codes, n1, es1, rs1, n2, es2, rs2, mode, seed, out):
    """out[i] = codes[i] of format (n1, es1, rs1) rounded to format (n2, es2, rs2).
    Zero -> zero, NaR -> NaR."""
    nar = np.int64(1) << (n2 - 1)
    for i in range(codes.size):
        kind, neg, E, sig, f = unpack(codes[i], n1, es1, rs1)
        if kind == 0:
            out[i] = 0
        elif kind == 1:
            out[i] = nar
        else:
            out[i] = pack(neg, E, sig, f, False, n2, es2, rs2, mode, seed, i)


@njit(cache=True)
def add_core(na, Ea, sa, ta, nb, Eb, sb, tb, n, es, rs, mode, seed, index):
    """Code of (-1)^na sa 2^(Ea - ta) + (-1)^nb sb 2^(Eb - tb), rounded once.

    sa, sb > 0 with top bits at ta, tb <= 60. Exact (see module docstring)."""
    if Ea < Eb or (Ea == Eb and (sa << (61 - ta)) < (sb << (61 - tb))):
        na, Ea, sa, ta, nb, Eb, sb, tb = nb, Eb, sb, tb, na, Ea, sa, ta
    A = sa << (61 - ta)
    B = sb << (61 - tb)
    d = Ea - Eb
    sticky = False
    if d > 62:
        B = np.int64(0)
        sticky = True
    elif d > 0:
        if (B & ((np.int64(1) << d) - 1)) != 0:
            sticky = True
        B = B >> d
    if na == nb:
        S = A + B
    else:
        S = A - B
        if sticky:
            S -= 1
        if S == 0:
            return np.int64(0)
    t = hibit(S)
    return pack(na, Ea - 61 + t, S, t, sticky, n, es, rs, mode, seed, index)


_ADD, _SUB, _MUL, _DIV = 0, 1, 2, 3


@njit(cache=True)
def _product(na, Ea, sa, fa, nb, Eb, sb, fb):
    """(neg, E, p, t): the exact product of two unpacked operands as (-1)^neg p 2^(E - t),
    2^t <= p < 2^(t + 1) (t <= 60, see the module docstring)."""
    p = sa * sb
    t = hibit(p)
    return na != nb, Ea + Eb - fa - fb + t, p, t


@njit(cache=True)
def _binary(a, b, op, n, es, rs, mode, seed, out):
    """The loop shared by add, sub, mul and div (op: _ADD, _SUB, _MUL, _DIV); NaR in
    either operand gives NaR. sub adds the negated code: two's complement negation is
    exact for every code (-0 = 0, -NaR = NaR)."""
    nar = np.int64(1) << (n - 1)
    mask = (np.int64(1) << n) - 1
    for i in range(a.size):
        ai = np.int64(a[i])
        bi = np.int64(b[i])
        if op == _SUB:
            bi = (-bi) & mask
        ka, na, Ea, sa, fa = unpack(ai, n, es, rs)
        kb, nb, Eb, sb, fb = unpack(bi, n, es, rs)
        if ka == 1 or kb == 1:
            out[i] = nar
        elif op == _MUL:
            if ka == 0 or kb == 0:
                out[i] = 0
            else:
                neg, E, p, t = _product(na, Ea, sa, fa, nb, Eb, sb, fb)
                out[i] = pack(neg, E, p, t, False, n, es, rs, mode, seed, i)
        elif op == _DIV:
            if kb == 0:
                out[i] = nar
            elif ka == 0:
                out[i] = 0
            else:
                s = 61 - fa
                num = sa << s
                q = num // sb
                t = hibit(q)
                out[i] = pack(na != nb, Ea - fa - s - Eb + fb + t, q, t, num != q * sb,
                              n, es, rs, mode, seed, i)
        elif ka == 0:
            out[i] = bi
        elif kb == 0:
            out[i] = ai
        else:
            out[i] = add_core(na, Ea, sa, fa, nb, Eb, sb, fb, n, es, rs, mode, seed, i)


@njit(cache=True)
def add(a, b, n, es, rs, mode, seed, out):
    """out[i] = round(a[i] + b[i]); NaR if either is NaR; x + (-x) = 0."""
    _binary(a, b, _ADD, n, es, rs, mode, seed, out)


@njit(cache=True)
def sub(a, b, n, es, rs, mode, seed, out):
    """out[i] = round(a[i] - b[i]); NaR if either is NaR; x - x = 0."""
    _binary(a, b, _SUB, n, es, rs, mode, seed, out)


@njit(cache=True)
def mul(a, b, n, es, rs, mode, seed, out):
    """out[i] = round(a[i] * b[i]); NaR if either is NaR; 0 * finite = 0."""
    _binary(a, b, _MUL, n, es, rs, mode, seed, out)


@njit(cache=True)
def div(a, b, n, es, rs, mode, seed, out):
    """out[i] = round(a[i] / b[i]); NaR if either is NaR or b[i] is 0; 0 / x = 0."""
    _binary(a, b, _DIV, n, es, rs, mode, seed, out)


@njit(cache=True)
def isqrt(m):
    """floor(sqrt(m)) for 0 <= m < 2^62, exact."""
    r = np.int64(math.sqrt(float(m)))
    while r * r > m:
        r -= 1
    while (r + 1) * (r + 1) <= m:
        r += 1
    return r


@njit(cache=True)
def sqrt(a, n, es, rs, mode, seed, out):
    """out[i] = round(sqrt(a[i])); NaR for NaR and negative inputs; sqrt(0) = 0."""
    nar = np.int64(1) << (n - 1)
    for i in range(a.size):
        ka, na, Ea, sa, fa = unpack(a[i], n, es, rs)
        if ka == 1 or (ka == 2 and na):
            out[i] = nar
        elif ka == 0:
            out[i] = 0
        else:
            e = Ea - fa
            s = 61 - fa
            if ((e - s) & 1) != 0:
                s -= 1
            m = sa << s
            r = isqrt(m)
            t = hibit(r)
            out[i] = pack(False, (e - s) // 2 + t, r, t, r * r != m, n, es, rs, mode, seed, i)


@njit(cache=True)
def fma(a, b, c, n, es, rs, mode, seed, out):
    """out[i] = round(a[i] * b[i] + c[i]) with one rounding; NaR if any input is NaR."""
    nar = np.int64(1) << (n - 1)
    for i in range(a.size):
        ka, na, Ea, sa, fa = unpack(a[i], n, es, rs)
        kb, nb, Eb, sb, fb = unpack(b[i], n, es, rs)
        kc, nc, Ec, sc, fc = unpack(c[i], n, es, rs)
        if ka == 1 or kb == 1 or kc == 1:
            out[i] = nar
        elif ka == 0 or kb == 0:
            out[i] = np.int64(c[i])
        else:
            neg, Ep, p, t = _product(na, Ea, sa, fa, nb, Eb, sb, fb)
            if kc == 0:
                out[i] = pack(neg, Ep, p, t, False, n, es, rs, mode, seed, i)
            else:
                out[i] = add_core(neg, Ep, p, t, nc, Ec, sc, fc, n, es, rs, mode, seed, i)


@njit(cache=True)
def to_int(a, n, es, rs, mode, seed, out):
    """out[i] = a[i] rounded to an int64 by ``mode``; NaR -> -2^63; magnitudes beyond
    2^63 - 1 saturate to ±(2^63 - 1)."""
    imin = np.int64(-9223372036854775807) - 1
    imax = np.int64(9223372036854775807)
    for i in range(a.size):
        ka, na, Ea, sa, fa = unpack(a[i], n, es, rs)
        if ka == 1:
            out[i] = imin
            continue
        if ka == 0:
            out[i] = 0
            continue
        sh = fa - Ea  # value = sa / 2^sh
        if sh <= 0:
            if Ea >= 63:
                out[i] = -imax if na else imax
            else:
                v = sa << (-sh)
                out[i] = -v if na else v
            continue
        if sh > 62:
            fl = np.int64(0)
            cmp = -1
            frac = 0.0
        else:
            fl = sa >> sh
            rem = sa & ((np.int64(1) << sh) - 1)
            half = np.int64(1) << (sh - 1)
            cmp = 1 if rem > half else (0 if rem == half else -1)
            if rem == 0:
                out[i] = -fl if na else fl
                continue
            frac = rem / float(np.int64(1) << sh)
        if na:
            out[i] = choose(-(fl + 1), -cmp, False, 1.0 - frac, mode, seed, i)
        else:
            out[i] = choose(fl, cmp, False, frac, mode, seed, i)


@njit(cache=True)
def from_int(x, n, es, rs, mode, seed, out):
    """out[i] = code of the int64 x[i] rounded by ``mode`` (exact integer value)."""
    for i in range(x.size):
        v = np.int64(x[i])
        if v == 0:
            out[i] = 0
            continue
        neg = v < 0
        if v == np.int64(-9223372036854775807) - 1:
            out[i] = pack(True, 63, np.int64(1), 0, False, n, es, rs, mode, seed, i)
            continue
        m = -v if neg else v
        t = hibit(m)
        out[i] = pack(neg, t, m, t, False, n, es, rs, mode, seed, i)


# ----------------------------------------------------------------------------- quire
#
# The quire is a sum of 32-bit digits held in int64 limbs: limb i is worth 2^(32 i + base).
# Its digits carry lazily; a carry pass (``quire_carry``) brings limbs 0..nl-2 back into
# [0, 2^32) and moves the signed rest into the top limb, without changing the value.
#
# Dot products run in chunks of _CHUNK terms. A first, branch-free (vectorised) pass decodes
# both operands of each term into a fixed-width significand (2^F <= sig < 2^(F+1), F the
# largest fraction width of the format) and the exponent of its lowest bit, and stores the
# signed exact product p (|p| < 2^(2F+2) <= 2^60) and its position l in the working quire,
# whose lowest bit is worth 2^(qlow - 64): the two extra low limbs hold the product bits
# below minpos^2 that fixed-width significands can carry (2F <= 58 < 64; those bits are
# zero in every product, so the extended quire normalises to zeros there). A second pass
# adds the chunk's products, each as three 32-bit digits x0 + x1 2^32 + x2 2^64 of
# p * 2^(l mod 32) placed at limb floor(l / 32) (x0, x1 in [0, 2^32), x2 signed): when the
# chunk's products span at most _SPAN_VEC + 1 limbs the digits are summed per limb with
# vectorised masked reductions, otherwise they are scattered term by term. Either way a
# limb gains less than _CHUNK * 2^33 per chunk, and a carry pass follows every chunk, so
# no limb overflows for any length below 2^31 (the quire's own carry guard).

_CHUNK = 1024
_SPAN_VEC = 3


@njit(cache=True)
def posit_fields(c, n, es, F):
    """(body, negm, sig, lsb) of the posit<n, es> code c: body is the magnitude pattern
    (0 for zero, 2^(n-1) for NaR), negm = -1 for a negative code else 0, and for a finite
    nonzero code its magnitude is sig * 2^lsb with 2^F <= sig < 2^(F + 1), where
    F = max(n - 3 - es, 0) (fraction bits beyond the code's own are zeros).
    Branch-free; meaningless sig / lsb for zero and NaR."""
    mask = (np.int64(1) << n) - 1
    m63 = np.int64(0x7FFFFFFFFFFFFFFF)
    c = np.int64(c) & mask
    negm = -((c >> (n - 1)) & 1)
    body = ((c ^ negm) - negm) & mask
    u = body << (64 - n)                 # body left-aligned below bit 63
    first = u >> 62
    y = u ^ ((-first) & m63)             # the regime run becomes leading zeros
    m = min(leading_zeros(y) - 1, n - 1)  # run length
    k = first * (2 * m - 1) - m
    v = u << (m + 2)                     # exponent and fraction bits from bit 63 down
    expo = ((v >> 1) & m63) >> (63 - es)
    w = v << es
    sig = (np.int64(1) << F) | (((w >> 1) & m63) >> (63 - F))
    return body, negm, sig, (k << es) + expo - F


@njit(cache=True)
def _dot_terms(a, b, n, es, F, base, tp, tl):
    """tp[j], tl[j] = signed product a[j] b[j] and the position of its lowest bit above
    2^base (0 and 0 for a term with a zero operand). Returns (has_nar, lowest, highest
    position among nonzero terms) (lowest > highest when there are none)."""
    sbit = np.int64(1) << (n - 1)
    bad = np.int64(0)
    lo = np.int64(1) << 40
    hi = np.int64(-1)
    for j in range(a.size):
        ba, nga, sa, la = posit_fields(a[j], n, es, F)
        bb, ngb, sb, lb = posit_fields(b[j], n, es, F)
        bad |= np.int64(ba == sbit) | np.int64(bb == sbit)
        live = -(np.int64(ba != 0) & np.int64(bb != 0))
        sg = nga ^ ngb
        p = sa * sb
        tp[j] = ((p ^ sg) - sg) & live
        l = (la + lb - base) & live
        tl[j] = l
        lo = min(lo, l | (~live & (np.int64(1) << 40)))
        hi = max(hi, l | ~live)
    return bad, lo, hi


@njit(cache=True)
def _term_digits(p, l):
    """Digits (x0, x1, x2) with p * 2^(l mod 32) = x0 + x1 2^32 + x2 2^64, x0, x1 in
    [0, 2^32) (p signed, |p| < 2^61)."""
    off = l & 31
    sh = 32 - off
    x0 = (p & ((np.int64(1) << sh) - 1)) << off
    t = p >> sh
    return x0, t & _M32, t >> 32


@njit(cache=True)
def quire_carry(q):
    """Normalise lazy carries in place: limbs 0..nl-2 into [0, 2^32), the signed rest in
    the top limb (value unchanged)."""
    for i in range(q.size - 1):
        v = q[i]
        q[i] = v & _M32
        q[i + 1] += v >> 32


@njit(cache=True)
def _accumulate(q, tp, tl, cnt, lo, hi):
    """q += sum_j tp[j] * 2^tl[j] for j < cnt (q in 32-bit digits, lazy carries), then a
    carry pass. lo, hi: the lowest and highest tl of the nonzero terms."""
    if lo > hi:
        return
    B = lo >> 5
    R = (hi >> 5) - B
    if R <= _SPAN_VEC:
        for r in range(R + 1):
            s0 = np.int64(0)
            s1 = np.int64(0)
            s2 = np.int64(0)
            for j in range(cnt):
                l = tl[j]
                x0, x1, x2 = _term_digits(tp[j], l)
                sel = -np.int64((l >> 5) - B == r)
                s0 += x0 & sel
                s1 += x1 & sel
                s2 += x2 & sel
            q[B + r] += s0
            q[B + r + 1] += s1
            q[B + r + 2] += s2
    else:
        for j in range(cnt):
            l = tl[j]
            x0, x1, x2 = _term_digits(tp[j], l)
            li = l >> 5
            q[li] += x0
            q[li + 1] += x1
            q[li + 2] += x2
    quire_carry(q)


@njit(cache=True)
def _dot_into(a, b, n, es, qlow, w, tp, tl):
    """w += sum_i a[i] b[i] exactly, w an extended quire (nl + 2 limbs, lowest bit worth
    2^(qlow - 64)). Returns True (leaving w partial) if an element is NaR."""
    F = max(n - 3 - es, 0)
    base = qlow - 64
    for s in range(0, a.size, _CHUNK):
        e = min(s + _CHUNK, a.size)
        bad, lo, hi = _dot_terms(a[s:e], b[s:e], n, es, F, base, tp, tl)
        if bad != 0:
            return True
        _accumulate(w, tp, tl, e - s, lo, hi)
    return False


@njit(cache=True)
def quire_round(q, qlow, n, es, rs, mode, seed, index):
    """Code of the quire value sum(q[i] 2^(32 i)) * 2^qlow, rounded once.

    q holds digits with lazy carries; it is normalised (and, for a negative total,
    negated) in place."""
    nl = q.size
    carry = np.int64(0)
    for i in range(nl):
        v = q[i] + carry
        q[i] = v & _M32
        carry = v >> 32
    neg = carry < 0
    if neg:
        c = np.int64(1)
        for i in range(nl):
            v = ((~q[i]) & _M32) + c
            q[i] = v & _M32
            c = v >> 32
    j = nl - 1
    while j >= 0 and q[j] == 0:
        j -= 1
    if j < 0:
        return np.int64(0)
    T = 32 * j + hibit(q[j])
    lo = T - 61
    if lo < 0:
        lo = 0
    sig = np.int64(0)
    for i in range(lo >> 5, j + 1):
        s = 32 * i - lo
        if s >= 0:
            sig |= q[i] << s
        else:
            sig |= q[i] >> (-s)
    sticky = (q[lo >> 5] & ((np.int64(1) << (lo & 31)) - 1)) != 0
    for i in range(lo >> 5):
        if q[i] != 0:
            sticky = True
    return pack(neg, T + qlow, sig, T - lo, sticky, n, es, rs, mode, seed, index)


@njit(cache=True)
def _finish(w, q, qlow, n, es, mode, seed, index):
    """Move the extended quire w into q (its two low limbs are zero after a carry pass:
    every product is a multiple of 2^qlow) and round it."""
    quire_carry(w)
    for i in range(q.size):
        q[i] = w[i + 2]
    return quire_round(q, qlow, n, es, n - 1, mode, seed, index)


@njit(cache=True)
def quire_dot(a, b, n, es, qlow, q, mode, seed):
    """Code of sum_i a[i] * b[i] accumulated exactly in the quire q (zeroed int64 digits,
    lowest bit worth 2^qlow, qlow <= the exponent of minpos^2; q ends normalised) and
    rounded once by ``mode`` (STOCHASTIC index 0). NaR if any element is NaR. len(a) < 2^31.
    Chunked, vectorised accumulation: see the notes above ``posit_fields``."""
    tp = np.empty(_CHUNK, dtype=np.int64)
    tl = np.empty(_CHUNK, dtype=np.int64)
    w = np.zeros(q.size + 2, dtype=np.int64)
    if _dot_into(a, b, n, es, qlow, w, tp, tl):
        return np.int64(1) << (n - 1)
    return _finish(w, q, qlow, n, es, mode, seed, 0)


@njit(cache=True)
def quire_matmul(A, BT, n, es, qlow, nlimbs, mode, seed, out):
    """out[i, j] = code of sum_k A[i, k] BT[j, k] (A of shape (M, K), BT the transposed
    right operand (N, K), both C-contiguous codes), each entry accumulated exactly in its
    own quire of ``nlimbs`` digits (the same core as ``quire_dot``) and rounded once
    (STOCHASTIC index i * N + j); NaR where a NaR meets the entry's dot product."""
    M = A.shape[0]
    N = BT.shape[0]
    nar = np.int64(1) << (n - 1)
    tp = np.empty(_CHUNK, dtype=np.int64)
    tl = np.empty(_CHUNK, dtype=np.int64)
    w = np.empty(nlimbs + 2, dtype=np.int64)
    q = np.empty(nlimbs, dtype=np.int64)
    for i in range(M):
        for j in range(N):
            w[:] = 0
            if _dot_into(A[i], BT[j], n, es, qlow, w, tp, tl):
                out[i, j] = nar
            else:
                out[i, j] = _finish(w, q, qlow, n, es, mode, seed, i * N + j)

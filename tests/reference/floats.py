"""Slow, obviously-correct reference for refquant.floats.FloatFormat: decode from the
definition with exact rationals, encode by searching the sorted list of all values."""
from fractions import Fraction
from functools import lru_cache
import math


def decode(fmt, code):
    """Exact value of ``code`` as a Fraction, or the strings 'nan', 'inf', '-inf'."""
    E, M = fmt.exp_bits, fmt.man_bits
    n = 1 << (E + M)
    t = code & (n - 1)
    neg = fmt.signed and (code >> (E + M)) & 1 == 1
    sp = fmt.specials
    if sp in ("fnuz", "ext") and fmt.signed and neg and t == 0:
        return "nan"
    e, m = t >> M, t & ((1 << M) - 1)
    if sp == "ieee" and e == (1 << E) - 1:
        return "nan" if m else ("-inf" if neg else "inf")
    if sp == "fn" and t == n - 1:
        return "nan"
    if sp == "ext":
        top = n - 1 if fmt.signed else n - 2
        if not fmt.signed and t == n - 1:
            return "nan"
        if t == top:
            return "-inf" if neg else "inf"
    if fmt.subnormals and e == 0:
        v = Fraction(m) * Fraction(2) ** (1 - fmt.bias - M)
    else:
        v = (1 + Fraction(m, 1 << M)) * Fraction(2) ** (e - fmt.bias)
    return -v if neg else v


@lru_cache(maxsize=256)
def finite_codes(fmt):
    """(value, code) for every finite code, sorted by value; -0 dropped."""
    out = []
    for c in range(1 << fmt.bits):
        v = decode(fmt, c)
        if isinstance(v, str):
            continue
        if v == 0 and fmt.signed and (c >> (fmt.exp_bits + fmt.man_bits)) & 1:
            continue
        out.append((v, c))
    out.sort()
    return tuple(out)


def encode(fmt, x, mode="even"):
    """Code of the finite float x under round-to-nearest-even ('even'), 'down', 'up' or
    'zero', with overflow saturated to ±max (no NaN/inf handling: callers test those
    separately). Ties go to the even code; for signed formats the sign of zero follows x."""
    table = finite_codes(fmt)
    vals = [v for v, _ in table]
    fx = Fraction(x)
    if fx >= vals[-1]:
        return table[-1][1]
    if fx <= vals[0]:
        return table[0][1]
    import bisect
    j = bisect.bisect_left(vals, fx)
    if vals[j] == fx:
        lo = hi = j
    else:
        lo, hi = j - 1, j
    if lo == hi:
        code = table[lo][1]
    else:
        vlo, vhi = vals[lo], vals[hi]
        if mode == "down":
            k = lo
        elif mode == "up":
            k = hi
        elif mode == "zero":
            k = hi if fx < 0 else lo
        else:
            dlo, dhi = fx - vlo, vhi - fx
            if dlo < dhi:
                k = lo
            elif dhi < dlo:
                k = hi
            else:
                k = lo if table[lo][1] % 2 == 0 else hi
                # the code of a negative value carries the sign bit; parity is unchanged
        code = table[k][1]
    if decode(fmt, code) == 0 and fmt.signed and math.copysign(1.0, x) < 0 \
            and fmt.has_negative_zero:
        code |= 1 << (fmt.exp_bits + fmt.man_bits)
    return code


def nan_code(fmt, neg):
    """The NaN code a NaN result takes, from the special-value policy: IEEE quiet NaN
    (exponent all ones, top mantissa bit) and "fn" all-ones magnitude keep the sign bit;
    the single NaN of signed "fnuz"/"ext" formats is the sign bit alone; unsigned
    formats use the all-ones code. None when the format has no NaN."""
    E, M = fmt.exp_bits, fmt.man_bits
    sbit = 1 << (E + M) if fmt.signed else 0
    sp = fmt.specials
    if sp == "none" or (sp == "ieee" and M == 0):
        return None
    if sp in ("fnuz", "ext"):
        return sbit if fmt.signed else (1 << (E + M)) - 1
    if sp == "ieee":
        code = (((1 << E) - 1) << M) | (1 << (M - 1))
    else:
        code = (1 << (E + M)) - 1
    return code | (sbit if neg else 0)


def inf_code(fmt, neg):
    """Code of ±inf, or None when the format has no infinity."""
    for c in range(1 << min(fmt.bits, 16)) if fmt.bits <= 16 else ():
        if decode(fmt, c) == ("-inf" if neg else "inf"):
            return c
    return None


OVERFLOW_MODES = ("even", "away", "half_up", "zero", "down", "up")


def encode_overflow(fmt, x, mode, overflow):
    """Code of the float x (finite or ±inf; formats up to 16 bits) under ``mode`` (one of
    OVERFLOW_MODES) and ``overflow`` ('saturate', 'raise', 'inf', 'nan'), or the string
    'raise'. Stated from IEEE 754-2019 7.4: the magnitude is rounded on the grid
    continued past max with the top binade's spacing ulp (next = max + ulp); a result
    beyond max is an overflow; rounding toward zero in magnitude then gives ±max under
    'inf' and 'nan', the other modes ±inf ('inf') or NaN ('nan'); ±inf inputs give
    ±inf / NaN / ±max / 'raise'. Values below max: modes even/zero/down/up only (or any
    mode for a representable x)."""
    table = finite_codes(fmt)
    vmax, cmax = table[-1]
    neg = math.copysign(1.0, x) < 0
    max_code = cmax | ((1 << (fmt.exp_bits + fmt.man_bits)) if neg else 0)
    toward_zero = mode == "zero" or (mode == "down" and not neg) or (mode == "up" and neg)
    if not math.isinf(x):
        a = abs(Fraction(x))
        if a < vmax:
            if mode not in ("even", "zero", "down", "up"):
                assert Fraction(x) in [v for v, _ in table], "in-range ties: use encode()"
                mode = "even"
            return encode(fmt, x, mode)
        emax = (cmax >> fmt.man_bits) - fmt.bias
        nxt = vmax + Fraction(2) ** (emax - fmt.man_bits)
        d_lo, d_hi = a - vmax, nxt - a
        if a == vmax:
            up = False
        elif a >= nxt:
            up = True
        elif mode == "even":
            up = d_lo > d_hi or (d_lo == d_hi and (cmax + 1) % 2 == 0)
        elif mode == "away":
            up = d_lo >= d_hi
        elif mode == "half_up":
            up = d_lo > d_hi or (d_lo == d_hi and not neg)
        else:
            up = not toward_zero
        if not up:
            return max_code
        if toward_zero and overflow in ("inf", "nan"):
            return max_code
    if overflow == "saturate":
        return max_code
    if overflow == "raise":
        return "raise"
    if overflow == "inf":
        return inf_code(fmt, neg)
    return nan_code(fmt, neg)

"""Slow, obviously-correct reference for refquant.formats.floats: decode from the
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

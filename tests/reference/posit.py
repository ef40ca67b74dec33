"""Slow, obviously correct pure-Python reference for posits and tapered fixed point.

Values are fractions.Fraction. Decoding of posits follows the Posit Standard (2022)
formula on the raw word (no negation step):
    x = ((1 - 3s) + f) * 2^((1 - 2s) * (2^es * r + e + s)).
Tapered fixed point (bounded regime run rs) decodes the magnitude pattern of the
two's-complement word. Encoding follows the standard's definition literally: find the
neighbouring codes u <= x < w by bisection over the (monotone) codes, take the tie
point as the value of the (n+1)-bit pattern "u then 1", compare.
"""
from fractions import Fraction

NEAREST_EVEN, NEAREST_AWAY, NEAREST_UP, TOWARD_ZERO, DOWN, UP = 0, 1, 2, 3, 4, 5


def _pow2(e):
    return Fraction(2) ** e


def decode_posit(code, n, es):
    """Value of an n-bit posit pattern as a Fraction; None for NaR."""
    code &= (1 << n) - 1
    if code == 0:
        return Fraction(0)
    if code == 1 << (n - 1):
        return None
    bits = [(code >> (n - 1 - i)) & 1 for i in range(n)]
    s = bits[0]
    rest = bits[1:]
    first = rest[0]
    m = 0
    while m < len(rest) and rest[m] == first:
        m += 1
    r = m - 1 if first == 1 else -m
    after = rest[m + 1:]  # skip the terminating bit (if any)
    ebits = (after[:es] + [0] * es)[:es]
    e = int("".join(map(str, ebits)), 2) if es else 0
    fbits = after[es:]
    f = Fraction(int("".join(map(str, fbits)), 2), 2 ** len(fbits)) if fbits else Fraction(0)
    return ((1 - 3 * s) + f) * _pow2((1 - 2 * s) * ((2 ** es) * r + e + s))


def decode_tapered(code, n, es, rs, scale_exp=0):
    """Value of a pattern with a regime run bounded at rs bits (TENT when es = 0);
    with rs = n - 1 this is a posit."""
    mask = (1 << n) - 1
    code &= mask
    if code == 0:
        return Fraction(0)
    if code == 1 << (n - 1):
        return None
    neg = code >> (n - 1)
    body = (-code) & mask if neg else code
    bits = [(body >> (n - 2 - i)) & 1 for i in range(n - 1)]
    first = bits[0]
    m = 0
    while m < len(bits) and m < rs and bits[m] == first:
        m += 1
    k = m - 1 if first else -m
    after = bits[m + 1:] if m < rs else bits[m:]
    ebits = (after[:es] + [0] * es)[:es]
    e = int("".join(map(str, ebits)), 2) if es else 0
    fbits = after[es:]
    f = Fraction(int("".join(map(str, fbits)), 2), 2 ** len(fbits)) if fbits else Fraction(0)
    v = (1 + f) * _pow2(k * 2 ** es + e + scale_exp)
    return -v if neg else v


def _decoder(n, es, rs, scale_exp):
    if rs == n - 1 and scale_exp == 0:
        return lambda c, nn=n: decode_posit(c, nn, es)
    return lambda c, nn=n, r=rs: decode_tapered(c, nn, es, r, scale_exp)


def encode(x, n, es, rs=None, scale_exp=0, mode=NEAREST_EVEN):
    """Code of the real x (Fraction, int or float; nan/inf -> NaR) by the definition."""
    if rs is None:
        rs = n - 1
    if isinstance(x, float):
        if x != x or x in (float("inf"), float("-inf")):
            return 1 << (n - 1)
    x = Fraction(x)
    if x == 0:
        return 0
    dec = _decoder(n, es, rs, scale_exp)
    neg = x < 0
    a = -x if neg else x
    maxcode = (1 << (n - 1)) - 1
    if a >= dec(maxcode):
        c = maxcode
    elif a <= dec(1):
        c = 1
    else:
        lo, hi = 1, maxcode  # dec(lo) < a < dec(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if dec(mid) <= a:
                lo = mid
            else:
                hi = mid
        u, w = lo, hi
        if dec(u) == a:
            c = u
        else:
            tie_rs = rs + 1 if rs == n - 1 else rs
            if tie_rs == n and scale_exp == 0:
                t = decode_posit((u << 1) | 1, n + 1, es)
            else:
                t = decode_tapered((u << 1) | 1, n + 1, es, tie_rs, scale_exp)
            # the magnitude lies strictly between u and w
            if mode == NEAREST_EVEN:
                c = u if a < t else w if a > t else (u if u % 2 == 0 else w)
            elif mode == NEAREST_AWAY:
                c = u if a < t else w
            elif mode == NEAREST_UP:
                c = u if a < t else w if a > t else (u if neg else w)
            elif mode == TOWARD_ZERO:
                c = u
            elif mode == DOWN:
                c = w if neg else u
            elif mode == UP:
                c = u if neg else w
            else:
                raise ValueError(mode)
    return ((-c) & ((1 << n) - 1)) if neg else c


def value(code, n, es):
    return decode_posit(code, n, es)


def add(a, b, n, es):
    va, vb = value(a, n, es), value(b, n, es)
    if va is None or vb is None:
        return 1 << (n - 1)
    return encode(va + vb, n, es)


def sub(a, b, n, es):
    va, vb = value(a, n, es), value(b, n, es)
    if va is None or vb is None:
        return 1 << (n - 1)
    return encode(va - vb, n, es)


def mul(a, b, n, es):
    va, vb = value(a, n, es), value(b, n, es)
    if va is None or vb is None:
        return 1 << (n - 1)
    return encode(va * vb, n, es)


def div(a, b, n, es):
    va, vb = value(a, n, es), value(b, n, es)
    if va is None or vb is None or vb == 0:
        return 1 << (n - 1)
    return encode(va / vb, n, es)


def fma(a, b, c, n, es):
    va, vb, vc = value(a, n, es), value(b, n, es), value(c, n, es)
    if va is None or vb is None or vc is None:
        return 1 << (n - 1)
    return encode(va * vb + vc, n, es)


def sqrt(a, n, es):
    """Correctly rounded square root by the definition, comparing squares exactly."""
    va = value(a, n, es)
    if va is None or va < 0:
        return 1 << (n - 1)
    if va == 0:
        return 0
    maxcode = (1 << (n - 1)) - 1
    # sqrt of a posit never leaves (minpos, maxpos); bracket by squares.
    lo, hi = 1, maxcode
    if value(hi, n, es) ** 2 <= va:
        return hi
    if value(lo, n, es) ** 2 >= va:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if value(mid, n, es) ** 2 <= va:
            lo = mid
        else:
            hi = mid
    if value(lo, n, es) ** 2 == va:
        return lo
    t = decode_posit((lo << 1) | 1, n + 1, es)
    if va < t * t:
        return lo
    if va > t * t:
        return hi
    return lo if lo % 2 == 0 else hi


def dot(a_codes, b_codes, n, es):
    """Exact sum of products (Fractions) rounded once; NaR if any operand is NaR."""
    total = Fraction(0)
    for a, b in zip(a_codes, b_codes):
        va, vb = value(int(a), n, es), value(int(b), n, es)
        if va is None or vb is None:
            return 1 << (n - 1)
        total += va * vb
    return encode(total, n, es)


def to_int_nearest_even(code, n, es):
    """Round a posit to the nearest integer, ties to even; NaR -> -2^63."""
    v = value(code, n, es)
    if v is None:
        return -(1 << 63)
    r = round(v)  # Fraction.__round__ rounds half to even
    return max(min(r, (1 << 63) - 1), -((1 << 63) - 1))

"""Slow, obviously-correct reference of the tensor-core block-FMA model (pure Python,
exact rationals). Tests compare refquant.kernels.tensorcore against it.

Model (Khattak & Mikaitis, arXiv 2512.07004): products exact and not renormalised;
all terms truncated (in magnitude) to the grid 2^(maxe - 23 - neab); exact sum;
one final rounding to the output format.
"""
import math
from fractions import Fraction

# fraction bits, emin of the input formats
IN = {"fp16": (10, -14), "bf16": (7, -126), "tf32": (10, -126), "e4m3fn": (3, -6),
      "e5m2": (2, -14)}
OUT = {"fp32": (-126, 127, 23), "fp16": (-14, 15, 10)}


def exponent(v, emin):
    """max(floor(log2 |v|), emin) for v != 0, computed on exact rationals."""
    v = abs(Fraction(v))
    e = v.numerator.bit_length() - v.denominator.bit_length()
    if Fraction(2) ** e > v:
        e -= 1
    return max(e, emin)


def round_to(x, out, mode, frac=None):
    """Round the rational x to the output format: mode 'rz' (toward zero) or 'rne'."""
    emin, emax, full = OUT[out]
    frac = full if frac is None else frac
    x = Fraction(x)
    if x == 0:
        return 0.0
    sign = -1 if x < 0 else 1
    m = abs(x)
    q = Fraction(2) ** (exponent(m, emin) - frac)
    units = m / q
    fl = units.numerator // units.denominator
    rest = units - fl
    if mode == "rne" and (rest > Fraction(1, 2) or (rest == Fraction(1, 2) and fl % 2 == 1)):
        fl += 1
    val = fl * q
    if val >= Fraction(2) ** (emax + 1):
        return sign * math.inf
    return sign * float(val)


def block_fma(a, b, c, fmt, neab, out, mode, min_exp=None, frac=None):
    """One block FMA c + sum a_i b_i under the model (a, b lists of floats, c a float)."""
    p, emin = IN[fmt]
    vals = [Fraction(x) * Fraction(y) for x, y in zip(a, b)]
    if any(math.isnan(x) or math.isnan(y) for x, y in zip(a, b)) or math.isnan(c):
        return math.nan
    specials = []
    for x, y in zip(a, b):
        if math.isinf(x) or math.isinf(y):
            if x == 0 or y == 0:
                return math.nan
            specials.append(math.copysign(1, x) * math.copysign(1, y))
    if math.isinf(c):
        specials.append(math.copysign(1, c))
    if specials:
        if 1 in specials and -1 in specials:
            return math.nan
        return math.inf * specials[0]
    terms = []
    for x, y in zip(a, b):
        if x != 0 and y != 0:
            terms.append((Fraction(x) * Fraction(y), exponent(x, emin) + exponent(y, emin)))
    if c != 0:
        terms.append((Fraction(c), exponent(c, -126)))
    if not terms:
        return 0.0
    maxe = max(e for _, e in terms)
    if min_exp is not None:
        maxe = max(maxe, min_exp)
    grid = Fraction(2) ** (maxe - 23 - neab)
    total = Fraction(0)
    for v, _ in terms:
        units = abs(v) / grid
        t = (units.numerator // units.denominator) * grid
        total += t if v > 0 else -t
    return round_to(total, out, mode, frac)


def chain(a, b, c, fmt, n, neab, out, mode, min_exp=None, frac=None):
    """Blocks of n along K (zero padded), each rounded D the C of the next."""
    d = c
    for k in range(0, len(a), n):
        d = block_fma(a[k:k + n], b[k:k + n], d, fmt, neab, out, mode, min_exp, frac)
    return d


def fp8_sync(a, b, c, out, min_exp=None):
    """sm_90/sm_100 fp8 mma.sync: per k32 chunk two fp16 half blocks (k % 4 < 2, then
    k % 4 >= 2) chained from 0 (n=16, neab=2), then C added with one rounding to nearest."""
    mode = "rz" if out == "fp32" else "rne"
    d = c
    for k0 in range(0, len(a), 32):
        ks = range(k0, min(k0 + 32, len(a)))
        lo = [k for k in ks if k % 4 < 2]
        hi = [k for k in ks if k % 4 >= 2]
        h = block_fma([a[k] for k in lo], [b[k] for k in lo], 0.0, "fp16", 2, out, mode, min_exp)
        h = block_fma([a[k] for k in hi], [b[k] for k in hi], h, "fp16", 2, out, mode, min_exp)
        if math.isnan(h) or math.isnan(d) or math.isinf(h) or math.isinf(d):
            d = h + d
        else:
            d = round_to(Fraction(h) + Fraction(d), out, "rne")
    return d


def int_mma(a_row, b_col, c, kstep, saturate):
    """Integer MMA of one output: exact chunk sums, int32 wrap or clamp after each chunk."""
    acc = int(c)
    for k0 in range(0, len(a_row), kstep):
        acc += sum(int(x) * int(y) for x, y in zip(a_row[k0:k0 + kstep], b_col[k0:k0 + kstep]))
        if saturate:
            acc = max(-2**31, min(2**31 - 1, acc))
        else:
            acc = (acc + 2**31) % 2**32 - 2**31
    return acc

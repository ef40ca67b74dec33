"""Slow, obviously correct pure-Python reference for the power-of-two family.

Values are Fractions (or Decimals with 80 digits where a level is irrational, which
rules out ties). Every rounding is a brute-force search over the whole level set.
"""
from decimal import Decimal, getcontext
from fractions import Fraction

getcontext().prec = 80
SQRT2 = Decimal(2).sqrt()


def nearest_index(a, levels, tie="even"):
    """Index j minimising |a - levels[j]| (exact; a and levels Fractions or Decimals).
    Ties between two levels go to the even index. a beyond the last level -> last."""
    best = None
    for j, v in enumerate(levels):
        d = abs(a - v)
        if best is None or d < best[0] or (d == best[0] and j % 2 == 0):
            best = (d, j)
    return best[1]


def log_levels(exp_bits, fsr, base):
    """(list of k, magnitudes): 0 then base^k for k = fsr - 2^e + 1 .. fsr - 1; the
    magnitudes are Fractions for base 2 and Decimals for base sqrt(2)."""
    ks = list(range(fsr - 2 ** exp_bits + 1, fsr))
    if base == 2:
        return ks, [Fraction(0)] + [Fraction(2) ** k for k in ks]
    return ks, [Decimal(0)] + [SQRT2 ** k for k in ks]


def log_quantize(x, exp_bits, fsr, base=2, domain="log"):
    """LogQuant by definition: x~ = round(log_base |x|) (log domain: compare log
    distances, i.e. brute force over the levels in the log; zero when x~ <= kmin - 1
    with kmin the smallest level exponent) or the nearest level (linear domain), then
    clip to the top level. Returns the magnitude index (0 = zero) and the sign."""
    ks, mags = log_levels(exp_bits, fsr, base)
    neg = x < 0
    a = abs(x)
    if a == 0:
        return 0, False
    if base == 2:
        A = Fraction(a)
    else:
        A = Decimal(a)  # a float64 is a short exact decimal? no: use exact Fraction -> Decimal
        A = Decimal(Fraction(a).numerator) / Decimal(Fraction(a).denominator)
    if domain == "linear":
        j = nearest_index(A, mags)
        return j, neg and j > 0
    # log domain: the level k with |log_base A - k| minimal, k ranging over kmin-1..kmax
    # (kmin - 1 standing for zero); ties impossible (irrational half-way points).
    cands = [ks[0] - 1] + ks
    L = A.ln() if isinstance(A, Decimal) else Decimal(A.numerator).ln() - Decimal(A.denominator).ln()
    lb = Decimal(2).ln() if base == 2 else SQRT2.ln()
    t = L / lb
    best = min(cands, key=lambda k: abs(t - k))
    if t > ks[-1]:
        best = ks[-1]
    j = 0 if best == ks[0] - 1 else best - ks[0] + 1
    return j, neg and j > 0


def build_power_value(B):
    """Transcription of the APoT reference construction (exact Fractions, unnormalised):
    the set of sums of one entry of each base list."""
    base_a, base_b, base_c = [Fraction(0)], [Fraction(0)], [Fraction(0)]
    p = lambda e: Fraction(1, 2 ** e)  # noqa: E731
    if B == 2:
        for i in range(3):
            base_a.append(p(i + 1))
    elif B == 4:
        for i in range(3):
            base_a.append(p(2 * i + 1))
            base_b.append(p(2 * i + 2))
    elif B == 6:
        for i in range(3):
            base_a.append(p(3 * i + 1))
            base_b.append(p(3 * i + 2))
            base_c.append(p(3 * i + 3))
    elif B == 3:
        for i in range(3):
            if i < 2:
                base_a.append(p(i + 1))
            else:
                base_b.append(p(i + 1))
                base_a.append(p(i + 2))
    elif B == 5:
        for i in range(3):
            if i < 2:
                base_a.append(p(2 * i + 1))
                base_b.append(p(2 * i + 2))
            else:
                base_c.append(p(2 * i + 1))
                base_a.append(p(2 * i + 2))
                base_b.append(p(2 * i + 3))
    return sorted({a + b + c for a in base_a for b in base_b for c in base_c})


def naf(v):
    """Non-adjacent form of an int: list of (digit, exponent), largest first."""
    out, m, k = [], abs(v), 0
    while m:
        if m % 2:
            d = 2 - (m % 4)
            m -= d
            out.append((d if v > 0 else -d, k))
        m //= 2
        k += 1
    return out[::-1]


def min_signed_digit_weight(v, memo={0: 0, 1: 1}):
    """Fewest signed powers of two summing to v >= 0 (recursion over the last digit)."""
    if v in memo:
        return memo[v]
    if v % 2 == 0:
        r = min_signed_digit_weight(v // 2)
    else:
        r = 1 + min(min_signed_digit_weight((v - 1) // 2), min_signed_digit_weight((v + 1) // 2))
    memo[v] = r
    return r


def terms(v, encoding):
    """Signed terms (sign * 2^e as ints), largest magnitude first."""
    s = -1 if v < 0 else 1
    m = abs(v)
    bits = bin(m)[2:][::-1]
    if encoding == "binary":
        return [s * 2 ** i for i in range(len(bits) - 1, -1, -1) if bits[i] == "1"]
    if encoding == "naf":
        return [s * d * 2 ** e for d, e in naf(m)]
    # HESE: split into runs of ones; a run of length 1 at bit i -> 2^i, a run from l to
    # h (h > l) -> 2^(h+1) - 2^l
    out, i, runs = [], 0, []
    while i < len(bits):
        if bits[i] == "1":
            j = i
            while j + 1 < len(bits) and bits[j + 1] == "1":
                j += 1
            runs.append((i, j))
            i = j + 1
        else:
            i += 1
    for lo, hi in runs:
        if lo == hi:
            out.append(2 ** lo)
        else:
            out += [2 ** (hi + 1), -(2 ** lo)]
    out.sort(key=abs, reverse=True)
    return [s * t for t in out]


def term_quantize_group(group, budget, encoding):
    """Largest head term first across the group (ties to the lowest index)."""
    ts = [terms(v, encoding) for v in group]
    head = [0] * len(group)
    out = [0] * len(group)
    for _ in range(budget):
        best = None
        for g, t in enumerate(ts):
            if head[g] < len(t) and (best is None or abs(t[head[g]]) > abs(ts[best][head[best]])):
                best = g
        if best is None:
            break
        out[best] += ts[best][head[best]]
        head[best] += 1
    return out


def sparq_window(a, opt, rnd):
    """bSPARQ as the reference CUDA kernel states it with masks and set bits."""
    if opt == 5:
        sets = [(0x80, 0xF0, 0x08), (0x40, 0x78, 0x04), (0x20, 0x3C, 0x02), (0x10, 0x1E, 0x01)]
    elif opt == 3:
        sets = [(0xC0, 0xF0, 0x08), (0x30, 0x3C, 0x02)]
    else:
        sets = [(0xF0, 0xF0, 0x08)]
    for sel, mask, rb in sets:
        if a & sel:
            h = a & mask
            if rnd:
                is_rnd = rb | (rb << 1)
                up = (a & is_rnd) == is_rnd or (a & ((a & rb) - (1 if a & rb else 0))) != 0
                if up:
                    h += (a & rb) << 1
                if h == mask + (rb << 1) and h > mask:
                    h = mask
            return h
    return a & 0x0F


def sparq_row(row, opt, rnd, pair):
    out = list(row)
    if not pair:
        return [sparq_window(a, opt, rnd) for a in row]
    for k in range(0, len(row), 2):
        a1 = row[k]
        a2 = row[k + 1] if k + 1 < len(row) else 0
        if a1 != 0 and a2 != 0:
            out[k] = sparq_window(a1, opt, rnd)
            out[k + 1] = sparq_window(a2, opt, rnd)
    return out


def pwlq_levels(b, breakpoints):
    """Exact PWLQ magnitudes (sorted Fractions) on [0, 1]."""
    ed = [Fraction(0)] + [Fraction(p) for p in breakpoints] + [Fraction(1)]
    N = 2 ** (b - 1) - 1
    return sorted({ed[j] + (ed[j + 1] - ed[j]) * k / N for j in range(len(ed) - 1)
                   for k in range(N + 1)})

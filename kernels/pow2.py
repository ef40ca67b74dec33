"""Kernels of the power-of-two family: rounding onto a level table (logarithmic, APoT,
n-hot, PWLQ), signed-digit term encodings (binary, HESE, NAF), group term selection
(term quantization), bSPARQ / vSPARQ window trimming, and the integer dot products the
hardware of each format computes (shift-add, term pairs, region accumulators).

Every kernel but ``term_quantize_values_parallel`` is serial, takes int64 / float64
arrays (the level kernels also float32 input, compared exactly as float64), writes into
``out`` and states its exact semantics.
NEAREST_EVEN rounding onto a level table also has a table-driven form
(``levels_*_nearest``: one row lookup and one integer comparison per value, no branch on
the data) that reproduces the general kernels exactly. Rounding modes are the integers of
``refquant.Rounding`` (0 NEAREST_EVEN, 1 NEAREST_AWAY, 2 NEAREST_UP, 3 TOWARD_ZERO,
4 DOWN, 5 UP, 6 STOCHASTIC); the choice between two neighbours is made by ``rounding.choose``.
"""

import math

import numpy as np
from numba import prange

from . import njit
from .rounding import choose

__all__ = ["levels_encode", "levels_quantize", "levels_encode_nearest",
           "levels_quantize_nearest", "term_count", "term_encode", "term_select", "terms_dot",
           "term_pair_dot", "pwlq_dot", "sparq_trim", "sparq_matmul",
           "term_quantize_values", "term_quantize_values_parallel"]

# ---------------------------------------------------------------------------------------
# Rounding onto a table of magnitudes
# ---------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _floor_index(a, key, mags, start):
    """Largest j with mags[j] <= a, for 0 <= a < mags[-1] (not NaN). For a >= mags[1] it
    must lie in [start[key], start[key + 1]]; it is found there by bisection (no step
    when the two are equal, one comparison when they differ by one)."""
    big = a >= mags[1]
    j = start[key] if big else 0
    hi = start[key + 1] if big else 0
    while j < hi:
        mid = (j + hi + 1) >> 1
        if mags[mid] <= a:
            j = mid
        else:
            hi = mid - 1
    return j


@njit(cache=True, inline="always")
def _level_index(a, neg, key, mags, thr, thr_exact, start, mode, seed, i):
    """Magnitude index of |x| = a (0 <= a, not NaN) with sign ``neg`` under ``mode`` (the
    rule of ``levels_encode``; bucket arguments as ``_floor_index``). NEAREST_EVEN is
    computed without branches on the data: j + (a > t or (a == t, t exact and j odd))."""
    n = mags.size
    if a >= mags[n - 1]:
        return n - 1
    j = _floor_index(a, key, mags, start)
    t = thr[j]
    if mode == 0:  # a == mags[j] < t needs no special case
        return j + (np.int64(a > t) | (np.int64(a == t) & np.int64(thr_exact[j]) & j & 1))
    if a == mags[j]:
        return j
    if thr_exact[j]:
        c = -1 if a < t else (1 if a > t else 0)
    else:
        c = 1 if a > t else -1
    m = mode
    if neg:
        if m == 4:
            m = 5
        elif m == 5:
            m = 4
        elif m == 2:
            m = 1 if c != 0 else 3
    frac = (a - mags[j]) / (mags[j + 1] - mags[j]) if m == 6 else 0.0
    return choose(np.int64(j), c, False, frac, m, seed, i)


@njit(cache=True, inline="always")
def _bucket_key(b, mask, shift, klo, khi):
    """Row of the bucket table for the bit pattern b of a float: its magnitude bits
    (b & mask) shifted right by ``shift``, clamped to [klo, khi], minus klo."""
    k = (np.int64(b) & mask) >> shift
    if k < klo:
        k = klo
    elif k > khi:
        k = khi
    return k - klo


@njit(cache=True)
def _levels_run(x, xbits, mags, thr, thr_exact, start, klo, khi, shift, mask, mode, seed,
                signed, out_idx, out_neg, out_val, fused):
    """Loop of ``levels_encode`` (fused False: writes out_idx, out_neg) and
    ``levels_quantize`` (fused True: writes out_val). NEAREST_EVEN is written out here
    without branches on the data (the floor search and one exact comparison); the other
    modes go through ``_level_index``."""
    n = mags.size
    top = mags[n - 1]
    m1 = mags[1]
    for i in range(x.size):
        v = x[i]
        if v != v:
            return 1
        neg = v < 0
        if neg and not signed:
            return 2
        a = np.float64(-v if neg else v)
        key = _bucket_key(xbits[i], mask, shift, klo, khi)
        if a >= top:
            j = n - 1
        elif mode == 0:
            big = a >= m1
            j = start[key] if big else 0
            hi = start[key + 1] if big else 0
            while hi - j > 1:  # bisection; the registered formats' tables never enter
                mid = (j + hi) >> 1
                if mags[mid] <= a:
                    j = mid
                else:
                    hi = mid - 1
            j += np.int64(mags[hi] <= a) & np.int64(hi > j)  # last step without a branch
            t = thr[j]  # a == mags[j] < t needs no special case
            j += np.int64(a > t) | (np.int64(a == t) & np.int64(thr_exact[j]) & j & 1)
        else:
            j = _level_index(a, neg, key, mags, thr, thr_exact, start, mode, seed, i)
        if fused:
            val = mags[j]
            out_val[i] = (0.0 - val) if neg else val  # +0.0 for j == 0
        else:
            out_idx[i] = j
            out_neg[i] = np.int64(neg) & np.int64(j > 0)
    return 0


@njit(cache=True)
def levels_encode(x, xbits, mags, thr, thr_exact, start, klo, khi, shift, mask, mode, seed,
                  signed, out_idx, out_neg):
    """Round each x[i] onto the sign-symmetric level set {±mags[j]}; return 0, or 1 at
    the first NaN, or 2 at the first x[i] < 0 when not ``signed`` (outputs from there on
    are not written).

    x: float32 or float64 (1-D, contiguous); xbits: x viewed as int32 / int64 (the same
    memory), mask: the magnitude bits of that width (all but the sign bit).
    mags: strictly ascending float64 magnitudes with mags[0] == 0. thr[j] (j < len(mags) - 1) is the
    nearest-rounding decision point between mags[j] and mags[j + 1]. If thr_exact[j] the
    point is exactly thr[j] (|x| == thr[j] is a tie); otherwise the true point t_j is not
    a float64 and thr[j] is the largest float64 below it, so |x| > thr[j] <=> |x| > t_j and
    no tie can occur. Nearest modes decide with thr; directed modes use mags only.
    Ties and directed modes act on the index j as ``choose`` does on an integer floor:
    NEAREST_EVEN sends a tie to the even index, NEAREST_AWAY to the larger magnitude,
    NEAREST_UP toward +inf; TOWARD_ZERO/DOWN/UP are directed in value (DOWN of a negative
    x rounds its magnitude up); STOCHASTIC picks the larger magnitude with probability
    (|x| - lo) / (hi - lo) from uniform53(seed, i).
    |x| >= mags[-1] saturates to the last index; ±inf saturate. All comparisons are made
    on float64(x[i]) (exact for float32 input). out_idx[i] = j, out_neg[i] = 1 when
    x[i] < 0 and j > 0, else 0 (zero is always encoded with a clear sign).

    Search acceleration (does not change results): with k = _bucket_key(xbits[i], mask,
    shift, klo, khi), the floor index (largest j with mags[j] <= |x[i]|) of every
    mags[1] <= |x[i]| < mags[-1] lies in [start[k], start[k + 1]] (|x[i]| < mags[1] has
    floor 0). The tables of ``refquant.pow2`` make the two differ by at most one
    for the registered formats, so the floor costs one table load and at most one
    comparison, and the decision is then the one exact comparison above.
    """
    return _levels_run(x, xbits, mags, thr, thr_exact, start, klo, khi, shift, mask, mode,
                       seed, signed, out_idx, out_neg, np.empty(0, np.float64), False)


@njit(cache=True)
def levels_quantize(x, xbits, mags, thr, thr_exact, start, klo, khi, shift, mask, mode, seed,
                    signed, out):
    """Fused encode + decode: out[i] = -mags[j] when x[i] < 0 and j > 0, else mags[j]
    (+0.0 for j == 0), with j chosen exactly as ``levels_encode`` does (same arguments,
    same return status; out is float64)."""
    e = np.empty(0, np.int64)
    return _levels_run(x, xbits, mags, thr, thr_exact, start, klo, khi, shift, mask, mode,
                       seed, signed, e, e, out, True)


@njit(cache=True, inline="always")
def _nearest_slot(m, cut, klo, khi, shift):
    """Slot 2q + (m >= cut[q]) of the nearest-even table for the magnitude bits m of a
    float, q = clamp(m >> shift, klo, khi) - klo."""
    q = min(max(m >> shift, klo), khi) - klo
    return 2 * q + np.int64(m >= cut[q])


@njit(cache=True)
def _first_offender(x, signed):
    """Status of the first NaN (1) or, when not ``signed``, negative value (2) in x; 0."""
    for i in range(x.size):
        v = x[i]
        if v != v:
            return 1
        if v < 0 and not signed:
            return 2
    return 0


@njit(cache=True)
def levels_encode_nearest(x, xbits, cut, tab, klo, khi, shift, mask, nan_bits, signed,
                          out_idx, out_neg):
    """``levels_encode`` with mode NEAREST_EVEN through a table of the rounding function:
    the same status and, when it is 0, the same outputs (otherwise every output is
    written, those at and after the first offender meaningless). With m = xbits[i] & mask
    (the magnitude bits of x[i]): out_idx[i] = tab[_nearest_slot(m, ...)], out_neg[i] = 1
    when x[i] < 0 and out_idx[i] > 0, else 0. nan_bits: the smallest NaN magnitude
    pattern of the input dtype.

    For non-NaN input the nearest-even index is a non-decreasing step function r(m); its
    change points P_1 <= P_2 <= ... (r(m) = #{P_j <= m}) are what the table holds. Row q
    covers the patterns with (m >> shift) == q + klo and contains at most one distinct
    change point cut[q] (else cut[q] is the largest value of its dtype, above every
    non-NaN pattern); tab[2q] = r just below cut[q] (or on the whole row), tab[2q + 1] =
    r at cut[q]. Rows klo and khi hold the first and the last change point, so clamping
    the key keeps the result exact. The tables come from ``refquant.pow2``,
    derived from ``levels_encode`` itself. The loop has no branch on the data (it
    vectorises); NaN and negative input are detected by max-reductions on the bits."""
    mx = np.int64(0)
    ng = np.int64(0)
    for i in range(x.size):
        b = np.int64(xbits[i])
        m = b & mask
        j = np.int64(tab[_nearest_slot(m, cut, klo, khi, shift)])
        out_idx[i] = j
        out_neg[i] = np.int64(x[i] < 0) & np.int64(j > 0)
        mx = max(mx, m)
        ng = max(ng, m & (b >> 63))  # > 0 iff some x < 0 (or a negative NaN)
    if mx >= nan_bits or (ng > 0 and not signed):
        return _first_offender(x, signed)
    return 0


@njit(cache=True)
def levels_quantize_nearest(x, xbits, cut, vals, klo, khi, shift, mask, nan_bits, signed,
                            out):
    """``levels_quantize`` with mode NEAREST_EVEN through the table of
    ``levels_encode_nearest`` (same status, outputs as there): out[i] = -v when x[i] < 0
    else v (+0.0 for a zero level), v = vals[_nearest_slot(m, ...)], vals = mags[tab]."""
    mx = np.int64(0)
    ng = np.int64(0)
    for i in range(x.size):
        b = np.int64(xbits[i])
        m = b & mask
        v = vals[_nearest_slot(m, cut, klo, khi, shift)]
        out[i] = (0.0 - v) if x[i] < 0 else v
        mx = max(mx, m)
        ng = max(ng, m & (b >> 63))
    if mx >= nan_bits or (ng > 0 and not signed):
        return _first_offender(x, signed)
    return 0


# ---------------------------------------------------------------------------------------
# Signed-digit term encodings of non-negative integers
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def _terms_of(m, enc, signs, exps):
    """Write the terms of magnitude m >= 0 (m < 2^61), largest exponent first, into
    signs/exps; return their count. enc 0 binary (one +2^i per set bit), 1 HESE (a run
    of two or more ones from bit l to bit h becomes +2^(h+1) - 2^l, a lone one stays
    +2^i), 2 NAF (non-adjacent form: minimal number of non-zero signed digits)."""
    cnt = 0
    if m == 0:
        return 0
    top = 0
    while (m >> (top + 1)) != 0:
        top += 1
    if enc == 0:
        for i in range(top, -1, -1):
            if (m >> i) & 1:
                signs[cnt] = 1
                exps[cnt] = i
                cnt += 1
        return cnt
    if enc == 1:
        i = top + 1
        while i >= 0:
            b1 = (m >> i) & 1
            b2 = (m >> (i + 1)) & 1 if i < 62 else 0
            b0 = (m >> (i - 1)) & 1 if i > 0 else 0
            if b1 == 1 and b2 == 0:
                if b0 == 0:
                    signs[cnt] = 1
                    exps[cnt] = i
                    cnt += 1
                else:
                    signs[cnt] = 1
                    exps[cnt] = i + 1
                    cnt += 1
            elif b1 == 1 and b2 == 1 and b0 == 0:
                signs[cnt] = -1
                exps[cnt] = i
                cnt += 1
            i -= 1
        return cnt
    # NAF, produced least significant digit first, then reversed
    k = 0
    v = m
    while v > 0:
        if v & 1:
            d = 2 - (v & 3)  # +1 if v % 4 == 1, -1 if v % 4 == 3
            v -= d
            signs[cnt] = d
            exps[cnt] = k
            cnt += 1
        v >>= 1
        k += 1
    for a in range(cnt // 2):
        b = cnt - 1 - a
        s = signs[a]
        signs[a] = signs[b]
        signs[b] = s
        e = exps[a]
        exps[a] = exps[b]
        exps[b] = e
    return cnt


@njit(cache=True)
def term_count(v, enc, out):
    """out[i] = number of terms of v[i] (|v[i]| < 2^61) in encoding enc, without listing
    them: 0 binary = popcount |v|; 2 NAF = popcount(((3|v|) XOR |v|) >> 1) (the non-zero
    digits of the non-adjacent form); 1 HESE counts the terms _terms_of produces."""
    s = np.zeros(64, np.int64)
    e = np.zeros(64, np.int64)
    for i in range(v.size):
        m = v[i]
        if m < 0:
            m = -m
        if enc == 1:
            out[i] = _terms_of(m, enc, s, e)
            continue
        if enc == 2:
            m = ((3 * m) ^ m) >> 1
        c = 0
        while m != 0:
            m &= m - 1
            c += 1
        out[i] = c


@njit(cache=True)
def term_encode(v, enc, out_sign, out_exp, out_count):
    """Terms of each integer v[i] (|v[i]| < 2^61) in encoding enc (0 binary, 1 HESE,
    2 NAF), largest exponent first: v[i] == sum_t out_sign[i, t] * 2^out_exp[i, t] over
    t < out_count[i]. The sign of v multiplies every term. Unused slots hold sign 0 and
    exponent 0. out_sign/out_exp have shape (n, T) with T >= the largest count."""
    T = out_sign.shape[1]
    s = np.zeros(64, np.int64)
    e = np.zeros(64, np.int64)
    for i in range(v.size):
        x = v[i]
        neg = x < 0
        m = -x if neg else x
        c = _terms_of(m, enc, s, e)
        for t in range(T):
            if t < c:
                out_sign[i, t] = -s[t] if neg else s[t]
                out_exp[i, t] = e[t]
            else:
                out_sign[i, t] = 0
                out_exp[i, t] = 0
        out_count[i] = c


@njit(cache=True)
def term_select(v, enc, group, budget, store, out_val, out_sign, out_exp, out_count):
    """Term quantization (term revealing) of integers v viewed as rows of ``group``
    consecutive values (v has shape (R, group); pad short groups with zeros).

    Each value is written as signed power-of-two terms (enc as ``term_encode``), largest
    first. Per row, repeat ``budget`` times: among the values' next unselected terms take
    the one of largest magnitude 2^e (ties: lowest index in the row); stop early when no
    terms remain. Unselected terms are dropped (truncation). out_val[r, g] is the sum of
    the selected terms of value g; out_sign/out_exp (R, group, T) list them largest
    first (sign 0 in unused slots; only written when ``store``, and the caller passes
    zero-filled arrays); out_count[r, g] counts them. The sign of a value multiplies its
    terms (sign-magnitude)."""
    R = v.shape[0]
    s = np.zeros((group, 64), np.int64)
    e = np.zeros((group, 64), np.int64)
    cnt = np.zeros(group, np.int64)
    head = np.zeros(group, np.int64)
    for r in range(R):
        for g in range(group):
            x = v[r, g]
            neg = x < 0
            m = -x if neg else x
            c = _terms_of(m, enc, s[g], e[g])
            if neg:
                for t in range(c):
                    s[g, t] = -s[g, t]
            cnt[g] = c
            head[g] = 0
            out_val[r, g] = 0
            out_count[r, g] = 0
        for _ in range(budget):
            best = -1
            best_e = -1
            for g in range(group):
                h = head[g]
                if h < cnt[g] and e[g, h] > best_e:
                    best_e = e[g, h]
                    best = g
            if best < 0:
                break
            h = head[best]
            out_val[r, best] += s[best, h] << e[best, h]
            if store:
                out_sign[r, best, h] = s[best, h]
                out_exp[r, best, h] = e[best, h]
            out_count[r, best] += 1
            head[best] = h + 1


@njit(cache=True)
def _digit_masks(m, enc):
    """(plus, minus): bit masks of the positions of the +1 and -1 digits of magnitude m
    (0 <= m < 2^61) in encoding enc, the digits ``_terms_of`` lists (m == plus - minus).
    Binary: the set bits. HESE: a lone one (both neighbours clear) stays +2^i; the top h
    of a run of two or more ones gives +2^(h+1), its bottom l gives -2^l. NAF: with
    h = m >> 1 and t = m + h, the digits are c = h ^ t, plus = t & c, minus = h & c."""
    if enc == 0:
        return m, np.int64(0)
    up = m >> 1   # bit i holds bit i + 1 of m
    dn = m << 1   # bit i holds bit i - 1 of m
    if enc == 1:
        lone = m & ~up & ~dn
        top = m & ~up & dn
        return lone | (top << 1), m & up & ~dn
    t = m + up
    c = up ^ t
    return t & c, up & c


_TERM_LIMIT = 1 << 61


@njit(cache=True)
def _bit_length(n):
    """Bits of the non-negative int n."""
    b = 0
    while (n >> b) != 0:
        b += 1
    return b


@njit(cache=True)
def _top_bit(u):
    """The index of the highest set bit of u > 0 (u < 2^63)."""
    if u < 9007199254740992:  # 2^53: float(u) is exact, its exponent is the answer
        return np.int64(math.frexp(float(u))[1] - 1)
    e = np.int64(53)
    while (u >> (e + 1)) != 0:
        e += 1
    return e


@njit(cache=True)
def _term_rows(v, enc, budget, r0, r1, plus, minus, planes, out):
    """term_select's values for the groups (rows) r0 .. r1 - 1 of v (int64, |v| < 2^61)
    into out, without listing the terms. Every value's terms have distinct exponents,
    largest first, so the greedy (largest head term, ties to the lowest index) takes whole
    exponent levels from the top while the budget lasts, then, at the first level with
    more terms than budget left, the lowest-indexed values holding a term there. The
    number of terms at each level comes from bit-sliced counters: bit e of planes[k] is
    bit k of that number (len(planes) = bit_length(group)). Returns the number of values
    with |v| >= 2^61 (their results are undefined)."""
    g = v.shape[1]
    nk = planes.size
    bad = 0
    for r in range(r0, r1):
        union = np.int64(0)
        for k in range(nk):
            planes[k] = 0
        for i in range(g):
            x = v[r, i]
            bad += (x >= _TERM_LIMIT) | (x <= -_TERM_LIMIT)
            m = -x if x < 0 else x
            p, q = _digit_masks(m, enc)
            plus[i] = p
            minus[i] = q
            d = p | q
            union |= d
            for k in range(nk):  # add d's bits into the counters
                t = planes[k] & d
                planes[k] ^= d
                d = t
        keep = np.int64(0)
        part = np.int64(0)
        left = np.int64(0)
        taken = np.int64(0)
        top = _top_bit(union) if union != 0 else -1
        for e in range(top, -1, -1):
            c = np.int64(0)
            for k in range(nk):
                c |= ((planes[k] >> e) & 1) << k
            now = taken + c
            bit = np.int64(1) << e
            keep |= bit if now <= budget else 0
            first = now > budget and taken < budget
            part = bit if first else part
            left = budget - taken if first else left
            taken = now
        for i in range(g):
            d = plus[i] | minus[i]
            k = keep
            if left > 0 and (d & part) != 0:
                k |= part
                left -= 1
            val = (plus[i] & k) - (minus[i] & k)
            out[r, i] = -val if v[r, i] < 0 else val
    return bad


@njit(cache=True)
def term_quantize_values(v, enc, budget, out):
    """The values term_select writes to out_val (v of shape (R, group), enc 0 binary,
    1 HESE, 2 NAF), computed from the digit masks of each value instead of term lists:
    out[r, g] = sign(v) * (sum of the kept +2^e - sum of the kept -2^e). Returns the
    number of values outside |v| < 2^61 (0 when out is valid)."""
    g = v.shape[1]
    plus = np.empty(g, np.int64)
    minus = np.empty(g, np.int64)
    planes = np.empty(max(1, _bit_length(g)), np.int64)
    return _term_rows(v, enc, budget, 0, v.shape[0], plus, minus, planes, out)


@njit(cache=True, parallel=True)
def term_quantize_values_parallel(v, enc, budget, rows, bad, out):
    """term_quantize_values with chunks of ``rows`` groups on Numba's threads (the result
    does not depend on the thread count); bad[c] receives chunk c's count of values
    outside |v| < 2^61 (bad.size >= the number of chunks)."""
    R, g = v.shape
    nchunk = (R + rows - 1) // rows
    for c in prange(nchunk):
        plus = np.empty(g, np.int64)
        minus = np.empty(g, np.int64)
        planes = np.empty(max(1, _bit_length(g)), np.int64)
        bad[c] = _term_rows(v, enc, budget, c * rows, min(R, (c + 1) * rows), plus, minus,
                            planes, out)


# ---------------------------------------------------------------------------------------
# Dot products
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def terms_dot(t_sign, t_exp, x, out):
    """Shift-add dot product: out[m] = sum_k sum_t t_sign[m, k, t] * (x[k] << t_exp[m, k, t]).

    t_sign in {-1, 0, 1} (0: no term), t_exp >= 0 shift amounts, x int64. int64
    accumulation; callers guarantee sum_k |x[k]| * sum_t 2^t_exp < 2^63 (exact)."""
    M, K, T = t_sign.shape
    for m in range(M):
        acc = np.int64(0)
        for k in range(K):
            xv = x[k]
            for t in range(T):
                s = t_sign[m, k, t]
                if s > 0:
                    acc += xv << t_exp[m, k, t]
                elif s < 0:
                    acc -= xv << t_exp[m, k, t]
        out[m] = acc


@njit(cache=True)
def term_pair_dot(a_sign, a_exp, b_sign, b_exp, out, pairs):
    """Term-pair dot product: out[m] = sum_k sum_t sum_u a_sign[m,k,t] * b_sign[k,u]
    * 2^(a_exp[m,k,t] + b_exp[k,u]); pairs[m] counts the term pairs with both signs
    non-zero (one shift-add each: the cost the term-quantization hardware pays).
    Exponents >= 0 with a_exp + b_exp <= 62; int64 accumulation, callers guarantee the
    sum of |terms| < 2^63."""
    M, K, T = a_sign.shape
    U = b_sign.shape[1]
    for m in range(M):
        acc = np.int64(0)
        np_ = np.int64(0)
        for k in range(K):
            for t in range(T):
                sa = a_sign[m, k, t]
                if sa == 0:
                    continue
                for u in range(U):
                    sb = b_sign[k, u]
                    if sb == 0:
                        continue
                    np_ += 1
                    term = np.int64(1) << (a_exp[m, k, t] + b_exp[k, u])
                    if sa * sb > 0:
                        acc += term
                    else:
                        acc -= term
        out[m] = acc
        pairs[m] = np_


@njit(cache=True)
def pwlq_dot(region, neg, level, x, nregions, out):
    """Multi-accumulator dot product of PWLQ-coded weights (M, K) with integers x (K,).

    For each row m and region j: out[m, j, 0] = sum over k in region j of ±level * x[k]
    (the region's uniform accumulator), out[m, j, 1] = sum over k in region j of ±x[k]
    (the activation sum that the region's offset multiplies). With region j spanning
    [b_j, b_{j+1}] in N steps, w·x = sum_j ((b_{j+1} - b_j) / N) * out[m,j,0] + b_j * out[m,j,1].
    int64 accumulation (callers bound it)."""
    M, K = region.shape
    for m in range(M):
        for j in range(nregions):
            out[m, j, 0] = 0
            out[m, j, 1] = 0
        for k in range(K):
            j = region[m, k]
            xv = x[k]
            if neg[m, k]:
                xv = -xv
            out[m, j, 0] += level[m, k] * xv
            out[m, j, 1] += xv


# ---------------------------------------------------------------------------------------
# SPARQ
# ---------------------------------------------------------------------------------------


@njit(cache=True)
def _sparq_window(a, opt, rnd):
    """Trim an 8-bit unsigned a (0..255) to a 4-bit window placed by its leading one.

    opt 5: windows 0xF0, 0x78, 0x3C, 0x1E, 0x0F chosen by the highest set bit among bits
    7, 6, 5, 4 (else 0x0F); opt 3: 0xF0 if a & 0xC0, 0x3C if a & 0x30, else 0x0F; opt 2:
    0xF0 if a & 0xF0 else 0x0F. rnd: round half to even at the bit below the window
    (round up when that bit is set and the window's lowest bit or any lower bit is set),
    and a carry out of the window saturates to the window mask."""
    if opt == 5:
        if a & 0x80:
            sh = 4
        elif a & 0x40:
            sh = 3
        elif a & 0x20:
            sh = 2
        elif a & 0x10:
            sh = 1
        else:
            sh = 0
    elif opt == 3:
        if a & 0xC0:
            sh = 4
        elif a & 0x30:
            sh = 2
        else:
            sh = 0
    else:
        sh = 4 if a & 0xF0 else 0
    mask = np.int64(0x0F) << sh
    h = a & mask
    if rnd and sh > 0:
        rb = np.int64(1) << (sh - 1)
        if (a & rb) != 0 and ((a & (rb << 1)) != 0 or (a & (rb - 1)) != 0):
            h += rb << 1
            if h > mask:
                h = mask
    return h


@njit(cache=True)
def sparq_trim(a, opt, rnd, pair, out):
    """bSPARQ / vSPARQ trimming of unsigned 8-bit activations a (R, K) along axis 1.

    pair False (bSPARQ): out = window(a) for every element (``_sparq_window``).
    pair True (vSPARQ): elements (2i, 2i+1) of a row form a pair; if either is zero the
    other keeps all 8 bits, else both are trimmed; an odd last element pairs with an
    implicit zero and keeps its 8 bits."""
    R, K = a.shape
    for r in range(R):
        if not pair:
            for k in range(K):
                out[r, k] = _sparq_window(a[r, k], opt, rnd)
            continue
        for k in range(0, K, 2):
            a1 = a[r, k]
            a2 = a[r, k + 1] if k + 1 < K else np.int64(0)
            if a1 == 0 or a2 == 0:
                out[r, k] = a1
                if k + 1 < K:
                    out[r, k + 1] = a2
            else:
                out[r, k] = _sparq_window(a1, opt, rnd)
                out[r, k + 1] = _sparq_window(a2, opt, rnd)


@njit(cache=True)
def sparq_matmul(a, w, opt, rnd, pair, out):
    """out[r, c] = sum_k trim(a)[r, k] * w[k, c]: the SPARQ MAC array (trimming as
    ``sparq_trim`` along k, computed on the fly per pair), exact int64."""
    R, K = a.shape
    C = w.shape[1]
    h = np.zeros(K, np.int64)
    for r in range(R):
        for k in range(0, K, 2):
            a1 = a[r, k]
            a2 = a[r, k + 1] if k + 1 < K else np.int64(0)
            if pair and (a1 == 0 or a2 == 0):
                h[k] = a1
                if k + 1 < K:
                    h[k + 1] = a2
            else:
                h[k] = _sparq_window(a1, opt, rnd)
                if k + 1 < K:
                    h[k + 1] = _sparq_window(a2, opt, rnd)
        for c in range(C):
            acc = np.int64(0)
            for k in range(K):
                acc += h[k] * w[k, c]
            out[r, c] = acc

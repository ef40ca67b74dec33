"""Slow, obviously-correct reference for refquant.intops: the published gemmlowp / TFLite
fixed-point algorithms written out with Python integers and C semantics (truncating
division, arithmetic shifts, int32 wrap-around), and integer matrix products as plain
loops over Python integers."""
from __future__ import annotations

import math
from fractions import Fraction

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def c_div(a: int, b: int) -> int:
    """C integer division: the quotient truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def wrap32(v: int) -> int:
    return ((v + (1 << 31)) % (1 << 32)) - (1 << 31)


def srdhm(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return c_div(ab + nudge, 1 << 31)


def rdbpot(x: int, e: int) -> int:
    """gemmlowp RoundingDivideByPOT (two's complement & and arithmetic >>)."""
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def quantize_multiplier(m: float, single_rounding=False):
    """TFLite QuantizeMultiplier (std::frexp, TfLiteRound = round half away)."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    t = Fraction(q) * (1 << 31)
    fl = math.floor(t)
    q_fixed = fl + 1 if t - fl >= Fraction(1, 2) else fl  # q > 0: half away == half up
    assert q_fixed <= 1 << 31
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if single_rounding and shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift


def mbqm(x: int, q: int, shift: int, single_rounding=False) -> int:
    """TFLite MultiplyByQuantizedMultiplier."""
    if single_rounding:
        total = 31 - shift
        return (x * q + (1 << (total - 1))) >> total
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rdbpot(srdhm(wrap32(x * (1 << left)), q), right)


def round_half_even(v: Fraction) -> int:
    fl = math.floor(v)
    r = v - fl
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2):
        return fl + 1
    return fl


def dyadic_scale(s: float, bits=31):
    frac, ex = math.frexp(s)
    t = Fraction(frac) * (1 << bits)
    m = math.floor(t + Fraction(1, 2))
    return m, bits - ex


def dyadic_requantize(acc: int, m: int, e: int, lo: int, hi: int, z: int = 0) -> int:
    """clamp(round_half_even(acc * m / 2^e) + z) with exact rationals."""
    return min(max(round_half_even(Fraction(acc * m, 1 << e)) + z, lo), hi)


def gemm(a, b, az=0, bz=0, bias=None, acc_bits=32, overflow="wrap", pair_saturate=None):
    """a, b: nested lists (M x K, K x N) of ints; az per row or scalar, bz per column or
    scalar; returns nested lists. Saturation is applied after every addition, k ascending.

    pair_saturate=p: the terms added to the accumulator are, for k = 0, 2, 4, ...,
    clamp_p(a[i][k] * b[k][j] + a[i][k+1] * b[k+1][j]) of the raw codes (the second
    product 0 when k + 1 == K; clamp_p to [-2^(p-1), 2^(p-1) - 1]), followed by one term
    -zj * sum_k a[i][k] - zi * sum_k b[k][j] + K * zi * zj (not clamped to p bits)."""
    overflow = getattr(overflow, "name", overflow).lower()  # an Overflow member or its name
    M, K, N = len(a), len(b), len(b[0])
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    out = []
    for i in range(M):
        zi = az[i] if isinstance(az, (list, tuple)) else az
        row = []
        for j in range(N):
            zj = bz[j] if isinstance(bz, (list, tuple)) else bz
            acc = 0 if bias is None else bias[i][j]
            if overflow == "saturate":
                acc = min(max(acc, lo), hi)
            if pair_saturate is None:
                terms = [(a[i][k] - zi) * (b[k][j] - zj) for k in range(K)]
            else:
                plo, phi = -(1 << (pair_saturate - 1)), (1 << (pair_saturate - 1)) - 1
                terms = []
                for k in range(0, K, 2):
                    pair = a[i][k] * b[k][j]
                    if k + 1 < K:
                        pair += a[i][k + 1] * b[k + 1][j]
                    terms.append(min(max(pair, plo), phi))
                terms.append(-zj * sum(a[i][k] for k in range(K))
                             - zi * sum(b[k][j] for k in range(K)) + K * zi * zj)
            for term in terms:
                acc += term
                if overflow == "saturate":
                    acc = min(max(acc, lo), hi)
            if overflow == "wrap":
                acc = (acc - lo) % (1 << acc_bits) + lo
            row.append(acc)
        out.append(row)
    return out


def conv2d(x, w, xz, wz, stride, pads, dilation, groups, bias=None):
    """Direct NCHW convolution on Python ints (exact). pads = (top, left, bottom, right)."""
    N, C, H, W = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    O, Cg, KH, KW = len(w), len(w[0]), len(w[0][0]), len(w[0][0][0])
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads
    Ho = (H + pt + pb - dh * (KH - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (KW - 1) - 1) // sw + 1
    og = O // groups
    out = [[[[0] * Wo for _ in range(Ho)] for _ in range(O)] for _ in range(N)]
    for n in range(N):
        for o in range(O):
            g = o // og
            zo = wz[o] if isinstance(wz, (list, tuple)) else wz
            for i in range(Ho):
                for j in range(Wo):
                    acc = 0 if bias is None else bias[o]
                    for c in range(Cg):
                        for u in range(KH):
                            for v in range(KW):
                                hh = i * sh + u * dh - pt
                                ww = j * sw + v * dw - pl
                                if 0 <= hh < H and 0 <= ww < W:
                                    xv = x[n][g * Cg + c][hh][ww] - xz
                                else:
                                    xv = 0
                                acc += xv * (w[o][c][u][v] - zo)
                    out[n][o][i][j] = acc
    return out

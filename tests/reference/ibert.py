"""Slow reference of I-BERT's integer-only algorithms (Kim et al. 2021, Algorithms 1-4 and
the softmax / LayerNorm built on them), on Python ints and Fractions, element by element.

Written from the paper's equations, independently of refquant: the scale-dependent
constants are exact floors of rational numbers (sqrt(2) handled through integer square
roots of 2 p^2; ln 2 as a 64-digit decimal). Each function returns what the matching
refquant.intops function returns: (nested lists of ints, output scale as a Fraction).
"""
from __future__ import annotations

import math
from fractions import Fraction

ERF = (Fraction("-0.2888"), Fraction("-1.769"), Fraction(1))
EXP = (Fraction("0.3585"), Fraction("1.353"), Fraction("0.344"))
LN2 = Fraction("0.6931471805599453094172321214581765680755001343602552541206800094")


def floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def floor_times_root2(r: Fraction) -> int:
    """floor(r * sqrt 2): sqrt(2 p^2) is irrational for p != 0."""
    p, q = r.numerator, r.denominator
    if p == 0:
        return 0
    f = math.isqrt(2 * p * p)
    if p > 0:
        return f // q
    return -((f // q) + 1)


def sgn(v: int) -> int:
    return (v > 0) - (v < 0)


def poly(q: int, S: Fraction, a: Fraction, b: Fraction, c: Fraction):
    """Algorithm 1: q_b = floor(b/S), q_c = floor(c/(a S^2)), (q + q_b)^2 + q_c, a S^2."""
    qb = floor(b / S)
    qc = floor(c / (a * S * S))
    return (q + qb) ** 2 + qc, a * S * S


def erf(q: int, S: Fraction, root2: bool = False):
    """Algorithm 2 (I-ERF) at scale S, or at S / sqrt 2 when root2."""
    a, b, c = ERF
    if root2:
        qb = floor_times_root2(b / S)
        s2 = S * S / 2
    else:
        qb = floor(b / S)
        s2 = S * S
    qc = floor(c / (a * s2))
    clipped = min(abs(q), -qb)
    return sgn(q) * ((clipped + qb) ** 2 + qc), a * s2


def gelu(q: int, S: Fraction):
    """Algorithm 2 (I-GELU): q (q_erf + floor(1 / S_erf)), S S_erf / 2."""
    qe, Se = erf(q, S, root2=True)
    q1 = floor(1 / Se)
    return q * (qe + q1), S * Se / 2


def exp(q: int, S: Fraction):
    """Algorithm 3 (I-EXP) for q <= 0."""
    assert q <= 0
    a, b, c = EXP
    qln2 = floor(LN2 / S)
    z = (-q) // qln2
    qp = q + z * qln2
    qL, SL = poly(qp, S, a, b, c)
    return qL >> z, SL          # floor(q_L / 2^z) (Python ints shift arithmetically)


def isqrt_newton(n: int) -> int:
    """Algorithm 4 (I-SQRT)."""
    if n == 0:
        return 0
    x = 2 ** math.ceil(n.bit_length() / 2)
    while True:
        y = (x + n // x) // 2
        if y >= x:
            return x
        x = y


def softmax_row(row: list[int], S: Fraction, out_bits: int) -> list[int]:
    m = max(row)
    e = [exp(v - m, S)[0] for v in row]
    s = sum(e)
    f = 2 ** 62 // s
    return [min(v * f // 2 ** (62 - out_bits), 2 ** out_bits - 1) for v in e]


def layernorm_row(row: list[int], frac_bits: int, gamma: list[int], beta: list[int]) -> list[int]:
    n = len(row)
    mu = sum(row) // n
    y = [v - mu for v in row]
    var = sum(t * t for t in y)
    sigma = isqrt_newton(var)
    f = 2 ** 31 // sigma if sigma else 0
    return [(t * f) // 2 ** (31 - frac_bits) * g + bb for t, g, bb in zip(y, gamma, beta)]

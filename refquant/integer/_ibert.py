"""I-BERT's integer-only nonlinear operations (Kim et al., ICML 2021, arXiv 2101.01321):
validating wrappers that take integer codes with their scale and return integer codes
with the output scale. The constants that depend on the scale (q_b = floor(b / S), ...)
are formed here, exactly in rational arithmetic; the kernels (``refquant.kernels.ibert``)
then use integer arithmetic only. Equations and rounding (floor) follow the paper's
Algorithms 1 to 4; see docs/sources.md."""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from .._validate import check_int, check_real, int_array, norm_axis

_k = kernels("ibert")

__all__ = ["i_poly", "i_erf", "i_gelu", "i_exp", "i_sqrt", "i_softmax", "i_layernorm",
           "ERF_COEFFS", "EXP_COEFFS", "LN2"]

#: (a, b, c) of L(x) = sgn(x) [a (min(|x|, -b) + b)^2 + c], I-BERT's erf approximation
ERF_COEFFS = (Fraction("-0.2888"), Fraction("-1.769"), Fraction(1))
#: (a, b, c) of exp(p) ~ a (p + b)^2 + c on p in (-ln 2, 0], I-BERT's i-exp
EXP_COEFFS = (Fraction("0.3585"), Fraction("1.353"), Fraction("0.344"))
#: ln 2 as a 64-digit decimal (exact rational): q_ln2 = floor(LN2 / S)
LN2 = Fraction("0.6931471805599453094172321214581765680755001343602552541206800094")

_I64 = (1 << 63) - 1


def _scale(scale: Any, param: str = "scale") -> Fraction:
    """A scale as an exact rational: a real number, finite and > 0."""
    s = check_real(scale, param)
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"{param} must be finite and > 0, got {s}")
    return Fraction(s)


def _coeff(value: Any, param: str) -> Fraction:
    """A polynomial coefficient as an exact rational: ints and Fractions as they are, a
    float by its shortest decimal repr (0.3585 is 3585/10000)."""
    if isinstance(value, Fraction):
        return value
    v = check_real(value, param, finite=True)
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    return Fraction(repr(v))


def _floor(x: Fraction) -> int:
    return math.floor(x)


def _floor_root2(r: Fraction) -> int:
    """floor(r sqrt(2)) exactly, for a rational r."""
    y2 = 2 * r * r                       # (r sqrt 2)^2
    fl = math.isqrt(y2.numerator // y2.denominator)
    exact = y2.denominator == 1 and fl * fl == y2.numerator
    if r >= 0:
        return fl
    return -fl if exact else -fl - 1     # floor(-y) = -ceil(y)


def _codes(codes: npt.ArrayLike, bits: int, param: str = "codes") -> np.ndarray:
    bits = check_int(bits, "bits", 1, 63)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return int_array(codes, param, lo, hi, floats=False)


def _native_codes(codes: npt.ArrayLike, bits: int) -> np.ndarray:
    """Like ``_codes``, but a native-order signed integer array (int8..int64) is checked
    and returned as it is, without a copy to int64 (the kernel widens every read)."""
    a = np.asarray(codes)
    if a.dtype.kind != "i" or not a.dtype.isnative:
        return _codes(codes, bits)
    bits = check_int(bits, "bits", 1, 63)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if a.size:
        mn, mx = int(a.min()), int(a.max())
        if mn < lo or mx > hi:
            raise ValueError(f"codes must be in [{lo}, {hi}], got {mn if mn < lo else mx}")
    return a


def _signed_bits(lo: int, hi: int) -> int:
    """The smallest two's-complement width holding every integer in [lo, hi]."""
    return max(1, max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + 1)


def _check_out(lo: int, hi: int, out_bits: int, what: str) -> None:
    out_bits = check_int(out_bits, "out_bits", 1, 64)
    need = _signed_bits(lo, hi)
    if need > out_bits:
        raise ValueError(f"out_bits={out_bits} cannot hold {what}: its values span "
                         f"[{lo}, {hi}] over the declared input range, which needs "
                         f"{need} signed bits")
    if need > 64:
        raise ValueError(f"{what} spans [{lo}, {hi}], beyond int64; use a larger scale")


def _poly_range(lo: int, hi: int, qb: int, qc: int) -> tuple[int, int]:
    """Range of (q + qb)^2 + qc over integers q in [lo, hi]."""
    ends = [(lo + qb) ** 2, (hi + qb) ** 2]
    mn = 0 if lo <= -qb <= hi else min(ends)
    return mn + qc, max(ends) + qc


def _run(kernel: Any, q: np.ndarray, *consts: int) -> np.ndarray:
    flat = np.ascontiguousarray(q).reshape(-1)
    out = np.empty(flat.size, np.int64)
    kernel(flat, *[np.int64(c) for c in consts], out)
    return out.reshape(q.shape)


# --------------------------------------------------------------------------------------
# I-POLY, I-ERF, I-GELU
# --------------------------------------------------------------------------------------

def i_poly(codes: npt.ArrayLike, scale: float, a: Any, b: Any, c: Any, *, bits: int = 32,
           out_bits: int = 64) -> tuple[np.ndarray, float]:
    """I-POLY (I-BERT Algorithm 1): codes q with x = q S in, (q_out, S_out) out with
    q_out S_out ~ a (x + b)^2 + c:

        q_b = floor(b / S),  q_c = floor(c / (a S^2)),  S_out = a S^2,
        q_out = (q + q_b)^2 + q_c.

    The floors are exact (a, b, c and S as rationals: floats by their shortest decimal,
    so a=0.3585 is 3585/10000); S_out is the float64 nearest a S^2 and is negative when
    a < 0, as in the paper. codes: integers within ``bits`` signed bits (1..63); a != 0;
    scale finite and > 0. ``out_bits`` (1..64): the declared signed width of q_out over
    the whole declared input range, checked before computing (ValueError naming
    out_bits and the width needed). Returns (int64 codes of codes' shape, S_out).
    """
    S = _scale(scale)
    fa, fb, fc = _coeff(a, "a"), _coeff(b, "b"), _coeff(c, "c")
    if fa == 0:
        raise ValueError("a must be nonzero (the polynomial's leading coefficient)")
    q = _codes(codes, bits)
    qb, qc = _floor(fb / S), _floor(fc / (fa * S * S))
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    _check_out(*_poly_range(lo, hi, qb, qc), out_bits, "i_poly's output")
    return _run(_k.i_poly, q, qb, qc), float(fa * S * S)


def _erf_consts(S: Fraction, root2: bool) -> tuple[int, int, Fraction]:
    """(q_b, q_c, S_L) of I-ERF at scale S (root2: at S / sqrt(2), as I-GELU uses it)."""
    a, b, c = ERF_COEFFS
    s2 = S * S / 2 if root2 else S * S            # (S / sqrt 2)^2 = S^2 / 2 exactly
    qb = _floor_root2(b / S) if root2 else _floor(b / S)
    qc = _floor(c / (a * s2))
    return qb, qc, a * s2


def _erf_bound(qb: int, qc: int) -> int:
    """max |I-ERF(q)| over all q: (min(|q|, -qb) + qb)^2 lies in [0, qb^2]."""
    return max(abs(qc), abs(qb * qb + qc))


def i_erf(codes: npt.ArrayLike, scale: float, *, bits: int = 32,
          out_bits: int = 64) -> tuple[np.ndarray, float]:
    """I-ERF (I-BERT Algorithm 2): erf(x) at x = q S approximated by
    L(x) = sgn(x) [a (min(|x|, -b) + b)^2 + c], a = -0.2888, b = -1.769, c = 1, on integers:

        q_b = floor(b / S),  q_c = floor(c / (a S^2)),
        q_L = sgn(q) [(min(|q|, -q_b) + q_b)^2 + q_c],  S_L = a S^2 (< 0).

    (-q_b is the integer clip bound of the paper's -b / S.) Returned as (-q_L, -S_L), so
    that the scale is positive; the values q_L S_L are the paper's. codes within ``bits``
    signed bits; ``out_bits`` the declared output width (checked over the declared input
    range). Returns (int64 codes, scale).
    """
    S = _scale(scale)
    q = _codes(codes, bits)
    qb, qc, SL = _erf_consts(S, False)
    m = _erf_bound(qb, qc)
    _check_out(-m, m, out_bits, "i_erf's output")
    return -_run(_k.i_erf, q, qb, qc), float(-SL)


def i_gelu(codes: npt.ArrayLike, scale: float, *, bits: int = 8,
           out_bits: int = 32) -> tuple[np.ndarray, float]:
    """I-GELU (I-BERT Algorithm 2): GELU(x) = x/2 [1 + erf(x / sqrt 2)] at x = q S:

        (q_erf, S_erf) = I-ERF(q, S / sqrt 2),  q_1 = floor(1 / S_erf),
        q_out = q (q_erf + q_1),  S_out = S S_erf / 2  (< 0, as S_erf < 0).

    With S' = S / sqrt 2: q_b = floor(b / S') = floor(b sqrt(2) / S) (exact, by integer
    square roots), q_c = floor(c / (a S'^2)) = floor(2 c / (a S^2)), S_erf = a S^2 / 2.
    Returned as (-q_out, -S_out) so that the scale is positive. codes within ``bits``
    signed bits (default 8); ``out_bits`` (default 32) the declared output width, checked
    over the declared input range. Returns (int64 codes, scale).
    """
    S = _scale(scale)
    q = _codes(codes, bits)
    qb, qc, Serf = _erf_consts(S, True)
    q1 = _floor(1 / Serf)
    m = _erf_bound(qb, qc)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    cands = [x * (e + q1) for x in (lo, hi) for e in (-m, m)]
    _check_out(min(cands), max(cands), out_bits, "i_gelu's output")
    return -_run(_k.i_gelu, q, qb, qc, q1), float(-(S * Serf / 2))


# --------------------------------------------------------------------------------------
# I-EXP, I-SOFTMAX
# --------------------------------------------------------------------------------------

def _exp_consts(S: Fraction) -> tuple[int, int, int, Fraction]:
    a, b, c = EXP_COEFFS
    qln2 = _floor(LN2 / S)
    if qln2 < 1:
        raise ValueError(f"scale must be <= ln 2 (so that q_ln2 = floor(ln 2 / S) >= 1), "
                         f"got {float(S)}")
    qb, qc = _floor(b / S), _floor(c / (a * S * S))
    top = qb * qb + qc
    if top.bit_length() > 62:
        raise ValueError(f"scale={float(S)} too small: i-exp values reach {top}, beyond "
                         "2^62; requantize the input to a larger scale first")
    return qln2, qb, qc, a * S * S


def i_exp(codes: npt.ArrayLike, scale: float, *, bits: int = 32,
          out_bits: int = 64) -> tuple[np.ndarray, float]:
    """I-EXP (I-BERT Algorithm 3): exp(x) at x = q S <= 0 by range reduction with ln 2:

        q_ln2 = floor(ln 2 / S),  z = floor(-q / q_ln2),  q_p = q + z q_ln2,
        (q_L, S_L) = I-POLY(q_p, S) with a, b, c = 0.3585, 1.353, 0.344,
        q_out = q_L >> z  (floor(q_L / 2^z)),  S_out = S_L = 0.3585 S^2.

    exp(p) ~ 0.3585 (p + 1.353)^2 + 0.344 on p in (-ln 2, 0] and exp(x) = 2^-z exp(p).
    ln 2 enters as the 64-digit decimal ``LN2``. codes must be <= 0 (ValueError otherwise;
    subtract the maximum first, as softmax does) and within ``bits`` signed bits; scale
    <= ln 2. q_out lies in [0, q_b^2 + q_c], checked against ``out_bits`` before
    computing. Returns (int64 codes, S_out).
    """
    S = _scale(scale)
    q = _codes(codes, bits)
    if q.size and int(q.max()) > 0:
        raise ValueError(f"codes must be <= 0 (i-exp takes x <= 0), got {int(q.max())}")
    qln2, qb, qc, SL = _exp_consts(S)
    _check_out(0, qb * qb + qc, out_bits, "i_exp's output")
    return _run(_k.i_exp, q, qln2, qb, qc), float(SL)


def i_softmax(codes: npt.ArrayLike, scale: float, *, axis: int = -1, bits: int = 32,
              out_bits: int = 8) -> tuple[np.ndarray, float]:
    """I-BERT's integer softmax along ``axis``: per row, q~ = q - max(q) (row maximum
    subtracted), e = I-EXP(q~, S), s = sum(e) in int64, and

        f = floor(2^62 / s),  out = min(floor(e f / 2^(62 - out_bits)), 2^out_bits - 1),
        S_out = 2^-out_bits,

    unsigned ``out_bits``-bit probabilities (1..30, default 8, I-BERT's output_bit); the
    single value 1.0 (every other e zero) saturates to 1 - 2^-out_bits. One division per
    row, as in I-BERT's released code (factor = floor(2^32 / sum), here 2^62); out equals
    floor(e 2^out_bits / s) or is 1 below it. codes within
    ``bits`` signed bits (default 32: the int32 scores of Q K^T). Every intermediate is
    bounded before computing: e <= q_b^2 + q_c, and s <= n (q_b^2 + q_c) must stay below 2^62
    (ValueError naming scale otherwise). Returns (int64 codes of codes' shape, S_out).
    """
    S = _scale(scale)
    out_bits = check_int(out_bits, "out_bits", 1, 30)
    q = _native_codes(codes, bits)
    if q.ndim == 0:
        raise ValueError("codes must have at least one dimension (softmax runs along axis)")
    ax = norm_axis(axis, q.ndim)
    qln2, qb, qc, _ = _exp_consts(S)
    top = qb * qb + qc
    n = q.shape[ax]
    if n == 0:
        raise ValueError(f"codes has length 0 along axis {axis}; softmax needs >= 1 element")
    if (top * n).bit_length() > 62:
        raise ValueError(f"scale={float(S)} too small for i_softmax over {n} elements with "
                         f"out_bits={out_bits}: i-exp values reach {top}, and their sum would "
                         "reach 2^62")
    moved = np.moveaxis(q, ax, -1)
    flat = np.ascontiguousarray(moved).reshape(-1, n)
    out = np.empty(flat.shape, np.int64)
    if flat.size:
        _k.i_softmax(flat, np.int64(qln2), np.int64(qb), np.int64(qc), np.int64(out_bits), out)
    return np.moveaxis(out.reshape(moved.shape), -1, ax), 2.0 ** -out_bits


# --------------------------------------------------------------------------------------
# I-SQRT, I-LAYERNORM
# --------------------------------------------------------------------------------------

def i_sqrt(n: npt.ArrayLike) -> np.ndarray:
    """I-SQRT (I-BERT Algorithm 4): floor(sqrt(n)) of integers 0 <= n < 2^63 by Newton's
    iteration x_{i+1} = floor((x_i + floor(n / x_i)) / 2) from x_0 = 2^ceil(bits(n) / 2),
    stopping when x_{i+1} >= x_i (0 for n = 0). Returns int64 of n's shape."""
    v = int_array(n, "n", 0, _I64, floats=False)
    return _run(_k.i_sqrt, v)


def i_layernorm(codes: npt.ArrayLike, scale: float, gamma: npt.ArrayLike | None = None,
                beta: npt.ArrayLike | None = None, *, gamma_scale: float = 1.0,
                frac_bits: int = 14, bits: int = 16,
                out_bits: int = 32) -> tuple[np.ndarray, float]:
    """Integer LayerNorm over the last axis (I-BERT, section 3.6: the standard deviation by
    I-SQRT), per row of n codes:

        mu = floor(sum(q) / n),  y = q - mu,  var = sum(y^2),  sigma = I-SQRT(var),
        f = floor(2^31 / sigma)  (0 when sigma = 0: then every y is 0),
        z = floor(y f / 2^(31 - frac_bits)),  out = z gamma + beta,
        S_out = sqrt(n) 2^-frac_bits gamma_scale.

    z / 2^frac_bits ~ y / sigma, so z sqrt(n) / 2^frac_bits ~ (x - mean) / std (the input
    scale cancels; it is checked, finite and > 0, but does not enter). gamma: integer
    codes, one per column (default all 1) at ``gamma_scale``; beta: integer codes at
    S_out, one per column (default 0). frac_bits in 0..31. codes within ``bits`` signed
    bits, with n 2^(2 bits) < 2^63 so that var fits int64 (ValueError naming bits
    otherwise). |z| <= 2^(frac_bits + 1), so the output spans at most
    2^(frac_bits + 1) max|gamma| + max|beta|, checked against ``out_bits``.
    Returns (int64 codes of codes' shape, S_out).
    """
    _scale(scale)
    gs = _scale(gamma_scale, "gamma_scale")
    k = check_int(frac_bits, "frac_bits", 0, 31)
    q = _codes(codes, bits)
    if q.ndim == 0 or q.shape[-1] == 0:
        raise ValueError(f"codes must have a nonempty last axis, got shape {q.shape}")
    n = q.shape[-1]
    if n * (1 << (2 * bits)) >= 1 << 63:
        raise ValueError(f"bits={bits} too wide for a LayerNorm over {n} elements: the "
                         f"variance sum needs n 2^(2 bits) < 2^63 (bits <= "
                         f"{(62 - (n - 1).bit_length()) // 2})")
    g = (np.ones(n, np.int64) if gamma is None
         else int_array(gamma, "gamma", -(1 << 31), (1 << 31) - 1, floats=False))
    bt = (np.zeros(n, np.int64) if beta is None
          else int_array(beta, "beta", -(1 << 62), 1 << 62, floats=False))
    for name, arr in (("gamma", g), ("beta", bt)):
        if arr.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) (one per column), got {arr.shape}")
    zmax = 1 << (k + 1)
    gm, bm = int(np.abs(g).max()), int(np.abs(bt).max())
    _check_out(-(zmax * gm + bm), zmax * gm + bm, out_bits, "i_layernorm's output")
    flat = np.ascontiguousarray(q).reshape(-1, n)
    out = np.empty_like(flat)
    if flat.size:
        _k.i_layernorm(flat, np.int64(k), g, bt, out)
    return out.reshape(q.shape), float(math.sqrt(n) * 2.0 ** -k * float(gs))

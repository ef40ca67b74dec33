"""The power-of-two family's functions: logarithmic quantization, APoT level sets,
signed-digit terms and term quantization, SPARQ, PWLQ breakpoints and errors, and the
exact integer dot products of each format's hardware.

Sources and what was checked:

* LogQuant: Miyashita, Lee, Murmann, arXiv 1603.01025: x~ = clip(round(log2|x|),
  FSR - 2^bits, FSR - 1), the lowest code meaning zero; base sqrt(2): x~ = round(2 log2|x|).
* APoT: ``build_power_value`` of yhhhli/APoT_Quantization (read from the repository,
  ImageNet/models/quant_layer.py): for B = 2..6 the base lists are built as in
  ``refquant.formats.pow2.build_power_value_terms``, the levels are every sum of one
  entry of each list, made a set and divided by its maximum (in float32 there; exactly
  here). Weights use B = bits - 1 with a sign, activations B = bits; projection is the
  nearest level (argmin |x - level|).
* Term quantization: Kung, McDanel, Zhang, arXiv 2007.06389 and
  BradMcDanel/term-quantization (kernels/tr_cuda_kernel.cu, read): the HESE encoding
  there scans bits from the top: a lone one gives +2^i, the top of a run of two or more
  ones gives +2^(h+1) and its bottom -2^l. It is not always minimal (91 = 1011011b has 5
  HESE terms, NAF 128 - 32 - 4 - 1 has 4); NAF is offered as encoding 'naf' and is the
  minimum over all signed-digit forms (tested). Selection: per group, ``budget`` times
  take the largest head term (strict >, so ties go to the lowest index), stop when none
  remain.
* SPARQ: Shomron et al., arXiv 2105.11010 and gilshm/sparq (cu_gemm_2x48, read): window
  masks and selection bits as in ``refquant.kernels.pow2._sparq_window``; rounding adds
  one window LSB when the bit below the window is set and (the window LSB or any lower
  bit) is set (round half to even), and a result equal to the next power of two
  saturates to the mask; vSPARQ takes consecutive pairs along the reduction axis and
  keeps 8 bits when the partner is zero (an odd tail pairs with zero).
* PWLQ: Fang et al., arXiv 2002.00104: error model E(p) = C [(m-p)^2 + m(2p-m)(2F(p)-1)]
  (F the standard CDF), closed forms p* = ln(0.86143114 m + 0.607901097) (Gaussian) and
  0.80304483 sqrt(m) - 0.31667855 (Laplace). At p = m/4 the model gives at most 9/16 of
  the uniform error C m^2 for any distribution, hence the paper's bound for the optimum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .affine import as_real_array
from .formats.base import as_format, check_int
from .formats.pow2 import (APoTFormat, LogFormat, NHotFormat, PWLQFormat,
                           apot_level_terms)
from .modes import Rounding

__all__ = ["log_quantize", "apot_levels", "apot_terms", "term_encode", "term_counts",
           "term_quantize", "TermQuantized", "term_pair_dot", "sparq", "sparq_dot",
           "pwlq_breakpoint", "pwlq_error_model", "pwlq_compare", "pwlq_dot", "shift_dot",
           "DotResult", "nhot_truncate", "ENCODINGS", "SPARQ_WINDOWS"]

ENCODINGS = {"binary": 0, "hese": 1, "naf": 2}
SPARQ_WINDOWS = {"5opt": 5, "3opt": 3, "2opt": 2}
_LIMIT = 2.0 ** 62


def _int_array(values, param):
    a = np.asarray(values)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{param} must be an integer array, got dtype {a.dtype}")
    if a.dtype == np.uint64 and a.size and a.max() >= 2 ** 63:
        raise ValueError(f"{param} has values >= 2^63")
    return a.astype(np.int64)


def _check_term_range(v):
    # compare both ends: np.abs(-2^63) wraps to a negative number
    if v.size and (v.max() >= 2 ** 61 or v.min() <= -2 ** 61):
        raise ValueError("values out of range; allowed |v| < 2^61")


def _check_axis(axis):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    return int(axis)


def _check_bool(value, param):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{param} must be a bool, got {type(value).__name__}")
    return bool(value)


def _encoding(encoding):
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding={encoding!r}; allowed: {', '.join(ENCODINGS)}")
    return ENCODINGS[encoding]


# ---------------------------------------------------------------------------------------
# Logarithmic and APoT
# ---------------------------------------------------------------------------------------

def log_quantize(x, bits, fsr, base=2, domain="log", rounding=Rounding.NEAREST_EVEN):
    """LogQuant of Miyashita et al.: 0 or sign(x) base^x~ with
    x~ = clip(round(log_base|x|), FSR - 2^bits, FSR - 1), the lowest x~ meaning 0.

    bits: exponent-code bits (1..10; the sign is extra). fsr: int. base: 2 or 'sqrt2'
    (also accepted: math.sqrt(2)); for sqrt(2), x~ and FSR count half octaves.
    domain='log' rounds in the log domain (threshold base^(k+1/2)); 'linear' rounds to the
    nearest level (threshold at the arithmetic mean; ties to the even exponent code).
    Values above base^(FSR-1) saturate, ±inf saturate, NaN raises ValueError.
    Returns float64 (base-sqrt(2) levels with odd x~ are correctly rounded)."""
    if isinstance(base, float) and base == math.sqrt(2.0):
        base = "sqrt2"
    if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool):
        raise TypeError(f"bits must be an int, got {type(bits).__name__}")
    if not 1 <= bits <= 10:
        raise ValueError(f"bits={bits} out of range; allowed 1..10")
    if not isinstance(fsr, (int, np.integer)) or isinstance(fsr, bool):
        raise TypeError(f"fsr must be an int, got {type(fsr).__name__}")
    fmt = LogFormat(int(bits) + 1, int(fsr), base, True, domain)
    return fmt.quantize(x, rounding)


def apot_levels(bits, normalized=True):
    """The APoT level set of ``build_power_value(B=bits)`` (bits 2..6), ascending.

    normalized=True: divided by the maximum as the reference does (each level the
    correctly rounded float64 of the exact quotient); False: the exact sums of powers of
    two that the hardware adds."""
    if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool):
        raise TypeError(f"bits must be an int, got {type(bits).__name__}")
    if not 2 <= bits <= 6:
        raise ValueError(f"bits={bits} out of range; allowed 2..6")
    normalized = _check_bool(normalized, "normalized")
    levels, _ = apot_level_terms(int(bits))
    if normalized:
        top = levels[-1]
        return np.array([float(v / top) for v in levels])
    return np.array([float(v) for v in levels])


def apot_terms(bits):
    """Each level of apot_levels(bits, normalized=False) as its power-of-two terms:
    an (L, 3) int64 array of exponents e (term 2^-e), -1 where absent, largest first."""
    bits = check_int(bits, 2, 6, "bits")
    _, terms = apot_level_terms(bits)
    out = np.full((len(terms), 3), -1, np.int64)
    for j, es in enumerate(terms):
        out[j, :len(es)] = es
    return out


# ---------------------------------------------------------------------------------------
# Dot products of power-of-two coded weights
# ---------------------------------------------------------------------------------------

@dataclass
class DotResult:
    """Exact dot product(s): value = (acc + acc_sqrt2 * sqrt(2)) * 2^exp, with acc
    (and acc_sqrt2, present for base-sqrt(2) logarithmic formats) int64 arrays.
    ``pairs`` counts the shift-add operations (term pairs) per output."""

    acc: np.ndarray
    exp: int
    acc_sqrt2: np.ndarray | None = None
    pairs: np.ndarray | None = None

    def fractions(self):
        """Exact values as Fractions (only when there is no sqrt(2) part)."""
        if self.acc_sqrt2 is not None and np.any(self.acc_sqrt2 != 0):
            raise ValueError("the result has an irrational sqrt(2) part; use acc/acc_sqrt2")
        sc = Fraction(2) ** self.exp
        return [Fraction(int(a)) * sc for a in np.ravel(self.acc)]

    def to_float(self):
        """float64 values (rounded)."""
        v = self.acc.astype(np.float64)
        if self.acc_sqrt2 is not None:
            v = v + self.acc_sqrt2.astype(np.float64) * math.sqrt(2.0)
        return np.ldexp(v, self.exp)


def _terms_of_codes(fmt, codes):
    """(sign (..., T), exponent (..., T) >= 0, E, parity (..., T) or None): value of each
    code = sum_t sign * 2^(exp - E) (times sqrt(2)^parity for base-sqrt(2) logs)."""
    if isinstance(fmt, LogFormat):
        sign, k = fmt.exponents(codes)
        if fmt.base == "sqrt2":
            q, r = np.divmod(k, 2)
            qmin = fmt.kmin // 2
            return sign[..., None], (q - qmin)[..., None] * (sign[..., None] != 0), -qmin, r[..., None]
        return sign[..., None], (k - fmt.kmin)[..., None] * (sign[..., None] != 0), -fmt.kmin, None
    if isinstance(fmt, APoTFormat):
        neg, idx = fmt.split(codes)
        tab, E = fmt.term_shifts
        sh = tab[idx]
        sign = np.where(sh >= 0, np.where(neg[..., None] == 1, -1, 1), 0).astype(np.int64)
        return sign, np.where(sh >= 0, sh, 0), E, None
    if isinstance(fmt, NHotFormat):
        sign, exp = fmt.terms(codes)
        return sign, exp, 0, None
    raise TypeError(f"shift_dot supports log, APoT and n-hot formats; got {fmt.name}")


def _bound_check(bound, what):
    if not bound < _LIMIT:
        raise OverflowError(f"{what}: the exact result may exceed the int64 accumulator "
                            f"(bound {bound:.3g} >= 2^62)")


def shift_dot(w_codes, w_fmt, x, x_fmt=None):
    """Exact dot product of power-of-two coded weights with x, as the shift-add hardware
    computes it.

    w_codes: codes of ``w_fmt`` (a log, APoT or n-hot format or name), shape (K,) or
    (M, K). x: integers (K,) (one side quantized: each weight term shifts x), or, with
    ``x_fmt``, codes of a second power-of-two format (both sides quantized: each pair of
    terms adds exponents and shifts a one). Returns a DotResult equal to the dot product
    of the decoded values (w_fmt.decode(w) . x_fmt.decode(x)), exactly; base-sqrt(2)
    logs return the rational and sqrt(2) parts separately. int64 accumulation; raises
    OverflowError when the exact result could exceed it."""
    from .kernels.pow2 import term_pair_dot, terms_dot
    w_fmt = as_format(w_fmt)
    wc = np.asarray(w_codes)
    one = wc.ndim == 1
    if wc.ndim not in (1, 2):
        raise ValueError(f"w_codes must be 1-d or 2-d, got {wc.ndim} dimensions")
    wc = wc.reshape(1, -1) if one else wc
    ws, we, wE, wr = _terms_of_codes(w_fmt, wc)
    K = wc.shape[1]
    if x_fmt is None:
        xi = _int_array(x, "x").reshape(-1)
        if xi.size != K:
            raise ValueError(f"x has {xi.size} elements; w_codes has K={K}")
        xs = np.where(xi != 0, np.sign(xi), 0)[:, None]
        bound = float(np.abs(xi).astype(np.float64) @ np.max(
            np.where(ws != 0, np.ldexp(1.0, we), 0.0).sum(axis=-1), axis=0)) if K else 0.0
        _bound_check(bound, "shift_dot")
        xE, xr = 0, None
    else:
        x_fmt = as_format(x_fmt)
        xc = np.asarray(x).reshape(-1)
        if xc.size != K:
            raise ValueError(f"x has {xc.size} codes; w_codes has K={K}")
        xsg, xe, xE, xr = _terms_of_codes(x_fmt, xc)
        wmax = np.where(ws != 0, np.ldexp(1.0, we), 0.0).sum(axis=-1).max(axis=0)
        xmax = np.where(xsg != 0, np.ldexp(1.0, xe), 0.0).sum(axis=-1)
        _bound_check(float(wmax @ xmax) if K else 0.0, "shift_dot")
    M = wc.shape[0]

    def run(ws_, we_, xs_=None, xe_=None):
        out = np.empty(M, np.int64)
        pairs = np.empty(M, np.int64)
        if x_fmt is None:
            terms_dot(np.ascontiguousarray(ws_), np.ascontiguousarray(we_), xi, out)
            pairs[:] = ((ws_ != 0) & (xi[None, :, None] != 0)).sum(axis=(1, 2))
        else:
            term_pair_dot(np.ascontiguousarray(ws_), np.ascontiguousarray(we_),
                          np.ascontiguousarray(xs_), np.ascontiguousarray(xe_), out, pairs)
        return out, pairs

    parity = wr is not None or (x_fmt is not None and xr is not None)
    if not parity:
        acc, pairs = run(ws, we, *(() if x_fmt is None else (xsg, xe)))
        res = DotResult(acc, -(wE + xE), None, pairs)
    else:
        # split by total parity of the sqrt(2) exponents: even -> 2^q, odd -> 2^q sqrt(2)
        wrr = np.zeros_like(ws) if wr is None else wr
        if x_fmt is None:
            acc0, p0 = run(np.where(wrr == 0, ws, 0), we)
            acc1, p1 = run(np.where(wrr == 1, ws, 0), we)
            res = DotResult(acc0, -wE, acc1, p0 + p1)
        else:
            xrr = np.zeros_like(xsg) if xr is None else xr
            # both sides one term per element (log formats) or x APoT/n-hot (xr = 0):
            # combine per element k the parity of w and x terms
            tot_odd = (wrr[:, :, :1] + xrr[None, :, :1]) % 2
            both = (wrr + xrr[None, :, :1]) >= 2  # sqrt2 * sqrt2 = 2: one more octave
            ws2 = ws
            we2 = we + both.astype(np.int64)
            acc0, p0 = run(np.where(tot_odd == 0, ws2, 0), we2, xsg, xe)
            acc1, p1 = run(np.where(tot_odd == 1, ws2, 0), we2, xsg, xe)
            res = DotResult(acc0, -(wE + xE), acc1, p0 + p1)
    if one:
        res.acc = res.acc[0]
        res.pairs = res.pairs[0]
        if res.acc_sqrt2 is not None:
            res.acc_sqrt2 = res.acc_sqrt2[0]
    return res


# ---------------------------------------------------------------------------------------
# Terms and term quantization
# ---------------------------------------------------------------------------------------

def term_encode(values, encoding="binary"):
    """Signed power-of-two terms of integers (|v| < 2^61): (sign, exponent, count) with
    shapes values.shape + (T,), T = 63; terms largest first; v == sum sign * 2^exponent.
    encoding: 'binary' (set bits), 'hese' (the reference repository's HESE: runs of two or
    more ones become +2^(h+1) - 2^l), 'naf' (non-adjacent form, minimal count)."""
    from .kernels.pow2 import term_encode as _k
    v = _int_array(values, "values")
    _check_term_range(v)
    enc = _encoding(encoding)
    flat = v.reshape(-1)
    T = 63
    s = np.empty((flat.size, T), np.int64)
    e = np.empty((flat.size, T), np.int64)
    c = np.empty(flat.size, np.int64)
    _k(flat, enc, s, e, c)
    Tm = max(1, int(c.max()) if c.size else 1)
    return (s[:, :Tm].reshape(v.shape + (Tm,)), e[:, :Tm].reshape(v.shape + (Tm,)),
            c.reshape(v.shape))


def term_counts(values, encoding="binary"):
    """Number of non-zero terms of each integer in ``encoding`` (see term_encode), as
    int64 of values' shape; the per-value cycle count of a term-serial processing element."""
    from .kernels.pow2 import term_count as _k
    v = _int_array(values, "values")
    _check_term_range(v)
    flat = np.ascontiguousarray(v, dtype=np.int64).reshape(-1)
    out = np.empty(flat.size, np.int64)
    _k(flat, _encoding(encoding), out)
    return out.reshape(v.shape)


@dataclass
class TermQuantized:
    """Result of term_quantize: quantized integers (values.shape), the selected terms
    (sign, exponent; values.shape + (T,), largest first, sign 0 unused) and their count."""

    values: np.ndarray
    sign: np.ndarray
    exponent: np.ndarray
    count: np.ndarray


def term_quantize(values, group_size, budget, encoding="binary", axis=-1, return_terms=False):
    """Term quantization (term revealing; Kung, McDanel, Zhang, arXiv 2007.06389).

    values: integers (sign-magnitude, |v| < 2^61); groups are ``group_size`` consecutive
    values along ``axis`` (the last group may be short). Per group, ``budget`` times, the
    largest remaining head term among the group's values is kept (ties: lowest index);
    all other terms are dropped. group_size=1 with budget k is the per-value budget used
    for activations. Returns int64 values, or a TermQuantized with the selected terms
    when return_terms=True. Non-integer values raise TypeError; group_size >= 1 and
    budget >= 0 (ints) else ValueError."""
    from .kernels.pow2 import term_select
    v = _int_array(values, "values")
    for name, val, lo in (("group_size", group_size, 1), ("budget", budget, 0)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool):
            raise TypeError(f"{name} must be an int, got {type(val).__name__}")
        if val < lo:
            raise ValueError(f"{name}={val} out of range; allowed >= {lo}")
    _check_term_range(v)
    enc = _encoding(encoding)
    axis = _check_axis(axis)
    return_terms = _check_bool(return_terms, "return_terms")
    if v.ndim == 0:
        v = v.reshape(1)
        axis = 0
    ax = axis % v.ndim if -v.ndim <= axis < v.ndim else None
    if ax is None:
        raise ValueError(f"axis={axis} out of range for a {v.ndim}-d array")
    mv = np.moveaxis(v, ax, -1)
    shp = mv.shape
    D = shp[-1]
    g = max(1, min(int(group_size), D))  # a group longer than the axis is the whole axis
    ng = -(-D // g) if D else 0
    rows = mv.reshape(-1, D)
    pad = ng * g - D
    if pad:
        rows = np.concatenate([rows, np.zeros((rows.shape[0], pad), np.int64)], axis=1)
    tab = np.ascontiguousarray(rows.reshape(-1, g))
    top = int(np.abs(tab).max()) if tab.size else 0
    T = max(1, top.bit_length() + 1)
    R = tab.shape[0]
    out_v = np.empty((R, g), np.int64)
    shape3 = (R, g, T) if return_terms else (1, 1, 1)
    out_s = np.zeros(shape3, np.int64)
    out_e = np.zeros(shape3, np.int64)
    out_c = np.empty((R, g), np.int64)
    term_select(tab, enc, g, int(budget), bool(return_terms), out_v, out_s, out_e, out_c)

    def back(a, extra=()):
        a = a.reshape((rows.shape[0], ng * g) + extra)[:, :D]
        a = a.reshape(shp + extra)
        return np.moveaxis(a, len(shp) - 1, ax)

    q = back(out_v)
    if not return_terms:
        return q.reshape(np.shape(values))
    Tm = max(1, int(out_c.max()) if out_c.size else 1)
    return TermQuantized(q.reshape(np.shape(values)), back(out_s[:, :, :Tm], (Tm,)),
                         back(out_e[:, :, :Tm], (Tm,)), back(out_c))


def term_pair_dot(w, x, w_encoding="binary", x_encoding="binary"):
    """Exact dot product of integer weights w ((K,) or (M, K)) and integer activations
    x (K,) computed term pair by term pair: every term of w_k meets every term of x_k
    (one exponent addition each). Returns (dot int64 (M,) or scalar, pairs): ``pairs``
    is the number of term-pair operations, the cost the term-quantization hardware pays
    (sum_k terms(w_k) * terms(x_k)). Pass term-quantized integers to cost a budget."""
    from .kernels.pow2 import term_pair_dot as _k
    wa = _int_array(w, "w")
    xa = _int_array(x, "x").reshape(-1)
    one = wa.ndim == 1
    wa = wa.reshape(1, -1) if one else wa
    if wa.ndim != 2 or wa.shape[1] != xa.size:
        raise ValueError(f"w has shape {np.shape(w)}; expected (K,) or (M, K) with K={xa.size}")
    if (np.abs(wa).astype(np.float64).max(initial=0) * np.abs(xa).astype(np.float64).sum()
            >= 2.0 ** 59) or (wa.size and np.abs(wa).max() >= 2 ** 30) or \
            (xa.size and np.abs(xa).max() >= 2 ** 30):
        raise OverflowError("term_pair_dot: operands too large for exact int64 term pairs "
                            "(|w|, |x| < 2^30 and the result < 2^59 required)")
    ws, we, _ = term_encode(wa, w_encoding)
    xs, xe, _ = term_encode(xa, x_encoding)
    out = np.empty(wa.shape[0], np.int64)
    pairs = np.empty(wa.shape[0], np.int64)
    _k(np.ascontiguousarray(ws), np.ascontiguousarray(we), np.ascontiguousarray(xs),
       np.ascontiguousarray(xe), out, pairs)
    return (out[0], pairs[0]) if one else (out, pairs)


def nhot_truncate(values, n):
    """Keep the n most significant NAF digits of each integer (the naive rule that
    nearest n-hot rounding improves on)."""
    n = check_int(n, 0, 63, "n")
    s, e, _ = term_encode(values, "naf")
    keep = np.arange(s.shape[-1]) < n
    return ((np.where(keep, s, 0)) << e).sum(axis=-1)


# ---------------------------------------------------------------------------------------
# SPARQ
# ---------------------------------------------------------------------------------------

def _sparq_args(values, window, round, vsparq, axis):
    a = _int_array(values, "values")
    if a.size and (a.min() < 0 or a.max() > 255):
        raise ValueError("values must be unsigned 8-bit activations (0..255)")
    if not isinstance(window, str) or window not in SPARQ_WINDOWS:
        raise ValueError(f"window={window!r}; allowed: {', '.join(SPARQ_WINDOWS)}")
    round = _check_bool(round, "round")
    vsparq = _check_bool(vsparq, "vsparq")
    axis = _check_axis(axis)
    if a.ndim == 0:
        a = a.reshape(1)
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"axis={axis} out of range for a {a.ndim}-d array")
    return a, SPARQ_WINDOWS[window], bool(round), bool(vsparq), axis % a.ndim


def sparq(values, window="5opt", round=True, vsparq=True, axis=-1):
    """SPARQ trimming of unsigned 8-bit activations (Shomron et al., NeurIPS 2021).

    bSPARQ keeps a 4-bit window placed by the leading one: window '5opt' (masks 0xF0,
    0x78, 0x3C, 0x1E, 0x0F), '3opt' (0xF0, 0x3C, 0x0F) or '2opt' (0xF0, 0x0F); round=False
    truncates, round=True rounds half to even at the window and saturates at the mask.
    vsparq=True pairs consecutive values along ``axis`` (the reduction axis): a value
    whose partner is zero keeps all 8 bits. Returns int64 of values' shape."""
    from .kernels.pow2 import sparq_trim
    a, opt, rnd, pair, ax = _sparq_args(values, window, round, vsparq, axis)
    mv = np.ascontiguousarray(np.moveaxis(a, ax, -1))
    rows = mv.reshape(-1, mv.shape[-1])
    out = np.empty_like(rows)
    sparq_trim(rows, opt, rnd, pair, out)
    return np.moveaxis(out.reshape(mv.shape), -1, ax).reshape(np.shape(values))


def sparq_dot(x, w, window="5opt", round=True, vsparq=True):
    """x @ w with SPARQ-trimmed activations: x (R, K) or (K,) unsigned 8-bit, w (K, C) or
    (K,) integers; trimming along K as ``sparq``. Exact int64."""
    from .kernels.pow2 import sparq_matmul
    xa, opt, rnd, pair, _ = _sparq_args(x, window, round, vsparq, -1)
    wa = _int_array(w, "w")
    x1, w1 = xa.ndim == 1, wa.ndim == 1
    xa = xa.reshape(1, -1) if x1 else xa
    wa = wa.reshape(-1, 1) if w1 else wa
    if xa.ndim != 2 or wa.ndim != 2 or xa.shape[1] != wa.shape[0]:
        raise ValueError(f"shapes {np.shape(x)} and {np.shape(w)} do not chain along K")
    if wa.size and float(np.abs(wa).max()) * 255.0 * xa.shape[1] >= _LIMIT:
        raise OverflowError("sparq_dot: result may exceed int64")
    out = np.empty((xa.shape[0], wa.shape[1]), np.int64)
    sparq_matmul(np.ascontiguousarray(xa), np.ascontiguousarray(wa), opt, rnd, pair, out)
    if x1:
        out = out[0]
    if w1:
        out = out[..., 0]
    return out


# ---------------------------------------------------------------------------------------
# PWLQ
# ---------------------------------------------------------------------------------------

def _cdf(p, distribution):
    if distribution == "gaussian":
        return 0.5 * (1.0 + math.erf(p / math.sqrt(2.0)))
    return 1.0 - 0.5 * math.exp(-p * math.sqrt(2.0))  # Laplace of unit variance


def _pdf(p, distribution):
    if distribution == "gaussian":
        return math.exp(-p * p / 2) / math.sqrt(2 * math.pi)
    return math.exp(-p * math.sqrt(2.0)) / math.sqrt(2.0)


def _check_dist(distribution):
    if distribution not in ("gaussian", "laplace"):
        raise ValueError(f"distribution={distribution!r}; allowed: 'gaussian', 'laplace'")


def pwlq_error_model(p, m, distribution="gaussian"):
    """E(p) / C = (m - p)^2 + m (2p - m)(2F(p) - 1): PWLQ's quantization error model with
    one breakpoint p in (0, m) on [-m, m], F the zero-mean unit-variance CDF (m and p in
    std units). The uniform quantizer with the same bits per region has E = C m^2."""
    _check_dist(distribution)
    if not (0 <= p <= m):
        raise ValueError(f"p={p} out of range; allowed 0..m={m}")
    return (m - p) ** 2 + m * (2 * p - m) * (2 * _cdf(p, distribution) - 1)


def pwlq_breakpoint(m, distribution="gaussian", method="exact"):
    """Optimal breakpoint p* (std units) of PWLQ on [-m, m] for a zero-mean Gaussian or
    Laplace distribution of unit variance.

    method='exact' minimises pwlq_error_model over (0, m): the root of
    dE/dp = -2(m-p) + 2m(2F(p)-1) + 2m(2p-m)f(p) found by bisection to float64
    resolution (the minimum over a grid of 4097 points brackets it).
    method='approx': the paper's closed forms ln(0.86143114 m + 0.607901097) (Gaussian),
    0.80304483 sqrt(m) - 0.31667855 (Laplace). m must be finite and > 0 (the closed
    forms are fitted for m in roughly 2..10)."""
    _check_dist(distribution)
    if method not in ("exact", "approx"):
        raise ValueError(f"method={method!r}; allowed: 'exact', 'approx'")
    m = float(m)
    if not (math.isfinite(m) and m > 0):
        raise ValueError(f"m={m} out of range; allowed a finite value > 0")
    if method == "approx":
        if distribution == "gaussian":
            return math.log(0.86143114 * m + 0.607901097)
        return 0.80304483 * math.sqrt(m) - 0.31667855
    grid = np.linspace(0.0, m, 4097)
    errs = [pwlq_error_model(float(p), m, distribution) for p in grid]
    i = int(np.argmin(errs))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]

    def deriv(p):
        F = _cdf(p, distribution)
        return -2 * (m - p) + 2 * m * (2 * F - 1) + 2 * m * (2 * p - m) * _pdf(p, distribution)

    if deriv(lo) > 0 or deriv(hi) < 0:
        return float(grid[i])
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if deriv(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def pwlq_compare(x, bits, breakpoints=None, distribution="gaussian"):
    """Mean squared error of PWLQ (``bits`` per value: sign + (bits-1)-bit index per
    region) against the uniform symmetric quantizer with the same bits (sign +
    (bits-1)-bit index on [0, m], round half even), both on [-m, m] with m = max|x|.
    breakpoints: fractions of m; default the exact optimum pwlq_breakpoint(m / std(x),
    distribution) * std(x) / m. Returns a dict: breakpoints, m, mse_pwlq, mse_uniform,
    ratio (= mse_pwlq / mse_uniform)."""
    bits = check_int(bits, 2, 8, "bits")
    xa = np.asarray(as_real_array(x), dtype=np.float64).reshape(-1)
    if xa.size == 0 or not np.all(np.isfinite(xa)):
        raise ValueError("x must be non-empty and finite")
    m = float(np.abs(xa).max())
    if m == 0:
        raise ValueError("x is all zero")
    if breakpoints is None:
        sd = float(xa.std())
        breakpoints = (pwlq_breakpoint(m / sd, distribution) * sd / m,)
    fmt = PWLQFormat(bits, tuple(breakpoints))
    q = fmt.quantize(xa / m) * m
    N = (1 << (bits - 1)) - 1
    u = np.clip(np.round(xa / m * N), -N, N) * (m / N)
    e_p = float(np.mean((xa - q) ** 2))
    e_u = float(np.mean((xa - u) ** 2))
    return {"breakpoints": fmt.breakpoints, "m": m, "mse_pwlq": e_p, "mse_uniform": e_u,
            "ratio": e_p / e_u}


@dataclass
class PWLQDot:
    """Region accumulators of pwlq_dot: acc (..., R, 2) int64 with acc[..., j, 0] the
    uniform accumulator and acc[..., j, 1] the activation sum of region j."""

    acc: np.ndarray
    fmt: PWLQFormat

    def fractions(self):
        """Exact values: sum_j ((p_(j+1) - p_j) / N) acc[j,0] + p_j acc[j,1] (Fractions)."""
        ed = self.fmt.edges
        N = self.fmt.steps
        rows = self.acc.reshape(-1, self.fmt.nregions, 2)
        return [sum(((ed[j + 1] - ed[j]) / N * int(r[j, 0]) + ed[j] * int(r[j, 1])
                     for j in range(self.fmt.nregions)), Fraction(0)) for r in rows]

    def to_float(self):
        return np.array([float(f) for f in self.fractions()]).reshape(self.acc.shape[:-2])


def pwlq_dot(w_codes, fmt, x):
    """Multi-accumulator PWLQ dot product: codes of ``fmt`` ((K,) or (M, K)) with integer
    activations x (K,). Each region keeps an accumulator of ±k x and one of ±x (its offset
    p_j multiplies the latter: the tail-offset correction); PWLQDot.fractions() combines
    them exactly and equals the dot product of the exact decoded levels. int64
    accumulators (OverflowError when they could overflow)."""
    from .kernels.pow2 import pwlq_dot as _k
    fmt = as_format(fmt)
    if not isinstance(fmt, PWLQFormat):
        raise TypeError(f"fmt must be a PWLQ format, got {fmt.name}")
    wc = np.asarray(w_codes)
    one = wc.ndim == 1
    wc = wc.reshape(1, -1) if one else wc
    xa = _int_array(x, "x").reshape(-1)
    if wc.ndim != 2 or wc.shape[1] != xa.size:
        raise ValueError(f"w_codes has shape {np.shape(w_codes)}; expected (K,) or (M, K) "
                         f"with K={xa.size}")
    if float(np.abs(xa).astype(np.float64).sum()) * (fmt.steps + 1) >= _LIMIT:
        raise OverflowError("pwlq_dot: accumulators may exceed int64")
    region, neg, k = fmt.split(wc)
    out = np.empty((wc.shape[0], fmt.nregions, 2), np.int64)
    _k(np.ascontiguousarray(region), np.ascontiguousarray(neg), np.ascontiguousarray(k),
       xa, fmt.nregions, out)
    return PWLQDot(out[0] if one else out, fmt)

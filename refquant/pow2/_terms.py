"""Signed-digit terms of integers (binary, HESE, NAF), term quantization (Kung, McDanel,
Zhang, arXiv 2007.06389) and the term-pair dot product."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._lazy import kernels
from .._validate import check_bool, check_int, is_int, norm_axis
from ._common import int_values

_k = kernels("pow2")

__all__ = ["ENCODINGS", "term_encode", "term_counts", "TermQuantized", "term_quantize",
           "term_pair_dot"]

#: The signed-digit encodings and the integers the kernels take for them.
ENCODINGS = {"binary": 0, "hese": 1, "naf": 2}

PARALLEL_MIN_SIZE = 1 << 16  # values from which term_quantize runs groups on Numba's threads
_CHUNK = 1 << 14  # values per parallel task


def _check_term_range(v: np.ndarray) -> None:
    # compare both ends: np.abs(-2^63) wraps to a negative number
    if v.size and (v.max() >= 2 ** 61 or v.min() <= -2 ** 61):
        raise ValueError("values out of range; allowed |v| < 2^61")


def _encoding(encoding: Any) -> int:
    if not isinstance(encoding, str) or encoding not in ENCODINGS:
        raise ValueError(f"encoding={encoding!r}; allowed: {', '.join(ENCODINGS)}")
    return ENCODINGS[encoding]


def term_encode(values: npt.ArrayLike,
                encoding: str = "binary") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed power-of-two terms of integers (|v| < 2^61): (sign, exponent, count) int64
    with shapes values.shape + (T,) (T the largest count, at least 1) and values.shape;
    terms largest first, unused slots sign 0; v == sum sign * 2^exponent.

    encoding: 'binary' (the set bits of |v|, sign of v); 'hese' (the HESE encoding of
    BradMcDanel/term-quantization: bits scanned from the top, a lone one gives +2^i, the
    top of a run of two or more ones gives +2^(h+1) and its bottom -2^l; not always
    minimal: 91 = 1011011b has 5 HESE terms, NAF 128 - 32 - 4 - 1 has 4); 'naf'
    (non-adjacent form: the minimum count over all signed-digit forms)."""
    v = int_values(values, "values")
    _check_term_range(v)
    enc = _encoding(encoding)
    flat = v.reshape(-1)
    T = 63
    s = np.empty((flat.size, T), np.int64)
    e = np.empty((flat.size, T), np.int64)
    c = np.empty(flat.size, np.int64)
    _k.term_encode(flat, enc, s, e, c)
    Tm = max(1, int(c.max()) if c.size else 1)
    return (s[:, :Tm].reshape(v.shape + (Tm,)), e[:, :Tm].reshape(v.shape + (Tm,)),
            c.reshape(v.shape))


def term_counts(values: npt.ArrayLike, encoding: str = "binary") -> np.ndarray:
    """Number of non-zero terms of each integer (|v| < 2^61) in ``encoding`` (see
    term_encode), as int64 of values' shape; the per-value cycle count of a term-serial
    processing element."""
    v = int_values(values, "values")
    _check_term_range(v)
    flat = np.ascontiguousarray(v, dtype=np.int64).reshape(-1)
    out = np.empty(flat.size, np.int64)
    _k.term_count(flat, _encoding(encoding), out)
    return out.reshape(v.shape)


@dataclass
class TermQuantized:
    """Result of term_quantize: quantized integers (values.shape), the selected terms
    (sign, exponent; values.shape + (T,), largest first, sign 0 unused) and their count."""

    values: np.ndarray
    sign: np.ndarray
    exponent: np.ndarray
    count: np.ndarray


@_deprecate.renamed_kwargs(group_size="block_size")
def term_quantize(values: npt.ArrayLike, block_size: int, budget: int,
                  encoding: str = "binary", axis: int = -1,
                  return_terms: bool = False) -> np.ndarray | TermQuantized:
    """Term quantization (term revealing; Kung, McDanel, Zhang, arXiv 2007.06389).

    values: integers (sign-magnitude, |v| < 2^61); blocks are ``block_size`` consecutive
    values along ``axis`` (the last block may be short; a block longer than the axis is
    the whole axis). Per block, ``budget`` times, the largest remaining head term among
    the block's values is kept (strict >, so ties go to the lowest index); stop when none
    remain; all other terms are dropped. block_size=1 with budget k is the per-value
    budget used for activations. Returns int64 values, or a TermQuantized with the
    selected terms when return_terms=True. Non-integer values raise TypeError;
    block_size >= 1 and budget >= 0 (ints) else ValueError."""
    # an int64 ndarray is taken as it is (read only); other input by value
    v: np.ndarray
    if (isinstance(values, np.ndarray) and type(values) is np.ndarray
            and values.dtype == np.int64 and values.dtype.isnative):
        v = values
    else:
        v = int_values(values, "values")
    block_size = check_int(block_size, "block_size", 1)
    budget = check_int(budget, "budget", 0)
    enc = _encoding(encoding)
    return_terms = check_bool(return_terms, "return_terms")
    if return_terms:
        _check_term_range(v)
    if not is_int(axis):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if v.ndim == 0:
        v = v.reshape(1)
        ax = 0
    else:
        ax = norm_axis(axis, v.ndim)
    mv = np.moveaxis(v, ax, -1)
    shp = mv.shape
    D = shp[-1]
    g = max(1, min(block_size, D))
    ng = -(-D // g) if D else 0
    rows = mv.reshape(-1, D)
    pad = ng * g - D
    if pad:
        rows = np.concatenate([rows, np.zeros((rows.shape[0], pad), np.int64)], axis=1)
    tab = np.ascontiguousarray(rows.reshape(-1, g))
    R = tab.shape[0]
    out_v = np.empty((R, g), np.int64)

    def back(a: np.ndarray, extra: tuple[int, ...] = ()) -> np.ndarray:
        a = a.reshape((rows.shape[0], ng * g) + extra)[:, :D]
        a = a.reshape(shp + extra)
        return np.moveaxis(a, len(shp) - 1, ax)

    if not return_terms:
        # the values alone: from each value's digit masks, whole exponent levels at a time
        # (the kernel counts the values out of range instead of two passes before it)
        if tab.size >= PARALLEL_MIN_SIZE:
            rows_per = max(1, _CHUNK // g)
            bad = np.zeros(-(-R // rows_per), np.int64)
            _k.term_quantize_values_parallel(tab, enc, budget, rows_per, bad, out_v)
            nbad = int(bad.sum())
        else:
            nbad = _k.term_quantize_values(tab, enc, budget, out_v)
        if nbad:
            _check_term_range(v)
        return back(out_v).reshape(np.shape(values))
    top = int(np.abs(tab).max()) if tab.size else 0
    T = max(1, top.bit_length() + 1)
    out_s = np.zeros((R, g, T), np.int64)
    out_e = np.zeros((R, g, T), np.int64)
    out_c = np.empty((R, g), np.int64)
    _k.term_select(tab, enc, g, budget, True, out_v, out_s, out_e, out_c)
    q = back(out_v)
    Tm = max(1, int(out_c.max()) if out_c.size else 1)
    return TermQuantized(q.reshape(np.shape(values)), back(out_s[:, :, :Tm], (Tm,)),
                         back(out_e[:, :, :Tm], (Tm,)), back(out_c))


def term_pair_dot(w: npt.ArrayLike, x: npt.ArrayLike, w_encoding: str = "binary",
                  x_encoding: str = "binary") -> tuple[Any, Any]:
    """Exact dot product of integer weights w ((K,) or (M, K)) and integer activations
    x (K,) computed term pair by term pair: every term of w_k meets every term of x_k
    (one exponent addition each). Returns (dot, pairs): int64 (M,) arrays, or int64
    scalars for 1-d w; ``pairs`` is the number of term-pair operations, the cost the
    term-quantization hardware pays (sum_k terms(w_k) * terms(x_k)). Pass term-quantized
    integers to cost a budget. |w|, |x| < 2^30 and |result| < 2^59 (OverflowError)."""
    wa = int_values(w, "w")
    xa = int_values(x, "x").reshape(-1)
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
    _k.term_pair_dot(np.ascontiguousarray(ws), np.ascontiguousarray(we),
                     np.ascontiguousarray(xs), np.ascontiguousarray(xe), out, pairs)
    return (out[0], pairs[0]) if one else (out, pairs)

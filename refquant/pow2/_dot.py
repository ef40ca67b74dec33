"""The exact shift-add dot product of power-of-two coded weights (log, APoT, n-hot)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from .. import registry
from .._lazy import kernels
from ..protocol import Format
from ._apot import APoTFormat
from ._common import check_bound, int_values
from ._log import LogFormat
from ._nhot import NHotFormat

_k = kernels("pow2")

__all__ = ["DotResult", "shift_dot"]


@dataclass
class DotResult:
    """Exact dot product(s): value = (acc + acc_sqrt2 * sqrt(2)) * 2^exp, with acc
    (and acc_sqrt2, present for base-sqrt(2) logarithmic formats) int64 arrays.
    ``pairs`` counts the shift-add operations (term pairs) per output."""

    acc: np.ndarray
    exp: int
    acc_sqrt2: np.ndarray | None = None
    pairs: np.ndarray | None = None

    def fractions(self) -> list[Fraction]:
        """Exact values as Fractions (only when there is no sqrt(2) part: ValueError
        otherwise)."""
        if self.acc_sqrt2 is not None and np.any(self.acc_sqrt2 != 0):
            raise ValueError("the result has an irrational sqrt(2) part; use acc/acc_sqrt2")
        sc = Fraction(2) ** self.exp
        return [Fraction(int(a)) * sc for a in np.ravel(self.acc)]

    def to_float(self) -> np.ndarray:
        """float64 values (rounded)."""
        v = self.acc.astype(np.float64)
        if self.acc_sqrt2 is not None:
            v = v + self.acc_sqrt2.astype(np.float64) * math.sqrt(2.0)
        return np.ldexp(v, self.exp)


def _terms_of_codes(fmt: Format, codes: np.ndarray) -> tuple:
    """(sign (..., T), exponent (..., T) >= 0, E, parity (..., T) or None): value of each
    code = sum_t sign * 2^(exp - E) (times sqrt(2)^parity for base-sqrt(2) logs)."""
    if isinstance(fmt, LogFormat):
        sign, k = fmt.exponents(codes)
        if fmt.base == "sqrt2":
            q, r = np.divmod(k, 2)
            qmin = fmt.kmin // 2
            return (sign[..., None], (q - qmin)[..., None] * (sign[..., None] != 0), -qmin,
                    r[..., None])
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


def shift_dot(w_codes: npt.ArrayLike, w_fmt: Format | str, x: npt.ArrayLike,
              x_fmt: Format | str | None = None) -> DotResult:
    """Exact dot product of power-of-two coded weights with x, as the shift-add hardware
    computes it.

    w_codes: codes of ``w_fmt`` (a log, APoT or n-hot format or name), shape (K,) or
    (M, K). x: integers (K,) (one side quantized: each weight term shifts x), or, with
    ``x_fmt``, codes of a second power-of-two format (both sides quantized: each pair of
    terms adds exponents and shifts a one). Returns a DotResult equal to the dot product
    of the decoded values (w_fmt.decode(w) . x_fmt.decode(x)), exactly; base-sqrt(2)
    logs return the rational and sqrt(2) parts separately. int64 accumulation; raises
    OverflowError when the exact result could exceed it."""
    wf = registry.format(w_fmt)
    wc = np.asarray(w_codes)
    one = wc.ndim == 1
    if wc.ndim not in (1, 2):
        raise ValueError(f"w_codes must be 1-d or 2-d, got {wc.ndim} dimensions")
    wc = wc.reshape(1, -1) if one else wc
    ws, we, wE, wr = _terms_of_codes(wf, wc)
    K = wc.shape[1]
    xf = None if x_fmt is None else registry.format(x_fmt)
    if xf is None:
        xi = int_values(x, "x").reshape(-1)
        if xi.size != K:
            raise ValueError(f"x has {xi.size} elements; w_codes has K={K}")
        bound = float(np.abs(xi).astype(np.float64) @ np.max(
            np.where(ws != 0, np.ldexp(1.0, we), 0.0).sum(axis=-1), axis=0)) if K else 0.0
        check_bound(bound, "shift_dot")
        xE, xr = 0, None
    else:
        xc = np.asarray(x).reshape(-1)
        if xc.size != K:
            raise ValueError(f"x has {xc.size} codes; w_codes has K={K}")
        xsg, xe, xE, xr = _terms_of_codes(xf, xc)
        wmax = np.where(ws != 0, np.ldexp(1.0, we), 0.0).sum(axis=-1).max(axis=0)
        xmax = np.where(xsg != 0, np.ldexp(1.0, xe), 0.0).sum(axis=-1)
        check_bound(float(wmax @ xmax) if K else 0.0, "shift_dot")
    M = wc.shape[0]

    def run(ws_: np.ndarray, we_: np.ndarray, xs_: np.ndarray | None = None,
            xe_: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty(M, np.int64)
        pairs = np.empty(M, np.int64)
        if xf is None:
            _k.terms_dot(np.ascontiguousarray(ws_), np.ascontiguousarray(we_), xi, out)
            pairs[:] = ((ws_ != 0) & (xi[None, :, None] != 0)).sum(axis=(1, 2))
        else:
            _k.term_pair_dot(np.ascontiguousarray(ws_), np.ascontiguousarray(we_),
                             np.ascontiguousarray(xs_), np.ascontiguousarray(xe_), out, pairs)
        return out, pairs

    parity = wr is not None or (xf is not None and xr is not None)
    if not parity:
        acc, pairs = run(ws, we, *(() if xf is None else (xsg, xe)))
        res = DotResult(acc, -(wE + xE), None, pairs)
    else:
        # split by total parity of the sqrt(2) exponents: even -> 2^q, odd -> 2^q sqrt(2)
        wrr = np.zeros_like(ws) if wr is None else wr
        if xf is None:
            acc0, p0 = run(np.where(wrr == 0, ws, 0), we)
            acc1, p1 = run(np.where(wrr == 1, ws, 0), we)
            res = DotResult(acc0, -wE, acc1, p0 + p1)
        else:
            xrr = np.zeros_like(xsg) if xr is None else xr
            # both sides one term per element (log formats) or x APoT/n-hot (xr = 0):
            # combine per element k the parity of w and x terms
            tot_odd = (wrr[:, :, :1] + xrr[None, :, :1]) % 2
            both = (wrr + xrr[None, :, :1]) >= 2  # sqrt2 * sqrt2 = 2: one more octave
            we2 = we + both.astype(np.int64)
            acc0, p0 = run(np.where(tot_odd == 0, ws, 0), we2, xsg, xe)
            acc1, p1 = run(np.where(tot_odd == 1, ws, 0), we2, xsg, xe)
            res = DotResult(acc0, -(wE + xE), acc1, p0 + p1)
    if one:
        res.acc = res.acc[0]
        res.pairs = res.pairs[0] if res.pairs is not None else None
        if res.acc_sqrt2 is not None:
            res.acc_sqrt2 = res.acc_sqrt2[0]
    return res

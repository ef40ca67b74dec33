"""Piecewise linear quantization (PWLQ, Fang et al., ECCV 2020, arXiv 2002.00104): the
format, its breakpoint and error model, and the multi-accumulator dot product."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from .. import _deprecate, registry
from .._lazy import kernels
from .._validate import as_real_array, check_int
from ..modes import Rounding
from ..protocol import Format
from ..registry import register, register_pattern
from ._common import LIMIT, int_values
from ._table import _TableFormat, rational_threshold

_k = kernels("pow2")

__all__ = ["PWLQFormat", "pwlq_error_model", "pwlq_breakpoint", "pwlq_compare", "PWLQDot",
           "pwlq_dot"]


@dataclass(frozen=True)
class PWLQFormat(_TableFormat):
    """Piecewise linear quantization on [-1, 1] (the scale maps m = amax to 1) with
    breakpoints 0 < p_1 < ... < 1 (1..3 of them; default p = 0.25).

    Region j = [p_j, p_(j+1)] (p_0 = 0, p_R = 1) holds the levels
    p_j + (p_(j+1) - p_j) k / N, k = 0..N, N = 2^(value_bits-1) - 1 (``steps``).
    Code: (region << value_bits) | (sign << (value_bits-1)) | k, so ``value_bits`` per
    value (sign + index) plus ``region_bits`` = ceil(log2 R) region bits; ``bits`` is their
    sum. A magnitude on a breakpoint is coded in the lower region. Levels are rationals;
    decode returns the correctly rounded float64, encode decides exactly on the
    rationals (nearest, ties to the even index of the ascending magnitude table); beyond
    1 and ±inf saturate, NaN raises ValueError.

    Names: ``pwlq{b}`` (p = 0.25) and ``pwlq{b}_p{p1}[_{p2}...]``, b = value_bits.
    """

    value_bits: int = 4
    breakpoints: tuple[float, ...] = (0.25,)

    def __post_init__(self) -> None:
        check_int(self.value_bits, "value_bits", 2, 8)
        if isinstance(self.breakpoints, (str, bytes)) or not hasattr(self.breakpoints, "__iter__"):
            raise TypeError("breakpoints must be a sequence of 1..3 floats in (0, 1), got "
                            f"{type(self.breakpoints).__name__}")
        bp = tuple(float(p) for p in self.breakpoints)
        if not 1 <= len(bp) <= 3:
            raise ValueError(f"breakpoints has {len(bp)} entries; allowed 1..3")
        prev = 0.0
        for p in bp:
            if not (math.isfinite(p) and prev < p < 1.0):
                raise ValueError(f"breakpoints={bp} must be strictly increasing in (0, 1)")
            prev = p
        object.__setattr__(self, "breakpoints", bp)

    @property
    def b(self) -> int:
        """Deprecated name of ``value_bits``."""
        _deprecate.warn("PWLQFormat.b", "value_bits")
        return self.value_bits

    @property
    def nregions(self) -> int:
        """Number of regions R (breakpoints + 1)."""
        return len(self.breakpoints) + 1

    @property
    def region_bits(self) -> int:
        """Width of the region field: max(1, ceil(log2 R))."""
        return max(1, math.ceil(math.log2(self.nregions)))

    @property
    def bits(self) -> int:
        """Width of a code: value_bits + region_bits."""
        return self.value_bits + self.region_bits

    @property
    def steps(self) -> int:
        """N = 2^(value_bits-1) - 1: the steps of a region (levels k = 0..N)."""
        return (1 << (self.value_bits - 1)) - 1

    @property
    def name(self) -> str:
        if self.breakpoints == (0.25,):
            return f"pwlq{self.value_bits}"
        return f"pwlq{self.value_bits}_p" + "_".join(repr(p) for p in self.breakpoints)

    @property
    def edges(self) -> list[Fraction]:
        """Region edges as Fractions: 0, p_1, ..., 1."""
        return [Fraction(0)] + [Fraction(p) for p in self.breakpoints] + [Fraction(1)]

    @cached_property
    def _levels(self) -> tuple[list[Fraction], list[tuple[int, int]]]:
        """Exact magnitudes (Fractions) -> canonical (region, k), ascending."""
        N = self.steps
        ed = self.edges
        out: dict[Fraction, tuple[int, int]] = {}
        for j in range(self.nregions):
            for k in range(N + 1):
                v = ed[j] + (ed[j + 1] - ed[j]) * k / N
                if v not in out:
                    out[v] = (j, k)
        lv = sorted(out)
        return lv, [out[v] for v in lv]

    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lv, _ = self._levels
        mags = np.array([float(v) for v in lv])
        if np.any(np.diff(mags) <= 0):
            raise ValueError(f"breakpoints={self.breakpoints} give levels closer than float64 "
                             "resolution")
        thr, ex = zip(*(rational_threshold((lv[j] + lv[j + 1]) / 2) for j in range(len(lv) - 1)))
        return mags, np.array(thr), np.array(ex, dtype=np.bool_)

    @cached_property
    def _code_maps(self) -> tuple[np.ndarray, np.ndarray]:
        _, rk = self._levels
        region = np.array([r for r, _ in rk], np.int64)
        k = np.array([q for _, q in rk], np.int64)
        return region, k

    def encode(self, x: npt.ArrayLike,  # type: ignore[override]
               rounding: Rounding | str = Rounding.NEAREST_EVEN, *,
               seed: int = 0) -> np.ndarray:
        """Codes of x (|x| <= 1 after scaling; beyond saturates): the level chosen by
        ``rounding``, decided exactly. ``seed``: STOCHASTIC only."""
        idx, neg = self._round_table(x, rounding, seed)
        region, k = self._code_maps
        c = (region[idx] << self.value_bits) | (neg << (self.value_bits - 1)) | k[idx]
        return c.astype(self.code_dtype)

    def split(self, codes: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(region, neg, k) of codes as int64 arrays; codes that are not integers in
        [0, 2^bits) or have a region field >= R raise ValueError (TypeError for a
        non-integer dtype)."""
        c = self._checked_codes(codes)
        region = c >> self.value_bits
        if c.size and region.max() >= self.nregions:
            raise ValueError(f"region field >= {self.nregions} in codes for {self.name}")
        return region, (c >> (self.value_bits - 1)) & 1, c & self.steps

    def exact_value(self, region: int, neg: int, k: int) -> Fraction:
        """The exact level ±(p_j + (p_(j+1) - p_j) k / N) of one (region, neg, k)."""
        ed = self.edges
        v = ed[region] + (ed[region + 1] - ed[region]) * k / self.steps
        return -v if neg else v

    @cached_property
    def _value_grid(self) -> np.ndarray:
        """float64 value of every (region, k): correctly rounded."""
        N = self.steps
        return np.array([[float(self.exact_value(j, 0, k)) for k in range(N + 1)]
                         for j in range(self.nregions)])

    def decode(self, codes: npt.ArrayLike) -> np.ndarray:
        """±(p_j + (p_(j+1) - p_j) k / N), correctly rounded to float64."""
        region, neg, k = self.split(codes)
        v = self._value_grid[region, k]
        return np.where(neg == 1, -v, v)


PWLQFormat.__init__ = _deprecate.renamed_kwargs(b="value_bits")(  # type: ignore[method-assign]
    PWLQFormat.__init__)


def _cdf(p: float, distribution: str) -> float:
    if distribution == "gaussian":
        return 0.5 * (1.0 + math.erf(p / math.sqrt(2.0)))
    return 1.0 - 0.5 * math.exp(-p * math.sqrt(2.0))  # Laplace of unit variance


def _pdf(p: float, distribution: str) -> float:
    if distribution == "gaussian":
        return math.exp(-p * p / 2) / math.sqrt(2 * math.pi)
    return math.exp(-p * math.sqrt(2.0)) / math.sqrt(2.0)


def _check_distribution(distribution: Any) -> None:
    if distribution not in ("gaussian", "laplace"):
        raise ValueError(f"distribution={distribution!r}; allowed: 'gaussian', 'laplace'")


def pwlq_error_model(p: float, m: float, distribution: str = "gaussian") -> float:
    """E(p) / C = (m - p)^2 + m (2p - m)(2F(p) - 1): PWLQ's quantization error model with
    one breakpoint p in (0, m) on [-m, m], F the zero-mean unit-variance CDF (m and p in
    std units). The uniform quantizer with the same bits per region has E = C m^2; at
    p = m/4 the model gives at most 9/16 of it for any distribution (the paper's bound
    for the optimum)."""
    _check_distribution(distribution)
    if not (0 <= p <= m):
        raise ValueError(f"p={p} out of range; allowed 0..m={m}")
    return (m - p) ** 2 + m * (2 * p - m) * (2 * _cdf(p, distribution) - 1)


def pwlq_breakpoint(m: float, distribution: str = "gaussian", method: str = "exact") -> float:
    """Optimal breakpoint p* (std units) of PWLQ on [-m, m] for a zero-mean Gaussian or
    Laplace distribution of unit variance.

    method='exact' minimises pwlq_error_model over (0, m): the root of
    dE/dp = -2(m-p) + 2m(2F(p)-1) + 2m(2p-m)f(p) found by bisection to float64
    resolution (the minimum over a grid of 4097 points brackets it).
    method='approx': the paper's closed forms ln(0.86143114 m + 0.607901097) (Gaussian),
    0.80304483 sqrt(m) - 0.31667855 (Laplace). m must be finite and > 0 (the closed
    forms are fitted for m in roughly 2..10)."""
    _check_distribution(distribution)
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
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])

    def deriv(p: float) -> float:
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


def pwlq_compare(x: npt.ArrayLike, bits: int, breakpoints: Sequence[float] | None = None,
                 distribution: str = "gaussian") -> dict[str, Any]:
    """Mean squared error of PWLQ (``bits`` per value: sign + (bits-1)-bit index per
    region, i.e. PWLQFormat(value_bits=bits)) against the uniform symmetric quantizer
    with the same bits (sign + (bits-1)-bit index on [0, m], round half even), both on
    [-m, m] with m = max|x|. breakpoints: fractions of m; default the exact optimum
    pwlq_breakpoint(m / std(x), distribution) * std(x) / m. Returns a dict: breakpoints,
    m, mse_pwlq, mse_uniform, ratio (= mse_pwlq / mse_uniform)."""
    bits = check_int(bits, "bits", 2, 8)
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

    def fractions(self) -> list[Fraction]:
        """Exact values: sum_j ((p_(j+1) - p_j) / N) acc[j,0] + p_j acc[j,1] (Fractions),
        one per output row."""
        ed = self.fmt.edges
        N = self.fmt.steps
        rows = self.acc.reshape(-1, self.fmt.nregions, 2)
        return [sum(((ed[j + 1] - ed[j]) / N * int(r[j, 0]) + ed[j] * int(r[j, 1])
                     for j in range(self.fmt.nregions)), Fraction(0)) for r in rows]

    def to_float(self) -> np.ndarray:
        """float64 values (each the correctly rounded exact value), shape acc.shape[:-2]."""
        return np.array([float(f) for f in self.fractions()]).reshape(self.acc.shape[:-2])


def pwlq_dot(w_codes: npt.ArrayLike, fmt: PWLQFormat | str, x: npt.ArrayLike) -> PWLQDot:
    """Multi-accumulator PWLQ dot product: codes of ``fmt`` ((K,) or (M, K)) with integer
    activations x (K,). Each region keeps an accumulator of ±k x and one of ±x (its offset
    p_j multiplies the latter: the tail-offset correction); PWLQDot.fractions() combines
    them exactly and equals the dot product of the exact decoded levels. int64
    accumulators (OverflowError when they could overflow)."""
    f: Format = registry.format(fmt)
    if not isinstance(f, PWLQFormat):
        raise TypeError(f"fmt must be a PWLQ format, got {f.name}")
    wc = np.asarray(w_codes)
    one = wc.ndim == 1
    wc = wc.reshape(1, -1) if one else wc
    xa = int_values(x, "x").reshape(-1)
    if wc.ndim != 2 or wc.shape[1] != xa.size:
        raise ValueError(f"w_codes has shape {np.shape(w_codes)}; expected (K,) or (M, K) "
                         f"with K={xa.size}")
    if float(np.abs(xa).astype(np.float64).sum()) * (f.steps + 1) >= LIMIT:
        raise OverflowError("pwlq_dot: accumulators may exceed int64")
    region, neg, k = f.split(wc)
    out = np.empty((wc.shape[0], f.nregions, 2), np.int64)
    _k.pwlq_dot(np.ascontiguousarray(region), np.ascontiguousarray(neg),
                np.ascontiguousarray(k), xa, f.nregions, out)
    return PWLQDot(out[0] if one else out, f)


def _from_name(m: re.Match[str]) -> PWLQFormat:
    return PWLQFormat(int(m[1]), tuple(float(p) for p in m[2].split("_")) if m[2] else (0.25,))


register("pwlq4", functools.partial(PWLQFormat, 4))
register_pattern(r"pwlq(\d+)(?:_p([0-9.e_-]+))?", _from_name, "pwlq{b}[_p{p1}[_{p2}...]]")

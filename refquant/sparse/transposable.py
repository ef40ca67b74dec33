"""Transposable N:M masks (Hubara et al., "Accelerated Sparse Neural Training",
NeurIPS 2021, arXiv 2102.08124).

A transposable mask has at most N ones in every row AND every column of each M x M
block of W (blocks tile W from the top-left corner; both dimensions must be multiples
of M), so W * mask and its transpose are both N:M along rows -- the forward and the
backward pass can both use N:M sparse hardware. The objective is the kept magnitude
sum over the block of |w| over the ones of the mask.

method="optimal": every row and column of each block has exactly N ones (an N-regular
  bipartite pattern) and the kept sum is maximal -- the min-cost-flow formulation of
  the paper: source -> row (capacity N), row i -> column j (capacity 1, cost -|w_ij|),
  column -> sink (capacity N), flow M*N. For M <= 4 every valid pattern is searched
  exhaustively (the 90 patterns with two ones per row and column for 2:4, as NVIDIA
  Apex ASP's m4n2_2d_best does); larger M solve the flow by successive shortest paths. Scores are float64 sums of
  |w| (exact when those sums are, e.g. for integers, float16/bfloat16 of moderate
  range); the 2:4 search keeps the first pattern, in lexicographic order, of maximal
  score.
method="optimal_at_most": the largest kept sum over masks with AT MOST N ones per row
  and column (min-cost flow stopped as soon as an augmenting path no longer gains).
  This can exceed "optimal": completing a mask to exactly N per row and column may force
  small entries in place of large ones (it happens in a few blocks of a Gaussian
  matrix, where even the greedy mask can beat "optimal"). Hardware accepts fewer than
  N non-zeros per group, so this is the true optimum of the transposable constraint.
method="greedy": visit |w| in descending order (ties: lower row-major position first)
  and keep an entry while its row and column hold fewer than N ones -- the paper's
  2-approximation (kept sum >= optimal_at_most / 2); Apex m4n2_2d_greedy. It may leave fewer
  than N ones in a row or column.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._lazy import kernels as _lazy_kernels
K = _lazy_kernels("sparse")
from ._common import check_positive_int
from .nm import nm_mask

__all__ = ["transposable_mask", "transposable_patterns", "TransposableReport",
           "transposable_report", "is_transposable"]

METHODS = ("optimal", "optimal_at_most", "greedy")


@lru_cache(maxsize=None)
def transposable_patterns(n, m):
    """(pairs, patterns): ``pairs`` (C(m, n), n) are the n-subsets of range(m) in
    lexicographic order; ``patterns`` (T, m) lists, in lexicographic order, every choice
    of one subset per row such that each column is chosen exactly n times (T = 90 for
    n=2, m=4). Only practical for small m."""
    pairs = list(itertools.combinations(range(m), n))
    pats = []

    def rec(prefix, colcount):
        r = len(prefix)
        if r == m:
            pats.append(tuple(prefix))
            return
        rest = m - r - 1
        for q, p in enumerate(pairs):
            cc = list(colcount)
            ok = True
            for c in p:
                cc[c] += 1
                if cc[c] > n:
                    ok = False
            # every column must still be able to reach n
            if ok and all(n - x <= rest for x in cc):
                rec(prefix + [q], cc)

    rec([], [0] * m)
    return np.array(pairs, dtype=np.int64), np.array(pats, dtype=np.int64).reshape(-1, m)


def _prep(w, n, m):
    n = check_positive_int(n, "n")
    m = check_positive_int(m, "m")
    if n > m:
        raise ValueError(f"n={n} > m={m}; N:M sparsity needs n <= m")
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"w must be a 2-d matrix, got {w.ndim} dimensions")
    if w.dtype.kind not in "iubf":
        raise TypeError(f"w must be real, got dtype {w.dtype}")
    if w.shape[0] % m or w.shape[1] % m:
        raise ValueError(f"w.shape = {w.shape} must be divisible by m={m} in both dimensions")
    a = np.abs(w.astype(np.float64))
    if np.isnan(a).any():
        raise ValueError("w contains NaN; magnitudes must be comparable")
    return np.ascontiguousarray(a), n, m


def transposable_mask(w, n, m, method="optimal"):
    """Boolean transposable N:M mask of the 2-d array w (see the module docstring for
    ``method``: "optimal" | "optimal_at_most" | "greedy"). Every M x M block has at most
    n ones per row and per column ("optimal": exactly n)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}; allowed: {', '.join(METHODS)}")
    a, n, m = _prep(w, n, m)
    out = np.empty(a.shape, dtype=np.uint8)
    if method == "greedy":
        K.transposable_greedy(a, m, n, out)
    elif method == "optimal_at_most":
        K.transposable_flow(a, m, n, False, out)
    elif (n, m) == (2, 4) or (m <= 4):
        pairs, pats = transposable_patterns(n, m)
        K.transposable_exhaustive(a, m, pairs, pats, out)
    else:
        K.transposable_flow(a, m, n, True, out)
    return out.astype(bool)


def is_transposable(mask, n, m):
    """True when every M x M block of ``mask`` has at most n non-zeros per row and per
    column."""
    mask = np.asarray(mask) != 0
    if mask.ndim != 2 or mask.shape[0] % m or mask.shape[1] % m:
        raise ValueError(f"mask.shape = {mask.shape} must be 2-d and divisible by m={m}")
    R, C = mask.shape
    b = mask.reshape(R // m, m, C // m, m)
    return bool((b.sum(axis=3) <= n).all() and (b.sum(axis=1) <= n).all())


@dataclass(frozen=True)
class TransposableReport:
    """Kept fraction of sum |w| under each mask: plain N:M along rows (``nm``, an upper
    bound: it constrains rows only), transposable ``greedy``, ``optimal`` (exactly N per
    row and column) and ``optimal_at_most`` (at most N; the largest of the three);
    the ratios greedy / optimal_at_most and optimal_at_most / nm."""

    nm: float
    greedy: float
    optimal: float
    optimal_at_most: float

    @property
    def greedy_vs_optimal(self):
        """Kept magnitude of the greedy mask over the at-most-N optimum (>= 1/2)."""
        return self.greedy / self.optimal_at_most if self.optimal_at_most else 1.0

    @property
    def optimal_vs_nm(self):
        """Kept magnitude of the at-most-N transposable optimum over plain N:M."""
        return self.optimal_at_most / self.nm if self.nm else 1.0


def transposable_report(w, n, m):
    """Quality report: the fraction of sum |w| kept by nm_mask (along rows) and by the
    greedy, optimal and optimal_at_most transposable masks (float64 sums)."""
    a, n, m = _prep(w, n, m)
    total = float(a.sum())

    def kept(mask):
        return float(a[mask].sum()) / total if total else 1.0

    return TransposableReport(nm=kept(nm_mask(a, n, m, axis=1)),
                              greedy=kept(transposable_mask(a, n, m, "greedy")),
                              optimal=kept(transposable_mask(a, n, m, "optimal")),
                              optimal_at_most=kept(transposable_mask(a, n, m, "optimal_at_most")))

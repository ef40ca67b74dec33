"""Transposable N:M masks: at most N ones in every row and every column of each M x M
block, so a pruned matrix and its transpose are both N:M (Hubara et al., NeurIPS 2021)."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from .._validate import check_int
from ._nm import nm_mask, nm_params

_k = kernels("sparse")

__all__ = ["transposable_mask", "transposable_patterns", "TransposableReport",
           "transposable_report", "is_transposable"]

METHODS = ("optimal", "optimal_at_most", "greedy")
MAX_PATTERNS = 10 ** 6


_EXACT_STATES = 20000       # the exact count is computed when its DP has at most this many states


def _pattern_count(n: int, m: int) -> tuple[Any, bool]:
    """(T, exact): the number T of m x m 0/1 matrices with n ones in every row and every
    column -- the number of patterns transposable_patterns(n, m) lists (90 for n=2, m=4;
    116963796250 for n=4, m=8). Exact (exact=True) for n = m (T = 1) and when the
    row-by-row count is cheap: it runs over the multisets of the columns' remaining
    needs, C(m + k, k) of them with k = min(n, m - n) (T(n, m) = T(m - n, m)); otherwise
    (exact=False) the natural log of the lower bound T >= m!, which holds for
    1 <= n <= m - 1: row i taking the columns s(i), s(i+1), ..., s(i+n-1) (indices
    mod m) gives a distinct pattern for every permutation s."""
    k = min(n, m - n)
    if k == 0:
        return 1, True
    if m <= 30 and math.comb(m + k, k) <= _EXACT_STATES:
        return _exact_count(k, m), True
    return math.lgamma(m + 1), False


def _exact_count(k: int, m: int) -> int:
    """Matrices m x m with k ones per row and column, counted row by row: a state is
    need[v] = the number of columns that still need v ones (v = 0..k); a row takes k_v of
    the need[v] columns for every v (sum k_v = k) in prod C(need[v], k_v) ways."""
    states: dict[tuple[int, ...], int] = {(0,) * k + (m,): 1}
    for _ in range(m):
        nxt: dict[tuple[int, ...], int] = {}
        for need, ways in states.items():
            for new, w in _row_steps(need, k):
                nxt[new] = nxt.get(new, 0) + ways * w
        states = nxt
    return states.get((m,) + (0,) * k, 0)


def _row_steps(need: tuple[int, ...], k: int) -> list[tuple[tuple[int, ...], int]]:
    """(next need, ways) for one row of k ones taken from columns with need >= 1."""
    out = []
    stack: list[tuple[int, int, list[int], int]] = [(k, k, list(need), 1)]
    while stack:
        v, left, state, ways = stack.pop()
        if v == 0:
            if left == 0:
                out.append((tuple(state), ways))
            continue
        for t in range(min(need[v], left) + 1):
            nxt = list(state)
            nxt[v] -= t
            nxt[v - 1] += t
            stack.append((v - 1, left - t, nxt, ways * math.comb(need[v], t)))
    return out


def transposable_patterns(n: int, m: int, *, max_patterns: int | None = MAX_PATTERNS
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(pairs, patterns): ``pairs`` (C(m, n), n) are the n-subsets of range(m) in
    lexicographic order; ``patterns`` (T, m) lists, in lexicographic order, every choice
    of one subset per row such that each column is chosen exactly n times (T = 90 for
    n=2, m=4). Both arrays are read-only (they are cached).

    T grows super-exponentially (297200 for n=3, m=6; 116963796250 for n=4, m=8), so T is
    counted (or, for large m, bounded below by m!) before anything is enumerated:
    ValueError naming n, m, T and the bytes when T exceeds max_patterns (default 10**6:
    at most a few seconds and 8 m MB) -- for n = m, the single all-ones pattern, when m
    does; pass a larger max_patterns, or None, to allow more."""
    n, m = nm_params(n, m)
    if max_patterns is not None:
        max_patterns = check_int(max_patterns, "max_patterns", lo=0)
        t, exact = _pattern_count(n, m)
        what: tuple[str, str | None] | None = None
        if not exact:
            if t > math.log(max(max_patterns, 1)):
                what = (f"at least {m}! = 10^{t / math.log(10):.1f} patterns", None)
            else:
                t, exact = _exact_count(min(n, m - n), m), True
        if exact and (t > max_patterns or (n == m and m > max_patterns)):
            what = (f"{t} patterns of {m} rows ({t * m * 8} bytes)", str(max(t, m)))
        if what is not None:
            allow = f"{what[1]} (or None)" if what[1] else "None"
            raise ValueError(f"transposable_patterns(n={n}, m={m}) would enumerate {what[0]}, "
                             f"more than max_patterns={max_patterns}; pass max_patterns="
                             f"{allow} to allow it")
    return _enumerate(n, m)


@lru_cache(maxsize=None)
def _enumerate(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    if n == m:                      # one pattern: every row takes every column
        everything = np.arange(m, dtype=np.int64).reshape(1, m)
        single = np.zeros((1, m), dtype=np.int64)
        everything.flags.writeable = False
        single.flags.writeable = False
        return everything, single
    subsets = list(itertools.combinations(range(m), n))
    pats: list[tuple[int, ...]] = []

    def rec(prefix: list[int], colcount: list[int]) -> None:
        r = len(prefix)
        if r == m:
            pats.append(tuple(prefix))
            return
        rest = m - r - 1
        for q, p in enumerate(subsets):
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
    pairs_a = np.array(subsets, dtype=np.int64).reshape(-1, n)
    pats_a = np.array(pats, dtype=np.int64).reshape(-1, m)
    pairs_a.flags.writeable = False
    pats_a.flags.writeable = False
    return pairs_a, pats_a


def _prep(w: Any, n: Any, m: Any) -> tuple[np.ndarray, int, int]:
    n, m = nm_params(n, m)
    wa = np.asarray(w)
    if wa.ndim != 2:
        raise ValueError(f"w must be a 2-d matrix, got {wa.ndim} dimensions")
    if wa.dtype.kind not in "iubf":
        raise TypeError(f"w must be real, got dtype {wa.dtype}")
    if wa.shape[0] % m or wa.shape[1] % m:
        raise ValueError(f"w.shape = {wa.shape} must be divisible by m={m} in both dimensions")
    a = np.abs(wa.astype(np.float64))
    if np.isnan(a).any():
        raise ValueError("w contains NaN; magnitudes must be comparable")
    return np.ascontiguousarray(a), n, m


MAX_WORK = 10 ** 13


def flow_work(shape: tuple[int, ...], n: int, m: int) -> int:
    """Worst-case edge relaxations of the min-cost-flow methods on a matrix of ``shape``:
    blocks * (m n augmentations) * (2m + 1 Bellman-Ford rounds) * (m^2 + 2m edges). It
    grows as m^5; measured runs take about a second per 10^10 to 10^11 of it (m = 128,
    n = 64: 3.5e10 per block, about 1 s)."""
    blocks = (shape[0] // m) * (shape[1] // m)
    return blocks * m * n * (2 * m + 1) * (m * m + 2 * m)


def _check_work(shape: tuple[int, ...], n: int, m: int, max_work: Any) -> None:
    if max_work is None:
        return
    max_work = check_int(max_work, "max_work")
    work = flow_work(shape, n, m)
    if work > max_work:
        raise ValueError(f"the min-cost flow for n={n}, m={m} over a {shape[0]}x{shape[1]} "
                         f"matrix needs up to {work:.3g} edge relaxations (grows as m^5), "
                         f"more than max_work={max_work:.3g}; pass a larger max_work (or "
                         "None) to allow it, or use method='greedy'")


def transposable_mask(w: npt.ArrayLike, n: int, m: int, method: str = "optimal", *,
                      max_work: int | None = MAX_WORK) -> np.ndarray:
    """Boolean transposable N:M mask of the 2-d array w (Hubara et al., "Accelerated
    Sparse Neural Training", NeurIPS 2021, arXiv 2102.08124): at most n ones in every
    row AND every column of each m x m block (blocks tile w from the top-left corner;
    both dimensions must be multiples of m), so w * mask and its transpose are both N:M
    along rows -- the forward and the backward pass can both use N:M sparse hardware.
    The objective is the kept magnitude, the sum over each block of |w| over the ones
    of the mask.

    method="optimal": every row and column of each block has exactly n ones (an
      n-regular bipartite pattern) and the kept sum is maximal -- the paper's
      min-cost-flow formulation: source -> row (capacity n), row i -> column j (capacity
      1, cost -|w_ij|), column -> sink (capacity n), flow m*n. For m <= 4 every valid
      pattern (``transposable_patterns``) is searched exhaustively (the 90 patterns of
      2:4, as NVIDIA Apex ASP's m4n2_2d_best does), keeping the first pattern, in
      lexicographic order, of maximal score; larger m solve the flow by successive
      shortest paths. Scores are float64 sums of |w| (exact when those sums are, e.g.
      for integers, float16/bfloat16 of moderate range).
    method="optimal_at_most": the largest kept sum over masks with AT MOST n ones per
      row and column (min-cost flow stopped as soon as an augmenting path no longer
      gains). This can exceed "optimal": completing a mask to exactly n per row and
      column may force small entries in place of large ones (it happens in a few blocks
      of a Gaussian matrix, where even the greedy mask can beat "optimal"). Hardware
      accepts fewer than n non-zeros per group, so this is the true optimum of the
      transposable constraint.
    method="greedy": visit |w| in descending order (ties: lower row-major position
      first) and keep an entry while its row and column hold fewer than n ones -- the
      paper's 2-approximation (kept sum >= optimal_at_most / 2); Apex m4n2_2d_greedy. It
      may leave fewer than n ones in a row or column.

    The flow methods ("optimal" for m > 4, "optimal_at_most") take time growing as m^5
    per block: ValueError when their worst case, blocks * (m n augmentations) *
    (2m + 1 Bellman-Ford rounds) * (m^2 + 2m edges) edge relaxations, exceeds
    ``max_work`` (default 10**13, minutes at most; None: no limit)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}; allowed: {', '.join(METHODS)}")
    a, n, m = _prep(w, n, m)
    if method == "optimal_at_most" or (method == "optimal" and m > 4):
        _check_work(a.shape, n, m, max_work)
    out = np.empty(a.shape, dtype=np.uint8)
    if method == "greedy":
        _k.transposable_greedy(a, m, n, out)
    elif method == "optimal_at_most":
        _k.transposable_flow(a, m, n, False, out)
    elif (n, m) == (2, 4) or (m <= 4):
        pairs, pats = transposable_patterns(n, m)
        _k.transposable_exhaustive(a, m, pairs, pats, out)
    else:
        _k.transposable_flow(a, m, n, True, out)
    return out.astype(bool)


def is_transposable(mask: npt.ArrayLike, n: int, m: int) -> bool:
    """True when every M x M block of ``mask`` has at most n non-zeros per row and per
    column."""
    n, m = nm_params(n, m)
    nz = np.asarray(mask) != 0
    if nz.ndim != 2 or nz.shape[0] % m or nz.shape[1] % m:
        raise ValueError(f"mask.shape = {nz.shape} must be 2-d and divisible by m={m}")
    R, C = nz.shape
    b = nz.reshape(R // m, m, C // m, m)
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
    def greedy_vs_optimal(self) -> float:
        """Kept magnitude of the greedy mask over the at-most-N optimum (>= 1/2)."""
        return self.greedy / self.optimal_at_most if self.optimal_at_most else 1.0

    @property
    def optimal_vs_nm(self) -> float:
        """Kept magnitude of the at-most-N transposable optimum over plain N:M."""
        return self.optimal_at_most / self.nm if self.nm else 1.0


def transposable_report(w: npt.ArrayLike, n: int, m: int, *,
                        max_work: int | None = MAX_WORK) -> TransposableReport:
    """Quality report: the fraction of sum |w| kept by nm_mask (along rows) and by the
    greedy, optimal and optimal_at_most transposable masks (float64 sums). max_work: as
    transposable_mask."""
    a, n, m = _prep(w, n, m)
    _check_work(a.shape, n, m, max_work)
    total = float(a.sum())

    def kept(mask: np.ndarray) -> float:
        return float(a[mask].sum()) / total if total else 1.0

    return TransposableReport(nm=kept(nm_mask(a, n, m, axis=1)),
                              greedy=kept(transposable_mask(a, n, m, "greedy")),
                              optimal=kept(transposable_mask(a, n, m, "optimal",
                                                             max_work=max_work)),
                              optimal_at_most=kept(transposable_mask(a, n, m, "optimal_at_most",
                                                                     max_work=max_work)))

"""The shared machinery of the power-of-two formats: a sign-symmetric table of
magnitudes onto which ``encode`` rounds with exact decisions."""
from __future__ import annotations

import math
from fractions import Fraction
from functools import cached_property
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from .._validate import as_real_array, check_int, native
from ..modes import Rounding, as_rounding
from ..protocol import Format

_k = kernels("pow2")

__all__ = ["check_seed", "largest_float_below", "rational_threshold"]


def check_seed(seed: Any) -> int:
    """The seed of STOCHASTIC rounding as an int64 value."""
    return check_int(seed, "seed", -(1 << 63), (1 << 63) - 1)


def largest_float_below(approx: float, below: Callable[[Fraction], bool]) -> float:
    """Largest float64 f with below(Fraction(f)) True, starting near ``approx``
    (``below`` is monotone: True for small f, False for large)."""
    f = float(approx)
    while not below(Fraction(f)):
        f = math.nextafter(f, -math.inf)
    while below(Fraction(math.nextafter(f, math.inf))):
        f = math.nextafter(f, math.inf)
    return f


def rational_threshold(t: Fraction) -> tuple[float, bool]:
    """(float, exact) for a rational decision point t (see ``levels_encode``): t itself
    when it is a float64, else the largest float64 below it and False."""
    f = float(t)
    if Fraction(f) == t:
        return f, True
    if Fraction(f) > t:
        f = math.nextafter(f, -math.inf)
    return f, False


class _TableFormat(Format):
    """A sign-symmetric table of magnitudes ``m_0 = 0 < m_1 < ...`` with a code layout
    each subclass documents.

    ``encode`` rounds onto the table with exact decisions (``refquant.kernels.pow2
    .levels_encode``): nearest modes compare |x| with the decision point between two
    neighbours, exactly even where that point is irrational (log-domain thresholds
    2^(k + 1/2)) or not a float64 (PWLQ midpoints); a tie goes to the even magnitude
    index (NEAREST_EVEN), to the larger magnitude (NEAREST_AWAY) or toward +inf
    (NEAREST_UP); directed modes and STOCHASTIC act on the two neighbouring levels.
    Beyond the largest magnitude values saturate (these formats have no inf); ±inf
    saturate; NaN raises ValueError; negative x raises ValueError for unsigned formats.
    Zero always encodes with a clear sign bit.
    """

    signed: bool = True

    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
        """(mags float64 ascending with mags[0] == 0, decision points thr (float64, one
        per pair of neighbours), thr_exact bool: thr[j] is the exact decision point)."""
        raise NotImplementedError

    @cached_property
    def _tab(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._tables()

    @property
    def magnitudes(self) -> np.ndarray:
        """Every representable magnitude |v|, ascending and without duplicates, starting
        with 0: the non-negative part of ``values()`` (all of it for unsigned formats).
        float64; an irrational level (base-sqrt(2) logs) is its correctly rounded
        float64. Index j of this table is the magnitude index that codes carry (log and
        APoT formats) or that NEAREST_EVEN ties are decided by. A fresh copy."""
        return self._tab[0].copy()

    @property
    def max(self) -> float:
        """The largest finite value (the largest magnitude)."""
        return float(self._tab[0][-1])

    @property
    def min(self) -> float:
        """The most negative finite value: -max when signed, else 0."""
        return -self.max if self.signed else 0.0

    def values(self) -> np.ndarray:
        """Every representable value, ascending (±0 once), from the magnitude table."""
        m = self._tab[0]
        return np.unique(np.concatenate([-m, m]) + 0.0) if self.signed else m.copy()

    def _buckets(self, dtype: npt.DTypeLike) -> tuple[np.ndarray, int, int, int, int]:
        """Bucket table of the search for inputs of ``dtype`` (float32 / float64):
        (start, klo, khi, shift, mask) as ``levels_encode`` takes them. Bucket k holds the
        floats whose magnitude bits >> shift equal k; keys run from that of c, the smallest
        float >= mags[1], to that of the largest float < mags[-1]; start[k - klo] is the
        floor index of the smallest float >= c in bucket k (one extra row for bucket
        khi + 1). shift is the largest that gives every bucket at most one level, or the
        smallest that keeps the table <= 2^14 rows."""
        cache = self.__dict__.setdefault("_bucket_cache", {})
        key = np.dtype(dtype).char
        if key in cache:
            return cache[key]
        ft, it, mbits = ((np.float32, np.int32, 23) if key == "f" else (np.float64, np.int64, 52))
        mask = (1 << (mbits + (8 if key == "f" else 11))) - 1
        mags = self._tab[0]
        info = np.finfo(ft)
        with np.errstate(over="ignore"):
            c = ft(mags[1])
            t = ft(mags[-1])
        if float(c) < mags[1]:
            c = np.nextafter(c, ft(np.inf))
        while t > 0 and float(t) >= mags[-1]:
            t = np.nextafter(t, ft(0))
        if not (float(c) < mags[-1] and c <= info.max):  # no float in [mags[1], mags[-1])
            cache[key] = (np.zeros(2, np.int64), 0, 0, 0, mask)
            return cache[key]
        lo_bits = int(np.array(c, ft).view(it))
        hi_bits = int(np.array(t, ft).view(it))
        best = None
        for m in range(mbits + 1):
            shift = mbits - m
            klo, khi = lo_bits >> shift, hi_bits >> shift
            if khi - klo + 2 > (1 << 14) and best is not None:
                break
            keys = np.arange(klo, khi + 2, dtype=np.int64) << shift
            lows = np.maximum(keys.astype(it).view(ft).astype(np.float64), float(c))
            start = np.searchsorted(mags, lows, side="right").astype(np.int64) - 1
            best = (start, klo, khi, shift, mask)
            if np.diff(start).max(initial=0) <= 1:
                break
        assert best is not None  # the first shift always gives a table
        cache[key] = best
        return best

    def _nearest_table(self, dtype: npt.DTypeLike) -> tuple | None:
        """Table of the NEAREST_EVEN rounding function for inputs of ``dtype`` as
        ``levels_encode_nearest`` takes it: (cut, tab int32, vals = mags[tab], klo, khi,
        shift, mask, nan_bits), or None when no shift gives <= 2^14 rows. The change
        points P_j (smallest magnitude pattern with index >= j) are found by bisection
        on the nearest-even index that ``levels_encode`` computes (restated here with
        NumPy: the floor index by search, then its one exact comparison), so the table
        reproduces it exactly; shift is the largest that puts every distinct change point
        in a row of its own."""
        cache = self.__dict__.setdefault("_nearest_cache", {})
        key = np.dtype(dtype).char
        if key in cache:
            return cache[key]
        ft, it, mbits, ebits = ((np.float32, np.int32, 23, 8) if key == "f"
                                else (np.float64, np.int64, 52, 11))
        mask = (1 << (mbits + ebits)) - 1
        mags, thr, ex = self._tab
        top = mags.size - 1
        odd_tie = np.asarray(ex, dtype=bool) & (np.arange(thr.size) % 2 == 1)

        def index(pats: np.ndarray) -> np.ndarray:
            """Nearest-even index of the non-negative, non-NaN floats with bit patterns
            pats, as ``levels_encode`` mode 0 forms it: a >= mags[-1] saturates; else the
            floor j (largest mags[j] <= a) moves up when a > thr[j], or on an exact tie
            (a == thr[j], thr_exact[j]) from an odd j."""
            a = pats.astype(it).view(ft).astype(np.float64)
            j = np.minimum(np.searchsorted(mags, a, side="right") - 1, top - 1)
            t = thr[j]
            up = (a > t) | ((a == t) & odd_tie[j])
            return np.where(a >= mags[-1], top, j + up)

        want = np.arange(1, mags.size, dtype=np.int64)
        lo = np.zeros(want.size, np.int64)  # index(lo) < want <= index(hi)
        inf_bits = int(np.array(np.inf, ft).view(it))
        hi = np.full(want.size, inf_bits, np.int64)
        while np.any(hi - lo > 1):
            mid = lo + ((hi - lo) >> 1)  # lo + hi can pass 2^63 for float64
            ge = index(mid) >= want
            hi = np.where(ge, mid, hi)
            lo = np.where(ge, lo, mid)
        P = np.unique(hi)
        table = None
        for shift in range(mbits + ebits, -1, -1):
            rows = P >> shift
            if rows[-1] - rows[0] + 1 > (1 << 14):
                break
            if np.all(np.diff(rows) > 0):
                klo, khi = int(rows[0]), int(rows[-1])
                cut = np.full(khi - klo + 1, np.iinfo(it).max, it)
                cut[rows - klo] = P
                starts = np.arange(klo, khi + 1, dtype=np.int64) << shift
                below = np.where(cut == np.iinfo(it).max, starts, cut.astype(np.int64) - 1)
                tab = np.empty(2 * cut.size, np.int32)
                tab[0::2] = np.searchsorted(hi, below, side="right")
                tab[1::2] = np.searchsorted(hi, cut.astype(np.int64), side="right")
                table = (cut, tab, mags[tab], klo, khi, shift, mask, inf_bits + 1)
                break
        cache[key] = table
        return table

    def _checked_codes(self, codes: npt.ArrayLike) -> np.ndarray:
        """codes as an int64 array; TypeError for a non-integer dtype, ValueError for a
        code outside [0, 2^bits)."""
        c = native(codes, "codes")
        if c.dtype.kind not in "iu":
            raise TypeError(f"codes must be integers, got dtype {c.dtype}")
        if c.size and (int(c.min()) < 0 or int(c.max()) >= (1 << self.bits)):
            raise ValueError(f"codes outside [0, 2^{self.bits}) for {self.name}")
        return c.astype(np.int64)

    def _kernel_args(self, x: npt.ArrayLike) -> tuple[tuple[int, ...], np.ndarray, tuple]:
        """(shape, flat input, table arguments) for the level kernels."""
        xa = as_real_array(x)
        flat = np.ascontiguousarray(xa).reshape(-1)
        if flat.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            flat = flat.astype(np.float64)
        bits = flat.view(np.int32 if flat.dtype == np.float32 else np.int64)
        mags, thr, ex = self._tab
        start, klo, khi, shift, mask = self._buckets(flat.dtype)
        return xa.shape, flat, (flat, bits, mags, thr, ex, start, klo, khi, shift, mask)

    def _check_status(self, status: int, flat: np.ndarray) -> None:
        if status == 0:
            return
        if np.isnan(flat).any():
            raise ValueError(f"x contains NaN; {self.name} has no NaN encoding")
        raise ValueError(f"x has negative values; {self.name} is unsigned")

    def _round_table(self, x: npt.ArrayLike, rounding: Rounding | str,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(magnitude index, sign bit) of x rounded onto the table, int64 arrays."""
        mode = as_rounding(rounding)
        seed = check_seed(seed)
        shape, flat, args = self._kernel_args(x)
        idx = np.empty(flat.size, np.int64)
        neg = np.empty(flat.size, np.int64)
        near = self._nearest_table(flat.dtype) if mode == Rounding.NEAREST_EVEN else None
        if near is not None:
            cut, tab, _, *geom = near
            st = _k.levels_encode_nearest(flat, args[1], cut, tab, *geom, bool(self.signed),
                                          idx, neg)
        else:
            st = _k.levels_encode(*args, int(mode), int(seed), bool(self.signed), idx, neg)
        self._check_status(st, flat)
        return idx.reshape(shape), neg.reshape(shape)

    def quantize(self, x: npt.ArrayLike,  # type: ignore[override]
                 rounding: Rounding | str = Rounding.NEAREST_EVEN, *,
                 seed: int = 0) -> np.ndarray:
        """decode(encode(x, rounding, seed=seed)) in one pass (``levels_quantize``):
        ±magnitude as float64, +0.0 for zero; NaN (and negative x for unsigned formats)
        raise ValueError as ``encode`` does."""
        mode = as_rounding(rounding)
        seed = check_seed(seed)
        shape, flat, args = self._kernel_args(x)
        out = np.empty(flat.size, np.float64)
        near = self._nearest_table(flat.dtype) if mode == Rounding.NEAREST_EVEN else None
        if near is not None:
            cut, _, vals, *geom = near
            st = _k.levels_quantize_nearest(flat, args[1], cut, vals, *geom,
                                            bool(self.signed), out)
        else:
            st = _k.levels_quantize(*args, int(mode), int(seed), bool(self.signed), out)
        self._check_status(st, flat)
        return out.reshape(shape)


class _SignIndexFormat(_TableFormat):
    """Tables coded as (sign << index_bits) | magnitude index, the sign bit only when
    signed (logarithmic and APoT: dataclasses with fields ``bits`` and ``signed``)."""

    bits: int

    @property
    def index_bits(self) -> int:
        """Width of the magnitude-index field: bits - 1 when signed, else bits."""
        return self.bits - 1 if self.signed else self.bits

    def encode(self, x: npt.ArrayLike,  # type: ignore[override]
               rounding: Rounding | str = Rounding.NEAREST_EVEN, *,
               seed: int = 0) -> np.ndarray:
        """Codes of x: (sign << index_bits) | j with j the magnitude index chosen by
        ``rounding`` (exact decisions; NEAREST_EVEN ties go to the even index; zero has a
        clear sign; beyond the largest magnitude, ±inf included, saturates); NaN, and
        negative x for unsigned formats, raise ValueError. ``seed``: STOCHASTIC only."""
        idx, neg = self._round_table(x, rounding, seed)
        c = idx | (neg << self.index_bits) if self.signed else idx
        return c.astype(self.code_dtype)

    def decode(self, codes: npt.ArrayLike) -> np.ndarray:
        """±magnitudes[j] (±0 for j = 0) as float64, j the low ``index_bits`` bits."""
        idx, neg = self._split_codes(codes)
        v = self._tab[0][idx]
        return np.where(neg == 1, -v, v)

    def _split_codes(self, codes: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(magnitude index, sign bit) of codes as int64 arrays (``_checked_codes``)."""
        c = self._checked_codes(codes)
        idx = c & ((1 << self.index_bits) - 1)
        neg = (c >> self.index_bits) & 1 if self.signed else np.zeros_like(c)
        return idx, neg

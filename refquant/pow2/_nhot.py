"""n-hot integers (Sakuma et al., arXiv 2103.11704): at most n signed powers of two."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._validate import check_int
from ..modes import Rounding
from ..registry import register, register_pattern
from ._table import _TableFormat
from ._terms import term_encode

__all__ = ["NHotFormat", "naf_digits", "nhot_truncate"]


def naf_digits(v: int) -> list[tuple[int, int]]:
    """Non-adjacent form of a Python int: list of (digit ±1, exponent), largest exponent
    first; v == sum digit * 2^exponent."""
    out = []
    m = abs(v)
    k = 0
    while m:
        if m & 1:
            d = 2 - (m & 3)
            m -= d
            out.append((d if v > 0 else -d, k))
        m >>= 1
        k += 1
    return out[::-1]


@dataclass(frozen=True)
class NHotFormat(_TableFormat):
    """n-hot: the integers |v| <= 2^(grid_bits-1) - 1 (a grid_bits-bit narrow-range grid)
    that are a sum of at most n signed powers of two, i.e. whose non-adjacent form (NAF)
    has at most n non-zero digits.

    Code: n slots of (2 + e) bits, e = ``exp_field`` = max(1, ceil(log2 grid_bits)), slot 0
    in the most significant bits; a slot is (digit << e) | exponent with digit 00 = empty,
    01 = +1, 11 = -1; the slots hold the NAF digits of the value, largest exponent first,
    empty slots last and all-zero. Only these canonical codes decode. ``bits`` =
    n * (2 + e). Encoding rounds to the nearest value of the set (exact; ties to the even
    index of the ascending magnitude table); beyond the top and ±inf saturate, NaN raises
    ValueError.

    Name: ``nhot{n}_{grid_bits}``.
    """

    n: int = 2
    grid_bits: int = 8

    def __post_init__(self) -> None:
        check_int(self.grid_bits, "grid_bits", 2, 16)
        check_int(self.n, "n", 1, self.grid_bits)
        if self.bits > 32:
            raise ValueError(f"n={self.n} with grid_bits={self.grid_bits} needs a "
                             f"{self.bits}-bit code; allowed n * (2 + ceil(log2 grid_bits)) "
                             "<= 32")

    @property
    def exp_field(self) -> int:
        """Width of a slot's exponent field: max(1, ceil(log2 grid_bits))."""
        return max(1, math.ceil(math.log2(self.grid_bits)))

    @property
    def slot_bits(self) -> int:
        """Width of one slot: 2 digit bits + ``exp_field``."""
        return 2 + self.exp_field

    @property
    def bits(self) -> int:
        """Width of a code: n * slot_bits."""
        return self.n * self.slot_bits

    @property
    def name(self) -> str:
        return f"nhot{self.n}_{self.grid_bits}"

    @property
    def is_integer_valued(self) -> bool:
        """Deprecated (always True: every n-hot value is an integer)."""
        _deprecate.warn("NHotFormat.is_integer_valued",
                        "nothing (every n-hot value is an integer)")
        return True

    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        top = (1 << (self.grid_bits - 1)) - 1
        mags = np.array([v for v in range(top + 1) if len(naf_digits(v)) <= self.n],
                        dtype=np.float64)
        thr = (mags[:-1] + mags[1:]) / 2
        return mags, thr, np.ones(thr.size, dtype=np.bool_)

    @cached_property
    def _code_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mags = self._tab[0].astype(np.int64)
        pos = np.zeros(mags.size, np.int64)
        negc = np.zeros(mags.size, np.int64)
        sb, ef = self.slot_bits, self.exp_field
        for j, v in enumerate(mags):
            for sign_tab, s in ((pos, 1), (negc, -1)):
                code = 0
                for t, (d, e) in enumerate(naf_digits(int(v) * s)):
                    digit = 1 if d > 0 else 3
                    code |= ((digit << ef) | e) << ((self.n - 1 - t) * sb)
                sign_tab[j] = code
        return mags, pos, negc

    def codes(self) -> np.ndarray:
        """Every valid code, ascending as unsigned ints: the canonical codes, one per
        value of ``values()`` (other bit patterns do not decode). Unlike the protocol's
        default this enumerates any n-hot format: there are at most 2^grid_bits codes."""
        _, pos, negc = self._code_tables
        return np.unique(np.concatenate([pos, negc])).astype(self.code_dtype)

    def encode(self, x: npt.ArrayLike,  # type: ignore[override]
               rounding: Rounding | str = Rounding.NEAREST_EVEN, *,
               seed: int = 0) -> np.ndarray:
        """Codes of x: the value of the set chosen by ``rounding`` (exact; NEAREST_EVEN
        ties to the even magnitude index of the ascending table), packed as NAF term
        slots. ``seed``: STOCHASTIC only."""
        idx, neg = self._round_table(x, rounding, seed)
        _, pos, negc = self._code_tables
        return np.where(neg == 1, negc[idx], pos[idx]).astype(self.code_dtype)

    def decode(self, codes: npt.ArrayLike) -> np.ndarray:
        """Sum of the slots' signed powers of two (float64, exact). Non-canonical codes
        raise ValueError."""
        c = self._checked_codes(codes)
        sign, exp = self.terms(c, check=False)
        v = (sign << exp).sum(axis=-1)
        back = self.encode(v.astype(np.float64))
        if not np.array_equal(back.astype(np.int64), c):
            raise ValueError(f"non-canonical codes for {self.name}")
        return v.astype(np.float64)

    def terms(self, codes: npt.ArrayLike, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(sign, exponent) int64 arrays of shape codes.shape + (n,), slot order (sign 0
        and exponent 0 for an empty slot). check=True validates the codes as ``decode``
        does."""
        c = self._checked_codes(codes) if check else np.asarray(codes).astype(np.int64)
        sb, ef = self.slot_bits, self.exp_field
        shifts = np.array([(self.n - 1 - t) * sb for t in range(self.n)], np.int64)
        slot = (c[..., None] >> shifts) & ((1 << sb) - 1)
        digit = slot >> ef
        exp = slot & ((1 << ef) - 1)
        sign = np.where(digit == 1, 1, np.where(digit == 3, -1, 0)).astype(np.int64)
        exp = np.where(sign == 0, 0, exp)
        if check:
            self.decode(c)
        return sign, exp


def nhot_truncate(values: npt.ArrayLike, n: int) -> np.ndarray:
    """Keep the n most significant NAF digits of each integer (|v| < 2^61): the naive
    rule that nearest n-hot rounding improves on. int64 of values' shape."""
    n = check_int(n, "n", 0, 63)
    s, e, _ = term_encode(values, "naf")
    keep = np.arange(s.shape[-1]) < n
    return ((np.where(keep, s, 0)) << e).sum(axis=-1)


def _from_name(m: re.Match[str]) -> NHotFormat:
    return NHotFormat(int(m[1]), int(m[2]))


register("nhot2_8", functools.partial(NHotFormat, 2, 8))
register("nhot3_8", functools.partial(NHotFormat, 3, 8))
register_pattern(r"nhot(\d+)_(\d+)", _from_name, "nhot{n}_{grid_bits}")

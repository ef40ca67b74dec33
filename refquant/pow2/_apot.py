"""Additive powers-of-two (APoT, Li, Dong, Wang, ICLR 2020): level sets, their terms and
the format."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._validate import check_bool, check_int
from ..registry import register, register_pattern
from ._table import _SignIndexFormat, rational_threshold

__all__ = ["APoTFormat", "apot_levels", "apot_terms", "apot_level_terms",
           "build_power_value_terms"]


@_deprecate.renamed_kwargs(B="bits")
def build_power_value_terms(bits: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The base lists of ``build_power_value(B=bits, additive=True)`` of the authors'
    repository as exponent lists (an entry e stands for 2^-e; None for the 0 entry), for
    bits = 2..6, following the authors' construction."""
    B = check_int(bits, "bits", 2, 6)
    a: list[Any] = [None]
    b: list[Any] = [None]
    c: list[Any] = [None]
    if B == 2:
        a += [i + 1 for i in range(3)]
    elif B == 4:
        for i in range(3):
            a.append(2 * i + 1)
            b.append(2 * i + 2)
    elif B == 6:
        for i in range(3):
            a.append(3 * i + 1)
            b.append(3 * i + 2)
            c.append(3 * i + 3)
    elif B == 3:
        for i in range(3):
            if i < 2:
                a.append(i + 1)
            else:
                b.append(i + 1)
                a.append(i + 2)
    else:  # B == 5
        for i in range(3):
            if i < 2:
                a.append(2 * i + 1)
                b.append(2 * i + 2)
            else:
                c.append(2 * i + 1)
                a.append(2 * i + 2)
                b.append(2 * i + 3)
    return a, b, c


@_deprecate.renamed_kwargs(B="bits")
def apot_level_terms(bits: int) -> tuple[list[Fraction], list[list[int]]]:
    """(levels, terms): the exact level set of ``build_power_value(B=bits)`` (bits 2..6)
    before normalisation, ascending, as Fractions, and for each level the exponents e of
    its terms 2^-e (ascending e, i.e. largest term first). Every level is a sum of at
    most one entry of each base list; no level has two decompositions for bits 2..6
    (AssertionError otherwise)."""
    a, b, c = build_power_value_terms(bits)
    seen: dict[Fraction, list[int]] = {}
    for ea in a:
        for eb in b:
            for ec in c:
                es = sorted(e for e in (ea, eb, ec) if e is not None)
                v = sum((Fraction(1, 2 ** e) for e in es), Fraction(0))
                if v in seen and seen[v] != es:
                    raise AssertionError(f"level {v} has two decompositions")
                seen[v] = es
    levels = sorted(seen)
    return levels, [seen[v] for v in levels]


def apot_levels(bits: int, normalized: bool = True) -> np.ndarray:
    """The APoT level set of ``build_power_value(B=bits)`` (bits 2..6), ascending.

    The reference makes every sum of one entry of each base list a set and divides it by
    its maximum (in float32 there). normalized=True: divided by the maximum (each level
    the correctly rounded float64 of the exact quotient); False: the exact sums of powers
    of two that the hardware adds."""
    bits = check_int(bits, "bits", 2, 6)
    normalized = check_bool(normalized, "normalized")
    levels, _ = apot_level_terms(bits)
    if normalized:
        top = levels[-1]
        return np.array([float(v / top) for v in levels])
    return np.array([float(v) for v in levels])


def apot_terms(bits: int) -> np.ndarray:
    """Each level of apot_levels(bits, normalized=False) as its power-of-two terms:
    an (L, 3) int64 array of exponents e (term 2^-e), -1 where absent, largest first."""
    bits = check_int(bits, "bits", 2, 6)
    _, terms = apot_level_terms(bits)
    out = np.full((len(terms), 3), -1, np.int64)
    for j, es in enumerate(terms):
        out[j, :len(es)] = es
    return out


@dataclass(frozen=True)
class APoTFormat(_SignIndexFormat):
    """APoT (additive powers of two): sign + (bits-1)-bit level code (signed weights,
    bits 3..7) or a bits-bit level code (unsigned activations, bits 2..6).

    The level set is that of ``build_power_value(B)`` with B = ``level_bits``, before its
    division by the maximum (``apot_level_terms``): every level is a sum of at most one
    term from each base list, so it decodes exactly; the reference's normalised set is
    ``values() / max`` (``apot_levels``). Code: (sign << level_bits) | level index in the
    ascending table. Encoding is the reference's nearest projection (argmin |x - level|),
    decided exactly, ties to the even level index; values beyond the top and ±inf
    saturate, NaN raises ValueError.

    Names: ``apot{b}`` (signed) and ``uapot{b}`` (unsigned).
    """

    bits: int = 4
    signed: bool = True

    def __post_init__(self) -> None:
        check_bool(self.signed, "signed")
        lo, hi = (3, 7) if self.signed else (2, 6)
        check_int(self.bits, "bits", lo, hi)

    @property
    def level_bits(self) -> int:
        """Width of the level-index field (``index_bits``): B of build_power_value."""
        return self.index_bits

    @property
    def nbits(self) -> int:
        """Deprecated name of ``bits``."""
        _deprecate.warn("APoTFormat.nbits", "bits")
        return self.bits

    @property
    def name(self) -> str:
        return f"{'' if self.signed else 'u'}apot{self.bits}"

    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        levels, _ = apot_level_terms(self.level_bits)
        mags = np.array([float(v) for v in levels])
        thr, ex = zip(*(rational_threshold((levels[j] + levels[j + 1]) / 2)
                        for j in range(len(levels) - 1)))
        return mags, np.array(thr), np.array(ex, dtype=np.bool_)

    @cached_property
    def term_shifts(self) -> tuple[np.ndarray, int]:
        """(shift table (L, 3) int64, E): level j = sum_t 2^(shift[j, t] - E) over
        shift >= 0 (-1 marks an absent term); E is the deepest term exponent."""
        _, terms = apot_level_terms(self.level_bits)
        E = max(max(t) for t in terms if t)
        tab = np.full((len(terms), 3), -1, np.int64)
        for j, es in enumerate(terms):
            for t, e in enumerate(es):
                tab[j, t] = E - e
        return tab, E

    def split(self, codes: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(neg, level index) of codes, int64 arrays."""
        idx, neg = self._split_codes(codes)
        return neg, idx


APoTFormat.__init__ = _deprecate.renamed_kwargs(nbits="bits")(  # type: ignore[method-assign]
    APoTFormat.__init__)

def _from_name(m: re.Match[str]) -> APoTFormat:
    return APoTFormat(int(m[2]), m[1] == "")


for _b in (3, 4, 5, 6):
    register(f"apot{_b}", functools.partial(APoTFormat, _b))
register_pattern(r"(u?)apot(\d+)", _from_name, "apot{b} / uapot{b}")

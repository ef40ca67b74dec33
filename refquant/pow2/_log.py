"""Logarithmic formats (Miyashita, Lee, Murmann 2016) and LogQuant."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._validate import check_bool, check_int, is_int
from ..modes import Rounding
from ..registry import register, register_pattern
from ._table import _SignIndexFormat, largest_float_below

__all__ = ["LogFormat", "log_quantize"]


def _power_below(R: Fraction, p: int, c: int) -> Callable[[Fraction], bool]:
    """The test (c f)^p < R of a float f (as a Fraction)."""
    return lambda f: (c * f) ** p < R


def _log_params(bits: int, fsr: int, signed: bool) -> tuple[int, int, int]:
    eb = bits - 1 if signed else bits
    kmax = fsr - 1
    kmin = fsr - (1 << eb) + 1
    return eb, kmin, kmax


@dataclass(frozen=True)
class LogFormat(_SignIndexFormat):
    """Logarithmic format (Miyashita, Lee, Murmann 2016, arXiv 1603.01025): 0 or
    ±base^k, k = FSR - 2^e + 1 .. FSR - 1, e the exponent-code width (bits - 1 signed,
    bits unsigned). base is 2 or 'sqrt2'.

    Code: (sign << exp_bits) | c (no sign bit when unsigned). Exponent code 0 means zero,
    code c >= 1 means base^(FSR - 2^e + c), so the codes 1..2^e - 1 cover
    x~ = FSR - 2^e + 1 .. FSR - 1 exactly as LogQuant's clip(round(log|x|), FSR - 2^e,
    FSR - 1) with the lowest value standing for zero. Default FSR = 1 (largest magnitude
    1 = base^0); base sqrt(2) counts FSR and x~ in half octaves (value 2^(x~/2)).
    ``domain='log'`` (default, the paper) rounds log_base|x| to the nearest integer
    (decision points base^(k + 1/2); |x| below base^(kmin - 1/2) becomes 0);
    ``domain='linear'`` rounds |x| to the nearest level (decision points at the
    arithmetic means; |x| below base^kmin / 2 becomes 0). Rounding, saturation and NaN
    as the other power-of-two tables: exact decisions, ties to the even magnitude index,
    ±inf and values beyond the top saturate, NaN raises ValueError.
    ``calibration_max`` is the largest magnitude, so ``refquant.quantize`` maps the
    calibrated amax onto the top level (the data-dependent FSR of the paper).
    Base-sqrt(2) levels with odd x~ are irrational; they decode to the correctly rounded
    float64.

    Names: ``log{b}`` / ``ulog{b}`` / ``log{b}_sqrt2`` / ``ulog{b}_sqrt2``, with
    ``_fsr{F}`` for FSR != 1 and ``_lin`` for the linear domain.
    """

    bits: int = 4
    fsr: int = 1
    base: int | str = 2
    signed: bool = True
    domain: str = "log"

    def __post_init__(self) -> None:
        check_bool(self.signed, "signed")
        check_int(self.bits, "bits", 2 if self.signed else 1, 11 if self.signed else 10)
        if self.base not in (2, "sqrt2"):
            raise ValueError(f"base={self.base!r}; allowed: 2, 'sqrt2'")
        if self.domain not in ("log", "linear"):
            raise ValueError(f"domain={self.domain!r}; allowed: 'log', 'linear'")
        check_int(self.fsr, "fsr", -2000, 2000)
        _, kmin, kmax = _log_params(self.bits, self.fsr, self.signed)
        half = 2 if self.base == "sqrt2" else 1
        if kmin < -1022 * half or kmax > 1023 * half:
            raise ValueError(f"fsr={self.fsr} with bits={self.bits} puts levels outside the "
                             f"normal float64 range; allowed exponents "
                             f"{-1022 * half}..{1023 * half}")

    @property
    def exp_bits(self) -> int:
        """Width of the exponent-code field (``index_bits``): bits - 1 signed, else bits."""
        return self.index_bits

    @property
    def nbits(self) -> int:
        """Deprecated name of ``bits``."""
        _deprecate.warn("LogFormat.nbits", "bits")
        return self.bits

    @property
    def kmin(self) -> int:
        """Exponent x~ of the smallest non-zero magnitude (FSR - 2^exp_bits + 1)."""
        return _log_params(self.bits, self.fsr, self.signed)[1]

    @property
    def kmax(self) -> int:
        """Exponent x~ of the largest magnitude (FSR - 1)."""
        return self.fsr - 1

    @property
    def smallest_normal(self) -> float:
        """The smallest positive value, base^kmin (no subnormals: equal to
        ``smallest_subnormal``)."""
        return self.level_exponent(self.kmin)

    @property
    def smallest_subnormal(self) -> float:
        """The smallest positive value (equal to ``smallest_normal``)."""
        return self.smallest_normal

    @property
    def name(self) -> str:
        n = f"{'' if self.signed else 'u'}log{self.bits}"
        if self.base == "sqrt2":
            n += "_sqrt2"
        if self.fsr != 1:
            n += f"_fsr{self.fsr}"
        if self.domain != "log":
            n += "_lin"
        return n

    def level_exponent(self, k: int) -> float:
        """base^k as float64: 2^k exactly, or 2^(k/2) correctly rounded (base sqrt(2))."""
        if self.base == 2:
            return math.ldexp(1.0, k)
        q, r = divmod(k, 2)
        return math.ldexp(math.sqrt(2.0) if r else 1.0, q)

    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ks = list(range(self.kmin, self.kmax + 1))
        mags = np.array([0.0] + [self.level_exponent(k) for k in ks])
        thr: list[float] = []
        ex: list[bool] = []
        sq = self.base == "sqrt2"
        for j, k in enumerate(ks):
            # decision point between level j (k - 1, or zero when j == 0) and level k
            if self.domain == "log":
                # base^(k - 1/2): t^2 = 2^(2k-1) (base 2), t^4 = 2^(2k-1) (sqrt2)
                p = 4 if sq else 2
                e2 = 2 * k - 1
                R = Fraction(2) ** e2
                thr.append(largest_float_below(2.0 ** (e2 / p), _power_below(R, p, 1)))
                ex.append(False)
            elif j == 0:
                if not sq or k % 2 == 0:
                    thr.append(math.ldexp(self.level_exponent(k) if not sq else 1.0,
                                          -1 if not sq else k // 2 - 1))
                    ex.append(True)
                else:  # t = 2^q sqrt2 / 2: (2f)^2 < 2^(2q+1)
                    q = (k - 1) // 2
                    R = Fraction(2) ** (2 * q + 1)
                    thr.append(largest_float_below(2.0 ** (q + 0.5) / 2,
                                                   _power_below(R, 2, 2)))
                    ex.append(False)
            elif not sq:
                thr.append(3.0 * math.ldexp(1.0, k - 2))  # (2^(k-1) + 2^k) / 2
                ex.append(True)
            else:
                km = k - 1  # levels 2^(km/2) and 2^(k/2); t = their mean
                if km % 2 == 0:
                    q = km // 2  # 2f - 2^q < 2^q sqrt2
                    c = Fraction(2) ** q
                else:
                    q = (km - 1) // 2  # 2f - 2^(q+1) < 2^q sqrt2
                    c = Fraction(2) ** (q + 1)
                R = Fraction(2) ** (2 * q + 1)
                approx = (2.0 ** (km / 2) + 2.0 ** (k / 2)) / 2

                def below(f: Fraction, c: Fraction = c, R: Fraction = R) -> bool:
                    d = 2 * f - c
                    return d < 0 or d * d < R
                thr.append(largest_float_below(approx, below))
                ex.append(False)
        return mags, np.array(thr), np.array(ex, dtype=np.bool_)

    def exponents(self, codes: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(sign, k) of codes as int64 arrays: sign in {-1, 0, 1} (0 for zero), k = x~
        (0 where zero)."""
        idx, neg = self._split_codes(codes)
        sign = np.where(idx == 0, 0, np.where(neg == 1, -1, 1)).astype(np.int64)
        k = np.where(idx == 0, 0, idx - 1 + self.kmin).astype(np.int64)
        return sign, k


LogFormat.__init__ = _deprecate.renamed_kwargs(nbits="bits")(  # type: ignore[method-assign]
    LogFormat.__init__)


def log_quantize(x: npt.ArrayLike, bits: int, fsr: int, base: int | float | str = 2,
                 domain: str = "log",
                 rounding: Rounding | str = Rounding.NEAREST_EVEN) -> np.ndarray:
    """LogQuant of Miyashita et al.: 0 or sign(x) base^x~ with
    x~ = clip(round(log_base|x|), FSR - 2^bits, FSR - 1), the lowest x~ meaning 0.

    bits: exponent-code bits (1..10; the sign is extra). fsr: int. base: 2 or 'sqrt2'
    (also accepted: math.sqrt(2)); for sqrt(2), x~ and FSR count half octaves.
    domain='log' rounds in the log domain (threshold base^(k+1/2)); 'linear' rounds to the
    nearest level (threshold at the arithmetic mean; ties to the even exponent code).
    Values above base^(FSR-1) saturate, ±inf saturate, NaN raises ValueError.
    Returns float64 (base-sqrt(2) levels with odd x~ are correctly rounded): the values
    of ``LogFormat(bits + 1, fsr, base, True, domain)``."""
    if isinstance(base, float) and base == math.sqrt(2.0):
        base = "sqrt2"
    bits = check_int(bits, "bits", 1, 10)
    if not is_int(fsr):
        raise TypeError(f"fsr must be an int, got {type(fsr).__name__}")
    fmt = LogFormat(bits + 1, int(fsr), base, True, domain)  # type: ignore[arg-type]
    return fmt.quantize(x, rounding)


def _from_name(m: re.Match[str]) -> LogFormat:
    return LogFormat(int(m[2]), int(m[4]) if m[4] else 1, "sqrt2" if m[3] else 2, m[1] == "",
                     "linear" if m[5] else "log")


for _b in (3, 4, 5, 8):
    register(f"log{_b}", functools.partial(LogFormat, _b))
register_pattern(r"(u?)log(\d+)(_sqrt2)?(?:_fsr(-?\d+))?(_lin)?", _from_name,
                 "log{b}[_sqrt2][_fsr{F}][_lin] / ulog{b}...")

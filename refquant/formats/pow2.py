"""Power-of-two number formats: logarithmic, APoT, n-hot and PWLQ.

Every format here is a sign-symmetric table of magnitudes ``m_0 = 0 < m_1 < ...``
(``fmt.magnitudes``) with a documented code layout. ``encode`` rounds onto the table
with exact decisions (``refquant.kernels.pow2.levels_encode``): nearest modes compare
|x| with the decision point between neighbours, which is exact even where that point is
irrational (log-domain thresholds 2^(k + 1/2)) or not a float64 (PWLQ midpoints); a tie
goes to the even magnitude index (NEAREST_EVEN), to the larger magnitude
(NEAREST_AWAY) or toward +inf (NEAREST_UP); directed modes and STOCHASTIC act on the
two neighbouring levels. Beyond the largest magnitude values saturate (these formats
have no inf); ±inf saturate; NaN raises ValueError. Zero always encodes with a clear
sign bit.

Names (``refquant.format``):

* ``log{b}`` / ``ulog{b}`` / ``log{b}_sqrt2`` / ``ulog{b}_sqrt2``: logarithmic
  (Miyashita, Lee, Murmann 2016, arXiv 1603.01025). Signed: sign bit + (b-1)-bit
  exponent code; unsigned: b-bit exponent code. Exponent code 0 means zero, code c >= 1
  means base^(FSR - 2^e + c) where e is the exponent-code width, so the codes 1..2^e-1
  cover x~ = FSR - 2^e + 1 .. FSR - 1 exactly as LogQuant's clip(round(log|x|),
  FSR - 2^e, FSR - 1) with the lowest value standing for zero. Default FSR = 1 (largest
  magnitude 1 = base^0); base sqrt(2) counts FSR and x~ in half octaves
  (value 2^(x~/2)). ``domain='log'`` (default, the paper) rounds log_base|x| to the
  nearest integer (decision points base^(k + 1/2); |x| below base^(kmin - 1/2) becomes
  0); ``domain='linear'`` rounds |x| to the nearest level (decision points at the
  arithmetic means; |x| below base^kmin / 2 becomes 0). ``calibration_max`` is the
  largest magnitude, so ``refquant.quantize`` maps the calibrated amax onto the top
  level (the data-dependent FSR of the paper). Base-sqrt(2) levels with odd x~ are
  irrational; they decode to the correctly rounded float64.
* ``apot{b}`` (signed weights: sign bit + (b-1)-bit level code, b = 3..7) and
  ``uapot{b}`` (unsigned activations, b = 2..6): additive powers of two (Li, Dong, Wang,
  ICLR 2020). Level sets are those of ``build_power_value(B)`` in the authors'
  repository yhhhli/APoT_Quantization (B = level bits, 2..6), before its division by
  the maximum: every level is a sum of at most one term from each base list, so it
  decodes exactly; the normalised set of the reference is ``levels / max_value``
  (see ``refquant.apot_levels``). Level code = index in the ascending level table.
* ``nhot{n}_{g}``: integers |v| <= 2^(g-1) - 1 (a g-bit narrow-range grid) that are a sum
  of at most n signed powers of two, i.e. whose non-adjacent form (NAF) has at most n
  non-zero digits (Sakuma et al., arXiv 2103.11704). Code: n slots of (2 + e) bits,
  e = ceil(log2 g), slot 0 in the most significant bits; a slot is (digit << e) | exponent
  with digit 00 = empty, 01 = +1, 11 = -1; the slots hold the NAF digits of the value,
  largest exponent first, empty slots last and all-zero. Only these canonical codes decode.
* ``pwlq{b}`` / ``pwlq{b}_p{p}``: piecewise linear quantization (Fang et al., ECCV 2020,
  arXiv 2002.00104) on [-1, 1] (the scale maps m = amax to 1), breakpoints
  0 < p_1 < ... < 1 (default p = 0.25). Region j = [p_j, p_(j+1)] (p_0 = 0, p_R = 1) holds
  p_j + (p_(j+1) - p_j) k / N, k = 0..N, N = 2^(b-1) - 1. Code: (region << b) |
  (sign << (b-1)) | k, so b bits per value plus ceil(log2 R) region bits. A magnitude on
  a breakpoint is coded in the lower region. Levels are rationals; decode returns the
  correctly rounded float64, encode decides exactly on the rationals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import numpy as np

from ..affine import as_real_array
from ..modes import Rounding, as_rounding
from .base import Format, register, register_pattern, check_int, native_order

__all__ = ["LogFormat", "APoTFormat", "NHotFormat", "PWLQFormat", "apot_level_terms",
           "naf_digits", "build_power_value_terms"]


def _check_seed(seed):
    return check_int(seed, -(1 << 63), (1 << 63) - 1, "seed")


def _check_bool(value, param):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{param} must be a bool, got {type(value).__name__}")
    return bool(value)


def _largest_float_below(approx: float, below) -> float:
    """Largest float64 f with below(Fraction(f)) True, starting near ``approx``
    (``below`` is monotone: True for small f, False for large)."""
    f = float(approx)
    while not below(Fraction(f)):
        f = math.nextafter(f, -math.inf)
    while below(Fraction(math.nextafter(f, math.inf))):
        f = math.nextafter(f, math.inf)
    return f


def _rational_threshold(t: Fraction):
    """(float, exact) for a rational decision point t (see levels_encode)."""
    f = float(t)
    if Fraction(f) == t:
        return f, True
    if Fraction(f) > t:
        f = math.nextafter(f, -math.inf)
    return f, False


class _TableFormat(Format):
    """Shared machinery of sign-symmetric tables of magnitudes (see the module doc)."""

    signed = True

    # subclasses provide: _tables() -> (mags float64, thr float64, thr_exact bool)
    @cached_property
    def _tab(self):
        return self._tables()

    @property
    def magnitudes(self) -> np.ndarray:
        """The ascending magnitude table (float64; mags[0] == 0)."""
        return self._tab[0].copy()

    @property
    def max_value(self) -> float:
        return float(self._tab[0][-1])

    @property
    def min_value(self) -> float:
        return -self.max_value if self.signed else 0.0

    def values(self) -> np.ndarray:
        """Every representable value, ascending (±0 once), from the magnitude table."""
        m = self._tab[0]
        return np.unique(np.concatenate([-m, m]) + 0.0) if self.signed else m.copy()

    def _buckets(self, dtype):
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
        cache[key] = best
        return best

    def _nearest_table(self, dtype):
        """Table of the NEAREST_EVEN rounding function for inputs of ``dtype`` as
        ``levels_encode_nearest`` takes it: (cut, tab int32, vals = mags[tab], klo, khi,
        shift, mask, nan_bits), or None when no shift gives <= 2^14 rows. The change
        points P_j (smallest magnitude pattern with index >= j) are found by bisection
        on ``levels_encode`` itself, so the table reproduces it exactly; shift is the
        largest that puts every distinct change point in a row of its own."""
        from ..kernels.pow2 import levels_encode
        cache = self.__dict__.setdefault("_nearest_cache", {})
        key = np.dtype(dtype).char
        if key in cache:
            return cache[key]
        ft, it, mbits, ebits = ((np.float32, np.int32, 23, 8) if key == "f"
                                else (np.float64, np.int64, 52, 11))
        mask = (1 << (mbits + ebits)) - 1
        bargs = self._buckets(ft)
        mags, thr, ex = self._tab

        def index(pats):  # nearest-even index of the non-negative floats with bits pats
            f = pats.astype(it).view(ft)
            idx = np.empty(f.size, np.int64)
            neg = np.empty(f.size, np.int64)
            levels_encode(f, f.view(it), mags, thr, ex, *bargs, 0, 0, True, idx, neg)
            return idx

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

    def _checked_codes(self, codes):
        """codes as an int64 array; TypeError for a non-integer dtype, ValueError for a
        code outside [0, 2^bits)."""
        c = native_order(codes)
        if c.dtype.kind not in "iu":
            raise TypeError(f"codes must be integers, got dtype {c.dtype}")
        if c.size and (int(c.min()) < 0 or int(c.max()) >= (1 << self.bits)):
            raise ValueError(f"codes outside [0, 2^{self.bits}) for {self.name}")
        return c.astype(np.int64)

    def _kernel_args(self, x):
        """(flat input, its bit view, table arguments) for the level kernels."""
        x = as_real_array(x)
        flat = np.ascontiguousarray(x).reshape(-1)
        if flat.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            flat = flat.astype(np.float64)
        bits = flat.view(np.int32 if flat.dtype == np.float32 else np.int64)
        mags, thr, ex = self._tab
        start, klo, khi, shift, mask = self._buckets(flat.dtype)
        return x.shape, flat, (flat, bits, mags, thr, ex, start, klo, khi, shift, mask)

    def _check_status(self, status, flat):
        if status == 0:
            return
        if np.isnan(flat).any():
            raise ValueError(f"x contains NaN; {self.name} has no NaN encoding")
        raise ValueError(f"x has negative values; {self.name} is unsigned")

    def _round_table(self, x, rounding, seed):
        from ..kernels.pow2 import levels_encode, levels_encode_nearest
        mode = as_rounding(rounding)
        seed = _check_seed(seed)
        shape, flat, args = self._kernel_args(x)
        idx = np.empty(flat.size, np.int64)
        neg = np.empty(flat.size, np.int64)
        near = self._nearest_table(flat.dtype) if mode == Rounding.NEAREST_EVEN else None
        if near is not None:
            cut, tab, _, *geom = near
            st = levels_encode_nearest(flat, args[1], cut, tab, *geom, bool(self.signed),
                                       idx, neg)
        else:
            st = levels_encode(*args, int(mode), int(seed), bool(self.signed), idx, neg)
        self._check_status(st, flat)
        return idx.reshape(shape), neg.reshape(shape)

    def quantize(self, x, rounding=Rounding.NEAREST_EVEN, *, seed=0):
        """decode(encode(x, rounding, seed=seed)) in one pass (``levels_quantize``):
        ±magnitude as float64, +0.0 for zero; NaN (and negative x for unsigned formats)
        raise ValueError as ``encode`` does."""
        from ..kernels.pow2 import levels_quantize, levels_quantize_nearest
        mode = as_rounding(rounding)
        seed = _check_seed(seed)
        shape, flat, args = self._kernel_args(x)
        out = np.empty(flat.size, np.float64)
        near = self._nearest_table(flat.dtype) if mode == Rounding.NEAREST_EVEN else None
        if near is not None:
            cut, _, vals, *geom = near
            st = levels_quantize_nearest(flat, args[1], cut, vals, *geom, bool(self.signed),
                                         out)
        else:
            st = levels_quantize(*args, int(mode), int(seed), bool(self.signed), out)
        self._check_status(st, flat)
        return out.reshape(shape)



class _SignIndexFormat(_TableFormat):
    """Tables coded as (sign << index_bits) | magnitude index, the sign bit only when
    signed (logarithmic and APoT, dataclasses with fields ``nbits`` and ``signed``)."""

    @property
    def bits(self) -> int:
        return self.nbits

    @property
    def index_bits(self) -> int:
        """Width of the magnitude-index field: bits - 1 when signed, else bits."""
        return self.nbits - 1 if self.signed else self.nbits

    def encode(self, x, rounding=Rounding.NEAREST_EVEN, *, seed=0):
        """Codes of x: (sign << index_bits) | j with j the magnitude index chosen as in
        the module docstring (exact decisions; NEAREST_EVEN ties go to the even index;
        zero has a clear sign); NaN, and negative x for unsigned formats, raise
        ValueError."""
        idx, neg = self._round_table(x, rounding, seed)
        c = idx | (neg << self.index_bits) if self.signed else idx
        return c.astype(self.code_dtype)

    def decode(self, codes):
        """±magnitudes[j] (±0 for j = 0) as float64, j the low ``index_bits`` bits."""
        idx, neg = self._split_codes(codes)
        v = self._tab[0][idx]
        return np.where(neg == 1, -v, v)

    def _split_codes(self, codes):
        """(magnitude index, sign bit) of codes as int64 arrays (``_checked_codes``)."""
        c = self._checked_codes(codes)
        idx = c & ((1 << self.index_bits) - 1)
        neg = (c >> self.index_bits) & 1 if self.signed else np.zeros_like(c)
        return idx, neg


def _log_params(bits, fsr, base, signed):
    eb = bits - 1 if signed else bits
    kmax = fsr - 1
    kmin = fsr - (1 << eb) + 1
    return eb, kmin, kmax


@dataclass(frozen=True)
class LogFormat(_SignIndexFormat):
    """Logarithmic format (Miyashita et al. 2016): 0 or ±base^k, k = FSR - 2^e + 1 ..
    FSR - 1 (e exponent-code bits: bits - 1 signed, bits unsigned). See the module
    docstring for codes, domains and NaN/inf/overflow behaviour. base is 2 or 'sqrt2'."""

    nbits: int = 4
    fsr: int = 1
    base: object = 2
    signed: bool = True
    domain: str = "log"

    def __post_init__(self):
        _check_bool(self.signed, "signed")
        check_int(self.nbits, 2 if self.signed else 1, 11 if self.signed else 10, "bits")
        if self.base not in (2, "sqrt2"):
            raise ValueError(f"base={self.base!r}; allowed: 2, 'sqrt2'")
        if self.domain not in ("log", "linear"):
            raise ValueError(f"domain={self.domain!r}; allowed: 'log', 'linear'")
        check_int(self.fsr, -2000, 2000, "fsr")
        eb, kmin, kmax = _log_params(self.nbits, self.fsr, self.base, self.signed)
        half = 2 if self.base == "sqrt2" else 1
        if kmin < -1022 * half or kmax > 1023 * half:
            raise ValueError(f"fsr={self.fsr} with bits={self.nbits} puts levels outside the "
                             f"normal float64 range; allowed exponents "
                             f"{-1022 * half}..{1023 * half}")

    exp_bits = _SignIndexFormat.index_bits  # code = (sign << exp_bits) | exponent code

    @property
    def kmin(self) -> int:
        return _log_params(self.nbits, self.fsr, self.base, self.signed)[1]

    @property
    def kmax(self) -> int:
        return self.fsr - 1

    @property
    def name(self) -> str:
        n = f"{'' if self.signed else 'u'}log{self.nbits}"
        if self.base == "sqrt2":
            n += "_sqrt2"
        if self.fsr != 1:
            n += f"_fsr{self.fsr}"
        if self.domain != "log":
            n += "_lin"
        return n

    def level_exponent(self, k):
        """Exact Fraction ** or float of base^k: 2^k, or 2^(k/2) (float64, rounded)."""
        if self.base == 2:
            return math.ldexp(1.0, k)
        q, r = divmod(k, 2)
        return math.ldexp(math.sqrt(2.0) if r else 1.0, q)

    def _tables(self):
        ks = list(range(self.kmin, self.kmax + 1))
        mags = np.array([0.0] + [self.level_exponent(k) for k in ks])
        thr, ex = [], []
        sq = self.base == "sqrt2"
        for j, k in enumerate(ks):
            # decision point between level j (k - 1, or zero when j == 0) and level k
            if self.domain == "log":
                # base^(k - 1/2): 2^(2k-1)/2 ... t^2 = 2^(2k-1) (base 2), t^4 = 2^(2k-1) (sqrt2)
                p = 4 if sq else 2
                e2 = 2 * k - 1
                R = Fraction(2) ** e2
                f = _largest_float_below(2.0 ** (e2 / p), lambda f, R=R, p=p: f ** p < R)
                thr.append(f)
                ex.append(False)
            elif j == 0:
                if not sq or k % 2 == 0:
                    thr.append(math.ldexp(self.level_exponent(k) if not sq else 1.0,
                                          -1 if not sq else k // 2 - 1))
                    ex.append(True)
                else:  # t = 2^q sqrt2 / 2: (2f)^2 < 2^(2q+1)
                    q = (k - 1) // 2
                    R = Fraction(2) ** (2 * q + 1)
                    thr.append(_largest_float_below(2.0 ** (q + 0.5) / 2,
                                                    lambda f, R=R: (2 * f) ** 2 < R))
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

                def below(f, c=c, R=R):
                    d = 2 * f - c
                    return d < 0 or d * d < R
                thr.append(_largest_float_below(approx, below))
                ex.append(False)
        return mags, np.array(thr), np.array(ex, dtype=np.bool_)

    def exponents(self, codes):
        """(sign, k) of codes: sign in {-1, 0, 1} (0 for zero), k = x~ (0 where zero)."""
        idx, neg = self._split_codes(codes)
        sign = np.where(idx == 0, 0, np.where(neg == 1, -1, 1)).astype(np.int64)
        k = np.where(idx == 0, 0, idx - 1 + self.kmin).astype(np.int64)
        return sign, k


# ---------------------------------------------------------------------------------------
# APoT
# ---------------------------------------------------------------------------------------

def build_power_value_terms(B: int):
    """The base lists of build_power_value(B, additive=True) as exponent lists
    (2^-e; None for the 0 entry), for B = 2..6, following the authors' construction."""
    a, b, c = [None], [None], [None]
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
    elif B == 5:
        for i in range(3):
            if i < 2:
                a.append(2 * i + 1)
                b.append(2 * i + 2)
            else:
                c.append(2 * i + 1)
                a.append(2 * i + 2)
                b.append(2 * i + 3)
    else:
        raise ValueError(f"bits={B} out of range; APoT level sets exist for 2..6")
    return a, b, c


def apot_level_terms(B: int):
    """(levels, terms): the exact level set of build_power_value(B) before
    normalisation, ascending, as Fractions, and for each level the exponents e of its
    terms 2^-e (ascending e, i.e. largest term first). Raises if two term combinations
    give one level (they do not for B = 2..6)."""
    a, b, c = build_power_value_terms(B)
    seen = {}
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


@dataclass(frozen=True)
class APoTFormat(_SignIndexFormat):
    """APoT: sign + (bits-1)-bit levels (signed, bits 3..7) or bits-bit levels (unsigned,
    bits 2..6) from build_power_value; see the module docstring. Encoding is the
    reference's nearest projection (argmin), decided exactly; levels decode exactly."""

    nbits: int = 4
    signed: bool = True

    def __post_init__(self):
        _check_bool(self.signed, "signed")
        lo, hi = (3, 7) if self.signed else (2, 6)
        check_int(self.nbits, lo, hi, "bits")

    level_bits = _SignIndexFormat.index_bits  # code = (sign << level_bits) | level index

    @property
    def name(self) -> str:
        return f"{'' if self.signed else 'u'}apot{self.nbits}"

    def _tables(self):
        levels, _ = apot_level_terms(self.level_bits)
        mags = np.array([float(v) for v in levels])
        thr, ex = zip(*(_rational_threshold((levels[j] + levels[j + 1]) / 2)
                        for j in range(len(levels) - 1)))
        return mags, np.array(thr), np.array(ex, dtype=np.bool_)

    @cached_property
    def term_shifts(self):
        """(shift table (L, 3) int64, E): level j = sum_t 2^(shift[j, t] - E) over
        shift >= 0 (-1 marks an absent term); E is the deepest term exponent."""
        _, terms = apot_level_terms(self.level_bits)
        E = max(max(t) for t in terms if t)
        tab = np.full((len(terms), 3), -1, np.int64)
        for j, es in enumerate(terms):
            for t, e in enumerate(es):
                tab[j, t] = E - e
        return tab, E

    def split(self, codes):
        """(neg, level index) of codes, int64 arrays."""
        idx, neg = self._split_codes(codes)
        return neg, idx


# ---------------------------------------------------------------------------------------
# n-hot
# ---------------------------------------------------------------------------------------

def naf_digits(v: int):
    """NAF of a Python int: list of (digit, exponent), largest exponent first."""
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
    """n-hot: integers |v| <= 2^(grid_bits-1) - 1 with at most n non-zero NAF digits;
    code layout in the module docstring."""

    n: int = 2
    grid_bits: int = 8

    def __post_init__(self):
        check_int(self.grid_bits, 2, 16, "bits")
        check_int(self.n, 1, self.grid_bits, "n")
        if self.bits > 32:
            raise ValueError(f"n={self.n} with bits={self.grid_bits} needs a "
                             f"{self.bits}-bit code; allowed n * (2 + ceil(log2 bits)) <= 32")

    @property
    def exp_field(self) -> int:
        return max(1, math.ceil(math.log2(self.grid_bits)))

    @property
    def slot_bits(self) -> int:
        return 2 + self.exp_field

    @property
    def bits(self) -> int:
        return self.n * self.slot_bits

    @property
    def name(self) -> str:
        return f"nhot{self.n}_{self.grid_bits}"

    @property
    def is_integer_valued(self) -> bool:
        return True

    def _tables(self):
        top = (1 << (self.grid_bits - 1)) - 1
        mags = np.array([v for v in range(top + 1) if len(naf_digits(v)) <= self.n],
                        dtype=np.float64)
        thr = (mags[:-1] + mags[1:]) / 2
        return mags, thr, np.ones(thr.size, dtype=np.bool_)

    @cached_property
    def _code_tables(self):
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

    def encode(self, x, rounding=Rounding.NEAREST_EVEN, *, seed=0):
        """Codes of x: nearest value of the set (exact; ties to the even magnitude index
        of the ascending table), packed as NAF term slots."""
        idx, neg = self._round_table(x, rounding, seed)
        _, pos, negc = self._code_tables
        return np.where(neg == 1, negc[idx], pos[idx]).astype(self.code_dtype)

    def decode(self, codes):
        """Sum of the slots' signed powers of two (float64, exact). Non-canonical codes
        raise ValueError."""
        c = self._checked_codes(codes)
        sign, exp = self.terms(c, check=False)
        v = (sign << exp).sum(axis=-1)
        back = self.encode(v.astype(np.float64))
        if not np.array_equal(back.astype(np.int64), c):
            raise ValueError(f"non-canonical codes for {self.name}")
        return v.astype(np.float64)

    def terms(self, codes, check=True):
        """(sign, exponent) arrays of shape codes.shape + (n,), slot order."""
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


# ---------------------------------------------------------------------------------------
# PWLQ
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PWLQFormat(_TableFormat):
    """Piecewise linear quantization on [-1, 1] with breakpoints in (0, 1); b bits per
    value (sign + (b-1)-bit index) plus region bits. See the module docstring."""

    b: int = 4
    breakpoints: tuple = (0.25,)

    def __post_init__(self):
        check_int(self.b, 2, 8, "bits")
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
    def nregions(self) -> int:
        return len(self.breakpoints) + 1

    @property
    def region_bits(self) -> int:
        return max(1, math.ceil(math.log2(self.nregions)))

    @property
    def bits(self) -> int:
        return self.b + self.region_bits

    @property
    def steps(self) -> int:
        return (1 << (self.b - 1)) - 1

    @property
    def name(self) -> str:
        if self.breakpoints == (0.25,):
            return f"pwlq{self.b}"
        return f"pwlq{self.b}_p" + "_".join(repr(p) for p in self.breakpoints)

    @property
    def edges(self):
        """Region edges as Fractions: 0, p_1, ..., 1."""
        return [Fraction(0)] + [Fraction(p) for p in self.breakpoints] + [Fraction(1)]

    @cached_property
    def _levels(self):
        """Exact magnitudes (Fractions) -> canonical (region, k), ascending."""
        N = self.steps
        ed = self.edges
        out = {}
        for j in range(self.nregions):
            for k in range(N + 1):
                v = ed[j] + (ed[j + 1] - ed[j]) * k / N
                if v not in out:
                    out[v] = (j, k)
        lv = sorted(out)
        return lv, [out[v] for v in lv]

    def _tables(self):
        lv, _ = self._levels
        mags = np.array([float(v) for v in lv])
        if np.any(np.diff(mags) <= 0):
            raise ValueError(f"breakpoints={self.breakpoints} give levels closer than float64 "
                             "resolution")
        thr, ex = zip(*(_rational_threshold((lv[j] + lv[j + 1]) / 2) for j in range(len(lv) - 1)))
        return mags, np.array(thr), np.array(ex, dtype=np.bool_)

    @cached_property
    def _code_maps(self):
        _, rk = self._levels
        region = np.array([r for r, _ in rk], np.int64)
        k = np.array([q for _, q in rk], np.int64)
        return region, k

    def encode(self, x, rounding=Rounding.NEAREST_EVEN, *, seed=0):
        """Codes of x (|x| <= 1 after scaling; beyond saturates): nearest level, exact."""
        idx, neg = self._round_table(x, rounding, seed)
        region, k = self._code_maps
        c = (region[idx] << self.b) | (neg << (self.b - 1)) | k[idx]
        return c.astype(self.code_dtype)

    def split(self, codes):
        """(region, neg, k) of codes (``_checked_codes``); invalid region numbers raise
        ValueError."""
        c = self._checked_codes(codes)
        region = c >> self.b
        if c.size and region.max() >= self.nregions:
            raise ValueError(f"region field >= {self.nregions} in codes for {self.name}")
        return region, (c >> (self.b - 1)) & 1, c & self.steps

    def exact_value(self, region, neg, k) -> Fraction:
        ed = self.edges
        v = ed[region] + (ed[region + 1] - ed[region]) * k / self.steps
        return -v if neg else v

    @cached_property
    def _value_grid(self):
        """float64 value of every (region, k): correctly rounded."""
        N = self.steps
        return np.array([[float(self.exact_value(j, 0, k)) for k in range(N + 1)]
                         for j in range(self.nregions)])

    def decode(self, codes):
        """±(p_j + (p_(j+1) - p_j) k / N), correctly rounded to float64."""
        region, neg, k = self.split(codes)
        v = self._value_grid[region, k]
        return np.where(neg == 1, -v, v)

# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------

for _b in (3, 4, 5, 8):
    register(f"log{_b}", lambda b=_b: LogFormat(b))
for _b in (3, 4, 5, 6):
    register(f"apot{_b}", lambda b=_b: APoTFormat(b))
register("nhot2_8", lambda: NHotFormat(2, 8))
register("nhot3_8", lambda: NHotFormat(3, 8))
register("pwlq4", lambda: PWLQFormat(4))
register_pattern(r"(u?)log(\d+)(_sqrt2)?(?:_fsr(-?\d+))?(_lin)?",
                 lambda m: LogFormat(int(m[2]), int(m[4]) if m[4] else 1,
                                     "sqrt2" if m[3] else 2, m[1] == "",
                                     "linear" if m[5] else "log"),
                 "log{b}[_sqrt2][_fsr{F}][_lin] / ulog{b}...")
register_pattern(r"(u?)apot(\d+)", lambda m: APoTFormat(int(m[2]), m[1] == ""), "apot{b} / uapot{b}")
register_pattern(r"nhot(\d+)_(\d+)", lambda m: NHotFormat(int(m[1]), int(m[2])), "nhot{n}_{bits}")
register_pattern(r"pwlq(\d+)(?:_p([0-9.e_-]+))?",
                 lambda m: PWLQFormat(int(m[1]), tuple(float(p) for p in m[2].split("_"))
                                      if m[2] else (0.25,)),
                 "pwlq{b}[_p{p1}[_{p2}...]]")

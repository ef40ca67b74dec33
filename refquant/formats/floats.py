"""Floating-point formats: one parameter set describes every binary float from fp32 down
to fp4, the exponent-only scale E8M0 and the IEEE P3109 binaryKpP formats.

``FloatFormat(exp_bits, man_bits, bias=None, signed=True, subnormals=True,
specials="ieee", name=None)`` (in the spirit of gfloat's FormatInfo). A code is
``sign | exponent field e | mantissa field m`` (sign-magnitude, the sign bit on top when
``signed``); its value is

    subnormals=True:  e == 0: (-1)^s * m * 2^(1 - bias - M)        (includes ±0)
                      e >  0: (-1)^s * (1 + m / 2^M) * 2^(e - bias)
    subnormals=False: (-1)^s * (1 + m / 2^M) * 2^(e - bias)        (no zero; as OCP E8M0)

except for the codes the special-value policy ``specials`` reserves:

    "ieee"  IEEE 754: e all ones, m == 0 is ±inf, m != 0 NaN. Needs exp_bits >= 2.
    "fn"    finite (OCP E4M3, ml_dtypes "fn"): no inf; the all-ones magnitude code
            (e and m all ones) is NaN, for either sign. Needs man_bits >= 1 when signed
            (with no mantissa bits the NaN would take the whole top binade of a signed
            format; the unsigned E8M0 uses it for its single NaN 0xFF).
    "fnuz"  finite, unsigned zero: no inf, no -0; the code with only the sign bit set
            (0x80 for 8 bits) is the single NaN (Graphcore/AMD E4M3FNUZ, E5M2FNUZ, and
            IEEE P3109 finite-domain signed formats). Signed formats only.
    "ext"   IEEE P3109 extended domain: as "fnuz" for signed formats (single NaN 0x80, no
            -0) plus ±inf at the largest magnitude codes (0x7F / 0xFF); unsigned formats
            have NaN at the all-ones code and +inf just below it.
    "none"  every code is a number (OCP MX element formats E3M2, E2M3, E2M1).

Default bias: 2^(E-1) - 1 for "ieee", "fn", "none"; 2^(E-1) for "fnuz" and "ext"
(the "+1" bias of E4M3FNUZ / E5M2FNUZ; P3109: signed bias 2^(K-P-1), unsigned 2^(K-P),
both 2^(E-1)).

Encoding (``encode``) rounds the exact real value (float64 input) by any ``Rounding``
mode on the grid of codes: ties go to the even code; STOCHASTIC rounds the magnitude up
with probability equal to the fractional distance, drawn counter-based from ``seed`` and
the flat element index. Overflow (a rounded magnitude above ``max``, or ±inf input)
follows the table in the ``FloatFormat`` docstring (IEEE 754-2019 7.4; Overflow.NAN is
OCP FP8's non-saturating conversion and ml_dtypes' cast for formats without inf,
Overflow.SATURATE OCP FP8's saturating conversion).

Default (``overflow=None``): "ieee" and "ext" -> INF, "fn" and "fnuz" -> NAN, "none" ->
SATURATE; these are ml_dtypes' conversions (OCP's non-saturating mode for FP8).
``saturate=True`` is a shorthand for Overflow.SATURATE.
NaN inputs become the format's NaN (IEEE and "fn": the input's sign bit is kept, quiet
NaN = e all ones and the top mantissa bit); formats without NaN raise ValueError
(ml_dtypes turns NaN into ±0 for float4/float6, which refquant does not do silently).
Unsigned formats: negative inputs become NaN (ValueError without NaN), -0 becomes +0.
A format without zero (E8M0): 0 becomes NaN (as ml_dtypes), magnitudes below the smallest
value become the smallest value.

Sources: IEEE 754-2019 (binary formats, rounding, overflow); OCP 8-bit Floating Point
Specification (OFP8) rev 1.0 (E4M3 max 448 with NaN 0x7F/0xFF, E5M2 IEEE-like, saturating
and non-saturating conversion); OCP Microscaling Formats (MX) v1.0 (E3M2, E2M3, E2M1 without
specials, E8M0 bias 127 with NaN 0xFF and no zero); ml_dtypes 0.6 (E4M3 IEEE-like max 240,
E3M4, E4M3B11FNUZ, the FNUZ types); IEEE P3109 (see below).

IEEE P3109 (checked against graphcore-research/gfloat's ``format_info_p3109``, which
follows the working group's interim report; the report itself was not reachable from
here): format binaryK pP with K bits and precision P (P - 1 trailing significand bits);
signed formats have E = K - P exponent bits and bias 2^(K-P-1), unsigned ones E = K - P + 1
and bias 2^(K-P); one NaN (signed: 0x80, the "negative zero" code; unsigned: all ones),
one zero, subnormals; the extended domain adds infinities at the top magnitude codes
(signed ±inf = 0x7F / 0xFF, unsigned +inf = 0xFE). Names ``p3109_k{K}p{P}{s|u}{e|f}``.
Signed formats need P <= K - 1 here (E >= 1); P3109 precision 1 formats have no subnormals
(exponent field 0 is zero only), which the general rule gives since M = 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..affine import as_real_array
from .._lazy import kernels as _lazy_kernels
_k = _lazy_kernels("floats")
from ..modes import Overflow, Rounding, as_overflow, as_rounding
from .base import Format, check_int, native_order, register, register_pattern

__all__ = ["FloatFormat", "SPECIALS", "p3109"]

SPECIALS = ("ieee", "fn", "fnuz", "ext", "none")
_LUT_CACHE: dict = {}
# From this many elements the float32 <-> bf16/tf32 fast paths run their parallel kernels
# (the same results; below it the thread start-up costs more than it saves).
PAR_MIN_SIZE = 1 << 18


@dataclass(frozen=True)
class FloatFormat(Format):
    """A binary floating-point format (see the module docstring for the exact encoding,
    rounding, overflow and NaN/inf rules).

    exp_bits (1..), man_bits (0..), bias (default by ``specials``), signed, subnormals,
    specials in ("ieee", "fn", "fnuz", "ext", "none"), name (display/registry name).
    Total bits = signed + exp_bits + man_bits, 2..32; the largest value must be below
    2^1024 and the smallest positive value at least 2^-1074 (so decode is exact in float64).

    finfo-like attributes: ``max``, ``min_normal``, ``min_subnormal`` (smallest positive
    value), ``eps`` (2^-man_bits: the gap between 1 and the next value when 1 is normal),
    ``emax``, ``emin`` (exponents of max and of min_normal).

    Overflow. A finite x overflows when its magnitude, rounded by ``rounding`` on the
    format's grid continued beyond ``max`` with the spacing of the top binade, exceeds
    ``max`` (for e4m3fn: |x| >= 464 under NEAREST_EVEN; under TOWARD_ZERO |x| >= 480);
    an infinite x always overflows. The result, by ``overflow`` policy (IEEE 754-2019 7.4
    for INF; NAN is the same rule with NaN wherever 7.4 gives an infinity):

        overflow   finite x; NEAREST_EVEN,   finite x; TOWARD_ZERO,   x = ±inf
                   NEAREST_AWAY, NEAREST_UP, DOWN with x > 0,
                   STOCHASTIC, UP with x > 0, UP with x < 0
                   DOWN with x < 0
        --------   ------------------------  -----------------------  -------------
        INF        ±inf                      ±max                     ±inf
        NAN        NaN                       ±max                     NaN
        SATURATE   ±max                      ±max                     ±max
        RAISE      OverflowError             OverflowError            OverflowError

    INF needs a format with infinities, NAN one with a NaN code ("ieee" formats accept
    both). The NaN of a NAN row carries x's sign bit in "ieee" and "fn" formats.
    """

    exp_bits: int
    man_bits: int
    bias: int | None = None
    signed: bool = True
    subnormals: bool = True
    specials: str = "ieee"
    name_: str | None = None

    def __init__(self, exp_bits, man_bits, bias=None, signed=True, subnormals=True,
                 specials="ieee", name=None):
        E = check_int(exp_bits, 1, 31, "exp_bits")
        M = check_int(man_bits, 0, 31, "man_bits")
        if not isinstance(signed, (bool, np.bool_)):
            raise TypeError(f"signed must be a bool, got {type(signed).__name__}")
        if not isinstance(subnormals, (bool, np.bool_)):
            raise TypeError(f"subnormals must be a bool, got {type(subnormals).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        if not isinstance(specials, str) or specials not in SPECIALS:
            raise ValueError(f"specials={specials!r}; allowed: {', '.join(SPECIALS)}")
        bits = int(signed) + E + M
        if not 2 <= bits <= 32:
            raise ValueError(f"signed + exp_bits + man_bits = {bits} bits; allowed 2..32")
        if bias is None:
            bias = (1 << (E - 1)) - (0 if specials in ("fnuz", "ext") else 1)
        bias = check_int(bias, -(1 << 40), 1 << 40, "bias")
        if specials == "ieee" and E < 2:
            raise ValueError("specials='ieee' needs exp_bits >= 2 (the all-ones exponent "
                             "is reserved for inf/NaN)")
        if specials == "fn" and M == 0 and signed:
            raise ValueError("specials='fn' with man_bits=0 is allowed for unsigned formats "
                             "only (E8M0); use specials='none' or man_bits >= 1")
        if specials == "fnuz" and not signed:
            raise ValueError("specials='fnuz' needs signed=True (its NaN is the -0 code); "
                             "use specials='fn' for an unsigned format")
        object.__setattr__(self, "exp_bits", E)
        object.__setattr__(self, "man_bits", M)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "signed", bool(signed))
        object.__setattr__(self, "subnormals", bool(subnormals))
        object.__setattr__(self, "specials", specials)
        object.__setattr__(self, "name_", name)
        if self._tmax < 1:
            raise ValueError(f"exp_bits={E}, man_bits={M}, specials={specials!r} leave no "
                             "finite non-zero value")
        emax = self.emax
        if emax > 1023:
            raise ValueError(f"bias={bias} makes the largest value 2^{emax} overflow float64 "
                             f"(largest exponent allowed 1023)")
        lo = self._elo - (M if subnormals else 0)
        if lo < -1074:
            raise ValueError(f"bias={bias} makes the smallest value 2^{lo} underflow float64 "
                             "(smallest exponent allowed -1074)")

    # -- layout -------------------------------------------------------------------------
    @property
    def _tmax(self) -> int:
        E, M = self.exp_bits, self.man_bits
        n = 1 << (E + M)
        if self.specials == "ieee":
            return n - (1 << M) - 1
        if self.specials == "fn":
            return n - 2
        if self.specials == "ext":
            return n - 2 if self.signed else n - 3
        return n - 1

    @property
    def _elo(self) -> int:
        """Exponent of the lowest binade (exponent field 0 or 1)."""
        return 1 - self.bias if self.subnormals else -self.bias

    @property
    def _has_inf(self) -> bool:
        return self.specials in ("ieee", "ext")

    @property
    def _uz(self) -> bool:
        return self.signed and self.specials in ("fnuz", "ext")

    @property
    def _nan_code(self) -> int:
        E, M = self.exp_bits, self.man_bits
        n = 1 << (E + M)
        if self.specials == "ieee":
            return -1 if M == 0 else (n - (1 << M)) | (1 << (M - 1))
        if self.specials == "fn":
            return n - 1
        if self.specials in ("fnuz", "ext"):
            return n if self.signed else n - 1
        return -1

    @property
    def _is_e8_ieee(self) -> bool:
        return (self.exp_bits == 8 and self.bias == 127 and self.specials == "ieee"
                and self.signed and self.subnormals)

    def _kparams(self):
        return (self.exp_bits, self.man_bits, self.bias, int(self.signed),
                int(self.subnormals), self._tmax, int(self._has_inf), int(self._uz))

    # -- protocol -----------------------------------------------------------------------
    @property
    def bits(self) -> int:
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def name(self) -> str:
        if self.name_:
            return self.name_
        s = "" if self.signed else "u"
        b = "" if self.bias == self._default_bias else f"b{self.bias}"
        suffix = {"ieee": "", "fn": "fn", "fnuz": "fnuz", "ext": "ext", "none": "ns"}[self.specials]
        nosub = "" if self.subnormals else "nosub"
        return f"{s}e{self.exp_bits}m{self.man_bits}{b}{suffix}{nosub}"

    @property
    def _default_bias(self):
        return (1 << (self.exp_bits - 1)) - (0 if self.specials in ("fnuz", "ext") else 1)

    def __repr__(self):
        return (f"FloatFormat(exp_bits={self.exp_bits}, man_bits={self.man_bits}, "
                f"bias={self.bias}, signed={self.signed}, subnormals={self.subnormals}, "
                f"specials={self.specials!r}, name={self.name!r})")

    def __eq__(self, other):
        return isinstance(other, FloatFormat) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return (self.exp_bits, self.man_bits, self.bias, self.signed, self.subnormals,
                self.specials)

    @property
    def default_overflow(self) -> Overflow:
        """The overflow policy ``encode`` applies when none is given (see module doc)."""
        return {"ieee": Overflow.INF, "ext": Overflow.INF, "fn": Overflow.NAN,
                "fnuz": Overflow.NAN, "none": Overflow.SATURATE}[self.specials]

    @property
    def has_inf(self) -> bool:
        return self._has_inf

    @property
    def has_nan(self) -> bool:
        return self._nan_code >= 0

    @property
    def has_zero(self) -> bool:
        return self.subnormals

    @property
    def has_negative_zero(self) -> bool:
        return self.signed and self.subnormals and not self._uz

    @property
    def max(self) -> float:
        """Largest finite value."""
        return float(_k.decode_scalar(np.int64(self._tmax), *self._kparams()))

    @property
    def min_normal(self) -> float:
        """Smallest positive normal value (2^emin)."""
        return math.ldexp(1.0, self.emin)

    @property
    def min_subnormal(self) -> float:
        """Smallest positive value (a subnormal when the format has them and M >= 1)."""
        return float(_k.decode_scalar(np.int64(1 if self.subnormals else 0), *self._kparams()))

    @property
    def eps(self) -> float:
        """2^-man_bits: the distance from 1 to the next larger value (1 is normal)."""
        return math.ldexp(1.0, -self.man_bits)

    @property
    def emax(self) -> int:
        """Exponent of ``max`` (max = (2 - k 2^-M) 2^emax)."""
        return (self._tmax >> self.man_bits) - self.bias

    @property
    def emin(self) -> int:
        return self._elo

    @property
    def max_value(self) -> float:
        return self.max

    @property
    def min_value(self) -> float:
        if self.signed:
            return -self.max
        return 0.0 if self.subnormals else self.min_subnormal

    def _resolve_overflow(self, overflow, saturate):
        if not isinstance(saturate, (bool, np.bool_)):
            raise TypeError(f"saturate must be a bool, got {type(saturate).__name__}")
        if saturate:
            if overflow not in (None, Overflow.SATURATE, "saturate", "SATURATE"):
                raise ValueError("saturate=True conflicts with overflow="
                                 f"{overflow!r}; pass one of them")
            return Overflow.SATURATE
        if overflow is None:
            return self.default_overflow
        ov = as_overflow(overflow)
        if ov == Overflow.WRAP:
            raise ValueError("overflow=WRAP applies to integer formats; allowed for "
                             f"{self.name}: SATURATE, RAISE"
                             + (", INF" if self._has_inf else "")
                             + (", NAN" if self.has_nan else ""))
        if ov == Overflow.INF and not self._has_inf:
            raise ValueError(f"overflow=INF: {self.name} has no infinities; allowed "
                             "SATURATE, RAISE" + (", NAN" if self.has_nan else ""))
        if ov == Overflow.NAN and not self.has_nan:
            raise ValueError(f"overflow=NAN: {self.name} has no NaN; allowed SATURATE, RAISE"
                             + (", INF" if self._has_inf else ""))
        return ov

    def encode(self, x, rounding=Rounding.NEAREST_EVEN, overflow=None, seed=0, saturate=False):
        """Codes (``code_dtype``, the bit patterns) of the real values x.

        Rounding on the exact value (float64 inputs are not rounded through float32),
        ties to the even code; ``overflow`` None = the format's default (module doc);
        ``saturate=True`` = Overflow.SATURATE (OCP saturating conversion). NaN, ±inf,
        negative values in unsigned formats and zero in formats without zero follow the
        module docstring. Raises ValueError (NaN/negative without a NaN code) or
        OverflowError (Overflow.RAISE), naming the first offending element.
        """
        x = as_real_array(x)
        rnd = as_rounding(rounding)
        ov = self._resolve_overflow(overflow, saturate)
        seed = check_int(seed, -(1 << 63), (1 << 63) - 1, "seed")
        xf = np.ascontiguousarray(x).reshape(-1)
        out = np.empty(xf.size, dtype=self.code_dtype)
        p = self._kparams()
        nan_signed = int(self.specials in ("ieee", "fn") and self.signed)
        if (xf.dtype == np.float32 and rnd == Rounding.NEAREST_EVEN and self._is_e8_ieee
                and ov == Overflow.INF and self.man_bits <= 22):
            kern = _k.encode_f32_e8_rne_par if xf.size >= PAR_MIN_SIZE else _k.encode_f32_e8_rne
            kern(xf.view(np.int32), self.man_bits, out)
            stop = -1
        elif (xf.dtype == np.float32 and rnd == Rounding.NEAREST_EVEN and self.subnormals
                and self.signed and self.man_bits <= 23):
            stop = _k.encode_f32_rne(xf, xf.view(np.int32), *p, self._nan_code, nan_signed,
                                     int(ov), out)
        else:
            stop = _k.encode_float(xf, *p, self._nan_code, nan_signed, int(rnd), int(ov),
                                   seed, out)
        if stop >= 0:
            self._raise_at(x, stop)
        return out.reshape(x.shape)

    def encode_scaled(self, x, scale, block, rounding=Rounding.NEAREST_EVEN, overflow=None,
                      seed=0, saturate=False):
        """Codes of the real quotients x.flat[i] / scale[i // block], each rounded once
        (no double rounding through float64: see kernels.floats.exact_quotient).
        ``scale``: positive finite float64 per block of ``block`` consecutive flat
        elements. Other rules as ``encode``."""
        x = as_real_array(x)
        rnd = as_rounding(rounding)
        ov = self._resolve_overflow(overflow, saturate)
        xf = np.ascontiguousarray(x).reshape(-1)
        s = np.ascontiguousarray(scale, dtype=np.float64).reshape(-1)
        block = check_int(block, 1, 1 << 62, "block")
        seed = check_int(seed, -(1 << 63), (1 << 63) - 1, "seed")
        if s.size < -(-xf.size // block):
            raise ValueError(f"scale has {s.size} entries; {xf.size} elements in blocks of "
                             f"{block} need {-(-xf.size // block)}")
        if s.size and not (np.all(np.isfinite(s)) and np.all(s > 0)):
            raise ValueError("scale must be positive and finite")
        out = np.empty(xf.size, dtype=self.code_dtype)
        nan_signed = int(self.specials in ("ieee", "fn") and self.signed)
        stop = _k.encode_float_scaled(xf, s, block, *self._kparams(), self._nan_code,
                                      nan_signed, int(rnd), int(ov), int(seed), out)
        if stop >= 0:
            self._raise_at(x, stop)
        return out.reshape(x.shape)

    def _raise_at(self, x, stop):
        idx = [int(i) for i in np.unravel_index(stop, x.shape)] if x.ndim else []
        v = float(x.reshape(-1)[stop])
        if np.isnan(v):
            raise ValueError(f"x{idx} is NaN and {self.name} has no NaN code")
        if v < 0 and not self.signed:
            raise ValueError(f"x{idx} = {v!r} is negative and the unsigned {self.name} has "
                             "no NaN code")
        raise OverflowError(f"x{idx} = {v!r} is beyond ±{self.max!r}, the range of "
                            f"{self.name} (overflow=RAISE)")

    def _check_codes(self, codes, values=True):
        """codes as an integer array; ``values=False`` checks only the dtype (the caller's
        kernel validates the range in its own pass and calls _bad_codes)."""
        c = native_order(codes)
        if c.dtype.kind not in "iu":
            raise TypeError(f"codes must be integers, got dtype {c.dtype}")
        if values and c.size and (int(c.min()) < 0 or int(c.max()) >= (1 << self.bits)):
            self._bad_codes()
        return c

    def _bad_codes(self):
        raise ValueError(f"codes outside [0, 2^{self.bits}) for {self.name}")

    def lut(self) -> np.ndarray:
        """float64 value of every code (formats up to 16 bits), indexed by code."""
        if self.bits > 16:
            raise ValueError(f"lut() covers formats up to 16 bits; {self.name} has {self.bits}")
        key = self._key()
        t = _LUT_CACHE.get(key)
        if t is None:
            codes = np.arange(1 << self.bits, dtype=np.int64)
            t = np.empty(codes.size, dtype=np.float64)
            _k.decode_float(codes, *self._kparams(), t)
            t.setflags(write=False)
            _LUT_CACHE[key] = t
        return t

    def decode(self, codes, dtype=np.float64):
        """Values of the codes (exact in float64; NaN codes -> NaN, inf codes -> ±inf).
        ``dtype=np.float32`` rounds each value once to float32 (exact for formats that
        fit float32); other dtypes raise TypeError. Codes outside [0, 2^bits) raise
        ValueError."""
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise TypeError(f"dtype={dtype!r}; allowed float64, float32")
        e8 = dt == np.float32 and self._is_e8_ieee and self.man_bits <= 22
        c = self._check_codes(codes, values=not (e8 or self.bits <= 16))
        cf = np.ascontiguousarray(c).reshape(-1)
        out = np.empty(cf.size, dtype=dtype)
        if e8:
            kern = _k.decode_e8_to_f32_par if cf.size >= PAR_MIN_SIZE else _k.decode_e8_to_f32
            bad = kern(cf, self.man_bits, out.view(np.int32))
        elif self.bits <= 16:
            lut = _LUT_CACHE.get((self._key(), dt.str))
            if lut is None:
                lut = np.ascontiguousarray(self.lut().astype(dt))
                lut.setflags(write=False)
                _LUT_CACHE[(self._key(), dt.str)] = lut
            bad = _k.gather(cf, lut, self.bits, out)
        else:
            bad = 0
            _k.decode_float(cf, *self._kparams(), out)
        if bad:
            self._bad_codes()
        return out.reshape(c.shape)

    def quantize(self, x, rounding=Rounding.NEAREST_EVEN, **options):
        """decode(encode(x, rounding, **options)) as float64."""
        return self.decode(self.encode(x, rounding, **options))

    def values(self) -> np.ndarray:
        """Every finite value, ascending, ±0 once (formats up to 16 bits)."""
        v = self.lut()
        v = v[np.isfinite(v)]
        return np.unique(v + 0.0)


def p3109(k: int, p: int, signed: bool = True, extended: bool = True) -> FloatFormat:
    """The IEEE P3109 format binary{k}p{p} (see the module docstring): signed with
    E = k - p, or unsigned with E = k - p + 1; bias 2^(E-1); extended domain has
    infinities; one NaN. Name ``p3109_k{k}p{p}{s|u}{e|f}``."""
    k = check_int(k, 2, 32, "k")
    p = check_int(p, 1, k - 1 if signed else k, "p")
    E = k - p if signed else k - p + 1
    name = f"p3109_k{k}p{p}{'s' if signed else 'u'}{'e' if extended else 'f'}"
    if signed:
        specials = "ext" if extended else "fnuz"
    else:
        specials = "ext" if extended else "fn"
    return FloatFormat(E, p - 1, 1 << (E - 1), signed, True, specials, name)


_NAMED = {
    "fp32": (8, 23, None, True, True, "ieee"),
    "tf32": (8, 10, None, True, True, "ieee"),
    "fp16": (5, 10, None, True, True, "ieee"),
    "bf16": (8, 7, None, True, True, "ieee"),
    "e5m2": (5, 2, None, True, True, "ieee"),
    "e4m3": (4, 3, None, True, True, "ieee"),
    "e4m3fn": (4, 3, None, True, True, "fn"),
    "e4m3fnuz": (4, 3, None, True, True, "fnuz"),
    "e5m2fnuz": (5, 2, None, True, True, "fnuz"),
    "e4m3b11fnuz": (4, 3, 11, True, True, "fnuz"),
    "e3m4": (3, 4, None, True, True, "ieee"),
    "e3m2": (3, 2, None, True, True, "none"),
    "e2m3": (2, 3, None, True, True, "none"),
    "e2m1": (2, 1, None, True, True, "none"),
    "e8m0": (8, 0, 127, False, False, "fn"),
}

for _n, _p in _NAMED.items():
    register(_n, lambda p=_p, n=_n: FloatFormat(*p, name=n))


def _generic(m):
    E, M = int(m[2]), int(m[3])
    bias = None if m[4] is None else int(m[4])
    specials = {None: "ieee", "fn": "fn", "fnuz": "fnuz", "ext": "ext", "ns": "none"}[m[5]]
    return FloatFormat(E, M, bias, m[1] != "u", m[6] is None, specials)


register_pattern(r"(u?)e(\d+)m(\d+)(?:b(\d+))?(fn|fnuz|ext|ns)?(nosub)?", _generic,
                 "e{E}m{M}[b{bias}][fn|fnuz|ext|ns]")
register_pattern(r"p3109_k(\d+)p(\d+)([su])([ef])",
                 lambda m: p3109(int(m[1]), int(m[2]), m[3] == "s", m[4] == "e"),
                 "p3109_k{K}p{P}{s|u}{e|f}")

"""Binary floating-point formats, from fp32 down to fp4, the exponent-only scale E8M0 and
the IEEE P3109 formats: one parameter set, ``FloatFormat``, describes them all."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._lazy import kernels
from .._validate import as_real_array, check_bool, check_int, native
from ..modes import Overflow, Rounding, as_overflow, as_rounding
from ..protocol import Format
from ..registry import register, register_pattern
from ._profiles import check_nan_mode, nan_codes

_k = kernels("floats")

__all__ = ["FloatFormat", "KernelParams", "SPECIALS", "p3109"]

#: The special-value policies of ``FloatFormat.specials``.
SPECIALS = ("ieee", "fn", "fnuz", "ext", "none")
#: From this many elements the float32 fast paths (encode under NEAREST_EVEN, bf16/tf32
#: decode to float32, MX block quantization) run their parallel kernels on Numba's threads
#: (the same results; below it the thread start-up costs more than it saves).
PAR_MIN_SIZE = 1 << 18

_LUT_CACHE: dict[Any, np.ndarray] = {}
_SEED_MIN, _SEED_MAX = -(1 << 63), (1 << 63) - 1


class KernelParams(NamedTuple):
    """A FloatFormat as the kernels of ``refquant.kernels.floats`` see it: plain integers,
    in the order those kernels take them. The decode kernels take the first eight
    (``decode_args``), the encode kernels all ten."""

    exp_bits: int       #: E, the exponent field width
    man_bits: int       #: M, the mantissa field width
    bias: int           #: the exponent bias
    signed: int         #: 1: a sign bit above the exponent field (sign-magnitude); 0: unsigned
    subnormals: int     #: 1: exponent field 0 is the subnormal binade (holds zero); 0: a normal binade of exponent -bias, no zero
    tmax: int           #: the largest finite magnitude code (a code without its sign bit)
    has_inf: int        #: 1: magnitude code tmax + 1 is infinity
    unsigned_zero: int  #: 1: the code with only the sign bit set is the single NaN (no -0)
    nan_code: int       #: the code a NaN becomes (-1: the format has no NaN)
    nan_signed: int     #: 1: a NaN takes the input's sign bit ("ieee" and "fn" formats)

    @property
    def decode_args(self) -> tuple[int, ...]:
        """The first eight fields: the format arguments of the decode kernels."""
        return tuple(self[:8])


def _decode_all(bits: int, E: int, M: int, bias: int, signed: int, sub: int, tmax: int,
                has_inf: int, uz: int) -> np.ndarray:
    """The value of every code 0 .. 2^bits - 1 (float64), as ``kernels.floats.
    decode_scalar`` gives it, computed with NumPy (formats up to 16 bits: no kernel to
    compile for a table)."""
    c = np.arange(1 << bits, dtype=np.int64)
    nbits = E + M
    t = c & ((1 << nbits) - 1)
    neg = ((c >> nbits) & 1 == 1) & (signed == 1)
    e = t >> M
    m = t & ((1 << M) - 1)
    with np.errstate(over="ignore"):
        val = np.where((e == 0) & (sub == 1), np.ldexp(m.astype(np.float64), 1 - bias - M),
                       np.ldexp((m + (1 << M)).astype(np.float64), e - bias - M))
    val = np.where(neg, -val, val)
    inf = np.where(neg, -np.inf, np.inf)
    val = np.where(t > tmax, np.where((t == tmax + 1) & bool(has_inf), inf, np.nan), val)
    return np.where(neg & (t == 0) & bool(uz), np.nan, val)


def _saturate_to_overflow(overflow: Overflow | str | None, saturate: Any,
                          method: str) -> Overflow | str | None:
    """The overflow policy of the deprecated ``saturate=`` flag of ``method`` (warns,
    pointing at the caller of ``method``)."""
    saturate = check_bool(saturate, "saturate")
    _deprecate.warn(f"FloatFormat.{method}(saturate=...)", "overflow='saturate'",
                    stacklevel=4)
    if not saturate:
        return overflow
    if overflow is not None and as_overflow(overflow) != Overflow.SATURATE:
        raise ValueError(f"saturate=True conflicts with overflow={overflow!r}; pass one "
                         "of them")
    return Overflow.SATURATE


def _default_bias(exp_bits: int, specials: str) -> int:
    return (1 << (exp_bits - 1)) - (0 if specials in ("fnuz", "ext") else 1)


@dataclass(frozen=True)
class FloatFormat(Format):
    """A binary floating-point format (in the spirit of gfloat's FormatInfo).

    Parameters (the fields; equality and hashing follow all of them but ``name``):
    ``exp_bits`` E (1..31), ``man_bits`` M (0..31), ``bias`` (None: the default of
    ``specials``, below), ``signed``, ``subnormals``, ``specials`` (one of ``SPECIALS``),
    ``name`` (the display and registry name; None: derived from the parameters, e.g.
    ``e4m3fn``, ``ue5m2b9``; ``dataclasses.replace`` keeps a given name, so pass
    ``name=None`` with new parameters). Total bits = signed + E + M, 2..32; the largest
    value must be below 2^1024 and the smallest positive value at least 2^-1074, so
    decode is exact in float64.

    A code is ``sign | exponent field e | mantissa field m`` (sign-magnitude, the sign bit
    on top when ``signed``); its value is

        subnormals=True:  e == 0: (-1)^s * m * 2^(1 - bias - M)        (includes ±0)
                          e >  0: (-1)^s * (1 + m / 2^M) * 2^(e - bias)
        subnormals=False: (-1)^s * (1 + m / 2^M) * 2^(e - bias)        (no zero; as OCP E8M0)

    except for the codes the special-value policy ``specials`` reserves:

        "ieee"  IEEE 754: e all ones, m == 0 is ±inf, m != 0 NaN. Needs exp_bits >= 2.
        "fn"    finite (OCP E4M3, ml_dtypes "fn"): no inf; the all-ones magnitude code
                (e and m all ones) is NaN, for either sign. Needs man_bits >= 1 when
                signed (with no mantissa bits the NaN would take the whole top binade of a
                signed format; the unsigned E8M0 uses it for its single NaN 0xFF).
        "fnuz"  finite, unsigned zero: no inf, no -0; the code with only the sign bit set
                (0x80 for 8 bits) is the single NaN (Graphcore/AMD E4M3FNUZ, E5M2FNUZ, and
                IEEE P3109 finite-domain signed formats). Signed formats only.
        "ext"   IEEE P3109 extended domain: as "fnuz" for signed formats (single NaN 0x80,
                no -0) plus ±inf at the largest magnitude codes (0x7F / 0xFF); unsigned
                formats have NaN at the all-ones code and +inf just below it.
        "none"  every code is a number (OCP MX element formats E3M2, E2M3, E2M1).

    Default bias: 2^(E-1) - 1 for "ieee", "fn", "none"; 2^(E-1) for "fnuz" and "ext" (the
    "+1" bias of E4M3FNUZ / E5M2FNUZ; P3109: signed bias 2^(K-P-1), unsigned 2^(K-P), both
    2^(E-1)).

    finfo names: ``max``, ``min``, ``smallest_normal`` (2^emin), ``smallest_subnormal``
    (the smallest positive value; equal to smallest_normal without subnormals or with
    M = 0), ``eps`` (2^-M: the gap between 1 and the next value when 1 is normal),
    ``emax``, ``emin`` (the exponents of max and of smallest_normal).

    Encoding rounds the exact real value (float64 inputs are not rounded through float32)
    by any ``Rounding`` mode on the grid of codes: ties go to the even code; STOCHASTIC
    rounds the magnitude up with probability equal to the fractional distance, drawn
    counter-based from ``seed`` and the flat element index. NaN inputs become the
    format's NaN (IEEE and "fn": the input's sign bit is kept, quiet NaN = e all ones and
    the top mantissa bit); formats without NaN raise ValueError (ml_dtypes turns NaN into
    ±0 for float4/float6, which refquant does not do silently). Unsigned formats: negative
    inputs become NaN (ValueError without NaN), -0 becomes +0. A format without zero
    (E8M0): 0 becomes NaN (as ml_dtypes), magnitudes below the smallest value become the
    smallest value.

    Overflow. A finite x overflows when its magnitude, rounded by ``rounding`` on the
    format's grid continued beyond ``max`` with the spacing of the top binade, exceeds
    ``max`` (for e4m3fn: |x| > 464 under NEAREST_EVEN, the tie 464 going to the even
    448; under TOWARD_ZERO |x| >= 480); an infinite x always overflows. The result, by ``overflow`` policy (IEEE 754-2019 7.4
    for INF; NAN is the same rule with NaN wherever 7.4 gives an infinity; NAN is OCP
    FP8's non-saturating conversion and SATURATE its saturating one):

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
    both). The NaN of a NAN row carries x's sign bit in "ieee" and "fn" formats. The
    default (``overflow=None``, ``default_overflow``): "ieee" and "ext" -> INF, "fn" and
    "fnuz" -> NAN, "none" -> SATURATE, which are ml_dtypes' conversions.
    """

    exp_bits: int
    man_bits: int
    bias: int | None = None
    signed: bool = True
    subnormals: bool = True
    specials: str = "ieee"
    # a stored field here, a property on Format; not compared: equal parameters, equal formats
    name: str | None = field(default=None, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        E = check_int(self.exp_bits, "exp_bits", 1, 31)
        M = check_int(self.man_bits, "man_bits", 0, 31)
        signed = check_bool(self.signed, "signed")
        subnormals = check_bool(self.subnormals, "subnormals")
        specials = self.specials
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"name must be a str or None, got {type(self.name).__name__}")
        if not isinstance(specials, str) or specials not in SPECIALS:
            raise ValueError(f"specials={specials!r}; allowed: {', '.join(SPECIALS)}")
        bits = int(signed) + E + M
        if not 2 <= bits <= 32:
            raise ValueError(f"signed + exp_bits + man_bits = {bits} bits; allowed 2..32")
        bias = _default_bias(E, specials) if self.bias is None else self.bias
        bias = check_int(bias, "bias", -(1 << 40), 1 << 40)
        if specials == "ieee" and E < 2:
            raise ValueError("specials='ieee' needs exp_bits >= 2 (the all-ones exponent "
                             "is reserved for inf/NaN)")
        if specials == "fn" and M == 0 and signed:
            raise ValueError("specials='fn' with man_bits=0 is allowed for unsigned formats "
                             "only (E8M0); use specials='none' or man_bits >= 1")
        if specials == "fnuz" and not signed:
            raise ValueError("specials='fnuz' needs signed=True (its NaN is the -0 code); "
                             "use specials='fn' for an unsigned format")
        for param, value in (("exp_bits", E), ("man_bits", M), ("bias", bias),
                             ("signed", signed), ("subnormals", subnormals)):
            object.__setattr__(self, param, value)
        if self.kernel_params().tmax < 1:
            raise ValueError(f"exp_bits={E}, man_bits={M}, specials={specials!r} leave no "
                             "finite non-zero value")
        if self.emax > 1023:
            raise ValueError(f"bias={bias} makes the largest value 2^{self.emax} overflow "
                             "float64 (largest exponent allowed 1023)")
        lo = self.emin - (M if subnormals else 0)
        if lo < -1074:
            raise ValueError(f"bias={bias} makes the smallest value 2^{lo} underflow float64 "
                             "(smallest exponent allowed -1074)")
        if self.name is None:
            object.__setattr__(self, "name", self._derived_name())

    def _derived_name(self) -> str:
        s = "" if self.signed else "u"
        b = "" if self.bias == _default_bias(self.exp_bits, self.specials) else f"b{self.bias}"
        suffix = {"ieee": "", "fn": "fn", "fnuz": "fnuz", "ext": "ext", "none": "ns"}[self.specials]
        nosub = "" if self.subnormals else "nosub"
        return f"{s}e{self.exp_bits}m{self.man_bits}{b}{suffix}{nosub}"

    # -- the kernels' view ----------------------------------------------------------------
    def kernel_params(self) -> KernelParams:
        """The format as the kernels of ``refquant.kernels.floats`` take it (see
        ``KernelParams``): ``_k.decode_float(codes, *p.decode_args, out)``,
        ``_k.encode_float(x, *p, rounding, overflow, seed, out)``."""
        E, M, sp, signed = self.exp_bits, self.man_bits, self.specials, self.signed
        n = 1 << (E + M)
        if sp == "ieee":
            tmax, nan = n - (1 << M) - 1, (-1 if M == 0 else (n - (1 << M)) | (1 << (M - 1)))
        elif sp == "fn":
            tmax, nan = n - 2, n - 1
        elif sp == "fnuz":
            tmax, nan = n - 1, n
        elif sp == "ext":
            tmax, nan = (n - 2, n) if signed else (n - 3, n - 1)
        else:
            tmax, nan = n - 1, -1
        return KernelParams(
            exp_bits=E, man_bits=M, bias=self._bias,
            signed=int(signed), subnormals=int(self.subnormals), tmax=tmax,
            has_inf=int(sp in ("ieee", "ext")),
            unsigned_zero=int(signed and sp in ("fnuz", "ext")),
            nan_code=nan, nan_signed=int(signed and sp in ("ieee", "fn")))

    @property
    def _bias(self) -> int:
        """``bias`` as an int (None is resolved to the default in __post_init__)."""
        assert self.bias is not None
        return self.bias

    def _magnitude(self, t: int) -> float:
        """The value of the magnitude code t (exact: at most 32 significant bits)."""
        M, bias = self.man_bits, self._bias
        e, m = t >> M, t & ((1 << M) - 1)
        if self.subnormals and e == 0:
            return math.ldexp(float(m), 1 - bias - M)
        return math.ldexp(float((1 << M) + m), e - bias - M)

    @property
    def _is_e8_ieee(self) -> bool:
        """float32's exponent field and specials (bfloat16, tf32): the fast paths apply."""
        return (self.exp_bits == 8 and self.bias == 127 and self.specials == "ieee"
                and self.signed and self.subnormals)

    # -- derived values -------------------------------------------------------------------
    @property
    def bits(self) -> int:
        """Width of a code: signed + exp_bits + man_bits."""
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def default_overflow(self) -> Overflow:
        """The overflow policy ``encode`` applies when none is given (class docstring)."""
        return {"ieee": Overflow.INF, "ext": Overflow.INF, "fn": Overflow.NAN,
                "fnuz": Overflow.NAN, "none": Overflow.SATURATE}[self.specials]

    @property
    def has_inf(self) -> bool:
        """Whether the format has infinities ("ieee", "ext")."""
        return self.specials in ("ieee", "ext")

    @property
    def has_nan(self) -> bool:
        """Whether the format has a NaN code."""
        return self.kernel_params().nan_code >= 0

    @property
    def has_zero(self) -> bool:
        """Whether 0 is a value (formats with subnormals)."""
        return self.subnormals

    @property
    def has_negative_zero(self) -> bool:
        """Whether -0 has a code of its own."""
        return self.signed and self.subnormals and self.specials not in ("fnuz", "ext")

    @property
    def max(self) -> float:
        """The largest finite value."""
        return self._magnitude(self.kernel_params().tmax)

    @property
    def min(self) -> float:
        """The most negative finite value: -max for signed formats; for unsigned ones the
        smallest value (0, or smallest_subnormal for a format without zero)."""
        if self.signed:
            return -self.max
        return 0.0 if self.subnormals else self.smallest_subnormal

    @property
    def smallest_normal(self) -> float:
        """The smallest positive normal value, 2^emin."""
        return math.ldexp(1.0, self.emin)

    @property
    def smallest_subnormal(self) -> float:
        """The smallest positive value: a subnormal when the format has subnormals and
        M >= 1, else equal to smallest_normal."""
        return self._magnitude(1 if self.subnormals else 0)

    @property
    def eps(self) -> float:
        """2^-man_bits: the distance from 1 to the next larger value (1 is normal)."""
        return math.ldexp(1.0, -self.man_bits)

    @property
    def emax(self) -> int:
        """The exponent of ``max`` (max = (2 - k 2^-M) 2^emax)."""
        return (self.kernel_params().tmax >> self.man_bits) - self._bias

    @property
    def emin(self) -> int:
        """The exponent of ``smallest_normal`` (of the lowest binade)."""
        return 1 - self._bias if self.subnormals else -self._bias

    @property
    def min_normal(self) -> float:
        """Deprecated name of ``smallest_normal``."""
        _deprecate.warn("FloatFormat.min_normal", "smallest_normal")
        return self.smallest_normal

    @property
    def min_subnormal(self) -> float:
        """Deprecated name of ``smallest_subnormal``."""
        _deprecate.warn("FloatFormat.min_subnormal", "smallest_subnormal")
        return self.smallest_subnormal

    # -- encode / decode ------------------------------------------------------------------
    def _resolve_overflow(self, overflow: Overflow | str | None) -> Overflow:
        if overflow is None:
            return self.default_overflow
        ov = as_overflow(overflow)
        if ov == Overflow.WRAP:
            raise ValueError("overflow=WRAP applies to integer formats; allowed for "
                             f"{self.name}: SATURATE, RAISE"
                             + (", INF" if self.has_inf else "")
                             + (", NAN" if self.has_nan else ""))
        if ov == Overflow.EXACT:
            raise ValueError("overflow=EXACT applies to accumulators; allowed for "
                             f"{self.name}: SATURATE, RAISE"
                             + (", INF" if self.has_inf else "")
                             + (", NAN" if self.has_nan else ""))
        if ov == Overflow.INF and not self.has_inf:
            raise ValueError(f"overflow=INF: {self.name} has no infinities; allowed "
                             "SATURATE, RAISE" + (", NAN" if self.has_nan else ""))
        if ov == Overflow.NAN and not self.has_nan:
            raise ValueError(f"overflow=NAN: {self.name} has no NaN; allowed SATURATE, RAISE"
                             + (", INF" if self.has_inf else ""))
        return ov

    def encode(self, x: npt.ArrayLike,  # type: ignore[override]
               rounding: Rounding | str = Rounding.NEAREST_EVEN,
               overflow: Overflow | str | None = None, seed: int = 0,
               saturate: bool | None = None, nan: str = "canonical") -> np.ndarray:
        """Codes (``code_dtype``, the bit patterns) of the real values x, in x's shape.

        Rounding on the exact value (float64 inputs are not rounded through float32),
        ties to the even code; ``overflow`` None = the format's ``default_overflow``
        (class docstring). NaN, ±inf, negative values in unsigned formats and zero in
        formats without zero follow the class docstring. Raises ValueError
        (NaN/negative without a NaN code) or OverflowError (Overflow.RAISE), naming the
        first offending element. ``saturate=True`` (deprecated) is overflow=SATURATE.

        ``nan``: what a NaN input's payload becomes in "ieee" formats, one of
        ``NAN_MODES``: "canonical" (default; one quiet NaN per sign), "preserve" (the top
        man_bits bits of the input's significand, signalling stays signalling; NumPy's
        float16 conversion) or "quiet" (the same with the quiet bit set; x86 F16C and
        PyTorch). Other formats have one NaN code per sign and take only "canonical".
        """
        if saturate is not None:
            overflow = _saturate_to_overflow(overflow, saturate, "encode")
        nan = check_nan_mode(nan, self)
        xa = as_real_array(x)
        rnd = as_rounding(rounding)
        ov = self._resolve_overflow(overflow)
        seed = check_int(seed, "seed", _SEED_MIN, _SEED_MAX)
        xf = np.ascontiguousarray(xa).reshape(-1)
        out = np.empty(xf.size, dtype=self.code_dtype)
        p = self.kernel_params()
        if (xf.dtype == np.float32 and rnd == Rounding.NEAREST_EVEN and self._is_e8_ieee
                and ov == Overflow.INF and self.man_bits <= 22):
            kern = _k.encode_f32_e8_rne_par if xf.size >= PAR_MIN_SIZE else _k.encode_f32_e8_rne
            kern(xf.view(np.int32), self.man_bits, out)
            stop = -1
        elif (xf.dtype == np.float32 and rnd == Rounding.NEAREST_EVEN
              and ((self.subnormals and self.man_bits <= 22)
                   or p[:9] == (8, 0, 127, 0, 0, 254, 0, 0, 255))):   # E8M0
            kern = _k.encode_f32_rne_par if xf.size >= PAR_MIN_SIZE else _k.encode_f32_rne
            stop = kern(xf, xf.view(np.int32), *p, int(ov), out)
        else:
            stop = _k.encode_float(xf, *p, int(rnd), int(ov), seed, out)
        if stop >= 0:
            self._raise_at(xa, stop)
        if nan != "canonical":
            isnan = np.isnan(xf)
            if isnan.any():
                out[isnan] = nan_codes(xf[isnan], self, nan)
        return out.reshape(xa.shape)

    def _raise_at(self, x: np.ndarray, stop: int) -> None:
        idx = [int(i) for i in np.unravel_index(stop, x.shape)] if x.ndim else []
        v = float(x.reshape(-1)[stop])
        if np.isnan(v):
            raise ValueError(f"x{idx} is NaN and {self.name} has no NaN code")
        if v < 0 and not self.signed:
            raise ValueError(f"x{idx} = {v!r} is negative and the unsigned {self.name} has "
                             "no NaN code")
        raise OverflowError(f"x{idx} = {v!r} is beyond ±{self.max!r}, the range of "
                            f"{self.name} (overflow=RAISE)")

    def _check_codes(self, codes: npt.ArrayLike, values: bool = True) -> np.ndarray:
        """codes as an integer array; ``values=False`` checks only the dtype (the caller's
        kernel validates the range in its own pass and calls _bad_codes)."""
        c = native(codes, "codes")
        if c.dtype.kind not in "iu":
            raise TypeError(f"codes must be integers, got dtype {c.dtype}")
        if values and c.size and (int(c.min()) < 0 or int(c.max()) >= (1 << self.bits)):
            self._bad_codes()
        return c

    def _bad_codes(self) -> None:
        raise ValueError(f"codes outside [0, 2^{self.bits}) for {self.name}")

    def lut(self) -> np.ndarray:
        """float64 value of every code (formats up to 16 bits), indexed by code
        (read-only)."""
        if self.bits > 16:
            raise ValueError(f"lut() covers formats up to 16 bits; {self.name} has {self.bits}")
        t = _LUT_CACHE.get(self)
        if t is None:
            t = _decode_all(self.bits, *self.kernel_params().decode_args)
            t.setflags(write=False)
            _LUT_CACHE[self] = t
        return t

    def decode(self, codes: npt.ArrayLike, dtype: npt.DTypeLike = np.float64) -> np.ndarray:
        """Values of the codes (exact in float64; NaN codes -> NaN, inf codes -> ±inf), in
        the codes' shape. ``dtype=np.float32`` rounds each value once to float32 (exact for
        formats that fit float32); other dtypes raise TypeError. Codes outside
        [0, 2^bits) raise ValueError."""
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise TypeError(f"dtype={dtype!r}; allowed float64, float32")
        assert dt is not None
        e8 = dt == np.float32 and self._is_e8_ieee and self.man_bits <= 22
        c = self._check_codes(codes, values=not (e8 or self.bits <= 16))
        cf = np.ascontiguousarray(c).reshape(-1)
        out = np.empty(cf.size, dtype=dt)
        if e8:
            kern = _k.decode_e8_to_f32_par if cf.size >= PAR_MIN_SIZE else _k.decode_e8_to_f32
            bad = kern(cf, self.man_bits, out.view(np.int32))
        elif self.bits <= 16:
            lut = _LUT_CACHE.get((self, dt.str))
            if lut is None:
                lut = np.ascontiguousarray(self.lut().astype(dt))
                lut.setflags(write=False)
                _LUT_CACHE[(self, dt.str)] = lut
            bad = _k.gather(cf, lut, self.bits, out)
        else:
            bad = 0
            _k.decode_float(cf, *self.kernel_params().decode_args, out)
        if bad:
            self._bad_codes()
        return out.reshape(c.shape)

    def quantize(self, x: npt.ArrayLike, rounding: Rounding | str = Rounding.NEAREST_EVEN,
                 **options: Any) -> np.ndarray:
        """decode(encode(x, rounding, **options)) as float64."""
        if options.get("saturate") is not None:
            options["overflow"] = _saturate_to_overflow(options.get("overflow"),
                                                        options.pop("saturate"), "quantize")
        return self.decode(self.encode(x, rounding, **options))

    def values(self) -> np.ndarray:
        """Every finite value, ascending, ±0 once (formats up to 16 bits)."""
        v = self.lut()
        v = v[np.isfinite(v)]
        return np.unique(v + 0.0)


@_deprecate.renamed_kwargs(k="bits")
def p3109(bits: int, p: int, signed: bool = True, extended: bool = True) -> FloatFormat:
    """The IEEE P3109 format binary{K}p{P} of K = ``bits`` bits and precision P = ``p``
    (P - 1 trailing significand bits): signed formats have E = K - P exponent bits and
    bias 2^(K-P-1), unsigned ones E = K - P + 1 and bias 2^(K-P) (both 2^(E-1)); one NaN
    (signed: 0x80, the "negative zero" code; unsigned: all ones), one zero, subnormals;
    the extended domain adds infinities at the top magnitude codes (signed ±inf =
    0x7F / 0xFF, unsigned +inf = 0xFE). Signed formats need P <= K - 1 (E >= 1);
    precision-1 formats have no subnormals (exponent field 0 is zero only), which the
    general rule gives since M = 0. Name ``p3109_k{K}p{P}{s|u}{e|f}``. ``k=`` is the
    deprecated name of ``bits``."""
    bits = check_int(bits, "bits", 2, 32)
    signed = check_bool(signed, "signed")
    extended = check_bool(extended, "extended")
    p = check_int(p, "p", 1, bits - 1 if signed else bits)
    E = bits - p if signed else bits - p + 1
    name = f"p3109_k{bits}p{p}{'s' if signed else 'u'}{'e' if extended else 'f'}"
    if signed:
        specials = "ext" if extended else "fnuz"
    else:
        specials = "ext" if extended else "fn"
    return FloatFormat(E, p - 1, 1 << (E - 1), signed, True, specials, name)


# -- registered names ----------------------------------------------------------------------
_NAMED: dict[str, tuple[int, int, int | None, bool, bool, str]] = {
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


def _named(name: str) -> FloatFormat:
    return FloatFormat(*_NAMED[name], name=name)


def _generic(m: re.Match[str]) -> FloatFormat:
    E, M = int(m[2]), int(m[3])
    bias = None if m[4] is None else int(m[4])
    specials = {None: "ieee", "fn": "fn", "fnuz": "fnuz", "ext": "ext", "ns": "none"}[m[5]]
    return FloatFormat(E, M, bias, m[1] != "u", m[6] is None, specials)


def _p3109(m: re.Match[str]) -> FloatFormat:
    return p3109(int(m[1]), int(m[2]), m[3] == "s", m[4] == "e")


for _name in _NAMED:
    register(_name, functools.partial(_named, _name))
register_pattern(r"(u?)e(\d+)m(\d+)(?:b(\d+))?(fn|fnuz|ext|ns)?(nosub)?", _generic,
                 "e{E}m{M}[b{bias}][fn|fnuz|ext|ns]")
register_pattern(r"p3109_k(\d+)p(\d+)([su])([ef])", _p3109, "p3109_k{K}p{P}{s|u}{e|f}")

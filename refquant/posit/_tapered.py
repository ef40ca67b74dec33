"""The tapered base shared by posits and tapered fixed point: a word of ``bits`` bits with
``es`` exponent bits, a regime run of at most ``rs`` bits and a power-of-two scale."""
from __future__ import annotations

import functools
import math
from typing import Any, Callable, TypeVar, Union

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._lazy import kernels
from .._validate import as_real_array, check_int, native
from ..modes import Rounding, as_rounding
from ..protocol import Format

_k = kernels("posit")

__all__ = ["TaperedFormat", "check_codes", "check_seed"]

T = TypeVar("T", bound=type)
RoundingLike = Union[Rounding, str, int]  #: a Rounding member, its name or its int


def check_seed(seed: Any, param: str = "seed") -> int:
    """The STOCHASTIC seed as a Python int in the int64 range (TypeError / ValueError)."""
    return check_int(seed, param, -(1 << 63), (1 << 63) - 1)


def check_codes(codes: npt.ArrayLike, bits: int, name: str, param: str = "codes") -> np.ndarray:
    """codes as an integer array (native byte order) with every element in [0, 2^bits);
    TypeError for a non-integer dtype, ValueError otherwise."""
    c = native(codes, param)
    if c.dtype.kind not in "iu":
        raise TypeError(f"{param} must be integers (bit patterns), got dtype {c.dtype}")
    if c.dtype.kind == "u" and c.dtype.itemsize * 8 <= bits:
        return c  # every value of the dtype is a valid pattern
    if c.size:
        lo, hi = int(c.min()), int(c.max())
        if lo < 0 or hi >= (1 << bits):
            raise ValueError(f"{param} must be {bits}-bit patterns in [0, {(1 << bits) - 1}] "
                             f"for {name}; got values in [{lo}, {hi}]")
    return c


def renamed_width(cls: T) -> T:
    """Class decorator: the constructor keyword ``n=`` still works as ``bits=`` for one
    release, with a DeprecationWarning (TypeError when both are given)."""
    init: Callable[..., None] = cls.__init__  # type: ignore[misc]

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if "n" in kwargs:
            if "bits" in kwargs:
                raise TypeError(f"{cls.__name__}() got both n= (deprecated) and bits=")
            _deprecate.warn(f"{cls.__name__}(n=...)", "bits=")
            kwargs["bits"] = kwargs.pop("n")
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[misc]
    return cls


@functools.lru_cache(maxsize=64)
def _decode_table(bits: int, es: int, rs: int, scale_exp: int) -> np.ndarray:
    """The value of every code 0 .. 2^bits - 1 (formats up to 16 bits), NaR as NaN: the
    float64 bits of ``kernels.posit.decode`` (``unpack``'s fields), formed with NumPy so
    that a table needs no kernel compilation."""
    n = bits
    c = np.arange(1 << n, dtype=np.int64)
    mask = (1 << n) - 1
    sbit = 1 << (n - 1)
    negm = -((c >> (n - 1)) & 1)
    body = ((c ^ negm) - negm) & mask
    first = (body >> (n - 2)) & 1
    x = (body ^ ((-first) & (sbit - 1))) | 1
    m = n - 2 - (np.frexp(x.astype(np.float64))[1].astype(np.int64) - 1)
    m = m + ((x == 1) & (((body & 1) ^ first) == 0))
    bounded = (m >= rs).astype(np.int64)
    m = np.minimum(m, rs)
    r = n - 2 - m + bounded
    k = first * (2 * m - 1) - m
    rest = body & ((np.int64(1) << r) - 1)
    expo = (rest << es) >> r
    f = np.maximum(r - es, 0)
    frac = body & ((np.int64(1) << f) - 1)
    E = k * (1 << es) + expo
    vb = ((E + 1023) << 52) | (frac << (52 - f)) | ((negm != 0).astype(np.int64) << 63)
    vb = np.where(c == 0, 0, np.where(c == sbit, np.int64(0x7FF8000000000000), vb))
    out = vb.view(np.float64)
    if scale_exp:
        out = np.ldexp(out, scale_exp)
    out.setflags(write=False)
    return out


class TaperedFormat(Format):
    """Posit-like formats: ``bits``-bit two's-complement words (0 is zero, 10...0 is NaR,
    a negative value's code is the two's complement of its magnitude's code) holding a
    regime run of m <= ``rs`` identical bits (ended by the opposite bit when m < rs),
    ``es`` exponent bits (bits cut off by the end of the word count as 0) and a fraction F
    of f bits: value = (1 + F / 2^f) * 2^(k * 2^es + e + scale_exp), k = m - 1 for a run
    of ones, -m for zeros.

    Encoding rounds the exact value x * 2^-scale_exp by the Posit Standard (2022) rule:
    0 -> 0; NaN and ±inf -> NaR; |x| >= max -> ±max; 0 < |x| <= minpos -> ±minpos;
    otherwise nearest, the tie point between neighbours u < w being the value of the
    (bits+1)-bit pattern "u then 1" (an arithmetic midpoint within the fraction, a
    geometric one where exponent bits are cut off), ties to the even pattern. Directed
    roundings (TOWARD_ZERO, DOWN, UP, NEAREST_AWAY, NEAREST_UP, STOCHASTIC) round the
    same bit string and are then clamped into [minpos, max] in magnitude: a tapered
    format never rounds to zero or NaR, so e.g. DOWN of 0 < x < minpos is minpos.

    Subclasses are frozen dataclasses that provide ``bits``, ``es``, ``rs``,
    ``scale_exp`` and ``name`` (``PositFormat``: rs = bits - 1, scale_exp = 0;
    ``TentFormat``: es = 0).
    """

    @property
    def es(self) -> int:  # pragma: no cover - abstract
        """Number of exponent bits."""
        raise NotImplementedError

    @property
    def rs(self) -> int:  # pragma: no cover - abstract
        """Longest regime run (bits - 1 for posits: only the end of the word bounds it)."""
        raise NotImplementedError

    @property
    def scale_exp(self) -> int:
        """log2 of the power-of-two scale included in every decoded value."""
        return 0

    @property
    def nar(self) -> int:
        """The NaR pattern 10...0."""
        return 1 << (self.bits - 1)

    @property
    def max(self) -> float:
        """The largest finite value, maxpos (code 01...1)."""
        return float(self.decode(np.array([self.nar - 1]))[0])

    @property
    def min(self) -> float:
        """The most negative finite value, -maxpos."""
        return -self.max

    @property
    def smallest_normal(self) -> float:
        """The smallest positive value, minpos (code 1): tapered formats have no
        subnormals, so this equals ``smallest_subnormal``."""
        return float(self.decode(np.array([1]))[0])

    @property
    def smallest_subnormal(self) -> float:
        """The smallest positive value, minpos (code 1); equals ``smallest_normal``."""
        return self.smallest_normal

    @property
    def min_positive(self) -> float:
        """Deprecated name of ``smallest_subnormal``."""
        _deprecate.warn(f"{type(self).__name__}.min_positive", "smallest_subnormal")
        return self.smallest_subnormal

    @property
    def emax(self) -> int:
        """Exponent of ``max``: max = (2 - 2^-f) 2^emax for the fraction width f of maxpos."""
        return math.frexp(self.max)[1] - 1

    @property
    def emin(self) -> int:
        """Exponent of ``smallest_normal`` (minpos = (1 + F) 2^emin, 0 <= F < 1)."""
        return math.frexp(self.smallest_normal)[1] - 1

    @property
    def n(self) -> int:
        """Deprecated name of ``bits``."""
        _deprecate.warn(f"{type(self).__name__}.n", "bits")
        return self.bits

    def encode(self, x: npt.ArrayLike, rounding: RoundingLike = Rounding.NEAREST_EVEN,
               *, seed: int = 0, **options: Any) -> np.ndarray:
        """Codes of x (float array of any shape) rounded by ``rounding`` on the exact
        value (class docstring: zero, NaN/inf, saturation, no underflow to zero).
        STOCHASTIC is counter-based on ``seed`` and the flat element index. Tapered
        formats always saturate: any other option is a TypeError."""
        if options:
            raise TypeError(f"{self.name}.encode got unexpected options {sorted(options)}; "
                            "posits always saturate (no overflow option)")
        mode = as_rounding(rounding)
        seed = check_seed(seed)
        a = as_real_array(x)
        flat = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
        out = np.empty(flat.size, dtype=self.code_dtype)
        bits = flat.view(np.int64)
        args = (self.bits, self.es, self.rs, self.scale_exp)
        if mode == Rounding.NEAREST_EVEN:
            # subnormal inputs (rare) apart: the common kernel compiles without ``pack``
            if _k.encode_nearest(bits, *args, out):
                sub = np.flatnonzero((np.abs(flat) < np.finfo(np.float64).smallest_normal)
                                     & (flat != 0))
                part = np.empty(sub.size, dtype=self.code_dtype)
                _k.encode(np.ascontiguousarray(bits[sub]), *args, 0, seed, part)
                out[sub] = part
        else:
            _k.encode(bits, *args, int(mode), seed, out)
        return out.reshape(a.shape)

    def decode(self, codes: npt.ArrayLike) -> np.ndarray:
        """Exact float64 values of the codes; NaR -> NaN. Codes must be ``bits``-bit
        patterns (ValueError otherwise; TypeError for a non-integer dtype)."""
        c = check_codes(codes, self.bits, self.name)
        flat = np.ascontiguousarray(c).reshape(-1)
        out = np.empty(flat.size, dtype=np.float64)
        if self.bits <= 16:  # codes as code_dtype (exact after check_codes): one compilation
            _k.decode_table(flat.astype(self.code_dtype, copy=False),
                            _decode_table(self.bits, self.es, self.rs, self.scale_exp), out)
        else:
            _k.decode(flat, self.bits, self.es, self.rs, out.view(np.int64))
            if self.scale_exp:
                out = np.ldexp(out, self.scale_exp)
        return out.reshape(c.shape)

    def values(self) -> np.ndarray:
        """Every finite value (NaR excluded), sorted ascending (formats up to 16 bits)."""
        return super().values()

    def __str__(self) -> str:
        return self.name

"""The format protocol and the registry of named formats.

A format is a frozen dataclass of its parameters and a scale-free map between codes
(bit patterns held in unsigned integers; for integer formats, the integer itself) and
real values:

    fmt.encode(x, rounding=...)  -> codes
    fmt.decode(codes)            -> float64 values, exact
    fmt.quantize(x, rounding=...) == fmt.decode(fmt.encode(x, rounding=...))
    fmt.values()                 -> every representable finite value, sorted (<= 16 bits)
    fmt.bits, fmt.name, fmt.max_value, fmt.min_value

Scaling is not part of a format: see ``refquant.quantize``.

Families register themselves: ``register(name, factory)`` for fixed names and
``register_pattern(regex, factory)`` for parameterised names (``int7``, ``q3.4``,
``posit16_1``). ``refquant.format(name)`` resolves a name, ``refquant.formats()`` lists
the registered fixed names.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

from ..modes import Rounding

__all__ = ["Format", "register", "register_pattern", "format", "formats", "as_format",
           "check_int", "native_order"]


def check_int(value, lo, hi, param):
    """``value`` as a Python int, or TypeError (not an int; bool is refused) / ValueError
    (outside lo..hi) naming ``param`` and the allowed range. Shared by every family's
    parameter validation."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{param} must be an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{param}={value} out of range; allowed {lo}..{hi}")
    return int(value)


def native_order(a, param="codes") -> np.ndarray:
    """``a`` as an array in the machine's byte order, converted by value (a big-endian
    '>u2' array becomes the native uint16 array of the same numbers; native arrays are
    returned as they are). The kernels are compiled for native byte order only; the
    float, block, posit, TENT and power-of-two families pass every code array through
    here (real inputs go through ``refquant.affine.as_real_array``, which converts them to
    native float32/float64). Structured dtypes raise TypeError naming ``param``."""
    a = np.asarray(a)
    if a.dtype.fields is not None or a.dtype.subdtype is not None:
        raise TypeError(f"{param} must be a plain numeric array, got dtype {a.dtype}")
    if not a.dtype.isnative:
        return a.astype(a.dtype.newbyteorder("="))
    return a


class Format:
    """Base of every number format. Subclasses are frozen dataclasses and implement
    ``encode``, ``decode``, ``bits``, ``name``, ``max_value`` and ``min_value``.

    ``is_integer`` formats have codes equal to their values (the affine quantizer may
    give them a zero point); other formats are used with zero point 0.
    ``code_dtype`` is the NumPy dtype of the codes ``encode`` returns.
    """

    is_integer: bool = False
    is_block: bool = False  # block formats quantize whole tensors (see refquant.quantize)

    @property
    def bits(self) -> int:  # pragma: no cover - abstract
        """Width of a code in bits (the storage of one element, scales excluded)."""
        raise NotImplementedError

    @property
    def name(self) -> str:  # pragma: no cover - abstract
        """The registered name; ``refquant.format(fmt.name) == fmt``."""
        raise NotImplementedError

    @property
    def code_dtype(self) -> np.dtype:
        """NumPy dtype of the codes: the narrowest unsigned integer holding ``bits``
        (integer formats override it with their signed or unsigned integer type)."""
        b = self.bits
        for cand in (8, 16, 32, 64):
            if b <= cand:
                return np.dtype(f"uint{cand}")
        raise ValueError(f"no code dtype for {b} bits")

    @property
    def calibration_max(self) -> float:
        """The magnitude a symmetric scale maps the calibrated amax to
        (s = amax / calibration_max). Default: the largest finite value. Formats whose
        extreme values are sparse (posits, logarithmic) may choose a smaller target."""
        return float(self.max_value)

    def encode(self, x, rounding=Rounding.NEAREST_EVEN, **options):  # pragma: no cover
        """Codes of the representable values x rounds to under ``rounding``; each family
        documents its overflow, NaN and infinity rules and its extra ``options``."""
        raise NotImplementedError

    def decode(self, codes):  # pragma: no cover - abstract
        """Exact float64 values of ``codes`` (NaN codes -> NaN, infinity codes -> ±inf);
        codes outside the format raise ValueError."""
        raise NotImplementedError

    def quantize(self, x, rounding=Rounding.NEAREST_EVEN, **options):
        """decode(encode(x, rounding, **options)): the nearest representable value(s)
        under ``rounding``, as float64."""
        return self.decode(self.encode(x, rounding, **options))

    def codes(self) -> np.ndarray:
        """Every code of the format (formats up to 16 bits), ascending as unsigned ints."""
        if self.bits > 16:
            raise ValueError(f"codes() enumerates formats up to 16 bits; {self.name} has {self.bits}")
        return np.arange(1 << self.bits, dtype=np.int64).astype(self.code_dtype)

    def values(self) -> np.ndarray:
        """Every representable finite value, sorted ascending, without duplicates
        (-0 and +0 count once). Formats up to 16 bits."""
        v = self.decode(self.codes())
        v = v[np.isfinite(v)]
        return np.unique(v + 0.0)

    def __str__(self) -> str:
        return self.name


_FIXED: dict[str, Callable[[], Format]] = {}
_PATTERNS: list[tuple[re.Pattern, Callable[..., Format], str]] = []


def register(name: str, factory: Callable[[], Format]) -> None:
    """Register a fixed format name (lower case) with a zero-argument factory."""
    key = name.lower()
    if key in _FIXED:
        raise ValueError(f"format name {name!r} is already registered")
    _FIXED[key] = factory


def register_pattern(regex: str, factory: Callable[..., Format], example: str) -> None:
    """Register a parameterised family: ``factory(match)`` builds the format for a name
    that fully matches ``regex`` (lower case). ``example`` is shown in error messages."""
    _PATTERNS.append((re.compile(regex), factory, example))


def format(name) -> Format:  # noqa: A001 - the public name users expect
    """Resolve a format name (case-insensitive) to a Format instance.

    Fixed names (``refquant.formats()``) are tried first, then the parameterised
    families (``int7``, ``uint3``, ``q3.4``, ...). A Format instance is returned as is.
    Raises ValueError naming the known names and patterns for an unknown name.
    """
    if isinstance(name, Format):
        return name
    if not isinstance(name, str):
        raise TypeError(f"format name must be a str or Format, got {type(name).__name__}")
    key = name.strip().lower()
    if key in _FIXED:
        return _FIXED[key]()
    for regex, factory, _ in _PATTERNS:
        m = regex.fullmatch(key)
        if m:
            return factory(m)
    examples = ", ".join(ex for _, _, ex in _PATTERNS)
    raise ValueError(
        f"unknown format {name!r}; known names: {', '.join(sorted(_FIXED))}; "
        f"parameterised families: {examples}")


as_format = format


def formats() -> list[str]:
    """Every registered fixed format name, sorted."""
    return sorted(_FIXED)

"""Shared vocabulary: rounding modes and overflow policies.

Every format, kernel and simulator in refquant speaks these two enums. Kernels take
the integer value of a member (``int(Rounding.NEAREST_EVEN) == 0``) because Numba
kernels accept no Python objects.
"""
from __future__ import annotations

import enum

__all__ = ["Rounding", "Overflow", "as_rounding", "as_overflow"]


class Rounding(enum.IntEnum):
    """How a real value between two representable neighbours lo < x < hi is resolved.

    NEAREST_EVEN   nearest; a tie goes to the neighbour whose code is even
                   (IEEE 754 roundTiesToEven; ONNX, PyTorch ``nearbyint``).
    NEAREST_AWAY   nearest; a tie goes away from zero (C ``round``; TFLite, MX reference).
    NEAREST_UP     nearest; a tie goes toward +inf (``floor(x + 1/2)``; gemmlowp's
                   SaturatingRoundingDoublingHighMul on non-negative products).
    TOWARD_ZERO    truncation.
    DOWN           toward -inf (floor).
    UP             toward +inf (ceil).
    STOCHASTIC     hi with probability (x - lo) / (hi - lo), else lo. The random number is
                   counter-based: it depends only on the ``seed`` argument and the flat
                   element index (splitmix64 of seed and index, 53 bits), so results are
                   reproducible and independent of evaluation order or chunking.
    """

    NEAREST_EVEN = 0
    NEAREST_AWAY = 1
    NEAREST_UP = 2
    TOWARD_ZERO = 3
    DOWN = 4
    UP = 5
    STOCHASTIC = 6


class Overflow(enum.IntEnum):
    """What happens to a value beyond the largest finite magnitude of a format.

    SATURATE  clamp to the nearest end of the range.
    WRAP      keep the low bits (two's-complement modular arithmetic); integers only.
    RAISE     raise ``OverflowError`` naming the first offending element.
    INF       become ±inf (float formats that have inf).
    NAN       become NaN (float formats that have NaN, e.g. OCP e4m3fn non-saturating).
    EXACT     accumulators only: compute with unbounded integers (nothing overflows).

    For floats, INF and NAN follow IEEE 754-2019 7.4 under directed rounding (rounding
    toward zero in magnitude gives ±max for finite values): the one table of the rule
    is in ``refquant.FloatFormat``'s docstring.
    """

    SATURATE = 0
    WRAP = 1
    RAISE = 2
    INF = 3
    NAN = 4
    EXACT = 5


def _as_member(enum_cls, value, param):
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        key = value.strip().upper().replace("-", "_").replace(" ", "_")
        aliases = {"EVEN": "NEAREST_EVEN", "NEAREST": "NEAREST_EVEN", "RNE": "NEAREST_EVEN",
                   "AWAY": "NEAREST_AWAY", "RNA": "NEAREST_AWAY", "HALF_UP": "NEAREST_UP",
                   "TRUNCATE": "TOWARD_ZERO", "RTZ": "TOWARD_ZERO", "FLOOR": "DOWN",
                   "CEIL": "UP", "SR": "STOCHASTIC", "SATURATING": "SATURATE"}
        key = aliases.get(key, key)
        if key in enum_cls.__members__:
            return enum_cls[key]
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            return enum_cls(value)
        except ValueError:
            pass
    allowed = ", ".join(m.name for m in enum_cls)
    raise ValueError(f"{param}={value!r} is not a {enum_cls.__name__}; allowed: {allowed}")


def as_rounding(value, param: str = "rounding") -> Rounding:
    """Return the Rounding member for ``value`` (a member, its name in any case, or its int)."""
    return _as_member(Rounding, value, param)


def as_overflow(value, param: str = "overflow") -> Overflow:
    """Return the Overflow member for ``value`` (a member, its name in any case, or its int)."""
    return _as_member(Overflow, value, param)

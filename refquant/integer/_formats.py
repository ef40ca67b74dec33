"""Integer formats: two's-complement and unsigned integers of 1..32 bits (optionally
narrow range) and signed/unsigned fixed point Qm.n.

Names: ``int{b}``, ``uint{b}`` (1 <= b <= 32), ``int{b}n`` (narrow range, the most
negative code unused), ``q{m}.{n}`` (signed: sign + m integer + n fraction bits) and
``uq{m}.{n}`` (unsigned: m + n bits).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..modes import Overflow, Rounding
from ..protocol import Format
from ..registry import register, register_pattern
from .._interop import to_numpy
from .._validate import check_int
from ._affine import decode_affine, encode_affine

__all__ = ["IntFormat", "FixedFormat"]

_ONE = np.ones((1, 1, 1))
_ZERO = np.zeros((1, 1, 1), dtype=np.int64)


def _check_bits(bits, lo=1, hi=32, param="bits"):
    check_int(bits, param, lo, hi)


class _ScaledInteger(Format):
    """Shared machinery: a value is code * 2^-frac_bits with the code in [qmin, qmax]."""

    frac_bits = 0
    # provided by the subclasses (a dataclass field or properties)
    signed: bool

    @property
    def qmin(self) -> int:  # pragma: no cover - abstract
        """The smallest code."""
        raise NotImplementedError

    @property
    def qmax(self) -> int:  # pragma: no cover - abstract
        """The largest code."""
        raise NotImplementedError

    @property
    def code_dtype(self) -> np.dtype:
        for cand in (8, 16, 32, 64):
            if self.bits <= cand:
                return np.dtype(f"{'int' if self.signed else 'uint'}{cand}")
        raise AssertionError

    @property
    def max(self) -> float:
        """The largest value, qmax * 2^-frac_bits."""
        return self.qmax * 2.0 ** -self.frac_bits

    @property
    def min(self) -> float:
        """The most negative value (0 for unsigned formats), qmin * 2^-frac_bits."""
        return self.qmin * 2.0 ** -self.frac_bits

    def encode(self, x, rounding=Rounding.NEAREST_EVEN, *, overflow=Overflow.SATURATE,
               nonfinite="raise", seed=0):
        """Codes of x: round(x * 2^frac_bits) by ``rounding`` (decided on the exact real
        value; STOCHASTIC counter-based on ``seed`` and the flat index), then the
        ``overflow`` policy on [qmin, qmax]: SATURATE clamps, WRAP keeps the low ``bits``
        bits (two's complement for signed formats), RAISE raises OverflowError.
        NaN/inf raise ValueError unless nonfinite='saturate' (NaN -> 0, +-inf -> ends).
        x is taken by value in any byte order; integer inputs exactly, at any magnitude
        (int64 / uint64 beyond 2^53 included), and WRAP reduces the exactly rounded integer
        however large. Returns an array of ``code_dtype`` (the integers themselves) in x's
        shape."""
        a = np.asarray(to_numpy(x))  # encode_affine checks and converts it
        scale = np.full((1, 1, 1), 2.0 ** -self.frac_bits)
        return encode_affine(a, scale, _ZERO, max(a.size, 1), self.qmin, self.qmax,
                             view=(1, a.size, 1), rounding=rounding, seed=seed, compat="exact",
                             overflow=overflow, nonfinite=nonfinite, dtype=self.code_dtype)

    def decode(self, codes):
        """code * 2^-frac_bits as float64 (exact). Codes outside [qmin, qmax] raise ValueError."""
        c = np.asarray(to_numpy(codes, "codes"))
        if c.dtype.kind not in "iu":
            raise TypeError(f"codes must be integers, got dtype {c.dtype}")
        if c.size and (c.min() < self.qmin or c.max() > self.qmax):
            raise ValueError(f"codes outside [{self.qmin}, {self.qmax}] for {self.name}")
        return c.astype(np.float64) * 2.0 ** -self.frac_bits

    def codes(self) -> np.ndarray:
        if self.bits > 16:
            raise ValueError(f"codes() enumerates formats up to 16 bits; {self.name} has {self.bits}")
        return np.arange(self.qmin, self.qmax + 1, dtype=np.int64).astype(self.code_dtype)


@dataclass(frozen=True)
class IntFormat(_ScaledInteger):
    """Integer format of ``bits`` bits (1..32).

    signed: [-2^(b-1), 2^(b-1) - 1]; signed narrow_range: [-(2^(b-1) - 1), 2^(b-1) - 1]
    (symmetric, as TensorRT and many int8 weight quantizers use); unsigned: [0, 2^b - 1].
    Codes are the integers themselves. A 1-bit signed format holds {-1, 0}.
    """

    bits: int = 8
    signed: bool = True
    narrow_range: bool = False
    is_integer = True

    def dequantize_groups(self, codes: np.ndarray, scale3: np.ndarray, zero3: np.ndarray,
                          block: int, *, view: tuple[int, int, int],
                          dtype: np.dtype) -> np.ndarray:
        """(codes - zero_point) * scale over the grouped view (the protocol's hook for
        ``QTensor.dequantize``), formed in float64 and rounded once to ``dtype``: exact
        whenever |code - z| < 2^29 and the scale is a float32 value; float32 output equals
        ONNX DequantizeLinear. Codes must be integers within [qmin, qmax] (TypeError /
        ValueError otherwise)."""
        if codes.dtype.kind not in "iu":
            raise TypeError(f"codes must be integers, got dtype {codes.dtype}")
        if codes.size and (int(codes.min()) < self.qmin or int(codes.max()) > self.qmax):
            raise ValueError(f"codes outside [{self.qmin}, {self.qmax}] for {self.name}")
        return decode_affine(codes, scale3, zero3, block, view=view, dtype=dtype)

    def __post_init__(self):
        _check_bits(self.bits)
        if self.narrow_range and not self.signed:
            raise ValueError("narrow_range applies to signed formats only (signed=False given)")
        if self.narrow_range and self.bits < 2:
            raise ValueError("narrow_range needs bits >= 2")

    @property
    def qmin(self) -> int:
        if not self.signed:
            return 0
        return -(1 << (self.bits - 1)) + (1 if self.narrow_range else 0)

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def name(self) -> str:
        return f"{'' if self.signed else 'u'}int{self.bits}{'n' if self.narrow_range else ''}"


@dataclass(frozen=True)
class FixedFormat(_ScaledInteger):
    """Fixed point Qm.n: value = code * 2^-n, code an integer of m + n (+1 sign) bits.

    signed: sign + m integer bits + n fraction bits, range [-2^m, 2^m - 2^-n];
    unsigned (UQm.n): m + n bits, range [0, 2^m - 2^-n]. Total bits 1..32.
    Equivalent to the integer format of the same width with scale 2^-n.
    """

    int_bits: int = 3
    frac_bits: int = 4
    signed: bool = True

    def __post_init__(self):
        _check_bits(self.int_bits, 0, 32, "int_bits")
        _check_bits(self.frac_bits, 0, 32, "frac_bits")
        _check_bits(self.bits, 1, 32, "int_bits + frac_bits (+1 sign)")

    @property
    def bits(self) -> int:
        return self.int_bits + self.frac_bits + (1 if self.signed else 0)

    @property
    def qmin(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def name(self) -> str:
        return f"{'' if self.signed else 'u'}q{self.int_bits}.{self.frac_bits}"


for _b in (2, 3, 4, 8, 16, 32):
    register(f"int{_b}", lambda b=_b: IntFormat(b))
    register(f"uint{_b}", lambda b=_b: IntFormat(b, signed=False))
register_pattern(r"int(\d+)(n?)", lambda m: IntFormat(int(m[1]), True, m[2] == "n"), "int{bits}[n]")
register_pattern(r"uint(\d+)", lambda m: IntFormat(int(m[1]), False), "uint{bits}")
register_pattern(r"(u?)q(\d+)\.(\d+)", lambda m: FixedFormat(int(m[2]), int(m[3]), m[1] == ""),
                 "q{m}.{n} / uq{m}.{n}")

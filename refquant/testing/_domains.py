"""Sweep domains: every code of a format, every float32 bit pattern, N random inputs."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..protocol import Format
from ..registry import format as _format

__all__ = ["Domain", "parse_domain", "DOMAIN_FORMS"]

DOMAIN_FORMS = ("float32", "float32:START:STOP", "codes", "codes:FORMAT", "random:N:SEED",
                "random:N:SEED:float64")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed: int, start: int, stop: int) -> np.ndarray:
    """SplitMix64 outputs number ``start`` to ``stop - 1`` of the stream of ``seed``
    (Steele, Lea and Flood 2014): z = seed + (i + 1) * 0x9E3779B97F4A7C15 mod 2^64, then
    the two xor-shift-multiply rounds. Element i depends only on seed and i."""
    i = np.arange(start, stop, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + (i + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class Domain:
    """A sweep's inputs, numbered 0 .. size - 1; ``inputs(start, stop)`` gives a slice.

    kind "float32": float32 bit patterns, input i has bits ``start + i`` (``parse_domain``
    "float32": all 2^32, NaNs and infinities included; "float32:START:STOP": the bit
    patterns START to STOP - 1). kind "codes": every code of ``fmt`` in ascending order (integer
    formats: every integer from min to max). kind "random": ``size`` bit patterns of
    ``dtype`` (float32 or float64) drawn by SplitMix64 from ``seed``, input i depending
    only on seed and i (float32 takes the top 32 bits of each output)."""

    kind: str
    size: int
    fmt: Format | None = None
    seed: int = 0
    dtype: str = "float32"
    start: int = 0

    @property
    def is_codes(self) -> bool:
        return self.kind == "codes"

    def describe(self) -> str:
        """The domain's name as ``parse_domain`` reads it."""
        if self.kind == "float32":
            if self.start == 0 and self.size == 1 << 32:
                return "float32"
            return f"float32:{self.start:#x}:{self.start + self.size:#x}"
        if self.kind == "codes":
            assert self.fmt is not None
            return f"codes:{self.fmt.name}"
        tail = ":float64" if self.dtype == "float64" else ""
        return f"random:{self.size}:{self.seed}{tail}"

    def inputs(self, start: int, stop: int) -> np.ndarray:
        """Inputs number ``start`` to ``stop - 1``."""
        if self.kind == "float32":
            lo, hi = self.start + start, self.start + stop
            if hi < 1 << 32:   # one pass; uint32 arange cannot reach 2^32 itself
                return np.arange(lo, hi, dtype=np.uint32).view(np.float32)
            return np.arange(lo, hi, dtype=np.uint64).astype(np.uint32).view(np.float32)
        if self.kind == "codes":
            f = self.fmt
            assert f is not None
            if f.is_integer:
                lo = int(f.min)
                return np.arange(lo + start, lo + stop, dtype=np.int64).astype(f.code_dtype)
            return np.arange(start, stop, dtype=np.uint64).astype(f.code_dtype)
        z = splitmix64(self.seed, start, stop)
        if self.dtype == "float64":
            return z.view(np.float64)
        return (z >> np.uint64(32)).astype(np.uint32).view(np.float32)


def parse_domain(spec: str | Domain, fmt: Format | None = None) -> Domain:
    """The domain named ``spec``: "float32" (every float32 bit pattern),
    "float32:START:STOP" (bit patterns START to STOP - 1, decimal or 0x hex), "codes" (every
    code of ``fmt``), "codes:FORMAT", "random:N:SEED" or "random:N:SEED:float64"
    (N >= 1 random bit patterns, 0 <= SEED < 2^64). Unknown names raise ValueError
    listing the forms."""
    if isinstance(spec, Domain):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"domain must be a str, got {type(spec).__name__}")
    s = spec.strip().lower()
    if s in ("float32", "all-float32", "every-float32"):
        return Domain("float32", 1 << 32)
    m = re.fullmatch(r"float32:(0x[0-9a-f]+|\d+):(0x[0-9a-f]+|\d+)", s)
    if m:
        lo, hi = int(m[1], 0), int(m[2], 0)
        if not 0 <= lo < hi <= 1 << 32:
            raise ValueError(f"domain {spec!r}: need 0 <= START < STOP <= 2^32")
        return Domain("float32", hi - lo, start=lo)
    if s == "codes" or s.startswith("codes:"):
        if s == "codes":
            if fmt is None:
                raise ValueError("domain 'codes' needs a format (or name one: codes:FORMAT)")
            f = fmt
        else:
            f = _format(spec.split(":", 1)[1])
        bits = int(f.bits)
        if bits > 32:
            raise ValueError(f"domain {spec!r}: {f.name} has {bits}-bit codes; every code is "
                             "swept for formats up to 32 bits")
        size = int(f.max) - int(f.min) + 1 if f.is_integer else 1 << bits
        return Domain("codes", size, f)
    m = re.fullmatch(r"random:(\d+):(\d+)(?::(float32|float64))?", s)
    if m:
        n, seed = int(m[1]), int(m[2])
        if n < 1:
            raise ValueError(f"domain {spec!r}: N must be at least 1")
        if seed >= 1 << 64:
            raise ValueError(f"domain {spec!r}: SEED must be in [0, 2^64)")
        return Domain("random", n, None, seed, m[3] or "float32")
    raise ValueError(f"unknown domain {spec!r}; known: {', '.join(DOMAIN_FORMS)}")

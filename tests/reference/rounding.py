"""Slow, obviously-correct reference for the rounding kernels (kernels/rounding.py) and
the affine quantizer: exact rational arithmetic with ``fractions.Fraction`` and Python
integers, one element at a time, no Numba."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

NEAREST_EVEN, NEAREST_AWAY, NEAREST_UP, TOWARD_ZERO, DOWN, UP, STOCHASTIC = range(7)
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
HALF = Fraction(1, 2)


def uniform53(seed: int, index: int) -> int:
    """splitmix64 of (seed, index) with unbounded Python ints reduced modulo 2^64; top 53 bits."""
    z = (seed * GOLDEN + (index + 1) * GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    z = z ^ (z >> 31)
    return z >> 11


def round_fraction(v: Fraction, mode: int, seed: int = 0, index: int = 0) -> int:
    """The integer that ``mode`` rounds the exact rational v to."""
    v = Fraction(v)
    fl = math.floor(v)
    r = v - fl
    if r == 0:
        return fl
    if mode == NEAREST_EVEN:
        if r != HALF:
            return fl if r < HALF else fl + 1
        return fl if fl % 2 == 0 else fl + 1
    if mode == NEAREST_AWAY:
        if r != HALF:
            return fl if r < HALF else fl + 1
        return fl + 1 if v > 0 else fl
    if mode == NEAREST_UP:
        return fl if r < HALF else fl + 1
    if mode == TOWARD_ZERO:
        return fl if v > 0 else fl + 1
    if mode == DOWN:
        return fl
    if mode == UP:
        return fl + 1
    if mode == STOCHASTIC:
        return fl + 1 if Fraction(uniform53(seed, index), 1 << 53) < r else fl
    raise ValueError(mode)


def shift_right_round(x: int, k: int, mode: int, seed: int = 0, index: int = 0) -> int:
    return round_fraction(Fraction(int(x), 1 << int(k)), mode, seed, index)


def divide_round(n: int, d: int, mode: int, seed: int = 0, index: int = 0) -> int:
    return round_fraction(Fraction(int(n), int(d)), mode, seed, index)


def round_float(x: float, mode: int, seed: int = 0, index: int = 0) -> float:
    if not math.isfinite(x):
        return x
    return float(round_fraction(Fraction(x), mode, seed, index))


def quotient(x: float, s: float, compat: str) -> Fraction:
    """x / s as the peer forms it: exact real, float32 division (ONNX, TFLite), or float32
    multiplication by the float32 reciprocal (PyTorch)."""
    if compat == "exact":
        return Fraction(float(x)) / Fraction(float(s))
    if compat in ("onnx", "tflite"):
        return Fraction(float(np.float32(x) / np.float32(s)))
    inv = np.float32(1.0) / np.float32(s)
    return Fraction(float(np.float32(x) * inv))


def quantize_affine(x: float, s: float, z: int, lo: int, hi: int, mode: int, compat="exact",
                    overflow="saturate", seed: int = 0, index: int = 0) -> int:
    """clamp (or wrap) of round(x / s) + z, x finite."""
    q = quotient(x, s, compat)
    r = round_fraction(q, mode, seed, index) + z
    if lo <= r <= hi:
        return r
    if overflow == "saturate":
        return lo if r < lo else hi
    if overflow == "wrap":
        return (r - lo) % (hi - lo + 1) + lo
    raise OverflowError(r)

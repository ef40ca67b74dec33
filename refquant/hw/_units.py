"""Golden models and input sets for the reference requantization unit and FP8 encoder:
every expected output comes from refquant's own functions."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .. import intops
from ..modes import Overflow
from ..registry import format as _format

__all__ = ["requant_inputs", "requant_expected", "fp8_inputs", "fp8_expected", "FP8_DESIGNS"]

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

#: FP8 format name -> fp8_encode parameters
FP8_DESIGNS: dict[str, dict[str, int]] = {"e4m3fn": {"E": 4, "M": 3, "FN": 1},
                                          "e5m2": {"E": 5, "M": 2, "FN": 0}}


def requant_expected(acc: npt.ArrayLike, q: npt.ArrayLike, shift: npt.ArrayLike,
                     zero_point: npt.ArrayLike, qmin: int = -128, qmax: int = 127) -> np.ndarray:
    """clip(multiply_by_quantized_multiplier(acc, q, shift) + zero_point, qmin, qmax)
    (TFLite double rounding; the sum is exact), int64."""
    y = intops.multiply_by_quantized_multiplier(acc, q, shift).astype(np.int64)
    return np.clip(y + np.asarray(zero_point, np.int64), qmin, qmax)


def requant_inputs(count: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    """Requantization inputs (acc, q, shift, zero_point; int64 arrays): corner cases
    (INT32_MIN / INT32_MAX accumulators and multipliers, the one saturating SRDHM product
    INT32_MIN * INT32_MIN, shifts -31 and 31, left shifts that wrap, negative and
    positive ties of the rounding right shift, zero points that push past the clamp)
    followed by ``count`` seeded random ones."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, int]] = []
    for a0 in (INT32_MIN, INT32_MAX, 0, -1, 1):
        for q0 in (INT32_MIN, INT32_MAX, 1 << 30, 0, 1):
            for s0 in (-31, -1, 0, 1, 31):
                rows.append((a0, q0, s0, 0))
    # ties of the rounding shift: q = 2^30 makes SRDHM(x, q) = round(x / 2), then a
    # right shift by rs of h = (2k + 1) * 2^(rs - 1) is a tie; negative ones included
    for rs in (1, 2, 5, 12):
        for k in (-3, -2, -1, 0, 1, 2):
            h = (2 * k + 1) << (rs - 1)
            rows.append((2 * h, 1 << 30, -rs, 0))
    for z0 in (-128, 127, 0, -5, 100):
        rows.append((int(rng.integers(INT32_MIN, INT32_MAX)), 1 << 30, -20, z0))
    n = int(count)
    acc = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True)
    small = rng.integers(-40000, 40000, n)
    acc = np.where(rng.random(n) < 0.5, small, acc)
    q = rng.integers(1 << 30, INT32_MAX, n, endpoint=True)
    shift = rng.integers(-31, 31, n, endpoint=True)
    shift = np.where(rng.random(n) < 0.7, rng.integers(-20, 2, n), shift)
    zp = rng.integers(-128, 127, n, endpoint=True)
    base = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return {"acc": np.concatenate([base[:, 0], acc]), "q": np.concatenate([base[:, 1], q]),
            "shift": np.concatenate([base[:, 2], shift]),
            "zero_point": np.concatenate([base[:, 3], zp])}


def fp8_expected(bits: npt.ArrayLike, fmt: str, saturate: bool) -> np.ndarray:
    """The FP8 codes refquant gives the float32 values with bit patterns ``bits``:
    ``format(fmt).encode(x, overflow=SATURATE)`` when ``saturate``, else the
    non-saturating conversion (e4m3fn: Overflow.NAN, e5m2: Overflow.INF). int64."""
    f = _format(fmt)
    x = np.asarray(bits, dtype=np.int64).astype(np.uint32).view(np.float32)
    ov = Overflow.SATURATE if saturate else (Overflow.NAN if fmt == "e4m3fn" else Overflow.INF)
    return np.asarray(f.encode(x, overflow=ov), dtype=np.int64)


def fp8_inputs(fmt: str, count: int = 256, seed: int = 0) -> np.ndarray:
    """float32 bit patterns (int64) for the FP8 encoder: both zeros, NaNs (quiet,
    signalling, both signs), ±inf, float32 subnormals, every FP8 value and every midpoint
    between neighbouring FP8 values (the ties) with the float32 values one ulp either side,
    the overflow boundary (max, the midpoint above it, beyond), the subnormal boundary, then
    ``count`` seeded random finite values of both signs spread over the FP8 range."""
    f = _format(fmt)
    vals = np.asarray(f.values(), dtype=np.float64)
    pos = np.unique(np.abs(vals))
    mids = (pos[:-1] + pos[1:]) / 2
    top = float(pos[-1])
    gap = float(pos[-1] - pos[-2])
    special = np.array([top + gap / 2, top + gap, top * 4, 2.0 ** 100, float(pos[1]) / 2,
                        float(pos[1]) / 4, 1e-30], np.float64)
    x32 = np.concatenate([pos, mids, special]).astype(np.float32)
    near = np.concatenate([x32, np.nextafter(x32, np.float32(np.inf)),
                           np.nextafter(x32, np.float32(0))])
    bits = np.concatenate([near, -near]).view(np.uint32).astype(np.int64)
    fixed = np.array([0x00000000, 0x80000000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001,
                      0x7F800000, 0xFF800000, 0x00000001, 0x807FFFFF, 0x00400000], np.int64)
    rng = np.random.default_rng(seed)
    lo, hi = np.log2(float(pos[1])) - 2, np.log2(top) + 1
    r = (2.0 ** rng.uniform(lo, hi, int(count)) * rng.choice([-1.0, 1.0], int(count)))
    rnd = r.astype(np.float32).view(np.uint32).astype(np.int64)
    return np.concatenate([fixed, bits, rnd])

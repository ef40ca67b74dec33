"""ActNN-style compressed activations (Chen et al., "ActNN: Reducing Training Memory
Footprint via 2-Bit Activation Compressed Training", ICML 2021): per-group stochastic
rounding to 1..8 bits over each group's own range, bit-packed, unbiased in expectation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._validate import check_int, float64_array

__all__ = ["CompressedActivation", "compress_activation", "decompress_activation"]


def _pack(q: np.ndarray, bits: int) -> np.ndarray:
    """Values 0 <= q < 2^bits packed ``bits`` bits each, least significant bit first, into
    a uint8 stream (value i occupies stream bits i*bits .. i*bits + bits - 1)."""
    planes = (q.astype(np.uint8)[:, None] >> np.arange(bits, dtype=np.uint8)) & np.uint8(1)
    return np.packbits(planes.reshape(-1), bitorder="little")


def _unpack(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
    """The n values ``_pack`` stored, as int64."""
    b = np.unpackbits(packed, count=n * bits, bitorder="little").reshape(n, bits)
    return (b.astype(np.int64) << np.arange(bits, dtype=np.int64)).sum(axis=1)


@dataclass(frozen=True)
class CompressedActivation:
    """A compressed activation tensor: ``packed`` holds one ``bits``-bit code per element
    (flat C order, least significant bit first, see ``codes``); group g (elements
    g*block_size .. g*block_size + block_size - 1) decodes to lo[g] + code * step[g].
    lo and step are float32, as stored."""

    packed: np.ndarray
    lo: np.ndarray
    step: np.ndarray
    shape: tuple[int, ...]
    bits: int
    block_size: int

    @property
    def size(self) -> int:
        """Number of elements of the original tensor."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Bytes stored: the packed codes plus 4 + 4 bytes (lo, step) per group."""
        return int(self.packed.nbytes + self.lo.nbytes + self.step.nbytes)

    @property
    def memory_ratio(self) -> float:
        """Bytes of the tensor as float32 (4 per element) over ``nbytes``:
        32 n / (bits n + 64 groups), rounded up to whole bytes of packed codes."""
        return 4 * self.size / self.nbytes if self.nbytes else float("inf")

    def codes(self) -> np.ndarray:
        """The integer codes (0 .. 2^bits - 1) of every element, int64 of ``shape``."""
        return _unpack(self.packed, self.bits, self.size).reshape(self.shape)


def compress_activation(x: npt.ArrayLike, bits: int = 2, *, block_size: int = 256,
                        seed: int = 0) -> CompressedActivation:
    """Compress a real tensor with ActNN's per-group stochastic rounding: flatten (C order),
    cut into groups of ``block_size`` consecutive elements (the last may be short), and
    per group g with range [min, max]:

        lo = min rounded down to float32,  L = 2^bits - 1,
        step = (max - lo) / L rounded up to float32 (so lo + L step >= max),
        u = (x - lo) / step  in [0, L]  (0 when step = 0),
        code = floor(u + U),  U ~ Uniform[0, 1) drawn from numpy's default_rng(seed),

    stochastic rounding: P(code = floor(u) + 1) = u - floor(u), so E[code] = u and
    E[lo + code step] = x (unbiased in expectation, up to float64 rounding of u).
    bits in 1..8 (ActNN's default 2), block_size >= 1 (default 256, ActNN's group_size),
    seed >= 0; x must be finite. Returns a ``CompressedActivation``;
    ``decompress_activation`` inverts it. Differences from ActNN's code, on purpose:
    ActNN groups each sample's features and pads them with zeros (which can widen the
    last group's range) and keeps min and scale in bfloat16; here groups run over the
    whole flat tensor, the short last group is not padded into its range, and lo / step
    are float32 rounded so that lo + L step covers every group.
    """
    bits = check_int(bits, "bits", 1, 8)
    block_size = check_int(block_size, "block_size", 1)
    seed = check_int(seed, "seed", 0)
    xv = float64_array(x, "x")
    if not np.all(np.isfinite(xv)):
        raise ValueError("x must be finite (NaN and inf cannot be compressed)")
    shape = tuple(int(s) for s in xv.shape)
    flat = xv.reshape(-1)
    n = flat.size
    L = (1 << bits) - 1
    ng = -(-n // block_size)
    if n == 0:
        empty = np.zeros(0, np.float32)
        return CompressedActivation(np.zeros(0, np.uint8), empty, empty.copy(), shape,
                                    bits, block_size)
    padded = np.pad(flat, (0, ng * block_size - n), mode="edge").reshape(ng, block_size)
    mn, mx = padded.min(axis=1), padded.max(axis=1)
    lo = mn.astype(np.float32)
    down = lo.astype(np.float64) > mn
    lo[down] = np.nextafter(lo[down], np.float32(-np.inf))
    lo64 = lo.astype(np.float64)
    step = ((mx - lo64) / L).astype(np.float32)
    for _ in range(4):   # round up until lo + L step covers max
        short = lo64 + L * step.astype(np.float64) < mx
        if not short.any():
            break
        step[short] = np.nextafter(step[short], np.float32(np.inf))
    s64 = step.astype(np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(s64 > 0, (padded - lo64[:, None]) / np.where(s64 > 0, s64, 1.0), 0.0)
    u = np.clip(u, 0.0, L).reshape(-1)[:n]
    U = np.random.default_rng(seed).random(n)
    q = np.minimum(np.floor(u + U), L).astype(np.int64)
    return CompressedActivation(_pack(q, bits), lo, step, shape, bits, block_size)


def decompress_activation(c: CompressedActivation) -> np.ndarray:
    """lo[g] + code * step[g] for every element (float64, of the original shape)."""
    if not isinstance(c, CompressedActivation):
        raise TypeError(f"c must be a CompressedActivation, got {type(c).__name__}")
    q = c.codes().reshape(-1)
    g = np.arange(q.size) // c.block_size
    return (c.lo.astype(np.float64)[g] + q * c.step.astype(np.float64)[g]).reshape(c.shape)

"""Bit packing of codes narrower than a byte or not a whole number of bytes (FP4, FP6 and
the other element codes) into a little-endian bit stream, and back."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from .._validate import check_bool, check_int, native

_k = kernels("floats")

__all__ = ["pack", "unpack"]


def _check_bits(bits: Any) -> int:
    return check_int(bits, "bits", 1, 16)


def pack(codes: npt.ArrayLike, bits: int) -> np.ndarray:
    """Pack codes of ``bits`` bits (1..16) into bytes: uint8 array of ceil(n * bits / 8)
    bytes for n = codes.size (flat order).

    The bytes form a little-endian bit stream: code i occupies stream bits
    [i * bits, (i + 1) * bits), stream bit j is bit (j mod 8) of byte j // 8. For 4-bit
    codes that is two codes per byte, the first in the low nibble; for 6-bit codes four
    codes fill three bytes (byte0 = c0 | c1 << 6, byte1 = c1 >> 2 | c2 << 4,
    byte2 = c2 >> 4 | c3 << 2), as in the OCP MX packing of FP6. Negative codes (two's
    complement, e.g. MXINT8) keep their low ``bits`` bits; codes needing more bits raise
    ValueError. Memory: the output only (plus a contiguous copy of a non-contiguous or
    non-native-byte-order input)."""
    bits = _check_bits(bits)
    c = native(codes, "codes")
    if c.dtype.kind not in "iu":
        raise TypeError(f"codes must be integers, got dtype {c.dtype}")
    lo = -(1 << (bits - 1)) if c.dtype.kind == "i" else 0
    hi = (1 << bits) - 1
    if c.size and (int(c.min()) < lo or int(c.max()) > hi):
        raise ValueError(f"codes outside [{lo}, {hi}] do not fit in {bits} bits")
    flat = np.ravel(c)                      # a view when c is contiguous
    out = np.empty(-(-flat.size * bits // 8), dtype=np.uint8)
    _k.pack_bits(flat, bits, out)
    return out


def unpack(data: npt.ArrayLike | bytes | bytearray | memoryview, bits: int, count: int,
           signed: bool = False, dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """Inverse of ``pack``: the first ``count`` codes of ``bits`` bits (1..16) from the
    bytes ``data`` (a uint8 array or a bytes-like object). signed=True sign-extends (two's
    complement). dtype: an integer dtype holding every code (default the smallest
    unsigned, or with signed=True signed, integer type of at least ``bits`` bits).
    Memory: the output only."""
    bits = _check_bits(bits)
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = np.frombuffer(data, dtype=np.uint8)
    d = np.asarray(data)
    if d.dtype != np.uint8:
        raise TypeError(f"data must be uint8 bytes, got dtype {d.dtype}")
    count = check_int(count, "count", 0, 1 << 62)
    signed = check_bool(signed, "signed")
    if count * bits > d.size * 8:
        raise ValueError(f"{d.size} bytes hold at most {d.size * 8 // bits} codes of {bits} "
                         f"bits; count={count}")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if dtype is None:
        dtype = f"{'int' if signed else 'uint'}{8 if bits <= 8 else 16}"
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"dtype={dtype!r} is not a NumPy dtype") from e
    if dt.kind not in "iu" or np.iinfo(dt).min > lo or np.iinfo(dt).max < hi:
        raise ValueError(f"dtype={dt} cannot hold every {'signed' if signed else 'unsigned'} "
                         f"code of {bits} bits ([{lo}, {hi}]); allowed an integer dtype "
                         "with that range")
    out = np.empty(count, dtype=dt.newbyteorder("="))
    _k.unpack_bits(np.ravel(d), bits, signed, out)
    return out if dt.isnative else out.astype(dt)

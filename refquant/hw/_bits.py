"""Packing of lanes into the flat buses of the reference RTL: lane L of a bus of W-bit
lanes occupies bits [L*W, (L+1)*W), two's complement (Verilog's ``bus[L*W +: W]``)."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["pack_lanes", "unpack_lanes", "pack_word", "unpack_word"]


def pack_lanes(values: npt.ArrayLike, width: int) -> list[int]:
    """One int per row of ``values`` (rows x lanes integers): lane L's low ``width`` bits
    at bits [L*width, (L+1)*width) (negative values keep their two's-complement bits)."""
    v = np.asarray(values, dtype=np.int64)
    if v.ndim != 2:
        raise ValueError(f"values must be (rows, lanes), got shape {v.shape}")
    rows, lanes = v.shape
    if rows == 0:
        return []
    if width < 64:
        v = v & ((1 << width) - 1)
    shifts = np.arange(width, dtype=np.int64)
    bits = ((v[:, :, None] >> np.minimum(shifts, 63)) & 1).astype(np.uint8)
    if width > 64:   # sign extension above bit 63
        bits[:, :, 64:] = bits[:, :, 63:64]
    packed = np.packbits(bits.reshape(rows, lanes * width), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def unpack_lanes(words: list[int], lanes: int, width: int, signed: bool) -> np.ndarray:
    """The inverse of ``pack_lanes``: (len(words), lanes) int64 (width <= 64)."""
    nbytes = (lanes * width + 7) // 8
    raw = np.frombuffer(b"".join(int(w).to_bytes(nbytes, "little") for w in words),
                        dtype=np.uint8).reshape(len(words), nbytes)
    bits = np.unpackbits(raw, axis=1, bitorder="little")[:, :lanes * width]
    bits = bits.reshape(len(words), lanes, width).astype(np.int64)
    out = np.zeros((len(words), lanes), dtype=np.int64)
    for b in range(width):
        if signed and b == width - 1:
            out -= bits[:, :, b] << b
        else:
            out |= bits[:, :, b] << b
    return out


def pack_word(fields: list[tuple[int, int]]) -> int:
    """Concatenate (value, width) fields, the first field in the lowest bits."""
    word, pos = 0, 0
    for value, width in fields:
        word |= (int(value) & ((1 << width) - 1)) << pos
        pos += width
    return word


def unpack_word(word: int, width: int, signed: bool) -> int:
    """The low ``width`` bits of ``word`` as a signed or unsigned int."""
    v = int(word) & ((1 << width) - 1)
    if signed and v >> (width - 1):
        v -= 1 << width
    return v

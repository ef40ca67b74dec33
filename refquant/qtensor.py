"""``QTensor``: codes of a format with the scales and zero points that map them back."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._groups import GRANULARITIES, check_block_size, user_shape, view as _group_view
from ._validate import float_dtype, native, norm_axis
from .protocol import Format

__all__ = ["QTensor"]


@dataclass
class QTensor:
    """A quantized tensor: codes of ``fmt`` plus the scaling that maps them back.

    value = (decode(codes) - zero_point) * scale, with scale and zero_point broadcast
    along ``axis``: shape () per tensor, (D,) per axis, x's shape with ceil(D / block_size)
    on the axis per block. For non-integer formats zero_point is 0. ``extra`` holds
    format-specific data (e.g. the scale codes of a block format).
    """

    codes: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    fmt: Format
    granularity: str = "tensor"
    axis: int | None = None
    block_size: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def shape(self):
        """Shape of the quantized tensor (that of ``codes``)."""
        return self.codes.shape

    def _view(self):
        return _group_view(self.codes.shape, self.granularity, self.axis, self.block_size)

    def dequantize(self, dtype=np.float64) -> np.ndarray:
        """(decode(codes) - zero_point) * scale, formed in float64 and rounded once to the
        float ``dtype`` (float16, float32, float64). Integer formats: exact in float64
        whenever |code - z| < 2^29 and the scale is a float32 value; float32 output equals
        ONNX DequantizeLinear. The result has the codes' shape (0-d stays 0-d). Raises
        TypeError for a non-float dtype or non-integer codes of an integer format and
        ValueError for codes outside the format or scales / zero points whose shape does
        not match the granularity."""
        dt = float_dtype(dtype)
        view, block, s3, z3 = self._scale3()
        codes = native(np.asarray(self.codes))
        return self.fmt.dequantize_groups(codes, s3, z3, block, view=view, dtype=dt)

    def _scale3(self):
        """(view, block, scale, zero point) with scale and zero point as (Ps, nb, Qs)
        arrays, after checking the granularity, axis, block size and their shapes."""
        g = self.granularity
        if g not in GRANULARITIES:
            raise ValueError(f"granularity={g!r}; allowed: {', '.join(GRANULARITIES)}")
        shape = np.shape(self.codes)
        ax = None
        if g != "tensor":
            ax = norm_axis(self.axis, len(shape))
        block = check_block_size(self.block_size) if g == "block" else None
        view, block, gshape = _group_view(shape, g, ax, block)
        ushape = user_shape(shape, g, ax, block)
        n = int(np.prod(gshape))
        s = np.asarray(self.scale)
        if s.dtype.kind not in "iuf":
            raise TypeError(f"scale must be real numbers, got dtype {s.dtype}")
        z = np.asarray(self.zero_point)
        if z.dtype.kind not in "iu":
            raise TypeError(f"zero_point must be integers, got dtype {z.dtype}")
        for name, a in (("scale", s), ("zero_point", z)):
            if a.size != n or (a.shape != ushape and a.ndim > 1):
                raise ValueError(f"{name} has shape {a.shape}; expected {ushape} for "
                                 f"granularity={g!r} and codes of shape {shape}")
        return (view, block, s.astype(np.float64).reshape(gshape),
                z.astype(np.int64).reshape(gshape))

    def __repr__(self):
        return (f"QTensor(fmt={self.fmt.name}, shape={self.codes.shape}, granularity="
                f"{self.granularity!r}, axis={self.axis}, block_size={self.block_size})")

"""Scaling: granularity x calibration x rounding -> QTensor.

``quantize(x, fmt, ...)`` chooses a scale (and, for asymmetric integer quantization, a
zero point) per tensor, per slice along an axis, or per block of B consecutive elements
along an axis (ONNX opset 21 blocked quantization: the scale has x's shape with
ceil(D / B) along the axis), then encodes x / s with the format.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .affine import as_real_array, check_compat, decode_affine, encode_affine
from .formats.base import Format, as_format
from .modes import Overflow, Rounding

__all__ = ["QTensor", "quantize", "GRANULARITIES"]

GRANULARITIES = ("tensor", "axis", "block")


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
        return _view(self.codes.shape, self.granularity, self.axis, self.block_size)

    def dequantize(self, dtype=np.float64) -> np.ndarray:
        """(decode(codes) - zero_point) * scale, formed in float64 and rounded once to
        ``dtype``. Integer formats: exact in float64 whenever |code - z| < 2^29 and the
        scale is a float32 value; float32 output equals ONNX DequantizeLinear."""
        view, block, s3, z3 = self._scale3()
        if self.fmt.is_integer:
            return decode_affine(self.codes, s3, z3, block, view=view, dtype=dtype)
        vals = np.asarray(self.fmt.decode(self.codes), dtype=np.float64).reshape(view)
        return (vals * _expand(s3, view, block)).reshape(self.codes.shape).astype(dtype, copy=False)

    def _scale3(self):
        view, block, gshape = self._view()
        s3 = np.asarray(self.scale, dtype=np.float64).reshape(gshape)
        z3 = np.asarray(self.zero_point, dtype=np.int64).reshape(gshape)
        return view, block, s3, z3

    def __repr__(self):
        return (f"QTensor(fmt={self.fmt.name}, shape={self.codes.shape}, granularity="
                f"{self.granularity!r}, axis={self.axis}, block_size={self.block_size})")


def _norm_axis(axis, ndim):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} out of range for a {ndim}-d array; allowed {-ndim}..{ndim - 1}")
    return int(axis) % ndim


def _view(shape, granularity, axis, block):
    """(P, D, Q) view, block length along D, and the (Ps, nb, Qs) group shape."""
    n = int(np.prod(shape)) if len(shape) else 1
    if granularity == "tensor":
        return (1, n, 1), max(n, 1), (1, 1, 1)
    P = int(np.prod(shape[:axis]))
    D = shape[axis]
    Q = int(np.prod(shape[axis + 1:]))
    if granularity == "axis":
        return (P, D, Q), 1, (1, D, 1)
    nb = -(-D // block)
    return (P, D, Q), block, (P, nb, Q)


def _expand(g3, view, block):
    P, D, Q = view
    rep = np.repeat(g3, block, axis=1)[:, :D, :]
    return np.broadcast_to(rep, view)


def _group_table(x3, block, gshape):
    """Rows = groups in (Ps, nb, Qs) order, columns = members, padded with NaN."""
    P, D, Q = x3.shape
    Ps, nb, Qs = gshape
    if gshape == (1, 1, 1):
        return x3.reshape(1, -1)
    if Ps == 1 and Qs == 1 and block == 1:  # per axis
        return np.moveaxis(x3, 1, 0).reshape(D, -1)
    pad = nb * block - D
    if pad:
        x3 = np.concatenate([x3, np.full((P, pad, Q), np.nan, dtype=x3.dtype)], axis=1)
    t = x3.reshape(P, nb, block, Q).transpose(0, 1, 3, 2)
    return t.reshape(P * nb * Q, block)


def _check_scale(scale, gshape, user_shape, param="scale"):
    s = np.asarray(scale, dtype=np.float64)
    if s.size != int(np.prod(gshape)) or (s.ndim and s.shape not in (user_shape, (s.size,))):
        raise ValueError(f"{param} has shape {s.shape}; expected {user_shape} for this granularity")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"{param} must be positive and finite")
    return s.reshape(gshape)


def _user_shape(shape, granularity, axis, block):
    if granularity == "tensor":
        return ()
    if granularity == "axis":
        return (shape[axis],)
    return tuple(-(-d // block) if i == axis else d for i, d in enumerate(shape))


def quantize(x, fmt, *, granularity="tensor", axis=None, block_size=None,
             calibration="minmax", rounding=None, symmetric=None, scale=None,
             zero_point=None, compat="exact", overflow=Overflow.SATURATE,
             nonfinite="raise", seed=0, scale_dtype=np.float32, **calibration_options):
    """Quantize x with ``fmt`` under a scale per tensor, per axis or per block.

    Parameters
    ----------
    x : array_like of reals.
    fmt : Format or format name (``"int8"``, ``"e4m3"``, ``"mxfp4"``, ...).
    granularity : "tensor" | "axis" (one scale per index along ``axis``, e.g. output
        channels) | "block" (one scale per ``block_size`` consecutive elements along
        ``axis``; the last block may be short, as in ONNX opset 21).
    calibration : name of a ``refquant.calibrate`` method ("minmax", "percentile",
        "entropy", "mse", "aciq_laplace", "aciq_gaussian") or a callable
        ``f(groups, symmetric, fmt) -> (lo, hi)`` over the rows of a 2-D table of groups
        (NaN pads short blocks). Ignored when ``scale`` is given.
    symmetric : zero point 0 and s = amax / qmax. Default: True except for unsigned
        integer formats, which default to asymmetric s = (hi - lo) / (qmax - qmin),
        z = qmin - round_half_even(lo / s) with [lo, hi] widened to contain 0 (so 0 is
        exactly representable). Non-integer formats are always symmetric
        (s = amax / fmt.calibration_max). A group whose range is 0 gets s = 1.
    scale, zero_point : explicit values override calibration (shape () / (D,) / the
        blocked shape); scale must be positive and finite, zero points within the codes.
    rounding : a ``Rounding``; default the compat mode's rule (half to even; TFLite
        half away from zero).
    compat : how x / s is formed for integer formats. "exact" (default): the real quotient
        is rounded exactly (no intermediate rounding); "onnx" / "tflite": float32 x / s;
        "torch": float32 x * float32(1 / s). These differ on some exact ties.
        For non-integer formats x / s is formed in float64 and then encoded (exact
        whenever the scale is a power of two, as in MX formats).
    overflow : SATURATE (default) | WRAP | RAISE for integer codes; non-integer formats
        pass it to their encode.
    nonfinite : "raise" (default, ValueError) or "saturate" (NaN -> zero point,
        ±inf -> range ends) for integer formats; other formats follow their own policy.
    seed : for Rounding.STOCHASTIC (counter-based, per flat element index).
    scale_dtype : dtype the computed scales are rounded to (float32 as peers store them,
        or float64).

    Returns a QTensor. Block formats (``fmt.is_block``, e.g. MX) carry their own scaling
    rule and are delegated to ``fmt.quantize_tensor``.
    """
    fmt = as_format(fmt)
    x = as_real_array(x)
    check_compat(compat)
    if fmt.is_block:
        return fmt.quantize_tensor(x, axis=-1 if axis is None else axis, rounding=rounding,
                                   overflow=overflow, seed=seed)
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity={granularity!r}; allowed: {', '.join(GRANULARITIES)}")
    if granularity == "tensor":
        ax = None
    else:
        if x.ndim == 0:
            raise ValueError(f"granularity={granularity!r} needs an array with at least one axis")
        ax = _norm_axis(0 if axis is None else axis, x.ndim)
    block = None
    if granularity == "block":
        if not isinstance(block_size, (int, np.integer)) or block_size < 1:
            raise ValueError(f"block_size={block_size!r}; granularity='block' needs an int >= 1")
        block = int(block_size)
    view, blk, gshape = _view(x.shape, granularity, ax, block)
    ushape = _user_shape(x.shape, granularity, ax, block)
    if symmetric is None:
        symmetric = not (fmt.is_integer and fmt.min_value == 0)
    if not symmetric and not fmt.is_integer:
        raise ValueError(f"symmetric=False needs an integer format; {fmt.name} takes a zero point of 0")
    if fmt.is_integer:
        qmin, qmax = int(fmt.min_value), int(fmt.max_value)
    if scale is not None:
        s3 = _check_scale(scale, gshape, ushape)
        if zero_point is None:
            z3 = np.zeros(gshape, dtype=np.int64)
        else:
            if not fmt.is_integer:
                raise ValueError(f"zero_point applies to integer formats; {fmt.name} has none")
            z = np.asarray(zero_point)
            if z.dtype.kind not in "iu":
                raise TypeError(f"zero_point must be integers, got dtype {z.dtype}")
            if z.size != s3.size:
                raise ValueError(f"zero_point has {z.size} elements; expected {s3.size} (as scale)")
            if z.size and (z.min() < qmin or z.max() > qmax):
                raise ValueError(f"zero_point outside the code range [{qmin}, {qmax}] of {fmt.name}")
            z3 = z.astype(np.int64).reshape(gshape)
    else:
        if zero_point is not None:
            raise ValueError("zero_point without scale: pass both, or neither to calibrate")
        finite_table = _group_table(x.reshape(view), blk, gshape)
        if np.isinf(finite_table).any() or (np.isnan(x).any()):
            if nonfinite == "raise" or not fmt.is_integer:
                raise ValueError("x contains NaN or inf; calibration needs finite data "
                                 "(pass an explicit scale, or clean x)")
            finite_table = np.where(np.isfinite(finite_table), finite_table, np.nan)
        from . import calibrate
        lo, hi = calibrate.group_range(finite_table, calibration, symmetric=symmetric, fmt=fmt,
                                       **calibration_options)
        s3, z3 = _scales_from_range(lo, hi, fmt, symmetric, scale_dtype)
        s3 = s3.reshape(gshape)
        z3 = z3.reshape(gshape)
    if fmt.is_integer:
        codes = encode_affine(x, s3, z3, blk, qmin, qmax, view=view, rounding=rounding,
                              seed=seed, compat=compat, overflow=overflow, nonfinite=nonfinite,
                              dtype=fmt.code_dtype)
    else:
        y = (x.reshape(view).astype(np.float64) / _expand(s3, view, blk)).reshape(x.shape)
        kw = {} if overflow is Overflow.SATURATE else {"overflow": overflow}
        codes = fmt.encode(y, Rounding.NEAREST_EVEN if rounding is None else rounding,
                           seed=seed, **kw)
    return QTensor(codes=codes, scale=s3.reshape(ushape), zero_point=z3.reshape(ushape),
                   fmt=fmt, granularity=granularity, axis=ax, block_size=block)


def _scales_from_range(lo, hi, fmt, symmetric, scale_dtype):
    lo = np.minimum(np.asarray(lo, dtype=np.float64), 0.0)
    hi = np.maximum(np.asarray(hi, dtype=np.float64), 0.0)
    if symmetric:
        amax = np.maximum(-lo, hi)
        s = amax / (float(fmt.max_value) if fmt.is_integer else fmt.calibration_max)
        z = np.zeros(s.shape, dtype=np.int64)
    else:
        qmin, qmax = int(fmt.min_value), int(fmt.max_value)
        s = (hi - lo) / float(qmax - qmin)
    s = np.asarray(s, dtype=scale_dtype).astype(np.float64)
    s = np.where(s > 0, s, 1.0)
    if not symmetric:
        z = np.clip(qmin - np.rint(lo / s), qmin, qmax).astype(np.int64)
    return s, z

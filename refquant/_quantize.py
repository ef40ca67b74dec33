"""Scaling: granularity x calibration x rounding -> QTensor.

``quantize(x, fmt, ...)`` chooses a scale (and, for asymmetric integer quantization, a
zero point) per tensor, per slice along an axis, or per block of B consecutive elements
along an axis (ONNX opset 21 blocked quantization: the scale has x's shape with
ceil(D / B) along the axis), then encodes x / s with the format.
"""
from __future__ import annotations

import inspect
import math

from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from ._groups import (GRANULARITIES, check_block_size as _check_block_size, group_broadcast,
                      group_table as _group_table, user_shape as _user_shape,
                      view as _view)
from ._interop import to_numpy
from ._validate import as_real_array, norm_axis as _norm_axis
from .integer._affine import check_compat, compat_plan, encode_affine
from .qtensor import QTensor
from ._validate import check_int, check_real
from .protocol import Format
from .registry import format as _format
from .modes import Overflow, Rounding, as_overflow

__all__ = ["quantize"]

SCALE_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _check_scale_dtype(scale_dtype):
    """np.dtype of ``scale_dtype`` (None: float32), one of ``SCALE_DTYPES``."""
    if scale_dtype is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(scale_dtype)
    except TypeError:
        raise TypeError("scale_dtype must be a NumPy float dtype (float16, float32 or "
                        f"float64), got {scale_dtype!r}") from None
    if dt not in SCALE_DTYPES:
        raise ValueError(f"scale_dtype must be float16, float32 or float64, got {dt}")
    return dt


def _check_scale(scale, gshape, user_shape, param="scale"):
    s = np.asarray(scale)
    if s.dtype.kind not in "iuf":
        raise TypeError(f"{param} must be real numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if s.size != math.prod(gshape) or (s.ndim and s.shape not in (user_shape, (s.size,))):
        raise ValueError(f"{param} has shape {s.shape}; expected {user_shape} for this granularity")
    if s.size and not (s.min() > 0 and s.max() < np.inf):  # NaN fails both
        raise ValueError(f"{param} must be positive and finite")
    return s.reshape(gshape)


def quantize(x: npt.ArrayLike, fmt: Format | str, *, granularity: str | None = None,
             axis: int | None = None, block_size: int | None = None,
             calibration: str | Callable[..., Any] | None = None,
             rounding: Rounding | str | None = None, symmetric: bool | None = None,
             scale: npt.ArrayLike | None = None, zero_point: npt.ArrayLike | None = None,
             compat: str = "exact", overflow: Overflow | str = Overflow.SATURATE,
             nonfinite: str | None = None, seed: int = 0, scale_dtype: npt.DTypeLike = None,
             quant_min: int | None = None, quant_max: int | None = None,
             eps: float | None = None, **calibration_options: Any) -> QTensor:
    """Quantize x with ``fmt`` under a scale per tensor, per axis or per block.

    Parameters
    ----------
    x : array_like of reals.
    fmt : Format or format name (``"int8"``, ``"e4m3"``, ``"mxfp4"``, ...).
    granularity : "tensor" (default) | "axis" (one scale per index along ``axis``, e.g.
        output channels; ``axis`` default 0) | "block" (one scale per ``block_size``
        consecutive elements along ``axis``; the last block may be short, as in ONNX
        opset 21; a block longer than the axis is one block per row). ``axis`` with
        "tensor" and ``block_size`` without "block" are usage errors (ValueError).
    calibration : name of a ``refquant.calibrate`` method ("minmax", the default,
        "percentile", "entropy", "mse", "aciq_laplace", "aciq_gaussian") or a callable
        ``f(groups, symmetric, fmt, **options) -> (lo, hi)`` over the rows of a 2-D table
        of groups (NaN pads short blocks); ``**calibration_options`` go to it (an option
        the method does not take is a ValueError). With an explicit ``scale``,
        calibration, its options, ``symmetric`` and ``scale_dtype`` do not apply
        (ValueError when given).
    symmetric : zero point 0 and s = amax / qmax. Default: True except for unsigned
        integer formats and int1 (codes {-1, 0}: no positive code to map amax to), which
        default to asymmetric s = (hi - lo) / (qmax - qmin), z = qmin -
        round_half_even(lo / s) with [lo, hi] widened to contain 0 (so 0 is exactly
        representable). Non-integer formats are always symmetric
        (s = amax / fmt.calibration_max). symmetric=True with a format whose largest value
        is not positive is a ValueError. A group whose range is 0 gets s = 1.
    scale, zero_point : explicit values override calibration (shape () / (D,) / the
        blocked shape); scale must be positive and finite real numbers (used as given,
        in float64), zero points integers within the codes.
    rounding : a ``Rounding``; default the compat mode's rule (half to even; TFLite
        half away from zero).
    compat : how round(x / s) + z is formed for integer formats; the peers differ on some
        exact ties and near-ties. Non-integer formats form x / s in float64 and encode it
        (exact whenever the scale is a power of two, as in MX formats) and take "exact"
        only. With s32 = float32(s), inv = float32(1 / s32), z32 = float32(z), "round" the
        ``rounding`` mode (default half to even, as the peers) and each float32 operation
        rounded once, half to even, q the code before clamping and "dequantized" what
        the peer's dequantization computes, in float32:

        ===================  ============  ===============================================
        compat               granularity   reproduces: q; dequantized
        ===================  ============  ===============================================
        "exact" (default)    all           no peer: round(x / s) + z on the real quotient
        "onnx"               all           onnxruntime QuantizeLinear:
                                           round(float32(x / s)) + z
        "tflite"             all           TFLite: as "onnx", half away from zero
        "torch_fake_quant"   tensor, axis  torch.fake_quantize_per_tensor_affine /
                                           fake_quantize_per_channel_affine: rule F
                                           (float64 x: round(float64(x * inv)) + z);
                                           (q - z) * s32. "torch" is an alias.
        "torch_per_tensor"   tensor        torch.quantize_per_tensor: uint8, int8 (quint8,
                                           qint8) rule A; int32 (qint32) rule B; uint4,
                                           uint2 (quint4x2, quint2x4) rule F;
                                           Tensor.dequantize: (q - z) * s32
        "torch_per_channel"  axis          torch.quantize_per_channel: uint8, int8, int32
                                           (quint8, qint8, qint32) rule B;
                                           Tensor.dequantize: (q - z) * s
        "torch_decomposed"   tensor        torch.ops.quantized_decomposed.
                                           quantize_per_tensor: rule F with
                                           inv = float32(float64(1.0 / s));
                                           dequantize_per_tensor: (q - z) * s32
        "torch_decomposed"   axis          quantized_decomposed.quantize_per_channel:
                                           float32 scales rule F, float64 scales
                                           round(float64(x * float64(1.0 / s))) + z;
                                           dequantize_per_channel: (q - z) * s
        ===================  ============  ===============================================

        Rule A: round(float32(x * inv + z32)), x * inv + z32 rounded once (a fused
        multiply-add, fbgemm's AVX2 kernel on x86-64; CPUs without AVX2 and ARM builds
        compute differently). Rule B: round(float32(float32(x * inv) + z32)). Rule F:
        float32(round(float32(x * inv)) + z32).

        The torch names keep in the QTensor the scale the op dequantizes with (s32, or s
        as given where torch dequantizes with the float64 scale), so that
        ``QTensor.dequantize(np.float32)`` is torch's dequantized tensor bit for bit
        (for |q - z| < 2^24). Per-channel decomposed scales are float32 or float64 by the
        dtype of ``scale`` (Python floats: float64; calibrated: ``scale_dtype``).
        torch.quantize_per_* and the decomposed ops take float32 tensors: float64 x must
        hold float32 values (ValueError otherwise); fake quantization also runs on float64
        tensors. A name used outside its granularities or formats is a ValueError, as is
        a scale whose float32 value or reciprocal overflows or vanishes. Checked bit for
        bit against torch 2.13 (CPU) in tests/oracles/test_torch_*.py.

        Calibrated scales under a torch name (no ``scale`` given) are those of torch.ao's
        ``MinMaxObserver`` (per tensor) and ``PerChannelMinMaxObserver`` (per axis) for
        the format's dtype (int8: qint8, uint8: quint8, int32: qint32, uint16: uint16),
        computed from the calibrated [lo, hi] (``calibration``, default "minmax": exactly
        the observers' range) by ``refquant.calibrate.torch_qparams``, all in float32:
        ``symmetric`` picks the qscheme, default False (affine, the observers' default);
        symmetric scale = max(amax / ((quant_max - quant_min) / 2), eps), zero point 0
        for signed formats and 2^(bits-1) for unsigned ones (128 for uint8), or
        (quant_min + quant_max) // 2 with a custom range; affine scale =
        max(float32(hi - lo) / (quant_max - quant_min), eps), zero point = clamp(quant_min
        - round_half_even(lo / scale), quant_min, quant_max); an all-zero range gives eps
        and zero point quant_min (0 for symmetric signed formats). The scales are float32
        values (``scale_dtype``, if given, must be float32).
    quant_min, quant_max : the observers' custom quantization range (torch names only;
        both or neither): integers with quant_min <= 0 <= quant_max, quant_min <
        quant_max, within the format's codes (default: the format's range, e.g. [-128,
        127] for int8). The calibration uses it as the observers do; the codes are clamped
        to it under "torch", "torch_fake_quant" and "torch_decomposed" (whose ops take
        quant_min / quant_max), while torch.quantize_per_tensor / _per_channel
        ("torch_per_tensor", "torch_per_channel") clamp to the format's range. An explicit
        zero point must lie within it; overflow must be SATURATE.
    eps : the observers' smallest scale (torch names with calibrated scales only; default
        2^-23 = torch.finfo(torch.float32).eps), rounded to float32; a positive real.
    overflow : SATURATE (default) | WRAP | RAISE for integer codes (WRAP: the exactly
        rounded integer modulo 2^bits, at any magnitude). Non-integer formats: SATURATE
        clamps x / s to [fmt.min, fmt.max] before encoding, so values beyond
        the range (clipped by a calibration, or beyond float64) get the codes of ±max
        (of fmt.min for unsigned formats) whatever the format's own default overflow
        (the IEEE-like "e4m3" would give inf, "e4m3fn" NaN); NaN and ±inf x follow the
        format's rule for them (floats: NaN -> NaN, ±inf -> ±max under SATURATE; posits:
        NaR). Other policies go to the format's encode (floats: RAISE, INF, NAN); a
        format whose encode always saturates (posits, power-of-two formats) takes
        SATURATE only.
    nonfinite : "raise" (the default for integer formats, ValueError) or "saturate"
        (NaN -> zero point, ±inf -> range ends) for integer and fixed-point formats;
        formats with their own NaN/inf rules refuse it (ValueError).
    seed : for Rounding.STOCHASTIC (counter-based, per flat element index); an int in
        [-2^63, 2^63).
    scale_dtype : float16, float32 (default, as peers store scales) or float64: the dtype
        the calibrated scales are rounded to (to nearest). A scale that this rounding
        would turn into 0 or inf (one outside the finite range of scale_dtype) is a
        ValueError naming the scale and the range; a scale in the subnormal range keeps
        fewer significant bits. QTensor.scale holds the rounded values as float64.

    Returns a QTensor whose codes have x's shape (0-d included). Block formats
    (``fmt.is_block``, e.g. MX, NVFP4) carry their own scaling rule and are delegated to
    ``fmt.quantize_tensor``: ``axis`` (default -1), ``rounding``, ``overflow``
    (SATURATE) and ``seed`` apply; ``scale``, ``zero_point``, ``granularity`` other than
    "block", another ``block_size``, a ``calibration`` other than "minmax",
    ``symmetric=False``, ``nonfinite``, ``scale_dtype`` and calibration options are
    usage errors (ValueError naming the argument and why).
    """
    fmt = _format(fmt)
    x_in = np.asarray(to_numpy(x))  # other libraries' arrays: refquant._interop's rule
    x = as_real_array(x_in)
    check_compat(compat)
    ov = as_overflow(overflow)
    seed = check_int(seed, "seed", -(1 << 63), (1 << 63) - 1)
    if symmetric is not None and not isinstance(symmetric, (bool, np.bool_)):
        raise TypeError(f"symmetric must be True, False or None, got {symmetric!r}")
    if scale is not None and np.asarray(scale).dtype.kind not in "iuf":
        raise TypeError(f"scale must be real numbers, got dtype {np.asarray(scale).dtype}")
    if not fmt.is_integer:
        compat_plan(compat, fmt, granularity, x, None)  # "exact" only
    if fmt.is_block:
        _check_block_arguments(fmt, granularity=granularity, block_size=block_size,
                               calibration=calibration, symmetric=symmetric, scale=scale,
                               zero_point=zero_point, nonfinite=nonfinite,
                               scale_dtype=scale_dtype, options=calibration_options)
        return fmt.quantize_tensor(x, axis=-1 if axis is None else axis, rounding=rounding,
                                   overflow=ov, seed=seed)
    granularity = "tensor" if granularity is None else granularity
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity={granularity!r}; allowed: {', '.join(GRANULARITIES)}")
    if granularity == "tensor":
        if axis is not None:
            raise ValueError(f"axis applies to granularity 'axis' or 'block'; got axis={axis!r} "
                             "with granularity='tensor'")
        ax = None
    else:
        if x.ndim == 0:
            raise ValueError(f"granularity={granularity!r} needs an array with at least one axis")
        ax = _norm_axis(0 if axis is None else axis, x.ndim)
    block = None
    if granularity == "block":
        block = _check_block_size(block_size)
    elif block_size is not None:
        raise ValueError(f"block_size applies to granularity='block'; got block_size={block_size!r} "
                         f"with granularity={granularity!r}")
    if scale is not None:
        if scale_dtype is not None:
            raise ValueError("scale_dtype applies to calibrated scales; an explicit scale is "
                             "used as given (pass one of them)")
        for name, value in (("calibration", calibration), ("symmetric", symmetric)):
            if value is not None:
                raise ValueError(f"{name} does not apply with an explicit scale (the scale and "
                                 "zero_point given are used as they are)")
        for name in calibration_options:
            raise ValueError(f"{name} does not apply with an explicit scale (it is a "
                             "calibration option)")
    torch_cal = fmt.is_integer and compat.startswith("torch") and scale is None
    qrange = _check_torch_range(fmt, compat, quant_min, quant_max, eps, scale, ov,
                                scale_dtype, torch_cal)
    sdt = _check_scale_dtype(scale_dtype)
    if not fmt.is_integer:
        params = inspect.signature(fmt.encode).parameters
        if nonfinite is not None and "nonfinite" not in params:
            raise ValueError(f"nonfinite={nonfinite!r} does not apply to {fmt.name}: it maps "
                             "NaN and inf by its own rules (see its encode)")
        if ov is not Overflow.SATURATE and "overflow" not in params:
            raise ValueError(f"overflow={ov.name} does not apply to {fmt.name}: its encode "
                             "always saturates; allowed: SATURATE")
    if fmt.is_integer:
        sdtype = np.asarray(scale).dtype if scale is not None else sdt
        plan, x = compat_plan(compat, fmt, granularity, x, sdtype)
    view, blk, gshape = _view(x.shape, granularity, ax, block)
    ushape = _user_shape(x.shape, granularity, ax, block)
    if symmetric is None:
        # torch.ao's observers default to the affine qschemes
        symmetric = False if torch_cal else not (fmt.is_integer and (fmt.min == 0 or fmt.max <= 0))
    if not symmetric and not fmt.is_integer:
        raise ValueError(f"symmetric=False needs an integer format; {fmt.name} takes a zero point of 0")
    if fmt.is_integer:
        qmin, qmax = int(fmt.min), int(fmt.max)
        # the codes' clamp: the custom range where the torch op takes one
        clamp = qrange if qrange is not None and compat not in (
            "torch_per_tensor", "torch_per_channel") else (qmin, qmax)
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
            if z.size and qrange is not None and (z.min() < qrange[0] or z.max() > qrange[1]):
                raise ValueError(f"zero_point outside [quant_min, quant_max] = "
                                 f"[{qrange[0]}, {qrange[1]}]")
            z3 = z.astype(np.int64).reshape(gshape)
    else:
        if zero_point is not None:
            raise ValueError("zero_point without scale: pass both, or neither to calibrate")
        finite_table = _group_table(x.reshape(view), blk, gshape)
        if not np.isfinite(x).all():  # one pass over x (the table's NaN are padding)
            if nonfinite in (None, "raise") or not fmt.is_integer:
                raise ValueError("x contains NaN or inf; calibration needs finite data "
                                 "(pass an explicit scale, or clean x)")
            finite_table = np.where(np.isfinite(finite_table), finite_table, np.nan)
        from . import calibrate
        lo, hi = calibrate.group_range(finite_table, "minmax" if calibration is None else calibration,
                                       symmetric=symmetric, fmt=fmt, **calibration_options)
        if torch_cal:
            s3, z3 = _torch_scales(lo, hi, fmt, symmetric, qrange, eps, x.size)
        else:
            s3, z3 = _scales_from_range(lo, hi, fmt, symmetric, sdt)
        s3 = s3.reshape(gshape)
        z3 = z3.reshape(gshape)
    if fmt.is_integer:
        s_kernel, s3 = plan.scales(s3)  # the scale the rule computes with, the one kept
        codes = encode_affine(x_in if plan.code == 0 else x, s_kernel, z3, blk, *clamp,
                              view=view, rounding=rounding, seed=seed, compat=compat,
                              overflow=ov, nonfinite="raise" if nonfinite is None else nonfinite,
                              dtype=fmt.code_dtype, kernel_compat=plan.code)
    else:
        with np.errstate(over="ignore", under="ignore"):
            y = x.reshape(view).astype(np.float64) / group_broadcast(s3, view, blk)
        y = y.reshape(x.shape)
        kw = {"seed": seed}
        if ov is Overflow.SATURATE:
            # clamp to the format's range: codes of ±max (fmt.min for unsigned formats)
            # whatever the format's own overflow default; inf / NaN x keep the format's rule
            y = np.where(np.isfinite(x), np.clip(y, fmt.min, fmt.max), y)
        if "overflow" in params:
            kw["overflow"] = ov
        if nonfinite is not None:
            kw["nonfinite"] = nonfinite
        codes = fmt.encode(y, Rounding.NEAREST_EVEN if rounding is None else rounding, **kw)
    return QTensor(codes=codes, scale=s3.reshape(ushape), zero_point=z3.reshape(ushape),
                   fmt=fmt, granularity=granularity, axis=ax, block_size=block)


def _check_block_arguments(fmt, *, granularity, block_size, calibration, symmetric, scale,
                           zero_point, nonfinite, scale_dtype, options):
    """ValueError for each ``quantize`` argument a block format's specification decides
    (named, with the reason); ``compat`` is checked with the other non-integer formats."""
    name = fmt.name
    why = None
    if scale is not None:
        why = ("scale", "a block format derives each block's scale from the block's largest "
               "magnitude, as its specification says")
    elif zero_point is not None:
        why = ("zero_point", "block formats are symmetric (zero point 0)")
    elif granularity not in (None, "block"):
        why = (f"granularity={granularity!r}", f"it scales blocks of {fmt.block_size} "
               "consecutive elements along axis (leave granularity unset, or 'block')")
    elif block_size is not None and block_size != fmt.block_size:
        why = (f"block_size={block_size!r}", f"its blocks hold {fmt.block_size} elements")
    elif calibration not in (None, "minmax"):
        why = (f"calibration={calibration!r}", "each block's scale comes from the block's "
               "largest magnitude (the 'minmax' rule)")
    elif symmetric is not None and not symmetric:
        why = ("symmetric=False", "block formats have no zero point")
    elif nonfinite is not None:
        why = (f"nonfinite={nonfinite!r}", "it maps NaN and inf by its own rules")
    elif scale_dtype is not None:
        why = ("scale_dtype", f"its scales are {fmt.scale_format.name} values")
    elif options:
        why = (sorted(options)[0], "block formats take no calibration options")
    if why is not None:
        raise ValueError(f"{why[0]} does not apply to {name}: {why[1]}")


def _check_torch_range(fmt, compat, quant_min, quant_max, eps, scale, ov, scale_dtype,
                       torch_cal):
    """(quant_min, quant_max) as ints, or None when not given, after the rules of
    ``quantize``'s quant_min / quant_max / eps (ValueError / TypeError naming the
    argument)."""
    if torch_cal and scale_dtype is not None and np.dtype(scale_dtype) != np.float32:
        raise ValueError("scale_dtype does not apply to torch observers' scales, which are "
                         "float32")
    given = [n for n, v in (("quant_min", quant_min), ("quant_max", quant_max), ("eps", eps))
             if v is not None]
    if not given:
        return None
    if not (fmt.is_integer and compat.startswith("torch")):
        raise ValueError(f"{given[0]} applies to the torch compat names (torch.ao observers' "
                         f"parameters) with integer formats; got compat={compat!r}, "
                         f"{fmt.name}")
    if eps is not None:
        if not torch_cal:
            raise ValueError("eps applies to calibrated scales (the observers' smallest "
                             "scale); an explicit scale is used as given")
        e = check_real(eps, "eps", finite=True)
        if not (e > 0 and np.float32(e) > 0):
            raise ValueError(f"eps must be positive in float32, got {eps!r}")
    if quant_min is None and quant_max is None:
        return None
    if quant_min is None or quant_max is None:
        raise ValueError("quant_min and quant_max go together (the observers use a custom "
                         "range only when both are given)")
    lo_c, hi_c = int(fmt.min), int(fmt.max)
    qlo = check_int(quant_min, "quant_min", lo_c, 0)
    qhi = check_int(quant_max, "quant_max", 0, hi_c)
    if not qlo < qhi:
        raise ValueError(f"quant_min must be below quant_max, got [{qlo}, {qhi}]")
    if scale is not None and compat in ("torch_per_tensor", "torch_per_channel"):
        raise ValueError(f"quant_min and quant_max do not apply to compat={compat!r} with an "
                         "explicit scale: torch.quantize_per_tensor / _per_channel clamp to "
                         f"the dtype's range [{lo_c}, {hi_c}]")
    if ov is not Overflow.SATURATE:
        raise ValueError(f"overflow={ov.name} does not apply with quant_min / quant_max "
                         "(torch clamps to the range); allowed: SATURATE")
    return qlo, qhi


def _torch_scales(lo, hi, fmt, symmetric, qrange, eps, size):
    """(scale, zero point) per group as torch.ao's min/max observers compute them
    (``calibrate.torch_qparams``); an empty x (never observed) gets scale 1, zero point 0."""
    from .calibrate import TORCH_EPS, torch_qparams
    qmin, qmax = (int(fmt.min), int(fmt.max)) if qrange is None else qrange
    if fmt.min < 0:
        zsym = 0
    elif qrange is not None:
        zsym = (qmin + qmax) // 2
    else:
        zsym = 1 << (fmt.bits - 1)
    if size == 0:
        shape = np.shape(lo)
        return np.ones(shape), np.zeros(shape, dtype=np.int64)
    return torch_qparams(lo, hi, symmetric=symmetric, quant_min=qmin, quant_max=qmax,
                         symmetric_zero_point=zsym, eps=TORCH_EPS if eps is None else eps)


def _scales_from_range(lo, hi, fmt, symmetric, scale_dtype):
    """(scale, zero point) per group from the calibrated [lo, hi] (widened to contain 0):
    the exact float64 scale rounded to nearest in ``scale_dtype``; ValueError where that
    rounding gives 0 or inf for a group whose range is not 0 (which gets s = 1)."""
    lo = np.minimum(np.asarray(lo, dtype=np.float64), 0.0)
    hi = np.maximum(np.asarray(hi, dtype=np.float64), 0.0)
    if symmetric:
        target = float(fmt.max) if fmt.is_integer else float(fmt.calibration_max)
        if not target > 0:
            what = "symmetric=True" if fmt.is_integer else "symmetric scaling (s = amax / max)"
            raise ValueError(f"{what} needs a format with a positive largest value; {fmt.name} "
                             f"holds [{fmt.min:g}, {fmt.max:g}]"
                             + (" (pass symmetric=False)" if fmt.is_integer else ""))
        span = np.maximum(-lo, hi)
        z = np.zeros(span.shape, dtype=np.int64)
    else:
        qmin, qmax = int(fmt.min), int(fmt.max)
        target = float(qmax - qmin)
        span = hi - lo
    dt = np.dtype(scale_dtype)
    with np.errstate(over="ignore", under="ignore"):
        exact = span / target
        s = np.asarray(exact, dtype=dt).astype(np.float64)
    bad = (span > 0) & ~((s > 0) & np.isfinite(s))
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        fi = np.finfo(dt)
        what = "amax" if symmetric else "hi - lo"
        hint = ("pass scale_dtype=np.float64" if dt != np.float64
                else "rescale x") + " or an explicit scale"
        raise ValueError(f"scale {what} / {target:g} = {float(exact.reshape(-1)[i]):.6g} of group "
                         f"{i} ({what} = {float(span.reshape(-1)[i]):.6g}) is outside the finite "
                         f"range of {dt} scales [{float(fi.smallest_subnormal):.8g}, "
                         f"{float(fi.max):.8g}]: it would round to "
                         f"{'inf' if float(exact.reshape(-1)[i]) > 1 else '0'}; {hint}")
    s = np.where(s > 0, s, 1.0)
    if not symmetric:
        z = np.clip(qmin - np.rint(lo / s), qmin, qmax).astype(np.int64)
    return s, z

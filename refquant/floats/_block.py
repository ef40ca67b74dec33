"""Block-scaled formats: OCP Microscaling (MX) v1.0 and NVIDIA NVFP4, an element format x
a block of ``block_size`` elements along one axis x a scale format."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._groups import view as _group_view
from .._lazy import kernels
from .._validate import as_real_array, check_int, native, norm_axis
from ..modes import Overflow, Rounding, as_overflow, as_rounding
from ..protocol import Format
from ..qtensor import QTensor
from ..registry import format as _format
from ..registry import register
from ._float import PAR_MIN_SIZE, FloatFormat, KernelParams


_k = kernels("floats")

__all__ = ["BlockFormat", "MX_EMAX", "nvfp4_tensor_scale"]

#: The largest block_size a BlockFormat accepts.
MAX_BLOCK_SIZE = 1 << 24

#: OCP MX v1.0: the element formats and their emax_elem (the element format's ``emax``;
#: 0 for MXINT8), subtracted from floor(log2 amax) to form the shared exponent.
MX_EMAX = {"e5m2": 15, "e4m3fn": 8, "e3m2": 4, "e2m3": 2, "e2m1": 2, "q1.6": 0}
#: MX integer elements: (fraction bits, largest |code|). MXINT8 elements are k / 64 with
#: |k| <= 127 (the symmetric range: -128 is not produced).
_MX_INT = {"q1.6": (6, 127)}
# mx_quantize_rows' element kinds, and the float arguments an integer element leaves unused
_MX_FLOAT_ELEMENT, _MX_INT_ELEMENT = 0, 1
_NO_FLOAT = KernelParams(exp_bits=0, man_bits=0, bias=0, signed=0, subnormals=0, tmax=0,
                         has_inf=0, unsigned_zero=0, nan_code=-1, nan_signed=0)
_SEED_MIN, _SEED_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True)
class BlockFormat(Format):
    """An element format, a block of ``block_size`` consecutive elements along one axis,
    and a scale format (``label`` is the registered name).

    ``kind`` "mx": OCP MX v1.0, an E8M0 power-of-two scale per block; "nvfp4": E2M1
    elements, an E4M3 scale per block and a float32 scale per tensor.
    ``encode`` / ``decode`` / ``values`` / ``max`` / ``min`` are the element format's
    (scale-free); ``quantize(x, axis=-1, rounding=None)`` and ``quantize_tensor`` do the
    block scaling: ``refquant.quantize(x, refquant.format("mxfp4"))`` returns a QTensor
    whose ``codes`` are element codes (x's shape), ``scale`` the decoded scale of every
    block as float64 (x's shape with ceil(D / block_size) along ``axis``, default the
    last axis), and ``extra["scale_codes"]`` the scale codes (uint8, same shape);
    ``dequantize()`` gives decode(codes) * scale, exactly.

    OCP MX v1.0 (section 6.3): blocks of k = 32 elements share X = 2^shared_exp stored
    as E8M0 (bias 127, 0xFF = NaN, no zero);

        shared_exp = floor(log2(max_i |V_i|)) - element_emax     (exact, via frexp)
        P_i = quantize(V_i / X)   round to nearest even, values beyond the element's max
                                  clamped to ±max (never inf or NaN)

    element_emax = 15 (E5M2), 8 (E4M3), 4 (E3M2), 2 (E2M3), 2 (E2M1), 0 (INT8). A shared
    exponent below -127 is clamped to -127 (an all-zero block gets X = 2^-127 and zero
    elements); above 127 (float64 inputs only) the block's scale is NaN. A block
    containing NaN or ±inf gets the NaN scale (0xFF); its element codes are 0 and it
    dequantizes to NaN (table below). MXINT8 elements are two's-complement integers k
    with value k / 64, |k| <= 127 (the symmetric range; the code -128 is not produced).
    ``rounding=Rounding.NEAREST_AWAY`` reproduces Microsoft's reference
    (microsoft/microxcaling, mx/mx_ops.py, default "nearest" = ties away from zero);
    every other Rounding mode, including STOCHASTIC, applies to the elements too.

    NVFP4 (the recipe of NVIDIA Transformer Engine's documentation "NVFP4": E2M1
    elements, one E4M3 scale per 16 consecutive elements, one float32 scale per tensor),
    written with decode (multiplicative) scales so that every step is exact:

        s_t  = float32(amax_tensor / (448 * 6))   (nearest float32, amax over the finite
                                                    elements; 1 for an all-zero tensor;
                                                    the smallest float32 if it underflows,
                                                    the largest float32 if it overflows)
        s_b  = E4M3(amax_block / (6 * s_t))        round to nearest even, saturated to 448
        P_i  = E2M1(V_i / (s_b * s_t))             rounded by ``rounding``, saturated to ±6
        value_i = decode(P_i) * s_b * s_t          (QTensor.scale holds s_b * s_t, exact)

    Every quotient is rounded once from the real value. Transformer Engine forms the same
    scales as s_global = 448 * 6 / amax (encode direction) and multiplies by float32
    reciprocals, so its float32 intermediate roundings can move a code by one on rare
    ties; this is the exact-arithmetic statement of the recipe. A block whose
    amax / (6 * s_t) rounds to E4M3 zero (it is at most 2^-10) gets s_b = 0, element
    codes 0 and scale 0.

    Non-finite and extreme inputs. Every block format's output decodes with the same
    format, for any finite, infinite or NaN input; ``quantize_tensor`` never raises for
    them:

        format                     block holding NaN or +-inf      finite block beyond the range
        -------------------------  ------------------------------  ------------------------------
        mxfp8_e4m3, mxfp8_e5m2,    scale code 0xFF (the E8M0 NaN,  shared_exp > 127 (a float64
        mxfp6_e3m2, mxfp6_e2m3,    OCP MX v1.0 6.3), element       amax >= 2^(128 + element_emax)):
        mxfp4, mxint8              codes 0; every element of the   the same NaN block; otherwise
                                   block dequantizes to NaN        elements clamp to +-max
        nvfp4                      block scale code 0x7F (the      s_t saturates at the largest
                                   E4M3 NaN), scale NaN, element   float32, s_b at 448 and the
                                   codes 0; the block dequantizes  elements at +-6 (E2M1 has no
                                   to NaN; s_t ignores the block's inf or NaN): values clip to
                                   NaN/inf elements                +-6 * 448 * s_t
    """

    element: Format
    block_size: int
    scale_format: FloatFormat
    kind: str
    label: str
    is_block = True

    def __post_init__(self) -> None:
        if self.kind not in ("mx", "nvfp4"):
            raise ValueError(f"kind={self.kind!r}; allowed 'mx', 'nvfp4'")
        if not isinstance(self.element, Format):
            raise TypeError(f"element must be a Format, got {type(self.element).__name__}")
        if not isinstance(self.scale_format, FloatFormat):
            raise TypeError("scale_format must be a FloatFormat, got "
                            f"{type(self.scale_format).__name__}")
        object.__setattr__(self, "block_size",
                           check_int(self.block_size, "block_size", 1, MAX_BLOCK_SIZE))
        if self.kind == "mx" and self.element.name not in MX_EMAX:
            raise ValueError(f"element={self.element.name!r}; MX elements: {', '.join(MX_EMAX)}")

    @property
    def bits(self) -> int:
        """Width of an element code (scales excluded)."""
        return self.element.bits

    @property
    def name(self) -> str:
        """The registered name (``label``)."""
        return self.label

    @property
    def code_dtype(self) -> np.dtype:
        """The element format's code dtype."""
        return self.element.code_dtype

    @property
    def max(self) -> float:
        """The element format's largest finite value (scale-free)."""
        return self.element.max

    @property
    def min(self) -> float:
        """The element format's most negative finite value (scale-free)."""
        return self.element.min

    @property
    def element_emax(self) -> int:
        """OCP MX's emax_elem: the element exponent subtracted from floor(log2 amax) to
        form the shared exponent (``MX_EMAX``; the element format's ``emax``, 0 for
        MXINT8)."""
        return MX_EMAX[self.element.name]

    @property
    def emax_elem(self) -> int:
        """Deprecated name of ``element_emax``."""
        _deprecate.warn("BlockFormat.emax_elem", "element_emax")
        return self.element_emax

    def encode(self, x: npt.ArrayLike, rounding: Rounding | str = Rounding.NEAREST_EVEN,
               **options: Any) -> np.ndarray:
        """Element codes of x without scaling (the element format's encode); x's shape,
        () for a 0-d input."""
        return np.reshape(self.element.encode(x, as_rounding(rounding), **options), np.shape(x))

    def decode(self, codes: npt.ArrayLike) -> np.ndarray:
        """Element values of the codes without scaling (float64, exact; codes' shape)."""
        c = native(codes, "codes")
        return np.reshape(self.element.decode(c), c.shape)

    def codes(self) -> np.ndarray:
        """Every element code (the element format's ``codes()``)."""
        return self.element.codes()

    def values(self) -> np.ndarray:
        """Every finite element value (the element format's ``values()``)."""
        return self.element.values()

    def quantize(self, x: npt.ArrayLike,  # type: ignore[override]
                 rounding: Rounding | str | None = None, axis: int = -1,
                 seed: int = 0) -> np.ndarray:
        """quantize_tensor(x, axis, rounding, seed=seed).dequantize(): x rounded to the
        nearest block-scaled values (float64). A 0-d x is a block of one element and
        gives a 0-d result."""
        xa = as_real_array(x)
        if xa.ndim == 0:
            if axis not in (-1, 0):
                raise ValueError(f"axis={axis!r} out of range for a 0-d x; allowed -1, 0")
            return self.quantize_tensor(xa.reshape(1), rounding=rounding,
                                        seed=seed).dequantize().reshape(())
        return self.quantize_tensor(xa, axis=axis, rounding=rounding, seed=seed).dequantize()

    def quantize_tensor(self, x: npt.ArrayLike, axis: int = -1,
                        rounding: Rounding | str | None = None,
                        overflow: Overflow | str = Overflow.SATURATE, seed: int = 0,
                        tensor_scale: float | None = None) -> QTensor:
        """Block-quantize x along ``axis`` (class docstring for the exact rules) and
        return a QTensor (granularity "block"). ``rounding``: None = NEAREST_EVEN (the
        specs); NEAREST_AWAY = Microsoft's MX reference; any Rounding for the elements.
        ``overflow`` must be SATURATE (the specs clamp elements). ``tensor_scale``
        (NVFP4 only): a positive float32 value to use instead of amax / 2688."""
        xa = as_real_array(x)
        if xa.ndim == 0:
            raise ValueError(f"{self.name} quantizes arrays with at least one axis; got a scalar")
        ax = norm_axis(axis, xa.ndim)
        rnd = Rounding.NEAREST_EVEN if rounding is None else as_rounding(rounding)
        if as_overflow(overflow) != Overflow.SATURATE:
            raise ValueError(f"overflow={overflow!r}: {self.name} clamps elements to ±max "
                             "(OCP MX / NVFP4); allowed: SATURATE")
        seed = check_int(seed, "seed", _SEED_MIN, _SEED_MAX)
        view, blk, gshape = _group_view(xa.shape, "block", ax, self.block_size)
        ushape = tuple(-(-d // blk) if i == ax else d for i, d in enumerate(xa.shape))
        x3 = np.ascontiguousarray(xa).reshape(view)
        extra: dict[str, Any] = {"scale_format": self.scale_format.name}
        if self.kind == "mx":
            codes, scodes = self._mx_codes(x3, blk, gshape, rnd, seed)
            scale = self.scale_format.decode(scodes)
        else:
            st = nvfp4_tensor_scale(xa) if tensor_scale is None else _check_tensor_scale(
                tensor_scale)
            codes = np.empty(view, dtype=self.code_dtype)
            scodes = np.empty(gshape, dtype=np.uint8)
            scale = np.empty(gshape, dtype=np.float64)
            _k.nvfp4_quantize(x3, blk, st, int(rnd), seed, codes, scodes, scale)
            extra["tensor_scale"] = st
        extra["scale_codes"] = scodes.reshape(ushape)
        return QTensor(codes=codes.reshape(xa.shape), scale=scale.reshape(ushape),
                       zero_point=np.zeros(ushape, dtype=np.int64), fmt=self,
                       granularity="block", axis=ax, block_size=blk, extra=extra)

    def _mx_codes(self, x3: np.ndarray, block_size: int, gshape: tuple[int, int, int],
                  rnd: Rounding, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Element and scale codes of x3 viewed as (P, D, Q), blocks along D (OCP MX)."""
        e = self.element
        P, D, Q = x3.shape
        if (x3.dtype == np.float32 and isinstance(e, FloatFormat) and e.signed
                and e.subnormals and e.man_bits <= 22 and rnd == Rounding.NEAREST_EVEN):
            # one pass per block on the float32 bit patterns, both cores from PAR_MIN_SIZE on
            kp = e.kernel_params()
            codes = np.empty(x3.shape, dtype=self.code_dtype)
            scodes = np.empty(gshape, dtype=np.uint8)
            args = (block_size, kp.exp_bits, kp.man_bits, kp.bias, kp.unsigned_zero, kp.tmax,
                    self.element_emax)
            par = x3.size >= PAR_MIN_SIZE
            if Q == 1:
                x2, c2, s2 = x3.reshape(P, D), codes.reshape(P, D), scodes.reshape(P, -1)
                if par:
                    _k.mx_f32_rows_par(x2, x2.view(np.int32), *args, c2, s2)
                else:
                    _k.mx_f32_rows(x2, x2.view(np.int32), 0, s2.size, *args, c2, s2)
            elif par:
                _k.mx_f32_cols_par(x3, x3.view(np.int32), *args, codes, scodes)
            else:
                _k.mx_f32_cols(x3, x3.view(np.int32), 0, P * gshape[1], *args, codes, scodes)
            return codes, scodes
        # the row kernel blocks along rows: a non-last axis is transposed to the last one
        # (one contiguous copy) and the codes transposed back
        if Q == 1:
            xx = x3.reshape(P, D)
        else:
            xx = np.ascontiguousarray(x3.transpose(0, 2, 1)).reshape(P * Q, D)
        cc = np.empty((P * Q, D), dtype=self.code_dtype)
        ss = np.empty((P * Q, gshape[1]), dtype=np.uint8)
        xi = xx.view(np.int32) if xx.dtype == np.float32 else np.empty((0, 0), np.int32)
        if isinstance(e, FloatFormat):
            kind, params, (int_frac, int_max) = _MX_FLOAT_ELEMENT, e.kernel_params(), (0, 0)
        else:
            kind, params, (int_frac, int_max) = _MX_INT_ELEMENT, _NO_FLOAT, _MX_INT[e.name]
        _k.mx_quantize_rows(xx, xi, Q, block_size, kind, *params, self.element_emax,
                            int_frac, int_max, int(rnd), seed, cc, ss)
        if Q == 1:
            return cc.reshape(x3.shape), ss.reshape(gshape)
        return (np.ascontiguousarray(cc.reshape(P, Q, D).transpose(0, 2, 1)),
                np.ascontiguousarray(ss.reshape(P, Q, -1).transpose(0, 2, 1)))


def _check_tensor_scale(tensor_scale: Any) -> float:
    try:
        st = float(tensor_scale)
    except (TypeError, ValueError):
        raise TypeError(f"tensor_scale must be a real number, got "
                        f"{type(tensor_scale).__name__}") from None
    if not (np.isfinite(st) and st > 0 and float(np.float32(st)) == st):
        raise ValueError(f"tensor_scale={tensor_scale!r}; allowed a positive finite "
                         "float32 value")
    return st


def nvfp4_tensor_scale(x: npt.ArrayLike) -> float:
    """The NVFP4 float32 tensor scale of x (``BlockFormat``): float32(amax / 2688) rounded
    to nearest, amax = max |x| over the finite elements; 1 when that amax is 0 (or there
    is no finite element), the smallest float32 (2^-149) when the quotient underflows to
    0, the largest float32 when it rounds beyond float32's range."""
    a = np.abs(np.asarray(x, dtype=np.float64)).reshape(-1)
    a = a[np.isfinite(a)]
    amax = float(a.max()) if a.size else 0.0
    if amax == 0.0:
        return 1.0
    with np.errstate(over="ignore"):
        st = float(np.float32(amax / 2688.0))
    if st == 0.0:
        return float(np.float32(2.0 ** -149))
    if not np.isfinite(st):
        return float(np.finfo(np.float32).max)
    return st


# -- registered names ----------------------------------------------------------------------
_MX = {
    "mxfp8_e4m3": "e4m3fn",
    "mxfp8_e5m2": "e5m2",
    "mxfp6_e3m2": "e3m2",
    "mxfp6_e2m3": "e2m3",
    "mxfp4": "e2m1",
    "mxint8": "q1.6",
}


def _mx(name: str) -> BlockFormat:
    return BlockFormat(_format(_MX[name]), 32, _e8m0(), "mx", name)


def _e8m0() -> FloatFormat:
    f = _format("e8m0")
    assert isinstance(f, FloatFormat)
    return f


def _nvfp4() -> BlockFormat:
    scale = _format("e4m3fn")
    assert isinstance(scale, FloatFormat)
    return BlockFormat(_format("e2m1"), 16, scale, "nvfp4", "nvfp4")


for _name in _MX:
    register(_name, functools.partial(_mx, _name))
register("nvfp4", _nvfp4)

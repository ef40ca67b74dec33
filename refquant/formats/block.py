"""Block-scaled formats: OCP Microscaling (MX) v1.0 and NVIDIA NVFP4, and bit packing.

A block format is an element format x a block granularity x a scale format:
``refquant.quantize(x, refquant.format("mxfp4"))`` returns a QTensor whose ``codes`` are
element codes (x's shape), ``scale`` the decoded scale of every block as float64 (x's
shape with ceil(D / block) along ``axis``, default the last axis), and
``extra["scale_codes"]`` the scale codes (uint8, same shape); ``dequantize()`` gives
decode(codes) * scale, exactly.

OCP MX v1.0 (Open Compute Project, "OCP Microscaling Formats (MX) Specification" v1.0,
section 6.3): blocks of k = 32 elements share X = 2^shared_exp stored as E8M0 (bias 127,
0xFF = NaN, no zero);

    shared_exp = floor(log2(max_i |V_i|)) - emax_elem     (exact, via frexp)
    P_i = quantize(V_i / X)   round to nearest even, values beyond the element's max
                              clamped to ±max (never inf or NaN)

emax_elem = 15 (E5M2), 8 (E4M3), 4 (E3M2), 2 (E2M3), 2 (E2M1), 0 (INT8). A shared exponent
below -127 is clamped to -127 (an all-zero block gets X = 2^-127 and zero elements); above
127 (float64 inputs only) the block's scale is NaN. A block containing NaN or ±inf gets the
NaN scale (0xFF); its element codes are 0 and it dequantizes to NaN (table below). MXINT8
elements are two's-complement integers k with value k / 64, |k| <= 127 (the symmetric
range; the code -128 is not produced). ``rounding=Rounding.NEAREST_AWAY`` reproduces
Microsoft's reference (microsoft/microxcaling, mx/mx_ops.py, default "nearest" = ties away
from zero); every other Rounding mode, including STOCHASTIC, applies to the elements too.

NVFP4 (NVIDIA; the recipe of NVIDIA Transformer Engine's documentation "NVFP4": E2M1
elements, one E4M3 scale per 16 consecutive elements, one float32 scale per tensor),
written here with decode (multiplicative) scales so that every step is exact:

    s_t  = float32(amax_tensor / (448 * 6))   (nearest float32, amax over the finite
                                                elements; 1 for an all-zero tensor; the
                                                smallest float32 if it underflows, the
                                                largest float32 if it overflows)
    s_b  = E4M3(amax_block / (6 * s_t))        round to nearest even, saturated to 448
    P_i  = E2M1(V_i / (s_b * s_t))             rounded by ``rounding``, saturated to ±6
    value_i = decode(P_i) * s_b * s_t          (QTensor.scale holds s_b * s_t, exact)

Every quotient is rounded once from the real value. Transformer Engine forms the same
scales as s_global = 448 * 6 / amax (encode direction) and multiplies by float32
reciprocals, so its float32 intermediate roundings can move a code by one on rare ties;
this module is the exact-arithmetic statement of the recipe. A block whose amax / (6 * s_t)
rounds to E4M3 zero (it is at most 2^-10) gets s_b = 0, element codes 0 and scale 0.

Non-finite and extreme inputs. Every block format's output decodes with the same format,
for any finite, infinite or NaN input; ``quantize_tensor`` never raises for them:

    format                     block holding NaN or +-inf      finite block beyond the range
    -------------------------  ------------------------------  ------------------------------
    mxfp8_e4m3, mxfp8_e5m2,    scale code 0xFF (the E8M0 NaN,  shared_exp > 127 (a float64
    mxfp6_e3m2, mxfp6_e2m3,    OCP MX v1.0 6.3), element       amax >= 2^(128 + emax_elem)):
    mxfp4, mxint8              codes 0; every element of the   the same NaN block; otherwise
                               block dequantizes to NaN        elements clamp to +-max
    nvfp4                      block scale code 0x7F (the      s_t saturates at the largest
                               E4M3 NaN), scale NaN, element   float32, s_b at 448 and the
                               codes 0; the block dequantizes  elements at +-6 (E2M1 has no
                               to NaN; s_t ignores the block's inf or NaN): values clip to
                               NaN/inf elements                +-6 * 448 * s_t

Packing (``pack`` / ``unpack``): codes of ``bits`` bits form a little-endian bit stream:
code i occupies stream bits [i * bits, (i + 1) * bits), stream bit j is bit (j mod 8) of
byte j // 8. For 4-bit codes that is two codes per byte, the first in the low nibble; for
6-bit codes four codes fill three bytes (byte0 = c0 | c1 << 6, byte1 = c1 >> 2 | c2 << 4,
byte2 = c2 >> 4 | c3 << 2), as in the OCP MX packing of FP6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..affine import as_real_array
from .._lazy import kernels as _lazy_kernels
_k = _lazy_kernels("floats")
from ..modes import Overflow, Rounding, as_overflow, as_rounding
from .base import Format, format as _fmt, register, check_int, native_order
from .floats import FloatFormat
from .integer import FixedFormat

__all__ = ["BlockFormat", "pack", "unpack", "MX_EMAX"]

MAX_BLOCK_SIZE = 1 << 24   # the largest block_size a BlockFormat accepts

MX_EMAX = {"e5m2": 15, "e4m3fn": 8, "e3m2": 4, "e2m3": 2, "e2m1": 2, "q1.6": 0}


@dataclass(frozen=True)
class BlockFormat(Format):
    """An element format, a block size along one axis, and a scale format.

    kind "mx": OCP MX v1.0 (E8M0 power-of-two scale per block); kind "nvfp4": E2M1
    elements, E4M3 scale per block and a float32 tensor scale (module docstring).
    ``encode`` / ``decode`` / ``values`` are those of the element format (scale-free);
    ``quantize(x, axis=-1, rounding=None)`` and ``quantize_tensor`` do the block scaling.
    """

    element: Format
    block_size: int
    scale_format: FloatFormat
    kind: str
    label: str
    is_block = True

    def __post_init__(self):
        if self.kind not in ("mx", "nvfp4"):
            raise ValueError(f"kind={self.kind!r}; allowed 'mx', 'nvfp4'")
        if not isinstance(self.element, Format):
            raise TypeError(f"element must be a Format, got {type(self.element).__name__}")
        if not isinstance(self.scale_format, FloatFormat):
            raise TypeError("scale_format must be a FloatFormat, got "
                            f"{type(self.scale_format).__name__}")
        object.__setattr__(self, "block_size",
                           check_int(self.block_size, 1, MAX_BLOCK_SIZE, "block_size"))
        if self.kind == "mx" and self.element.name not in MX_EMAX:
            raise ValueError(f"element={self.element.name!r}; MX elements: {', '.join(MX_EMAX)}")

    @property
    def bits(self) -> int:
        return self.element.bits

    @property
    def name(self) -> str:
        return self.label

    @property
    def code_dtype(self):
        return self.element.code_dtype

    @property
    def max_value(self) -> float:
        return self.element.max_value

    @property
    def min_value(self) -> float:
        return self.element.min_value

    @property
    def emax_elem(self) -> int:
        """The element exponent subtracted from floor(log2 amax) (OCP MX table)."""
        return MX_EMAX[self.element.name]

    def encode(self, x, rounding=Rounding.NEAREST_EVEN, **options):
        """Element codes of x without scaling (the element format's encode); x's shape,
        () for a 0-d input."""
        return np.reshape(self.element.encode(x, rounding, **options), np.shape(x))

    def decode(self, codes):
        """Element values of the codes without scaling (float64, exact; codes' shape)."""
        codes = native_order(codes)
        return np.reshape(self.element.decode(codes), codes.shape)

    def codes(self):
        return self.element.codes()

    def values(self):
        return self.element.values()

    def quantize(self, x, rounding=None, axis=-1, seed=0):
        """quantize_tensor(x, axis, rounding, seed=seed).dequantize(): x rounded to the
        nearest block-scaled values (float64). A 0-d x is a block of one element and
        gives a 0-d result."""
        x = as_real_array(x)
        if x.ndim == 0:
            if axis not in (-1, 0):
                raise ValueError(f"axis={axis!r} out of range for a 0-d x; allowed -1, 0")
            return self.quantize_tensor(x.reshape(1), rounding=rounding,
                                        seed=seed).dequantize().reshape(())
        return self.quantize_tensor(x, axis=axis, rounding=rounding, seed=seed).dequantize()

    def quantize_tensor(self, x, axis=-1, rounding=None, overflow=Overflow.SATURATE, seed=0,
                        tensor_scale=None):
        """Block-quantize x along ``axis`` (module docstring for the exact rules) and
        return a QTensor (granularity "block"). ``rounding``: None = NEAREST_EVEN (the
        specs); NEAREST_AWAY = Microsoft's MX reference; any Rounding for the elements.
        ``overflow`` must be SATURATE (the specs clamp elements). ``tensor_scale``
        (NVFP4 only): a positive float32 value to use instead of amax / 2688."""
        from ..quantize import QTensor, _norm_axis, _view

        x = as_real_array(x)
        if x.ndim == 0:
            raise ValueError(f"{self.name} quantizes arrays with at least one axis; got a scalar")
        ax = _norm_axis(axis, x.ndim)
        rnd = Rounding.NEAREST_EVEN if rounding is None else as_rounding(rounding)
        if as_overflow(overflow) != Overflow.SATURATE:
            raise ValueError(f"overflow={overflow!r}: {self.name} clamps elements to ±max "
                             "(OCP MX / NVFP4); allowed: SATURATE")
        seed = check_int(seed, -(1 << 63), (1 << 63) - 1, "seed")
        view, blk, gshape = _view(x.shape, "block", ax, self.block_size)
        ushape = tuple(-(-d // blk) if i == ax else d for i, d in enumerate(x.shape))
        x3 = np.ascontiguousarray(x).reshape(view)
        extra = {"scale_format": self.scale_format.name}
        if self.kind == "mx":
            codes, scodes = self._mx_codes(x3, blk, gshape, rnd, int(seed))
            scale = self.scale_format.decode(scodes)
        else:
            if tensor_scale is None:
                st = nvfp4_tensor_scale(x)
            else:
                try:
                    st = float(tensor_scale)
                except (TypeError, ValueError):
                    raise TypeError(f"tensor_scale must be a real number, got "
                                    f"{type(tensor_scale).__name__}") from None
                if not (np.isfinite(st) and st > 0 and float(np.float32(st)) == st):
                    raise ValueError(f"tensor_scale={tensor_scale!r}; allowed a positive "
                                     "finite float32 value")
            codes = np.empty(view, dtype=self.code_dtype)
            scodes = np.empty(gshape, dtype=np.uint8)
            scale = np.empty(gshape, dtype=np.float64)
            _k.nvfp4_quantize(x3, blk, st, int(rnd), int(seed), codes, scodes, scale)
            extra["tensor_scale"] = st
        extra["scale_codes"] = scodes.reshape(ushape)
        return QTensor(codes=codes.reshape(x.shape), scale=scale.reshape(ushape),
                       zero_point=np.zeros(ushape, dtype=np.int64), fmt=self,
                       granularity="block", axis=ax, block_size=blk, extra=extra)


    def _mx_codes(self, x3, blk, gshape, rnd, seed):
        """Element and scale codes of x3 viewed as (P, D, Q), blocks along D (OCP MX)."""
        e = self.element
        P, D, Q = x3.shape
        if (Q > 1 and x3.dtype == np.float32 and isinstance(e, FloatFormat)
                and rnd == Rounding.NEAREST_EVEN and e.subnormals and e.man_bits <= 22):
            codes = np.empty(x3.shape, dtype=self.code_dtype)
            scodes = np.empty(gshape, dtype=np.uint8)
            if _k.mx_quantize_cols(x3, x3.view(np.int32), blk, e.exp_bits, e.man_bits,
                                   e.bias, int(e._uz), e._tmax, self.emax_elem, codes,
                                   scodes):
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
            nan_signed = int(e.specials in ("ieee", "fn") and e.signed)
            _k.mx_quantize_rows(xx, xi, Q, blk, 0, *e._kparams(), e._nan_code, nan_signed,
                                self.emax_elem, 0, 0, int(rnd), seed, cc, ss)
        else:
            _k.mx_quantize_rows(xx, xi, Q, blk, 1, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 6, 127,
                                int(rnd), seed, cc, ss)
        if Q == 1:
            return cc.reshape(x3.shape), ss.reshape(gshape)
        return (np.ascontiguousarray(cc.reshape(P, Q, D).transpose(0, 2, 1)),
                np.ascontiguousarray(ss.reshape(P, Q, -1).transpose(0, 2, 1)))


def nvfp4_tensor_scale(x) -> float:
    """The NVFP4 float32 tensor scale of x (module docstring): float32(amax / 2688) rounded
    to nearest, amax = max |x| over the finite elements; 1 when that amax is 0 (or there is
    no finite element), the smallest float32 (2^-149) when the quotient underflows to 0,
    the largest float32 when it rounds beyond float32's range."""
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


def _check_bits(bits):
    return check_int(bits, 1, 16, "bits")


def pack(codes, bits) -> np.ndarray:
    """Pack codes of ``bits`` bits (1..16) into bytes, little-endian bit stream (module
    docstring): uint8 array of ceil(n * bits / 8) bytes for n = codes.size (flat order).
    Negative codes (two's complement, e.g. MXINT8) keep their low ``bits`` bits; codes
    needing more bits raise ValueError. Memory: the output only (plus a contiguous copy
    of a non-contiguous or non-native-byte-order input)."""
    bits = _check_bits(bits)
    c = native_order(np.asarray(codes), "codes")
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


def unpack(data, bits, count, signed=False, dtype=None) -> np.ndarray:
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
    count = check_int(count, 0, 1 << 62, "count")
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"signed must be a bool, got {type(signed).__name__}")
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
    _k.unpack_bits(np.ravel(d), bits, bool(signed), out)
    return out if dt.isnative else out.astype(dt)


_E8M0 = lambda: _fmt("e8m0")  # noqa: E731
_MX = {
    "mxfp8_e4m3": "e4m3fn",
    "mxfp8_e5m2": "e5m2",
    "mxfp6_e3m2": "e3m2",
    "mxfp6_e2m3": "e2m3",
    "mxfp4": "e2m1",
}
for _n, _e in _MX.items():
    register(_n, lambda n=_n, e=_e: BlockFormat(_fmt(e), 32, _E8M0(), "mx", n))
register("mxint8", lambda: BlockFormat(FixedFormat(1, 6), 32, _E8M0(), "mx", "mxint8"))
register("nvfp4", lambda: BlockFormat(_fmt("e2m1"), 16, _fmt("e4m3fn"), "nvfp4", "nvfp4"))

"""Driver of the affine (scale, zero point) kernels shared by integer formats and
``refquant.quantize``: validation of the policy arguments, the (P, D, Q) view, and
turning a kernel's stop index into a clear error."""
from __future__ import annotations

import numpy as np

from ._lazy import kernels as _lazy_kernels
_k = _lazy_kernels("rounding")
from .modes import Overflow, Rounding, as_overflow, as_rounding

COMPAT = {"exact": 0, "onnx": 1, "tflite": 1, "torch": 2}
COMPAT_ROUNDING = {"exact": Rounding.NEAREST_EVEN, "onnx": Rounding.NEAREST_EVEN,
                   "tflite": Rounding.NEAREST_AWAY, "torch": Rounding.NEAREST_EVEN}
NONFINITE = {"raise": 0, "saturate": 1}


def as_real_array(x, param="x") -> np.ndarray:
    """x as a float32 or float64 array (other real dtypes convert to float64)."""
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise TypeError(f"{param} must be real, got complex dtype {a.dtype}")
    if a.dtype not in (np.float32, np.float64):
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{param} must be a real numeric array, got dtype {a.dtype}")
        a = a.astype(np.float64)
    return a


def check_compat(compat) -> str:
    """``compat`` if it names a peer convention (exact, onnx, tflite, torch), else ValueError."""
    if compat not in COMPAT:
        raise ValueError(f"compat={compat!r}; allowed: {', '.join(COMPAT)}")
    return compat


def check_nonfinite(nonfinite) -> int:
    """Kernel flag of the NaN/inf policy: 'raise' -> 0, 'saturate' -> 1; else ValueError."""
    if nonfinite not in NONFINITE:
        raise ValueError(f"nonfinite={nonfinite!r}; allowed: 'raise' (NaN/inf raise ValueError) "
                         "or 'saturate' (NaN -> zero point, +-inf -> range ends)")
    return NONFINITE[nonfinite]


def encode_affine(x, scale3, zero3, block, lo, hi, *, view, rounding, seed, compat,
                  overflow, nonfinite, dtype):
    """Run ``kernels.rounding.quantize_affine`` on x seen as ``view`` = (P, D, Q).

    scale3 (float64) and zero3 (int64) have shape (Ps, nb, Qs). Returns codes of
    ``dtype`` in x's shape. Raises ValueError for non-finite x (nonfinite='raise') and
    OverflowError for out-of-range values under Overflow.RAISE, naming the element.
    """
    compat = check_compat(compat)
    rnd = COMPAT_ROUNDING[compat] if rounding is None else as_rounding(rounding)
    ov = as_overflow(overflow)
    if ov not in (Overflow.SATURATE, Overflow.WRAP, Overflow.RAISE):
        raise ValueError(f"overflow={ov.name} does not apply to integer codes; "
                         "allowed: SATURATE, WRAP, RAISE")
    nf = check_nonfinite(nonfinite)
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape, dtype=dtype)
    if (compat == "exact" and ov is Overflow.SATURATE and rnd is not Rounding.STOCHASTIC
            and x.size >= FAST_MIN_SIZE
            and _fast_affine(x.reshape(view), scale3, zero3, int(block), float(lo), float(hi),
                             int(rnd), out.reshape(view))):
        return out
    stop = _k.quantize_affine(x.reshape(view), scale3, zero3, int(block), float(lo), float(hi),
                              int(rnd), int(seed), COMPAT[compat], int(ov), nf,
                              out.reshape(view))
    if stop >= 0:
        idx = np.unravel_index(stop, x.shape) if x.ndim else ()
        v = x.reshape(-1)[stop]
        if not np.isfinite(v):
            raise ValueError(f"x{list(idx)} = {v} is not finite; pass nonfinite='saturate' to map "
                             "NaN to the zero point and +-inf to the range ends")
        raise OverflowError(f"x{list(idx)} = {v!r} quantizes outside [{lo}, {hi}] "
                            "(overflow=RAISE)")
    return out


FAST_MIN_SIZE = 4096  # below this the serial kernel is as fast as the parallel fast path


def _fast_affine(x3, s3, z3, block, lo, hi, mode, out3):
    """Run the parallel fast-path kernels (exact quotient, modes 0..5, SATURATE) when the
    layout suits them. Returns False (nothing decided) when the layout does not suit or
    x holds non-finite values; the caller then runs the general kernel."""
    P, D, Q = x3.shape
    Ps, nb, Qs = s3.shape
    r3 = 1.0 / s3
    if Qs == 1 and min(block, D) * Q >= 64:
        bad = _k.quantize_affine_segments(x3, s3, r3, z3, block, lo, hi, mode, out3)
    elif Qs == 1 and Q == 1:
        srow = np.ascontiguousarray(np.repeat(s3[:, :, 0], block, axis=1)[:, :D])
        zrow = np.ascontiguousarray(np.repeat(z3[:, :, 0], block, axis=1)[:, :D])
        bad = _k.quantize_affine_rows(x3.reshape(P, D), srow, 1.0 / srow, zrow, 1, Ps > 1, 1, 1,
                                      lo, hi, mode, out3.reshape(P, D))
    elif Qs == Q and Q >= 64:
        bad = _k.quantize_affine_rows(x3.reshape(P * D, Q), s3.reshape(Ps * nb, Q),
                                      r3.reshape(Ps * nb, Q), z3.reshape(Ps * nb, Q), D, Ps > 1,
                                      nb, block, lo, hi, mode, out3.reshape(P * D, Q))
    else:
        return False
    return bad == 0


def decode_affine(codes, scale3, zero3, block, *, view, dtype=np.float64):
    """(codes - z) * s in ``dtype`` (float64: exact for |codes - z| < 2^29 and float32 s)."""
    codes = np.ascontiguousarray(codes)
    out = np.empty(codes.shape, dtype=dtype)
    _k.dequantize_affine(codes.reshape(view), scale3, zero3, int(block), out.reshape(view))
    return out

"""Driver of the affine (scale, zero point) kernels shared by integer formats and
``refquant.quantize``: validation of the policy arguments, the (P, D, Q) view, and
turning a kernel's stop index into a clear error."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .._groups import group_broadcast
from .._lazy import kernels as _lazy_kernels
from .._validate import as_real_array, float_dtype, native
_k = _lazy_kernels("rounding")
_ki = _lazy_kernels("integer")
from ..modes import Overflow, Rounding, as_overflow, as_rounding

# compat name -> kernels.rounding.quotient_rounded code (torch names: the code of the common
# case; ``compat_plan`` picks the exact one per format, granularity and dtype).
COMPAT = {"exact": 0, "onnx": 1, "tflite": 1, "torch": 2, "torch_fake_quant": 2,
          "torch_per_tensor": 3, "torch_per_channel": 4, "torch_decomposed": 2}
COMPAT_ROUNDING = {name: Rounding.NEAREST_AWAY if name == "tflite" else Rounding.NEAREST_EVEN
                   for name in COMPAT}
NONFINITE = {"raise": 0, "saturate": 1}


def _index(flat, shape) -> str:
    """'[i, j]' for a flat index into ``shape`` ('[]' for a 0-d array)."""
    idx = np.unravel_index(int(flat), shape) if len(shape) else ()
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def check_compat(compat) -> str:
    """``compat`` if it names a peer convention (a key of ``COMPAT``), else ValueError."""
    if not isinstance(compat, str) or compat not in COMPAT:
        raise ValueError(f"compat={compat!r}; allowed: {', '.join(COMPAT)}")
    return compat


# Which granularities each torch compat name models, and which torch op it reproduces.
TORCH_GRANULARITIES = {"torch": ("tensor", "axis"), "torch_fake_quant": ("tensor", "axis"),
                       "torch_per_tensor": ("tensor",), "torch_per_channel": ("axis",),
                       "torch_decomposed": ("tensor", "axis")}
# torch.quantize_per_tensor on x86-64 (fbgemm) per quantized dtype, named by the refquant
# format of the same range: quint8 / qint8 round the fused x * inv + z (FMA), qint32 rounds
# float32(float32(x * inv) + z), the sub-byte quint4x2 / quint2x4 round x * inv, then add z.
TORCH_PER_TENSOR = {"uint8": 3, "int8": 3, "int32": 4, "uint4": 2, "uint2": 2}
# torch.quantize_per_channel (quint8, qint8, qint32): float32(float32(x * inv) + z), rounded.
TORCH_PER_CHANNEL = {"uint8": 4, "int8": 4, "int32": 4}
_TORCH_OP = {"torch_per_tensor": "torch.quantize_per_tensor",
             "torch_per_channel": "torch.quantize_per_channel",
             "torch_decomposed": "torch.ops.quantized_decomposed.quantize_per_tensor/_channel"}


class CompatPlan:
    """How ``refquant.quantize`` runs one compat name for one format, granularity and input.

    code: the ``kernels.rounding.quotient_rounded`` compat code. kernel_f32: the kernel gets
    float32(s) (the peer rounds the scale to float32 before computing 1 / s). store_f32: the
    QTensor keeps float32(s), the scale the peer dequantizes with (its dequantize multiplies
    (q - z) by float32(s) in float32); otherwise it keeps s as given.
    """

    __slots__ = ("compat", "code", "kernel_f32", "store_f32")

    def __init__(self, compat, code, kernel_f32=False, store_f32=False):
        self.compat, self.code = compat, code
        self.kernel_f32, self.store_f32 = kernel_f32, store_f32

    def scales(self, s3):
        """(scale for the kernel, scale for the QTensor) from the float64 scales s3;
        ValueError where the scale or reciprocal the peer computes with is not finite and
        positive."""
        if self.code < 2:
            return s3, s3
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            s32 = s3.astype(np.float32).astype(np.float64)
            if self.code == 6:  # float64 scales, float64 reciprocal
                ok = np.isfinite(1.0 / s3)
                rule = "1 / scale must be finite in float64"
            else:
                ok = np.isfinite((1.0 / (s32 if self.kernel_f32 else s3)).astype(np.float32))
                ok &= np.isfinite(s32) & (s32 > 0)
                rule = ("float32(scale) and float32(1 / scale) must be finite and positive "
                        "(scale between about 2.9387e-39 and 3.4028e+38)")
        if not ok.all():
            v = s3.reshape(-1)[np.flatnonzero(~ok.reshape(-1))[0]]
            raise ValueError(f"scale {v!r} is outside the range compat={self.compat!r} "
                             f"computes in: {rule}")
        return (s32 if self.kernel_f32 else s3), (s32 if self.store_f32 else s3)


def compat_plan(compat, fmt, granularity, x, scale_dtype):
    """(CompatPlan, x) for ``refquant.quantize``: checks that ``compat`` applies to the
    format, granularity and x (ValueError naming what does not), picks the kernel rule of
    the torch op it reproduces, and gives float32-only torch ops x as float32.

    scale_dtype: dtype of the scales as the caller holds them (the decomposed per-channel
    op computes in float64 for float64 scales and in float32 for float32 ones).
    """
    compat = check_compat(compat)
    if not fmt.is_integer:
        if compat != "exact":
            raise ValueError(f"compat={compat!r} applies to integer formats; {fmt.name} forms "
                             "x / s in float64 (compat='exact')")
        return CompatPlan(compat, 0), x
    if compat in ("exact", "onnx", "tflite"):
        return CompatPlan(compat, COMPAT[compat]), x
    allowed = TORCH_GRANULARITIES[compat]
    if granularity not in allowed:
        raise ValueError(f"compat={compat!r} applies to granularity "
                         f"{', '.join(map(repr, allowed))}; got granularity={granularity!r}")
    if compat in ("torch", "torch_fake_quant"):
        # float64 tensors are fake-quantized in float64 (x * inv rounded once to float64)
        return CompatPlan(compat, 5 if x.dtype == np.float64 else 2, True, True), x
    table = {"torch_per_tensor": TORCH_PER_TENSOR, "torch_per_channel": TORCH_PER_CHANNEL}.get(compat)
    if table is not None and fmt.name not in table:
        raise ValueError(f"compat={compat!r} reproduces {_TORCH_OP[compat]}, which has the "
                         f"formats {', '.join(table)}; got {fmt.name}")
    if x.dtype != np.float32:
        x32 = x.astype(np.float32)
        lost = ~((x32 == x) | np.isnan(x))
        if lost.any():
            i = np.flatnonzero(lost.reshape(-1))[0]
            idx = list(np.unravel_index(i, x.shape)) if x.ndim else []
            raise ValueError(f"compat={compat!r} reproduces {_TORCH_OP[compat]}, which takes "
                             f"float32 x; x{idx} = {x.reshape(-1)[i]!r} is not a float32 value "
                             "(pass x.astype(np.float32) to quantize the float32 values)")
        x = x32
    if compat == "torch_per_tensor":
        return CompatPlan(compat, table[fmt.name], True, True), x
    if compat == "torch_per_channel":
        return CompatPlan(compat, table[fmt.name], True, False), x
    # torch_decomposed: per tensor x * float32(1.0 / s) in float32, dequantized with
    # float32(s); per channel x * (1.0 / s) in the scales' dtype, dequantized with s
    if granularity == "tensor":
        return CompatPlan(compat, 2, False, True), x
    if np.dtype(scale_dtype) == np.float32:
        return CompatPlan(compat, 2, True, False), x
    return CompatPlan(compat, 6), x


def check_nonfinite(nonfinite) -> int:
    """Kernel flag of the NaN/inf policy: 'raise' -> 0, 'saturate' -> 1; else ValueError."""
    if nonfinite not in NONFINITE:
        raise ValueError(f"nonfinite={nonfinite!r}; allowed: 'raise' (NaN/inf raise ValueError) "
                         "or 'saturate' (NaN -> zero point, +-inf -> range ends)")
    return NONFINITE[nonfinite]


def encode_affine(x, scale3, zero3, block, lo, hi, *, view, rounding, seed, compat,
                  overflow, nonfinite, dtype, kernel_compat=None):
    """Run ``kernels.rounding.quantize_affine`` on x seen as ``view`` = (P, D, Q).

    scale3 (float64) and zero3 (int64) have shape (Ps, nb, Qs). Returns codes of
    ``dtype`` in x's shape (0-d stays 0-d). Raises ValueError for non-finite x
    (nonfinite='raise') and OverflowError for out-of-range values under Overflow.RAISE,
    naming the element. kernel_compat: the quotient rule's kernel code
    (``CompatPlan.code``); default ``COMPAT[compat]``.

    x is any real array, taken by value in any byte order. Under the exact rule (code 0)
    every element is exact at any magnitude: int64 / uint64 elements beyond 2^53 (which
    float64 would round) and, under Overflow.WRAP, quotients |x / s| >= 2^52 that are not
    float64 values (or overflow float64) are computed apart with Python integers and
    fractions (``round_fraction``), so WRAP reduces the exactly rounded integer modulo
    hi - lo + 1. The float32 and float64 peer rules (onnx, tflite, torch*) take x as the
    peer does (a float) and wrap the integral value the rule forms; one that is not finite
    there raises OverflowError under WRAP.
    """
    compat = check_compat(compat)
    code = COMPAT[compat] if kernel_compat is None else int(kernel_compat)
    rnd = COMPAT_ROUNDING[compat] if rounding is None else as_rounding(rounding)
    ov = as_overflow(overflow)
    if ov not in (Overflow.SATURATE, Overflow.WRAP, Overflow.RAISE):
        raise ValueError(f"overflow={ov.name} does not apply to integer codes; "
                         "allowed: SATURATE, WRAP, RAISE")
    nf = check_nonfinite(nonfinite)
    a = np.asarray(x)
    shape = a.shape
    src = None  # the integers themselves where float64 would round them
    if code == 0 and a.dtype.kind in "iu" and a.dtype.itemsize == 8 and a.size:
        a = native(a)
        big = (a > _EXACT_INT) if a.dtype.kind == "u" else ((a > _EXACT_INT) | (a < -_EXACT_INT))
        if big.any():
            src = a.reshape(-1)
            need = big.reshape(-1)
    xf = np.ascontiguousarray(as_real_array(a)).reshape(shape)
    P, D, Q = view
    block = int(min(block, max(D, 1)))  # a block beyond the axis is one block per row
    if code == 0 and ov is Overflow.WRAP and xf.size:
        w = _wrap_inexact(xf.reshape(view), scale3, block)
        need = w if src is None else (need | w)
        if src is None and not need.any():
            need = None
    elif src is None:
        need = None
    if need is not None:
        fix = np.flatnonzero(need)
        xf = xf.copy()
        xf.reshape(-1)[fix] = 0.0  # computed apart below
    out = np.empty(shape, dtype=dtype)
    fast = None
    if (code == 0 and ov is Overflow.SATURATE and rnd is not Rounding.STOCHASTIC
            and xf.size >= FAST_MIN_SIZE):
        fast = _fast_affine(xf.reshape(view), scale3, zero3, block, float(lo), float(hi),
                            int(rnd), nf, out.reshape(view))
    if fast is None:
        stop = _k.quantize_affine(xf.reshape(view), scale3, zero3, block, float(lo), float(hi),
                                  int(rnd), int(seed), code, int(ov), nf, out.reshape(view))
    else:
        stop = fast
    if need is not None:
        if stop >= 0:
            fix = fix[fix < stop]
        _exact_elements(out.reshape(-1), fix, src, np.asarray(x), scale3, zero3, block, view,
                        int(lo), int(hi), rnd, int(seed), ov, shape)
    if stop >= 0:
        where = _index(stop, shape)
        v = float(xf.reshape(-1)[stop])
        if not np.isfinite(v):
            raise ValueError(f"x{where} = {v} is not finite; pass nonfinite='saturate' to map "
                             "NaN to the zero point and +-inf to the range ends")
        if ov is Overflow.WRAP:
            width = "float64" if code in (0, 5, 6) else "float32"
            raise OverflowError(f"x{where} = {v!r}: the rounded quotient x / s is not finite in "
                                f"{width} (compat={compat!r}), so overflow=WRAP has no integer "
                                "to wrap")
        raise OverflowError(f"x{where} = {v!r} quantizes outside [{lo}, {hi}] "
                            "(overflow=RAISE)")
    return out


_EXACT_INT = 1 << 53  # integers up to 2^53 in magnitude are float64 values


def _wrap_inexact(x3, scale3, block):
    """Flat mask of the finite elements whose exact quotient x / s the kernel's WRAP cannot
    reduce exactly: |fl(x / s)| >= 2^52 (where ``round_quotient`` returns fl(x / s)) unless
    s is a power of two and x / s is finite (then fl(x / s) == x / s)."""
    s = group_broadcast(scale3, x3.shape, block)
    with np.errstate(all="ignore"):
        q = np.abs(x3 / s)
    pow2 = np.frexp(s)[0] == 0.5
    bad = np.isfinite(x3) & ~(q < 2.0 ** 52) & ~(pow2 & np.isfinite(q))
    return bad.reshape(-1)


def round_fraction(v: Fraction, mode: Rounding, seed: int = 0, index: int = 0) -> int:
    """The integer the exact rational v rounds to under ``mode`` (the rule of
    ``kernels.rounding.choose``; STOCHASTIC rounds up when uniform53(seed, index) / 2^53 is
    below the fractional part, compared exactly)."""
    fl = math.floor(v)
    r = v - fl
    if r == 0:
        return fl
    m = Rounding(mode)
    half = Fraction(1, 2)
    if m is Rounding.NEAREST_EVEN:
        return fl + (r > half or (r == half and fl % 2 == 1))
    if m is Rounding.NEAREST_AWAY:
        return fl + (r > half or (r == half and v > 0))
    if m is Rounding.NEAREST_UP:
        return fl + (r >= half)
    if m is Rounding.TOWARD_ZERO:
        return fl + (v < 0)
    if m is Rounding.DOWN:
        return fl
    if m is Rounding.UP:
        return fl + 1
    return fl + (Fraction(int(_k.uniform53(seed, index)), 1 << 53) < r)


def _exact_elements(out, fix, src, x, scale3, zero3, block, view, lo, hi, rnd, seed, ov, shape):
    """out[i] for the flat indices ``fix``: round(v / s) + z computed with Python integers
    and fractions (v = src[i] when given, else the float x.flat[i]), then the overflow
    policy on [lo, hi] (RAISE: OverflowError at the first index)."""
    P, D, Q = view
    Ps, nb, Qs = scale3.shape
    xs = x.reshape(-1)
    m = hi - lo + 1
    for i in fix.tolist():
        p, rest = divmod(i, D * Q)
        d, q = divmod(rest, Q)
        g = (p if Ps > 1 else 0, d // block, q if Qs > 1 else 0)
        v = int(src[i]) if src is not None else Fraction(float(xs[i]))
        r = round_fraction(Fraction(v) / Fraction(float(scale3[g])), rnd, seed, i) + int(zero3[g])
        if lo <= r <= hi:
            out[i] = r
        elif ov is Overflow.SATURATE:
            out[i] = lo if r < lo else hi
        elif ov is Overflow.WRAP:
            out[i] = (r - lo) % m + lo
        else:
            shown = int(src[i]) if src is not None else float(xs[i])
            raise OverflowError(f"x{_index(i, shape)} = {shown!r} quantizes outside [{lo}, {hi}] "
                                "(overflow=RAISE)")


FAST_MIN_SIZE = 4096  # below this the general kernel is as fast as the fast path
NUMPY_MAX_SIZE = 1 << 16  # up to this the fast path's decision is made with NumPy
PARALLEL_MIN_SIZE = 1 << 18  # from here on the fast path runs its tasks on all of Numba's threads
FAST_TASK = 16384  # elements per task of the fast path
_F32_NORMAL = 2.0 ** -126
_F64_NORMAL = 2.0 ** -1022
_F64_NORMAL_INV = 2.0 ** 1022
_F32_MAX = float(np.finfo(np.float32).max)


def _fast_affine(x3, s3, z3, block, lo, hi, mode, nf, out3):
    """round(x / s) + z clamped to [lo, hi] (modes 0..5) with ``kernels.integer``'s fast
    kernels; the elements they leave unresolved (non-finite x, exact ties and quotients
    too close to a decision point) are computed by the general kernel. Returns -1, or the
    flat index at which the general kernel stopped (non-finite x under nonfinite
    'raise'); None (nothing written) where the fast kernels do not apply: a range
    [lo, hi] beyond int32, or scales outside [2^-1022, 2^1022] (whose reciprocals could
    be subnormal or overflow)."""
    P, D, Q = x3.shape
    Ps, nb, Qs = s3.shape
    if lo < -2.0 ** 31 or hi > 2.0 ** 31 - 1:
        return None
    if not s3.size:
        return None
    n = x3.size
    # (min s, max s, max |z|, 1 / s, z, float32(1 / s), float32(z)): one kernel call where
    # the kernels run anyway, NumPy for small inputs (no compilation)
    prep = _prep_numpy if n <= NUMPY_MAX_SIZE else _ki.affine_fast_prep
    smin, smax, zmax, r64, zf64, r32, zf32 = prep(s3, z3)
    # 1 / s is correctly rounded, hence monotone: normal float64 reciprocals for s in
    # [2^-1022, 2^1022] (NaN fails)
    if not (smin >= _F64_NORMAL and smax <= _F64_NORMAL_INV):
        return None
    bound = max(abs(lo), abs(hi)) + zmax
    tol64 = (bound + 2.0) * 2.0 ** -49
    if n <= NUMPY_MAX_SIZE:
        idx = _numpy_pass(x3, r64, zf64, block, lo, hi, mode, tol64, out3)
        total = idx.size
    else:
        if (x3.dtype == np.float32 and bound <= 2046 and 1.0 / smax >= _F32_NORMAL
                and 1.0 / smin <= _F32_MAX):
            # first pass in float32 (tolerance (bound + 2) * 2^-22 <= 2^-11); every 1 / s
            # lies in [2^-126, float32 max], so r32 holds normal float32 numbers
            tol32 = np.float32((bound + 2.0) * 2.0 ** -22)
            first = (r32, zf32, np.float32(lo), np.float32(hi), tol32,
                     np.float32(0.5) - tol32)
        else:
            first = (r64, zf64, lo, hi, tol64, 0.5 - tol64)
        total, idx = _kernel_pass(x3, first, r64, zf64, block, lo, hi, mode, tol64, out3)
    if total == 0:
        return -1
    p, rest = np.divmod(idx, D * Q)
    d, q = np.divmod(rest, Q)
    g = (p if Ps > 1 else 0, d // block, q if Qs > 1 else 0)
    view = (1, 1, total)
    part = np.empty(view, dtype=out3.dtype)
    stop = _k.quantize_affine(x3.reshape(-1)[idx].reshape(view), s3[g].reshape(view),
                              z3[g].reshape(view), 1, lo, hi, int(mode), 0, 0,
                              int(Overflow.SATURATE), nf, part)
    if stop >= 0:
        return int(idx[stop])
    out3.reshape(-1)[idx] = part.reshape(-1)
    return -1


def decode_affine(codes, scale3, zero3, block, *, view, dtype=np.float64):
    """(codes - z) * s formed in float64 and rounded once to the float ``dtype`` (float64:
    exact for |codes - z| < 2^29 and float32 s; float16 / float32 / longdouble: that exact
    value rounded once). Integer codes in any byte order (taken by value); the result has
    the codes' shape."""
    dt = float_dtype(dtype)
    c = np.asarray(codes)
    shape = c.shape
    c = np.ascontiguousarray(native(c)).reshape(view)
    block = int(min(block, max(view[1], 1)))
    kdt = dt if dt in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float64)
    out = np.empty(view, dtype=kdt)
    _k.dequantize_affine(c, scale3, zero3, block, out)
    return out.reshape(shape).astype(dt, copy=False)


def _prep_numpy(s3, z3):
    """``kernels.integer.affine_fast_prep`` with NumPy."""
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        r64 = 1.0 / s3
        r32 = r64.astype(np.float32)
    zf64 = z3.astype(np.float64)
    return (float(s3.min()), float(s3.max()), float(np.abs(zf64).max()), r64, zf64, r32,
            zf64.astype(np.float32))


def _numpy_pass(x3, r64, zf64, block, lo, hi, mode, tol64, out3):
    """The fast kernels' decision in float64 with NumPy (inputs of at most
    NUMPY_MAX_SIZE elements, where compiling those kernels would cost more than it
    saves): v = float64(x) * r64, near as ``kernels.integer._is_near`` with tol64, the
    rest rounded as ``_rounded`` plus the zero point, clamped to [lo, hi], to out3.
    Returns the ascending flat indices of the near (unresolved) elements."""
    D = x3.shape[1]
    r = np.repeat(r64, block, axis=1)[:, :D, :]
    z = np.repeat(zf64, block, axis=1)[:, :D, :]
    xv = x3.astype(np.float64)  # exact
    with np.errstate(invalid="ignore", over="ignore"):
        v = xv * r
        t = np.rint(v)
        e = np.abs(v - t)
        if mode <= 2:
            near = ~(e <= 0.5 - tol64)
        else:
            near = ~(e >= tol64) & (xv != 0)
            t = np.trunc(v) if mode == 3 else (np.floor(v) if mode == 4 else np.ceil(v))
        res = np.minimum(np.maximum(t + z, lo), hi)
    res[near] = 0.0
    out3[...] = res
    return np.flatnonzero(near)


def _kernel_pass(x3, first, r64, zf64, block, lo, hi, mode, tol64, out3):
    """The fast kernels over x3: (number of unresolved elements, their ascending flat
    indices) with out3 written for the others."""
    n = x3.size
    Qs = r64.shape[2]
    counts = np.zeros(-(-n // FAST_TASK), dtype=np.int64)
    serial = n < PARALLEL_MIN_SIZE
    if Qs > 1:
        kernel = _ki.quantize_affine_fast_rows
    else:  # below PARALLEL_MIN_SIZE a kernel without a parallel loop (compiles faster)
        kernel = _ki.quantize_affine_fast_serial if serial else _ki.quantize_affine_fast
    args = (x3,) + first + (r64, zf64, tol64, int(block), lo, hi,
                            int(mode), FAST_TASK, counts)
    if serial and Qs > 1:
        import numba  # loaded with the kernels; kept out of ``import refquant``

        threads = numba.get_num_threads()
        numba.set_num_threads(1)  # below this one thread is faster than two
        try:
            return _run_twice(kernel, args, out3)
        finally:
            numba.set_num_threads(threads)
    return _run_twice(kernel, args, out3)


def _run_twice(kernel, args, out3):
    """A fast kernel's first call, then (only where elements are unresolved) its second
    call collecting their indices: (their number, their ascending flat indices)."""
    idx = np.empty(0, dtype=np.int64)
    total = int(kernel(*args, idx, out3))
    if total:
        idx = np.empty(total, dtype=np.int64)
        kernel(*args, idx, out3)
    return total, idx

"""Exact integer matrix products with a stated accumulator width and overflow policy:
``gemm``, ONNX MatMulInteger / QLinearMatMul, and the pair-saturating model of
onnxruntime's uint8 x int8 path on CPUs without VNNI."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt

from .._deprecate import renamed_kwargs
from .._lazy import kernels
from .._validate import check_int, float64_array, is_int
from ..modes import Overflow, as_overflow

_k = kernels("integer")

__all__ = ["gemm", "matmul_integer", "qlinear_matmul"]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# the overflow policies of an integer accumulator (INF and NAN are float policies)
_ACC_POLICIES = (Overflow.WRAP, Overflow.SATURATE, Overflow.EXACT, Overflow.RAISE)


def _exact_matmul(A: np.ndarray, B: np.ndarray, ma: int, mb: int) -> np.ndarray:
    """Exact product of integer-valued arrays A (..., M, K) and B (..., K, N) with
    max|A| <= ma and max|B| <= mb (Python ints), via float BLAS on exact chunks.
    Returns an array holding the exact integer results: float32/float64 (whose values are
    exact integers) or int64."""
    K = A.shape[-1]
    pm = ma * mb
    out_shape = np.broadcast_shapes(A.shape[:-2], B.shape[:-2]) + (A.shape[-2], B.shape[-1])
    if pm == 0 or K == 0:
        return np.zeros(out_shape, dtype=np.int64)
    if K * pm >= (1 << 62):
        raise ValueError(f"operands too large for an exact int64 product: K * max|a| * max|b| "
                         f"= {K * pm} >= 2^62")
    kc32 = (1 << 24) // pm
    kc64 = (1 << 53) // pm
    if K <= kc32:
        return np.matmul(A.astype(np.float32, copy=False), B.astype(np.float32, copy=False))
    if kc32 >= 1 and -(-K // kc32) <= 4 and K * pm <= (1 << 53):
        acc = np.zeros(out_shape, dtype=np.float64)  # every partial sum < 2^53: exact
        A32 = A.astype(np.float32, copy=False)
        B32 = B.astype(np.float32, copy=False)
        for k0 in range(0, K, kc32):
            acc += np.matmul(A32[..., k0:k0 + kc32], B32[..., k0:k0 + kc32, :])
        return acc
    if kc64 >= 1:
        A64 = A.astype(np.float64, copy=False)
        B64 = B.astype(np.float64, copy=False)
        if K <= kc64:
            return np.matmul(A64, B64)
        acc64 = np.zeros(out_shape, dtype=np.int64)
        for k0 in range(0, K, kc64):
            acc64 += np.matmul(A64[..., k0:k0 + kc64], B64[..., k0:k0 + kc64, :]).astype(np.int64)
        return acc64
    A3, B3, C3, shape = _batch3(A, B, None)
    out = np.empty(C3.shape, dtype=np.int64)
    _k.gemm_int64(A3, B3, C3, out)
    return out.reshape(shape)


def _batch3(A: np.ndarray, B: np.ndarray, C: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """A (..., M, K), B (..., K, N) and C (broadcastable to the output, or None) as
    contiguous int64 arrays (T, M, K), (T, K, N), (T, M, N), and the output shape."""
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    M, K = A.shape[-2:]
    N = B.shape[-1]
    T = int(np.prod(batch, dtype=np.int64))
    shape = batch + (M, N)
    A3 = np.ascontiguousarray(np.broadcast_to(A, batch + (M, K)), dtype=np.int64).reshape(T, M, K)
    B3 = np.ascontiguousarray(np.broadcast_to(B, batch + (K, N)), dtype=np.int64).reshape(T, K, N)
    if C is None:
        C3 = np.zeros((T, M, N), dtype=np.int64)
    else:
        C3 = np.ascontiguousarray(np.broadcast_to(C, shape), dtype=np.int64).reshape(T, M, N)
    return A3, B3, C3, shape


def _accumulator(acc_bits: int, overflow: Overflow | str
                 ) -> tuple[int, Overflow, int, int, type[np.signedinteger]]:
    """Validated (acc_bits, policy, lo, hi, result dtype)."""
    acc_bits = check_int(acc_bits, "acc_bits", 2, 64)
    policy = as_overflow(overflow)
    if policy not in _ACC_POLICIES:
        raise ValueError(f"overflow={policy.name} does not apply to an integer accumulator; "
                         "allowed: EXACT, WRAP, SATURATE, RAISE")
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    out_dtype = np.int64 if (policy is Overflow.EXACT or acc_bits > 32) else np.int32
    return acc_bits, policy, lo, hi, out_dtype


def _check_pair_saturate(pair_saturate: int | None) -> int | None:
    return None if pair_saturate is None else check_int(pair_saturate, "pair_saturate", 2, 62)


def _max_abs(x: np.ndarray | None) -> int:
    """max |x| as a Python int (0 for an empty array); exact for int64 and object arrays."""
    if x is None or x.size == 0:
        return 0
    return max(abs(int(x.min())), abs(int(x.max())))


def _clamp(c: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """c (int64 or Python-int object array) clamped to [lo, hi], as int64."""
    return np.minimum(np.maximum(c, lo), hi).astype(np.int64)


def _finish(res: np.ndarray, bound: int, c: np.ndarray | None, acc_bits: int,
            policy: Overflow, lo: int, hi: int, out_dtype: type) -> np.ndarray:
    """Add the bias c (None, int64 or an object array of Python ints, broadcastable to
    res) to the exact sums res (integer-valued float or int64 array, |res| <= bound <
    2^63) and apply the accumulator policy EXACT, WRAP or RAISE (or SATURATE where
    bound + max|c| <= hi, so that no step can saturate). The bias is added exactly: in
    Python integers where the sum could leave int64."""
    if c is None and res.dtype != np.int64 and (bound <= hi or policy is Overflow.EXACT):
        return res.astype(out_dtype)  # cannot leave the accumulator: convert once
    res = res.astype(np.int64, copy=False)
    if c is not None:
        if c.dtype == object or bound + _max_abs(c) > INT64_MAX:
            res = res.astype(object) + c
        else:
            res = res + c
    if policy is Overflow.EXACT:
        if res.dtype == object and res.size and (res.min() < INT64_MIN or res.max() > INT64_MAX):
            idx = np.unravel_index(int(np.argmax((res < INT64_MIN) | (res > INT64_MAX))), res.shape)
            raise OverflowError(f"exact result at {list(map(int, idx))} = {res[idx]} does not fit "
                                "int64, the result dtype of overflow=Overflow.EXACT")
        return res.astype(np.int64)
    if res.size and (res.min() < lo or res.max() > hi):
        if policy is Overflow.RAISE:
            idx = np.unravel_index(int(np.argmax((res < lo) | (res > hi))), res.shape)
            raise OverflowError(f"accumulator at {list(map(int, idx))} = {int(res[idx])} "
                                f"leaves the {acc_bits}-bit range [{lo}, {hi}]")
        if res.dtype == object:
            res = (res - lo) % (1 << acc_bits) + lo
        elif acc_bits < 64:
            res = ((res - lo) & ((1 << acc_bits) - 1)) + lo
    return res.astype(out_dtype)


def _matmul_policy(A: np.ndarray, B: np.ndarray, ma: int, mb: int, bias: np.ndarray | None,
                   acc_bits: int, overflow: Overflow | str) -> np.ndarray:
    """Apply bias, accumulator width and overflow policy to the product of the
    zero-point-free operands A, B (integer-valued arrays, max|A| <= ma, max|B| <= mb).
    bias: None, int64 or an object array of Python ints, broadcastable to the output."""
    acc_bits, policy, lo, hi, out_dtype = _accumulator(acc_bits, overflow)
    K = A.shape[-1]
    bound = K * ma * mb
    if policy is Overflow.SATURATE and (bound + _max_abs(bias) > hi or bound >= (1 << 62)):
        if ma * mb >= (1 << 62):
            raise ValueError(f"operands too large for the saturating int64 kernel: "
                             f"max|a| * max|b| = {ma * mb} >= 2^62")
        c = None if bias is None else _clamp(bias, lo, hi)  # the accumulator's start
        A3, B3, C3, shape = _batch3(A, B, c)
        out = np.empty(C3.shape, dtype=np.int64)
        _k.gemm_saturate(A3, B3, C3, lo, hi, out)
        return out.reshape(shape).astype(out_dtype)
    res = _exact_matmul(A, B, ma, mb)
    return _finish(res, bound, bias, acc_bits, policy, lo, hi, out_dtype)


def _pair_matmul(a: np.ndarray, b: np.ndarray, az: np.ndarray, bz: np.ndarray,
                 bias: np.ndarray | None, acc_bits: int, overflow: Overflow | str,
                 pbits: int) -> np.ndarray:
    """gemm with pair saturation (see ``gemm``): a, b raw int64 operands, az (M,) or (1,),
    bz (N,) or (1,) int64 zero points."""
    acc_bits, policy, lo, hi, out_dtype = _accumulator(acc_bits, overflow)
    K = a.shape[-1]
    ma, mb = _max_abs(a), _max_abs(b)
    if 2 * ma * mb >= (1 << 63):
        raise ValueError(f"operands too large for pair_saturate: 2 * max|a| * max|b| = "
                         f"{2 * ma * mb} >= 2^63")
    za, zb = _max_abs(az), _max_abs(bz)
    pair_bound = min(2 * ma * mb, 1 << (pbits - 1))
    sum_bound = ((K + 1) // 2) * pair_bound
    corr_bound = K * (zb * ma + za * mb + za * zb)
    if sum_bound >= (1 << 62) or corr_bound >= (1 << 62):
        raise ValueError(f"operands too large for pair_saturate: the pair sums (up to "
                         f"{sum_bound}) or the zero-point terms (up to {corr_bound}) reach 2^62")
    saturate = policy is Overflow.SATURATE
    c = _clamp(bias, lo, hi) if (saturate and bias is not None) else None
    A3, B3, C3, shape = _batch3(a, b, c)
    out = np.empty(C3.shape, dtype=np.int64)
    klo, khi = (lo, hi) if saturate else (INT64_MIN, INT64_MAX)
    _k.gemm_pair_saturate(A3, B3, C3, -(1 << (pbits - 1)), (1 << (pbits - 1)) - 1, klo, khi, out)
    res = out.reshape(shape)
    corr = np.zeros((1, 1), dtype=np.int64)
    if zb:  # - zb[j] * sum_k a[i, k]
        corr = corr - a.sum(axis=-1, dtype=np.int64)[..., :, None] * bz[None, :]
    if za:  # - za[i] * sum_k b[k, j]
        corr = corr - az[:, None] * b.sum(axis=-2, dtype=np.int64)[..., None, :]
    if za and zb:
        corr = corr + K * (az[:, None] * bz[None, :])
    if saturate:  # one final saturating step
        if max(-lo, hi) + corr_bound > INT64_MAX:
            return _clamp(res.astype(object) + corr, lo, hi).astype(out_dtype)
        return np.clip(res + corr, lo, hi).astype(out_dtype)
    return _finish(res + corr, sum_bound + corr_bound, bias, acc_bits, policy, lo, hi, out_dtype)


def _int_values(v: npt.ArrayLike, param: str) -> np.ndarray:
    """v by value: int64, or an object array of Python ints where a value leaves int64.
    TypeError unless every element is an integer (bools excluded)."""
    a = np.asarray(v)
    if a.dtype == object:
        flat = a.reshape(-1)
        for x in flat:
            if not is_int(x):
                raise TypeError(f"{param} must hold integers, got an element of type "
                                f"{type(x).__name__}")
        vals = [int(x) for x in flat]
        if all(INT64_MIN <= x <= INT64_MAX for x in vals):
            return np.array(vals, dtype=np.int64).reshape(a.shape)
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out.reshape(a.shape)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{param} must hold integers, got dtype {a.dtype}")
    if a.dtype == np.uint64 and a.size and int(a.max()) > INT64_MAX:
        return a.astype(object)  # Python ints, by value
    return a.astype(np.int64)


def _operand(v: npt.ArrayLike, param: str) -> np.ndarray:
    a = np.asarray(v)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{param} must be an integer array, got dtype {a.dtype}")
    if a.ndim < 2:
        raise ValueError(f"{param} must have at least 2 dimensions (..., rows, cols); got {a.ndim}")
    if a.dtype == np.uint64 and a.size and a.max() >= (1 << 63):
        raise ValueError(f"{param} holds values >= 2^63 (operands must lie in int64)")
    return a


def _zero(z: npt.ArrayLike | None, param: str, length: int, what: str) -> np.ndarray:
    """A zero point by value as a 1-D int64 array: a scalar (1 element) or one per
    ``what`` (``length`` elements), each within int64."""
    zz = np.asarray(0 if z is None else z)
    if zz.dtype.kind not in "iuO":
        raise TypeError(f"{param} must be an integer scalar or 1-D array, got dtype {zz.dtype}")
    if zz.ndim > 1 or (zz.ndim == 1 and zz.size not in (1, length)):
        raise ValueError(f"{param} must be a scalar or have {length} elements (one per {what}); "
                         f"got shape {zz.shape}")
    zz = _int_values(zz, param)
    if zz.dtype == object:
        bad = next(int(x) for x in zz.reshape(-1) if not INT64_MIN <= x <= INT64_MAX)
        raise ValueError(f"{param} must be in [-2^63, 2^63 - 1], got {bad}")
    return zz.reshape(-1)


def _minus(a: np.ndarray, z: np.ndarray, row: bool, param: str, zparam: str) -> np.ndarray:
    """a - z exactly as int64 (z per row (axis -2) when ``row``, else per column (axis
    -1), or a scalar), or ValueError when a value leaves int64."""
    zz = z.reshape(-1, 1) if row else z.reshape(1, -1)
    if a.size == 0:
        return a.astype(np.int64)
    lo, hi = int(a.min()), int(a.max())
    zlo, zhi = int(z.min()), int(z.max())
    if max(abs(lo - zhi), abs(hi - zlo)) <= INT64_MAX:
        return a.astype(np.int64) - zz
    d = a.astype(object) - zz.astype(object)
    if d.min() < INT64_MIN or d.max() > INT64_MAX:
        raise ValueError(f"{param} - {zparam} leaves int64 (operands and zero points must "
                         f"differ by less than 2^63)")
    return d.astype(np.int64)


def _shifted(a: np.ndarray, z: np.ndarray, row: bool, param: str,
             zparam: str) -> tuple[np.ndarray, int]:
    """a - z with z per row (axis -2) or per column (axis -1), and max|a - z|.
    Small operands come back as exact float32 (ready for BLAS), others as int64."""
    if a.size == 0:
        return a.astype(np.int64), 0
    lo, hi = int(a.min()), int(a.max())
    zlo, zhi = int(z.min()), int(z.max())
    bound = max(abs(lo - zhi), abs(hi - zlo))
    if bound <= (1 << 24) and a.dtype.itemsize <= 2 and z.size == 1:
        d = a.astype(np.float32)
        if z[0]:
            d -= np.float32(z[0])  # exact: every value and result is an integer < 2^24
        return d, bound
    d = _minus(a, z, row, param, zparam)
    return d, _max_abs(d)


def _bias(bias: npt.ArrayLike | None, out_shape: tuple[int, ...]) -> np.ndarray | None:
    """The bias by value (int64 or Python-int object array), checked to broadcast to the
    output shape without enlarging it."""
    if bias is None:
        return None
    c = _int_values(bias, "bias")
    try:
        ok = np.broadcast_shapes(c.shape, out_shape) == tuple(out_shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"bias of shape {c.shape} does not broadcast to the output shape "
                         f"{tuple(out_shape)}")
    return c


@renamed_kwargs(a_zero="a_zero_point", b_zero="b_zero_point")
def gemm(a: npt.ArrayLike, b: npt.ArrayLike, a_zero_point: npt.ArrayLike | None = 0,
         b_zero_point: npt.ArrayLike | None = 0, *, acc_bits: int = 32,
         overflow: Overflow | str = Overflow.WRAP, bias: npt.ArrayLike | None = None,
         pair_saturate: int | None = None) -> np.ndarray:
    """Integer matrix product sum_k (a[i, k] - a_zero_point) * (b[k, j] - b_zero_point)
    (+ bias) with a ``acc_bits``-bit two's-complement accumulator.

    a: (..., M, K), b: (..., K, N) integer arrays (int2..int16 and unsigned operands are
    the intended use; any integers work while K * max|a - a_zero_point| *
    max|b - b_zero_point| < 2^62); batch dimensions broadcast as in ``np.matmul``.
    a_zero_point: scalar or one per row (M,); b_zero_point: scalar or one per column (N,);
    any integer dtype, taken by value, within int64. bias: integers broadcastable to the
    output shape (int64, uint64 or Python ints of any size, taken by value), the
    accumulator's initial value.

    overflow (an ``Overflow`` member or its name):
      EXACT     the exact sum as int64 (acc_bits ignored); OverflowError if it does not
                fit int64 (a bias near 2^63 can make it so).
      WRAP      the exact sum modulo 2^acc_bits (equal to wrapping after every step).
      SATURATE  clamp to [-2^(acc_bits-1), 2^(acc_bits-1) - 1] after every addition, in
                the order acc = clamp(bias); for k = 0..K-1: acc = clamp(acc + product)
                (products are exact). When K * max|a| * max|b| + max|bias| fits the
                accumulator no step can saturate and the fast exact path is used.
      RAISE     the exact sum; OverflowError if any leaves the accumulator range.
    INF and NAN do not apply to an integer accumulator (ValueError).
    Exact sums are computed on float BLAS in chunks of K whose partial sums are integers
    below 2^24 (float32) or 2^53 (float64), so no rounding ever occurs; the bias is added
    exactly.

    pair_saturate: None (default, the exact products above) or p in [2, 62]: the model of
    a GEMM that sums adjacent products along K into a p-bit saturating register before
    accumulating, as onnxruntime's MLAS does for uint8 x int8 (MatMulInteger,
    QLinearMatMul, DynamicQuantizeMatMul) on x86-64 CPUs without AVX512-VNNI or AVX-VNNI,
    whose vpmaddubsw instruction adds the two u8 x s8 products of each byte pair with
    signed int16 saturation (pair_saturate=16 reproduces it bit for bit; with VNNI
    onnxruntime is exact). The sum becomes
        sum_{k = 0, 2, 4, ...} clamp_p(a[i, k] * b[k, j] + a[i, k+1] * b[k+1, j])
          - bz[j] * sum_k a[i, k] - az[i] * sum_k b[k, j] + K * az[i] * bz[j]
    over the raw codes a, b (zero points az, bz not subtracted), an odd K padded with a
    zero product, clamp_p to [-2^(p-1), 2^(p-1) - 1]; the zero-point terms are not
    clamped. The accumulator policy then applies to bias + that sum as above; under
    SATURATE the order is acc = clamp(bias); for each pair (ascending k):
    acc = clamp(acc + pair); finally acc = clamp(acc + zero-point terms). It applies to
    any integer operands; on onnxruntime only the uint8 x int8 products differ from the
    exact model. Requires 2 * max|a| * max|b| < 2^63 and pair sums and zero-point terms
    below 2^62.

    Returns int32 for acc_bits <= 32, int64 otherwise (and for EXACT).
    """
    pbits = _check_pair_saturate(pair_saturate)
    av = _operand(a, "a")
    bv = _operand(b, "b")
    if av.shape[-1] != bv.shape[-2]:
        raise ValueError(f"a has K={av.shape[-1]} columns but b has {bv.shape[-2]} rows")
    try:
        batch = np.broadcast_shapes(av.shape[:-2], bv.shape[:-2])
    except ValueError:
        raise ValueError(f"batch dimensions of a {av.shape[:-2]} and b {bv.shape[:-2]} do not "
                         "broadcast") from None
    az = _zero(a_zero_point, "a_zero_point", av.shape[-2], "row of a")
    bz = _zero(b_zero_point, "b_zero_point", bv.shape[-1], "column of b")
    c = _bias(bias, batch + (av.shape[-2], bv.shape[-1]))
    if pbits is not None:
        return _pair_matmul(av.astype(np.int64), bv.astype(np.int64), az, bz, c, acc_bits,
                            overflow, pbits)
    A, ma = _shifted(av, az, True, "a", "a_zero_point")
    B, mb = _shifted(bv, bz, False, "b", "b_zero_point")
    return _matmul_policy(A, B, ma, mb, c, acc_bits, overflow)


def matmul_integer(a: npt.ArrayLike, b: npt.ArrayLike, a_zero_point: npt.ArrayLike | None = None,
                   b_zero_point: npt.ArrayLike | None = None, *,
                   pair_saturate: int | None = None) -> np.ndarray:
    """ONNX MatMulInteger: int32 (a - a_zero_point) @ (b - b_zero_point).

    a, b: int8 / uint8 (any integers accepted) with NumPy matmul batch broadcasting (at
    least 2-D). a_zero_point: scalar or one per row of a; b_zero_point: scalar or one per
    column of b (ONNX's per-row / per-column 1-D zero points); None means 0. The int32
    accumulator wraps (exact for K < 2^16 with 8-bit operands). pair_saturate=16 gives
    onnxruntime's result for uint8 x int8 on x86-64 CPUs without AVX512-VNNI / AVX-VNNI
    (see ``gemm``)."""
    return gemm(a, b, a_zero_point, b_zero_point, acc_bits=32, overflow=Overflow.WRAP,
                pair_saturate=pair_saturate)


def _range_of(dtype: np.dtype, param: str) -> tuple[int, int]:
    if dtype.kind not in "iu" or dtype.itemsize > 4:
        raise TypeError(f"{param} must have an 8/16/32-bit integer dtype (it fixes the output "
                        f"type); got {dtype}")
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def qlinear_matmul(a: npt.ArrayLike, a_scale: npt.ArrayLike, a_zero_point: npt.ArrayLike,
                   b: npt.ArrayLike, b_scale: npt.ArrayLike, b_zero_point: npt.ArrayLike,
                   y_scale: npt.ArrayLike, y_zero_point: npt.ArrayLike, *,
                   compat: str = "onnx", pair_saturate: int | None = None) -> np.ndarray:
    """ONNX QLinearMatMul: y = saturate(round((a - az) @ (b - bz) * sa * sb / sy) + yz).

    a: (..., M, K), b: (..., K, N) integers; az scalar or per row, bz scalar or per column;
    a_scale scalar, b_scale scalar or per column (N,), y_scale scalar; the output dtype is
    y_zero_point's (uint8 / int8 / ...). The integer product is exact.
    compat="onnx" (default) reproduces onnxruntime's CPU requantization bit for bit:
    multiplier = float32(float32(sa * sb) / sy), v = float32(float32(acc) * multiplier),
    rounded half to even, plus yz, saturated; the scales are float32 values there, so a
    scale outside float32's finite positive range, or a multiplier that overflows
    float32, is a ValueError. compat="exact": the exact real value acc * sa * sb / sy
    (scales taken as the float64 values given, any finite positive ones) rounded half to
    even. pair_saturate: the accumulator model of ``gemm`` (16 gives onnxruntime's result
    for uint8 x int8 on x86-64 CPUs without AVX512-VNNI / AVX-VNNI); None: exact.
    """
    if compat not in ("onnx", "exact"):
        raise ValueError(f"compat={compat!r}; allowed: 'onnx', 'exact'")
    _check_pair_saturate(pair_saturate)
    yz = np.asarray(y_zero_point)
    ylo, yhi = _range_of(yz.dtype, "y_zero_point")
    if yz.size != 1:
        raise ValueError("y_zero_point must be a scalar")
    yzv = int(yz.reshape(-1)[0])
    sa = float64_array(a_scale, "a_scale").reshape(-1)
    sb = float64_array(b_scale, "b_scale").reshape(-1)
    sy = float64_array(y_scale, "y_scale").reshape(-1)
    b_arr = np.asarray(b)
    n = b_arr.shape[-1] if b_arr.ndim >= 2 else 0
    for name, s, allowed in (("a_scale", sa, (1,)), ("b_scale", sb, (1, n)), ("y_scale", sy, (1,))):
        if s.size not in allowed:
            per = " or one per column of b" if len(allowed) > 1 else ""
            raise ValueError(f"{name} must be a scalar{per}; got {s.size} elements")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError(f"{name} must be positive and finite")
        if compat == "onnx":
            with np.errstate(over="ignore"):
                s32 = s.astype(np.float32)
            bad = ~np.isfinite(s32) | (s32 == 0)
            if bad.any():
                f32 = np.finfo(np.float32)
                raise ValueError(f"{name}={float(s[np.argmax(bad)])!r} is outside float32's finite "
                                 f"range [{float(f32.smallest_subnormal):.4g}, {float(f32.max):.8g}] "
                                 "(compat='onnx' computes with float32 scales; compat='exact' "
                                 "takes any positive float64)")
    acc = gemm(a, b_arr, a_zero_point, b_zero_point, overflow=Overflow.EXACT,
               pair_saturate=pair_saturate)
    if compat == "onnx":
        with np.errstate(over="ignore"):
            mult = ((sa.astype(np.float32) * sb.astype(np.float32))
                    / sy.astype(np.float32)).astype(np.float32)
        if not np.all(np.isfinite(mult)):
            raise ValueError("the float32 multiplier a_scale * b_scale / y_scale overflows float32 "
                             f"(a_scale={sa.tolist()}, b_scale={sb.tolist()}, y_scale={sy.tolist()})")
        v = acc.astype(np.float32) * mult
        r = np.rint(v.astype(np.float64))
        return np.clip(r + yzv, ylo, yhi).astype(yz.dtype)
    num = np.empty(sb.size, dtype=object)
    den = np.empty(sb.size, dtype=object)
    for j, sbj in enumerate(sb):
        fr = Fraction(float(sa[0])) * Fraction(float(sbj)) / Fraction(float(sy[0]))
        num[j], den[j] = fr.numerator, fr.denominator
    nums: object = num[0] if sb.size == 1 else num
    dens: object = den[0] if sb.size == 1 else den
    p = acc.astype(object) * nums
    q = p // dens
    r2 = (p - q * dens) * 2
    up = (r2 > dens) | ((r2 == dens) & (q % 2 == 1))
    res = (q + up.astype(np.int64)).astype(np.int64)
    return np.clip(res + yzv, ylo, yhi).astype(yz.dtype)

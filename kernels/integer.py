"""Integer-only arithmetic kernels: gemmlowp / TFLite fixed-point requantization and the
integer matrix products that refquant cannot hand to float BLAS.

All values are int64 arrays; int32 semantics are stated per kernel (inputs are taken to
lie in the int32 range, which the validating wrappers in ``refquant.integer`` check).
Integer arithmetic stays in int64 with explicit masks; nothing promotes to float.
"""
import numpy as np
from numba import prange

from . import njit

_INT32_MIN = -2147483648
_INT32_MAX = 2147483647


__all__ = [
    "clamp",
    "wrap32",
    "srdhm_scalar",
    "rdbpot_scalar",
    "srdhm",
    "rdbpot",
    "mbqm",
    "gemm_saturate",
    "sat_add",
    "gemm_pair_saturate",
    "gemm_int64",
    "affine_fast_prep",
    "quantize_affine_fast",
    "quantize_affine_fast_rows",
]


@njit(cache=True)
def wrap32(v):
    """v modulo 2^32 as a two's-complement int32 value held in an int64."""
    return ((v + 2147483648) & 4294967295) - 2147483648


@njit(cache=True)
def srdhm_scalar(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul of two int32 values.

    INT32_MIN * INT32_MIN (the only overflowing case) gives INT32_MAX. Otherwise, with
    ab = a * b exact in int64 and nudge = 2^30 if ab >= 0 else 1 - 2^30, the result is
    (ab + nudge) / 2^31 with C truncating division, which equals floor(ab / 2^31 + 1/2):
    the high half of 2ab rounded to nearest with ties toward +inf (-1.5 -> -1).
    """
    if a == _INT32_MIN and b == _INT32_MIN:
        return np.int64(_INT32_MAX)
    ab = np.int64(a) * np.int64(b)
    t = ab + (np.int64(1073741824) if ab >= 0 else np.int64(-1073741823))
    if t >= 0:
        return t >> 31
    return -((-t) >> 31)


@njit(cache=True)
def rdbpot_scalar(x, e):
    """gemmlowp RoundingDivideByPOT: x / 2^e (0 <= e <= 62) rounded to nearest, ties away
    from zero. mask = 2^e - 1, rem = x & mask, thr = (mask >> 1) + (x < 0),
    result = (x >> e) + (rem > thr) with an arithmetic shift."""
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


@njit(cache=True)
def srdhm(a, b, out):
    """out[i] = srdhm_scalar(a[i], b[i]) (int32 values in int64 arrays)."""
    for i in range(out.size):
        out[i] = srdhm_scalar(a[i], b[i])


@njit(cache=True)
def rdbpot(x, e, out):
    """out[i] = rdbpot_scalar(x[i], e[i])."""
    for i in range(out.size):
        out[i] = rdbpot_scalar(x[i], e[i])


@njit(cache=True)
def mbqm(x, q, shift, single, out):
    """TFLite MultiplyByQuantizedMultiplier of int32 x by the Q0.31 multiplier q (int32)
    with exponent shift, elementwise.

    single == 0 (double rounding, TFLite's default build):
        ls = max(shift, 0), rs = max(-shift, 0);
        out = RDBPOT(SRDHM(wrap32(x * 2^ls), q), rs).
        The left shift wraps modulo 2^32 as the C++ int32 product does on two's-complement
        machines.
    single == 1 (TFLITE_SINGLE_ROUNDING build, -31 <= shift <= 30):
        total = 31 - shift; out = (x * q + 2^(total - 1)) >> total (int64, arithmetic
        shift: round half up), returned unclamped (the caller checks the int32 range).
    """
    for i in range(out.size):
        s = shift[i]
        if single == 0:
            ls = s if s > 0 else 0
            rs = -s if s < 0 else 0
            xs = wrap32(x[i] << ls)
            out[i] = rdbpot_scalar(srdhm_scalar(xs, q[i]), rs)
        else:
            total = 31 - s
            out[i] = (x[i] * q[i] + (np.int64(1) << (total - 1))) >> total


@njit(cache=True)
def gemm_saturate(a, b, c, lo, hi, out):
    """Integer matrix product with an accumulator saturated at every step.

    a: (T, M, K), b: (T, K, N), c: (T, M, N) initial accumulators, all int64; out (T, M, N).
    For each (t, i, j): acc = clamp(c[t, i, j]); for k = 0, 1, ..., K-1 in ascending
    order: acc = clamp(acc + a[t, i, k] * b[t, k, j]) with clamp to [lo, hi]. Each
    product is exact (the caller guarantees |a[t, i, k] * b[t, k, j]| < 2^62); only the
    running sum saturates, and the saturating addition never leaves int64 even for
    [lo, hi] = [-2^63, 2^63 - 1]. The result depends on the order of k, which is
    ascending by definition.
    """
    T, M, K = a.shape
    N = b.shape[2]
    for t in range(T):
        for i in range(M):
            for j in range(N):
                out[t, i, j] = clamp(c[t, i, j], lo, hi)
            for k in range(K):
                aik = a[t, i, k]
                if aik == 0:
                    continue
                for j in range(N):
                    out[t, i, j] = sat_add(out[t, i, j], aik * b[t, k, j], lo, hi)


@njit(cache=True)
def clamp(v, lo, hi):
    """v limited to [lo, hi]."""
    return lo if v < lo else (hi if v > hi else v)


@njit(cache=True)
def sat_add(acc, p, lo, hi):
    """clamp(acc + p) to [lo, hi] for lo <= acc <= hi and |p| < 2^63, computed without
    leaving int64 (lo - p and hi - p are formed only where they cannot overflow)."""
    if p > 0:
        return hi if acc > hi - p else acc + p
    if p < 0:
        return lo if acc < lo - p else acc + p
    return acc


@njit(cache=True)
def gemm_pair_saturate(a, b, c, plo, phi, lo, hi, out):
    """Integer matrix product summing pairs of adjacent products, each pair saturated.

    a: (T, M, K), b: (T, K, N), c: (T, M, N), all int64; out (T, M, N). For each
    (t, i, j): acc = clamp(c[t, i, j]); for k = 0, 2, 4, ... (ascending):
        pair = a[t, i, k] * b[t, k, j] + a[t, i, k + 1] * b[t, k + 1, j]
    (the second product taken as 0 when k + 1 == K), pair = min(max(pair, plo), phi),
    acc = clamp(acc + pair), with clamp to [lo, hi] (pass [-2^63, 2^63 - 1] for a plain
    sum). This is x86's vpmaddubsw (pairs of u8 x s8 products summed into int16 with
    signed saturation) followed by an accumulator. The caller guarantees
    2 * |a| * |b| < 2^63 elementwise, plo <= 0 <= phi and lo <= 0 <= hi; the
    accumulation saturates without leaving int64 (``sat_add``), so no step overflows.
    """
    T, M, K = a.shape
    N = b.shape[2]
    for t in range(T):
        for i in range(M):
            for j in range(N):
                out[t, i, j] = clamp(c[t, i, j], lo, hi)
            for k in range(0, K, 2):
                a0 = a[t, i, k]
                a1 = a[t, i, k + 1] if k + 1 < K else np.int64(0)
                for j in range(N):
                    pair = a0 * b[t, k, j]
                    if k + 1 < K:
                        pair += a1 * b[t, k + 1, j]
                    pair = clamp(pair, plo, phi)
                    out[t, i, j] = sat_add(out[t, i, j], pair, lo, hi)


@njit(cache=True)
def gemm_int64(a, b, c, out):
    """Exact integer matrix product in int64: out[t, i, j] = c[t, i, j] +
    sum_k a[t, i, k] * b[t, k, j]. The caller guarantees no partial sum leaves int64
    (K * max|a| * max|b| + max|c| < 2^63)."""
    T, M, K = a.shape
    N = b.shape[2]
    for t in range(T):
        for i in range(M):
            for j in range(N):
                out[t, i, j] = c[t, i, j]
            for k in range(K):
                aik = a[t, i, k]
                for j in range(N):
                    out[t, i, j] += aik * b[t, k, j]


# --------------------------------------------------------------------------------------
# Fast path of the exact affine quantizer (round(x / s) + z on the real quotient,
# rounding modes 0..5 as refquant.Rounding, SATURATE) over float32 / float64 x.
#
# v = x * r with r a rounded reciprocal of s differs from the real quotient x / s by at
# most |v| * 2^-23 (1 + 2^-20) in float32 (x float32, r = float32(fl(1 / s)) a normal
# float32: two roundings of relative size 2^-24 after the float64 one) and by at most
# |v| * 2^-51 in float64 (r = fl(1 / s)). Only |v| <= B + 1 (B = max(|lo|, |hi|) +
# max|z|) can matter: beyond, the exact result and the one taken on v saturate to the
# same end. So with tol = (B + 2) * 2^-22 (float32) or (B + 2) * 2^-49 (float64),
# margins of two and four, the decision taken on v is the decision on x / s whenever v
# lies farther than tol from the points where the mode's decision changes (half-integers
# for the nearest modes 0..2, integers for the directed modes 3..5; for those, v == 0
# with x != 0 from underflow is near as well). NaN and +-inf x are always near.
#
# Elements are processed in sub-blocks of _SUB: one branch-free pass that vectorises
# writes every result and flags the sub-block if an element is near; the near elements
# of a flagged sub-block are decided again in float64 when the pass ran in float32; the
# elements near in float64 too (exact ties, non-finite x) are "unresolved": the caller
# recomputes them with the exact general kernel (``kernels.rounding.quantize_affine``),
# their flat indices collected by a second call. The kernels run their tasks with
# prange; callers restrict small inputs to one thread (numba.set_num_threads), so one
# compiled kernel serves both.
# --------------------------------------------------------------------------------------

_SUB = 256  # elements per sub-block (one flag each)


@njit(cache=True)
def affine_fast_prep(s3, z3):
    """The fast path's per-group constants in one pass over the scales s3 (float64) and
    zero points z3 (int64) of one shape: (min s, max s, max |z|, 1 / s, float64(z),
    float32(1 / s), float32(float64(z))), each operation rounded once to nearest even as
    NumPy's ``1.0 / s3``, ``astype(np.float64)`` and ``astype(np.float32)`` round (a
    reciprocal or float32 value out of range is inf or 0, as there). With no elements the
    extremes are (inf, -inf, 0)."""
    r64 = np.empty(s3.shape)
    zf64 = np.empty(s3.shape)
    r32 = np.empty(s3.shape, np.float32)
    zf32 = np.empty(s3.shape, np.float32)
    sf, zf = s3.ravel(), z3.ravel()
    rf, zff, r32f, zf32f = r64.reshape(-1), zf64.reshape(-1), r32.reshape(-1), zf32.reshape(-1)
    smin, smax, zmax = np.inf, -np.inf, 0.0
    for i in range(sf.size):
        v = sf[i]
        smin = min(smin, v)
        smax = max(smax, v)
        rf[i] = 1.0 / v
        r32f[i] = np.float32(rf[i])
        z = float(zf[i])
        zmax = max(zmax, abs(z))
        zff[i] = z
        zf32f[i] = np.float32(z)
    return smin, smax, zmax, r64, zf64, r32, zf32


@njit(cache=True)
def _is_near(v, xv, lim, tol, mode):
    """True if v = x * r is near a decision point of ``mode`` (lim = 0.5 - tol)."""
    e = abs(v - np.rint(v))
    if mode <= 2:
        return not (e <= lim)
    return (not (e >= tol)) and xv != 0


@njit(cache=True)
def _rounded(v, mode):
    """v rounded to an integral float by ``mode`` (0..2 by rint: ties are near)."""
    if mode <= 2:
        return np.rint(v)
    if mode == 3:
        return np.trunc(v)
    if mode == 4:
        return np.floor(v)
    return np.ceil(v)


@njit(cache=True)
def _redo(xb, ob, j, r64, zf64, lo, hi, lims64, mode, base, idx, pos):
    """Element j of a flagged sub-block, near in the first pass's arithmetic: decide it in
    float64; returns 1 if it stays unresolved (its flat index base + j written to
    idx[pos] when idx is not empty), else 0."""
    x64 = float(xb[j])
    v = x64 * r64
    if _is_near(v, x64, lims64[1], lims64[0], mode):
        if idx.size:
            idx[pos] = base + j
        return 1
    ob[j] = np.int32(min(max(_rounded(v, mode) + zf64, lo), hi))
    return 0


@njit(cache=True)
def _fast_span(xs, os_, r, zf, lo, hi, lim, tol, r64, zf64, lims64, mode, base, idx, pos):
    """Quantize xs into os_ with one reciprocal r and zero point zf; the first pass
    computes in the type of r, zf, lo, hi, lim, tol (float32 or float64), near elements
    are decided with r64, zf64 and lims64 = (tol, lim) in float64. Returns the number of
    unresolved elements (flat indices base + j to idx from pos when idx is not empty)."""
    n = xs.size
    cnt = 0
    lo64 = float(lo)
    hi64 = float(hi)
    for b0 in range(0, n, _SUB):
        xb = xs[b0:b0 + _SUB]
        ob = os_[b0:b0 + _SUB]
        flag = False
        if mode <= 2:
            for j in range(xb.size):
                v = xb[j] * r
                t = np.rint(v)
                flag |= not (abs(v - t) <= lim)
                ob[j] = np.int32(min(max(t + zf, lo), hi))
        else:
            for j in range(xb.size):
                xv = xb[j]
                v = xv * r
                flag |= (not (abs(v - np.rint(v)) >= tol)) & (xv != 0)
                ob[j] = np.int32(min(max(_rounded(v, mode) + zf, lo), hi))
        if flag:
            for j in range(xb.size):
                if _is_near(xb[j] * r, xb[j], lim, tol, mode):
                    cnt += _redo(xb, ob, j, r64, zf64, lo64, hi64, lims64, mode, base + b0,
                                 idx, pos + cnt)
    return cnt


@njit(cache=True)
def _fast_span_vec(xs, os_, r, zf, lo, hi, lim, tol, r64, zf64, lims64, mode, base, idx,
                   pos):
    """As _fast_span with a reciprocal and zero point per element (r[j], zf[j], r64[j],
    zf64[j])."""
    n = xs.size
    cnt = 0
    lo64 = float(lo)
    hi64 = float(hi)
    for b0 in range(0, n, _SUB):
        xb = xs[b0:b0 + _SUB]
        ob = os_[b0:b0 + _SUB]
        rb = r[b0:b0 + _SUB]
        zb = zf[b0:b0 + _SUB]
        flag = False
        if mode <= 2:
            for j in range(xb.size):
                v = xb[j] * rb[j]
                t = np.rint(v)
                flag |= not (abs(v - t) <= lim)
                ob[j] = np.int32(min(max(t + zb[j], lo), hi))
        else:
            for j in range(xb.size):
                xv = xb[j]
                v = xv * rb[j]
                flag |= (not (abs(v - np.rint(v)) >= tol)) & (xv != 0)
                ob[j] = np.int32(min(max(_rounded(v, mode) + zb[j], lo), hi))
        if flag:
            for j in range(xb.size):
                if _is_near(xb[j] * rb[j], xb[j], lim, tol, mode):
                    cnt += _redo(xb, ob, j, r64[b0 + j], zf64[b0 + j], lo64, hi64, lims64,
                                 mode, base + b0, idx, pos + cnt)
    return cnt


@njit(cache=True)
def _piece(a, end, D, Q, block, nb, Ps, vec):
    """(e, g, c0) of the piece of flat elements [a, e) that starts at a: the rest of one
    (p, block) segment (one scale: vec False) or of one row of Q elements (a scale per
    element: vec True, starting at column c0), ending at ``end`` at the latest; g is its
    row of the (Ps * nb, Qs) scale table."""
    p = a // (D * Q)
    o = a - p * D * Q
    d = o // Q
    g = (p if Ps > 1 else 0) * nb + d // block
    if vec:
        c0 = o - d * Q
        return min(a - c0 + Q, end), g, c0
    return min(p * D * Q + min(D, (d // block + 1) * block) * Q, end), g, 0


@njit(cache=True)
def _fast_range(xf, of, rows1, zrows1, lo1, hi1, lim1, tol1, rows, zrows, lims64, mode, a,
                end, D, Q, block, nb, Ps, idx, pos):
    """_fast_span over the flat elements [a, end), one (p, block) segment at a time (one
    scale each); unresolved indices go to idx from pos. Returns their number."""
    cnt = 0
    while a < end:
        e, g, c0 = _piece(a, end, D, Q, block, nb, Ps, False)
        cnt += _fast_span(xf[a:e], of[a:e], rows1[g], zrows1[g], lo1, hi1, lim1, tol1,
                          rows[g], zrows[g], lims64, mode, a, idx, pos + cnt)
        a = e
    return cnt


@njit(cache=True)
def _task_starts(counts, second):
    """Where each task's unresolved indices start in idx: sum(counts[:t]) on a second
    call, zeros on a first (whose counts are not yet known)."""
    starts = np.zeros(counts.size, np.int64)
    if second:
        for t in range(1, counts.size):
            starts[t] = starts[t - 1] + counts[t - 1]
    return starts


@njit(cache=True, parallel=True)
def quantize_affine_fast(x, r1, z1, lo1, hi1, tol1, lim1, r64, zf64, tol64, block, lo, hi,
                         mode, task, counts, idx, out):
    """The exact affine quantizer round(x / s) + z clamped to [lo, hi] (``rounding.
    quantize_affine`` with compat 0, mode 0..5, SATURATE) for finite results, without
    deciding near elements (see above), for scales constant along Q: x float32 / float64
    viewed as (P, D, Q); r64 = fl(1 / s) of shape (Ps, nb, 1), Ps in {1, P}, blocks of
    ``block`` along D as quantize_affine; zf64 the zero points as float64; [lo, hi]
    within the int32 range; tol64 = (max(|lo|, |hi|) + max|z| + 2) * 2^-49.

    The first pass computes in the type of r1, z1, lo1, hi1, tol1, lim1 = 0.5 - tol1:
    float32 (r1 = float32(r64) all normal, x float32, tol1 = (max(|lo|, |hi|) + max|z|
    + 2) * 2^-22 <= 2^-11) or float64 (r1 = r64, tol1 = tol64). The flat elements are
    cut into counts.size tasks of ``task`` elements, run on Numba's threads; counts[t]
    receives the number of unresolved elements of task t (non-finite x, and quotients
    within tol64 of a decision point), whose out is undefined. With idx not empty (a
    second call, with the counts of the first), the tasks with counts[t] > 0 write the
    ascending flat indices of their unresolved elements to idx from sum(counts[:t])
    instead. Returns sum(counts), the number of unresolved elements.
    The results do not depend on the thread count.
    """
    P, D, Q = x.shape
    Ps, nb = r64.shape[0], r64.shape[1]
    n = P * D * Q
    ntask = counts.size
    starts = _task_starts(counts, idx.size > 0)
    lims64 = (tol64, 0.5 - tol64)
    xf = x.reshape(-1)
    of = out.reshape(-1)
    rows1 = r1.reshape(-1)
    zrows1 = z1.reshape(-1)
    rows = r64.reshape(-1)
    zrows = zf64.reshape(-1)
    for t in prange(ntask):
        a = t * task
        # a second call (idx not empty) revisits only the tasks with unresolved elements
        end = a if idx.size and counts[t] == 0 else min(a + task, n)
        cnt = _fast_range(xf, of, rows1, zrows1, lo1, hi1, lim1, tol1, rows, zrows, lims64,
                          mode, a, end, D, Q, block, nb, Ps, idx, starts[t])
        if not idx.size:
            counts[t] = cnt
    return counts.sum()


@njit(cache=True)
def quantize_affine_fast_serial(x, r1, z1, lo1, hi1, tol1, lim1, r64, zf64, tol64, block,
                                lo, hi, mode, task, counts, idx, out):
    """``quantize_affine_fast`` on the calling thread alone, for inputs too small to gain
    from threads (and without the compilation of a parallel loop): the same arguments
    and the same out and idx, but the unresolved elements are counted in counts[0] alone
    (the other counts 0), and a second call (idx not empty) visits every element again."""
    P, D, Q = x.shape
    Ps, nb = r64.shape[0], r64.shape[1]
    n = P * D * Q
    lims64 = (tol64, 0.5 - tol64)
    xf = x.reshape(-1)
    of = out.reshape(-1)
    rows1 = r1.reshape(-1)
    zrows1 = z1.reshape(-1)
    rows = r64.reshape(-1)
    zrows = zf64.reshape(-1)
    cnt = _fast_range(xf, of, rows1, zrows1, lo1, hi1, lim1, tol1, rows, zrows, lims64,
                      mode, 0, n, D, Q, block, nb, Ps, idx, 0)
    if not idx.size:
        counts[:] = 0
        counts[0] = cnt
    return counts.sum()


@njit(cache=True, parallel=True)
def quantize_affine_fast_rows(x, r1, z1, lo1, hi1, tol1, lim1, r64, zf64, tol64, block, lo,
                              hi, mode, task, counts, idx, out):
    """quantize_affine_fast for scales that vary along Q: r1, z1, r64, zf64 of shape
    (Ps, nb, Q), element (p, d, q) taking column q of row (p, d // block)."""
    P, D, Q = x.shape
    Ps, nb = r64.shape[0], r64.shape[1]
    n = P * D * Q
    ntask = counts.size
    starts = _task_starts(counts, idx.size > 0)
    lims64 = (tol64, 0.5 - tol64)
    xf = x.reshape(-1)
    of = out.reshape(-1)
    rows1 = r1.reshape(Ps * nb, Q)
    zrows1 = z1.reshape(Ps * nb, Q)
    rows = r64.reshape(Ps * nb, Q)
    zrows = zf64.reshape(Ps * nb, Q)
    for t in prange(ntask):
        a = t * task
        # a second call (idx not empty) revisits only the tasks with unresolved elements
        end = a if idx.size and counts[t] == 0 else min(a + task, n)
        cnt = 0
        while a < end:
            e, g, c0 = _piece(a, end, D, Q, block, nb, Ps, True)
            k1 = c0 + (e - a)
            cnt += _fast_span_vec(xf[a:e], of[a:e], rows1[g, c0:k1], zrows1[g, c0:k1], lo1,
                                  hi1, lim1, tol1, rows[g, c0:k1], zrows[g, c0:k1], lims64,
                                  mode, a, idx, starts[t] + cnt)
            a = e
        if not idx.size:
            counts[t] = cnt
    return counts.sum()

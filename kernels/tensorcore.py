"""Tensor-core block-FMA kernels: bit-accurate models of NVIDIA MMA numerics.

Every operand is first split into an exact signed integer significand and an exponent
(``decompose``); the block FMA then works on integers only. A value v != 0 is held as
``sig * 2^(exp - p)`` with ``exp = max(floor(log2 |v|), emin)`` (subnormals keep
|sig| < 2^p), so a product of two operands is ``sig_a * sig_b * 2^(exp_a + exp_b - 2p)``:
exact and NOT renormalised (its significand lies in [0, 4)).

One block FMA D = C + sum_i a_i b_i (``block_fma``):
1. maxe = max(exp_a + exp_b over the non-zero products, exp_c if c != 0, min_exp);
   C joins as an fp32 value: exp_c = max(floor(log2 |c|), -126), 23 fraction bits.
2. Every term is aligned to the grid 2^L with L = maxe - 23 - neab: its magnitude is
   truncated (bits below 2^L are discarded, no guard or sticky bit), then its sign is
   applied. The aligned integers are summed exactly (int64).
3. The sum S * 2^L is normalised once and rounded to the output format (``round_fixed``):
   ``frac`` fraction bits, minimum normal exponent ``out_emin`` (below it the grid is
   that of the subnormals), rounding mode 3 (toward zero) or 0 (nearest even); a result
   of magnitude >= 2^(out_emax + 1) after rounding becomes +-inf. An exactly zero sum
   gives +0.
4. NaN operands, inf * 0, or +inf and -inf together give NaN; otherwise an infinite
   product or C gives that infinity.

Rounding decisions use ``kernels.rounding.choose`` (modes as ``refquant.Rounding``).
"""
import math

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic

from . import njit
from .rounding import choose

__all__ = [
    "split_finite",
    "decompose",
    "bit_length",
    "round_magnitude",
    "mirrored_mode",
    "round_fixed",
    "shift_trunc",
    "block_fma",
    "add_round",
    "dot_chain",
    "mma_rows",
    "gemm",
    "int_gemm",
    "bin_gemm",
    "decompose_fast",
    "dot_chain_fast",
    "gemm_fast",
    "mma_rows_fast",
    "gemm_tiled",
    "decompose_tiles",
]


_NO_LIMIT = -1000000


@njit(cache=True)
def split_finite(v, p, emin):
    """(sig, exp) of a finite v != 0: exp = max(floor(log2 |v|), emin) and the signed
    int64 sig = v * 2^(p - exp) (an integer when v has at most p fraction bits above
    2^emin, which the caller guarantees)."""
    e = math.frexp(abs(v))[1] - 1
    if e < emin:
        e = emin
    return np.int64(math.ldexp(v, p - e)), np.int64(e)


@njit(cache=True)
def decompose(x, p, emin, sig, exp, cls):
    """Split float64 values into exact integer significands and exponents.

    For finite x != 0: exp[i] = max(floor(log2 |x|), emin) and sig[i] = x * 2^(p - exp[i])
    (signed; the caller guarantees it is an integer, i.e. x is representable with p
    fraction bits above 2^emin). x == 0 gives sig = 0, exp = emin. cls[i] is 0 for
    finite values, 1 for +inf, 2 for -inf, 3 for NaN (sig = 0 then).
    """
    for i in range(x.size):
        v = x[i]
        if math.isnan(v):
            cls[i] = 3
            sig[i] = 0
            exp[i] = emin
        elif math.isinf(v):
            cls[i] = 1 if v > 0 else 2
            sig[i] = 0
            exp[i] = emin
        elif v == 0.0:
            cls[i] = 0
            sig[i] = 0
            exp[i] = emin
        else:
            cls[i] = 0
            sig[i], exp[i] = split_finite(v, p, emin)


@intrinsic
def _ctlz64(typingctx, x):
    """Count of leading zero bits of an int64 (64 for 0): LLVM's ctlz."""
    if not isinstance(x, types.Integer) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctlz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.int64(x), codegen


@njit(cache=True)
def bit_length(m):
    """Number of bits of the non-negative int64 m (0 for m == 0)."""
    return 64 - _ctlz64(np.int64(m))


@njit(cache=True)
def round_magnitude(m, lexp, out_emin, frac, md):
    """Round the exact magnitude m * 2^lexp (m > 0 an int64) to ``frac`` fraction bits
    with minimum normal exponent ``out_emin`` by rounding mode ``md`` (a Rounding value
    already mirrored for a negative value: UP and DOWN swap).

    Returns (r, q, e): the rounded magnitude is r * 2^q (r an int64, possibly 0 or
    2^(frac + 1) after a carry) and e = max(floor(log2(m * 2^lexp)), out_emin) is the
    exponent the grid was chosen from (q = e - frac).
    """
    e = bit_length(m) - 1 + lexp
    if e < out_emin:
        e = out_emin
    q = e - frac
    sh = q - lexp
    if sh <= 0:
        r = m << (-sh)
    elif sh > 62:
        # 0 < m < 2^62 < half an output quantum: only directed rounding can move it.
        r = choose(np.int64(0), -1, False, 0.0, md, 0, 0)
    else:
        fl = m >> sh
        rem = m & ((np.int64(1) << sh) - 1)
        half = np.int64(1) << (sh - 1)
        c = -1 if rem < half else (1 if rem > half else 0)
        # the fractional part matters to STOCHASTIC (6) only
        fr = rem / (np.int64(1) << sh) if md == 6 else 0.0
        r = choose(fl, c, rem == 0, fr, md, 0, 0)
    return r, q, e


@njit(cache=True)
def mirrored_mode(mode, neg):
    """The rounding mode acting on the magnitude of a value of sign ``neg``: directed
    modes UP (4) and DOWN (5) swap for negative values; the others act on magnitudes."""
    if neg and mode == 4:
        return 5
    if neg and mode == 5:
        return 4
    return mode


@njit(cache=True)
def round_fixed(s, lexp, out_emin, out_emax, frac, mode):
    """Round the exact value s * 2^lexp (s an int64) to a binary float format.

    The format has ``frac`` fraction bits, minimum normal exponent ``out_emin`` (gradual
    underflow below it) and maximum exponent ``out_emax``; ``mode`` is a Rounding value
    (0 nearest even, 3 toward zero, ...). A rounded magnitude >= 2^(out_emax + 1) gives
    +-inf; s == 0 gives +0. Returns a float64 holding the rounded value exactly.
    """
    if s == 0:
        return 0.0
    neg = s < 0
    m = -s if neg else s
    r, q, _ = round_magnitude(m, lexp, out_emin, frac, mirrored_mode(mode, neg))
    val = math.ldexp(float(r), q)
    if val >= math.ldexp(1.0, out_emax + 1):
        val = math.inf
    return -val if neg else val


@njit(cache=True)
def shift_trunc(m, sh):
    """m * 2^sh truncated toward zero for a magnitude m >= 0 (an int64): m << sh for
    sh >= 0, m >> -sh for -63 < sh < 0, and 0 below (every bit shifted out). The caller
    guarantees the left shift does not overflow."""
    if sh >= 0:
        return m << sh
    if sh > -63:
        return m >> (-sh)
    return np.int64(0)


@njit(cache=True)
def block_fma(asig, aexp, acls, bsig, bexp, bcls, k0, k1, sel, c, two_p, neab, min_exp,
              out_emin, out_emax, frac, mode):
    """One block FMA D = c + sum a[k] b[k] over k in [k0, k1) (see the module docstring).

    sel 0 takes every k; 1 only k with k % 4 < 2; 2 only k with k % 4 >= 2 (the two
    half-blocks of an fp8 mma.sync executed as two fp16 MMAs). ``two_p`` is twice the
    operands' fraction bits, c a float64 holding an fp32 or fp16 value. Returns D as a
    float64 holding the rounded output value.
    """
    nan = False
    pinf = False
    ninf = False
    maxe = _NO_LIMIT
    any_term = False
    for k in range(k0, k1):
        if sel == 1 and (k & 3) >= 2:
            continue
        if sel == 2 and (k & 3) < 2:
            continue
        ca = acls[k]
        cb = bcls[k]
        if ca != 0 or cb != 0:
            if ca == 3 or cb == 3:
                nan = True
            elif (ca == 0 and asig[k] == 0) or (cb == 0 and bsig[k] == 0):
                nan = True
            else:
                na = ca == 2 or (ca == 0 and asig[k] < 0)
                nb = cb == 2 or (cb == 0 and bsig[k] < 0)
                if na != nb:
                    ninf = True
                else:
                    pinf = True
            continue
        if asig[k] == 0 or bsig[k] == 0:
            continue
        e = aexp[k] + bexp[k]
        if e > maxe:
            maxe = e
        any_term = True
    if math.isnan(c):
        nan = True
    elif math.isinf(c):
        if c > 0:
            pinf = True
        else:
            ninf = True
    if nan or (pinf and ninf):
        return math.nan
    if pinf:
        return math.inf
    if ninf:
        return -math.inf
    csig = np.int64(0)
    cexp = 0
    if c != 0.0:
        cexp = math.frexp(abs(c))[1] - 1
        if cexp < -126:
            cexp = -126
        csig = np.int64(math.ldexp(abs(c), 23 - cexp))
        if cexp > maxe:
            maxe = cexp
        any_term = True
    if not any_term:
        return 0.0
    if maxe < min_exp:
        maxe = min_exp
    lexp = maxe - 23 - neab
    s = np.int64(0)
    for k in range(k0, k1):
        if sel == 1 and (k & 3) >= 2:
            continue
        if sel == 2 and (k & 3) < 2:
            continue
        pr = asig[k] * bsig[k]
        if pr == 0:
            continue
        m = shift_trunc(-pr if pr < 0 else pr, aexp[k] + bexp[k] - two_p - lexp)
        s += -m if pr < 0 else m
    if csig != 0:
        m = shift_trunc(csig, cexp - 23 - lexp)
        s += -m if c < 0 else m
    return round_fixed(s, lexp, out_emin, out_emax, frac, mode)


@njit(cache=True)
def add_round(h, c, out_emin, out_emax, frac, mode):
    """h + c rounded once to the output format (the separate C addition of fp8 mma.sync).

    h and c hold fp32 (or fp16) values; their float64 sum is exact or, for exponents far
    apart, correctly rounded to 53 bits, and rounding that again to <= 24 bits by nearest
    even equals rounding the exact sum (53 >= 2 * 24 + 2). IEEE specials follow float64.
    """
    s = h + c
    if not math.isfinite(s):
        return s
    if s == 0.0:
        return 0.0
    m, e = math.frexp(s)
    si = np.int64(math.ldexp(m, 53))
    return round_fixed(si, e - 53, out_emin, out_emax, frac, mode)


@njit(cache=True)
def dot_chain(asig, aexp, acls, bsig, bexp, bcls, c, kdim, n, sync, two_p, neab, min_exp,
              out_emin, out_emax, frac, mode):
    """Chain block FMAs over k = 0 .. kdim - 1 (blocks of n terms, zero padded): each
    block's rounded D is the C of the next. sync == 1 selects the fp8 mma.sync model:
    per chunk of n = 32 terms, h = 0; h = block(k % 4 < 2, h); h = block(k % 4 >= 2, h);
    D = add_round(h, C) (nearest even)."""
    d = c
    for k0 in range(0, kdim, n):
        k1 = min(k0 + n, kdim)
        if sync == 1:
            h = block_fma(asig, aexp, acls, bsig, bexp, bcls, k0, k1, 1, 0.0, two_p, neab,
                          min_exp, out_emin, out_emax, frac, mode)
            h = block_fma(asig, aexp, acls, bsig, bexp, bcls, k0, k1, 2, h, two_p, neab,
                          min_exp, out_emin, out_emax, frac, mode)
            d = add_round(h, d, out_emin, out_emax, frac, 0)
        else:
            d = block_fma(asig, aexp, acls, bsig, bexp, bcls, k0, k1, 0, d, two_p, neab,
                          min_exp, out_emin, out_emax, frac, mode)
    return d


@njit(cache=True)
def mma_rows(asig, aexp, acls, bsig, bexp, bcls, c, n, sync, two_p, neab, min_exp,
             out_emin, out_emax, frac, mode, out):
    """out[r] = dot_chain of row r of the decomposed a and b (rows x K) with C = c[r]."""
    rows, kdim = asig.shape
    for r in range(rows):
        out[r] = dot_chain(asig[r], aexp[r], acls[r], bsig[r], bexp[r], bcls[r], c[r], kdim,
                           n, sync, two_p, neab, min_exp, out_emin, out_emax, frac, mode)


@njit(cache=True)
def gemm(asig, aexp, acls, bsig, bexp, bcls, c, n, sync, two_p, neab, min_exp,
         out_emin, out_emax, frac, mode, out):
    """out[i, j] = dot_chain(A[i, :], Bt[j, :], C[i, j]): A decomposed as (M, K), B
    transposed and decomposed as (N, K), c of shape (M, N)."""
    mdim, kdim = asig.shape
    ndim = bsig.shape[0]
    for i in range(mdim):
        for j in range(ndim):
            out[i, j] = dot_chain(asig[i], aexp[i], acls[i], bsig[j], bexp[j], bcls[j],
                                  c[i, j], kdim, n, sync, two_p, neab, min_exp, out_emin,
                                  out_emax, frac, mode)


@njit(cache=True)
def int_gemm(a, bt, c, kstep, saturate, out):
    """Integer MMA: out[i, j] = C + sum_k a[i, k] bt[j, k] with int32 accumulation.

    The sum of each chunk of ``kstep`` products (one mma instruction) is exact; the
    running int32 accumulator then either wraps modulo 2^32 (saturate 0) or is clamped
    to [-2^31, 2^31 - 1] (saturate 1, PTX .satfinite) after every chunk.
    """
    mdim, kdim = a.shape
    ndim = bt.shape[0]
    lo = -np.int64(2147483648)
    hi = np.int64(2147483647)
    for i in range(mdim):
        for j in range(ndim):
            acc = np.int64(c[i, j])
            for k0 in range(0, kdim, kstep):
                s = np.int64(0)
                for k in range(k0, min(k0 + kstep, kdim)):
                    s += np.int64(a[i, k]) * np.int64(bt[j, k])
                acc += s
                if saturate == 1:
                    if acc > hi:
                        acc = hi
                    elif acc < lo:
                        acc = lo
                else:
                    acc = ((acc - lo) & np.int64(0xFFFFFFFF)) + lo
            out[i, j] = acc


@njit(cache=True)
def bin_gemm(a, bt, c, op, out):
    """Binary MMA: out[i, j] = C + popc over k of (a[i, k] op bt[j, k]) with a, bt bits
    (0/1 int8), op 0 XOR, 1 AND; the int32 accumulator wraps modulo 2^32."""
    mdim, kdim = a.shape
    ndim = bt.shape[0]
    lo = -np.int64(2147483648)
    for i in range(mdim):
        for j in range(ndim):
            s = np.int64(c[i, j])
            for k in range(kdim):
                if op == 0:
                    s += np.int64(a[i, k] ^ bt[j, k])
                else:
                    s += np.int64(a[i, k] & bt[j, k])
            out[i, j] = ((s - lo) & np.int64(0xFFFFFFFF)) + lo


_ZERO_EXP = -(1 << 24)


@njit(cache=True)
def decompose_fast(x, p, emin, sig, exp):
    """As ``decompose`` for finite x, except that a zero gets exponent -2^24 so that
    it can never be the largest exponent of a block (used by the fast kernels)."""
    for i in range(x.size):
        v = x[i]
        if v == 0.0:
            sig[i] = 0
            exp[i] = _ZERO_EXP
        else:
            sig[i], exp[i] = split_finite(v, p, emin)


@njit(cache=True)
def dot_chain_fast(asig, aexp, bsig, bexp, c, kdim, n, two_p, neab, min_exp,
                   out_emin, out_emax, frac, mode):
    """``dot_chain`` (sync = 0) for finite operands decomposed by ``decompose_fast`` and
    a finite c: the same arithmetic with the running D held as integers between blocks.

    D is carried as sign, magnitude r and exponent q (|D| = r * 2^q exactly, as
    ``round_magnitude`` returns it) plus dlog = floor(log2 |D|), so a block's C needs no
    float decomposition: C's exponent is max(dlog, -126) (C joins as an fp32 value) and
    its aligned magnitude is r * 2^(q - L) truncated. A product term's truncated
    magnitude on the grid 2^L, L = maxe - 23 - neab, is (|P| << g) >> min(maxe - e + h,
    63) with g = max(G, 0), h = max(-G, 0) and G = 23 + neab - two_p; a zero operand
    carries exponent -2^24, so its (zero) product never sets maxe and shifts out.
    A rounded magnitude >= 2^(out_emax + 1) gives +-inf, which later blocks of finite
    terms keep. A signed zero from rounding is kept; a block whose terms are all zero
    gives +0 (as ``block_fma``).
    """
    if kdim == 0:
        return c
    big_g = 23 + neab - two_p
    gpos = big_g if big_g > 0 else 0
    hneg = -big_g if big_g < 0 else 0
    dneg = c < 0.0
    dmag = np.int64(0)
    dq = np.int64(0)
    dlog = np.int64(0)
    if c != 0.0:
        dlog = np.int64(math.frexp(abs(c))[1] - 1)
        ce = dlog if dlog > -126 else np.int64(-126)
        dmag = np.int64(math.ldexp(abs(c), 23 - ce))
        dq = ce - 23
    one = np.int64(1)
    for k0 in range(0, kdim, n):
        k1 = min(k0 + n, kdim)
        # slices, not indices from k0: contiguous loads (no negative-index wraparound)
        ae = aexp[k0:k1]
        be = bexp[k0:k1]
        sa = asig[k0:k1]
        sb = bsig[k0:k1]
        maxe = np.int64(_ZERO_EXP)
        for k in range(ae.size):
            e = ae[k] + be[k]
            if e > maxe:
                maxe = e
        if dmag != 0:
            ce = dlog if dlog > -126 else np.int64(-126)
            if ce > maxe:
                maxe = ce
        elif maxe < -(1 << 23):
            dneg = False
            continue
        if maxe < min_exp:
            maxe = min_exp
        lexp = maxe - 23 - neab
        s = np.int64(0)
        for k in range(ae.size):
            pr = sa[k] * sb[k]
            sg = pr >> 63
            m = (pr ^ sg) - sg
            sh = min(maxe - ae[k] - be[k] + hneg, 63)
            t = (m << gpos) >> sh
            s += (t ^ sg) - sg
        if dmag != 0:
            m = shift_trunc(dmag, dq - lexp)
            s += -m if dneg else m
        if s == 0:
            dneg = False
            dmag = np.int64(0)
            continue
        dneg = s < 0
        m = -s if dneg else s
        r, q, e = round_magnitude(m, lexp, out_emin, frac, mirrored_mode(mode, dneg))
        dmag = r
        dq = q
        if r == 0:
            continue
        if r >= (one << (frac + 1)):
            dlog = e + 1
        elif r >= (one << frac):
            dlog = e
        else:
            dlog = bit_length(r) - 1 + q
        if dlog > out_emax:
            return -math.inf if dneg else math.inf
    if dmag == 0:
        return -0.0 if dneg else 0.0
    val = math.ldexp(float(dmag), dq)
    return -val if dneg else val


@njit(cache=True, parallel=True)
def gemm_fast(asig, aexp, bsig, bexp, c, n, two_p, neab, min_exp, out_emin, out_emax,
              frac, mode, out):
    """``gemm`` (sync = 0) for finite operands from ``decompose_fast`` and finite C
    (rows of the output in parallel; each element is independent, so the result does
    not depend on the thread count)."""
    mdim, kdim = asig.shape
    ndim = bsig.shape[0]
    # four rows of A per row of B while that row is in L1 (the order does not matter:
    # every element is computed on its own)
    for ib in prange((mdim + 3) // 4):
        i1 = min(4 * ib + 4, mdim)
        for j in range(ndim):
            for i in range(4 * ib, i1):
                out[i, j] = dot_chain_fast(asig[i], aexp[i], bsig[j], bexp[j], c[i, j], kdim,
                                           n, two_p, neab, min_exp, out_emin, out_emax, frac,
                                           mode)


@njit(cache=True)
def mma_rows_fast(asig, aexp, bsig, bexp, c, n, two_p, neab, min_exp, out_emin, out_emax,
                  frac, mode, out):
    """``mma_rows`` (sync = 0) for finite operands from ``decompose_fast`` and finite c."""
    rows, kdim = asig.shape
    for r in range(rows):
        out[r] = dot_chain_fast(asig[r], aexp[r], bsig[r], bexp[r], c[r], kdim, n, two_p,
                                neab, min_exp, out_emin, out_emax, frac, mode)


_TJ = 64  # output columns per tile of ``gemm_tiled`` (its packed B's last axis)


@njit(cache=True)
def _round_tile(s, mx, done, dneg, dmag, dq, dlog, neab, out_emin, out_emax, frac,
                rne):
    """The end of one block FMA for the 64 elements of a ``gemm_tiled`` tile, for
    truncation (rne False) or nearest even (rne True), without branches so that it
    vectorises: the running D (dneg, dmag * 2^dq, dlog = floor(log2 |D|)) joins the
    aligned product sum s on the grid 2^L, L = mx - 23 - neab, truncated as
    ``shift_trunc``; the sum is rounded as ``round_magnitude`` and becomes the new D
    (a zero sum gives D = +0). Elements marked ``done`` (D already infinite) keep
    everything; a new |D| >= 2^(out_emax + 1) marks the element done."""
    one = np.int64(1)
    for jj in range(_TJ):
        lexp = mx[jj] - 23 - neab
        sh = dq[jj] - lexp
        shl = sh if sh > 0 else 0
        shl = shl if shl < 63 else 63  # a zero D only: a non-zero D never moves left far
        shr = -sh if sh < 0 else 0
        shr = shr if shr < 63 else 63
        cm = (dmag[jj] << shl) >> shr
        sj = s[jj] + (-cm if dneg[jj] else cm)
        ng = sj < 0
        m = -sj if ng else sj
        e = 63 - _ctlz64(m) + lexp
        e = e if e > out_emin else out_emin
        q = e - frac
        sh = q - lexp
        shl = -sh if sh < 0 else 0
        shr = sh if sh > 0 else 0
        shr = shr if shr < 63 else 63
        fl = (m << shl) >> shr
        rem = m & ((one << shr) - 1)
        half = one << (shr - 1 if shr > 0 else 0)
        up = rne and shr > 0 and (rem > half or (rem == half and (fl & 1) == 1))
        r = fl + 1 if up else fl
        dl = 63 - _ctlz64(r) + q
        keep = done[jj]
        dneg[jj] = dneg[jj] if keep else ng
        dmag[jj] = dmag[jj] if keep else r
        dq[jj] = dq[jj] if keep else q
        dlog[jj] = dlog[jj] if keep or r == 0 else dl
        done[jj] = keep or (r != 0 and dl > out_emax)


@njit(cache=True, parallel=True)
def gemm_tiled(asig, aexp, bsig, bexp, c, n, two_p, neab, min_exp, out_emin, out_emax,
               frac, mode, out):
    """``gemm_fast`` with B packed in tiles of 64 columns: the same arithmetic and result
    bit for bit, computed for 64 output elements at once.

    asig, aexp: A decomposed by ``decompose_fast`` (M, K), int32. bsig, bexp: B (K, N)
    decomposed by ``decompose_tiles``, (ceil(N / 64), K, 64) int32 with zero columns
    beyond N, so that one k of a tile is 64 contiguous values. c (M, N) finite;
    out (M, N). Per block of n terms, each of the 64 elements takes its own maximum
    exponent, alignment shifts and exact int64 sum (loops over the 64 columns, which
    vectorise), then its own rounding and running D exactly as ``dot_chain_fast``. Rows of 4 run in parallel; each element is computed
    on its own, so the result does not depend on the thread count.
    """
    mdim, kdim = asig.shape
    ntiles = bsig.shape[0]
    tj = bsig.shape[2]
    ndim = out.shape[1]
    big_g = 23 + neab - two_p
    gpos = big_g if big_g > 0 else 0
    hneg = -big_g if big_g < 0 else 0
    simple = mode == 0 or mode == 3
    rne = mode == 0
    for ib in prange((mdim + 3) // 4):
        mx = np.empty(_TJ, np.int64)
        s = np.empty(_TJ, np.int64)
        done = np.empty(_TJ, np.bool_)
        dneg = np.empty(_TJ, np.bool_)
        dmag = np.empty(_TJ, np.int64)
        dq = np.empty(_TJ, np.int64)
        dlog = np.empty(_TJ, np.int64)
        i1 = min(4 * ib + 4, mdim)
        for t in range(ntiles):
            bs = bsig[t]
            be = bexp[t]
            for i in range(4 * ib, i1):
                sa_row = asig[i]
                ea_row = aexp[i]
                for jj in range(_TJ):
                    j = t * _TJ + jj
                    cv = c[i, j] if j < ndim else 0.0
                    done[jj] = False
                    dneg[jj] = cv < 0.0
                    dmag[jj] = 0
                    dq[jj] = 0
                    dlog[jj] = 0
                    if cv != 0.0:
                        dl = np.int64(math.frexp(abs(cv))[1] - 1)
                        ce = dl if dl > -126 else np.int64(-126)
                        dlog[jj] = dl
                        dmag[jj] = np.int64(math.ldexp(abs(cv), 23 - ce))
                        dq[jj] = ce - 23
                for k0 in range(0, kdim, n):
                    k1 = min(k0 + n, kdim)
                    # views from k0 and indices from 0: contiguous loads, no wraparound
                    bsl = bs[k0:k1]
                    bel = be[k0:k1]
                    sal = sa_row[k0:k1]
                    eal = ea_row[k0:k1]
                    for jj in range(_TJ):
                        mx[jj] = _ZERO_EXP
                    for kk in range(k1 - k0):
                        ea = np.int64(eal[kk])
                        # a trip count LLVM does not know: a vector loop rather than
                        # unrolled scalar steps
                        for jj in range(tj):
                            e = ea + bel[kk, jj]
                            mx[jj] = e if e > mx[jj] else mx[jj]
                    for jj in range(_TJ):
                        # C joins as an fp32 value. A block of zero terms with D zero
                        # sums to 0 and gives +0 (as dot_chain_fast, which passes it by).
                        dl = dlog[jj] if dlog[jj] > -126 else np.int64(-126)
                        live = dmag[jj] != 0
                        me = dl if live and dl > mx[jj] else mx[jj]
                        mx[jj] = me if me > min_exp else min_exp
                        s[jj] = 0
                    for kk in range(k1 - k0):
                        sa = np.int64(sal[kk])
                        ea = np.int64(eal[kk]) - hneg
                        for jj in range(_TJ):
                            pr = sa * bsl[kk, jj]
                            sg = pr >> 63
                            m = (pr ^ sg) - sg
                            sh = mx[jj] - ea - bel[kk, jj]
                            sh = sh if sh < 63 else 63
                            tm = (m << gpos) >> sh
                            s[jj] += (tm ^ sg) - sg
                    if simple:
                        _round_tile(s, mx, done, dneg, dmag, dq, dlog, neab, out_emin,
                                    out_emax, frac, rne)
                        continue
                    for jj in range(_TJ):
                        if done[jj]:
                            continue
                        lexp = mx[jj] - 23 - neab
                        sj = s[jj]
                        if dmag[jj] != 0:
                            m = shift_trunc(dmag[jj], dq[jj] - lexp)
                            sj += -m if dneg[jj] else m
                        if sj == 0:
                            dneg[jj] = False
                            dmag[jj] = 0
                            continue
                        ng = sj < 0
                        m = -sj if ng else sj
                        r, q, e = round_magnitude(m, lexp, out_emin, frac,
                                                  mirrored_mode(mode, ng))
                        dneg[jj] = ng
                        dmag[jj] = r
                        dq[jj] = q
                        if r == 0:
                            continue
                        dl = bit_length(r) - 1 + q
                        dlog[jj] = dl
                        if dl > out_emax:
                            done[jj] = True
                for jj in range(_TJ):
                    j = t * _TJ + jj
                    if j >= ndim:
                        break
                    if kdim == 0:
                        out[i, j] = c[i, j]
                    elif done[jj]:
                        out[i, j] = -math.inf if dneg[jj] else math.inf
                    elif dmag[jj] == 0:
                        out[i, j] = -0.0 if dneg[jj] else 0.0
                    else:
                        val = math.ldexp(float(dmag[jj]), dq[jj])
                        out[i, j] = -val if dneg[jj] else val


@njit(cache=True)
def decompose_tiles(x, p, emin, sig, exp):
    """B (K, N) finite, decomposed as ``decompose_fast`` into the packed int32 layout of
    ``gemm_tiled``: sig[t, k, jj] and exp[t, k, jj] hold element (k, 64 t + jj) of x;
    columns beyond N hold zeros (sig 0, exponent -2^24). sig and exp: (ceil(N / 64),
    K, 64) int32."""
    kdim, ndim = x.shape
    for t in range(sig.shape[0]):
        for k in range(kdim):
            for jj in range(_TJ):
                j = t * _TJ + jj
                v = x[k, j] if j < ndim else 0.0
                if v == 0.0:
                    sig[t, k, jj] = 0
                    exp[t, k, jj] = _ZERO_EXP
                else:
                    sig[t, k, jj], exp[t, k, jj] = split_finite(v, p, emin)

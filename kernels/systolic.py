"""Cycle-accurate systolic-array kernels: output-stationary (OS) and weight-stationary
(WS) integer GEMM on an R x C grid of processing elements, stepped register by register,
cycle by cycle. Input stationary (IS) is the WS kernel applied to the transposed product
(the public layer swaps the operands); the column-combined and term-serial PE variants
are WS kernels too.

Conventions shared by every kernel
----------------------------------
* All arrays are int64. Operand values are integers whose products are exact in int64
  (the caller checks |a * b| <= 2^62); the accumulator is a two's-complement register of
  ``acc_bits`` bits with range [lo, hi] = [-2^(acc_bits-1), 2^(acc_bits-1) - 1],
  acc_bits <= 62.
* ``policy`` is ``refquant.Overflow``'s integer: 0 SATURATE (clamp to [lo, hi] after every
  addition), 1 WRAP (keep the low acc_bits bits, two's complement), 2 RAISE (stop at the
  first addition whose exact sum leaves [lo, hi]; ``err`` receives
  [1, global cycle, fold, output row, output column, k]).
* Every output element is accumulated in ascending k: acc_0 = 0,
  acc_{k+1} = policy(acc_k + a[m, k] * b[k, n]); in WS/IS the partial sum of one K-fold
  enters the top of the next K-fold's column, so the order is kept across folds. This
  is the integer GEMM rule of ``refquant.intops`` (saturation at every step, ascending k).
* One clock cycle = every register of the array loads its next value at once (the
  kernels update PEs in reverse row/column order, so each PE reads its neighbours'
  values of the previous cycle). Cycles are counted from 0 at the start of the run;
  folds run one after another with no overlap.
* Folds: the column fold is the outer loop and the row fold the inner loop.
* ``folds`` (nfolds x NFOLD int64) receives per fold: FOLD_* columns below.
* ``trace`` (ncap x 3 x R x C) receives, for every global cycle t < ncap, the register
  state at the end of cycle t (three planes; see each kernel). Pass a (0, 3, 1, 1) array
  for no trace.
* Each kernel returns the total number of cycles it simulated; the run ends when the
  last output has been written (the count is emergent, not computed from a formula).
"""
import numpy as np
from numba import njit

# Columns of the per-fold statistics array.
FOLD_ROW0 = 0      # first spatial row (operand index) of the fold
FOLD_ROWS = 1      # spatial rows used
FOLD_COL0 = 2      # first spatial column
FOLD_COLS = 3      # spatial columns used
FOLD_START = 4     # global cycle at which the fold starts
FOLD_CYCLES = 5    # cycles the fold took
FOLD_MACS = 6      # multiply-accumulates with two valid operands in mapped PEs
FOLD_A_READS = 7   # SRAM reads of the streamed (OS: left-edge) operand
FOLD_B_READS = 8   # SRAM reads of the other operand (OS: top edge; WS: preloaded weights)
FOLD_OUT_WRITES = 9  # output (partial-sum) SRAM writes
FOLD_PSUM_READS = 10  # partial sums read back into the top of the array (WS K-folds > 0)
FOLD_BUSY = 11     # term-serial PEs: busy PE-cycles (one per term); else equal to MACs
FOLD_BEAT = 12     # cycles per systolic beat (1 for single-cycle PEs)
NFOLD = 13


@njit(cache=True)
def acc_add(acc, p, lo, hi, policy):
    """Return (policy(acc + p), overflowed) for an accumulator with range [lo, hi].

    hi - lo must be 2^bits - 1. SATURATE (0) clamps, WRAP (1) keeps the low bits in
    two's complement, RAISE (2) returns the exact sum and overflowed=True.
    """
    v = acc + p
    if v < lo or v > hi:
        if policy == 0:
            return (lo if v < lo else hi), True
        if policy == 1:
            return ((v - lo) & (hi - lo)) + lo, True
        return v, True
    return v, False


@njit(cache=True)
def _record(trace, t, p0, p1, p2):
    if t < trace.shape[0]:
        R, C = p0.shape
        for i in range(R):
            for j in range(C):
                trace[t, 0, i, j] = p0[i, j]
                trace[t, 1, i, j] = p1[i, j]
                trace[t, 2, i, j] = p2[i, j]


@njit(cache=True)
def os_gemm(A, B, R, C, lo, hi, policy, out, folds, trace, err):
    """Output-stationary GEMM out = A @ B (A: M x K, B: K x N) on an R x C array.

    Mapping: PE (i, j) of fold (fr, fc) owns output (fr*R + i, fc*C + j); K is temporal.
    Registers per PE: a (moves right), b (moves down), each with a valid bit, and acc.
    Compute phase, cycle t = 0, 1, ... of the fold: the left edge of row i offers
    A[r0 + i, t - i] (valid when 0 <= t - i < K and row i is mapped), the top edge of
    column j offers B[t - j, c0 + j]; PE (i, j) loads a from its left neighbour (or the
    edge), b from its upper neighbour (or the edge), and if both are valid performs
    acc = policy(acc + a * b). PE (i, j) therefore sees k = t - i - j. The phase ends
    after the cycle in which the last MAC of the fold happens (K + rows + cols - 2
    cycles). Drain phase: each cycle the accumulators shift down one row (row 0 receives
    0) and the bottom row leaves the array into the output SRAM; it ends when every
    mapped output has left (R cycles, the top row leaving last). Operand registers keep
    shifting (with bubbles) during the drain. Fold cycles: K + rows + cols - 2 + R.
    Trace planes: a, b, acc.
    """
    M, K = A.shape
    N = B.shape[1]
    nfr = (M + R - 1) // R
    nfc = (N + C - 1) // C
    a_reg = np.zeros((R, C), np.int64)
    b_reg = np.zeros((R, C), np.int64)
    acc = np.zeros((R, C), np.int64)
    av = np.zeros((R, C), np.int8)
    bv = np.zeros((R, C), np.int8)
    ea = np.zeros(R, np.int64)
    eav = np.zeros(R, np.int8)
    eb = np.zeros(C, np.int64)
    ebv = np.zeros(C, np.int8)
    g = 0  # global cycle
    f = 0
    for fc in range(nfc):
        for fr in range(nfr):
            r0 = fr * R
            c0 = fc * C
            mr = min(R, M - r0)
            nc = min(C, N - c0)
            a_reg[:, :] = 0
            b_reg[:, :] = 0
            acc[:, :] = 0
            av[:, :] = 0
            bv[:, :] = 0
            folds[f, FOLD_ROW0] = r0
            folds[f, FOLD_ROWS] = mr
            folds[f, FOLD_COL0] = c0
            folds[f, FOLD_COLS] = nc
            folds[f, FOLD_START] = g
            folds[f, FOLD_BEAT] = 1
            target = mr * nc * K
            macs = 0
            reads_a = 0
            reads_b = 0
            t = 0
            while macs < target:
                for i in range(R):
                    k = t - i
                    if i < mr and k >= 0 and k < K:
                        ea[i] = A[r0 + i, k]
                        eav[i] = 1
                        reads_a += 1
                    else:
                        ea[i] = 0
                        eav[i] = 0
                for j in range(C):
                    k = t - j
                    if j < nc and k >= 0 and k < K:
                        eb[j] = B[k, c0 + j]
                        ebv[j] = 1
                        reads_b += 1
                    else:
                        eb[j] = 0
                        ebv[j] = 0
                for i in range(R - 1, -1, -1):
                    for j in range(C - 1, -1, -1):
                        if j == 0:
                            ai = ea[i]
                            avi = eav[i]
                        else:
                            ai = a_reg[i, j - 1]
                            avi = av[i, j - 1]
                        if i == 0:
                            bi = eb[j]
                            bvi = ebv[j]
                        else:
                            bi = b_reg[i - 1, j]
                            bvi = bv[i - 1, j]
                        a_reg[i, j] = ai
                        av[i, j] = avi
                        b_reg[i, j] = bi
                        bv[i, j] = bvi
                        # a and b at PE (i, j) share k = t - i - j, so both are valid
                        # exactly when a is valid and column j is mapped (a bubble's
                        # product is 0 and would leave acc unchanged under every policy)
                        if avi != 0 and j < nc:
                            v, ovf = acc_add(acc[i, j], ai * bi, lo, hi, policy)
                            if ovf and policy == 2:
                                err[0] = 1
                                err[1] = g
                                err[2] = f
                                err[3] = r0 + i
                                err[4] = c0 + j
                                err[5] = t - i - j
                                return g + 1
                            acc[i, j] = v
                            macs += 1
                _record(trace, g, a_reg, b_reg, acc)
                t += 1
                g += 1
            written = 0
            d = 0
            while written < mr * nc:
                # the bottom row leaves; it holds the outputs of row R - 1 - d
                orow = R - 1 - d
                if orow < mr:
                    for j in range(nc):
                        out[r0 + orow, c0 + j] = acc[R - 1, j]
                    written += nc
                for i in range(R - 1, 0, -1):
                    for j in range(C):
                        acc[i, j] = acc[i - 1, j]
                for j in range(C):
                    acc[0, j] = 0
                for i in range(R - 1, -1, -1):
                    for j in range(C - 1, -1, -1):
                        a_reg[i, j] = 0 if j == 0 else a_reg[i, j - 1]
                        av[i, j] = 0 if j == 0 else av[i, j - 1]
                        b_reg[i, j] = 0 if i == 0 else b_reg[i - 1, j]
                        bv[i, j] = 0 if i == 0 else bv[i - 1, j]
                _record(trace, g, a_reg, b_reg, acc)
                d += 1
                t += 1
                g += 1
            folds[f, FOLD_CYCLES] = t
            folds[f, FOLD_MACS] = macs
            folds[f, FOLD_BUSY] = macs
            folds[f, FOLD_A_READS] = reads_a
            folds[f, FOLD_B_READS] = reads_b
            folds[f, FOLD_OUT_WRITES] = written
            folds[f, FOLD_PSUM_READS] = 0
            f += 1
    return g


@njit(cache=True)
def ws_gemm(S, W, nterms, term_mode, R, C, lo, hi, policy, out, folds, trace, err):
    """Weight-stationary GEMM out = S @ W (S: T x K streamed, W: K x N stationary).

    Mapping: PE (i, j) of fold (fr, fc) holds W[fr*R + i, fc*C + j]; T is temporal.
    (Input stationary calls this kernel with S = B^T, W = A^T and transposes the result.)
    Preload phase, R cycles p = 0..R-1: the weight registers shift down one row and row
    0 loads weight row R - 1 - p of the fold (zeros for unmapped rows and columns), so
    after R cycles PE (i, j) holds its weight. Stream phase, beat s = 0, 1, ...: the
    left edge of row i offers S[s - i, k0 + i] (valid when 0 <= s - i < T and row i is
    mapped); PE (i, j) loads a from its left neighbour (or the edge) and its partial sum
    register becomes policy(psum_in + a * w), where psum_in is the upper neighbour's
    partial sum, or at row 0 the partial sum out[s - j, c0 + j] of the previous K-fold
    (0 in the first K-fold; a partial-sum SRAM read). At the end of beat s the bottom
    row's partial sum of column j is output (s - (R - 1) - j, c0 + j), written to
    ``out`` when that row index is in [0, T). The phase ends when all T x cols outputs
    are written: T + R + cols - 2 beats.

    term_mode = 0: single-cycle MACs, one beat = one cycle. term_mode = 1 (term-serial
    PEs): PE (i, j) spends nterms[k, n] cycles on each product (one cycle per term of its
    weight, the shift-add is exact), and the array advances in lockstep, so every beat of
    the fold lasts tau = max(1, max nterms over the fold's weights) cycles; the partial
    sum register and the operand registers load at the last cycle of the beat (the
    trace repeats the state within a beat). FOLD_BUSY counts the PE-cycles spent on
    terms (the sum of nterms over the fold's valid MACs).
    Fold cycles: R + tau * (T + R + cols - 2). Trace planes: w, a, psum.
    """
    T, K = S.shape
    N = W.shape[1]
    nfr = (K + R - 1) // R
    nfc = (N + C - 1) // C
    w_reg = np.zeros((R, C), np.int64)
    a_reg = np.zeros((R, C), np.int64)
    av = np.zeros((R, C), np.int8)
    ps = np.zeros((R, C), np.int64)
    nt_reg = np.zeros((R, C), np.int64)
    ea = np.zeros(R, np.int64)
    eav = np.zeros(R, np.int8)
    top = np.zeros(C, np.int64)
    g = 0
    f = 0
    for fc in range(nfc):
        for fr in range(nfr):
            k0 = fr * R
            c0 = fc * C
            kr = min(R, K - k0)
            nc = min(C, N - c0)
            a_reg[:, :] = 0
            av[:, :] = 0
            ps[:, :] = 0
            folds[f, FOLD_ROW0] = k0
            folds[f, FOLD_ROWS] = kr
            folds[f, FOLD_COL0] = c0
            folds[f, FOLD_COLS] = nc
            folds[f, FOLD_START] = g
            tau = 1
            if term_mode == 1:
                for i in range(kr):
                    for j in range(nc):
                        if nterms[k0 + i, c0 + j] > tau:
                            tau = nterms[k0 + i, c0 + j]
            folds[f, FOLD_BEAT] = tau
            t = 0
            reads_b = 0
            for p in range(R):
                for i in range(R - 1, 0, -1):
                    for j in range(C):
                        w_reg[i, j] = w_reg[i - 1, j]
                        nt_reg[i, j] = nt_reg[i - 1, j]
                row = R - 1 - p
                for j in range(C):
                    if row < kr and j < nc:
                        w_reg[0, j] = W[k0 + row, c0 + j]
                        nt_reg[0, j] = nterms[k0 + row, c0 + j] if term_mode == 1 else 1
                        reads_b += 1
                    else:
                        w_reg[0, j] = 0
                        nt_reg[0, j] = 0
                _record(trace, g, w_reg, a_reg, ps)
                t += 1
                g += 1
            target = T * nc
            written = 0
            macs = 0
            busy = 0
            reads_a = 0
            psum_reads = 0
            s = 0
            while written < target:
                for i in range(R):
                    m = s - i
                    if i < kr and m >= 0 and m < T:
                        ea[i] = S[m, k0 + i]
                        eav[i] = 1
                        reads_a += 1
                    else:
                        ea[i] = 0
                        eav[i] = 0
                for j in range(C):
                    m = s - j
                    if fr > 0 and j < nc and m >= 0 and m < T:
                        top[j] = out[m, c0 + j]
                        psum_reads += 1
                    else:
                        top[j] = 0
                for i in range(R - 1, -1, -1):
                    for j in range(C - 1, -1, -1):
                        if j == 0:
                            ai = ea[i]
                            avi = eav[i]
                        else:
                            ai = a_reg[i, j - 1]
                            avi = av[i, j - 1]
                        pin = top[j] if i == 0 else ps[i - 1, j]
                        a_reg[i, j] = ai
                        av[i, j] = avi
                        v, ovf = acc_add(pin, ai * w_reg[i, j], lo, hi, policy)
                        if ovf and policy == 2:
                            err[0] = 1
                            err[1] = g + tau - 1
                            err[2] = f
                            err[3] = s - i - j
                            err[4] = c0 + j
                            err[5] = k0 + i
                            return g + tau
                        ps[i, j] = v
                        if avi != 0 and i < kr and j < nc:
                            macs += 1
                            busy += nt_reg[i, j]
                for c in range(tau):
                    _record(trace, g, w_reg, a_reg, ps)
                    g += 1
                t += tau
                for j in range(nc):
                    m = s - (R - 1) - j
                    if m >= 0 and m < T:
                        out[m, c0 + j] = ps[R - 1, j]
                        written += 1
                s += 1
            folds[f, FOLD_CYCLES] = t
            folds[f, FOLD_MACS] = macs
            folds[f, FOLD_BUSY] = busy
            folds[f, FOLD_A_READS] = reads_a
            folds[f, FOLD_B_READS] = reads_b
            folds[f, FOLD_OUT_WRITES] = written
            folds[f, FOLD_PSUM_READS] = psum_reads
            f += 1
    return g


@njit(cache=True)
def ws_cc_gemm(S, P, mux, chan, R, C, lo, hi, policy, out, folds, trace, err):
    """Column-combined weight-stationary GEMM (Kung, McDanel & Zhang, ASPLOS 2019).

    S: T x K streamed inputs; P: G x N packed weights (group g, filter n); mux: G x N,
    the multiplexer index of each cell (-1: empty cell); chan: G x alpha, the input
    channels of each group (-1: unused slot). Result:
    out[m, n] = sum over g ascending of P[g, n] * S[m, chan[g, mux[g, n]]] (empty cells
    contribute nothing), accumulated under ``policy`` in ascending g.

    Timing is the dense WS kernel's with the groups as spatial rows: the left edge of row
    i offers the alpha-wide vector S[s - i, chan[g0 + i, :]] (one SRAM read per used
    slot), every PE passes the whole vector right and multiplies its weight by the
    element its multiplexer selects. Preload R cycles (weights and multiplexer indices),
    then T + R + cols - 2 beats of one cycle. Trace planes: w, selected a, psum.
    FOLD_MACS counts cells with a valid input and a non-empty multiplexer.
    """
    T, K = S.shape
    G, N = P.shape
    alpha = chan.shape[1]
    nfr = (G + R - 1) // R
    nfc = (N + C - 1) // C
    w_reg = np.zeros((R, C), np.int64)
    m_reg = np.zeros((R, C), np.int64)
    a_reg = np.zeros((R, C, alpha), np.int64)
    av = np.zeros((R, C), np.int8)
    sel = np.zeros((R, C), np.int64)
    ps = np.zeros((R, C), np.int64)
    ea = np.zeros((R, alpha), np.int64)
    eav = np.zeros(R, np.int8)
    top = np.zeros(C, np.int64)
    g = 0
    f = 0
    for fc in range(nfc):
        for fr in range(nfr):
            g0 = fr * R
            c0 = fc * C
            gr = min(R, G - g0)
            nc = min(C, N - c0)
            a_reg[:, :, :] = 0
            av[:, :] = 0
            ps[:, :] = 0
            sel[:, :] = 0
            folds[f, FOLD_ROW0] = g0
            folds[f, FOLD_ROWS] = gr
            folds[f, FOLD_COL0] = c0
            folds[f, FOLD_COLS] = nc
            folds[f, FOLD_START] = g
            folds[f, FOLD_BEAT] = 1
            t = 0
            reads_b = 0
            for p in range(R):
                for i in range(R - 1, 0, -1):
                    for j in range(C):
                        w_reg[i, j] = w_reg[i - 1, j]
                        m_reg[i, j] = m_reg[i - 1, j]
                row = R - 1 - p
                for j in range(C):
                    if row < gr and j < nc and mux[g0 + row, c0 + j] >= 0:
                        w_reg[0, j] = P[g0 + row, c0 + j]
                        m_reg[0, j] = mux[g0 + row, c0 + j]
                        reads_b += 1
                    else:
                        w_reg[0, j] = 0
                        m_reg[0, j] = -1
                _record(trace, g, w_reg, sel, ps)
                t += 1
                g += 1
            target = T * nc
            written = 0
            macs = 0
            reads_a = 0
            psum_reads = 0
            s = 0
            while written < target:
                for i in range(R):
                    m = s - i
                    valid = i < gr and m >= 0 and m < T
                    eav[i] = 1 if valid else 0
                    for q in range(alpha):
                        if valid and chan[g0 + i, q] >= 0:
                            ea[i, q] = S[m, chan[g0 + i, q]]
                            reads_a += 1
                        else:
                            ea[i, q] = 0
                for j in range(C):
                    m = s - j
                    if fr > 0 and j < nc and m >= 0 and m < T:
                        top[j] = out[m, c0 + j]
                        psum_reads += 1
                    else:
                        top[j] = 0
                for i in range(R - 1, -1, -1):
                    for j in range(C - 1, -1, -1):
                        if j == 0:
                            for q in range(alpha):
                                a_reg[i, 0, q] = ea[i, q]
                            av[i, 0] = eav[i]
                        else:
                            for q in range(alpha):
                                a_reg[i, j, q] = a_reg[i, j - 1, q]
                            av[i, j] = av[i, j - 1]
                        pin = top[j] if i == 0 else ps[i - 1, j]
                        mi = m_reg[i, j]
                        x = a_reg[i, j, mi] if mi >= 0 else 0
                        sel[i, j] = x
                        v, ovf = acc_add(pin, x * w_reg[i, j], lo, hi, policy)
                        if ovf and policy == 2:
                            err[0] = 1
                            err[1] = g
                            err[2] = f
                            err[3] = s - i - j
                            err[4] = c0 + j
                            err[5] = g0 + i
                            return g + 1
                        ps[i, j] = v
                        if av[i, j] != 0 and mi >= 0 and i < gr and j < nc:
                            macs += 1
                _record(trace, g, w_reg, sel, ps)
                g += 1
                t += 1
                for j in range(nc):
                    m = s - (R - 1) - j
                    if m >= 0 and m < T:
                        out[m, c0 + j] = ps[R - 1, j]
                        written += 1
                s += 1
            folds[f, FOLD_CYCLES] = t
            folds[f, FOLD_MACS] = macs
            folds[f, FOLD_BUSY] = macs
            folds[f, FOLD_A_READS] = reads_a
            folds[f, FOLD_B_READS] = reads_b
            folds[f, FOLD_OUT_WRITES] = written
            folds[f, FOLD_PSUM_READS] = psum_reads
            f += 1
    return g


@njit(cache=True)
def term_counts(x, encoding, bits, out):
    """Number of nonzero terms (signed powers of two) of each integer x[i] into out[i].

    encoding 0 ("binary"): set bits of |x| (sign-magnitude); 1 ("csd"): nonzero digits
    of the canonical signed-digit (non-adjacent) form of |x|, which equals
    popcount(((3|x|) XOR |x|) >> 1); 2 ("bits"): ``bits`` for every value (a bit-serial
    PE spends one cycle per operand bit). Requires |x| < 2^61.
    """
    for idx in range(x.size):
        v = x[idx]
        if v < 0:
            v = -v
        if encoding == 2:
            out[idx] = bits
            continue
        if encoding == 1:
            v = ((3 * v) ^ v) >> 1
        c = 0
        while v != 0:
            v &= v - 1
            c += 1
        out[idx] = c

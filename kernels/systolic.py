"""Cycle-accurate systolic-array kernels: output-stationary (OS) and weight-stationary
(WS) integer GEMM on an R x C grid of processing elements, stepped register by register,
cycle by cycle. Input stationary (IS) is the WS kernel applied to the transposed product
(the public layer swaps the operands); the column-combined and term-serial PE variants
are WS kernels too.

Conventions shared by every kernel
----------------------------------
* All arrays are int64, except that the OS and WS operands may be int32 when every
  operand and accumulator value fits int32: the register planes take the operands'
  dtype (half the memory traffic per cycle) and every sum is still formed in int64, so
  results, overflow and traces do not depend on the dtype. Operand values are integers
  whose products are exact in int64 (the caller checks |a * b| <= 2^62); the
  accumulator is a two's-complement register of ``acc_bits`` bits with range
  [lo, hi] = [-2^(acc_bits-1), 2^(acc_bits-1) - 1], acc_bits <= 62.
* Registers that move (operands, partial sums) are stepped plane by plane: the next
  plane is computed from the current one (separate current/next planes, or rows
  visited against the flow direction), then all of them take effect together.
* ``policy`` is ``refquant.Overflow``'s integer: 0 SATURATE (clamp to [lo, hi] after every
  addition), 1 WRAP (keep the low acc_bits bits, two's complement), 2 RAISE (stop at the
  first addition whose exact sum leaves [lo, hi]; ``err`` receives
  [1, global cycle, fold, output row, output column, k]).
* Every output element is accumulated in ascending k: acc_0 = 0,
  acc_{k+1} = policy(acc_k + a[m, k] * b[k, n]); in WS/IS the partial sum of one K-fold
  enters the top of the next K-fold's column, so the order is kept across folds. This
  is the integer GEMM rule of ``refquant.intops`` (saturation at every step, ascending k).
* One clock cycle = every register of the array loads its next value at once (each
  PE reads its neighbours' values of the previous cycle). Cycles are counted from 0 at
  the start of the run; folds run one after another with no overlap.
* Folds: the column fold is the outer loop and the row fold the inner loop.
* ``folds`` (nfolds x NFOLD int64) receives per fold: FOLD_* columns below.
* ``trace`` (ncap x 3 x R x C) receives, for every global cycle t < ncap, the register
  state at the end of cycle t (three planes; see each kernel). Pass a (0, 3, 1, 1) array
  for no trace.
* Each kernel returns the total number of cycles it simulated; the run ends when the
  last output has been written (the count is emergent, not computed from a formula).
"""
import numpy as np

from . import njit

# Columns of the per-fold statistics array.
FOLD_ROW0 = 0      # first spatial row (operand index) of the fold
__all__ = [
    "os_gemm",
    "ws_gemm",
    "ws_cc_gemm",
]


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
def _mac_row(dst, src, x, y, n, lo, hi, policy):
    """dst[j] = policy(src[j] + x[j] * y[j]) for j < n, formed in int64 whatever the
    planes' dtype; policy 0 SATURATE clamps to [lo, hi], 1 WRAP keeps the low bits
    (hi - lo = 2^bits - 1), 2 RAISE stores the exact sum. Returns the largest j whose
    exact sum left [lo, hi] under RAISE, else -1.

    One loop per policy so that WRAP and SATURATE stay branch-free (they vectorise);
    a bubble's operand is 0, so its product leaves the partial sum as it is.
    """
    if policy == 1:
        mask = hi - lo
        for j in range(n):
            dst[j] = ((np.int64(src[j]) + np.int64(x[j]) * np.int64(y[j]) - lo) & mask) + lo
        return -1
    if policy == 0:
        for j in range(n):
            dst[j] = min(max(np.int64(src[j]) + np.int64(x[j]) * np.int64(y[j]), lo), hi)
        return -1
    bad = -1
    for j in range(n):
        v = np.int64(src[j]) + np.int64(x[j]) * np.int64(y[j])
        if v < lo or v > hi:
            bad = j
        dst[j] = v
    return bad


@njit(cache=True)
def _psum_step(ps, top, x, w, nc, lo, hi, policy):
    """One beat of the partial-sum columns: ps[i, j] = policy(psum_in + x[i, j] * w[i, j])
    for j < nc, where psum_in is row i - 1's partial sum of the previous beat (rows are
    visited bottom up) or top[j] at row 0. Columns >= nc hold 0 and stay 0. Returns the
    (row, column) of the overflow RAISE reports (the last in row-major order), else
    (-1, -1)."""
    for i in range(ps.shape[0] - 1, -1, -1):
        bad = _mac_row(ps[i], top if i == 0 else ps[i - 1], x[i], w[i], nc, lo, hi, policy)
        if bad >= 0:
            return i, bad
    return -1, -1


@njit(cache=True)
def _edge(X, first, used, t, e, ev):
    """Skewed array edge at cycle t: lane i offers X[first + i, t - i] (valid when
    i < used and 0 <= t - i < X.shape[1]), else a zero bubble. Returns the SRAM reads.
    X is the (lanes x time) view of an operand, e.g. A for OS rows, B.T for OS columns."""
    reads = 0
    for i in range(e.shape[0]):
        k = t - i
        if i < used and k >= 0 and k < X.shape[1]:
            e[i] = X[first + i, k]
            ev[i] = 1
            reads += 1
        else:
            e[i] = 0
            ev[i] = 0
    return reads


@njit(cache=True)
def _shift_right(nxt, nxtv, cur, curv, e, ev):
    """Next state of registers that move right: column 0 loads the edge, column j the
    current value of column j - 1 (separate current/next planes, so the copies are
    plain forward loops)."""
    R, C = cur.shape
    for i in range(R):
        nxt[i, 0] = e[i]
        nxtv[i, 0] = ev[i]
        for j in range(1, C):
            nxt[i, j] = cur[i, j - 1]
        for j in range(1, C):
            nxtv[i, j] = curv[i, j - 1]


@njit(cache=True)
def _shift_down(nxt, cur, e):
    """Next state of registers that move down: row 0 loads the edge e, row i the
    current value of row i - 1 (nxt may be cur: rows are visited bottom up)."""
    R, C = cur.shape
    for i in range(R - 1, 0, -1):
        for j in range(C):
            nxt[i, j] = cur[i - 1, j]
    for j in range(C):
        nxt[0, j] = e[j]


@njit(cache=True)
def _write_bottom(out, row, c0, nc, m0):
    """The bottom row leaves the array: column j carries output row m0 - j of column
    c0 + j, written when it lies in out. Returns the writes."""
    n = 0
    for j in range(nc):
        m = m0 - j
        if m >= 0 and m < out.shape[0]:
            out[m, c0 + j] = row[j]
            n += 1
    return n


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
def _fold_open(folds, f, fr, fc, R, C, Sr, Sc, g):
    """Start fold f (row fold fr, column fold fc of an Sr x Sc spatial mapping) at
    global cycle g with a beat of one cycle. Returns (row0, rows, col0, cols)."""
    row0 = fr * R
    col0 = fc * C
    rows = min(R, Sr - row0)
    cols = min(C, Sc - col0)
    folds[f, FOLD_ROW0] = row0
    folds[f, FOLD_ROWS] = rows
    folds[f, FOLD_COL0] = col0
    folds[f, FOLD_COLS] = cols
    folds[f, FOLD_START] = g
    folds[f, FOLD_BEAT] = 1
    return row0, rows, col0, cols


@njit(cache=True)
def _fold_close(folds, f, cycles, macs, busy, reads_a, reads_b, writes, psum_reads):
    folds[f, FOLD_CYCLES] = cycles
    folds[f, FOLD_MACS] = macs
    folds[f, FOLD_BUSY] = busy
    folds[f, FOLD_A_READS] = reads_a
    folds[f, FOLD_B_READS] = reads_b
    folds[f, FOLD_OUT_WRITES] = writes
    folds[f, FOLD_PSUM_READS] = psum_reads


@njit(cache=True)
def _flag(err, g, f, m, n, k):
    """RAISE: record the first overflowing addition (cycle g, fold f, output (m, n), k)."""
    err[0] = 1
    err[1] = g
    err[2] = f
    err[3] = m
    err[4] = n
    err[5] = k


@njit(cache=True)
def _preload(w_reg, x_reg, W, X, x_mode, row0, rows, col0, cols, ew, ex, trace, g, p1, p2):
    """Weight preload of a WS fold, R cycles from global cycle g: each cycle the
    stationary registers w and x (the PE's second register) shift down one row and row
    0 loads row R - 1 - p of the fold, so after R cycles PE (i, j) holds
    W[row0 + i, col0 + j]. x_mode 0: x = 1 (single-cycle MAC), 1: x = X[...] (term
    count), 2: x = X[...] (multiplexer index; a cell with X < 0 is empty: w = 0).
    Unmapped or empty cells load w = 0 and x = 0 (x = -1 in mode 2). The trace records
    (w, p1, p2) each cycle. Returns the weight SRAM reads."""
    R = w_reg.shape[0]
    reads = 0
    for p in range(R):
        row = R - 1 - p
        for j in range(w_reg.shape[1]):
            if row < rows and j < cols and (x_mode != 2 or X[row0 + row, col0 + j] >= 0):
                ew[j] = W[row0 + row, col0 + j]
                ex[j] = 1 if x_mode == 0 else X[row0 + row, col0 + j]
                reads += 1
            else:
                ew[j] = 0
                ex[j] = -1 if x_mode == 2 else 0
        _shift_down(w_reg, w_reg, ew)
        _shift_down(x_reg, x_reg, ex)
        _record(trace, g + p, w_reg, p1, p2)
    return reads


@njit(cache=True)
def _ws_registers(R, C, dtype):
    """Zeroed registers every WS-style kernel has: stationary w, its second register x
    (term count / multiplexer index), partial sums, the streamed operand's valid bits,
    and the edge vectors (left valid bits; top partial sums with valid bits; preload
    rows of w and x)."""
    return (np.zeros((R, C), dtype), np.zeros((R, C), np.int64), np.zeros((R, C), dtype),
            np.zeros((R, C), np.int8), np.zeros(R, np.int8), np.zeros(C, dtype),
            np.zeros(C, np.int8), np.zeros(C, dtype), np.zeros(C, np.int64))


@njit(cache=True)
def os_gemm(A, B, R, C, lo, hi, policy, out, folds, trace, err):
    """Output-stationary GEMM out = A @ B (A: M x K, B: K x N) on an R x C array.

    Mapping: PE (i, j) of fold (fr, fc) owns output (fr*R + i, fc*C + j); K is temporal.
    Registers per PE: a (moves right) with a valid bit, b (moves down) and acc.
    Compute phase, cycle t = 0, 1, ... of the fold: the left edge of row i offers
    A[r0 + i, t - i] (valid when 0 <= t - i < K and row i is mapped), the top edge of
    column j offers B[t - j, c0 + j] (0 outside); PE (i, j) loads a from its left
    neighbour (or the edge), b from its upper neighbour (or the edge), and performs
    acc = policy(acc + a * b). PE (i, j) therefore sees k = t - i - j; a and b are both
    valid exactly when a is valid and column j is mapped, and a bubble's product is 0,
    which leaves acc unchanged under every policy. The phase ends after the cycle in
    which the last MAC of the fold happens (K + rows + cols - 2 cycles). Drain phase:
    each cycle the accumulators shift down one row (row 0 receives 0) and the bottom
    row leaves the array into the output SRAM; it ends when every mapped output has
    left (R cycles, the top row leaving last). Operand registers keep shifting (with
    bubbles) during the drain. Fold cycles: K + rows + cols - 2 + R.
    Register planes have A's dtype (int32 when operands and accumulator fit it; the
    sums are formed in int64). Trace planes: a, b, acc.
    """
    M, K = A.shape
    N = B.shape[1]
    BT = B.T
    a_reg = np.zeros((R, C), A.dtype)
    b_reg = np.zeros((R, C), A.dtype)
    acc = np.zeros((R, C), A.dtype)
    av = np.zeros((R, C), np.int8)
    a_nxt = np.zeros((R, C), A.dtype)
    b_nxt = np.zeros((R, C), A.dtype)
    acc_nxt = np.zeros((R, C), A.dtype)
    av_nxt = np.zeros((R, C), np.int8)
    ea = np.zeros(R, A.dtype)
    eav = np.zeros(R, np.int8)
    eb = np.zeros(C, A.dtype)
    ebv = np.zeros(C, np.int8)
    zero = np.zeros(C, A.dtype)
    g = 0  # global cycle
    f = 0
    for fc in range((N + C - 1) // C):
        for fr in range((M + R - 1) // R):
            r0, mr, c0, nc = _fold_open(folds, f, fr, fc, R, C, M, N, g)
            a_reg[:, :] = 0
            b_reg[:, :] = 0
            acc[:, :] = 0
            acc_nxt[:, :] = 0
            av[:, :] = 0
            target = mr * nc * K
            macs = 0
            reads_a = 0
            reads_b = 0
            t = 0
            while macs < target:
                reads_a += _edge(A, r0, mr, t, ea, eav)
                reads_b += _edge(BT, c0, nc, t, eb, ebv)
                _shift_right(a_nxt, av_nxt, a_reg, av, ea, eav)
                _shift_down(b_nxt, b_reg, eb)
                a_reg, a_nxt, av, av_nxt, b_reg, b_nxt = a_nxt, a_reg, av_nxt, av, b_nxt, b_reg
                # rows bottom up: under RAISE the last PE in (row, column) order of the
                # first overflowing cycle is reported. acc has a next plane too (a row
                # updated in place would not vectorise); unmapped PEs hold 0 in both.
                for i in range(mr - 1, -1, -1):
                    bad = _mac_row(acc_nxt[i], acc[i], a_reg[i], b_reg[i], nc, lo, hi, policy)
                    if bad >= 0:
                        _flag(err, g, f, r0 + i, c0 + bad, t - i - bad)
                        return g + 1
                    for j in range(nc):
                        macs += av[i, j]
                acc, acc_nxt = acc_nxt, acc
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
                _shift_down(acc, acc, zero)
                _edge(A, r0, 0, t, ea, eav)     # bubbles
                _shift_right(a_nxt, av_nxt, a_reg, av, ea, eav)
                _shift_down(b_nxt, b_reg, zero)
                a_reg, a_nxt, av, av_nxt, b_reg, b_nxt = a_nxt, a_reg, av_nxt, av, b_nxt, b_reg
                _record(trace, g, a_reg, b_reg, acc)
                d += 1
                t += 1
                g += 1
            _fold_close(folds, f, t, macs, macs, reads_a, reads_b, written, 0)
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
    Fold cycles: R + tau * (T + R + cols - 2). Register planes have S's dtype (int32
    when operands and accumulator fit it). Trace planes: w, a, psum.
    """
    T, K = S.shape
    N = W.shape[1]
    ST = S.T
    outT = out.T
    w_reg, nt_reg, ps, av, eav, top, topv, ew, ent = _ws_registers(R, C, S.dtype)
    a_reg = np.zeros((R, C), S.dtype)
    a_nxt = np.zeros((R, C), S.dtype)
    av_nxt = np.zeros((R, C), np.int8)
    ea = np.zeros(R, S.dtype)
    g = 0
    f = 0
    for fc in range((N + C - 1) // C):
        for fr in range((K + R - 1) // R):
            k0, kr, c0, nc = _fold_open(folds, f, fr, fc, R, C, K, N, g)
            a_reg[:, :] = 0
            av[:, :] = 0
            ps[:, :] = 0
            tau = 1
            if term_mode == 1:
                for i in range(kr):
                    for j in range(nc):
                        tau = max(tau, nterms[k0 + i, c0 + j])
            folds[f, FOLD_BEAT] = tau
            reads_b = _preload(w_reg, nt_reg, W, nterms, term_mode, k0, kr, c0, nc, ew, ent,
                               trace, g, a_reg, ps)
            t = R
            g += R
            target = T * nc
            written = 0
            macs = 0
            busy = 0
            reads_a = 0
            psum_reads = 0
            s = 0
            while written < target:
                reads_a += _edge(ST, k0, kr, s, ea, eav)
                psum_reads += _edge(outT, c0, nc if fr > 0 else 0, s, top, topv)
                _shift_right(a_nxt, av_nxt, a_reg, av, ea, eav)
                a_reg, a_nxt, av, av_nxt = a_nxt, a_reg, av_nxt, av
                i, j = _psum_step(ps, top, a_reg, w_reg, nc, lo, hi, policy)
                if i >= 0:
                    _flag(err, g + tau - 1, f, s - i - j, c0 + j, k0 + i)
                    return g + tau
                for i in range(kr):
                    for j in range(nc):
                        macs += av[i, j]
                        busy += av[i, j] * nt_reg[i, j]
                for c in range(tau):
                    _record(trace, g, w_reg, a_reg, ps)
                    g += 1
                t += tau
                written += _write_bottom(out, ps[R - 1], c0, nc, s - (R - 1))
                s += 1
            _fold_close(folds, f, t, macs, busy, reads_a, reads_b, written, psum_reads)
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
    outT = out.T
    w_reg, m_reg, ps, av, eav, top, topv, ew, em = _ws_registers(R, C, np.int64)
    a_reg = np.zeros((R, C, alpha), np.int64)
    sel = np.zeros((R, C), np.int64)
    ea = np.zeros((R, alpha), np.int64)
    g = 0
    f = 0
    for fc in range((N + C - 1) // C):
        for fr in range((G + R - 1) // R):
            g0, gr, c0, nc = _fold_open(folds, f, fr, fc, R, C, G, N, g)
            a_reg[:, :, :] = 0
            av[:, :] = 0
            ps[:, :] = 0
            sel[:, :] = 0
            reads_b = _preload(w_reg, m_reg, P, mux, 2, g0, gr, c0, nc, ew, em, trace, g, sel, ps)
            t = R
            g += R
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
                psum_reads += _edge(outT, c0, nc if fr > 0 else 0, s, top, topv)
                # the alpha-wide vectors move right; each multiplexer picks its element
                for i in range(R):
                    for j in range(C - 1, 0, -1):
                        for q in range(alpha):
                            a_reg[i, j, q] = a_reg[i, j - 1, q]
                        av[i, j] = av[i, j - 1]
                    for q in range(alpha):
                        a_reg[i, 0, q] = ea[i, q]
                    av[i, 0] = eav[i]
                    for j in range(C):
                        mi = m_reg[i, j]
                        sel[i, j] = a_reg[i, j, mi] if mi >= 0 else 0
                i, j = _psum_step(ps, top, sel, w_reg, nc, lo, hi, policy)
                if i >= 0:
                    _flag(err, g, f, s - i - j, c0 + j, g0 + i)
                    return g + 1
                for i in range(gr):
                    for j in range(nc):
                        if av[i, j] != 0 and m_reg[i, j] >= 0:
                            macs += 1
                _record(trace, g, w_reg, sel, ps)
                g += 1
                t += 1
                written += _write_bottom(out, ps[R - 1], c0, nc, s - (R - 1))
                s += 1
            _fold_close(folds, f, t, macs, macs, reads_a, reads_b, written, psum_reads)
            f += 1
    return g

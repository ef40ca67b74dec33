"""Slow, obviously-correct pure-Python references for the systolic-array simulator.

Nothing here steps registers: every register value is written down in closed form from
the timing convention of refquant.sim.cycle_model, so a test comparing the kernels'
traces with these functions checks the stepping logic against the stated convention.
"""
import math


def gemm_rule(A, B, acc_bits, policy):
    """out[m][n]: acc = 0; for k ascending: acc = policy(acc + A[m][k] * B[k][n]) with a
    two's-complement accumulator of acc_bits bits; policy 'wrap' | 'saturate' | 'exact'
    (Python ints, no limit). Returns a list of lists of ints."""
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    M, K, N = len(A), len(B), len(B[0])
    out = []
    for m in range(M):
        row = []
        for n in range(N):
            acc = 0
            for k in range(K):
                acc += int(A[m][k]) * int(B[k][n])
                if policy == "wrap":
                    acc = (acc - lo) % (1 << acc_bits) + lo
                elif policy == "saturate":
                    acc = min(max(acc, lo), hi)
            row.append(acc)
        out.append(row)
    return out


def first_overflow(A, B, acc_bits):
    """(m, n, k) of the first addition leaving the accumulator range, in the order of
    (output, k) the caller cares about: returns the set of all overflowing (m, n, k)."""
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    bad = set()
    for m in range(len(A)):
        for n in range(len(B[0])):
            acc = 0
            for k in range(len(B)):
                acc += int(A[m][k]) * int(B[k][n])
                if acc < lo or acc > hi:
                    bad.add((m, n, k))
                    break
    return bad


def folds(Sr, Sc, R, C):
    """(row0, rows, col0, cols) of every fold, column folds outer."""
    return [(fr * R, min(R, Sr - fr * R), fc * C, min(C, Sc - fc * C))
            for fc in range(math.ceil(Sc / C)) for fr in range(math.ceil(Sr / R))]


def _plane(R, C, value):
    """An R x C register plane (list of lists) with entry value(i, j)."""
    return [[value(i, j) for j in range(C)] for i in range(R)]


def os_trace(A, B, R, C):
    """Per-cycle (a, b, acc) register planes of an output-stationary run, closed form.

    Within a fold (row0 r0, rows mr, col0 c0, cols nc) of length L = K + mr + nc - 2 + R:
    compute cycle t < K + mr + nc - 2: a[i][j] = A[r0+i][t-i-j] if i < mr and
    0 <= t-i-j < K else 0; b[i][j] = B[t-i-j][c0+j] if j < nc and 0 <= t-i-j < K else 0;
    acc[i][j] = sum_{k <= t-i-j} A[r0+i][k] B[k][c0+j] (i < mr, j < nc; else 0).
    Drain cycle d = 1..R (t = K + mr + nc - 3 + d): operands continue at the same
    formulas (they are bubbles by then); acc[i][j] = final[i-d][j] if i >= d else 0.
    """
    M, K, N = len(A), len(B), len(B[0])
    planes = {"a": [], "b": [], "acc": []}
    for r0, mr, c0, nc in folds(M, N, R, C):
        comp = K + mr + nc - 2
        final = _plane(R, C, lambda i, j: sum(A[r0 + i][k] * B[k][c0 + j] for k in range(K))
                       if i < mr and j < nc else 0)
        for t in range(comp + R):
            def k_at(i, j):
                return t - i - j

            def acc(i, j):
                if t >= comp:   # drain cycle d: row i holds the final row i - d
                    d = t - comp + 1
                    return final[i - d][j] if i >= d else 0
                if i < mr and j < nc:
                    return sum(A[r0 + i][kk] * B[kk][c0 + j] for kk in range(min(k_at(i, j) + 1, K)))
                return 0
            planes["a"].append(_plane(R, C, lambda i, j: A[r0 + i][k_at(i, j)]
                                      if i < mr and 0 <= k_at(i, j) < K else 0))
            planes["b"].append(_plane(R, C, lambda i, j: B[k_at(i, j)][c0 + j]
                                      if j < nc and 0 <= k_at(i, j) < K else 0))
            planes["acc"].append(_plane(R, C, acc))
    return planes


def ws_trace(S, W, R, C):
    """Per-cycle (stationary, stream, psum) planes of a weight-stationary run out = S @ W
    with single-cycle PEs, closed form. Fold (k0, kr, c0, nc), T = len(S):
    preload cycle p < R: stationary[i][j] = W[k0 + R-1-p+i][c0+j] for rows that have
    arrived (i <= p) and are mapped, else 0; rows i > p still hold the previous fold's
    values shifted down by p+1; stream and psum are 0.
    Stream beat s: stationary = the fold's weights; stream[i][j] = S[s-i-j][k0+i] when
    i < kr and 0 <= s-i-j < T; psum[i][j] = (the previous K-folds' partial for
    (s-i-j, c0+j)) + sum_{i' <= min(i, kr-1)} S[m][k0+i'] W[k0+i'][c0+j] for
    m = s-i-j in [0, T) and j < nc, else 0.
    """
    T, K, N = len(S), len(W), len(W[0])
    planes = {"stationary": [], "stream": [], "psum": []}
    prev_w = _plane(R, C, lambda i, j: 0)
    for k0, kr, c0, nc in folds(K, N, R, C):
        wf = _plane(R, C, lambda i, j: W[k0 + i][c0 + j] if i < kr and j < nc else 0)
        for p in range(R):
            planes["stationary"].append(_plane(R, C, lambda i, j: wf[R - 1 - p + i][j] if i <= p
                                               else prev_w[i - p - 1][j]))
            planes["stream"].append(_plane(R, C, lambda i, j: 0))
            planes["psum"].append(_plane(R, C, lambda i, j: 0))
        for s in range(T + R + nc - 2):
            def m_at(i, j):
                return s - i - j
            planes["stationary"].append([row[:] for row in wf])
            planes["stream"].append(_plane(R, C, lambda i, j: S[m_at(i, j)][k0 + i]
                                           if i < kr and 0 <= m_at(i, j) < T else 0))
            planes["psum"].append(_plane(R, C, lambda i, j: sum(
                S[m_at(i, j)][k] * W[k][c0 + j] for k in range(k0 + min(i + 1, kr)))
                if j < nc and 0 <= m_at(i, j) < T else 0))
        prev_w = wf
    return planes


def naf_terms(x):
    """Nonzero digits of the non-adjacent form of |x|, by the textbook digit recurrence."""
    n, c = abs(int(x)), 0
    while n:
        if n & 1:
            n -= 2 - (n % 4)
            c += 1
        n //= 2
    return c


def pruned_dense(packed, select, K):
    """The (N x K) dense matrix of a column-combined packed form."""
    N, G = len(packed), len(packed[0])
    W = [[0] * K for _ in range(N)]
    for n in range(N):
        for g in range(G):
            if select[n][g] >= 0:
                W[n][select[n][g]] = int(packed[n][g])
    return W


def column_combined_terms(A, packed, select):
    """terms[m][n]: the products a column-combined cell sequence adds for output (m, n),
    in ascending group g: packed[n][g] * A[m][select[n][g]], 0 for an empty cell."""
    return [[[int(packed[n][g]) * int(A[m][select[n][g]]) if select[n][g] >= 0 else 0
              for g in range(len(packed[0]))] for n in range(len(packed))] for m in range(len(A))]

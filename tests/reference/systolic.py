"""Slow, obviously-correct pure-Python references for the systolic-array simulator.

Nothing here steps registers: every register value is written down in closed form from
the timing convention in refquant/sim/systolic.py, so a test comparing the kernels'
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
        final = [[sum(A[r0 + i][k] * B[k][c0 + j] for k in range(K)) if i < mr and j < nc else 0
                  for j in range(C)] for i in range(R)]
        for t in range(comp + R):
            a = [[0] * C for _ in range(R)]
            b = [[0] * C for _ in range(R)]
            acc = [[0] * C for _ in range(R)]
            for i in range(R):
                for j in range(C):
                    k = t - i - j
                    if i < mr and 0 <= k < K:
                        a[i][j] = A[r0 + i][k]
                    if j < nc and 0 <= k < K:
                        b[i][j] = B[k][c0 + j]
                    if t < comp:
                        if i < mr and j < nc:
                            acc[i][j] = sum(A[r0 + i][kk] * B[kk][c0 + j]
                                            for kk in range(min(k + 1, K)) if kk >= 0)
                    else:
                        d = t - comp + 1
                        acc[i][j] = final[i - d][j] if i >= d else 0
            planes["a"].append(a)
            planes["b"].append(b)
            planes["acc"].append(acc)
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
    prev_w = [[0] * C for _ in range(R)]
    for k0, kr, c0, nc in folds(K, N, R, C):
        wf = [[W[k0 + i][c0 + j] if i < kr and j < nc else 0 for j in range(C)] for i in range(R)]
        for p in range(R):
            st = [[0] * C for _ in range(R)]
            for i in range(R):
                for j in range(C):
                    if i <= p:
                        st[i][j] = wf[R - 1 - p + i][j]
                    else:
                        st[i][j] = prev_w[i - p - 1][j]
            planes["stationary"].append(st)
            planes["stream"].append([[0] * C for _ in range(R)])
            planes["psum"].append([[0] * C for _ in range(R)])
        for s in range(T + R + nc - 2):
            a = [[0] * C for _ in range(R)]
            ps = [[0] * C for _ in range(R)]
            for i in range(R):
                for j in range(C):
                    m = s - i - j
                    if i < kr and 0 <= m < T:
                        a[i][j] = S[m][k0 + i]
                    if 0 <= m < T and j < nc:
                        ps[i][j] = sum(S[m][k] * W[k][c0 + j] for k in range(k0 + min(i + 1, kr)))
            planes["stationary"].append([row[:] for row in wf])
            planes["stream"].append(a)
            planes["psum"].append(ps)
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

"""Numba kernels of refquant.sparse: sparse x dense products with integer accumulator
rules, N:M selection, transposable N:M masks and column combining.

Integer accumulation (``mode``), shared by every product kernel here and mirroring the
dense integer GEMM of refquant.intops (refquant.sparse maps each ``Overflow`` policy to
one of these codes in a single table; RAISE runs as 0 and is checked afterwards):
  0 exact     the int64 sum (callers guarantee it cannot leave int64),
  1 wrap      the exact sum reduced modulo 2^bits into [-2^(bits-1), 2^(bits-1)); the
              int64 sum wraps modulo 2^64 and 2^bits divides 2^64, so wrapping once at
              the end equals wrapping at every step,
  2 saturate  acc = clamp(acc + p, -2^(bits-1), 2^(bits-1) - 1) after every product p,
              products taken in ascending reduction index k.
Products p = (a - a_zero_point) * (b - b_zero_point) are formed exactly in int64
(callers keep each factor within [-2^31, 2^31]). Stored zeros contribute p = 0
(clamp(acc + 0) == acc), so a sparse product equals the dense product under all three
modes.
Float products accumulate in float64, one rounding per multiply and per add, in
ascending stored order (ascending k) -- the order scipy.sparse uses.

Bounds: the product kernels (``*_spmm_*``, ``packed_gemm_*``) follow indices that come
from users' structures, so they check every indptr entry, index and operand size they
rely on and return a status (OK = 0, BAD_SHAPE, BAD_INDPTR, BAD_INDEX) instead of
reading or writing out of bounds; the callers raise ValueError on a non-zero status.
The other kernels take arrays their callers build and size.
"""
import numpy as np
from numba import types
from numba.extending import intrinsic

from . import njit


__all__ = [
    "csr_structure_status",
    "acc_limits",
    "wrap_signed",
    "sat_add",
    "axpy_int",
    "store_int",
    "axpy_float",
    "csr_spmm_int",
    "csr_spmm_float",
    "csc_spmm_int",
    "csc_spmm_float",
    "bsr_spmm_int",
    "bsr_spmm_float",
    "nm_select",
    "transposable_exhaustive",
    "transposable_flow",
    "transposable_greedy",
    "cc_group",
    "cc_pack",
    "packed_gemm_int",
    "packed_gemm_float",
]


@njit(cache=True)
def acc_limits(bits):
    """(lo, hi) of a signed two's-complement accumulator of ``bits`` bits (2..64)."""
    if bits >= 64:
        return np.int64(-9223372036854775807) - 1, np.int64(9223372036854775807)
    hi = (np.int64(1) << (bits - 1)) - 1
    return -hi - 1, hi


@njit(cache=True)
def wrap_signed(v, bits):
    """v modulo 2^bits, as the signed value in [-2^(bits-1), 2^(bits-1))."""
    if bits >= 64:
        return v
    m = (np.int64(1) << bits) - 1
    u = v & m
    if u >= (np.int64(1) << (bits - 1)):
        u -= np.int64(1) << bits
    return u


@njit(cache=True)
def sat_add(acc, p, lo, hi):
    """clamp(acc + p, lo, hi) computed without int64 overflow (lo <= acc <= hi)."""
    if p > 0 and acc > hi - p:
        return hi
    if p < 0 and acc < lo - p:
        return lo
    return acc + p


# The row helpers below are inlined at Numba-IR level (inline="always"): left to LLVM,
# the int8 CSR SpMM ran about 40% slower than with the loops written out in place.
@njit(cache=True, inline="always")
def axpy_int(acc, av, b, k, mode, lo, hi):
    """acc[j] <- acc[j] + av * b[k, j] for every column j: clamped to [lo, hi] after the
    product when mode == 2 (saturate), plain int64 addition otherwise. The one
    accumulation step of every integer product kernel here."""
    if mode == 2:
        for j in range(acc.size):
            acc[j] = sat_add(acc[j], av * b[k, j], lo, hi)
    else:
        for j in range(acc.size):
            acc[j] += av * b[k, j]


@njit(cache=True, inline="always")
def store_int(acc, mode, bits, dst):
    """dst[j] = acc[j] reduced into the ``bits``-bit accumulator when mode == 1 (wrap);
    the other modes already hold their final value."""
    for j in range(acc.size):
        dst[j] = wrap_signed(acc[j], bits) if mode == 1 else acc[j]


@njit(cache=True, inline="always")
def axpy_float(acc, av, b, k):
    """acc[j] += av * b[k, j] in float64 for every column j."""
    for j in range(acc.size):
        acc[j] += av * b[k, j]


# Status returned by the product kernels: they check every index they follow, so an
# inconsistent structure is reported instead of read or written out of bounds.
OK = 0
BAD_SHAPE = 1       # operand sizes disagree (indptr length, a_zero_point, b / out widths)
BAD_INDPTR = 2      # an indptr entry outside [0, stored entries] or decreasing
BAD_INDEX = 3       # a stored index outside its dimension


@njit(cache=True)
def csr_structure_status(indptr, indices, nnz, kdim):
    """OK when 0 <= indptr[i] <= indptr[i + 1] <= nnz for every i and every index of the
    entries indptr[0]:indptr[-1] lies in [0, kdim); else BAD_INDPTR or BAD_INDEX. One
    pass over indptr and the stored indices (of a CSR, CSC or BSR structure; for BSR
    the indices are block columns and kdim their count), before a product kernel
    follows them."""
    for i in range(indptr.size - 1):
        s = indptr[i]
        e = indptr[i + 1]
        if s < 0 or e < s or e > nnz:
            return BAD_INDPTR
    if indptr.size > 1:
        for p in range(indptr[0], indptr[indptr.size - 1]):
            k = indices[p]
            if k < 0 or k >= kdim:
                return BAD_INDEX
    return OK


@njit(cache=True)
def csr_spmm_int(indptr, indices, data, a_zero_point, b, mode, bits, out):
    """out[i, j] = ACC_k (data[p] - a_zero_point[i]) * b[k, j] over the stored entries p of row
    i (k = indices[p], in stored order: ascending for canonical input), with the
    accumulation ``mode``/``bits`` of the module docstring. b is int64 with its zero
    point already subtracted; out is int64 (rows, n).
    Returns OK (0), or BAD_SHAPE (indptr.size != rows + 1, a_zero_point shorter than rows,
    b and out of different widths), BAD_INDPTR (0 <= indptr[i] <= indptr[i + 1] <=
    min(indices.size, data.size) violated) or BAD_INDEX (an index outside
    [0, b.shape[0])) before touching memory out of bounds; out is then incomplete."""
    rows = out.shape[0]
    if indptr.size != rows + 1 or a_zero_point.size < rows or b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    status = csr_structure_status(indptr, indices, min(indices.size, data.size), b.shape[0])
    if status != OK:
        return status
    # the structure is valid: the product loop carries no checks (they keep LLVM from
    # vectorising the row update)
    lo, hi = acc_limits(bits)
    acc = np.zeros(b.shape[1], dtype=np.int64)
    for i in range(rows):
        z = np.int64(a_zero_point[i])
        acc[:] = 0
        for p in range(indptr[i], indptr[i + 1]):
            axpy_int(acc, np.int64(data[p]) - z, b, indices[p], mode, lo, hi)
        store_int(acc, mode, bits, out[i])
    return OK


@njit(cache=True)
def csr_spmm_float(indptr, indices, data, b, out):
    """out[i, j] = sum over stored p of row i, in stored (ascending k) order, of
    float64(data[p]) * b[k, j], starting from +0.0; float64 throughout. Returns a
    status as csr_spmm_int."""
    rows = out.shape[0]
    if indptr.size != rows + 1 or b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    status = csr_structure_status(indptr, indices, min(indices.size, data.size), b.shape[0])
    if status != OK:
        return status
    for i in range(rows):
        acc = out[i]
        acc[:] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            axpy_float(acc, np.float64(data[p]), b, indices[p])
    return OK


@njit(cache=True)
def csc_spmm_int(indptr, indices, data, a_zero_point, b, mode, bits, out):
    """CSC A (column k holds rows indices[indptr[k]:indptr[k+1]]) times b: the same
    result as csr_spmm_int on the same matrix (columns are visited in ascending k, so
    each out[i, j] receives its products in ascending k). out must be (rows, n).
    Returns a status as csr_spmm_int (indptr.size must be b.shape[0] + 1; row indices
    must lie in [0, out.shape[0]))."""
    rows = out.shape[0]
    ncols = b.shape[0]
    if indptr.size != ncols + 1 or a_zero_point.size < rows or b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    status = csr_structure_status(indptr, indices, min(indices.size, data.size), rows)
    if status != OK:
        return status
    lo, hi = acc_limits(bits)
    out[:, :] = 0
    for k in range(ncols):
        for p in range(indptr[k], indptr[k + 1]):
            i = indices[p]
            axpy_int(out[i], np.int64(data[p]) - np.int64(a_zero_point[i]), b, k, mode, lo, hi)
    if mode == 1:
        for i in range(rows):
            store_int(out[i], mode, bits, out[i])
    return OK


@njit(cache=True)
def csc_spmm_float(indptr, indices, data, b, out):
    """CSC A times b in float64; each out[i, j] sums its products in ascending k.
    Returns a status as csc_spmm_int."""
    rows = out.shape[0]
    ncols = b.shape[0]
    if indptr.size != ncols + 1 or b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    status = csr_structure_status(indptr, indices, min(indices.size, data.size), rows)
    if status != OK:
        return status
    out[:, :] = 0.0
    for k in range(ncols):
        for p in range(indptr[k], indptr[k + 1]):
            axpy_float(out[indices[p]], np.float64(data[p]), b, k)
    return OK


@njit(cache=True)
def bsr_spmm_int(indptr, indices, data, a_zero_point, b, mode, bits, out):
    """BSR A (block row I holds blocks data[p] of shape (R, C) at block column
    indices[p], ascending) times b. Row i = I*R + r receives, in ascending k = J*C + c,
    the products (data[p, r, c] - a_zero_point[i]) * b[k, j]; zeros stored inside a block
    contribute 0. Accumulation as csr_spmm_int; out is int64 (rows, n). Returns a status
    as csr_spmm_int ((indptr.size - 1) * R must equal out.shape[0]; block columns must
    lie in [0, b.shape[0] // C))."""
    R = data.shape[1]
    C = data.shape[2]
    nbr = indptr.size - 1
    if nbr < 0 or nbr * R != out.shape[0] or a_zero_point.size < out.shape[0] \
            or b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    nnz = min(indices.size, data.shape[0])
    nbc = b.shape[0] // C if C > 0 else 0
    lo, hi = acc_limits(bits)
    acc = np.zeros(b.shape[1], dtype=np.int64)
    status = csr_structure_status(indptr, indices, nnz, nbc)
    if status != OK:
        return status
    for I in range(nbr):
        s = indptr[I]
        e = indptr[I + 1]
        for r in range(R):
            i = I * R + r
            z = np.int64(a_zero_point[i])
            acc[:] = 0
            for p in range(s, e):
                for c in range(C):
                    av = np.int64(data[p, r, c]) - z
                    if av != 0:
                        axpy_int(acc, av, b, indices[p] * C + c, mode, lo, hi)
            store_int(acc, mode, bits, out[i])
    return OK


@njit(cache=True)
def bsr_spmm_float(indptr, indices, data, b, out):
    """BSR A times b in float64; row i sums every stored block entry (zeros inside
    blocks included) in ascending k. Returns a status as bsr_spmm_int."""
    R = data.shape[1]
    C = data.shape[2]
    nbr = indptr.size - 1
    if nbr < 0 or nbr * R != out.shape[0] or b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    nnz = min(indices.size, data.shape[0])
    nbc = b.shape[0] // C if C > 0 else 0
    status = csr_structure_status(indptr, indices, nnz, nbc)
    if status != OK:
        return status
    for I in range(nbr):
        s = indptr[I]
        e = indptr[I + 1]
        for r in range(R):
            acc = out[I * R + r]
            acc[:] = 0.0
            for p in range(s, e):
                for c in range(C):
                    axpy_float(acc, np.float64(data[p, r, c]), b, indices[p] * C + c)
    return OK


@njit(cache=True)
def nm_select(a, n, out):
    """For each row g of a (G, M) array of magnitudes, out[g, j] = 1 for the n largest
    a[g, j], 0 elsewhere. Ties go to the lower index j (a later element must be strictly
    larger to displace an earlier one). a holds no NaN."""
    G, M = a.shape
    for g in range(G):
        for j in range(M):
            out[g, j] = 0
        for t in range(n):
            best = -1
            for j in range(M):
                if out[g, j] == 0 and (best < 0 or a[g, j] > a[g, best]):
                    best = j
            out[g, best] = 1


@njit(cache=True)
def transposable_exhaustive(a, m, pairs, patterns, out):
    """Optimal transposable mask for every m x m block of a (rows, cols) magnitude array
    by exhaustive search. ``pairs`` (P, N) lists the row choices (column index sets,
    ascending, lexicographic); ``patterns`` (T, m) lists every block pattern as one pair
    index per row, each column used exactly N times, in lexicographic order. The block
    score of a pattern is ((s0 + s1) + s2) + ... over its rows, each row sum s_r formed
    left to right in float64; the first pattern with the largest score wins.
    out (rows, cols) uint8 receives the masks."""
    rows, cols = a.shape
    P, N = pairs.shape
    T = patterns.shape[0]
    rs = np.zeros((m, P), dtype=np.float64)
    for bi in range(rows // m):
        for bj in range(cols // m):
            r0 = bi * m
            c0 = bj * m
            for r in range(m):
                for q in range(P):
                    s = 0.0
                    for t in range(N):
                        s += a[r0 + r, c0 + pairs[q, t]]
                    rs[r, q] = s
            best = 0
            bestv = -1.0
            for t in range(T):
                v = 0.0
                for r in range(m):
                    v += rs[r, patterns[t, r]]
                if v > bestv:
                    bestv = v
                    best = t
            for r in range(m):
                for c in range(m):
                    out[r0 + r, c0 + c] = 0
                for t in range(N):
                    out[r0 + r, c0 + pairs[patterns[best, r], t]] = 1


@njit(cache=True)
def _block_flow(a, r0, c0, m, n, exact, x):
    """Min-cost flow on one block (see transposable_flow): value m*n when ``exact``,
    else augment only while the shortest path has negative cost; x (m, m) int64
    receives the chosen edges."""
    V = 2 * m + 2
    s = 0
    t = 2 * m + 1
    ru = np.zeros(m, dtype=np.int64)
    cu = np.zeros(m, dtype=np.int64)
    dist = np.empty(V, dtype=np.float64)
    pred = np.empty(V, dtype=np.int64)
    x[:, :] = 0
    for _ in range(m * n):
        for v in range(V):
            dist[v] = np.inf
            pred[v] = -1
        dist[s] = 0.0
        for _round in range(V - 1):
            changed = False
            for i in range(m):
                if ru[i] < n and dist[s] < dist[1 + i]:
                    dist[1 + i] = dist[s]
                    pred[1 + i] = s
                    changed = True
            for i in range(m):
                di = dist[1 + i]
                for j in range(m):
                    w = a[r0 + i, c0 + j]
                    if x[i, j] == 0:
                        if di < np.inf and di - w < dist[1 + m + j]:
                            dist[1 + m + j] = di - w
                            pred[1 + m + j] = 1 + i
                            changed = True
                    else:
                        dj = dist[1 + m + j]
                        if dj < np.inf and dj + w < dist[1 + i]:
                            dist[1 + i] = dj + w
                            pred[1 + i] = 1 + m + j
                            changed = True
                            di = dist[1 + i]
            for j in range(m):
                if cu[j] < n and dist[1 + m + j] < dist[t]:
                    dist[t] = dist[1 + m + j]
                    pred[t] = 1 + m + j
                    changed = True
            if not changed:
                break
        if pred[t] < 0 or (not exact and dist[t] >= 0.0):
            break
        # walk the path back from the sink and push one unit
        v = t
        steps = 0
        while v != s and steps <= V:
            steps += 1
            u = pred[v]
            if v == t:
                cu[u - 1 - m] += 1
            elif u == s:
                ru[v - 1] += 1
            elif u <= m:            # row u-1 -> column v-1-m: take the edge
                x[u - 1, v - 1 - m] = 1
            else:                   # column u-1-m -> row v-1: give the edge back
                x[v - 1, u - 1 - m] = 0
            v = u


@njit(cache=True)
def transposable_flow(a, m, n, exact, out):
    """Optimal transposable N:M mask of every m x m block by min-cost flow: source ->
    row i (capacity n, cost 0), row i -> column j (capacity 1, cost -a[i, j]),
    column j -> sink (capacity n, cost 0), solved by successive shortest paths with
    Bellman-Ford in float64 (unit augmentations). exact=True: flow value m*n, so every
    row and column of the mask has exactly n ones; exact=False: augment while the
    shortest path cost is negative (the successive path costs never decrease), giving
    the largest kept sum over masks with at most n ones per row and column (zero-gain
    entries are not added). out (rows, cols) uint8 receives the masks."""
    rows, cols = a.shape
    x = np.zeros((m, m), dtype=np.int64)
    for bi in range(rows // m):
        for bj in range(cols // m):
            _block_flow(a, bi * m, bj * m, m, n, exact, x)
            for i in range(m):
                for j in range(m):
                    out[bi * m + i, bj * m + j] = x[i, j]


@njit(cache=True)
def transposable_greedy(a, m, n, out):
    """Greedy transposable mask per m x m block: visit the block's entries by magnitude
    descending (ties: lower row-major position first) and keep an entry while its row
    and its column both hold fewer than n kept entries. A 2-approximation of the
    optimum (Hubara et al. 2021). out (rows, cols) uint8."""
    rows, cols = a.shape
    vals = np.empty(m * m, dtype=np.float64)
    rc = np.zeros(m, dtype=np.int64)
    cc = np.zeros(m, dtype=np.int64)
    for bi in range(rows // m):
        for bj in range(cols // m):
            r0 = bi * m
            c0 = bj * m
            for i in range(m):
                for j in range(m):
                    vals[i * m + j] = -a[r0 + i, c0 + j]
                    out[r0 + i, c0 + j] = 0
            order = np.argsort(vals, kind="mergesort")
            rc[:] = 0
            cc[:] = 0
            for q in range(m * m):
                f = order[q]
                i = f // m
                j = f - i * m
                if rc[i] < n and cc[j] < n:
                    rc[i] += 1
                    cc[j] += 1
                    out[r0 + i, c0 + j] = 1


@intrinsic
def _popcount64(typingctx, x):
    """Number of set bits of an int64: LLVM's ctpop."""
    if not isinstance(x, types.Integer) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.int64(x), codegen


@njit(cache=True)
def _overlaps(bits, rows, g, group_of, nnz, add, overlap):
    """overlap[h] (+)= |rows n rows(h)| for the ungrouped non-empty columns h > g, rows
    a bit set of W words (add: add to overlap, else set it)."""
    ncols, W = bits.shape
    for h in range(g + 1, ncols):
        if group_of[h] >= 0 or nnz[h] == 0:
            continue
        s = np.int64(0)
        b = bits[h]
        for w in range(W):
            s += _popcount64(rows[w] & b[w])
        overlap[h] = overlap[h] + s if add else s


@njit(cache=True)
def cc_group(bits, nnz, alpha, max_overlap, group_of):
    """Column-combining grouping (Kung et al. 2019; the greedy of the reference
    packing code) on the non-zero pattern given as one row bit set per column: bit r % 64
    of bits[c, r // 64] (int64 words) is set when row r of column c is non-zero; nnz[c]
    counts them.

    Groups start as the non-empty columns in ascending order. Repeatedly the first
    group that has a feasible partner absorbs its best partner: a partner h is feasible
    when len(g) + len(h) <= alpha and conflicts(g u h) = sum_r max(0, d_g[r] + d_h[r] - 1)
    <= max_overlap (d = non-zeros per row inside the group); the best partner has the
    fewest rows empty in both, ties to the lowest index. Partners are always single
    later columns (earlier groups never become feasible again), which this kernel uses:
    conflicts(g u h) = conflicts(g) + |rows(g) n rows(h)|, the overlaps kept per column
    and updated with the rows each merge adds (AND and popcount of the bit sets).
    group_of[c] receives the group number of column c (groups numbered by their first
    column), -1 for empty columns. Returns the number of groups."""
    ncols, W = bits.shape
    group_of[:] = -1
    overlap = np.zeros(ncols, dtype=np.int64)
    cov = np.empty(W, dtype=np.int64)
    new = np.empty(W, dtype=np.int64)
    ng = 0
    for g in range(ncols):
        if group_of[g] >= 0 or nnz[g] == 0:
            continue
        group_of[g] = ng
        size = 1
        conflicts = 0
        for w in range(W):
            cov[w] = bits[g, w]
        if size < alpha:
            _overlaps(bits, cov, g, group_of, nnz, False, overlap)
        while size < alpha:
            best = -1
            bests = np.int64(0)
            for h in range(g + 1, ncols):
                nh = nnz[h]
                if group_of[h] >= 0 or nh == 0:
                    continue
                if conflicts + overlap[h] > max_overlap:
                    continue
                sc = overlap[h] - nh
                if best < 0 or sc < bests:
                    best = h
                    bests = sc
            if best < 0:
                break
            group_of[best] = ng
            size += 1
            conflicts += overlap[best]
            if size >= alpha:
                break
            fresh = np.int64(0)
            for w in range(W):
                nw = bits[best, w] & ~cov[w]
                new[w] = nw
                fresh |= nw
                cov[w] |= nw
            if fresh != 0:
                _overlaps(bits, new, g, group_of, nnz, True, overlap)
        ng += 1
    return ng


@njit(cache=True)
def cc_pack(w, mag, group_of, packed, select):
    """Column-combine pruning and packing: for every row r and group g, keep the member
    column c (group_of[c] == g) with the largest mag[r, c] (the exact |w[r, c]|: uint64
    for integer w, so |-2^63| is not negative) among non-zero w[r, c], ties to the
    lowest c; packed[r, g] = w[r, c], select[r, g] = c. An empty mag (size 0) stands for
    abs(w) itself (float w: exact). Cells with no non-zero member get packed = 0,
    select = -1. group_of holds -1 or group numbers below packed.shape[1] (the caller
    builds it)."""
    rows, cols = w.shape
    own = mag.size == 0
    packed[:, :] = 0
    select[:, :] = -1
    for r in range(rows):
        for c in range(cols):
            g = group_of[c]
            if g < 0 or w[r, c] == 0:
                continue
            s = select[r, g]
            if s < 0 or (abs(w[r, c]) > abs(w[r, s]) if own else mag[r, c] > mag[r, s]):
                packed[r, g] = w[r, c]
                select[r, g] = c


@njit(cache=True)
def _packed_ok(packed, select, order, kdim, out):
    """Status of a packed operand: BAD_SHAPE unless select and order have packed's
    shape, out has its rows and the b width matches; BAD_INDEX when an order entry lies
    outside [0, G) or a select entry at or beyond kdim (negative select = empty cell)."""
    rows, G = packed.shape
    if select.shape[0] != rows or select.shape[1] != G or order.shape[0] != rows \
            or order.shape[1] != G or out.shape[0] != rows:
        return BAD_SHAPE
    for r in range(rows):
        for q in range(G):
            g = order[r, q]
            if g < 0 or g >= G or select[r, q] >= kdim:
                return BAD_INDEX
    return OK


@njit(cache=True)
def packed_gemm_int(packed, select, order, a_zero_point, b, mode, bits, out):
    """out[r, j] = ACC over cells g of row r with select[r, g] >= 0, visited in the
    order order[r, :] (ascending select, so ascending reduction index k = select), of
    (packed[r, g] - a_zero_point[r]) * b[select[r, g], j]. Accumulation as csr_spmm_int.
    Returns a status (see _packed_ok; BAD_SHAPE also for a short a_zero_point or b / out of
    different widths) before reading anything out of bounds."""
    rows, G = packed.shape
    st = _packed_ok(packed, select, order, b.shape[0], out)
    if st != OK:
        return st
    if a_zero_point.size < rows or b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    lo, hi = acc_limits(bits)
    acc = np.zeros(b.shape[1], dtype=np.int64)
    for r in range(rows):
        acc[:] = 0
        z = np.int64(a_zero_point[r])
        for q in range(G):
            g = order[r, q]
            if select[r, g] >= 0:
                axpy_int(acc, np.int64(packed[r, g]) - z, b, select[r, g], mode, lo, hi)
        store_int(acc, mode, bits, out[r])
    return OK


@njit(cache=True)
def packed_gemm_float(packed, select, order, b, out):
    """Float64 version of packed_gemm_int: products added in ascending k from +0.0.
    Returns a status as packed_gemm_int."""
    rows, G = packed.shape
    st = _packed_ok(packed, select, order, b.shape[0], out)
    if st != OK:
        return st
    if b.shape[1] != out.shape[1]:
        return BAD_SHAPE
    for r in range(rows):
        acc = out[r]
        acc[:] = 0.0
        for q in range(G):
            g = order[r, q]
            if select[r, g] >= 0:
                axpy_float(acc, np.float64(packed[r, g]), b, select[r, g])
    return OK

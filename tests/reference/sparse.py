"""Slow, obviously-correct pure-Python references for refquant.sparse (no NumPy in the
arithmetic, no Numba). Tests compare the kernels against these."""
from __future__ import annotations

import itertools

from reference.intops import gemm as intops_gemm


def gemm_int(a, b, a_zero_point=0, b_zero_point=0, acc_bits=32, overflow="wrap"):
    """Dense integer GEMM over Python ints:
    sum_k (a[i][k] - a_zero_point) * (b[k][j] - b_zero_point)
    in ascending k. wrap: the exact sum modulo 2^acc_bits (signed); saturate: clamp after
    every step; exact: the exact sum. The integer-ops reference states these rules."""
    return intops_gemm(a, b, a_zero_point, b_zero_point, acc_bits=acc_bits, overflow=overflow)


def nm_mask(group, n):
    """Keep the n largest |x| of one group; ties to the lower index."""
    order = sorted(range(len(group)), key=lambda j: (-abs(group[j]), j))
    keep = set(order[:n])
    return [j in keep for j in range(len(group))]


def nibble(group):
    """2:4 metadata nibble of one group of four (at most two non-zeros), following the
    spelled-out rule: two non-zeros -> their positions; one at 0 -> {0,2}; one at 1 ->
    {1,2}; otherwise {2,3}."""
    pos = [j for j in range(4) if group[j] != 0]
    assert len(pos) <= 2
    if len(pos) == 2:
        i0, i1 = pos
    elif pos == [0]:
        i0, i1 = 0, 2
    elif pos == [1]:
        i0, i1 = 1, 2
    else:
        i0, i1 = 2, 3
    return i0 | (i1 << 2)


def compress_2_4(rows, word_bits):
    """(values, words) of a list of rows of 2:4-sparse values, 16- or 8-bit data:
    words_bits 16 -> 4 nibbles per word, 32 -> 8, little-endian, as signed ints."""
    per = word_bits // 4
    values, words = [], []
    for r in rows:
        v, nibs = [], []
        for g in range(0, len(r), 4):
            grp = r[g:g + 4]
            nb = nibble(grp)
            nibs.append(nb)
            v += [grp[nb & 3], grp[nb >> 2]]
        w = []
        for q in range(0, len(nibs), per):
            word = 0
            for t, nb in enumerate(nibs[q:q + per]):
                word += nb << (4 * t)
            if word >= 1 << (word_bits - 1):
                word -= 1 << word_bits
            w.append(word)
        values.append(v)
        words.append(w)
    return values, words


def cutlass_position(r, c, m, word_bits):
    """Flat position, in the reordered buffer, of metadata element (r, c) of an
    (m, ncols) matrix: row interleave, 2x2 swizzle, ColumnMajorInterleaved<2>."""
    G, I = (32, 4) if word_bits == 16 else (16, 2)
    rr = (r // G) * G + (r % 8) * I + (r % G) // 8
    cc = c
    if rr % 2 == 0 and c % 2 == 1:
        rr, cc = rr + 1, c - 1
    elif rr % 2 == 1 and c % 2 == 0:
        rr, cc = rr - 1, c + 1
    return (cc // 2) * (2 * m) + rr * 2 + cc % 2


def transposable_optimum(block, n):
    """Largest kept sum of |w| over all 0/1 matrices with exactly n ones per row and per
    column (enumerated row by row)."""
    m = len(block)
    subsets = list(itertools.combinations(range(m), n))
    best = None
    for choice in itertools.product(subsets, repeat=m):
        cols = [0] * m
        for s in choice:
            for c in s:
                cols[c] += 1
        if any(x != n for x in cols):
            continue
        v = sum(abs(block[i][c]) for i, s in enumerate(choice) for c in s)
        if best is None or v > best:
            best = v
    return best


def transposable_optimum_at_most(block, n):
    """Largest kept sum of |w| over all 0/1 matrices with at most n ones per row and per
    column."""
    m = len(block)
    subsets = [s for k in range(n + 1) for s in itertools.combinations(range(m), k)]
    best = 0
    for choice in itertools.product(subsets, repeat=m):
        cols = [0] * m
        for s in choice:
            for c in s:
                cols[c] += 1
        if any(x > n for x in cols):
            continue
        best = max(best, sum(abs(block[i][c]) for i, s in enumerate(choice) for c in s))
    return best


def transposable_greedy(block, n):
    m = len(block)
    cells = sorted(((i, j) for i in range(m) for j in range(m)),
                   key=lambda ij: (-abs(block[ij[0]][ij[1]]), ij[0] * m + ij[1]))
    rc, cc = [0] * m, [0] * m
    keep = [[False] * m for _ in range(m)]
    for i, j in cells:
        if rc[i] < n and cc[j] < n:
            rc[i] += 1
            cc[j] += 1
            keep[i][j] = True
    return keep


def column_groups(w, alpha, gamma):
    """Literal form of the reference grouping: recompute every pairwise conflict count
    and both-empty count each round, merge the first group that has a feasible partner
    with its best partner (fewest both-empty rows, lowest index)."""
    rows = len(w)
    cols = len(w[0]) if rows else 0
    max_overlap = int(gamma * rows)
    groups = [[c] for c in range(cols) if any(w[r][c] != 0 for r in range(rows))]

    def d(g):
        return [sum(1 for c in g if w[r][c] != 0) for r in range(rows)]

    while True:
        ds = [d(g) for g in groups]
        merged = False
        for a in range(len(groups)):
            best, best_score = None, None
            for b in range(len(groups)):
                if a == b or len(groups[a]) + len(groups[b]) > alpha:
                    continue
                conf = sum(max(0, ds[a][r] + ds[b][r] - 1) for r in range(rows))
                if conf > max_overlap:
                    continue
                empty = sum(1 for r in range(rows) if ds[a][r] + ds[b][r] == 0)
                if best is None or empty < best_score:
                    best, best_score = b, empty
            if best is not None:
                groups[a] = groups[a] + groups[best]
                del groups[best]
                merged = True
                break
        if not merged:
            return [sorted(g) for g in groups]


def column_pack(w, groups):
    """packed, select lists: per (row, group) the largest-|w| non-zero, ties lowest column."""
    packed, select = [], []
    for r in range(len(w)):
        prow, srow = [], []
        for g in groups:
            best = None
            for c in sorted(g):
                if w[r][c] != 0 and (best is None or abs(w[r][c]) > abs(w[r][best])):
                    best = c
            prow.append(0 if best is None else w[r][best])
            srow.append(-1 if best is None else best)
        packed.append(prow)
        select.append(srow)
    return packed, select

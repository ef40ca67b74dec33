"""Sparse benchmarks: optimal transposable 2:4 mask, int8 CSR SpMM, column combining.

Column combining is a greedy search, not elementwise work: its limit is the grouping's
own cost (the grouping kernel alone on the bit sets of the non-zero pattern), and the
whole ``column_combine`` (validation, pattern, grouping, pruning, packing) should stay
within 3x of it; ``x.copy()`` is shown as the baseline for scale."""
from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Result, best_time


def _numpy_transposable(a, pairs, pats):
    """Straightforward NumPy exhaustive search over the 90 patterns (baseline)."""
    R, C = a.shape
    blocks = a.reshape(R // 4, 4, C // 4, 4).transpose(0, 2, 1, 3).reshape(-1, 4, 4)
    rs = blocks[:, :, pairs[:, 0]] + blocks[:, :, pairs[:, 1]]          # (B, 4, 6)
    score = sum(rs[:, r, pats[:, r]] for r in range(4))                # (B, 90)
    return np.argmax(score, axis=1)


def _nx_block(block):
    import networkx as nx
    g = nx.DiGraph()
    g.add_node("s", demand=-8)
    g.add_node("t", demand=8)
    for i in range(4):
        g.add_edge("s", ("r", i), capacity=2, weight=0)
        g.add_edge(("c", i), "t", capacity=2, weight=0)
        for j in range(4):
            g.add_edge(("r", i), ("c", j), capacity=1, weight=-int(block[i, j]))
    return nx.min_cost_flow(g)


def run(quick: bool = False) -> list[Result]:
    from refquant.sparse import CSR, column_combine, transposable_mask, transposable_patterns
    rng = np.random.default_rng(0)
    out = []

    # 1. optimal transposable 2:4 mask
    n = 1024 if quick else 4096
    w = rng.standard_normal((n, n)).astype(np.float32)
    t_ref = best_time(lambda: transposable_mask(w, 2, 4), repeat=1 if not quick else 2)
    pairs, pats = transposable_patterns(2, 4)
    a = np.abs(w.astype(np.float64))
    rows_np = n // 8
    t_np = best_time(lambda: _numpy_transposable(a[:rows_np], pairs, pats), repeat=1) * (n / rows_np)
    nblocks = (n // 4) ** 2
    sample = 100 if quick else 300
    ints = np.abs(rng.integers(-1000, 1001, (sample, 4, 4)))
    t0 = time.perf_counter()
    for b in ints:
        _nx_block(b)
    nx_per_block = (time.perf_counter() - t0) / sample
    t_copy = best_time(lambda: w.copy(), repeat=3)
    per_block = t_ref / nblocks
    out.append(Result(f"transposable 2:4 optimal {n}x{n} f32", t_ref,
                      baseline="numpy exhaustive", baseline_s=t_np,
                      peer="networkx.min_cost_flow", peer_s=nx_per_block * nblocks,
                      limit="x.copy()", limit_s=t_copy,
                      note=f"{per_block * 1e9:.0f} ns/block; networkx {nx_per_block * 1e6:.0f} us/block "
                           f"({nx_per_block / per_block:.0f}x)"))

    # 2. int8 CSR SpMM at 90% sparsity
    n = 1024 if quick else 4096
    dense = rng.integers(-127, 128, (n, n)).astype(np.int8)
    dense[rng.random((n, n)) < 0.9] = 0
    b = rng.integers(-127, 128, (n, 64)).astype(np.int8)
    A = CSR.from_dense(dense)
    import scipy.sparse as sp
    s64 = sp.csr_array(dense.astype(np.float64))
    b64 = b.astype(np.float64)
    s32 = sp.csr_array(dense.astype(np.int32))
    b32 = b.astype(np.int32)
    t_ref = best_time(lambda: A @ b, repeat=5)
    t_sat = best_time(lambda: A.matmul(b, overflow="saturate"), repeat=3)
    t_f64 = best_time(lambda: s64 @ b64, repeat=5)
    t_i32 = best_time(lambda: s32 @ b32, repeat=5)
    df = dense.astype(np.float32)
    bf = b.astype(np.float32)
    t_blas = best_time(lambda: df @ bf, repeat=3)
    out.append(Result(f"int8 CSR SpMM {n}x{n} 90% x {n}x64 (wrap32)", t_ref,
                      baseline="scipy f64", baseline_s=t_f64, peer="scipy int32", peer_s=t_i32,
                      limit="dense f32 BLAS", limit_s=t_blas,
                      note=f"saturate {t_sat * 1e3:.1f} ms"))

    # 3. column combining
    n = 512 if quick else 2048
    w = rng.standard_normal((n, n)).astype(np.float32)
    w[rng.random((n, n)) < 0.8] = 0
    cc = column_combine(w, 8, 0.5)
    t_cc = best_time(lambda: column_combine(w, 8, 0.5), repeat=3)
    t_copy = best_time(lambda: w.copy(), repeat=3)
    # the limit: the grouping's own cost, the greedy search alone (the kernel on the
    # prepared bit sets of the pattern), without validation, pruning or packing
    from refquant.kernels import sparse as ks
    from refquant.sparse._combine import _column_bits, _kernel_limits
    bits, nnz = _column_bits(w)
    k_alpha, k_overlap = _kernel_limits(8, 0.5, n, n)
    labels = np.empty(n, dtype=np.int64)
    t_group = best_time(lambda: ks.cc_group(bits, nnz, k_alpha, k_overlap, labels), repeat=3)
    out.append(Result(f"column_combine {n}x{n} 80% alpha=8 gamma=0.5", t_cc,
                      baseline="x.copy()", baseline_s=t_copy,
                      limit="grouping kernel alone", limit_s=t_group,
                      note=f"{len(cc.groups)} groups, efficiency {cc.efficiency:.3f}; "
                      "target within 3x of the limit"))
    return out

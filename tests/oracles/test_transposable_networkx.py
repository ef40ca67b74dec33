"""networkx.min_cost_flow as the oracle for the optimal transposable N:M masks: the kept
magnitude of refquant's masks equals minus the min-cost-flow objective on every block
(flow m*n for "optimal"; with a source -> sink bypass for "optimal_at_most")."""
import numpy as np
import pytest

nx = pytest.importorskip("networkx")

from refquant.sparse import transposable_mask  # noqa: E402


def nx_optimum(block, n, at_most=False):
    """-(min cost) of flow m*n; with ``at_most`` a free source -> sink bypass lets rows
    and columns take fewer than n."""
    m = block.shape[0]
    g = nx.DiGraph()
    if at_most:
        g.add_edge("s", "t", capacity=m * n, weight=0)
    g.add_node("s", demand=-m * n)
    g.add_node("t", demand=m * n)
    for i in range(m):
        g.add_edge("s", ("r", i), capacity=n, weight=0)
        g.add_edge(("c", i), "t", capacity=n, weight=0)
        for j in range(m):
            g.add_edge(("r", i), ("c", j), capacity=1, weight=-int(block[i, j]))
    flow = nx.min_cost_flow(g)
    return -nx.cost_of_flow(g, flow)


@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (2, 8), (4, 8), (3, 6), (1, 5)])
def test_optimum_equals_networkx(n, m):
    rng = np.random.default_rng(1000 * n + m)
    w = rng.integers(-1000, 1001, (3 * m, 2 * m)).astype(np.float64)
    mask = transposable_mask(w, n, m)
    a = np.abs(w).astype(np.int64)
    for i in range(0, w.shape[0], m):
        for j in range(0, w.shape[1], m):
            blk = a[i:i + m, j:j + m]
            mb = mask[i:i + m, j:j + m]
            assert (mb.sum(0) == n).all() and (mb.sum(1) == n).all()
            assert int(blk[mb].sum()) == nx_optimum(blk, n)
            best = transposable_mask(w[i:i + m, j:j + m], n, m, "optimal_at_most")
            assert int(blk[best].sum()) == nx_optimum(blk, n, at_most=True)
            g = transposable_mask(w[i:i + m, j:j + m], n, m, "greedy")
            assert 2 * int(blk[g].sum()) >= nx_optimum(blk, n, at_most=True)

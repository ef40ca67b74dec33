"""HAWQ-style mixed precision: the ILP equals brute force over every assignment of small
layer lists; budgets are respected; the frontier is monotone and exact; infeasible budgets
name the budget and the minimum it needs; costs follow the simulator's cycle model."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refquant import quantize
from refquant.mixed import (layer_costs, pareto_frontier, select_bits, sensitivity,
                            sensitivity_table)
from refquant.sim import SystolicArray


def _brute(sens, costs, budgets):
    L, B = sens.shape
    best = None
    for ch in itertools.product(range(B), repeat=L):
        r = np.arange(L)
        if all(costs[k][r, ch].sum() <= v for k, v in budgets.items()):
            s = sens[r, ch].sum()
            if best is None or s < best:
                best = s
    return best


tables = st.integers(1, 4).flatmap(lambda L: st.integers(1, 3).flatmap(lambda B: st.tuples(
    st.lists(st.integers(0, 1000), min_size=L * B, max_size=L * B),
    st.lists(st.integers(1, 50), min_size=L * B, max_size=L * B),
    st.lists(st.integers(1, 50), min_size=L * B, max_size=L * B),
    st.just((L, B)), st.floats(0, 1), st.floats(0, 1))))


@settings(max_examples=40)
@given(tables)
def test_ilp_equals_brute_force(t):
    s, c1, c2, shape, f1, f2 = t
    sens = np.array(s, float).reshape(shape)
    costs = {"size": np.array(c1, float).reshape(shape),
             "latency": np.array(c2, float).reshape(shape)}
    budgets = {k: v.min(axis=1).sum() + f * (v.max(axis=1).sum() - v.min(axis=1).sum())
               for (k, v), f in zip(costs.items(), (f1, f2))}
    want = _brute(sens, costs, budgets)
    if want is None:
        with pytest.raises(ValueError, match="cannot be met"):
            select_bits(sens, costs, budgets)
        return
    got = select_bits(sens, costs, budgets)
    assert got.sensitivity == pytest.approx(want, abs=1e-9)
    for k, v in budgets.items():
        assert got.costs[k] <= v


@settings(max_examples=40)
@given(tables)
def test_frontier_is_monotone_and_exact(t):
    s, c1, _, shape, _, _ = t
    sens = np.array(s, float).reshape(shape)
    cost = np.array(c1, float).reshape(shape)
    front = pareto_frontier(sens, cost)
    cs = [p.cost for p in front]
    ss = [p.sensitivity for p in front]
    assert cs == sorted(cs) and len(set(cs)) == len(cs)
    assert all(a > b for a, b in zip(ss, ss[1:]))
    # every point is the brute-force optimum at its own cost budget
    for p in front:
        assert p.sensitivity == pytest.approx(_brute(sens, {"c": cost}, {"c": p.cost}))
    # and the cheapest assignment overall starts it
    assert cs[0] == cost.min(axis=1).sum()


def test_sensitivity_is_trace_times_perturbation():
    w = np.random.default_rng(3).normal(0, 1, (16, 8))
    dq = quantize(w, "int4").dequantize()
    assert sensitivity(w, "int4", 2.5) == pytest.approx(2.5 * np.sum((dq - w) ** 2), rel=1e-15)
    t = sensitivity_table([w, 2 * w], ["int2", "int4", "int8", "e4m3"], [1.0, 1.0])
    assert t.shape == (2, 4) and np.all(np.diff(t[:, :3], axis=1) < 0)
    with pytest.raises(ValueError, match="hessian_trace"):
        sensitivity(w, "int4", -1.0)


def test_costs_follow_the_cycle_model_bit_serial():
    layers = [{"M": 64, "K": 96, "N": 32}, {"M": 10, "K": 8, "N": 200}]
    arr = SystolicArray(16, 16, "ws", pe="bit_serial")
    c = layer_costs(layers, [2, 4, 8], act_bits=8, array=arr)
    for i, l in enumerate(layers):
        for j, b in enumerate([2, 4, 8]):
            assert c["latency"][i, j] == arr.cycle_model(l["M"], l["N"], l["K"], b)
            assert c["size"][i, j] == l["K"] * l["N"] * b / 8
            assert c["bops"][i, j] == l["M"] * l["N"] * l["K"] * b * 8
    assert np.all(np.diff(c["latency"], axis=1) > 0)      # bit-serial: cost follows width
    mac = layer_costs(layers, [2, 4, 8], array=SystolicArray(16, 16, "ws"))
    assert np.all(mac["latency"] == mac["latency"][:, :1])
    with pytest.raises(ValueError, match="term_serial"):
        layer_costs(layers, [4], array=SystolicArray(4, 4, "ws", pe="term_serial"))


def test_infeasible_budget_names_it_and_its_minimum():
    sens = np.array([[3.0, 1.0], [5.0, 2.0]])
    costs = {"size": np.array([[2.0, 4.0], [3.0, 6.0]]),
             "latency": np.array([[5.0, 1.0], [5.0, 1.0]])}
    with pytest.raises(ValueError, match=r"budget size=4 cannot be met.*size of any assignment is 5"):
        select_bits(sens, costs, {"size": 4})
    with pytest.raises(ValueError, match="cannot be met together"):
        select_bits(sens, costs, {"size": 5, "latency": 2})
    with pytest.raises(ValueError, match="no cost table"):
        select_bits(sens, costs, {"energy": 1})
    a = select_bits(sens, costs, {"size": 7}, bits=[4, 8])
    assert a.bits == (8, 4) and a.costs["size"] == 7 and a.sensitivity == 6.0

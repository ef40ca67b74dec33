"""The bench configurations the RTL tests run: name -> run_bench keyword arguments."""
import numpy as np

from refquant.hw import fp8_inputs, requant_inputs
from refquant.sim import SystolicArray


def _ops(rng, sa, shapes, extremes=True):
    lo_a, hi_a = sa.a_range
    lo_b, hi_b = sa.b_range
    cases = []
    for M, N, K in shapes:
        cases.append((rng.integers(lo_a, hi_a, (M, K), endpoint=True),
                      rng.integers(lo_b, hi_b, (K, N), endpoint=True)))
    if extremes:   # every product the largest: the accumulator overflows soonest
        M, N, K = shapes[0]
        cases.append((np.full((M, K), lo_a), np.full((K, N), lo_b)))
        cases.append((np.full((M, K), lo_a), np.full((K, N), hi_b)))
    return cases


def bench(name, seed=0):
    """run_bench keyword arguments (design, cases, array / fmt) of a named bench."""
    rng = np.random.default_rng(seed)
    if name == "os_wrap":
        sa = SystolicArray(2, 4, "os", acc_bits=16, overflow="wrap")
        return {"design": "os_array", "array": sa,
                "cases": _ops(rng, sa, [(3, 5, 5), (2, 4, 1), (5, 9, 3)])}
    if name == "os_saturate":
        sa = SystolicArray(2, 3, "os", acc_bits=12, overflow="saturate")
        return {"design": "os_array", "array": sa, "cases": _ops(rng, sa, [(3, 4, 6), (2, 3, 2)])}
    if name == "ws_wrap":
        sa = SystolicArray(3, 2, "ws", acc_bits=16, overflow="wrap")
        return {"design": "ws_array", "array": sa, "cases": _ops(rng, sa, [(4, 3, 7), (2, 2, 3)])}
    if name == "ws_saturate":
        sa = SystolicArray(2, 2, "ws", acc_bits=12, overflow="saturate")
        return {"design": "ws_array", "array": sa, "cases": _ops(rng, sa, [(3, 3, 5), (1, 1, 1)])}
    if name == "requant":
        return {"design": "requant", "cases": [requant_inputs(128, seed)]}
    if name.startswith("fp8_"):
        fmt = name[4:]
        bits = fp8_inputs(fmt, 128, seed)
        return {"design": "fp8_encode", "fmt": fmt, "cases": [(bits, True), (bits, False)]}
    raise KeyError(name)

"""Every reference design passes its cocotb bench (refquant as the golden model) over
randomized and corner inputs, and the arrays over several shapes and folded GEMMs."""
import numpy as np
import pytest

from benches import _ops, bench
from rtlkit import needs_sim
from refquant.hw import run_bench
from refquant.sim import SystolicArray

pytestmark = needs_sim


@pytest.mark.parametrize("name", ["os_wrap", "os_saturate", "ws_wrap", "ws_saturate",
                                  "requant", "fp8_e4m3fn", "fp8_e5m2"])
def test_reference_design_passes(name, build_root):
    r = run_bench(build_dir=build_root, **bench(name))
    assert r.passed, r.message
    assert r.cycle is None and r.message == ""
    assert len(r.cases) == len(bench(name)["cases"])


# (rows, cols, dataflow, a_bits, b_bits, acc_bits, signed, overflow, GEMM shapes M, N, K)
SHAPES = [
    (1, 4, "os", 8, 8, 32, True, "wrap", [(3, 9, 4), (1, 1, 1)]),        # 1 x N
    (4, 1, "os", 8, 8, 32, True, "wrap", [(9, 2, 3)]),                   # N x 1
    (3, 5, "os", 16, 16, 32, True, "wrap", [(7, 11, 6)]),                # non-square, folds, overflow
    (1, 3, "ws", 8, 8, 32, True, "wrap", [(4, 7, 5)]),                   # 1 x N, K-folds
    (3, 1, "ws", 8, 8, 32, True, "wrap", [(5, 2, 7)]),                   # N x 1
    (2, 3, "ws", 6, 4, 20, False, "saturate", [(5, 7, 9)]),              # unsigned, saturating
]


@pytest.mark.parametrize("R, C, df, ab, bb, accb, signed, ov, shapes", SHAPES)
def test_arrays_of_every_shape(R, C, df, ab, bb, accb, signed, ov, shapes, build_root):
    sa = SystolicArray(R, C, df, a_bits=ab, b_bits=bb, acc_bits=accb, signed=signed, overflow=ov)
    cases = _ops(np.random.default_rng(R * 10 + C), sa, shapes)
    r = run_bench(f"{df}_array", cases, array=sa, build_dir=build_root)
    assert r.passed, r.message
    assert r.cycles == sum(sa.cycle_model(A.shape[0], B.shape[1], A.shape[1]) for A, B in cases)

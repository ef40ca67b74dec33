"""Systolic-array simulator speed: simulated PE-cycles per second for OS, WS and IS on a
128 x 128 array running a 1024^3 int8 GEMM (--quick: 256^3 on 64 x 64), against the exact
integer GEMM itself (refquant.intops.gemm when present, else int64 NumPy matmul) and the
machine's float BLAS on the same shape. PE-cycles = cycles x rows x cols."""
import numpy as np

from benchmarks.common import Result, best_time
from refquant.sim import SystolicArray


def _exact_gemm():
    try:
        from refquant.intops import gemm
        return "intops.gemm", lambda A, B: gemm(A, B, acc_bits=32, overflow="wrap")
    except ImportError:
        return "int64 matmul", lambda A, B: A @ B


def run(quick: bool):
    n, R = (256, 64) if quick else (1024, 128)
    rng = np.random.default_rng(0)
    A = rng.integers(-128, 128, (n, n)).astype(np.int8)
    B = rng.integers(-128, 128, (n, n)).astype(np.int8)
    A64, B64 = A.astype(np.int64), B.astype(np.int64)
    Af, Bf = A.astype(np.float32), B.astype(np.float32)
    peer, exact = _exact_gemm()
    want = A64 @ B64
    t_exact = best_time(lambda: exact(A, B), repeat=3)
    t_np = best_time(lambda: A64 @ B64, repeat=1)
    t_blas = best_time(lambda: Af @ Bf, repeat=3)
    out = []
    for df in ("os", "ws", "is"):
        sa = SystolicArray(R, R, df)
        res = sa.run(A[:8, :8], B[:8, :8])   # compile
        res = None

        def go():
            nonlocal res
            res = sa.run(A, B)
        t = best_time(go, repeat=1)
        assert np.array_equal(res.output, want)
        rate = res.stats["pe_cycles"] / t
        out.append(Result(f"systolic {df} {R}x{R} {n}^3", t, "int64 matmul", t_np, peer, t_exact,
                          "float32 BLAS", t_blas,
                          note=f"{rate:.3g} PE-cycles/s, {res.cycles} cycles, "
                               f"sim/exact-GEMM {t / t_exact:.0f}x",
                          extra={"pe_cycles_per_s": rate, "cycles": res.cycles}))
    return out

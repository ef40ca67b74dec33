"""Tensor-core simulator: bit-accurate H100 fp16 -> fp32 GEMM at 512^3 against float32
BLAS on the same shape (the machine's limit for GEMM-shaped work) and the plain NumPy
float64 product (baseline). No peer library emulates tensor-core numerics in Python.
The emulation runs output rows on Numba's threads (the note names their count); the
note also gives the process CPU times (all threads), which a loaded machine disturbs
less than wall times."""
import time

import numba
import numpy as np

from benchmarks.common import Result, best_time
from refquant.sim import TensorCore


def run(quick: bool):
    n = 128 if quick else 512
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)).astype(np.float16).astype(np.float64)
    B = rng.standard_normal((n, n)).astype(np.float16).astype(np.float64)
    C = rng.standard_normal((n, n)).astype(np.float32).astype(np.float64)
    tc = TensorCore("H100")
    a32, b32 = A.astype(np.float32), B.astype(np.float32)
    rep = 3
    tc.gemm(A, B, C, "fp16", "fp32")
    a32 @ b32
    t = t_blas = c = c_blas = float("inf")
    for _ in range(rep):  # interleaved with the limit: load hits both alike
        s, sc = time.perf_counter(), time.process_time()
        tc.gemm(A, B, C, "fp16", "fp32")
        t = min(t, time.perf_counter() - s)
        c = min(c, time.process_time() - sc)
        for _ in range(10):  # BLAS's threads stall while another process holds a core
            s, sc = time.perf_counter(), time.process_time()
            a32 @ b32
            t_blas = min(t_blas, time.perf_counter() - s)
            c_blas = min(c_blas, time.process_time() - sc)
    t_np = best_time(lambda: A @ B + C, repeat=5)
    macs = n ** 3
    return [Result(f"tensorcore H100 fp16->fp32 gemm {n}^3", t, "float64 A@B+C", t_np,
                   None, None, "float32 BLAS", t_blas,
                   note=f"{macs / t / 1e6:.1f} M emulated MAC/s, {numba.get_num_threads()} "
                   f"Numba threads (BLAS its default); CPU time {c * 1e3:.1f} ms, "
                   f"{c / c_blas:.0f}x sgemm's; target <= 100x sgemm",
                   extra={"mac_per_s": macs / t, "x_blas": t / t_blas, "cpu_s": c,
                          "cpu_blas_s": c_blas, "x_blas_cpu": c / c_blas})]


if __name__ == "__main__":
    for r in run(quick=False):
        print(" | ".join(r.cells()))

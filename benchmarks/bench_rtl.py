"""The cocotb bench on Icarus Verilog: simulated cycles per second of the reference 8 x 8
output-stationary array with every PE register and output lane checked every cycle, the
share of the simulation's wall time spent in refquant (driver values and scoreboard)
versus the simulator and cocotb, and a 16 x 16 array running a 64^3 GEMM end to end
(golden model, build, simulation, every cycle checked).

Targets (issue: hardware verification bridge): refquant under 20% of the bench's time;
the 16 x 16, 64^3 run under a minute. Skipped (no lines) without iverilog or cocotb.
"""
from __future__ import annotations

import tempfile
import time

import numpy as np

from benchmarks.common import Result


def run(quick: bool = False) -> list[Result]:
    from refquant.hw import run_bench, simulator_available
    from refquant.sim import SystolicArray

    if simulator_available("icarus"):
        return []
    rng = np.random.default_rng(0)
    out = []
    with tempfile.TemporaryDirectory() as d:
        sa = SystolicArray(8, 8, "os", acc_bits=32)
        n = 16 if quick else 32
        A, B = rng.integers(-128, 128, (n, n)), rng.integers(-128, 128, (n, n))
        r = run_bench("os_array", [(A, B)], array=sa, build_dir=d)
        assert r.passed, r.message
        c = r.cases[0]
        share = c["refquant_s"] / c["wall_s"]
        io = c["cocotb_io_s"] / c["wall_s"]
        out.append(Result(f"cocotb bench, 8x8 OS array, {n}^3 GEMM, per-cycle checks",
                          c["wall_s"] / c["cycles"],
                          note=f"{c['cycles'] / c['wall_s']:.0f} simulated cycles/s; refquant "
                          f"{100 * share:.2f}% of the simulation (target < 20%), cocotb port I/O "
                          f"{100 * io:.0f}%, Icarus + cocotb scheduling the rest; golden "
                          f"model + schedule {r.model_s:.2f} s before it"))
        sa16 = SystolicArray(16, 16, "os", acc_bits=32)
        m = 32 if quick else 64
        A, B = rng.integers(-128, 128, (m, m)), rng.integers(-128, 128, (m, m))
        t = time.perf_counter()
        r = run_bench("os_array", [(A, B)], array=sa16, build_dir=d)
        wall = time.perf_counter() - t
        assert r.passed, r.message
        c = r.cases[0]
        out.append(Result(f"cocotb bench, 16x16 OS array, {m}^3 GEMM, end to end", wall,
                          note=f"{c['cycles']} cycles, {c['cycles'] / c['wall_s']:.0f} cycles/s, "
                          f"refquant {100 * c['refquant_s'] / c['wall_s']:.1f}%; model "
                          f"{r.model_s:.2f} s, build {r.build_s:.2f} s, simulation "
                          f"{r.run_s:.2f} s (target: under 60 s)"))
    return out

"""Sweep throughput: float32 -> e4m3fn, refquant against ml_dtypes, over every float32
bit pattern (--quick: a slice of 2^26), on the local engine with 1 worker (in this
process) and 2 worker processes, one Numba thread each; the sweep's overhead against the
two bare conversions of the same inputs (one thread), the scaling efficiency of 2
workers, and the full 2^32 sweep's time (measured; --quick projects it from the median
chunk time plus the pool's start-up)."""
from __future__ import annotations

import time

import numpy as np

import refquant as rq
from benchmarks.common import Result
from refquant.testing import sweep
from refquant.testing._domains import Domain
from refquant.testing._sweep import DEFAULT_CHUNK

START = 0x3E000000   # 2^27 patterns from 0.125 up: the normal grid of e4m3fn, its
                     # overflow threshold and far beyond, where rounding does real work


def _bare(fmt, dt, start, n, chunk):
    """The two conversions alone, chunk by chunk, on the same inputs (one process); the
    inputs are made outside the timed part."""
    total = 0.0
    for s in range(start, start + n, chunk):
        x = np.arange(s, min(s + chunk, start + n), dtype=np.uint32).view(np.float32)
        t = time.perf_counter()
        x.astype(dt)
        fmt.encode(x)
        total += time.perf_counter() - t
    return total


def _sweep(domain, workers):
    """(wall seconds, median run time of a chunk) of one sweep."""
    t = time.perf_counter()
    rep = sweep("ml_dtypes", "e4m3fn", domain, workers=workers, progress=False)
    assert rep["mismatches"] == 0
    return time.perf_counter() - t, rep["timing"]["chunk_seconds_median"]


def run(quick: bool) -> list[Result]:
    import numba
    threads = numba.get_num_threads()
    numba.set_num_threads(1)   # one thread per worker, as in the pool's processes
    try:
        return _run(quick)
    finally:
        numba.set_num_threads(threads)


def _run(quick: bool) -> list[Result]:
    import ml_dtypes as md
    chunk = DEFAULT_CHUNK
    fmt = rq.format("e4m3fn")
    # quick: a slice of 2^26 patterns, best of two; full: every float32 bit pattern, once
    start, n, repeat = (START, 1 << 26, 2) if quick else (0, 1 << 32, 1)
    dom = Domain("float32", n, start=start)
    _bare(fmt, md.float8_e4m3fn, START, chunk, chunk)   # compile and warm up
    _sweep(Domain("float32", chunk, start=START), 1)
    best = {"bare": float("inf"), "w1": float("inf"), "w2": float("inf")}
    med = {"w1": float("inf"), "w2": float("inf")}
    for _ in range(repeat):   # interleaved
        best["bare"] = min(best["bare"], _bare(fmt, md.float8_e4m3fn, start, n, chunk))
        for key, workers in (("w1", 1), ("w2", 2)):
            wall, m = _sweep(dom, workers)
            if wall < best[key]:
                best[key], med[key] = wall, m
    overhead = best["w1"] / best["bare"] - 1.0
    efficiency = best["w1"] / (2 * best["w2"])
    steady = med["w1"] / med["w2"]   # a chunk's time alone vs beside another worker
    chunks = -(-n // chunk)
    startup = max(best["w2"] - chunks * med["w2"] / 2, 0.0)
    full_s = best["w2"] if n == 1 << 32 else startup + (1 << 32) // chunk * med["w2"] / 2
    rate = {k: n / v for k, v in best.items()}
    size = f"2^{n.bit_length() - 1}"
    return [
        Result(f"sweep f32->e4m3fn vs ml_dtypes n={size} 1 worker",
               best["w1"], baseline="bare conversions", baseline_s=best["bare"],
               note=f"{rate['w1']:.3g} inputs/s; overhead {100 * overhead:.1f}% of the bare "
                    f"conversions ({rate['bare']:.3g} inputs/s)",
               extra={"inputs_per_s": rate["w1"], "overhead": overhead}),
        Result(f"sweep f32->e4m3fn vs ml_dtypes n={size} 2 workers",
               best["w2"], baseline="1 worker", baseline_s=best["w1"],
               note=f"{rate['w2']:.3g} inputs/s; scaling efficiency {100 * efficiency:.0f}% "
                    f"(chunks alone vs side by side: {100 * steady:.0f}%), pool start-up "
                    f"{startup:.1f} s; full 2^32 "
                    + ("measured" if n == 1 << 32 else "projected") + f" {full_s:.0f} s",
               extra={"inputs_per_s": rate["w2"], "startup_s": startup,
                      "efficiency": efficiency, "steady_efficiency": steady,
                      "full_2_32_s": full_s}),
    ]


if __name__ == "__main__":
    for r in run(quick=False):
        print(" | ".join(r.cells()))

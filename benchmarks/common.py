"""Timing helpers shared by the benchmark modules.

A benchmark module ``bench_<area>.py`` defines ``run(quick: bool) -> list[Result]``.
``python -m benchmarks`` (or ``python benchmarks/run.py``) runs them all and prints one
table: refquant's time, and its ratio against the NumPy baseline, the best peer and the
machine's limit (memory copy for elementwise work, float BLAS for GEMM-shaped work).
A ratio > 1 in the "vs" columns means refquant is faster; "x limit" is refquant's time
divided by the limit's time (1.0 = at the limit).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field


def best_time(fn, repeat=5, min_time=0.0):
    """Best wall time of ``repeat`` calls after one warm-up call (compilation excluded)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


@dataclass
class Result:
    """One benchmark line. Times in seconds; ``None`` where a comparison does not apply."""

    name: str
    refquant_s: float
    baseline: str | None = None
    baseline_s: float | None = None
    peer: str | None = None
    peer_s: float | None = None
    limit: str | None = None
    limit_s: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def cells(self):
        def ratio(other):
            return "" if other is None else f"{other / self.refquant_s:8.2f}x"
        lim = "" if self.limit_s is None else f"{self.refquant_s / self.limit_s:8.2f}"
        return [self.name, f"{self.refquant_s * 1e3:10.2f}",
                f"{ratio(self.baseline_s)} {self.baseline or ''}".strip(),
                f"{ratio(self.peer_s)} {self.peer or ''}".strip(),
                f"{lim} {self.limit or ''}".strip(), self.note]

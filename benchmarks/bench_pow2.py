"""Power-of-two family: log / APoT / n-hot quantization of float32 values and term
quantization of a 9-bit integer matrix (target >= 100 M elements/s), against vectorised
NumPy and x.copy()."""
from __future__ import annotations

import numpy as np

from benchmarks.common import Result, best_time


def _numpy_table_round(x, mags, thr, exact):
    """The same rule in vectorised NumPy: nearest magnitude index by the decision points,
    ties (exact points only) to the even index, saturating, sign applied."""
    a = np.abs(x.astype(np.float64))
    j = np.searchsorted(thr, a, side="left")  # number of points < a
    jj = np.minimum(j, thr.size - 1)
    tie = (j < thr.size) & exact[jj] & (a == thr[jj])
    j = np.where(tie & (j % 2 == 1), j + 1, j)
    v = mags[j]
    return np.where(x < 0, -v, v)


def run(quick: bool) -> list[Result]:
    import refquant as rq
    from refquant.pow2 import term_quantize

    n = 1_000_000 if quick else 10_000_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32) * 0.3
    copy_s = best_time(lambda: x.copy(), repeat=3)
    out = []
    for name in ("log5", "apot5", "nhot2_8"):
        f = rq.format(name)
        mags, thr, ex = f._tab
        xs = x * np.float32(f.max)
        t_rq = best_time(lambda: f.quantize(xs), repeat=3)
        t_np = best_time(lambda: _numpy_table_round(xs, mags, thr, ex), repeat=3)
        assert np.array_equal(f.quantize(xs[:100_000]),
                              _numpy_table_round(xs[:100_000], mags, thr, ex))
        out.append(Result(f"{name} quantize {n:.0e} f32", t_rq, "numpy searchsorted", t_np,
                          None, None, "x.copy()", copy_s))
    side = 1024 if quick else 4096
    v = rng.integers(-255, 256, size=(side, side))
    vc = best_time(lambda: v.copy(), repeat=3)
    t = best_time(lambda: term_quantize(v, 8, 16), repeat=3)
    out.append(Result(f"term_quantize {side}x{side} g=8 a=16", t, None, None, None, None,
                      "x.copy()", vc, note=f"{v.size / t / 1e6:.1f} M elements/s "
                      "(target >= 100)"))
    return out

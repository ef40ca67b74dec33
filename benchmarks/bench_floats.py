"""Float formats: float32 -> e4m3fn / bf16 encode and decode vs ml_dtypes astype, and MXFP4
quantize vs a vectorised NumPy statement of the same OCP MX algorithm."""
from __future__ import annotations

import numpy as np

import refquant as rq
from benchmarks.common import Result, best_time


def _numpy_mxfp4(x):
    """Straightforward vectorised NumPy MXFP4 (last axis, blocks of 32, RNE, E2M1)."""
    xb = x.reshape(-1, 32).astype(np.float64)
    amax = np.abs(xb).max(axis=1)
    _, e = np.frexp(amax)
    se = np.where(amax > 0, e - 1 - 2, -127).clip(-127, 127)
    v = xb / np.ldexp(1.0, se)[:, None]
    grid = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6])
    a = np.minimum(np.abs(v), 6.0)
    i = np.searchsorted(grid, a).clip(1, 7)
    lo, hi = grid[i - 1], grid[i]
    pick_hi = (a - lo > hi - a) | ((a - lo == hi - a) & (i % 2 == 0))
    q = np.where(pick_hi, hi, lo)
    codes = (np.searchsorted(grid, q) | np.where(np.signbit(v), 8, 0)).astype(np.uint8)
    return codes.reshape(x.shape), (se + 127).astype(np.uint8)


def run(quick: bool) -> list[Result]:
    import ml_dtypes as md
    n = 10 ** 6 if quick else 10 ** 7
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    copy_t = best_time(lambda: x.copy())
    out = []
    for name, t in (("e4m3fn", md.float8_e4m3fn), ("bf16", md.bfloat16)):
        f = rq.format(name)
        out.append(Result(f"encode f32->{name} n={n:.0e}", best_time(lambda: f.encode(x)),
                          peer="ml_dtypes astype", peer_s=best_time(lambda: x.astype(t)),
                          limit="x.copy()", limit_s=copy_t))
        codes = f.encode(x)
        mdv = x.astype(t)
        fill = np.empty(n, dtype=np.float32)
        # both sides allocate a fresh 4n-byte output; its first-touch page faults dominate
        # a memory-bound decode, so the note also gives the time of filling an existing array
        alloc_t = best_time(lambda: np.empty(n, dtype=np.float32).fill(0))
        out.append(Result(f"decode {name}->f32 n={n:.0e}",
                          best_time(lambda: f.decode(codes, dtype=np.float32)),
                          peer="ml_dtypes astype", peer_s=best_time(lambda: mdv.astype(np.float32)),
                          limit="x.copy()", limit_s=copy_t,
                          note=f"fresh f32 array fill {alloc_t * 1e3:.2f} ms, "
                               f"fill existing {best_time(lambda: fill.fill(0)) * 1e3:.2f} ms"))
    m = 1024 if quick else 4096
    y = np.random.default_rng(1).standard_normal((m, m)).astype(np.float32)
    fmt = rq.format("mxfp4")
    q = rq.quantize(y, fmt)
    c, s = _numpy_mxfp4(y)
    assert np.array_equal(c, q.codes) and np.array_equal(s.reshape(q.scale.shape),
                                                         q.extra["scale_codes"])
    out.append(Result(f"mxfp4 quantize {m}x{m} f32", best_time(lambda: rq.quantize(y, fmt), 3),
                      baseline="numpy", baseline_s=best_time(lambda: _numpy_mxfp4(y), 2),
                      limit="x.copy()", limit_s=best_time(lambda: y.copy())))
    yt = np.ascontiguousarray(y.T)
    assert np.array_equal(rq.quantize(yt, fmt, axis=0).codes, q.codes.T)
    out.append(Result(f"mxfp4 quantize {m}x{m} f32 axis=0",
                      best_time(lambda: rq.quantize(yt, fmt, axis=0), 3),
                      baseline="numpy", baseline_s=best_time(lambda: _numpy_mxfp4(y), 2),
                      limit="x.copy()", limit_s=best_time(lambda: y.copy())))
    return out

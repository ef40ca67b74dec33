"""Float formats: float32 encodes against ml_dtypes ``astype`` and PyTorch ``.to()``, decodes,
and MXFP4 quantization along either axis.

Each row times refquant and the row's comparisons interleaved in one process (call after
call, several rounds, the best time of each), so that a busy machine slows both sides
alike. Thread counts: refquant's float32 kernels use Numba's threads (every core; below
``PAR_MIN_SIZE`` elements one), ml_dtypes and NumPy one thread, PyTorch 2 threads
(``torch.set_num_threads(2)``). Targets, from the project's speed issue:

- encode float32 -> e4m3fn, 10^7 standard-normal values: >= 2x ml_dtypes, <= 2.5x a copy;
- encode float32 -> e4m3fn, e3m2, e2m3, e2m1, e3m4, e8m0 over every float32 bit pattern
  (NaN, inf, overflow, underflow included): >= 2x ml_dtypes. Measured on every 257th
  pattern (2^24 patterns spread evenly over all 2^32; ``--quick``: every 4111th); formats
  without NaN leave the NaN patterns out (refquant raises on them, ml_dtypes makes ±0);
- float32 -> e4m3fn / e5m2 / fp16 / bf16 casts: at least PyTorch's ``.to()`` throughput on
  2^26 elements (``--quick``: 2^22), both on ordinary values (standard normal) and in the
  overflow/NaN region (random patterns of magnitude at least the format's max: finite
  overflows, ±inf and NaNs); rows skipped when torch is not importable;
- MXFP4 quantize 4096^2 along the last axis and along axis 0: <= 3x a copy.
"""
from __future__ import annotations

import time

import numpy as np

import refquant as rq
from benchmarks.common import Result


def _interleaved(fns, repeat=7):
    """Best wall time of each function, called in turn ``repeat`` times after a warm-up."""
    for f in fns:
        f()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, f in enumerate(fns):
            t = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


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


def _raw(a, bits):
    """Bit patterns of an ml_dtypes / float16 array as int64, low ``bits`` bits."""
    u = a.view(np.uint16 if a.dtype.itemsize == 2 else np.uint8).astype(np.int64)
    return u & ((1 << bits) - 1)


def _every_pattern(stride):
    """Every ``stride``-th float32 bit pattern (an odd stride visits every low-bit residue)."""
    return (np.arange(0, 1 << 32, stride, dtype=np.int64) + 0x5A5A).astype(np.uint32).view(
        np.float32)


def _encode_rows(md, quick):
    out = []
    n = 10 ** 6 if quick else 10 ** 7
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    f = rq.format("e4m3fn")
    assert np.array_equal(f.encode(x), _raw(x.astype(md.float8_e4m3fn), 8))
    t_rq, t_md, t_copy = _interleaved([lambda: f.encode(x), lambda: x.astype(md.float8_e4m3fn),
                                       lambda: x.copy()])
    out.append(Result(f"encode f32->e4m3fn n={n:.0e} normal", t_rq, peer="ml_dtypes astype",
                      peer_s=t_md, limit="x.copy()", limit_s=t_copy,
                      note="target >= 2x ml_dtypes, <= 2.5x copy"))
    every = _every_pattern(4111 if quick else 257)
    pairs = (("e4m3fn", md.float8_e4m3fn), ("e3m2", md.float6_e3m2fn),
             ("e2m3", md.float6_e2m3fn), ("e2m1", md.float4_e2m1fn), ("e3m4", md.float8_e3m4),
             ("e8m0", md.float8_e8m0fnu))
    for name, dt in pairs:
        f = rq.format(name)
        xs = every if f.has_nan else every[~np.isnan(every)]
        with np.errstate(over="ignore", invalid="ignore"):
            want = _raw(xs.astype(dt), f.bits)
            got = f.encode(xs).astype(np.int64)
            if name != "e8m0":   # e8m0: refquant's ties go to the even code (documented)
                assert np.array_equal(got, want), name
            t_rq, t_md = _interleaved([lambda: f.encode(xs), lambda: xs.astype(dt)], 5)
        out.append(Result(f"encode f32->{name} every pattern ({xs.size / 2 ** 20:.0f}Mi)", t_rq,
                          peer="ml_dtypes astype", peer_s=t_md,
                          note=f"target >= 2x ml_dtypes; {xs.size / t_rq / 1e6:.0f} M/s"
                               + ("" if f.has_nan else ", NaN patterns left out")))
    return out


def _torch_rows(quick):
    try:
        import torch
    except ImportError:  # pragma: no cover - optional peer
        return []
    torch.set_num_threads(2)
    n = 1 << (22 if quick else 26)
    rng = np.random.default_rng(2)
    normal = rng.standard_normal(n).astype(np.float32)
    out = []
    for name, dt in (("e4m3fn", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2),
                     ("fp16", torch.float16), ("bf16", torch.bfloat16)):
        f = rq.format(name)
        top = int(np.float32(f.max).view(np.int32))
        mags = rng.integers(top, 1 << 31, n, dtype=np.int64)
        region = (mags | (rng.integers(0, 2, n, dtype=np.int64) << 31)).astype(np.uint32).view(
            np.float32)
        for tag, x in (("normal", normal), ("overflow/NaN", region)):
            xt = torch.from_numpy(x)
            t_rq, t_torch, t_copy = _interleaved([lambda: f.encode(x), lambda: xt.to(dt),
                                                  lambda: x.copy()], 5)
            out.append(Result(f"cast f32->{name} 2^{n.bit_length() - 1} {tag}", t_rq,
                              peer="torch .to() 2 threads", peer_s=t_torch, limit="x.copy()",
                              limit_s=t_copy,
                              note=f"target >= 1x torch; {n / t_rq / 1e9:.2f} vs "
                                   f"{n / t_torch / 1e9:.2f} G/s"))
    return out


def _decode_rows(md, quick):
    out = []
    n = 10 ** 6 if quick else 10 ** 7
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    for name, t in (("e4m3fn", md.float8_e4m3fn), ("bf16", md.bfloat16)):
        f = rq.format(name)
        codes = f.encode(x)
        mdv = x.astype(t)
        fill = np.empty(n, dtype=np.float32)
        # both sides allocate a fresh 4n-byte output; its first-touch page faults dominate
        # a memory-bound decode, so the note also gives the time of filling an existing array
        t_rq, t_md, t_copy, t_alloc, t_fill = _interleaved([
            lambda: f.decode(codes, dtype=np.float32), lambda: mdv.astype(np.float32),
            lambda: x.copy(), lambda: np.empty(n, dtype=np.float32).fill(0),
            lambda: fill.fill(0)], 5)
        out.append(Result(f"decode {name}->f32 n={n:.0e}", t_rq, peer="ml_dtypes astype",
                          peer_s=t_md, limit="x.copy()", limit_s=t_copy,
                          note=f"fresh f32 array fill {t_alloc * 1e3:.2f} ms, "
                               f"fill existing {t_fill * 1e3:.2f} ms"))
    return out


def _mx_rows(quick):
    m = 1024 if quick else 4096
    y = np.random.default_rng(1).standard_normal((m, m)).astype(np.float32)
    fmt = rq.format("mxfp4")
    q = rq.quantize(y, fmt)
    c, s = _numpy_mxfp4(y)
    assert np.array_equal(c, q.codes) and np.array_equal(s.reshape(q.scale.shape),
                                                         q.extra["scale_codes"])
    yt = np.ascontiguousarray(y.T)
    assert np.array_equal(rq.quantize(yt, fmt, axis=0).codes, q.codes.T)
    t_numpy = _interleaved([lambda: _numpy_mxfp4(y)], 2)[0]
    t_last, t_ax0, t_copy = _interleaved([lambda: rq.quantize(y, fmt),
                                          lambda: rq.quantize(yt, fmt, axis=0),
                                          lambda: y.copy()], 5)
    return [Result(f"mxfp4 quantize {m}x{m} f32", t_last, baseline="numpy", baseline_s=t_numpy,
                   limit="x.copy()", limit_s=t_copy, note="target <= 3x copy"),
            Result(f"mxfp4 quantize {m}x{m} f32 axis=0", t_ax0, baseline="numpy",
                   baseline_s=t_numpy, limit="x.copy()", limit_s=t_copy,
                   note="target <= 3x copy")]


def run(quick: bool) -> list[Result]:
    import ml_dtypes as md
    return _encode_rows(md, quick) + _torch_rows(quick) + _decode_rows(md, quick) + _mx_rows(quick)

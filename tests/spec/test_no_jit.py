"""The pure-Python path (NUMBA_DISABLE_JIT=1, how users debug a kernel) gives the same
results as the compiled kernels.

``_compute()`` runs a fixed set of small cases through the public functions of the
float, block, posit, TENT and power-of-two families. The test runs it once in this
process (jitted) and once in a subprocess with NUMBA_DISABLE_JIT=1 (this file run as a
script writing an .npz), and compares every array bit for bit.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _inputs():
    x = np.concatenate([np.linspace(-8, 8, 29), [0.0, -0.0, 0.3, -7.0, 1e-3, 2.5, -2.5, 5e-324,
                                                 1e-310, 448.0, 470.0, 1e6, -1e6]])
    return x


def _compute():
    import refquant as rq
    import refquant.posit as P
    from refquant import Rounding

    out = {}
    x = _inputs()
    x32 = x.astype(np.float32)
    blk = np.concatenate([np.linspace(-8, 8, 64), np.linspace(-0.1, 0.3, 32)]).reshape(3, 32)
    blk_bad = blk.copy()
    blk_bad[1, 3] = np.inf
    blk_bad[2, 0] = np.nan
    for name in ("mxfp4", "mxfp8_e4m3", "mxint8", "nvfp4"):
        f = rq.format(name)
        out[f"{name}.encode"] = f.encode(np.linspace(-8, 8, 64))
        for tag, xx in (("f64", blk), ("f32", blk.astype(np.float32)), ("bad", blk_bad)):
            for mode in (Rounding.NEAREST_EVEN, Rounding.NEAREST_AWAY, Rounding.DOWN,
                         Rounding.STOCHASTIC):
                q = f.quantize_tensor(xx, rounding=mode, seed=3)
                key = f"{name}.{tag}.{mode.name}"
                out[key + ".codes"] = q.codes
                out[key + ".scale_codes"] = q.extra["scale_codes"]
                out[key + ".deq"] = q.dequantize()
        out[f"{name}.axis0"] = f.quantize_tensor(blk.T.copy(), axis=0).codes
    for name in ("e4m3fn", "e5m2", "e2m1", "bf16", "e8m0"):
        f = rq.format(name)
        xs = np.abs(x) if name == "e8m0" else x
        for mode in Rounding:
            c = f.encode(xs, rounding=mode, seed=7)
            out[f"{name}.{mode.name}"] = c
            out[f"{name}.{mode.name}.dec"] = f.decode(c)
            out[f"{name}.{mode.name}.sat"] = f.encode(xs, rounding=mode, overflow="saturate", seed=7)
        out[f"{name}.f32"] = f.encode(np.abs(x32) if name == "e8m0" else x32)
    out["bf16.dec32"] = rq.format("bf16").decode(rq.format("bf16").encode(x32), dtype=np.float32)
    for name in ("posit8", "posit16", "posit8_0", "tent8", "tent8_3_-2"):
        f = rq.format(name)
        for mode in Rounding:
            c = f.encode(x, rounding=mode, seed=5)
            out[f"{name}.{mode.name}"] = c
            out[f"{name}.{mode.name}.dec"] = f.decode(c)
        out[f"{name}.f32"] = f.encode(x32)
        out[f"{name}.special"] = f.encode(np.array([np.nan, np.inf, -np.inf, 1e300, -1e-300]))
    for name in ("posit8", "posit16"):
        f = rq.format(name)
        a = f.encode(x)
        b = f.encode(x[::-1].copy() * 0.37)
        for mode in (Rounding.NEAREST_EVEN, Rounding.TOWARD_ZERO, Rounding.STOCHASTIC):
            for op in ("add", "sub", "mul", "div"):
                out[f"{name}.{op}.{mode.name}"] = getattr(P, op)(a, b, f, mode, seed=2)
            out[f"{name}.sqrt.{mode.name}"] = P.sqrt(a, f, mode)
            out[f"{name}.fma.{mode.name}"] = P.fma(a, b, a, f, mode)
            out[f"{name}.quire.{mode.name}"] = np.asarray(rq.quire_dot(a, b, f, mode))
            out[f"{name}.to_int.{mode.name}"] = P.to_int(a, f, mode)
        out[f"{name}.neg"] = P.neg(a, f)
        out[f"{name}.abs"] = P.abs(a, f)
        out[f"{name}.compare"] = P.compare(a, b, f)
        out[f"{name}.convert"] = P.convert(a, f, "posit8_1")
        out[f"{name}.from_int"] = P.from_int(np.arange(-300, 300, 7), f)
        out[f"{name}.quire_matmul"] = rq.quire_matmul(a[:12].reshape(3, 4), b[:8].reshape(4, 2), f)
    for name in ("log4", "ulog4", "log5_sqrt2", "apot4", "nhot2_8", "pwlq4"):
        f = rq.format(name)
        xs = np.abs(x) / 8 if name.startswith("u") else x / 8
        for mode in (Rounding.NEAREST_EVEN, Rounding.UP, Rounding.STOCHASTIC):
            c = f.encode(xs, rounding=mode, seed=4)
            out[f"{name}.{mode.name}"] = c
            out[f"{name}.{mode.name}.dec"] = f.decode(c)
    for bits in (3, 4, 6, 12):
        codes = (np.arange(40) * 5) % (1 << bits)
        packed = rq.pack(codes, bits)
        out[f"pack{bits}"] = packed
        out[f"unpack{bits}"] = rq.unpack(packed, bits, codes.size)
    return out


def test_no_jit_matches_jit(tmp_path):
    path = tmp_path / "nojit.npz"
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(ROOT / "tests") + os.pathsep
               + str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, __file__, str(path)], env=env, capture_output=True,
                       text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-4000:]
    got = dict(np.load(path))
    want = _compute()
    assert sorted(got) == sorted(want)
    bad = []
    for k, w in want.items():
        g = got[k]
        w = np.asarray(w)
        if g.dtype != w.dtype or g.shape != w.shape:
            bad.append(f"{k}: {g.dtype}{g.shape} vs {w.dtype}{w.shape}")
        elif w.dtype.kind == "f":
            if not np.array_equal(g.view(f"u{w.itemsize}"), w.view(f"u{w.itemsize}")):
                bad.append(f"{k}: {g} vs {w}")
        elif not np.array_equal(g, w):
            bad.append(f"{k}: {g} vs {w}")
    assert not bad, "\n".join(bad[:20])


if __name__ == "__main__":
    np.savez(sys.argv[1], **_compute())

"""Posit benchmarks: encode/decode of float64 arrays, arithmetic, the quire dot product.

Baselines: NumPy's own narrowing cast of the same data (float64 -> float16/float32) for
encode, ``codes.astype(float64)`` for decode, float64 ``np.dot`` for the quire. Peer:
SoftPosit's per-element Python conversion / arithmetic / quire, timed on a sample and
scaled to the full size. Limit: ``x.copy()`` of the float64 array for elementwise work,
float64 BLAS ``np.dot`` for the dot product.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Result, best_time

import refquant
from refquant import posit as P
from refquant.posit import quire_dot


def _per_element(fn, items, total):
    """Time fn over ``items`` once and scale to ``total`` elements."""
    t = time.perf_counter()
    for it in items:
        fn(it)
    return (time.perf_counter() - t) * total / len(items)


def run(quick: bool = False) -> list[Result]:
    try:
        import softposit as sp
    except ImportError:  # pragma: no cover - optional peer
        sp = None
    rng = np.random.default_rng(0)
    size = 10 ** 6 if quick else 10 ** 7
    x = rng.standard_normal(size)
    sample = x[:20000]
    repeat = 3 if quick else 5
    copy_s = best_time(lambda: x.copy(), repeat)
    out = []
    for n, cast in ((16, np.float16), (32, np.float32)):
        f = refquant.format(f"posit{n}")
        enc_s = best_time(lambda: f.encode(x), repeat)
        cast_s = best_time(lambda: x.astype(cast), repeat)
        peer_s = None
        if sp is not None:
            peer_s = _per_element(lambda v: sp.convertDoubleToPX2(float(v), n), sample, size)
        out.append(Result(f"posit{n} encode {size:.0e} float64", enc_s,
                          f"astype({cast.__name__})", cast_s, "softposit/elem" if sp else None,
                          peer_s, "x.copy()", copy_s,
                          note=f"{size / enc_s / 1e6:.0f} Melem/s"))
        codes = f.encode(x)
        dec_s = best_time(lambda: f.decode(codes), repeat)
        base_s = best_time(lambda: codes.astype(np.float64), repeat)
        peer_s = None
        if sp is not None:
            cs = codes[:20000].tolist()
            peer_s = _per_element(lambda c: float(sp.posit_2(bits=c, x=n)), cs, size)
        out.append(Result(f"posit{n} decode {size:.0e}", dec_s, "astype(float64)", base_s,
                          "softposit/elem" if sp else None, peer_s, "x.copy()", copy_s,
                          note=f"{size / dec_s / 1e6:.0f} Melem/s"))
    # arithmetic: posit32 multiply and add of 1e6 pairs
    m = 10 ** 6
    f = refquant.format("posit32")
    a = f.encode(rng.standard_normal(m))
    b = f.encode(rng.standard_normal(m))
    xa, xb = f.decode(a), f.decode(b)
    for name in ("mul", "add", "div"):
        op = getattr(P, name)
        t = best_time(lambda: op(a, b, f), repeat)
        npop = {"mul": np.multiply, "add": np.add, "div": np.divide}[name]
        base = best_time(lambda: npop(xa, xb), repeat)
        peer_s = None
        if sp is not None:
            fn = {"mul": sp.pX2_mul, "add": sp.pX2_add, "div": sp.pX2_div}[name]
            ta = [sp.posit_2(bits=int(c), x=32).v for c in a[:20000]]
            tb = [sp.posit_2(bits=int(c), x=32).v for c in b[:20000]]
            pairs = list(zip(ta, tb))
            peer_s = _per_element(lambda p: fn(p[0], p[1], 32), pairs, m)
        out.append(Result(f"posit32 {name} 1e6 pairs", t, f"float64 {npop.__name__}", base,
                          "softposit/elem" if sp else None, peer_s,
                          note=f"{m / t / 1e6:.0f} Mop/s"))
    # quire dot product, length 1e6, posit32
    qa = f.encode(rng.standard_normal(m))
    qb = f.encode(rng.standard_normal(m))
    va, vb = f.decode(qa), f.decode(qb)
    q_s = best_time(lambda: quire_dot(qa, qb, f), repeat)
    dot_s = best_time(lambda: np.dot(va, vb), repeat)
    peer_s = None
    if sp is not None:
        k = 20000
        pa = [sp.posit_2(bits=int(c), x=32) for c in qa[:k]]
        pb = [sp.posit_2(bits=int(c), x=32) for c in qb[:k]]
        q = sp.quire_2(32)
        t = time.perf_counter()
        for u, v in zip(pa, pb):
            q.qma(u, v)
        peer_s = (time.perf_counter() - t) * m / k
    out.append(Result("posit32 quire_dot 1e6", q_s, "float64 np.dot", dot_s,
                      "softposit quire/elem" if sp else None, peer_s, "np.dot (BLAS)", dot_s,
                      note=f"{m / q_s / 1e6:.0f} Mterm/s; target x limit <= 20"))
    return out

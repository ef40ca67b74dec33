"""Differential tests against SoftPosit 0.3.4.4 (the posit working group's C library).

SoftPosit's posit_2 functions are posit<n, 2> for 2 <= n <= 32 (patterns left-aligned in
a 32-bit word); posit8 / posit16 / posit32 are es = 0 / 1 / 2. float(NaR) is inf in
SoftPosit (refquant decodes NaR to NaN), so NaR is compared by pattern.

Sizes: all 2^16 pairs of posit<8,2> per operation; for posit<16,2> and posit<32,2>
N_RANDOM pairs per operation (SoftPosit is called once per element from Python, about
2 us per call; 20000 pairs per operation and format keep this file near 10 s; set
REFQUANT_SOFTPOSIT_PAIRS=1000000 for the issue's full 10^6 run); every posit<16,2> for sqrt.
"""
import os

import numpy as np
import pytest

sp = pytest.importorskip("softposit")

from refquant import posit as P  # noqa: E402
from refquant.posit import PositFormat, quire_dot  # noqa: E402
from reference import posit as ref  # noqa: E402

N_RANDOM = int(os.environ.get("REFQUANT_SOFTPOSIT_PAIRS", "20000"))


def _t(c, n):
    t = sp.posit_2_t()
    t.v = int(c) << (32 - n)
    return t


def _bits(t, n):
    return t.v >> (32 - n)


def _legacy(n):
    if n == 8:
        return sp.posit8_t, sp.convertDoubleToP8
    return sp.posit16_t, sp.convertDoubleToP16


@pytest.mark.parametrize("n,es", [(8, 2), (16, 2), (8, 0), (16, 1)])
def test_decode_every_code(n, es):
    f = PositFormat(n, es)
    codes = np.arange(1 << n)
    got = f.decode(codes.astype(f.code_dtype))
    if es == 2:
        want = np.array([float(sp.posit_2(bits=int(c), x=n)) for c in codes])
    elif n == 8:
        want = np.array([float(sp.posit8(bits=int(c))) for c in codes])
    else:
        want = np.array([float(sp.posit16(bits=int(c))) for c in codes])
    nar = 1 << (n - 1)
    real = codes != nar
    assert np.array_equal(got[real], want[real])
    assert np.isnan(got[nar]) and np.isinf(want[nar])


def _encode_cases(n, es, rng):
    f = PositFormat(n, es)
    x = rng.standard_normal(3000) * np.exp2(rng.uniform(-1.3, 1.3, 3000) * f.emax)
    if n <= 16:
        u = np.arange(1, (1 << (n - 1)) - 1)
        pat = np.array([(int(c) << 1) | 1 for c in u])
        ties = PositFormat(n + 1, es).decode(pat.astype(PositFormat(n + 1, es).code_dtype))
    else:
        u = rng.integers(1, (1 << (n - 1)) - 1, 3000)
        lo = f.decode(u.astype(f.code_dtype))
        hi = f.decode((u + 1).astype(f.code_dtype))
        ties = np.where(np.log2(hi) - np.log2(lo) > 1, np.sqrt(lo * hi), (lo + hi) / 2)
    edges = np.array([f.max, f.max * 3, 1e300, f.smallest_subnormal, f.smallest_subnormal / 3,
                      1e-300, 5e-324, 1.0, 0.0])
    x = np.concatenate([x, ties, np.nextafter(ties, 0), np.nextafter(ties, np.inf), edges])
    return np.concatenate([x, -x])


@pytest.mark.parametrize("n,es", [(8, 2), (16, 2), (32, 2), (8, 0), (16, 1), (5, 2), (12, 2)])
def test_encode_float64(n, es, rng):
    """softposit's double -> posit conversions round exactly (checked here on random
    values, every tie and both float64 neighbours of each tie, and the range ends)."""
    f = PositFormat(n, es)
    x = _encode_cases(n, es, rng)
    got = f.encode(x).astype(np.int64)
    if es == 2:
        want = np.array([_bits(sp.convertDoubleToPX2(float(v), n), n) for v in x])
    else:
        conv = _legacy(n)[1]
        want = np.array([conv(float(v)).v for v in x])
    assert np.array_equal(got, want)


OPS = {"add": sp.pX2_add, "sub": sp.pX2_sub, "mul": sp.pX2_mul, "div": sp.pX2_div}


def test_posit8_all_pairs_all_operations():
    n = 8
    f = PositFormat(n, 2)
    a, b = [x.ravel() for x in np.meshgrid(np.arange(256), np.arange(256), indexing="ij")]
    ts = [_t(c, n) for c in range(256)]
    for name, fn in OPS.items():
        got = getattr(P, name)(a, b, f).astype(np.int64)
        want = np.array([_bits(fn(ts[x], ts[y], n), n) for x, y in zip(a.tolist(), b.tolist())])
        assert np.array_equal(got, want), name


@pytest.mark.parametrize("n", [16, 32])
def test_random_pairs(n, rng):
    f = PositFormat(n, 2)
    a = rng.integers(0, 1 << n, N_RANDOM)
    b = rng.integers(0, 1 << n, N_RANDOM)
    # a share of pairs with close magnitudes (cancellation in add/sub)
    k = N_RANDOM // 4
    b[:k] = (a[:k] + rng.integers(-3, 4, k)) % (1 << n)
    b[k:2 * k] = (-(a[k:2 * k] + rng.integers(-3, 4, k))) % (1 << n)
    if n == 32:
        # SoftPosit's dedicated posit32 routines: its generic pX2_mul at n = 32 misrounds
        # a few products next to maxpos / minpos (3 in 10^6 pairs, e.g. 0x7fff22d7 *
        # 0x7fff22d8 gives 0x7ffffffc; p32_mul and the exact reference give 0x7ffffffd).
        ta = [sp.posit32(bits=c).v for c in a.tolist()]
        tb = [sp.posit32(bits=c).v for c in b.tolist()]
        ops = {"add": sp.p32_add, "sub": sp.p32_sub, "mul": sp.p32_mul, "div": sp.p32_div}
        for name, fn in ops.items():
            got = getattr(P, name)(a, b, f).astype(np.int64)
            want = np.array([fn(x, y).v for x, y in zip(ta, tb)])
            assert np.array_equal(got, want), name
        got = P.sqrt(a, f).astype(np.int64)
        assert np.array_equal(got, np.array([sp.p32_sqrt(x).v for x in ta]))
        return
    ta = [_t(c, n) for c in a.tolist()]
    tb = [_t(c, n) for c in b.tolist()]
    for name, fn in OPS.items():
        got = getattr(P, name)(a, b, f).astype(np.int64)
        want = np.array([_bits(fn(x, y, n), n) for x, y in zip(ta, tb)])
        assert np.array_equal(got, want), name
    got = P.sqrt(a, f).astype(np.int64)
    assert np.array_equal(got, np.array([_bits(sp.pX2_sqrt(x, n), n) for x in ta]))


def test_softposit_generic_posit32_multiply_misrounds_near_maxpos():
    """Documented peer defect (see test_random_pairs): refquant follows the definition."""
    f = PositFormat(32, 2)
    a, b = 0x7FFF22D7, 0x7FFF22D8
    assert int(P.mul(a, b, f)) == 0x7FFFFFFD == ref.mul(a, b, 32, 2)
    assert sp.p32_mul(sp.posit32(bits=a).v, sp.posit32(bits=b).v).v == 0x7FFFFFFD
    assert _bits(sp.pX2_mul(_t(a, 32), _t(b, 32), 32), 32) == 0x7FFFFFFC


def test_fma_random(rng):
    n = 32
    f = PositFormat(n, 2)
    N = min(N_RANDOM, 5000)
    a, b, c = (rng.integers(0, 1 << n, N) for _ in range(3))
    # a share of triples where c nearly cancels a * b
    k = N // 2
    c[:k] = P.neg(P.mul(a[:k], b[:k], f), f).astype(np.int64) + rng.integers(-2, 3, k)
    c %= 1 << n
    got = P.fma(a, b, c, f).astype(np.int64)
    want = np.array([sp.p32_mulAdd(sp.posit32(bits=x).v, sp.posit32(bits=y).v,
                                   sp.posit32(bits=z).v).v
                     for x, y, z in zip(a.tolist(), b.tolist(), c.tolist())])
    # independent random triples: bit-identical
    assert np.array_equal(got[k:], want[k:])
    # near-cancelling triples: SoftPosit's p32_mulAdd is sometimes one pattern off (it
    # does not carry the full product into the subtraction); where it differs, refquant
    # equals the exact rational reference and SoftPosit is the neighbouring pattern.
    bad = np.nonzero(got[:k] != want[:k])[0]
    assert len(bad) < k // 20
    for i in bad.tolist():
        assert got[i] == ref.fma(int(a[i]), int(b[i]), int(c[i]), n, 2)
        assert abs(int(P.to_signed(got[i], f)) - int(P.to_signed(want[i], f))) == 1


def test_sqrt_every_posit16():
    n = 16
    f = PositFormat(n, 2)
    codes = np.arange(1 << n)
    got = P.sqrt(codes, f).astype(np.int64)
    want = np.array([_bits(sp.pX2_sqrt(_t(c, n), n), n) for c in codes.tolist()])
    assert np.array_equal(got, want)


def test_legacy_formats_all_pairs_posit8_es0():
    f = PositFormat(8, 0)
    a, b = [x.ravel() for x in np.meshgrid(np.arange(256), np.arange(256), indexing="ij")]
    ps = [sp.posit8(bits=c) for c in range(256)]
    for name, fn in {"add": sp.p8_add, "mul": sp.p8_mul, "div": sp.p8_div}.items():
        got = getattr(P, name)(a, b, f).astype(np.int64)
        want = np.array([fn(ps[x].v, ps[y].v).v for x, y in zip(a.tolist(), b.tolist())])
        assert np.array_equal(got, want), name


def test_conversions_and_integers(rng):
    codes = rng.integers(0, 1 << 32, 5000)
    got = P.convert(codes, "posit32", "posit16_1").astype(np.int64)
    want = np.array([sp.p32_to_p16(sp.posit32(bits=int(c)).v).v for c in codes])
    assert np.array_equal(got, want)
    got = P.convert(codes, "posit32", "posit8").astype(np.int64)
    want = np.array([_bits(sp.p32_to_pX2(sp.posit32(bits=int(c)).v, 8), 8) for c in codes])
    assert np.array_equal(got, want)
    small = PositFormat(32, 2).encode(rng.standard_normal(5000) * 1e6)
    got = P.to_int(small, "posit32")
    want = np.array([sp.p32_to_i64(sp.posit32(bits=int(c)).v) for c in small])
    assert np.array_equal(got, want)
    ints = rng.integers(-(2 ** 62), 2 ** 62, 5000) >> rng.integers(0, 62, 5000)
    got = P.from_int(ints, "posit32").astype(np.int64)
    assert np.array_equal(got, np.array([sp.i64_to_p32(int(i)).v for i in ints]))


@pytest.mark.parametrize("n", [8, 16, 32])
def test_quire_dot_vs_softposit_quire(n, rng):
    """Rounded fused dot products equal SoftPosit's quire (its 2018 widths hold these
    sums exactly: magnitudes stay well inside both quires)."""
    f = PositFormat(n, 2)
    for _ in range(40):
        L = int(rng.integers(1, 60))
        x = rng.standard_normal(L) * np.exp2(rng.integers(-6, 7, L))
        y = rng.standard_normal(L)
        if rng.random() < 0.5:  # cancellation: append the negated products
            x = np.concatenate([x, -x, rng.standard_normal(2)])
            y = np.concatenate([y, y, rng.standard_normal(2)])
        a, b = f.encode(x), f.encode(y)
        q = sp.quire_2(n)
        for u, v in zip(a.tolist(), b.tolist()):
            q.qma(sp.posit_2(bits=u, x=n), sp.posit_2(bits=v, x=n))
        assert int(quire_dot(a, b, f)) == _bits(q.toPosit().v, n)

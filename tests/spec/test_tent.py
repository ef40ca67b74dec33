"""Tapered fixed point (TENT) as refquant defines it (see refquant.posit.TentFormat)."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refquant
from refquant.posit import TentFormat
from refquant.registry import format_names
from reference import posit as ref

SMALL = [(n, rs) for n in (3, 5, 8) for rs in range(1, n)]


@pytest.mark.parametrize("n,rs", SMALL + [(12, 4)])
def test_decode_every_code_matches_definition(n, rs):
    for se in (0, -3, 5):
        f = TentFormat(n, rs, se)
        got = f.decode(np.arange(1 << n).astype(f.code_dtype))
        for c in range(1 << n):
            v = ref.decode_tapered(c, n, 0, rs, se)
            if v is None:
                assert np.isnan(got[c])
            else:
                assert Fraction(float(got[c])) == v, (n, rs, se, c)


def test_worked_example_tent8_3():
    f = refquant.format("tent8")
    assert f == TentFormat(8, 3, 0)
    # 0 | 10 | 00000 = 1.0 ; 0 | 10 | 10000 = 1.5 ; 0 | 01 | 00000 = 0.5 (k = -1)
    # 0 | 111 | 0000 = 4 (run bounded at 3: no terminator) ; 0 | 000 | 0001 = minpos
    assert f.encode([1.0, 1.5, 0.5, 4.0, -1.0]).tolist() == [0x40, 0x50, 0x20, 0x70, 0xC0]
    assert f.max == 7.75 == TentFormat.max_for(8, 3) == -f.min
    assert f.smallest_normal == f.smallest_subnormal == 0.125 * (1 + 1 / 16)
    assert f.decode(np.array([0x7F, 0x01, 0x80], dtype=np.uint8))[:2].tolist() == [7.75, 0.1328125]


def test_full_run_bound_is_posit_es0():
    for n in (6, 8, 12):
        t = TentFormat(n, n - 1)
        p = refquant.format(f"posit{n}_0")
        c = np.arange(1 << n).astype(t.code_dtype)
        assert np.array_equal(t.decode(c), p.decode(c), equal_nan=True)
        x = np.random.default_rng(n).standard_normal(500) * 10
        assert np.array_equal(t.encode(x), p.encode(x))


@pytest.mark.parametrize("n,rs", [(8, 1), (8, 3), (8, 5), (12, 4)])
def test_exhaustive_order_roundtrip_symmetry(n, rs):
    f = TentFormat(n, rs, -2)
    codes = np.arange(1 << n)
    real = codes[codes != 1 << (n - 1)]
    v = f.decode(real.astype(f.code_dtype))
    s = np.where(real >= 1 << (n - 1), real - (1 << n), real)
    assert np.all(np.diff(v[np.argsort(s)]) > 0)
    assert np.array_equal(f.encode(v).astype(np.int64), real)
    assert np.array_equal(f.encode(-v).astype(np.int64), (-real) & ((1 << n) - 1))


@settings()
@given(st.sampled_from([(8, 2), (8, 3), (10, 4), (16, 5), (32, 7)]), st.integers(-8, 8),
       st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=6),
       st.sampled_from([0, 3, 4, 5]))
def test_encode_matches_reference(fmt, se, xs, mode):
    n, rs = fmt
    f = TentFormat(n, rs, se)
    got = f.encode(np.array(xs), mode).astype(np.int64).tolist()
    assert got == [ref.encode(Fraction(x), n, 0, rs, se, mode) for x in xs]


def test_ties_go_to_even():
    n, rs = 8, 3
    f = TentFormat(n, rs)
    u = np.arange(1, (1 << (n - 1)) - 1)
    ties = np.array([float(ref.decode_tapered((int(c) << 1) | 1, n + 1, 0, rs)) for c in u])
    assert np.array_equal(f.encode(ties).astype(np.int64), np.where(u % 2 == 0, u, u + 1))
    assert np.array_equal(f.encode(np.nextafter(ties, 0)).astype(np.int64), u)


def test_layerwise_fit():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(10000) * 2.0 ** -5
    f = TentFormat.fit(w, 8)
    a = np.abs(w)
    assert f.scale_exp == int(np.rint(np.mean(np.log2(a))))
    assert f.max >= a.max()
    assert f.rs == 1 or TentFormat.max_for(8, f.rs - 1, f.scale_exp) < a.max()
    assert TentFormat.fit(np.zeros(5), 8) == TentFormat(8, 1, 0)
    # a layer with a wide range needs a longer run
    wide = np.array([2.0 ** -4, 1.0, 2.0 ** 4])  # needs maxpos >= 16: rs 4 gives 14, rs 5 gives 24
    assert TentFormat.fit(wide, 8) == TentFormat(8, 5, 0)
    # beyond every bound: the longest run (posit<8,0>) and saturation
    assert TentFormat.fit([2.0 ** -10, 2.0 ** 10], 8) == TentFormat(8, 7, 0)
    # fitted TENT beats int8-like uniform grid on this bell-shaped layer at equal width
    y = f.quantize(w)
    sqnr = 10 * np.log10(np.sum(w ** 2) / np.sum((w - y) ** 2))
    assert sqnr > 30.0


def test_names_and_validation():
    assert refquant.format("tent8_3_-4") == TentFormat(8, 3, -4)
    assert refquant.format("tent16_5").name == "tent16_5"
    assert TentFormat(8, 3, -4).name == "tent8_3_-4"
    assert "tent8" in format_names() and "tent16" in format_names()
    with pytest.raises(ValueError, match=r"rs must be an int in \[1, 7\], got 8"):
        TentFormat(8, 8)
    with pytest.raises(ValueError, match=r"rs must be an int in \[1, 7\], got 0"):
        TentFormat(8, 0)
    with pytest.raises(ValueError, match=r"scale_exp must be an int in \[-64, 64\], got 100"):
        TentFormat(8, 3, 100)
    with pytest.raises(ValueError, match=r"bits must be an int in \[2, 32\], got 40"):
        TentFormat(40, 3)
    f = TentFormat(8, 3)
    assert f.encode([np.nan, np.inf, 0.0]).tolist() == [0x80, 0x80, 0]
    assert f.encode([1e9, 1e-9]).tolist() == [0x7F, 0x01]


@pytest.mark.parametrize("n,rs", SMALL + [(12, 4), (16, 15), (32, 7)])
def test_documented_extremes_and_exponent_range(n, rs):
    # the maxpos/minpos formulas and the range of k stated in the module docstring
    for se in (0, -3, 4):
        f = TentFormat(n, rs, se)
        tail = 2.0 ** -(n - 1 - rs)
        assert f.max == 2.0 ** (rs - 1 + se) * (2 - tail) == TentFormat.max_for(n, rs, se)
        low = 2.0 ** (-rs + se) * (1 + tail) if rs < n - 1 else 2.0 ** (2 - n + se)
        assert f.smallest_normal == f.smallest_subnormal == low
        assert f.emax == rs - 1 + se and f.emin == (-rs if rs < n - 1 else 2 - n) + se
        if n <= 12:
            v = f.values()
            e = np.unique(np.frexp(v[v > 0])[1] - 1)
            kmin = -rs if rs < n - 1 else 2 - n
            assert e.tolist() == list(range(kmin + se, rs + se))

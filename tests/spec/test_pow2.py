"""Specification of the logarithmic, APoT and n-hot formats and their shift-add dot
products (refquant.pow2, refquant.kernels.pow2)."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import refquant as rq
from refquant.pow2 import (APoTFormat, LogFormat, NHotFormat, PWLQFormat, apot_terms,
                           nhot_truncate, shift_dot)
from tests.reference import pow2 as ref

# ---------------------------------------------------------------------------------------
# APoT level sets, pinned (numerators over 2^9 of build_power_value(B) before its
# division by the maximum)
# ---------------------------------------------------------------------------------------
APOT_LEVELS_512 = {
    2: [0, 64, 128, 256],
    3: [0, 32, 64, 96, 128, 192, 256, 320],
    4: [0, 8, 16, 24, 32, 48, 64, 72, 96, 128, 144, 192, 256, 264, 288, 384],
    5: [0, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 68, 80, 84, 96, 112, 128, 136, 144,
        152, 192, 208, 256, 260, 272, 276, 288, 304, 384, 400],
    6: [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 17, 20, 21, 24, 28, 32, 33, 34, 35, 40, 42,
        48, 49, 56, 64, 66, 68, 70, 80, 84, 96, 98, 112, 128, 129, 132, 133, 136, 140, 160,
        161, 168, 192, 196, 224, 256, 257, 258, 259, 264, 266, 272, 273, 280, 320, 322, 336,
        384, 385, 392, 448],
}


@pytest.mark.parametrize("B", [2, 3, 4, 5, 6])
def test_apot_levels_pinned(B):
    exact = [Fraction(v, 512) for v in APOT_LEVELS_512[B]]
    assert len(exact) == 2 ** B
    assert exact == ref.build_power_value(B)
    assert rq.apot_levels(B, normalized=False).tolist() == [float(v) for v in exact]
    norm = rq.apot_levels(B)
    assert norm.tolist() == [float(v / exact[-1]) for v in exact]
    assert norm[-1] == 1.0


def test_apot_spec_examples():
    # B = 2 levels {0, 1/4, 1/2, 1}; B = 3 normalised levels are tenths
    assert rq.apot_levels(2).tolist() == [0.0, 0.25, 0.5, 1.0]
    assert rq.apot_levels(3).tolist() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0]


@pytest.mark.parametrize("B", [2, 3, 4, 5, 6])
def test_apot_terms_reconstruct(B):
    t = apot_terms(B)
    lv = ref.build_power_value(B)
    for j, v in enumerate(lv):
        es = [e for e in t[j] if e >= 0]
        assert sum((Fraction(1, 2 ** e) for e in es), Fraction(0)) == v
        assert es == sorted(es) and len(es) <= 3


def test_apot_format_layout():
    f = rq.format("apot4")  # sign + B=3 levels
    assert f.bits == 4 and f.level_bits == 3
    assert f.decode(np.array([0b0101, 0b1101], np.uint8)).tolist() == [0.375, -0.375]
    assert f.max == 0.625 and f.calibration_max == 0.625
    u = rq.format("uapot3")
    assert u.values().tolist() == [float(Fraction(v, 512)) for v in APOT_LEVELS_512[3]]


# ---------------------------------------------------------------------------------------
# Every format up to 16 bits: exhaustive over codes and the rounding rule
# ---------------------------------------------------------------------------------------
SMALL = ["log3", "log4", "log5", "log8", "ulog4", "log4_sqrt2", "ulog5_sqrt2", "log4_lin",
         "log5_sqrt2_lin", "log4_fsr3", "apot3", "apot4", "apot5", "apot6", "apot7", "uapot2",
         "uapot6", "nhot1_6", "nhot2_8", "nhot3_8", "pwlq3", "pwlq4", "pwlq4_p0.3_0.6"]


@pytest.mark.parametrize("name", SMALL)
def test_exhaustive_codes(name):
    f = rq.format(name)
    assert f.bits <= 16
    vals = f.values()
    codes = f.encode(vals)
    assert np.array_equal(f.decode(codes), vals)
    assert f.name == name or rq.format(f.name) == f
    # every code whose magnitude field is in range decodes to a value of the set and
    # re-encodes to the canonical code of that value
    all_codes = f.codes()
    ok = []
    if isinstance(f, NHotFormat):
        sg, ex = f.terms(all_codes, check=False)
        v = (sg << ex).sum(axis=-1).astype(np.float64)
        canon = f.encode(v).astype(np.int64) == all_codes.astype(np.int64)
        assert np.all(np.isin(v[canon], vals))
        assert canon.sum() == vals.size
        all_codes = all_codes[canon]
    for c in all_codes:
        try:
            ok.append((int(c), float(f.decode(np.array([c]))[0])))
        except ValueError:
            pass
    dec = np.array([v for _, v in ok])
    assert set(dec.tolist()) <= set(vals.tolist())
    back = f.encode(dec).astype(np.int64)
    canon = np.array([c for c, _ in ok])
    same = back == canon
    # non-canonical codes are -0 (sign bit with zero magnitude) or PWLQ breakpoint aliases
    assert np.all(same | (dec == 0) | isinstance(f, PWLQFormat))
    assert np.all(np.diff(vals) > 0)


def _ref_round(f, x):
    """Brute-force nearest (ties to the even magnitude index)."""
    if isinstance(f, LogFormat):
        j, neg = ref.log_quantize(x, f.exp_bits, f.fsr, f.base if f.base == 2 else "sqrt2",
                                  f.domain)
        return -f.magnitudes[j] if neg else f.magnitudes[j]
    if isinstance(f, PWLQFormat):
        lv = ref.pwlq_levels(f.value_bits, f.breakpoints)
    else:
        lv = [Fraction(float(v)) for v in f.magnitudes]
    j = ref.nearest_index(Fraction(abs(x)), lv)
    v = float(lv[j])
    return -v if x < 0 else v


@pytest.mark.parametrize("name", SMALL)
def test_nearest_matches_brute_force(name, rng):
    f = rq.format(name)
    m = f.magnitudes
    # midpoints, neighbours of midpoints, values near decision points and random values
    mids = (m[:-1] + m[1:]) / 2
    geo = np.sqrt(m[1:-1] * m[2:]) if m.size > 2 else np.array([])
    xs = np.concatenate([mids, np.nextafter(mids, 0), np.nextafter(mids, 2), geo,
                         np.nextafter(geo, 0), np.nextafter(geo, 2), m * 1.5,
                         rng.uniform(0, m[-1] * 1.2, 60), [m[-1] * 7, 0.0]])
    if f.signed:
        xs = np.concatenate([xs, -xs[::3]])
    got = f.quantize(xs)
    want = np.array([_ref_round(f, float(x)) for x in xs])
    assert np.array_equal(got, want)


def test_log_quantize_paper_rule():
    # bits = 3, FSR = 1: levels 2^-6 .. 2^0 and zero
    x = [0.3, -0.7, 0.71, 1.6, 0.001, 2 ** -6.4, 2 ** -6.6, 0.0]
    assert rq.log_quantize(x, 3, 1).tolist() == [0.25, -0.5, 1.0, 1.0, 0.0, 2 ** -6, 0.0, 0.0]
    # log- vs linear-domain rounding differ between 2^(k+1/2) and 1.5 * 2^k
    assert rq.log_quantize([0.72], 3, 1).tolist() == [1.0]
    assert rq.log_quantize([0.72], 3, 1, domain="linear").tolist() == [0.5]
    # linear-domain tie 1.5 * 2^-2 goes to the even exponent code (2^-2 has code 5, 2^-1 code 6)
    assert rq.log_quantize([0.375], 3, 1, domain="linear").tolist() == [0.5]
    # base sqrt(2): x~ = round(2 log2 |x|)
    assert rq.log_quantize([0.6, 0.5], 3, 1, base="sqrt2").tolist() == [2 ** -0.5, 0.5]
    assert rq.log_quantize([0.6], 3, 1, base=math.sqrt(2)).tolist() == [2 ** -0.5]


def test_log_thresholds_exact():
    f = LogFormat(4)
    t = 2 ** -0.5  # the float just below the irrational threshold 2^(-1/2) is 2^-0.5's
    lo = t if t * t < 0.5 else np.nextafter(t, 0)
    assert f.quantize([lo]).tolist() == [0.5]
    assert f.quantize([np.nextafter(lo, 1)]).tolist() == [1.0]


# ---------------------------------------------------------------------------------------
# n-hot
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("g", range(2, 13))
def test_nhot_nearest_brute_force(g):
    for n in (1, 2, 3):
        if n > g:
            continue
        f = NHotFormat(n, g)
        top = 2 ** (g - 1) - 1
        allv = [v for v in range(top + 1) if len(ref.naf(v)) <= n]
        assert f.magnitudes.tolist() == allv
        # every half-integer and integer of the grid, and beyond; brute force in units
        # of 1/2 over the whole value set (ties to the even magnitude index)
        X = np.arange(-2 * top - 2, 2 * top + 3)
        V = 2 * np.array(allv)
        d = np.abs(np.abs(X)[:, None] - V[None, :])
        best = d.min(axis=1, keepdims=True)
        cand = d == best
        idx = np.where(cand.sum(axis=1) == 2,
                       np.argmax(cand & (np.arange(V.size) % 2 == 0)[None, :], axis=1),
                       np.argmax(cand, axis=1))
        want = np.sign(X) * np.array(allv)[idx] + 0.0
        assert f.quantize(X / 2.0).tolist() == want.tolist()


def test_nhot_nearest_is_not_naf_truncation():
    # 11 = 16 - 4 - 1: keeping the top NAF digit gives 16, but 8 is nearer (n = 1)
    f = NHotFormat(1, 8)
    assert f.quantize([11.0]).tolist() == [8.0]
    assert nhot_truncate(np.array([11]), 1).tolist() == [16]
    # n = 2: the first strict counterexample: 43 = 64 - 16 - 4 - 1 truncates to 48
    # (error 5), while 40 = 32 + 8 (error 3) is the nearest 2-term value
    f2 = NHotFormat(2, 8)
    v = np.arange(128)
    near = f2.quantize(v.astype(float))
    tr = nhot_truncate(v, 2)
    strictly = np.nonzero(np.abs(near - v) < np.abs(tr - v))[0]
    assert strictly.size > 0
    x = int(strictly[0])
    assert (x, int(near[x]), int(tr[x])) == (43, 40, 48)


def test_nhot_code_layout():
    f = NHotFormat(2, 8)  # exponent field 3 bits, slot 5 bits, code 10 bits
    assert f.bits == 10 and f.slot_bits == 5
    # 96 = +2^7 - 2^5: slots (01 111)(11 101)
    c = int(f.encode([96.0])[0])
    assert c == (0b01111 << 5) | 0b11101
    assert f.decode(np.array([c])).tolist() == [96.0]
    # -3 = -4 + 1
    assert int(f.encode([-3.0])[0]) == (0b11010 << 5) | 0b01000
    with pytest.raises(ValueError):
        f.decode(np.array([(0b01000 << 5) | 0b01000]))  # 1 + 1: not a NAF


# ---------------------------------------------------------------------------------------
# Shift-add dot products equal the exact dot product of decoded values
# ---------------------------------------------------------------------------------------
DOT_FORMATS = ["log4", "log5", "ulog4", "apot4", "apot6", "uapot4", "nhot2_8", "nhot3_8"]


def _exact(fmt, codes):
    return [Fraction(float(v)) for v in fmt.decode(codes)]


@settings(max_examples=40)
@given(st.sampled_from(DOT_FORMATS), st.integers(1, 12), st.integers(0, 2 ** 31), st.data())
def test_shift_dot_one_side(name, K, seed, data):
    f = rq.format(name)
    r = np.random.default_rng(seed)
    codes = f.encode(r.choice(f.values(), size=(3, K)))
    x = r.integers(-1000, 1000, size=K)
    res = shift_dot(codes, f, x)
    for m in range(3):
        want = sum((w * int(xv) for w, xv in zip(_exact(f, codes[m]), x)), Fraction(0))
        assert res.fractions()[m] == want
    # one shift-add per non-zero weight term meeting a non-zero activation
    if name.startswith(("log", "ulog")):
        assert res.pairs.tolist() == ((f.decode(codes) != 0) & (x != 0)).sum(axis=1).tolist()


@settings(max_examples=40)
@given(st.sampled_from(DOT_FORMATS), st.sampled_from(DOT_FORMATS), st.integers(1, 10),
       st.integers(0, 2 ** 31))
def test_shift_dot_both_sides(wn, xn, K, seed):
    wf, xf = rq.format(wn), rq.format(xn)
    r = np.random.default_rng(seed)
    wc = wf.encode(r.choice(wf.values(), size=(2, K)))
    xc = xf.encode(r.choice(xf.values(), size=K))
    res = shift_dot(wc, wf, xc, xf)
    xv = _exact(xf, xc)
    for m in range(2):
        want = sum((a * b for a, b in zip(_exact(wf, wc[m]), xv)), Fraction(0))
        assert res.fractions()[m] == want


def test_shift_dot_sqrt2_parts():
    f = rq.format("log4_sqrt2")
    r = np.random.default_rng(3)
    for _ in range(20):
        K = int(r.integers(1, 9))
        wc = f.encode(r.choice(f.values(), size=K))
        x = r.integers(-50, 50, size=K)
        res = shift_dot(wc, f, x)
        sign, k = f.exponents(wc)
        # reference: 2^(k/2) = 2^(k//2) * sqrt2^(k%2), exact parts
        a = sum((Fraction(int(s) * int(xv)) * Fraction(2) ** (int(kk) // 2)
                 for s, kk, xv in zip(sign, k, x) if kk % 2 == 0), Fraction(0))
        b = sum((Fraction(int(s) * int(xv)) * Fraction(2) ** (int(kk) // 2)
                 for s, kk, xv in zip(sign, k, x) if kk % 2 == 1), Fraction(0))
        sc = Fraction(2) ** res.exp
        assert Fraction(int(res.acc)) * sc == a and Fraction(int(res.acc_sqrt2)) * sc == b
        # both sides sqrt(2)-log: sqrt2 * sqrt2 = 2
        xc = f.encode(r.choice(f.values(), size=K))
        res2 = shift_dot(wc, f, xc, f)
        s2, k2 = f.exponents(xc)
        tot = [(int(s) * int(t), int(kk) + int(ll)) for s, kk, t, ll in zip(sign, k, s2, k2)]
        a2 = sum((Fraction(s) * Fraction(2) ** (e // 2) for s, e in tot if e % 2 == 0), Fraction(0))
        b2 = sum((Fraction(s) * Fraction(2) ** (e // 2) for s, e in tot if e % 2 == 1), Fraction(0))
        sc = Fraction(2) ** res2.exp
        assert Fraction(int(res2.acc)) * sc == a2 and Fraction(int(res2.acc_sqrt2)) * sc == b2


def test_shift_dot_kernel_python_path():
    from refquant.kernels.pow2 import terms_dot
    s = np.array([[[1, -1], [0, 1]]], np.int64)
    e = np.array([[[3, 0], [0, 2]]], np.int64)
    x = np.array([5, -7], np.int64)
    out = np.empty(1, np.int64)
    out2 = np.empty(1, np.int64)
    terms_dot(s, e, x, out)
    terms_dot.py_func(s, e, x, out2)
    assert out.tolist() == out2.tolist() == [5 * 8 - 5 - 7 * 4]


def test_bad_input():
    with pytest.raises(ValueError, match="bits"):
        rq.log_quantize([1.0], 0, 1)
    with pytest.raises(ValueError, match="bits"):
        rq.apot_levels(7)
    with pytest.raises(ValueError, match="fsr"):
        LogFormat(8, fsr=-1000)
    with pytest.raises(ValueError, match="base"):
        LogFormat(4, base=3)
    with pytest.raises(ValueError, match="domain"):
        rq.log_quantize([1.0], 3, 1, domain="ln")
    with pytest.raises(ValueError, match="NaN"):
        rq.format("apot4").encode([np.nan])
    with pytest.raises(ValueError, match="n must be an int in \\[1, 8\\], got 9"):
        NHotFormat(9, 8)
    with pytest.raises(TypeError, match="x"):
        shift_dot(rq.format("log4").encode([0.5]), "log4", [0.5])
    with pytest.raises(ValueError, match="bits"):
        APoTFormat(8)
    # infinities saturate
    assert rq.format("log4").quantize([np.inf, -np.inf]).tolist() == [1.0, -1.0]


def test_quantize_scaling_uses_top_level():
    x = np.array([0.0, 0.5, -3.0, 1.5])
    qt = rq.quantize(x, "log4")
    assert float(qt.scale) == 3.0
    assert qt.dequantize().tolist() == [0.0, 0.375, -3.0, 1.5]


# ---------------------------------------------------------------------------------------
# The NEAREST_EVEN table path (levels_*_nearest) against the general kernel
# ---------------------------------------------------------------------------------------
TABLE_FORMATS = ["log5", "log8", "ulog4", "log5_sqrt2", "log4_fsr-150", "log5_fsr200",
                 "log5_lin", "apot5", "uapot6", "nhot2_8", "pwlq4", "pwlq3_p0.1_0.5"]


def _general(f, x, mode):
    from refquant.kernels.pow2 import levels_encode, levels_quantize
    _, flat, args = f._kernel_args(x)
    idx = np.empty(flat.size, np.int64)
    neg = np.empty(flat.size, np.int64)
    val = np.empty(flat.size, np.float64)
    st1 = levels_encode(*args, mode, 0, bool(f.signed), idx, neg)
    st2 = levels_quantize(*args, mode, 0, bool(f.signed), val)
    assert st1 == st2
    return st1, idx, neg, val


@pytest.mark.parametrize("name", TABLE_FORMATS)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nearest_table_equals_general_kernel(name, dt):
    f = rq.format(name)
    assert f._nearest_table(np.dtype(dt)) is not None
    mags, thr, _ = f._tab
    with np.errstate(over="ignore"):
        c = np.concatenate([mags, thr]).astype(dt)
    ulps = [c]
    for _ in range(3):  # three floats either side of every level and decision point
        ulps += [np.nextafter(ulps[-1], dt(np.inf))]
    down = [c]
    for _ in range(3):
        down += [np.nextafter(down[-1], dt(0))]
    rng = np.random.default_rng(5)
    pats = rng.integers(0, 0x7F800001, 20000).astype(np.uint32).view(np.float32).astype(dt)
    sp = np.array([0.0, np.inf, 1e-45, np.finfo(dt).tiny, np.finfo(dt).max], dt)
    x = np.concatenate(ulps + down + [pats, sp, rng.standard_normal(20000).astype(dt)])
    x = np.concatenate([x, -x]) if f.signed else np.abs(x)
    st, idx, neg, val = _general(f, x, 0)
    assert st == 0
    codes = f.encode(x)
    q = f.quantize(x)
    assert np.array_equal(q.view(np.int64), val.view(np.int64))  # +0.0 / -0.0 included
    e_idx, e_neg = f._round_table(x, 0, 0)
    assert np.array_equal(e_idx, idx) and np.array_equal(e_neg, neg)
    assert codes.shape == x.shape


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nearest_table_status(dt):
    from refquant.kernels.pow2 import levels_encode_nearest, levels_quantize_nearest
    for name, x, want in [("log5", [0.5, np.nan, -1.0], 1), ("ulog4", [0.5, -1.0, np.nan], 2),
                          ("ulog4", [0.5, -0.0, 1.0], 0), ("log5", [-np.nan, 1.0], 1),
                          ("ulog4", [0.5, np.nan, -1.0], 1), ("log5", [-np.inf, np.inf], 0)]:
        f = rq.format(name)
        x = np.array(x, dt)
        cut, tab, vals, *geom = f._nearest_table(x.dtype)
        bits = x.view(np.int32 if dt == np.float32 else np.int64)
        idx, neg, out = (np.empty(x.size, np.int64), np.empty(x.size, np.int64),
                         np.empty(x.size))
        assert levels_encode_nearest(x, bits, cut, tab, *geom, f.signed, idx, neg) == want
        assert levels_quantize_nearest(x, bits, cut, vals, *geom, f.signed, out) == want
        assert _general(f, x, 0)[0] == want

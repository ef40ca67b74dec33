"""Specification of refquant.floats.FloatFormat: every code of every registered format up to
16 bits against the slow reference; spec identities over random parameter sets."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import refquant as rq
from refquant import Overflow, Rounding
from refquant.floats import FloatFormat
from tests.reference import floats as ref

NAMED = ["fp16", "bf16", "e5m2", "e4m3", "e4m3fn", "e4m3fnuz", "e5m2fnuz", "e4m3b11fnuz",
         "e3m4", "e3m2", "e2m3", "e2m1", "e8m0", "p3109_k8p3se", "p3109_k8p4sf",
         "p3109_k8p1ue", "p3109_k8p3uf", "p3109_k6p3sf"]


def _ref_values(fmt):
    out = []
    for c in range(1 << fmt.bits):
        v = ref.decode(fmt, c)
        out.append({"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(v, v)
                   if isinstance(v, str) else float(v))
    return np.array(out)


@pytest.mark.parametrize("name", NAMED)
def test_decode_every_code_matches_reference(name):
    fmt = rq.format(name)
    got = fmt.decode(fmt.codes())
    want = _ref_values(fmt) if fmt.bits <= 8 else None
    if want is None:  # 16-bit: check a stride of codes plus the special region exhaustively
        codes = np.r_[np.arange(0, 1 << 16, 7), np.arange((1 << 15) - 1100, (1 << 15) + 1100),
                      np.arange((1 << 16) - 1100, 1 << 16)]
        want = np.array([float(v) if not isinstance(v, str) else
                         {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
                         for v in (ref.decode(fmt, int(c)) for c in codes)])
        got = got[codes]
    np.testing.assert_array_equal(got, want)
    # and the float64 path of the kernel agrees with the LUT
    np.testing.assert_array_equal(fmt.decode(fmt.codes()).view(np.int64),
                                  fmt.lut().view(np.int64))


@pytest.mark.parametrize("name", NAMED)
def test_round_trip_every_value(name):
    fmt = rq.format(name)
    codes = fmt.codes()
    vals = fmt.decode(codes)
    fin = np.isfinite(vals)
    back = fmt.encode(vals[fin])
    # every finite code round-trips (the -0 of a format without -0 does not exist)
    np.testing.assert_array_equal(back, codes[fin])


def test_finfo_named():
    f = rq.format("e4m3fn")
    assert (f.max, f.smallest_normal, f.smallest_subnormal, f.eps, f.emax, f.emin) == \
        (448.0, 2.0 ** -6, 2.0 ** -9, 0.125, 8, -6)
    assert rq.format("e4m3").max == 240.0 and rq.format("e5m2").max == 57344.0
    assert rq.format("e4m3fnuz").max == 240.0 and rq.format("e4m3fnuz").smallest_subnormal == 2.0 ** -10
    assert rq.format("e3m2").max == 28.0 and rq.format("e2m3").max == 7.5
    assert list(rq.format("e2m1").values()) == [-6, -4, -3, -2, -1.5, -1, -0.5, 0,
                                                 0.5, 1, 1.5, 2, 3, 4, 6]
    e8 = rq.format("e8m0")
    assert (e8.max, e8.smallest_subnormal, e8.min) == (2.0 ** 127, 2.0 ** -127, 2.0 ** -127)
    assert rq.format("fp32").max == float(np.finfo(np.float32).max)
    assert rq.format("tf32").bits == 19 and rq.format("tf32").eps == 2.0 ** -10
    # P3109 binary8p3 extended: bias 16, max 49152, +inf 0x7F, NaN 0x80
    p = rq.format("p3109_k8p3se")
    assert p.bias == 16 and p.max == 49152.0
    assert p.decode(np.array([0x7F, 0xFF, 0x80], np.uint8)).tolist()[:2] == [math.inf, -math.inf]
    assert math.isnan(p.decode(np.uint8(0x80)))
    u = rq.format("p3109_k8p3ue")  # unsigned: E = 6, bias 32, +inf 0xFE, NaN 0xFF
    assert u.bias == 32 and u.decode(np.uint8(0xFE)) == math.inf and math.isnan(u.decode(np.uint8(0xFF)))


def test_fp32_decode_is_bit_identity():
    rng = np.random.default_rng(1)
    c = rng.integers(0, 1 << 32, 20000, dtype=np.uint64).astype(np.uint32)
    with np.errstate(invalid="ignore"):
        want = c.view(np.float32).astype(np.float64)
    got = rq.format("fp32").decode(c)
    np.testing.assert_array_equal(got, want)
    fin = np.isfinite(want)
    np.testing.assert_array_equal(rq.format("fp32").encode(want[fin]), c[fin])


def test_special_inputs_and_policies():
    f = rq.format("e4m3fn")
    x = np.array([np.nan, np.inf, -np.inf, 1e6, -1e6, 464.0, 464.01, -0.0])
    assert f.encode(x).tolist() == [0x7F, 0x7F, 0xFF, 0x7F, 0xFF, 0x7E, 0x7F, 0x80]
    assert f.encode(x[1:], overflow=Overflow.SATURATE).tolist() == [0x7E, 0xFE, 0x7E, 0xFE, 0x7E, 0x7E, 0x80]
    with pytest.raises(OverflowError, match=r"x\[1\] = 464.01"):
        f.encode(x[5:], overflow=Overflow.RAISE)
    with pytest.raises(ValueError, match="INF"):
        f.encode(x, overflow=Overflow.INF)
    e = rq.format("e5m2")
    # IEEE: overflow to inf, except rounding toward zero keeps max (IEEE 754 7.4)
    assert e.encode(np.array([1e9, -1e9])).tolist() == [0x7C, 0xFC]
    assert e.encode(np.array([1e9, -1e9]), Rounding.TOWARD_ZERO).tolist() == [0x7B, 0xFB]
    assert e.encode(np.array([1e9, -1e9]), Rounding.DOWN).tolist() == [0x7B, 0xFC]
    assert e.encode(np.array([1e9, -1e9]), Rounding.UP).tolist() == [0x7C, 0xFB]
    assert e.encode(np.array([np.nan, -np.nan])).tolist() == [0x7E, 0xFE]
    z = rq.format("e4m3fnuz")
    assert z.encode(np.array([-0.0, np.nan, np.inf, 1e-9, -1e-9])).tolist() == [0, 0x80, 0x80, 0, 0]
    with pytest.raises(ValueError, match="no NaN"):
        rq.format("e2m1").encode(np.array([1.0, np.nan]))
    assert rq.format("e2m1").encode(np.array([np.inf, -np.inf, 7.0])).tolist() == [7, 15, 7]
    e8 = rq.format("e8m0")
    assert e8.encode(np.array([0.0, -1.0, 1.0, 1.5, 2.0 ** -130, 2.0 ** 200])).tolist() == \
        [255, 255, 127, 128, 0, 255]


def test_bad_parameters():
    with pytest.raises(ValueError, match="exp_bits"):
        FloatFormat(0, 3)
    with pytest.raises(ValueError, match="bias"):
        FloatFormat(11, 20, bias=-2000)
    with pytest.raises(ValueError, match="man_bits=0"):
        FloatFormat(4, 0, specials="fn")
    with pytest.raises(ValueError, match="specials"):
        FloatFormat(4, 3, specials="weird")
    with pytest.raises(ValueError, match="bits"):
        FloatFormat(11, 30)
    with pytest.raises(ValueError, match="fnuz"):
        FloatFormat(4, 3, signed=False, specials="fnuz")
    with pytest.raises(ValueError, match="unknown format"):
        rq.format("e4m3xyz")
    with pytest.raises(ValueError, match="p must be an int"):
        rq.format("p3109_k8p8se")


def test_generic_names_parse():
    assert rq.format("e6m5") == FloatFormat(6, 5)
    assert rq.format("e4m3b9fnuz") == FloatFormat(4, 3, 9, specials="fnuz")
    f = FloatFormat(3, 3, specials="none")
    assert rq.format(f.name) == f
    assert rq.format("e4m3fn") == FloatFormat(4, 3, specials="fn")



def test_dataclass_fields_equality_and_kernel_params():
    import dataclasses
    f = rq.format("p3109_k8p3se")
    assert [x.name for x in dataclasses.fields(FloatFormat)] == [
        "exp_bits", "man_bits", "bias", "signed", "subnormals", "specials", "name"]
    # equality and hashing follow the parameters, not the name
    g = FloatFormat(5, 2, 16, specials="ext")
    assert f == g and hash(f) == hash(g) and (f.name, g.name) == ("p3109_k8p3se", "e5m2ext")
    assert repr(g) == ("FloatFormat(exp_bits=5, man_bits=2, bias=16, signed=True, "
                       "subnormals=True, specials='ext', name='e5m2ext')")
    assert dataclasses.replace(g, man_bits=3, name=None).name == "e5m3ext"
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.bias = 3
    kp = rq.format("e4m3fn").kernel_params()
    assert kp._asdict() == dict(exp_bits=4, man_bits=3, bias=7, signed=1, subnormals=1,
                                tmax=126, has_inf=0, unsigned_zero=0, nan_code=127,
                                nan_signed=1)
    assert kp.decode_args == tuple(kp)[:8]
    assert rq.format("e4m3fnuz").kernel_params()[7:9] == (1, 0x80)
    assert rq.format("e2m1").kernel_params().nan_code == -1

# -- random parameter sets ------------------------------------------------------------

@st.composite
def small_formats(draw):
    signed = draw(st.booleans())
    specials = draw(st.sampled_from(["ieee", "fn", "fnuz", "ext", "none"] if signed
                                     else ["ieee", "fn", "ext", "none"]))
    E = draw(st.integers(2 if specials == "ieee" else 1, 5))
    M = draw(st.integers(1 if (specials == "ieee" or (specials == "fn" and signed)) else 0, 4))
    sub = draw(st.booleans()) if specials in ("fn", "none") and not signed else True
    bias = draw(st.one_of(st.none(), st.integers(-3, 20)))
    for args in ((E, M, bias), (E, M, None), (3, 2, None)):
        try:
            return FloatFormat(*args, signed, sub, specials)
        except ValueError:
            pass
    raise AssertionError("unreachable: (3, 2) is valid for every policy")


def _grid(fmt):
    return [float(v) for v, _ in ref.finite_codes(fmt)]


@settings(max_examples=40)
@given(small_formats(), st.data())
def test_encode_matches_reference_random_formats(fmt, data):
    vals = _grid(fmt)
    top = max(abs(vals[0]), abs(vals[-1]))
    xs = data.draw(st.lists(st.floats(-1.5 * top, 1.5 * top, allow_nan=False, width=64),
                            min_size=1, max_size=30))
    mids = [(a + b) / 2 for a, b in zip(vals, vals[1:])]
    xs = xs + mids + vals
    if not fmt.signed:
        xs = [x for x in xs if x >= 0]
    if not fmt.has_zero:
        xs = [x for x in xs if x != 0]
    x = np.array(xs, dtype=np.float64)
    for mode, rmode in (("even", Rounding.NEAREST_EVEN), ("down", Rounding.DOWN),
                        ("up", Rounding.UP), ("zero", Rounding.TOWARD_ZERO)):
        got = fmt.encode(x, rmode, overflow=Overflow.SATURATE)
        want = [ref.encode(fmt, float(v), mode) for v in x]
        assert got.tolist() == want, (fmt, mode)


@settings(max_examples=40)
@given(small_formats())
def test_monotone_and_directed_bracket(fmt):
    vals = np.array(_grid(fmt))
    lo, hi = vals[0], vals[-1]
    x = np.linspace(lo, hi, 997)
    if not fmt.has_zero:
        x = x[x != 0]
    q = fmt.quantize(x, overflow=Overflow.SATURATE)
    assert np.all(np.diff(q) >= 0)
    d = fmt.quantize(x, Rounding.DOWN, overflow=Overflow.SATURATE)
    u = fmt.quantize(x, Rounding.UP, overflow=Overflow.SATURATE)
    inside = (x >= vals[0]) & (x <= vals[-1])
    assert np.all(d[inside] <= x[inside]) and np.all(u[inside] >= x[inside])
    # consecutive values: d and u are equal or adjacent grid values
    idx_d = np.searchsorted(vals, d + 0.0)
    idx_u = np.searchsorted(vals, u + 0.0)
    assert np.all((idx_u - idx_d)[inside] <= 1)
    # nearest is one of the two
    assert np.all((q == d) | (q == u))


@settings(max_examples=40)
@given(small_formats())
def test_finfo_identities(fmt):
    vals = np.array(_grid(fmt))
    assert fmt.max == vals[-1]
    pos = vals[vals > 0]
    assert fmt.smallest_subnormal == pos[0]
    assert fmt.smallest_normal == 2.0 ** fmt.emin
    assert math.floor(math.log2(fmt.max)) == fmt.emax
    if fmt.emin <= 0 <= fmt.emax and fmt.max > 1:
        nxt = pos[pos > 1][0]
        assert nxt - 1 == fmt.eps
    assert fmt.min == (vals[0] if fmt.signed else vals[0])


@settings(max_examples=30)
@given(small_formats(), st.integers(0, 2 ** 32))
def test_ties_go_to_even_code(fmt, seed):
    vals = _grid(fmt)
    table = ref.finite_codes(fmt)
    for (a, ca), (b, cb) in zip(table, table[1:]):
        m = (float(a) + float(b)) / 2
        if not fmt.has_zero and m == 0:
            continue
        c = int(fmt.encode(np.array([m]), overflow=Overflow.SATURATE)[0])
        t = c & ((1 << (fmt.exp_bits + fmt.man_bits)) - 1)
        assert t % 2 == 0 or (fmt.decode(np.array([c]))[0] in (float(a), float(b)) and
                              (ca & 1) == (cb & 1)), (fmt, m, c)


def test_stochastic_unbiased_and_reproducible():
    f = rq.format("e4m3fn")
    x = np.full(200000, 1.0 + 0.3 * 0.125)   # 30% of the way from 1 to 1.125
    c1 = f.encode(x, Rounding.STOCHASTIC, seed=7)
    c2 = f.encode(x, Rounding.STOCHASTIC, seed=7)
    np.testing.assert_array_equal(c1, c2)
    q = f.decode(c1)
    assert set(np.unique(q)) == {1.0, 1.125}
    p = np.mean(q == 1.125)
    assert abs(p - 0.3) < 4 * math.sqrt(0.3 * 0.7 / x.size)
    # order-independent: element i depends only on (seed, i)
    np.testing.assert_array_equal(f.encode(x[:1000], Rounding.STOCHASTIC, seed=7), c1[:1000])
    assert abs(np.mean(f.quantize(-x, Rounding.STOCHASTIC, seed=3)) + x[0]) < 0.001
    assert not np.array_equal(f.encode(x[:1000], Rounding.STOCHASTIC, seed=8), c1[:1000])


def test_float64_inputs_are_rounded_once():
    # a float64 just above a bf16 midpoint: float32 double rounding would tie to even
    f = rq.format("bf16")
    mid = 1.0 + 2.0 ** -8
    x = np.array([mid + 2.0 ** -40, mid, mid - 2.0 ** -40])
    assert f.quantize(x).tolist() == [1.0 + 2.0 ** -7, 1.0, 1.0]


def test_float32_fast_path_matches_generic_path():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(50000) * np.exp(rng.uniform(-40, 40, 50000))).astype(np.float32)
    x[:50] = [0, -0.0, np.inf, -np.inf, np.nan] * 10
    for name in ("e4m3fn", "e5m2", "bf16", "tf32", "fp16", "e3m4", "e2m1", "e4m3fnuz", "p3109_k8p3se"):
        f = rq.format(name)
        try:
            a = f.encode(x)
        except ValueError:
            a = f.encode(np.where(np.isnan(x), 0, x))
            b = f.encode(np.where(np.isnan(x), 0, x).astype(np.float64))
        else:
            b = f.encode(x.astype(np.float64))
        np.testing.assert_array_equal(a, b)
        d32 = f.decode(a, dtype=np.float32)
        d64 = f.decode(a)
        np.testing.assert_array_equal(d32.view(np.int32), d64.astype(np.float32).view(np.int32))


def _e8_inputs(rng, blk):
    """float32 bit patterns: random (every class, NaN payloads included), ±inf, NaNs of both
    signs and several payloads, the largest finite float32s (rounding to inf), zeros,
    subnormals, every bf16 value and the midpoints between them ± 1, with the specials also
    placed across a PAR_BLOCK boundary."""
    spec = np.array([0x7F800000, 0xFF800000, 0x7F800001, 0xFF800001, 0x7FC00000, 0xFFC00000,
                     0x7FBFFFFF, 0xFFFFFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF,
                     0, 0x80000000, 1, 0x807FFFFF], dtype=np.uint32).view(np.int32)
    r = rng.integers(-(1 << 31), 1 << 31, 2 * blk, dtype=np.int64).astype(np.int32)
    r[blk - 8:blk + 8] = spec
    every = np.arange(1 << 16, dtype=np.int64) << 16
    mid = every | 0x8000
    grid = np.concatenate([every, mid, mid - 1, mid + 1]).astype(np.uint32).view(np.int32)
    return np.concatenate([spec, r, grid])


def test_parallel_e8_kernels_equal_serial():
    # the parallel float32 <-> bf16/tf32 kernels against the serial ones, bit for bit, at
    # sizes that leave a block empty, partial, exactly full and straddled
    from refquant.kernels import floats as k
    rng = np.random.default_rng(17)
    blk = k.PAR_BLOCK
    xi = _e8_inputs(rng, blk)
    sizes = (0, 1, 7, blk - 1, blk, blk + 1, 2 * blk + 12345, xi.size)
    for name in ("bf16", "tf32"):
        f = rq.format(name)
        M = f.man_bits
        for n in sizes:
            a = np.empty(n, f.code_dtype)
            b = np.empty(n, f.code_dtype)
            k.encode_f32_e8_rne(xi[:n], M, a)
            k.encode_f32_e8_rne_par(xi[:n], M, b)
            np.testing.assert_array_equal(a, b)
        codes = np.concatenate([np.arange(1 << f.bits, dtype=np.int64),
                                rng.integers(0, 1 << f.bits, 3 * blk + 5)]).astype(f.code_dtype)
        for n in sizes[:-1] + (codes.size,):
            a = np.empty(n, np.int32)
            b = np.empty(n, np.int32)
            assert k.decode_e8_to_f32(codes[:n], M, a) == 0
            assert k.decode_e8_to_f32_par(codes[:n], M, b) == 0
            np.testing.assert_array_equal(a, b)
    # the validation flag is the same OR over all blocks, wherever the bad code lies
    codes = rng.integers(0, 1 << 19, 3 * blk + 5).astype(np.uint32)
    for pos, bad in ((0, 1 << 19), (blk, 1 << 20), (3 * blk + 4, 0xFFFFFFFF)):
        c = codes.copy()
        c[pos] = bad
        a = np.empty(c.size, np.int32)
        b = np.empty(c.size, np.int32)
        fa = k.decode_e8_to_f32(c, 10, a)
        assert fa != 0 and k.decode_e8_to_f32_par(c, 10, b) == fa


def test_large_bf16_arrays_take_the_parallel_path_with_the_same_results():
    from refquant.floats._float import PAR_MIN_SIZE
    from refquant.kernels import floats as k
    rng = np.random.default_rng(19)
    xi = _e8_inputs(rng, PAR_MIN_SIZE // 2)[:PAR_MIN_SIZE + 3]
    assert xi.size == PAR_MIN_SIZE + 3
    for name in ("bf16", "tf32"):
        f = rq.format(name)
        want = np.empty(xi.size, f.code_dtype)
        k.encode_f32_e8_rne(xi, f.man_bits, want)
        codes = f.encode(xi.view(np.float32).reshape(-1, 1))
        assert codes.shape == (xi.size, 1)
        np.testing.assert_array_equal(codes.reshape(-1), want)
        back = np.empty(xi.size, np.int32)
        k.decode_e8_to_f32(want, f.man_bits, back)
        np.testing.assert_array_equal(f.decode(codes, dtype=np.float32).reshape(-1).view(np.int32),
                                      back)
    f = rq.format("tf32")
    bad = np.zeros(PAR_MIN_SIZE, np.uint32)
    bad[-1] = 1 << 19
    with pytest.raises(ValueError, match="outside"):
        f.decode(bad, dtype=np.float32)


# --- overflow x rounding: IEEE 754-2019 7.4, with NAN as INF's NaN twin -------------

_OV_FORMATS = ["e5m2", "e4m3", "e4m3fn", "e4m3fnuz", "e2m1", "e3m2", "e8m0", "e2m0",
               "ue4m3", "p3109_k8p3se", "p3109_k8p3sf", "p3109_k8p3ue", "fp16"]
_OV_MODES = {Rounding.NEAREST_EVEN: "even", Rounding.NEAREST_AWAY: "away",
             Rounding.NEAREST_UP: "half_up", Rounding.TOWARD_ZERO: "zero",
             Rounding.DOWN: "down", Rounding.UP: "up"}


def _overflow_inputs(fmt):
    top = ref.finite_codes(fmt)[-1][0]
    emax = (ref.finite_codes(fmt)[-1][1] >> fmt.man_bits) - fmt.bias
    ulp = 2.0 ** (emax - fmt.man_bits)
    vmax = float(top)
    mags = [vmax, vmax + ulp / 4, vmax + ulp / 2, vmax + 3 * ulp / 4, vmax + ulp,
            vmax + 1.5 * ulp, 4 * vmax, 1e300, math.inf]
    return mags + ([-m for m in mags] if fmt.signed else [])


@pytest.mark.parametrize("name", _OV_FORMATS)
def test_overflow_policy_by_rounding_mode_matches_7_4_reference(name):
    fmt = rq.format(name)
    policies = [Overflow.SATURATE, Overflow.RAISE]
    policies += [Overflow.INF] if fmt.has_inf else []
    policies += [Overflow.NAN] if fmt.has_nan else []
    xs = _overflow_inputs(fmt)
    for ov in policies:
        for mode, rmode in _OV_MODES.items():
            for x in xs:
                want = ref.encode_overflow(fmt, x, rmode, ov.name.lower())
                if want == "raise":
                    with pytest.raises(OverflowError, match="overflow=RAISE"):
                        fmt.encode(np.array([x]), mode, overflow=ov)
                    continue
                got = int(fmt.encode(np.array([x]), mode, overflow=ov)[0])
                assert got == want, (name, ov.name, mode.name, x, hex(got), hex(want))
                if abs(x) < 3e38 and float(np.float32(x)) == x:   # float32 fast paths agree
                    got32 = int(fmt.encode(np.array([x], np.float32), mode, overflow=ov)[0])
                    assert got32 == want, (name, ov.name, mode.name, x, "float32")
        # STOCHASTIC: beyond the continued grid's next point, as the nearest modes
        for x in xs:
            if abs(x) >= xs[4]:
                want = ref.encode_overflow(fmt, x, "even", ov.name.lower())
                if want != "raise":
                    assert int(fmt.encode(np.array([x]), Rounding.STOCHASTIC, overflow=ov,
                                          seed=1)[0]) == want


def test_overflow_nan_directed_examples():
    f = rq.format("e4m3fn")   # max 448, no inf, NaN 0x7F / 0xFF
    x = np.array([1e6, -1e6, 470.0, -470.0, np.inf, -np.inf])
    assert f.encode(x, Rounding.TOWARD_ZERO).tolist() == [0x7E, 0xFE, 0x7E, 0xFE, 0x7F, 0xFF]
    assert f.encode(x, Rounding.DOWN).tolist() == [0x7E, 0xFF, 0x7E, 0xFF, 0x7F, 0xFF]
    assert f.encode(x, Rounding.UP).tolist() == [0x7F, 0xFE, 0x7F, 0xFE, 0x7F, 0xFF]
    assert f.encode(x, Rounding.NEAREST_EVEN).tolist() == [0x7F, 0xFF, 0x7F, 0xFF, 0x7F, 0xFF]
    e8 = rq.format("e8m0")
    assert e8.encode(np.array([2.0 ** 200]), Rounding.DOWN).tolist() == [254]
    assert e8.encode(np.array([2.0 ** 200]), Rounding.UP).tolist() == [255]

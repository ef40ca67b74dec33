"""The float32 fast paths give the codes of the generic kernels, bit for bit, at their
boundaries: every 16-bit pattern (the top half of a float32, with low halves that decide
ties and sticky bits) and a strided sample of all 2^32 patterns through
``encode_f32_rne`` (formats with subnormals, E8M0) against ``encode_float``; the switch from
the serial to the parallel kernels at ``PAR_MIN_SIZE``; the chunk and block edges where a
chunk is redone element by element; the first error index; and the MX kernels
(``mx_f32_rows`` / ``mx_f32_cols`` and their parallel forms) against ``mx_quantize_rows``
at block, tile and group edges."""
import numpy as np
import pytest

import refquant as rq
from refquant import Overflow
from refquant.floats import FloatFormat
from refquant.floats._float import PAR_MIN_SIZE
from refquant.kernels import floats as k

SAT, RAISE, INF, NAN = (int(o) for o in (Overflow.SATURATE, Overflow.RAISE, Overflow.INF,
                                          Overflow.NAN))

NAMED = ["e4m3fn", "e5m2", "e4m3", "fp16", "bf16", "tf32", "e4m3fnuz", "e5m2fnuz",
         "e4m3b11fnuz", "e3m4", "e3m2", "e2m3", "e2m1", "e8m0", "p3109_k8p3se",
         "p3109_k8p4sf", "p3109_k8p1ue", "p3109_k8p3uf", "p3109_k6p3sf", "p3109_k8p1se"]
# formats off the common path: the normal range starting below float32's (float32
# subnormals and zeros left to encode_scalar), negative and large biases, unsigned formats
# with and without NaN, 22 mantissa bits, a top code in the subnormal binade
EXOTIC = [FloatFormat(8, 1, 128), FloatFormat(8, 2, 140), FloatFormat(9, 5, 255),
          FloatFormat(2, 1, -3, True, True, "none"), FloatFormat(5, 10, 30),
          FloatFormat(1, 2, 0, True, True, "none"), FloatFormat(1, 1, 0, False, True, "ext"),
          FloatFormat(3, 2, -20, True, True, "fn"), FloatFormat(4, 3, 140, True, True, "fnuz"),
          FloatFormat(2, 22, 1), FloatFormat(8, 22, 127), FloatFormat(8, 3, 127),
          FloatFormat(4, 3, 7, False, True, "none"), FloatFormat(5, 2, None, False, True, "fn")]


def _fmt(f):
    return rq.format(f) if isinstance(f, str) else f


def _policies(f):
    p = f.kernel_params()
    return [SAT, RAISE] + ([INF] if p.has_inf else []) + ([NAN] if p.nan_code >= 0 else [])


def _fast_applies(p):
    return (p.subnormals and p.man_bits <= 22) or tuple(p[:9]) == (8, 0, 127, 0, 0, 254, 0, 0, 255)


def _every_16bit():
    hi = np.arange(1 << 16, dtype=np.int64) << 16
    lows = (0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF)
    return np.concatenate([hi | lo for lo in lows]).astype(np.uint32).view(np.float32)


def _strided():
    """Every 4099th pattern (an odd stride: every low-bit residue) plus each class's edges:
    ±0, the smallest and largest subnormals, the smallest normal, the largest finite,
    ±inf, quiet and signalling NaNs of both signs with several payloads."""
    edges = np.array([0, 1, 2, 0x3FFFFF, 0x400000, 0x400001, 0x5FFFFF, 0x600000, 0x600001,
                      0x7FFFFF, 0x800000, 0x800001, 0x3F800000, 0x7F7FFFFF, 0x7F800000,
                      0x7F800001, 0x7FBFFFFF, 0x7FC00000, 0x7FC00001, 0x7FFFFFFF],
                     dtype=np.int64)
    pats = np.concatenate([np.arange(7, 1 << 32, 4099, dtype=np.int64), edges,
                           edges | (1 << 31)])
    return pats.astype(np.uint32).view(np.float32)


def _usable(f, x, ov):
    """x without the elements the encode raises on (NaN without a NaN code, negatives in
    an unsigned format without one, overflows under RAISE), found with the generic kernel
    under SATURATE: an element overflows when its saturated code is the largest magnitude
    and its value lies beyond max."""
    p = f.kernel_params()
    keep = np.ones(x.size, bool)
    with np.errstate(invalid="ignore"):
        x64 = x.astype(np.float64)
        if p.nan_code < 0:
            keep &= ~np.isnan(x64)
            if not p.signed:
                keep &= ~(x64 < 0)
        if ov == RAISE:
            keep &= ~(np.abs(x64) > f.max)
    return x[keep]


def _both(f, x, ov):
    p = f.kernel_params()
    a = np.empty(x.size, f.code_dtype)
    b = np.empty(x.size, f.code_dtype)
    sa = k.encode_f32_rne(x, x.view(np.int32), *p, ov, a)
    sb = k.encode_float(x, *p, 0, ov, 0, b)
    return sa, sb, a, b


@pytest.mark.parametrize("fmt", NAMED + EXOTIC, ids=lambda f: _fmt(f).name)
def test_every_16bit_pattern_and_strided_sample_fast_equals_generic(fmt):
    f = _fmt(fmt)
    p = f.kernel_params()
    if not _fast_applies(p):
        pytest.skip(f"{f.name}: no float32 fast path")
    for ov in _policies(f):
        for x in (_every_16bit(), _strided()):
            x = _usable(f, x, ov)
            sa, sb, a, b = _both(f, x, ov)
            assert sa == sb == -1, (f.name, ov, sa, sb)
            np.testing.assert_array_equal(a, b, err_msg=f"{f.name} overflow={ov}")


def test_public_encode_float32_equals_float64_path():
    # the public face: float32 inputs take the fast path, their float64 copies the generic one
    x = _strided()
    for name in NAMED:
        f = rq.format(name)
        xx = x if f.has_nan else x[~np.isnan(x)]
        if not f.signed and not f.has_nan:
            xx = xx[~(xx < 0)]
        with np.errstate(invalid="ignore"):   # signalling NaNs raise "invalid" in astype
            x64 = xx.astype(np.float64)
        np.testing.assert_array_equal(f.encode(xx), f.encode(x64), err_msg=name)


def test_e8m0_ties_subnormals_and_specials():
    f = rq.format("e8m0")
    bits = np.array([0x3FC00000, 0x40400000, 0x3FC00001, 0x40C00000,   # 1.5, 3, 1.5+ulp, 6
                     0x00600000, 0x00600001, 0x00400000, 0x00000001,  # float32 subnormals
                     0x7F400000, 0x7F400001, 0x7F7FFFFF, 0x7F800000,  # top, overflow, inf
                     0x00000000, 0x80000000, 0xBF800000, 0x7FC00000], dtype=np.uint32)
    x = bits.view(np.float32)
    want = [128, 128, 128, 130, 0, 1, 0, 0, 254, 255, 255, 255, 255, 255, 255, 255]
    assert f.encode(x).tolist() == want
    assert f.encode(x[:11], overflow="saturate").tolist() == want[:9] + [254, 254]
    with np.errstate(invalid="ignore"):
        x64 = x.astype(np.float64)
    np.testing.assert_array_equal(f.encode(x), f.encode(x64))


@pytest.mark.parametrize("name", ["e4m3fn", "fp16", "e2m1", "e8m0", "p3109_k8p3ue"])
def test_serial_parallel_switch_at_threshold(name, rng):
    f = rq.format(name)
    p = f.kernel_params()
    bits = rng.integers(0, 1 << 32, PAR_MIN_SIZE + 1, dtype=np.int64).astype(np.uint32)
    x = _usable(f, bits.view(np.float32), int(f.default_overflow))
    x = np.concatenate([x] * (1 + (PAR_MIN_SIZE + 1) // x.size))[:PAR_MIN_SIZE + 1]
    want = np.empty(x.size, f.code_dtype)
    assert k.encode_float(x, *p, 0, int(f.default_overflow), 0, want) == -1
    for n in (PAR_MIN_SIZE - 1, PAR_MIN_SIZE, PAR_MIN_SIZE + 1):
        np.testing.assert_array_equal(f.encode(x[:n]), want[:n])
        par = np.empty(n, f.code_dtype)
        assert k.encode_f32_rne_par(x[:n], x[:n].view(np.int32), *p, int(f.default_overflow),
                                    par) == -1
        np.testing.assert_array_equal(par, want[:n])


def test_chunk_and_block_edges_with_redone_chunks(rng):
    # a format whose normal range starts below float32's: float32 subnormals and zeros are
    # redone element by element; put them on chunk and parallel-block edges
    f = FloatFormat(8, 2, 140)
    p = f.kernel_params()
    C, B = k.F32_CHUNK, k.PAR_BLOCK
    x = rng.standard_normal(2 * B + 3).astype(np.float32) * np.float32(1e-30)
    for i in (0, C - 1, C, C + 1, 2 * C - 1, B - 1, B, B + 1, 2 * B, 2 * B + 2):
        x[i] = np.uint32(rng.integers(0, 1 << 23)).view(np.float32) * (-1) ** i
    x[5] = 0.0
    x[6] = -0.0
    for n in (0, 1, C - 1, C, C + 1, B - 1, B, B + 1, x.size):
        want = np.empty(n, f.code_dtype)
        assert k.encode_float(x[:n], *p, 0, NAN, 0, want) == -1
        for kern in (k.encode_f32_rne, k.encode_f32_rne_par):
            got = np.empty(n, f.code_dtype)
            assert kern(x[:n], x[:n].view(np.int32), *p, NAN, got) == -1
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name, ov, bad", [("e2m1", SAT, np.nan), ("e4m3fn", RAISE, 500.0),
                                           ("fp16", RAISE, np.inf), ("e8m0", RAISE, 3e38),
                                           ("ue4m3ns", SAT, -1.0)])
def test_first_error_index_serial_and_parallel(name, ov, bad, rng):
    f = rq.format(name)
    p = f.kernel_params()
    C, B = k.F32_CHUNK, k.PAR_BLOCK
    n = 3 * B + 7
    base = np.abs(rng.standard_normal(n)).astype(np.float32)
    for first in (0, C - 1, C, B - 1, B, 2 * B + 1, n - 1):
        x = base.copy()
        x[first] = bad
        x[min(first + 1, n - 1)] = bad
        x[-1] = bad
        for kern in (k.encode_f32_rne, k.encode_f32_rne_par, None):
            out = np.empty(n, f.code_dtype)
            if kern is None:
                got = k.encode_float(x, *p, 0, ov, 0, out)
            else:
                got = kern(x, x.view(np.int32), *p, ov, out)
            assert got == first, (name, first, kern)
    x = base.copy()
    x[B + 3] = bad
    err = ValueError if np.isnan(bad) or bad < 0 else OverflowError
    with pytest.raises(err, match=rf"x\[{B + 3}\]"):
        f.encode(np.concatenate([x] * (PAR_MIN_SIZE // n + 1)), overflow=Overflow(ov))


# -- MX ---------------------------------------------------------------------------------

def _mx_inputs(rng, shape):
    """float32 (P, D, Q) blocked along D in blocks of 32: block b % 4 == 0 random patterns
    of every class, standard normals, float32 subnormals, ±0; b % 4 == 1 ±0 only; b % 4 == 2
    float32 subnormals and values near 2^-140 (a shift that leaves the element format's
    normal range below float32's); b % 4 == 3 standard normals."""
    n = int(np.prod(shape))
    mix = rng.integers(0, 1 << 32, n, dtype=np.int64).astype(np.uint32).view(np.float32)
    kind = rng.integers(0, 4, n)
    mix[kind == 1] = rng.standard_normal(int((kind == 1).sum()))
    mix[kind == 2] = rng.integers(0, 1 << 23, int((kind == 2).sum())).astype(
        np.uint32).view(np.float32)
    mix[kind == 3] = np.where(rng.random(int((kind == 3).sum())) < 0.5, 0.0, -0.0)
    zeros = np.where(rng.random(n) < 0.5, 0.0, -0.0).astype(np.float32)
    tiny = np.where(rng.random(n) < 0.5,
                    rng.integers(0, 1 << 23, n).astype(np.uint32).view(np.float32),
                    (rng.standard_normal(n) * 2.0 ** -140).astype(np.float32))
    normal = rng.standard_normal(n).astype(np.float32)
    block = (np.arange(shape[1]) // 32 % 4)[None, :, None]
    out = np.choose(np.broadcast_to(block, shape), [m.reshape(shape) for m in
                                                   (mix, zeros, tiny, normal)])
    return np.ascontiguousarray(out, dtype=np.float32)


def _mx_generic(fmt, x3):
    """mx_quantize_rows (the generic kernel) on the float64 copy of x3 (P, D, Q), blocks
    along D."""
    P, D, Q = x3.shape
    nb = -(-D // fmt.block_size)
    with np.errstate(invalid="ignore"):   # signalling NaNs raise "invalid" in astype
        xx = np.ascontiguousarray(x3.transpose(0, 2, 1)).reshape(P * Q, D).astype(np.float64)
    cc = np.empty((P * Q, D), fmt.code_dtype)
    ss = np.empty((P * Q, nb), np.uint8)
    k.mx_quantize_rows(xx, np.empty((0, 0), np.int32), Q, fmt.block_size, 0,
                       *fmt.element.kernel_params(), fmt.element_emax, 0, 0, 0, 0, cc, ss)
    return cc.reshape(P, Q, D).transpose(0, 2, 1), ss.reshape(P, Q, nb).transpose(0, 2, 1)


@pytest.mark.parametrize("name", ["mxfp4", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp8_e4m3",
                                  "mxfp8_e5m2"])
def test_mx_fast_kernels_equal_generic_at_edges(name, rng):
    fmt = rq.format(name)
    kp = fmt.element.kernel_params()
    args = (fmt.block_size, kp.exp_bits, kp.man_bits, kp.bias, kp.unsigned_zero, kp.tmax,
            fmt.element_emax)
    T = k.MX_TILE
    shapes = [(1, 1, 1), (3, 31, 1), (2, 33, 1), (k.MX_GROUPS + 1, 130, 1), (1, 128, T - 1),
              (2, 97, T), (1, 100, T + 1), (3, 128, 2), (1, 0, 3), (k.MX_GROUPS // 2 + 1, 77, 3)]
    for shape in shapes:
        x3 = _mx_inputs(rng, shape)
        want_c, want_s = _mx_generic(fmt, x3)
        P, D, Q = shape
        nb = -(-D // fmt.block_size)
        for par in (False, True):
            codes = np.empty(shape, fmt.code_dtype)
            scodes = np.empty((P, nb, Q), np.uint8)
            if Q == 1:
                x2, c2, s2 = x3.reshape(P, D), codes.reshape(P, D), scodes.reshape(P, nb)
                if par:
                    k.mx_f32_rows_par(x2, x2.view(np.int32), *args, c2, s2)
                else:
                    k.mx_f32_rows(x2, x2.view(np.int32), 0, P * nb, *args, c2, s2)
            elif par:
                k.mx_f32_cols_par(x3, x3.view(np.int32), *args, codes, scodes)
            else:
                k.mx_f32_cols(x3, x3.view(np.int32), 0, P * nb, *args, codes, scodes)
            np.testing.assert_array_equal(codes, want_c, err_msg=f"{name} {shape} par={par}")
            np.testing.assert_array_equal(scodes, want_s, err_msg=f"{name} {shape} par={par}")


def test_mx_public_path_switches_at_threshold_on_both_axes(rng):
    # sizes PAR_MIN_SIZE - 128, PAR_MIN_SIZE, PAR_MIN_SIZE + 128 through quantize_tensor
    fmt = rq.format("mxfp4")
    for R in (PAR_MIN_SIZE // 128 + e for e in (-1, 0, 1)):
        for axis, x3 in ((-1, _mx_inputs(rng, (R, 128, 1))), (0, _mx_inputs(rng, (1, R, 128)))):
            q = fmt.quantize_tensor(x3.reshape(R, 128), axis=axis)
            want_c, want_s = _mx_generic(fmt, x3)
            np.testing.assert_array_equal(q.codes.reshape(x3.shape), want_c)
            np.testing.assert_array_equal(q.extra["scale_codes"].reshape(want_s.shape), want_s)

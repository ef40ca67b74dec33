"""refquant.quantize's PyTorch compat modes against torch (2.13, CPU) bit for bit:
``torch.quantize_per_tensor`` (compat="torch_per_tensor"), ``torch.quantize_per_channel``
(compat="torch_per_channel") and the decomposed ops
``torch.ops.quantized_decomposed.quantize_per_tensor`` / ``quantize_per_channel`` and their
``dequantize_*`` (compat="torch_decomposed"), codes and dequantized values, over seeded
and Hypothesis-drawn inputs near ties, nonzero zero points and float64 scales that float32
cannot hold. The fake-quantization ops (compat="torch_fake_quant") are checked in
test_torch_fake_quant.py. Usage errors of the compat names and the exact float32 rounding
of a fused multiply-add run without torch; everything that calls torch skips cleanly when
it is not installed."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refquant as rq
from refquant.kernels import rounding as K

F32 = np.float32
_REASON = "PyTorch is not installed; the torch compat modes are checked against it when it is"
# torch 2.13 announces the deprecation of its quantized dtypes on every quantize_per_* call
pytestmark = pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions")

# refquant format -> torch quantized dtype of torch.quantize_per_tensor / per_channel
QDTYPE = {"uint8": "quint8", "int8": "qint8", "int32": "qint32", "uint4": "quint4x2",
          "uint2": "quint2x4"}
# refquant format -> (torch integer dtype, quant_min, quant_max) of the decomposed ops
DECOMPOSED = {"uint8": ("uint8", 0, 255), "int8": ("int8", -128, 127), "int4": ("int8", -8, 7),
              "uint4": ("uint8", 0, 15), "int16": ("int16", -32768, 32767),
              "int32": ("int32", -2**31, 2**31 - 1)}


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason=_REASON)


@pytest.fixture(scope="module")
def qd(torch):
    pytest.importorskip("torch.ao.quantization.fx._decomposed",
                        reason="this torch has no quantized_decomposed ops")
    if not hasattr(torch.ops.quantized_decomposed, "quantize_per_tensor"):
        pytest.skip("this torch has no quantized_decomposed.quantize_per_tensor")
    return torch.ops.quantized_decomposed


# ---------------------------------------------------------------------------------------
# data: float32 x within a few ulps of (k + 1/2) * s and k * s, and spread values

def _ulp_shift(x, steps):
    x = x.astype(F32)
    for _ in range(int(np.abs(steps).max(initial=0))):
        go = steps != 0
        x = np.where(go, np.nextafter(x, np.where(steps > 0, F32(np.inf), F32(-np.inf))), x)
        steps = steps - np.sign(steps)
    return x.astype(F32)


def _near_ties(rng, shape, s, spread=100.0):
    s = np.asarray(s, dtype=np.float64)
    n = int(np.prod(shape))
    kind = rng.integers(0, 3, size=shape)
    k = rng.integers(-300, 300, size=shape)
    base = np.where(kind == 0, (k + 0.5) * s, np.where(kind == 1, k * s,
                                                         rng.normal(size=shape) * spread * s))
    steps = np.where(kind == 2, 0, rng.integers(-2, 3, size=shape))
    assert n == base.size
    return _ulp_shift(base.astype(F32), steps)


def _scale(rng, float32_value):
    s = float(np.exp(rng.uniform(np.log(1e-3), np.log(30.0))))
    return float(F32(s)) if float32_value else s


def _zero(rng, name, trial):
    lo, hi = rq.format(name).qmin, rq.format(name).qmax
    if trial % 4 == 0:
        return int(lo) if lo < 0 else int(hi)  # extremes
    return int(rng.integers(max(lo, -1000), min(hi, 1000) + 1))


# ---------------------------------------------------------------------------------------
# torch side

def _int_repr(torch, q, name, n):
    c = q.int_repr().numpy().astype(np.int64).reshape(-1)
    if name == "uint4":
        c = np.stack([c & 15, c >> 4], 1).reshape(-1)[:n]
    elif name == "uint2":
        c = np.stack([(c >> (2 * i)) & 3 for i in range(4)], 1).reshape(-1)[:n]
    return c


def _torch_per_tensor(torch, x, s, z, name):
    q = torch.quantize_per_tensor(torch.from_numpy(x), s, z, getattr(torch, QDTYPE[name]))
    codes = _int_repr(torch, q, name, x.size).reshape(x.shape)
    return codes, q.dequantize().numpy()


def _torch_per_channel(torch, x, s, z, axis, name):
    q = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(np.asarray(s, np.float64)),
                                   torch.from_numpy(np.asarray(z, np.int64)), axis,
                                   getattr(torch, QDTYPE[name]))
    return q.int_repr().numpy().astype(np.int64), q.dequantize().numpy()


def _check(q, codes, deq, z):
    """Codes equal; dequantized float32 values equal bit for bit where |q - z| < 2^24 (z
    broadcast against the codes: beyond, torch rounds q - z to float32 before scaling)."""
    got = q.codes.astype(np.int64)
    bad = np.flatnonzero(got.reshape(-1) != codes.reshape(-1))
    assert bad.size == 0, (f"{bad.size} codes differ, first at {bad[0]}: refquant "
                           f"{got.reshape(-1)[bad[0]]}, torch {codes.reshape(-1)[bad[0]]}")
    d = q.dequantize(np.float32)
    assert d.dtype == np.float32 and deq.dtype == np.float32
    small = (np.abs(got - np.asarray(z, dtype=np.int64)) < 2**24).reshape(-1)
    bad = np.flatnonzero((d.reshape(-1).view(np.int32) != deq.reshape(-1).view(np.int32)) & small)
    assert bad.size == 0, f"{bad.size} dequantized values differ, first at {bad[0]}"


# ---------------------------------------------------------------------------------------
# the two cases of the issue report

def test_reported_cases_zero_point_added_before_rounding(torch):
    x = np.array([16.75], F32)
    q = rq.quantize(x, "int8", scale=0.1, zero_point=np.array(-125), compat="torch_per_tensor")
    assert q.codes.tolist() == [42] == _torch_per_tensor(torch, x, 0.1, -125, "int8")[0].tolist()
    # float32(x * inv) = 167.5 exactly: fake quantization rounds it before adding z
    fq = rq.quantize(x, "int8", scale=0.1, zero_point=np.array(-125), compat="torch_fake_quant")
    assert fq.codes.tolist() == [43]
    x = np.array([[67.724815]], F32)
    q = rq.quantize(x, "int8", granularity="axis", axis=0, scale=np.array([2.655875]),
                    zero_point=np.array([-127]), compat="torch_per_channel")
    assert q.codes.tolist() == [[-102]]
    assert _torch_per_channel(torch, x, [2.655875], [-127], 0, "int8")[0].tolist() == [[-102]]


# ---------------------------------------------------------------------------------------
# torch.quantize_per_tensor

@pytest.mark.parametrize("name", list(QDTYPE))
def test_quantize_per_tensor_seeded(torch, name):
    rng = np.random.default_rng(sum(map(ord, name)))
    for trial in range(60):
        s = _scale(rng, trial % 3 == 0)
        z = _zero(rng, name, trial)
        n = int(rng.integers(1, 80))  # lengths that are not multiples of the vector width
        x = _near_ties(rng, (n,), s)
        codes, deq = _torch_per_tensor(torch, x, s, z, name)
        q = rq.quantize(x, name, scale=s, zero_point=np.array(z), compat="torch_per_tensor")
        _check(q, codes, deq, z)
        assert q.scale == np.float32(s)  # torch computes and dequantizes with float32(s)


def test_quantize_per_tensor_int32_large_zero_point(torch):
    # int32 zero points beyond 2^24 are rounded to float32 before the add
    x = np.array([1.0, 2.0, 3.0, 0.5, 1.5, -1.0, 1e9, 3e9, -3e9, 2.5, -7.25], F32)
    for z in (2**24 + 1, 2**24 + 3, -(2**25) - 5, 2**31 - 1, -2**31):
        codes, _ = _torch_per_tensor(torch, x, 1.0, z, "int32")
        q = rq.quantize(x, "int32", scale=1.0, zero_point=np.array(z), compat="torch_per_tensor")
        assert q.codes.astype(np.int64).tolist() == codes.tolist(), z


_scales = st.one_of(st.floats(1e-4, 1e3), st.floats(float(F32(1e-4)), 1e3, width=32))
_points = st.lists(st.tuples(st.integers(-400, 400), st.sampled_from(["half", "int", "any"]),
                             st.integers(-3, 3), st.floats(-3e3, 3e3)), min_size=1, max_size=40)


def _drawn_x(points, s):
    out = []
    for k, kind, step, v in points:
        base = (k + 0.5) * s if kind == "half" else (k * s if kind == "int" else v)
        out.append(_ulp_shift(np.array([base], F32), np.array([step if kind != "any" else 0]))[0])
    return np.array(out, F32)


@given(_scales, st.integers(-128, 127), _points, st.sampled_from(["int8", "uint8", "int32", "uint4"]))
def test_quantize_per_tensor_drawn(torch, s, z, points, name):
    fmt = rq.format(name)
    z = min(max(z, fmt.qmin), fmt.qmax)
    x = _drawn_x(points, s)
    codes, deq = _torch_per_tensor(torch, x, s, z, name)
    q = rq.quantize(x, name, scale=s, zero_point=np.array(z), compat="torch_per_tensor")
    _check(q, codes, deq, z)


# ---------------------------------------------------------------------------------------
# torch.quantize_per_channel

@pytest.mark.parametrize("name", ["uint8", "int8", "int32"])
@pytest.mark.parametrize("shape,axis", [((5, 33), 0), ((17, 6), 1), ((3, 4, 11), 1), ((2, 3, 9), 2)])
def test_quantize_per_channel_seeded(torch, name, shape, axis):
    rng = np.random.default_rng(len(name) * 100 + axis * 10 + len(shape))
    C = shape[axis]
    for trial in range(12):
        s = np.array([_scale(rng, (trial + c) % 3 == 0) for c in range(C)])
        z = np.array([_zero(rng, name, trial + c) for c in range(C)])
        bshape = [1] * len(shape)
        bshape[axis] = C
        x = _near_ties(rng, shape, s.reshape(bshape))
        codes, deq = _torch_per_channel(torch, x, s, z, axis, name)
        q = rq.quantize(x, name, granularity="axis", axis=axis, scale=s, zero_point=z,
                        compat="torch_per_channel")
        _check(q, codes, deq, z.reshape(bshape))
        assert (q.scale == s).all()  # torch keeps the float64 scales and dequantizes with them


@given(st.lists(_scales, min_size=1, max_size=4), st.integers(-128, 127), _points,
       st.sampled_from(["int8", "uint8", "int32"]))
def test_quantize_per_channel_drawn(torch, scales, z, points, name):
    fmt = rq.format(name)
    z = min(max(z, fmt.qmin), fmt.qmax)
    x = np.stack([_drawn_x(points, s) for s in scales], axis=1)
    zs = np.full(len(scales), z)
    codes, deq = _torch_per_channel(torch, x, scales, zs, 1, name)
    q = rq.quantize(x, name, granularity="axis", axis=1, scale=np.array(scales), zero_point=zs,
                    compat="torch_per_channel")
    _check(q, codes, deq, z)


# ---------------------------------------------------------------------------------------
# torch.ops.quantized_decomposed

@pytest.mark.parametrize("name", list(DECOMPOSED))
def test_decomposed_per_tensor(torch, qd, name):
    dt, lo, hi = DECOMPOSED[name]
    dt = getattr(torch, dt)
    rng = np.random.default_rng(7 + sum(map(ord, name)))
    for trial in range(60):
        s = _scale(rng, trial % 3 == 0)
        z = _zero(rng, name, trial)
        x = _near_ties(rng, (int(rng.integers(1, 70)),), s)
        c = qd.quantize_per_tensor(torch.from_numpy(x), s, z, lo, hi, dt)
        deq = qd.dequantize_per_tensor(c, s, z, lo, hi, dt).numpy()
        q = rq.quantize(x, name, scale=s, zero_point=np.array(z), compat="torch_decomposed")
        _check(q, c.numpy().astype(np.int64), deq, z)


@pytest.mark.parametrize("sdtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["int8", "uint8", "int4", "int16"])
def test_decomposed_per_channel(torch, qd, name, sdtype):
    dt, lo, hi = DECOMPOSED[name]
    dt = getattr(torch, dt)
    rng = np.random.default_rng(11 + len(name))
    for trial in range(20):
        axis = trial % 2
        shape = (4, 19) if axis == 0 else (23, 3)
        C = shape[axis]
        s = np.array([_scale(rng, False) for _ in range(C)]).astype(sdtype)
        z = np.array([_zero(rng, name, trial + c) for c in range(C)])
        x = _near_ties(rng, shape, s.reshape((C, 1) if axis == 0 else (1, C)).astype(np.float64))
        c = qd.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(s), torch.from_numpy(z),
                                    axis, lo, hi, dt)
        deq = qd.dequantize_per_channel(c, torch.from_numpy(s), torch.from_numpy(z), axis, lo, hi,
                                        dt).numpy()
        q = rq.quantize(x, name, granularity="axis", axis=axis, scale=s, zero_point=z,
                        compat="torch_decomposed")
        _check(q, c.numpy().astype(np.int64), deq, z.reshape((C, 1) if axis == 0 else (1, C)))


@given(_scales, st.integers(-128, 127), _points)
def test_decomposed_per_tensor_drawn(torch, qd, s, z, points):
    x = _drawn_x(points, s)
    c = qd.quantize_per_tensor(torch.from_numpy(x), s, z, -128, 127, torch.int8)
    deq = qd.dequantize_per_tensor(c, s, z, -128, 127, torch.int8).numpy()
    q = rq.quantize(x, "int8", scale=s, zero_point=np.array(z), compat="torch_decomposed")
    _check(q, c.numpy().astype(np.int64), deq, z)


# ---------------------------------------------------------------------------------------
# float64 x holding float32 values is accepted by the float32-only ops

def test_float64_x_with_float32_values(torch):
    rng = np.random.default_rng(3)
    x = _near_ties(rng, (64,), 0.1)
    codes, _ = _torch_per_tensor(torch, x, 0.1, -7, "int8")
    q = rq.quantize(x.astype(np.float64), "int8", scale=0.1, zero_point=np.array(-7),
                    compat="torch_per_tensor")
    assert q.codes.astype(np.int64).tolist() == codes.tolist()


# ---------------------------------------------------------------------------------------
# exact float32 rounding of x * inv + z (the fused multiply-add), no torch needed

def _f32_round_exact(v: Fraction) -> float:
    """Fraction -> nearest float32 (half to even), inf beyond the overflow threshold."""
    if v == 0:
        return 0.0
    a = abs(v)
    e = math.floor(math.log2(a.numerator) - math.log2(a.denominator))
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    q = Fraction(2) ** (max(e, -126) - 23)  # float32 spacing at a
    m = a / q
    fl = m.numerator // m.denominator
    r = m - fl
    n = fl + (1 if r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2) else 0)
    out = n * q
    if out >= Fraction(2) ** 128:
        return math.copysign(math.inf, v)
    return math.copysign(float(out), v)


def _fma_model(x, inv, z, mode):
    v = _f32_round_exact(Fraction(float(x)) * Fraction(float(inv)) + int(z))
    if not math.isfinite(v):
        return v
    return float(K.round_real(v, mode, 0, 0))


_f32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


def _py(f):
    """The pure-Python function of a kernel (itself under NUMBA_DISABLE_JIT=1)."""
    return getattr(f, "py_func", f)


@given(_f32, st.floats(float(F32(1e-30)), float(F32(1e30)), width=32), st.integers(-2**31, 2**31 - 1),
       st.sampled_from([0, 1, 2, 3, 4, 5]))
def test_fma_kernel_is_exactly_rounded(x, s, z, mode):
    s32 = F32(s)
    inv = F32(F32(1) / s32)
    if not np.isfinite(inv):
        return
    want = _fma_model(x, inv, float(F32(z)), mode)  # torch adds float32(z)
    for f in (K.quotient_rounded, _py(K.quotient_rounded)):
        got = f(float(x), float(s32), np.int64(z), K.COMPAT_TORCH_FMA, mode, 0, 0)
        assert got == want or (math.isnan(got) and math.isnan(want)), (x, s, z, mode)


def test_fma_kernel_midpoints():
    # x + z exactly on, just above and just below a float32 midpoint, where the float64 sum
    # rounds onto the midpoint: the single rounding must see the exact sum
    for zf in (0.0, 1.0, -3.0, 100.0, 12345.0, 2.0**23, -(2.0**24), 2.0**30):
        u = float(np.spacing(F32(abs(zf)))) if zf else 2.0**-149
        for frac in (u / 2, 3 * u / 2, -u / 2):
            for eps in (0.0, u * 2**-40, -u * 2**-40, u * 2**-20, -u * 2**-20):
                x = frac + eps
                want = _f32_round_exact(Fraction(x) + Fraction(zf))
                assert K.f32_sum(x, zf) == want, (zf, frac, eps)
                assert _py(K.f32_sum)(x, zf) == want, (zf, frac, eps)


# ---------------------------------------------------------------------------------------
# usage errors (no torch needed): a compat name that does not apply is refused

_X = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
_X64 = np.linspace(-1, 1, 12).reshape(3, 4) + 1e-10

BAD = [
    (dict(fmt="int8", compat="torch_per_tensor", granularity="axis", axis=0, scale=[0.1] * 3),
     ValueError, "compat='torch_per_tensor' applies to granularity 'tensor'"),
    (dict(fmt="int8", compat="torch_per_channel", scale=0.1),
     ValueError, "compat='torch_per_channel' applies to granularity 'axis'"),
    (dict(fmt="int8", compat="torch", granularity="block", axis=1, block_size=2),
     ValueError, "granularity 'tensor', 'axis'"),
    (dict(fmt="int8", compat="torch_fake_quant", granularity="block", axis=1, block_size=2),
     ValueError, "granularity 'tensor', 'axis'"),
    (dict(fmt="int8", compat="torch_decomposed", granularity="block", axis=1, block_size=2),
     ValueError, "granularity 'tensor', 'axis'"),
    (dict(fmt="int4", compat="torch_per_tensor", scale=0.1),
     ValueError, "formats uint8, int8, int32, uint4, uint2; got int4"),
    (dict(fmt="int8n", compat="torch_per_tensor", scale=0.1),
     ValueError, "got int8n"),
    (dict(fmt="uint4", compat="torch_per_channel", granularity="axis", axis=0, scale=[0.1] * 3),
     ValueError, "formats uint8, int8, int32; got uint4"),
    (dict(fmt="e4m3fn", compat="torch_fake_quant", scale=0.1),
     ValueError, "compat='torch_fake_quant' applies to integer formats"),
    (dict(fmt="e4m3fn", compat="onnx", scale=0.1),
     ValueError, "compat='onnx' applies to integer formats"),
    (dict(fmt="int8", compat="torch_fake_quant", scale=1e300),
     ValueError, "scale"),
    (dict(fmt="int8", compat="torch_per_tensor", scale=1e-45),
     ValueError, "scale"),
    (dict(fmt="int8", compat="torch_per_tensor", scale=2.9e-39),
     ValueError, "float32(1 / scale)"),
    (dict(fmt="int8", compat="pytorch", scale=0.1),
     ValueError, "allowed: exact, onnx, tflite, torch"),
]


@pytest.mark.parametrize("kw,exc,phrase", BAD, ids=[f"{b[0]['compat']}-{i}" for i, b in enumerate(BAD)])
def test_bad_compat(kw, exc, phrase):
    kw = dict(kw)
    fmt = kw.pop("fmt")
    with pytest.raises(exc, match=None) as info:
        rq.quantize(_X, fmt, **kw)
    assert phrase in str(info.value), str(info.value)


@pytest.mark.parametrize("compat", ["torch_per_tensor", "torch_decomposed"])
def test_float32_ops_refuse_float64_values(compat):
    with pytest.raises(ValueError) as info:
        rq.quantize(_X64, "int8", scale=0.1, compat=compat)
    msg = str(info.value)
    assert "takes float32 x" in msg and "x.astype(np.float32)" in msg, msg
    with pytest.raises(ValueError, match="takes float32 x"):
        rq.quantize(_X64, "int8", granularity="axis", axis=0, scale=[0.1] * 3,
                    compat="torch_per_channel")

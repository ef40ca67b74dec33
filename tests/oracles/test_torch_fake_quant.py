"""PyTorch fake quantization (torch.fake_quantize_per_tensor_affine and
fake_quantize_per_channel_affine) against refquant.quantize(compat="torch_fake_quant", and
its alias "torch"): with s32 = float32(s) and inv = float32(1 / s32), q = round(x * inv)
(a float32 product for float32 x, a float64 product for float64 x), plus z, clamp, then
(q - z) * s32. Seeded and Hypothesis-drawn inputs near ties, nonzero zero points and
float64 scales that float32 cannot hold. Skipped when torch is not installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed; the torch compat modes are checked against it when it is")

import refquant as rq  # noqa: E402

F32 = np.float32


def _data(rng, shape, s):
    x = (rng.normal(size=shape) * 60 * s).astype(np.float32)
    k = rng.integers(-200, 200, size=shape).astype(np.float32)
    ties = ((k + np.float32(0.5)) * s).astype(np.float32)
    return np.where(rng.random(shape) < 0.4, ties, x).astype(np.float32)


@pytest.mark.parametrize("qmin,qmax", [(-128, 127), (0, 255), (-8, 7), (0, 15)])
def test_fake_quantize_per_tensor(qmin, qmax):
    rng = np.random.default_rng(qmax)
    name = {(-128, 127): "int8", (0, 255): "uint8", (-8, 7): "int4", (0, 15): "uint4"}[(qmin, qmax)]
    for s in (np.float32(7.0), np.float32(0.1), np.float32(0.03125)):
        z = 0 if qmin < 0 else (qmax + 1) // 3
        x = _data(rng, (50, 8), s)
        want = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), float(s), z, qmin, qmax).numpy()
        q = rq.quantize(x, name, scale=s, zero_point=np.array(z), compat="torch")
        assert (q.dequantize(np.float32) == want).all()


@pytest.mark.parametrize("axis", [0, 1])
def test_fake_quantize_per_channel(axis):
    rng = np.random.default_rng(5 + axis)
    shape = (6, 9)
    s = np.array([7.0, 0.1, 0.03125, 0.37, 2.0, 0.7, 1.1, 0.2, 5.0][:shape[axis]], np.float32)
    z = rng.integers(0, 50, size=shape[axis])
    sfull = np.expand_dims(s, 1 - axis)
    x = _data(rng, shape, sfull)
    want = torch.fake_quantize_per_channel_affine(
        torch.from_numpy(x), torch.from_numpy(s), torch.from_numpy(z.astype(np.int32)), axis,
        0, 255).numpy()
    q = rq.quantize(x, "uint8", granularity="axis", axis=axis, scale=s, zero_point=z, compat="torch")
    assert (q.dequantize(np.float32) == want).all()


def _near_ties(rng, shape, s):
    """float32 x within two ulps of (k + 1/2) * s or k * s, or spread values."""
    kind = rng.integers(0, 3, size=shape)
    k = rng.integers(-300, 300, size=shape)
    base = np.where(kind == 0, (k + 0.5) * s, np.where(kind == 1, k * s,
                                                         rng.normal(size=shape) * 100 * s))
    x = base.astype(F32)
    steps = np.where(kind == 2, 0, rng.integers(-2, 3, size=shape))
    for _ in range(2):
        go = steps != 0
        x = np.where(go, np.nextafter(x, np.where(steps > 0, F32(np.inf), F32(-np.inf))), x)
        steps = steps - np.sign(steps)
    return x.astype(F32)


_NAMES = {"int8": (-128, 127), "uint8": (0, 255), "int4": (-8, 7), "uint4": (0, 15),
          "int16": (-32768, 32767)}


@pytest.mark.parametrize("name", list(_NAMES))
def test_fake_quantize_per_tensor_float64_scales_and_zero_points(name):
    qmin, qmax = _NAMES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for trial in range(60):
        s = float(np.exp(rng.uniform(np.log(1e-3), np.log(30.0))))  # rarely a float32
        z = int(rng.integers(qmin, qmax + 1)) if trial % 5 else (qmin if trial % 2 else qmax)
        x = _near_ties(rng, (int(rng.integers(1, 90)),), s)
        want = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), s, z, qmin, qmax).numpy()
        for compat in ("torch_fake_quant", "torch"):
            q = rq.quantize(x, name, scale=s, zero_point=np.array(z), compat=compat)
            assert q.scale == F32(s)  # torch computes and dequantizes with float32(s)
            got = q.dequantize(np.float32)
            assert (got.view(np.int32) == want.view(np.int32)).all(), (s, z)


def test_fake_quantize_per_tensor_float64_x():
    # a float64 tensor: q = rint(x * float64(inv)) in float64; the output is float32-rounded
    rng = np.random.default_rng(9)
    for trial in range(60):
        s = float(np.exp(rng.uniform(np.log(1e-3), np.log(30.0))))
        z = int(rng.integers(0, 256))
        x = _near_ties(rng, (64,), s).astype(np.float64)
        x = x * (1 + rng.choice([0.0, 1e-12, -1e-12, 1e-8], size=x.shape))
        want = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), s, z, 0, 255).numpy()
        q = rq.quantize(x, "uint8", scale=s, zero_point=np.array(z), compat="torch_fake_quant")
        assert (q.dequantize(np.float32).astype(np.float64) == want).all(), (s, z)


def test_fake_quantize_per_channel_float64_x():
    # a float64 tensor with float32 scales: q = rint(x * float64(inv)), output (q - z) * s exact
    rng = np.random.default_rng(10)
    for trial in range(30):
        s = np.exp(rng.uniform(np.log(1e-3), np.log(30.0), size=5)).astype(F32)
        z = rng.integers(-128, 128, size=5)
        x = _near_ties(rng, (5, 13), s[:, None].astype(np.float64)).astype(np.float64)
        x = x * (1 + rng.choice([0.0, 1e-12, -1e-12], size=x.shape))
        want = torch.fake_quantize_per_channel_affine(
            torch.from_numpy(x), torch.from_numpy(s), torch.from_numpy(z.astype(np.int32)), 0,
            -128, 127).numpy()
        q = rq.quantize(x, "int8", granularity="axis", axis=0, scale=s, zero_point=z,
                        compat="torch_fake_quant")
        assert (q.dequantize(np.float64) == want).all()


def test_fake_quantize_per_channel_float64_scales_rounded_to_float32():
    # torch takes float32 per-channel scales: refquant rounds float64 scales as .float() does
    rng = np.random.default_rng(12)
    for trial in range(30):
        axis = trial % 2
        shape = (6, 21) if axis == 0 else (25, 4)
        C = shape[axis]
        s = np.exp(rng.uniform(np.log(1e-3), np.log(30.0), size=C))
        z = rng.integers(-128, 128, size=C)
        x = _near_ties(rng, shape, s.reshape((C, 1) if axis == 0 else (1, C)))
        want = torch.fake_quantize_per_channel_affine(
            torch.from_numpy(x), torch.from_numpy(s.astype(F32)),
            torch.from_numpy(z.astype(np.int32)), axis, -128, 127).numpy()
        q = rq.quantize(x, "int8", granularity="axis", axis=axis, scale=s, zero_point=z,
                        compat="torch_fake_quant")
        assert (q.scale == s.astype(F32)).all()
        assert (q.dequantize(np.float32).view(np.int32) == want.view(np.int32)).all()


def test_fake_quantize_int32_large_zero_point():
    # the zero point is added to the rounded quotient in float32: beyond 2^24 it rounds
    x = np.array([1.0, 2.0, 3.0, 0.5, 1.5, -1.0, 1e9, 3e9, -3e9, 2.5, -7.25], F32)
    lo, hi = -2**31, 2**31 - 1
    for z in (2**24 + 1, 2**24 + 3, -(2**25) - 5, 123):
        want = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), 1.0, z, lo, hi).numpy()
        q = rq.quantize(x, "int32", scale=1.0, zero_point=np.array(z), compat="torch_fake_quant")
        assert q.dequantize(np.float32).tolist() == want.tolist(), z
        wantc = torch.fake_quantize_per_channel_affine(
            torch.from_numpy(x[None]), torch.tensor([1.0]), torch.tensor([z], dtype=torch.int32),
            0, lo, hi).numpy()
        qc = rq.quantize(x[None], "int32", granularity="axis", axis=0, scale=[1.0],
                         zero_point=np.array([z]), compat="torch_fake_quant")
        assert qc.dequantize(np.float32).tolist() == wantc.tolist(), z


@given(st.one_of(st.floats(1e-4, 1e3), st.floats(float(F32(1e-4)), 1e3, width=32)), st.integers(-128, 127),
       st.lists(st.tuples(st.integers(-400, 400), st.integers(-2, 2), st.booleans(),
                          st.floats(-3e3, 3e3, width=32)), min_size=1, max_size=40))
def test_fake_quantize_per_tensor_drawn(s, z, points):
    xs = []
    for k, step, tie, v in points:
        b = F32((k + 0.5) * s) if tie else F32(v)
        for _ in range(abs(step)):
            b = np.nextafter(b, F32(np.inf) if step > 0 else F32(-np.inf))
        xs.append(b)
    x = np.array(xs, F32)
    want = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), s, z, -128, 127).numpy()
    q = rq.quantize(x, "int8", scale=s, zero_point=np.array(z), compat="torch_fake_quant")
    assert (q.dequantize(np.float32).view(np.int32) == want.view(np.int32)).all()

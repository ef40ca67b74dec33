"""refquant.quantize(..., compat="torch") calibrations against torch.ao's MinMaxObserver and
PerChannelMinMaxObserver (torch 2.13, CPU): scales and zero points equal bit for bit for
qint8 / quint8 (and qint32 / uint16), symmetric and affine, default and custom
quant_min / quant_max, custom eps, all-zero and one-signed ranges; the codes and
dequantized values equal torch's FakeQuantize modules built on those observers."""
import numpy as np
import pytest

import refquant as rq
from refquant.calibrate import TORCH_EPS, torch_qparams

torch = pytest.importorskip("torch", reason="PyTorch not installed (extra 'torch')")
obs = pytest.importorskip("torch.ao.quantization.observer")
fq_mod = pytest.importorskip("torch.ao.quantization.fake_quantize")

pytestmark = pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")

DTYPES = {"int8": torch.qint8, "uint8": torch.quint8}
RANGES = {"int8": [None, (-64, 63), (-8, 7), (-127, 127)],
          "uint8": [None, (0, 127), (0, 15), (0, 255)]}


def _inputs(rng, n=60):
    """Seeded tensors over many magnitudes, with one-signed and all-zero cases."""
    out = []
    for i in range(n):
        x = (rng.standard_normal((3, 9)) * np.exp(rng.uniform(-25, 25))).astype(np.float32)
        if i % 5 == 1:
            x = np.abs(x)
        if i % 5 == 2:
            x = -np.abs(x)
        if i % 17 == 3:
            x[1] = 0.0          # an all-zero channel
        out.append(x)
    out.append(np.zeros((3, 9), np.float32))
    out.append(np.full((3, 9), 1e-30, np.float32))   # below eps: the scale is eps
    return out


def _kw(r):
    return {} if r is None else {"quant_min": r[0], "quant_max": r[1]}


def _observer(per_channel, dtype, symmetric, r, eps=None):
    if per_channel:
        qs = torch.per_channel_symmetric if symmetric else torch.per_channel_affine
        kw = dict(ch_axis=0, dtype=dtype, qscheme=qs, **_kw(r))
        cls = obs.PerChannelMinMaxObserver
    else:
        qs = torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine
        kw = dict(dtype=dtype, qscheme=qs, **_kw(r))
        cls = obs.MinMaxObserver
    if eps is not None:
        kw["eps"] = eps
    return cls, kw


@pytest.mark.parametrize("fmt", list(DTYPES))
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("per_channel", [False, True])
def test_scales_and_zero_points_equal_the_observers(rng, fmt, symmetric, per_channel):
    for x in _inputs(rng):
        for r in RANGES[fmt]:
            cls, kw = _observer(per_channel, DTYPES[fmt], symmetric, r)
            ob = cls(**kw)
            ob(torch.from_numpy(x))
            s, z = ob.calculate_qparams()
            extra = dict(granularity="axis", axis=0) if per_channel else {}
            q = rq.quantize(x, fmt, compat="torch", symmetric=symmetric, **extra, **_kw(r))
            np.testing.assert_array_equal(np.asarray(q.scale).reshape(-1),
                                          s.numpy().astype(np.float64).reshape(-1))
            np.testing.assert_array_equal(np.asarray(q.zero_point).reshape(-1),
                                          z.numpy().reshape(-1))


def test_default_qscheme_is_affine_as_the_observers(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    for fmt, dtype in DTYPES.items():
        ob = obs.MinMaxObserver(dtype=dtype)
        ob(torch.from_numpy(x))
        s, z = ob.calculate_qparams()
        q = rq.quantize(x, fmt, compat="torch")
        assert float(q.scale) == float(s) and int(q.zero_point) == int(z)


@pytest.mark.parametrize("eps", [1e-3, 2.0 ** -10, 0.3])
def test_custom_eps(rng, eps):
    x = (rng.standard_normal(50) * 1e-3).astype(np.float32)
    for symmetric in (False, True):
        cls, kw = _observer(False, torch.qint8, symmetric, None, eps=eps)
        ob = cls(**kw)
        ob(torch.from_numpy(x))
        s, z = ob.calculate_qparams()
        q = rq.quantize(x, "int8", compat="torch", symmetric=symmetric, eps=eps)
        assert float(q.scale) == float(s) and int(q.zero_point) == int(z)


def test_float64_input_is_observed_in_float32(rng):
    x = rng.standard_normal((2, 33)) * 3.0
    ob = obs.MinMaxObserver(dtype=torch.quint8)
    ob(torch.from_numpy(x))     # the observer converts x to float32
    s, z = ob.calculate_qparams()
    q = rq.quantize(x, "uint8", compat="torch")
    assert float(q.scale) == float(s) and int(q.zero_point) == int(z)


def test_qint32_and_uint16(rng):
    x = rng.standard_normal(40).astype(np.float32)
    for fmt, dtype in (("int32", torch.qint32), ("uint16", torch.uint16)):
        for symmetric in (False, True):
            qs = torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine
            ob = obs.MinMaxObserver(dtype=dtype, qscheme=qs)
            ob(torch.from_numpy(x))
            s, z = ob.calculate_qparams()
            q = rq.quantize(x, fmt, compat="torch", symmetric=symmetric)
            assert float(q.scale) == float(s) and int(q.zero_point) == int(z), (fmt, symmetric)


@pytest.mark.parametrize("fmt", list(DTYPES))
@pytest.mark.parametrize("per_channel", [False, True])
def test_fake_quantize_modules_equal(rng, fmt, per_channel):
    """FakeQuantize(observer) vs quantize(compat="torch"): the observer's qparams, then
    fake_quantize_per_*_affine with the observer's quant_min / quant_max."""
    for x in _inputs(rng, 30):
        for symmetric in (False, True):
            for r in RANGES[fmt]:
                cls, kw = _observer(per_channel, DTYPES[fmt], symmetric, r)
                if r is None:
                    lo, hi = (-128, 127) if fmt == "int8" else (0, 255)
                    kw.update(quant_min=lo, quant_max=hi)   # FakeQuantize needs a range
                    if fmt == "uint8" and symmetric:
                        continue   # an explicit range moves quint8's symmetric zero point
                fq = fq_mod.FakeQuantize(observer=cls, **kw)
                want = fq(torch.from_numpy(x)).numpy()
                extra = dict(granularity="axis", axis=0) if per_channel else {}
                rq_kw = {"quant_min": kw["quant_min"], "quant_max": kw["quant_max"]}
                q = rq.quantize(x, fmt, compat="torch", symmetric=symmetric, **extra, **rq_kw)
                np.testing.assert_array_equal(q.dequantize(np.float32), want)
                assert q.codes.min() >= kw["quant_min"] and q.codes.max() <= kw["quant_max"]


def test_quantize_per_tensor_clamps_to_the_dtype_range(rng):
    """quint8 with the reduce_range observer range [0, 127], then torch.quantize_per_tensor
    (which clamps to [0, 255])."""
    x = rng.standard_normal(200).astype(np.float32) * 4
    ob = obs.MinMaxObserver(dtype=torch.quint8, quant_min=0, quant_max=127)
    ob(torch.from_numpy(x[:50]))     # calibrated on part of x: the rest may exceed it
    s, z = ob.calculate_qparams()
    want = torch.quantize_per_tensor(torch.from_numpy(x), float(s), int(z), torch.quint8)
    lo, hi = float(x[:50].min()), float(x[:50].max())
    q = rq.quantize(x, "uint8", scale=float(s), zero_point=np.array(int(z)),
                    compat="torch_per_tensor")
    np.testing.assert_array_equal(q.codes, want.int_repr().numpy())
    s2, z2 = torch_qparams(lo, hi, symmetric=False, quant_min=0, quant_max=127)
    assert float(s2) == float(s) and int(z2) == int(z)


def test_torch_qparams_worked_example():
    # affine int8 on [-1, 3]: scale = float32(4) / 255, zero point -128 - rint(-1 / s) = -64
    s, z = torch_qparams(-1.0, 3.0, symmetric=False, quant_min=-128, quant_max=127)
    assert float(s) == float(np.float32(4.0) / np.float32(255.0))
    assert int(z) == -128 - int(np.rint(np.float32(-1.0) / np.float32(s)))
    # symmetric: amax / 127.5
    s, z = torch_qparams(-2.0, 1.0, symmetric=True, quant_min=-128, quant_max=127)
    assert float(s) == float(np.float32(2.0) / np.float32(127.5)) and int(z) == 0
    s, z = torch_qparams(0.0, 0.0, symmetric=False, quant_min=-128, quant_max=127)
    assert float(s) == float(np.float32(TORCH_EPS)) and int(z) == -128


def test_torch_objects_in_and_numpy_out(rng):
    """A float32 tensor and a torch dtype go in as they are; the result is NumPy."""
    t = torch.from_numpy(rng.standard_normal((3, 8)).astype(np.float32))
    ob = obs.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.quint8)
    ob(t)
    s, z = ob.calculate_qparams()
    q = rq.quantize(t, torch.quint8, compat="torch", granularity="axis", axis=0)
    assert isinstance(q.codes, np.ndarray) and q.fmt == rq.format("uint8")
    np.testing.assert_array_equal(q.scale, s.numpy().astype(np.float64))
    np.testing.assert_array_equal(q.zero_point, z.numpy())

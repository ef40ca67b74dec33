"""PyTorch fake quantization (per tensor and per channel) against
refquant.quantize(compat="torch"): x * float32(1 / s), half to even, clamp, then
(q - z) * s in float32. Skipped when torch is not installed."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import refquant as rq  # noqa: E402


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

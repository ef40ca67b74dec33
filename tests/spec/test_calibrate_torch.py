"""compat="torch" calibrations without torch: the observers' rules worked by hand, the
defaults they imply, and the argument errors of quant_min / quant_max / eps (the bit-exact
comparison with torch is tests/oracles/test_torch_observers.py)."""
import numpy as np
import pytest

import refquant as rq

X = np.array([-1.0, 0.5, 3.0], dtype=np.float32)


def test_affine_by_default_with_float32_arithmetic():
    q = rq.quantize(X, "int8", compat="torch")
    s = np.float32(np.float32(3.0) - np.float32(-1.0)) / np.float32(255)
    assert float(q.scale) == float(s)
    assert int(q.zero_point) == -128 - int(np.rint(np.float32(-1.0) / s))


def test_symmetric_zero_points():
    assert int(rq.quantize(X, "int8", compat="torch", symmetric=True).zero_point) == 0
    assert int(rq.quantize(X, "uint8", compat="torch", symmetric=True).zero_point) == 128
    q = rq.quantize(X, "uint8", compat="torch", symmetric=True, quant_min=0, quant_max=15)
    assert int(q.zero_point) == 7 and float(q.scale) == float(np.float32(3.0) / np.float32(7.5))


def test_all_zero_range_gives_eps_and_quant_min():
    q = rq.quantize(np.zeros(4), "int8", compat="torch")
    assert float(q.scale) == 2.0 ** -23 and int(q.zero_point) == -128
    q = rq.quantize(np.zeros(4), "int8", compat="torch", quant_min=-8, quant_max=7, eps=0.5)
    assert float(q.scale) == 0.5 and int(q.zero_point) == -8


def test_codes_clamp_to_the_custom_range_under_fake_quant():
    x = np.array([-10.0, 10.0])
    q = rq.quantize(x, "int8", compat="torch", scale=0.1, quant_min=-8, quant_max=7)
    assert q.codes.tolist() == [-8, 7]
    q = rq.quantize(x, "int8", compat="torch_decomposed", scale=0.1, quant_min=-8,
                    quant_max=7)
    assert q.codes.tolist() == [-8, 7]


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(quant_min=-8, quant_max=7), ValueError, "quant_min applies to the torch compat"),
    (dict(compat="torch", quant_min=-8), ValueError, "quant_min and quant_max go together"),
    (dict(compat="torch", quant_min=1, quant_max=7), ValueError, r"quant_min must be an int "
     r"in \[-128, 0\]"),
    (dict(compat="torch", quant_min=-200, quant_max=7), ValueError, "quant_min must be an int"),
    (dict(compat="torch", quant_min=-8, quant_max=300), ValueError, r"quant_max must be an int "
     r"in \[0, 127\]"),
    (dict(compat="torch", quant_min=0, quant_max=0), ValueError, "quant_min must be below"),
    (dict(compat="torch", quant_min=-8.0, quant_max=7), TypeError, "quant_min must be an int"),
    (dict(compat="torch", eps=0.0), ValueError, "eps must be positive"),
    (dict(compat="torch", eps=1e-60), ValueError, "eps must be positive in float32"),
    (dict(compat="torch", eps="x"), TypeError, "eps must be a real number"),
    (dict(compat="torch", scale=0.1, eps=0.1), ValueError, "eps applies to calibrated scales"),
    (dict(compat="torch", scale_dtype=np.float64), ValueError,
     "scale_dtype does not apply to torch observers"),
    (dict(compat="torch_per_tensor", scale=0.1, quant_min=-8, quant_max=7), ValueError,
     "do not apply to compat='torch_per_tensor' with an explicit scale"),
    (dict(compat="torch", quant_min=-8, quant_max=7, overflow="wrap"), ValueError,
     "overflow=WRAP does not apply with quant_min"),
    (dict(compat="torch", scale=0.1, zero_point=np.array(9), quant_min=-8, quant_max=7),
     ValueError, r"zero_point outside \[quant_min, quant_max\] = \[-8, 7\]"),
])
def test_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        rq.quantize(X, "int8", **kwargs)


def test_eps_and_range_do_not_apply_to_float_formats():
    with pytest.raises(ValueError, match="applies to integer formats"):
        rq.quantize(X, "e4m3fn", compat="torch", eps=0.1)

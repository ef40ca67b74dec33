"""Malformed and extreme inputs to refquant.intops: each public function either computes
the exact answer or raises the stated exception with a message naming the argument."""
import warnings

import numpy as np
import pytest

from refquant import intops as I
from refquant.modes import Overflow

I8 = np.ones((2, 3), np.int8)
ONE = np.ones((1, 1), np.int8)
X = np.ones((1, 2, 5, 5), np.int8)
W = np.ones((3, 2, 3, 3), np.int8)


def _ql(**kw):
    args = dict(a=I8, a_scale=1.0, a_zero_point=np.int8(0), b=I8.T, b_scale=1.0,
                b_zero_point=np.int8(0), y_scale=1.0, y_zero_point=np.int8(0))
    args.update(kw)
    return I.qlinear_matmul(**args)


BAD = [
    # quantize_multiplier
    (I.quantize_multiplier, ("a",), {}, TypeError, "m must be real"),
    (I.quantize_multiplier, (1 + 2j,), {}, TypeError, "m must be real"),
    (I.quantize_multiplier, (True,), {}, TypeError, "m must be real"),
    (I.quantize_multiplier, (np.nan,), {}, ValueError, "m must be finite"),
    (I.quantize_multiplier, (0.5,), {"single_rounding": "no"}, TypeError, "single_rounding must be a bool"),
    # fixed-point helpers
    (I.saturating_rounding_doubling_high_mul, ([1, 2], [1, 2, 3]), {}, ValueError,
     r"a with shape \(2,\) and b with shape \(3,\) do not broadcast"),
    (I.saturating_rounding_doubling_high_mul, (1.5, 2), {}, TypeError, "a must hold integers"),
    (I.saturating_rounding_doubling_high_mul, (2 ** 31, 1), {}, ValueError,
     r"a must be in \[-2147483648, 2147483647\], got 2147483648"),
    (I.rounding_divide_by_pot, (5, -1), {}, ValueError, r"exponent must be in \[0, 31\], got -1"),
    (I.rounding_divide_by_pot, (5, 32), {}, ValueError, r"exponent must be in \[0, 31\], got 32"),
    (I.rounding_divide_by_pot, ([5, 6], [1, 2, 3]), {}, ValueError, "x with shape"),
    (I.multiply_by_quantized_multiplier, (5, 1 << 30, 40), {}, ValueError, r"shift must be in \[-31, 31\]"),
    (I.multiply_by_quantized_multiplier, (5, 1 << 30, 0), {"single_rounding": "yes"}, TypeError,
     "single_rounding must be a bool"),
    (I.multiply_by_quantized_multiplier, (5, -3, 0), {"single_rounding": True}, ValueError,
     r"quantized_multiplier must be in \[0, 2147483647\], got -3"),
    # dyadic
    (I.dyadic_scale, (0.5,), {"bits": True}, TypeError, r"bits must be an int in \[1, 62\]"),
    (I.dyadic_scale, (0.5,), {"bits": 63}, ValueError, r"bits must be an int in \[1, 62\]"),
    (I.dyadic_scale, ("x",), {}, TypeError, "scale must be real"),
    (I.dyadic_requantize, (5, 1 << 30, 31), {"bits": True}, TypeError, r"bits must be an int in \[1, 32\]"),
    (I.dyadic_requantize, (5, 1 << 30, 31), {"bits": 33}, ValueError, r"bits must be an int in \[1, 32\]"),
    (I.dyadic_requantize, (5, 1 << 30, 31), {"signed": "no"}, TypeError, "signed must be a bool"),
    (I.dyadic_requantize, ([5, 6], [1, 2, 3], 31), {}, ValueError, "acc with shape"),
    # gemm: pair_saturate
    (I.gemm, (I8, I8.T), {"pair_saturate": 1}, ValueError, r"pair_saturate must be an int in \[2, 62\], got 1"),
    (I.gemm, (I8, I8.T), {"pair_saturate": 63}, ValueError, r"pair_saturate must be an int in \[2, 62\]"),
    (I.gemm, (I8, I8.T), {"pair_saturate": True}, TypeError, "pair_saturate must be an int"),
    (I.gemm, (I8, I8.T), {"pair_saturate": 16.0}, TypeError, "pair_saturate must be an int"),
    (I.gemm, (I8, I8.T), {"pair_saturate": "16"}, TypeError, "pair_saturate must be an int"),
    (I.matmul_integer, (I8, I8.T), {"pair_saturate": 0}, ValueError, r"pair_saturate must be an int in \[2, 62\]"),
    (I.gemm, (np.full((1, 2), 1 << 31, np.int64), np.full((2, 1), 1 << 31, np.int64)),
     {"pair_saturate": 16}, ValueError, "pair_saturate"),
    # gemm: shapes, dtypes, policy arguments
    (I.gemm, (np.ones((2, 2, 3), np.int8), np.ones((3, 3, 2), np.int8)), {}, ValueError,
     r"batch dimensions of a \(2,\) and b \(3,\) do not broadcast"),
    (I.gemm, (I8, I8.T), {"bias": np.ones((3, 3), np.int32)}, ValueError,
     r"bias of shape \(3, 3\) does not broadcast to the output shape \(2, 2\)"),
    (I.gemm, (I8, I8.T), {"bias": np.ones((5, 2, 2), np.int32)}, ValueError,
     r"bias of shape \(5, 2, 2\) does not broadcast to the output shape \(2, 2\)"),
    (I.gemm, (I8, I8.T), {"bias": np.ones((2, 2))}, TypeError, "bias must hold integers"),
    (I.gemm, (I8, I8.T), {"bias": [[1.5, 0], [0, 0]]}, TypeError, "bias must hold integers"),
    (I.gemm, (I8, I8.T), {"bias": [["x", 0], [0, 0]]}, TypeError, "bias must hold integers"),
    (I.gemm, (I8, I8.T), {"acc_bits": 32.0}, TypeError, r"acc_bits must be an int in \[2, 64\], got 32.0"),
    (I.gemm, (I8, I8.T), {"acc_bits": True}, TypeError, r"acc_bits must be an int in \[2, 64\]"),
    (I.gemm, (I8, I8.T), {"acc_bits": 65}, ValueError, r"acc_bits must be an int in \[2, 64\], got 65"),
    (I.gemm, (I8, I8.T, 1.5), {}, TypeError, "a_zero_point must be an integer"),
    (I.gemm, (np.full((1, 1), 2 ** 63, np.uint64), ONE), {}, ValueError, r"a holds values >= 2\^63"),
    (I.gemm, (I8, I8.T), {"overflow": None}, ValueError, "overflow=None"),
    (I.gemm, (I8, I8.T), {"overflow": "clip"}, ValueError, "overflow='clip'"),
    (I.gemm, (I8, I8.T), {"overflow": "inf"}, ValueError,
     "overflow=INF does not apply to an integer accumulator"),
    (I.gemm, (I8, I8.T), {"overflow": Overflow.NAN}, ValueError,
     "overflow=NAN does not apply to an integer accumulator"),
    # qlinear_matmul
    (_ql, (), {"a_scale": "x"}, TypeError, "a_scale must be real"),
    (_ql, (), {"b_scale": 1 + 1j}, TypeError, "b_scale must be real"),
    (_ql, (), {"a_scale": 1e300}, ValueError, "a_scale=1e\\+300 is outside float32's finite range"),
    (_ql, (), {"b_scale": 1e-300}, ValueError, "b_scale=1e-300 is outside float32's finite range"),
    (_ql, (), {"a_scale": 3e38, "b_scale": 10.0}, ValueError, "multiplier a_scale \\* b_scale / y_scale"),
    (_ql, (), {"pair_saturate": 70}, ValueError, r"pair_saturate must be an int in \[2, 62\]"),
    (_ql, (), {"y_zero_point": np.array([0, 0], np.int8)}, ValueError, "y_zero_point must be a scalar"),
    # conv2d / im2col
    (I.conv2d, (X, W), {"stride": 1.5}, TypeError, "stride"),
    (I.conv2d, (X, W), {"padding": 1.5}, TypeError, "padding"),
    (I.conv2d, (X, W), {"padding": "same"}, TypeError, "padding"),
    (I.conv2d, (X, W), {"dilation": (1, 2.5)}, TypeError, "dilation"),
    (I.conv2d, (X, W), {"groups": True}, TypeError, "groups must be an int"),
    (I.conv2d, (X, W), {"groups": 0}, ValueError, "groups must be an int >= 1, got 0"),
    (I.conv2d, (X, W), {"overflow": Overflow.INF}, ValueError, "overflow=INF does not apply"),
    (I.conv2d, (np.full((1, 2, 5, 5), 2 ** 63, np.uint64), W), {}, ValueError, r"x holds values >= 2\^63"),
    (I.conv2d, (X, W), {"x_zero_point": np.uint64(2 ** 64 - 1)}, ValueError, "x_zero_point"),
    (I.conv2d, (X, W), {"w_zero_point": np.array([2 ** 64 - 1] * 3, np.uint64)}, ValueError, "w_zero_point"),
    (I.conv2d, (X, W), {"max_bytes": -1}, ValueError, "max_bytes"),
    (I.conv2d, (X, W), {"max_bytes": 1.5}, TypeError, "max_bytes"),
    (I.im2col, (X, 3, 3), {"max_bytes": "big"}, TypeError, "max_bytes"),
]


@pytest.mark.parametrize("func,args,kwargs,exc,phrase", BAD,
                         ids=[f"{i}-{b[0].__name__}" for i, b in enumerate(BAD)])
def test_bad_input_raises(func, args, kwargs, exc, phrase):
    with pytest.raises(exc, match=phrase):
        func(*args, **kwargs)


def test_conv2d_checks_memory_before_allocating():
    x = np.zeros((1, 1, 4, 4), np.uint8)
    w = np.zeros((1, 1, 3, 3), np.int8)
    with pytest.raises(ValueError, match=r"padding=20000.*GiB.*max_bytes") as err:
        I.conv2d(x, w, padding=20000)
    assert "bytes" in str(err.value)
    with pytest.raises(ValueError, match=r"max_bytes=1000"):
        I.conv2d(x, w, padding=5, max_bytes=1000)
    with pytest.raises(ValueError, match=r"padding=\(0, 0, 30000, 30000\).*max_bytes"):
        I.im2col(x, 3, 3, padding=(0, 0, 30000, 30000))
    # within the limit, or with the limit raised, it computes
    assert I.conv2d(x + 1, w + 1, padding=5, max_bytes=10**6).shape == (1, 1, 12, 12)
    assert I.conv2d(x + 1, w + 1, padding=5, max_bytes=None)[0, 0, 5, 5] == 9
    assert I.im2col(x, 3, 3, padding=1, max_bytes=10**6)[0].shape == (1, 9, 4, 4)


def test_empty_and_degenerate_shapes_compute():
    # K = 0 with a bias under every policy: the bias alone (saturated / wrapped)
    a, b = np.ones((2, 0), np.int8), np.ones((0, 3), np.int8)
    assert I.gemm(a, b, acc_bits=4, overflow="saturate", bias=100).tolist() == [[7] * 3] * 2
    assert I.gemm(a, b, acc_bits=4, overflow="wrap", bias=100).tolist() == [[4] * 3] * 2
    assert I.gemm(a, b, acc_bits=4, overflow="saturate", bias=100, pair_saturate=16).tolist() == [[7] * 3] * 2
    assert I.gemm(np.ones((0, 2), np.int8), np.ones((2, 3), np.int8), pair_saturate=16).shape == (0, 3)
    # no output channels
    assert I.conv2d(X, np.ones((0, 2, 3, 3), np.int8)).shape == (1, 0, 3, 3)
    assert I.conv2d(np.ones((0, 2, 5, 5), np.int8), W).shape == (0, 3, 3, 3)
    # 0-d inputs keep their shape
    assert I.rounding_divide_by_pot(5, 1).shape == ()
    assert I.dyadic_requantize(5, 1 << 30, 31).shape == ()


def test_big_endian_and_float16_inputs_are_converted_by_value():
    be = np.array([[300, -7]], dtype=">i2")
    b = np.array([[1000], [1000]], dtype=">i4")
    assert I.gemm(be, b, overflow="exact").tolist() == [[293000]]
    assert I.gemm(be, b, acc_bits=16, overflow="saturate").tolist() == [[32767 - 7000]]
    assert I.gemm(be, b, overflow="exact", pair_saturate=16).tolist() == [[32767]]
    assert I.conv2d(np.full((1, 1, 2, 2), 3, ">i2"), np.full((1, 1, 2, 2), 5, ">i8")).tolist() == [[[[60]]]]
    assert I.rounding_divide_by_pot(np.array([5], ">i8"), np.array([1], ">i2")).tolist() == [3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert I.saturating_rounding_doubling_high_mul(np.float16(3), 1 << 30).tolist() == 2
    assert I.quantize_multiplier(np.array([0.5], ">f8"))[0].tolist() == [1 << 30]


def test_qlinear_matmul_scales_are_float32_under_onnx_and_any_positive_under_exact():
    a = np.array([[2]], np.int8)
    # compat="exact" works with any finite positive float64 scale
    y = I.qlinear_matmul(a, 1e300, np.int8(0), a, 1e-300, np.int8(0), 1.0, np.int8(0), compat="exact")
    assert y.tolist() == [[4]]
    # a multiplier that underflows float32 gives the zero point (as onnxruntime's float32 does)
    y = I.qlinear_matmul(a, 1e-30, np.int8(0), a, 1e-30, np.int8(0), 1e30, np.int8(5))
    assert y.tolist() == [[5]]

"""assert_bit_exact / assert_codes_equal / compare: every mismatch class fails, identical
outputs (NaN payloads and -0.0 included) pass, and the report says exactly what differs."""
from __future__ import annotations

import json

import numpy as np
import pytest

import refquant as rq
from refquant.testing import (CLASSES, assert_bit_exact, assert_codes_equal, compare,
                              format_report)

F32_NAN_PAYLOAD = np.array([0x7FC00001, 0xFFA00000], dtype=np.uint32).view(np.float32)

# (format, input, expected code, actual code, class)
CASES = [
    ("e4m3fn", np.nan, 0x7F, 0x7E, "nan"),
    ("e4m3fn", -0.0, 0x00, 0x80, "sign_of_zero"),
    ("e5m2", 1e6, 0x7C, 0x7B, "overflow"),
    ("e4m3fn", 1.0625, 0x38, 0x39, "ties"),
    ("e4m3fn", 3 * 2.0 ** -9, 0x03, 0x04, "subnormal"),
    ("e4m3fn", 2.0, 0x40, 0x41, "other"),
]


@pytest.mark.parametrize("name,x,want,got,cls", CASES)
def test_each_mismatch_class_fails_and_is_named(name, x, want, got, cls):
    fmt = rq.format(name)
    inputs = np.array([1.0, x], dtype=np.float32)
    expected = fmt.encode(np.array([1.0], dtype=np.float32)).tolist() + [want]
    expected = np.array(expected, dtype=np.uint8)
    actual = expected.copy()
    actual[1] = got
    with pytest.raises(AssertionError) as info:
        assert_bit_exact(actual, expected, fmt=fmt, inputs=inputs)
    msg = str(info.value)
    assert "1 of 2 elements differ" in msg and cls.replace("_", " ") + " 1" in msg
    rep = compare(actual, expected, inputs, fmt=name)
    assert rep["mismatches"] == 1 and rep["by_class"][cls] == 1
    assert sum(rep["by_class"].values()) == 1
    ex = rep["examples"][0]
    assert ex["index"] == 1 and ex["class"] == cls
    assert ex["actual"]["code"] == f"0x{got:02x}" and ex["expected"]["code"] == f"0x{want:02x}"
    json.dumps(rep, allow_nan=False)   # JSON-able, no bare NaN


def test_identical_codes_pass_including_nan_and_negative_zero():
    fp16 = rq.format("fp16")
    codes = np.array([0x7E00, 0xFE00, 0x7C01, 0x8000, 0x0000, 0x3C00], dtype=np.uint16)
    assert_codes_equal(codes, codes.copy(), fmt=fp16)
    assert_bit_exact(codes.view(np.float16), codes.copy().view(np.float16))
    assert_bit_exact(codes.view(np.float16), codes.copy().view(np.float16), fmt="fp16")
    assert_bit_exact(F32_NAN_PAYLOAD, F32_NAN_PAYLOAD.copy())
    assert_bit_exact(np.array([-0.0, 0.0]), np.array([-0.0, 0.0]))


def test_nan_payload_and_zero_sign_differences_fail_on_raw_floats():
    other = np.array([np.nan, np.nan], dtype=np.float32)
    with pytest.raises(AssertionError, match="nan 2"):
        assert_bit_exact(F32_NAN_PAYLOAD, other)
    with pytest.raises(AssertionError, match="sign of zero 1"):
        assert_bit_exact(np.array([-0.0, 1.0]), np.array([0.0, 1.0]))


def test_fp16_nan_payload_differs_under_fmt():
    a = np.array([0x7E00], dtype=np.uint16)
    b = np.array([0x7E01], dtype=np.uint16)
    rep = compare(a, b, fmt="fp16")
    assert rep["by_class"]["nan"] == 1 and rep["max_distance"] is None


def test_ml_dtypes_arrays_are_read_as_codes():
    ml = pytest.importorskip("ml_dtypes")
    x = np.linspace(-500, 500, 1001, dtype=np.float32)
    fmt = rq.format("e4m3fn")
    assert_bit_exact(x.astype(ml.float8_e4m3fn), fmt.encode(x), fmt=fmt)
    # float64 values of the format are mapped to their codes (finite ones: a decoded NaN
    # has lost the sign of its code)
    y = x[np.abs(x) <= 448]
    assert_bit_exact(fmt.decode(fmt.encode(y)), fmt.encode(y), fmt=fmt)


def test_distance_in_code_steps_across_zero():
    fmt = rq.format("e4m3fn")
    # +min subnormal (0x01) vs -min subnormal (0x81): two steps apart on the value order
    rep = compare(np.array([0x01], np.uint8), np.array([0x81], np.uint8), fmt=fmt)
    assert rep["max_distance"] == 2 and rep["examples"][0]["distance"] == 2
    rep = compare(np.array([0x40], np.uint8), np.array([0x45], np.uint8), fmt=fmt)
    assert rep["max_distance"] == 5


def test_report_counts_shares_and_first_examples():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(1000).astype(np.float32) * 10
    fmt = rq.format("e4m3fn")
    want = fmt.encode(x)
    got = want.copy()
    planted = np.array([5, 17, 400, 999])
    got[planted] ^= 1
    rep = compare(got, want, x, fmt=fmt, examples=3)
    assert rep["count"] == 1000 and rep["mismatches"] == 4 and rep["share"] == 0.004
    assert [e["index"] for e in rep["examples"]] == [5, 17, 400]
    assert all(e["distance"] == 1 for e in rep["examples"])
    assert set(rep["by_class"]) == set(CLASSES)
    # multi-dimensional inputs report index tuples
    rep2 = compare(got.reshape(10, 100), want.reshape(10, 100), x.reshape(10, 100), fmt=fmt)
    assert rep2["examples"][0]["index"] == [0, 5]
    assert "4 of 1000 elements differ" in format_report(rep)


def test_callables_and_bad_arguments():
    fmt = rq.format("e4m3fn")
    x = np.array([1.0, 2.0], np.float32)
    rep = compare(fmt.encode, lambda v: fmt.encode(v), x, fmt=fmt)
    assert rep["mismatches"] == 0
    with pytest.raises(ValueError, match="shape"):
        compare(np.zeros(3, np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_bit_exact(np.zeros(3, np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(TypeError, match="integer codes"):
        assert_codes_equal(np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="not a code of e4m3fn"):
        compare(np.array([300]), np.array([1]), fmt=fmt)
    with pytest.raises(ValueError, match="not a value of e4m3fn"):
        compare(np.array([1.01]), np.array([1.0]), fmt=fmt)
    with pytest.raises(TypeError, match="codes"):
        compare(np.array(["a"]), np.array(["a"]))
    with pytest.raises(ValueError, match="unknown format"):
        compare(np.zeros(1, np.uint8), np.zeros(1, np.uint8), fmt="e9m9zz")

"""``FloatFormat.encode(..., nan=...)``: the NaN payload rules of IEEE-like formats, each
against a transcription on Python ints, and refused where a format has one NaN per sign."""
import numpy as np
import pytest

import refquant as rq
from refquant.floats import NAN_MODES


def _rule(bits: int, in_m: int, fmt, mode: str) -> int:
    """The code of one NaN input bit pattern (``in_m`` significand bits) by the rule."""
    M = fmt.man_bits
    sign = bits >> (in_m + (11 if in_m == 52 else 8))
    sig = bits & ((1 << in_m) - 1)
    payload = sig >> (in_m - M) if M <= in_m else sig << (M - in_m)
    if mode == "canonical":
        payload = 1 << (M - 1)
    elif mode == "quiet":
        payload |= 1 << (M - 1)
    elif payload == 0:
        payload = 1
    code = (((1 << fmt.exp_bits) - 1) << M) | payload
    return code | (sign << (fmt.bits - 1)) if fmt.signed else code


F32_NANS = [0x7F800001, 0xFF800001, 0x7FC00000, 0xFFC00000, 0x7FFFFFFF, 0xFFFFFFFF,
            0x7FA00000, 0xFF812345, 0x7F802000, 0x7F801FFF, 0x7FBFFFFF, 0xFFE00001]
F64_NANS = [0x7FF0000000000001, 0xFFF8000000000000, 0x7FF4000000000000,
            0xFFFFFFFFFFFFFFFF, 0x7FF0040000000000, 0x7FF003FFFFFFFFFF]


@pytest.mark.parametrize("name", ["fp16", "bf16", "e5m2", "tf32", "fp32"])
@pytest.mark.parametrize("mode", NAN_MODES)
def test_nan_rule_float32_and_float64_inputs(name, mode):
    f = rq.format(name)
    x32 = np.array(F32_NANS, dtype=np.uint32).view(np.float32)
    got = f.encode(x32, nan=mode).astype(np.int64)
    assert [int(c) for c in got] == [_rule(b, 23, f, mode) for b in F32_NANS]
    x64 = np.array(F64_NANS, dtype=np.uint64).view(np.float64)
    got = f.encode(x64, nan=mode).astype(np.int64)
    assert [int(c) for c in got] == [_rule(b, 52, f, mode) for b in F64_NANS]


def test_nan_rule_leaves_numbers_alone():
    f = rq.format("fp16")
    x = np.array([1.0, -0.0, np.inf, -np.inf, 65504.0, 1e-8, np.nan], dtype=np.float32)
    for mode in NAN_MODES:
        got = f.encode(x, nan=mode)
        assert np.array_equal(got[:-1], f.encode(x[:-1]))
        assert np.isnan(f.decode(got[-1:])[0])


def test_quiet_and_preserve_examples():
    """float32 0x7F800001 (signalling, payload 1) into fp16: preserve keeps it signalling
    with the lowest bit (0x7C01), quiet sets the quiet bit (0x7E00), canonical 0x7E00;
    0xFF812345 (payload top ten bits 0000001001): 0xFC09, 0xFE09, 0xFE00."""
    f = rq.format("fp16")
    x = np.array([0x7F800001, 0xFF812345], dtype=np.uint32).view(np.float32)
    assert [hex(c) for c in f.encode(x, nan="preserve")] == ["0x7c01", "0xfc09"]
    assert [hex(c) for c in f.encode(x, nan="quiet")] == ["0x7e00", "0xfe09"]
    assert [hex(c) for c in f.encode(x)] == ["0x7e00", "0xfe00"]


@pytest.mark.parametrize("name", ["e4m3fn", "e4m3fnuz", "e2m1", "e8m0"])
def test_payload_modes_refused_without_payload(name):
    f = rq.format(name)
    with pytest.raises(ValueError, match="nan='preserve' applies to IEEE-like formats"):
        f.encode([1.0], nan="preserve")
    assert f.encode([1.0], nan="canonical").shape == (1,)


def test_bad_nan_mode():
    with pytest.raises(ValueError, match="nan='keep'; allowed: canonical, preserve, quiet"):
        rq.format("fp16").encode([1.0], nan="keep")

"""``refquant.floats.cast`` against the peers it reproduces, code for code: PyTorch 2.13's
``Tensor.to`` (skipped without torch), ml_dtypes' ``astype`` and NumPy's float16 cast, on
a strided sample of every float32 bit pattern plus each format's values, midpoints and
their float32 neighbours, and every NaN class."""
import numpy as np
import pytest

import refquant as rq
from refquant.floats import PEER_CASTS, cast

ml_dtypes = pytest.importorskip("ml_dtypes")


def _sample(fmt_name: str) -> np.ndarray:
    """float32 inputs: every 4093rd bit pattern (all exponents, both signs, NaN and inf),
    and for formats up to 16 bits each finite value, each midpoint between neighbours and
    the float32 patterns one ulp either side of both."""
    bits = np.arange(0, 1 << 32, 4093, dtype=np.uint64).astype(np.uint32)
    extra = [bits.view(np.float32)]
    f = rq.format(fmt_name)
    if f.bits <= 16:
        v = f.lut()
        v = np.unique(v[np.isfinite(v)])
        mids = (v[1:] + v[:-1]) / 2
        pts = np.concatenate([v, mids, -v, -mids]).astype(np.float32)
        pb = pts.view(np.uint32)
        extra += [pts, (pb + 1).view(np.float32), (pb - 1).view(np.float32)]
    specials = np.array([0x7F800000, 0xFF800000, 0x7F800001, 0xFF800001, 0x7FC00000,
                         0xFFC00000, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FA00000, 0x00000001,
                         0x80000001, 0x00400000, 0x00600000], dtype=np.uint32)
    extra.append(specials.view(np.float32))
    return np.concatenate(extra)


def _as(x: np.ndarray, dtype) -> np.ndarray:
    """x in another float dtype (NaN payloads carried; NumPy warns on signalling NaNs)."""
    with np.errstate(invalid="ignore"):
        return x.astype(dtype)


def _codes(a: np.ndarray) -> np.ndarray:
    return a.view({1: np.uint8, 2: np.uint16}[a.itemsize]).astype(np.int64)


ML = {"bf16": "bfloat16", "e4m3fn": "float8_e4m3fn", "e5m2": "float8_e5m2",
      "e4m3fnuz": "float8_e4m3fnuz", "e5m2fnuz": "float8_e5m2fnuz", "e4m3": "float8_e4m3",
      "e3m4": "float8_e3m4", "e4m3b11fnuz": "float8_e4m3b11fnuz", "e3m2": "float6_e3m2fn",
      "e2m3": "float6_e2m3fn", "e2m1": "float4_e2m1fn", "e8m0": "float8_e8m0fnu"}


def test_ml_dtypes_profile_lists_every_ml_dtypes_format():
    assert set(PEER_CASTS["ml_dtypes"]) == set(ML)


@pytest.mark.parametrize("name", sorted(ML))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cast_ml_dtypes(name, dtype):
    x = _as(_sample(name), dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = _codes(x.astype(getattr(ml_dtypes, ML[name])))
    got = cast(x, name, "ml_dtypes").astype(np.int64)
    bad = np.nonzero(ref != got)[0]
    assert bad.size == 0, [(float(x[i]), hex(ref[i]), hex(got[i])) for i in bad[:5]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cast_numpy_fp16(dtype):
    x = _as(_sample("fp16"), dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = _codes(x.astype(np.float16))
    assert np.array_equal(cast(x, "fp16", "numpy").astype(np.int64), ref)


def test_numpy_fp16_every_float32_nan():
    """Every float32 NaN (2^24 patterns): NumPy keeps the payload, refquant's
    nan="preserve" equals it, nan="canonical" differs exactly where the top ten payload
    bits are not 1000000000."""
    mant = np.arange(1, 1 << 23, dtype=np.uint32)
    x = np.concatenate([mant | 0x7F800000, mant | 0xFF800000]).view(np.float32)
    ref = _codes(x.astype(np.float16))
    f = rq.format("fp16")
    assert np.array_equal(f.encode(x, nan="preserve").astype(np.int64), ref)
    canon = f.encode(x).astype(np.int64)
    assert int((canon != ref).sum()) == 2 * ((1 << 23) - 1) - 2 * (1 << 13)


@pytest.fixture(scope="module")
def torch_mod():
    return pytest.importorskip("torch", reason="PyTorch not installed (the `torch` extra)")


TORCH = {"e4m3fn": "float8_e4m3fn", "e5m2": "float8_e5m2", "e4m3fnuz": "float8_e4m3fnuz",
         "e5m2fnuz": "float8_e5m2fnuz", "bf16": "bfloat16", "fp16": "float16",
         "e8m0": "float8_e8m0fnu"}


def test_torch_profile_lists_every_torch_format():
    assert set(PEER_CASTS["torch"]) == set(TORCH)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_cast_torch_float32(torch_mod, name):
    x = _sample(name)
    t = torch_mod.from_numpy(x).to(getattr(torch_mod, TORCH[name]))
    ref = _codes(t.view(torch_mod.uint8 if t.element_size() == 1 else torch_mod.int16).numpy())
    got = cast(x, name, "torch").astype(np.int64)
    bad = np.nonzero(ref != got)[0]
    assert bad.size == 0, [(hex(int(x.view(np.uint32)[i])), hex(ref[i]), hex(got[i]))
                           for i in bad[:5]]


@pytest.mark.parametrize("name", sorted(TORCH))
def test_cast_torch_float64_rounds_through_float32(torch_mod, name):
    """From float64 torch rounds to float32 first (double rounding), e.g.
    1 + 2^-4 + 2^-30 becomes the e4m3fn tie 1.0625 and then 1.0 (even). bf16 NaNs are
    left out: there torch's code depends on the element's place in its vector loop."""
    x = np.concatenate([_as(_sample(name), np.float64),
                        [1 + 2**-4 + 2**-30, 1 + 2**-8 + 2**-40, -(1 + 3 * 2**-4 + 2**-35)]])
    if name == "bf16":
        x = x[~np.isnan(x)]
    t = torch_mod.from_numpy(x).to(getattr(torch_mod, TORCH[name]))
    ref = _codes(t.view(torch_mod.uint8 if t.element_size() == 1 else torch_mod.int16).numpy())
    assert np.array_equal(cast(x, name, "torch").astype(np.int64), ref)


def test_cast_bad_peer_and_format():
    with pytest.raises(ValueError, match="peer='tf'; allowed: torch, numpy, ml_dtypes"):
        cast([1.0], "e4m3fn", "tf")
    with pytest.raises(ValueError, match="no profile for 'e4m3'.*closest: e4m3fn"):
        cast([1.0], "e4m3", "torch")

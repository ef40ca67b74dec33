"""Interop: dtypes of ml_dtypes, NumPy and PyTorch as format names, their arrays as inputs
(by value, or by bit pattern through ``view_codes``), bit for bit against ml_dtypes' and
torch's own casts; the closest-name errors; a tensor on a GPU refused with a clear
message; torch never imported by refquant itself."""
import subprocess
import sys

import numpy as np
import pytest

import refquant as rq
from refquant import _interop

md = pytest.importorskip("ml_dtypes")

# refquant format -> ml_dtypes / NumPy dtype name of the same codes and values
PAIRS = {"e4m3fn": "float8_e4m3fn", "e5m2": "float8_e5m2", "e4m3": "float8_e4m3",
         "e4m3fnuz": "float8_e4m3fnuz", "e5m2fnuz": "float8_e5m2fnuz",
         "e4m3b11fnuz": "float8_e4m3b11fnuz", "e3m4": "float8_e3m4", "e3m2": "float6_e3m2fn",
         "e2m3": "float6_e2m3fn", "e2m1": "float4_e2m1fn", "e8m0": "float8_e8m0fnu",
         "bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "int2": "int2",
         "int4": "int4", "int8": "int8", "int16": "int16", "int32": "int32",
         "uint2": "uint2", "uint4": "uint4", "uint8": "uint8", "uint16": "uint16",
         "uint32": "uint32"}


def _md(name):
    return np.dtype(getattr(md, name, None) or name)


@pytest.mark.parametrize("fmt_name", list(PAIRS))
def test_dtype_objects_and_names_resolve(fmt_name):
    dt = _md(PAIRS[fmt_name])
    want = rq.format(fmt_name)
    assert rq.format(PAIRS[fmt_name]) == want
    assert rq.format(PAIRS[fmt_name].upper()) == want
    assert rq.format(dt) == want
    assert rq.format(dt.type) == want
    assert want.as_ml_dtypes() == dt


@pytest.mark.parametrize("fmt_name", [n for n in PAIRS if rq.format(n).bits <= 16])
def test_every_code_round_trips_through_the_dtype(fmt_name):
    f = rq.format(fmt_name)
    dt = f.as_ml_dtypes()
    codes = f.codes()
    arr = codes.astype(f"u{dt.itemsize}") if not f.is_integer else codes.astype(dt)
    if not f.is_integer:
        arr = arr.view(dt)
    with np.errstate(invalid="ignore"):
        want = arr.astype(np.float64)
    np.testing.assert_array_equal(f.decode(f.view_codes(arr)), want)
    fin = np.isfinite(want)
    # by value: every finite value of the dtype encodes to its own code (+0 / -0 kept)
    got = f.encode(arr[fin])
    if f.is_integer:
        np.testing.assert_array_equal(got, codes[fin])
    else:
        np.testing.assert_array_equal(got, np.asarray(f.view_codes(arr))[fin])


def test_ml_dtypes_arrays_by_value_match_ml_dtypes_casts(rng):
    x = (rng.standard_normal(20000) * np.exp(rng.uniform(-8, 8, 20000))).astype(np.float32)
    for fmt_name in ("e4m3fn", "e5m2", "bf16", "e3m2", "e2m1"):
        f = rq.format(fmt_name)
        dt = f.as_ml_dtypes()
        with np.errstate(over="ignore", invalid="ignore"):
            cast = x.astype(dt)
        keep = np.isfinite(cast.astype(np.float32))
        # ml_dtypes' cast of x, viewed as codes, equals refquant's codes of the same value
        np.testing.assert_array_equal(f.view_codes(cast[keep]), f.encode(cast[keep]))
        np.testing.assert_array_equal(f.decode(f.view_codes(cast)),
                                      cast.astype(np.float64))


def test_view_codes_refuses_another_dtype():
    a = np.zeros(3, md.float8_e5m2)
    with pytest.raises(TypeError, match="view_codes of e4m3fn takes float8_e4m3fn"):
        rq.format("e4m3fn").view_codes(a)


def test_decode_takes_codes_not_float_values():
    a = np.ones(2, md.float8_e4m3fn)
    with pytest.raises(TypeError, match=r"codes must be integers"):
        rq.format("e4m3fn").decode(a)           # values: use view_codes for the patterns
    np.testing.assert_array_equal(rq.format("e4m3fn").decode(rq.format("e4m3fn").view_codes(a)),
                                  [1.0, 1.0])


def test_integer_dtypes_are_their_values():
    a = np.array([-8, -1, 0, 7], dtype=md.int4)
    f = rq.format(md.int4)
    np.testing.assert_array_equal(f.decode(a), [-8.0, -1.0, 0.0, 7.0])
    np.testing.assert_array_equal(f.encode(a), [-8, -1, 0, 7])
    np.testing.assert_array_equal(f.view_codes(a), [-8, -1, 0, 7])


def test_quantize_takes_ml_dtypes_arrays():
    x = np.array([0.5, -1.0, 2.0, 448.0], dtype=md.float8_e4m3fn)
    q = rq.quantize(x, "int8")
    ref = rq.quantize(x.astype(np.float32), "int8")
    np.testing.assert_array_equal(q.codes, ref.codes)
    assert float(q.scale) == float(ref.scale)


def test_unknown_names_list_the_closest():
    with pytest.raises(ValueError, match=r"unknown format 'e4m3f'; closest registered "
                                         r"names: e4m3fn, e4m3"):
        rq.format("e4m3f")
    with pytest.raises(ValueError, match=r"closest registered names: .*float8_e4m3fn"):
        rq.format("float8_e4m3fm")
    with pytest.raises(ValueError, match=r"no refquant format for dtype 'float8_e5m3fnu'; "
                                         r"closest registered names: float8_e5m2fnuz"):
        rq.format(md.float8_e5m3fnu)
    with pytest.raises(ValueError, match=r"no refquant format for dtype 'float64'"):
        rq.format(np.float64)
    with pytest.raises(TypeError, match="format name must be a str, a dtype or a Format"):
        rq.format(3.5)


def test_formats_without_a_dtype_say_which_have_one():
    with pytest.raises(ValueError, match=r"posit8 has no ml_dtypes or NumPy dtype; formats "
                                         r"that have one: .*e4m3fn"):
        rq.format("posit8").as_ml_dtypes()


# --------------------------------------------------------------------- objects on a device

class _CudaTensor:
    """Stands for a tensor on a GPU: ``.device.type == "cuda"``."""

    class device:
        type = "cuda"
        index = 0

    def __array__(self, *args, **kwargs):
        raise AssertionError("must not be read")


class _CudaDLPack:
    """An array exporting DLPack from a CUDA device (kDLCUDA = 2)."""

    def __dlpack_device__(self):
        return (2, 1)

    def __dlpack__(self, *args, **kwargs):
        raise AssertionError("must not be read")


@pytest.mark.parametrize("call", [
    lambda x: rq.format("e4m3fn").encode(x),
    lambda x: rq.format("int8").encode(x),
    lambda x: rq.format("posit8").encode(x),
    lambda x: rq.format("bf16").decode(x),
    lambda x: rq.quantize(x, "int8"),
])
def test_gpu_arrays_are_refused_with_a_clear_message(call):
    with pytest.raises(ValueError, match=r"is on cuda:0; refquant computes on the CPU: move "
                                         r"it there first \(x.cpu\(\)|codes.cpu\(\)"):
        call(_CudaTensor())
    with pytest.raises(ValueError, match=r"is on CUDA device 1; refquant computes on the CPU"):
        call(_CudaDLPack())


def test_dlpack_and_array_objects_are_read():
    class ViaDLPack:
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, *args, **kwargs):
            return self.a.__dlpack__(*args, **kwargs)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    class ViaArray:
        def __array__(self, dtype=None, copy=None):
            return np.array([1.0, 2.5, -3.0])

    f = rq.format("e4m3fn")
    x = np.array([1.0, 2.5, -3.0])
    np.testing.assert_array_equal(f.encode(ViaDLPack(x)), f.encode(x))
    np.testing.assert_array_equal(f.encode(ViaArray()), f.encode(x))


def test_torch_is_never_imported():
    code = ("import sys, numpy as np, ml_dtypes, refquant as rq\n"
            "rq.format('float8_e4m3fn').encode(np.ones(3, ml_dtypes.bfloat16))\n"
            "rq.format(ml_dtypes.float8_e5m2).as_ml_dtypes()\n"
            "rq.quantize(np.ones(4), 'int8')\n"
            "assert 'torch' not in sys.modules, 'refquant imported torch'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------- PyTorch

TORCH_PAIRS = {"e4m3fn": "float8_e4m3fn", "e5m2": "float8_e5m2", "e4m3fnuz": "float8_e4m3fnuz",
               "e5m2fnuz": "float8_e5m2fnuz", "e8m0": "float8_e8m0fnu", "bf16": "bfloat16",
               "fp16": "float16", "fp32": "float32", "int8": "int8", "uint8": "uint8",
               "int16": "int16", "int32": "int32"}


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="PyTorch not installed (extra 'torch')")


@pytest.mark.parametrize("fmt_name", list(TORCH_PAIRS))
def test_torch_dtypes_resolve(torch, fmt_name):
    dt = getattr(torch, TORCH_PAIRS[fmt_name])
    assert rq.format(dt) == rq.format(fmt_name)
    assert rq.format(str(dt)) == rq.format(fmt_name)


def test_torch_quantized_dtypes_name_their_range(torch):
    assert rq.format(torch.qint8) == rq.format("int8")
    assert rq.format(torch.quint8) == rq.format("uint8")
    assert rq.format(torch.qint32) == rq.format("int32")


@pytest.mark.parametrize("fmt_name", [n for n in TORCH_PAIRS if rq.format(n).bits <= 16])
def test_torch_tensors_round_trip_bit_for_bit(torch, fmt_name):
    f = rq.format(fmt_name)
    dt = getattr(torch, TORCH_PAIRS[fmt_name])
    codes = f.codes()
    if f.is_integer:
        t = torch.from_numpy(codes.astype(np.int64)).to(dt)
        np.testing.assert_array_equal(f.decode(t), codes.astype(np.float64))
        np.testing.assert_array_equal(f.encode(t), codes)
        return
    width = {1: torch.uint8, 2: torch.int16}[f.code_dtype.itemsize]
    raw = torch.from_numpy(codes.astype(f"i{f.code_dtype.itemsize}")).view(dt) \
        if width is torch.int16 else torch.from_numpy(codes).view(dt)
    vals = raw.to(torch.float64).numpy()
    np.testing.assert_array_equal(f.view_codes(raw), codes)
    np.testing.assert_array_equal(f.decode(f.view_codes(raw)), vals)
    fin = np.isfinite(vals)
    np.testing.assert_array_equal(f.encode(raw[torch.from_numpy(fin)]), codes[fin])


def test_torch_tensors_need_no_grad_handling_and_keep_values(torch):
    x = torch.randn(3, 4, requires_grad=True)
    q = rq.quantize(x, "int8")
    np.testing.assert_array_equal(q.codes, rq.quantize(x.detach().numpy(), "int8").codes)
    f = rq.format("e4m3fn")
    assert isinstance(f.encode(x), np.ndarray)
    assert isinstance(f.decode(torch.tensor([0, 56, 126], dtype=torch.uint8)), np.ndarray)


def test_torch_meta_tensor_is_refused(torch):
    t = torch.empty(3, device="meta")
    with pytest.raises(ValueError, match=r"x is on meta; refquant computes on the CPU"):
        rq.format("int8").encode(t)


def test_dtype_name_table_is_consistent():
    for dtype_name, fmt_name in _interop.DTYPE_FORMATS.items():
        assert rq.format(dtype_name) == rq.format(fmt_name)


@pytest.mark.parametrize("name", rq.format_names())
def test_every_registered_format_follows_the_input_rule(name):
    """ml_dtypes arrays by value, and a GPU object refused, by every format's encode and
    decode (block formats through quantize)."""
    f = rq.format(name)
    x = np.array([0.5, -1.0, 0.25, 3.0], dtype=md.bfloat16)
    if f.is_block:
        np.testing.assert_array_equal(rq.quantize(x, f).codes,
                                      rq.quantize(x.astype(np.float32), f).codes)
        with pytest.raises(ValueError, match=r"move it there first"):
            rq.quantize(_CudaTensor(), f)
        return
    np.testing.assert_array_equal(f.encode(x), f.encode(x.astype(np.float32)))
    for call in (f.encode, f.decode):
        with pytest.raises(ValueError, match=r"is on cuda:0; refquant computes on the CPU"):
            call(_CudaTensor())

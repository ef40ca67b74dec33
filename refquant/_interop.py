"""What refquant takes from other array libraries: dtypes (ml_dtypes, NumPy, PyTorch) as
format names, and arrays (ml_dtypes, objects with ``__array__`` or DLPack, PyTorch CPU
tensors) as NumPy arrays. No framework is imported here: a PyTorch object is recognised by
the module of its type, so refquant never loads torch itself.

The input rule (every ``encode``, ``decode`` and ``refquant.quantize`` follows it):

1. A NumPy array (or scalar, list, Python number) is used as it is.
2. An array of an ml_dtypes dtype (bfloat16, float8_*, float6_*, float4_*, int4, ...) is
   taken by value: floats become float32 and integers int8 / uint8, both exactly. Its
   bit patterns are taken instead by ``fmt.view_codes(a)``.
3. An object on a device other than the CPU (a ``.device`` whose ``.type`` is not
   "cpu", or a ``__dlpack_device__`` other than kDLCPU) raises ValueError asking to move
   it to the CPU first (``x.cpu()``): refquant never copies from an accelerator itself.
4. A PyTorch tensor on the CPU is detached and read through ``Tensor.numpy()``; dtypes
   NumPy lacks (bfloat16, float8_*) are widened exactly to float32 first.
5. Another object with ``__dlpack__`` is read with ``np.from_dlpack``; one with
   ``__array__`` with ``np.asarray``.

The result is always a NumPy array; what is returned is NumPy too.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["DTYPE_FORMATS", "dtype_name", "format_name_of_dtype", "ml_dtype_of",
           "dtype_libraries", "to_numpy", "codes_of", "is_ml_dtype"]

#: dtype name (ml_dtypes, NumPy and PyTorch spelling) -> the refquant format of the same
#: codes and values. PyTorch's quantized dtypes name their integer range.
DTYPE_FORMATS: dict[str, str] = {
    "float8_e4m3fn": "e4m3fn", "float8_e5m2": "e5m2", "float8_e4m3": "e4m3",
    "float8_e4m3fnuz": "e4m3fnuz", "float8_e5m2fnuz": "e5m2fnuz",
    "float8_e4m3b11fnuz": "e4m3b11fnuz", "float8_e3m4": "e3m4",
    "float6_e3m2fn": "e3m2", "float6_e2m3fn": "e2m3", "float4_e2m1fn": "e2m1",
    "float8_e8m0fnu": "e8m0", "bfloat16": "bf16", "float16": "fp16", "float32": "fp32",
    "int2": "int2", "int4": "int4", "int8": "int8", "int16": "int16", "int32": "int32",
    "uint2": "uint2", "uint4": "uint4", "uint8": "uint8", "uint16": "uint16",
    "uint32": "uint32", "qint8": "int8", "quint8": "uint8", "qint32": "int32",
}
# refquant format -> the ml_dtypes / NumPy dtype name of the same codes and values
_ML_DTYPES = {f: d for d, f in DTYPE_FORMATS.items() if not d.startswith("q")}
_NUMPY_NATIVE = {"float16", "float32", "int8", "int16", "int32", "uint8", "uint16", "uint32"}
_DLPACK_CPU = 1  # kDLCPU in DLPack's DLDeviceType
_DLPACK_DEVICES = {2: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
                   9: "VPI", 10: "ROCm", 13: "CUDA managed", 14: "oneAPI"}


def _torch_type(obj: Any) -> bool:
    """True for an object whose type comes from PyTorch (torch loaded by the user)."""
    mod = type(obj).__module__ or ""
    return mod == "torch" or mod.startswith("torch.")


def is_ml_dtype(dt: np.dtype) -> bool:
    """True for a NumPy dtype that ml_dtypes defines (bfloat16, float8_*, int4, ...)."""
    return dt.isbuiltin == 2 and (getattr(dt.type, "__module__", "") or "").startswith(
        "ml_dtypes")


def dtype_name(obj: Any) -> str | None:
    """The dtype name of ``obj`` if it is a dtype: an ml_dtypes type or dtype
    (``ml_dtypes.float8_e4m3fn`` -> "float8_e4m3fn"), a NumPy dtype or scalar type
    (``np.float16`` -> "float16"), or a PyTorch dtype (``torch.bfloat16`` -> "bfloat16",
    recognised without importing torch); None for anything else (strings included)."""
    if isinstance(obj, np.dtype):
        return obj.name if obj.fields is None else None
    if isinstance(obj, type) and issubclass(obj, np.generic):
        return np.dtype(obj).name
    if _torch_type(obj) and type(obj).__name__ == "dtype":
        return str(obj).rpartition(".")[2]
    return None


def format_name_of_dtype(name: str) -> str | None:
    """The refquant format name of a dtype name ("float8_e4m3fn", "torch.bfloat16",
    "ml_dtypes.int4", case-insensitive), or None when refquant has no such format."""
    key = name.strip().lower()
    for prefix in ("torch.", "ml_dtypes.", "numpy.", "np."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return DTYPE_FORMATS.get(key)


def dtype_libraries() -> dict[str, tuple[str, str]]:
    """format name -> (library, dtype name) for every format with a dtype of the same codes
    and values: ("numpy", ...) for NumPy's own types, else ("ml_dtypes", ...). Imports
    neither library."""
    return {f: ("numpy" if d in _NUMPY_NATIVE else "ml_dtypes", d)
            for f, d in _ML_DTYPES.items()}


def ml_dtype_of(fmt_name: str) -> np.dtype | None:
    """The ml_dtypes (or NumPy) dtype holding the codes and values of the refquant format
    ``fmt_name``, or None when none exists. Imports ml_dtypes only for its own dtypes
    (ImportError naming the package when it is not installed)."""
    name = _ML_DTYPES.get(fmt_name)
    if name is None:
        return None
    if name in _NUMPY_NATIVE:
        return np.dtype(name)
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError(f"the dtype of {fmt_name} is ml_dtypes.{name}; install ml_dtypes "
                          "(pip install ml_dtypes) to use it") from None
    return np.dtype(getattr(ml_dtypes, name))


def _device_error(param: str, where: str) -> ValueError:
    return ValueError(f"{param} is on {where}; refquant computes on the CPU: move it there "
                      f"first ({param}.cpu() for a PyTorch tensor)")


def _check_cpu(x: Any, param: str) -> None:
    """ValueError when ``x`` says it lives on a device other than the CPU."""
    dev = getattr(x, "device", None)
    kind = getattr(dev, "type", None)
    if isinstance(kind, str) and kind != "cpu":
        index = getattr(dev, "index", None)
        raise _device_error(param, kind + (f":{index}" if isinstance(index, int) else ""))
    probe = getattr(x, "__dlpack_device__", None)
    if probe is not None and callable(probe):
        try:
            dtype_code, dev_id = probe()
        except Exception:
            return
        if int(dtype_code) != _DLPACK_CPU:
            name = _DLPACK_DEVICES.get(int(dtype_code), f"DLPack device type {int(dtype_code)}")
            raise _device_error(param, f"{name} device {dev_id}")


def _ml_values(a: np.ndarray) -> np.ndarray:
    """An ml_dtypes array by value: integers as int8 / uint8, floats as float32 (exact)."""
    name = a.dtype.name
    if name.startswith("uint"):
        return a.astype(np.uint8)
    if name.startswith("int"):
        return a.astype(np.int8)
    return a.astype(np.float32)


def _torch_numpy(x: Any, codes: bool) -> np.ndarray:
    """A PyTorch CPU tensor as NumPy: by value (bfloat16 / float8 widened to float32), or
    with ``codes`` the bit patterns of a floating tensor as unsigned integers of its
    width."""
    torch = sys.modules["torch"]
    t = x.detach()
    if codes and t.dtype.is_floating_point:
        width = t.element_size()
        t = t.view({1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[width])
        return t.resolve_conj().numpy().view(f"u{width}")
    if t.dtype.is_floating_point and t.dtype not in (torch.float16, torch.float32,
                                                     torch.float64):
        t = t.to(torch.float32)
    return t.resolve_conj().resolve_neg().numpy()


def to_numpy(x: Any, param: str = "x") -> np.ndarray:
    """``x`` as a NumPy array by the input rule of this module's docstring: NumPy arrays
    as they are, ml_dtypes arrays by value (float32 / int8 / uint8, exact), PyTorch CPU
    tensors and DLPack / ``__array__`` objects read without copying where possible.
    ValueError naming ``param`` for an object on another device than the CPU."""
    if type(x) is np.ndarray:
        return _ml_values(x) if x.dtype.isbuiltin == 2 and is_ml_dtype(x.dtype) else x
    if isinstance(x, (int, float, np.generic, list, tuple)) or x is None:
        a = np.asarray(x)
        return _ml_values(a) if is_ml_dtype(a.dtype) else a
    _check_cpu(x, param)
    if _torch_type(x) and "torch" in sys.modules and hasattr(x, "detach"):
        return _torch_numpy(x, codes=False)
    if isinstance(x, np.ndarray):
        a = np.asarray(x)
    elif hasattr(x, "__dlpack__") and not hasattr(x, "__array__"):
        a = np.from_dlpack(x)
    else:
        a = np.asarray(x)
    return _ml_values(a) if is_ml_dtype(a.dtype) else a


def codes_of(x: Any, param: str = "x") -> np.ndarray:
    """The bit patterns of a floating array (an ml_dtypes or NumPy float array, or a
    PyTorch CPU tensor of a floating dtype) as unsigned integers of its storage width
    (sub-byte types in the low bits of a byte); other arrays by ``to_numpy``, unchanged."""
    if type(x) is not np.ndarray and not isinstance(x, (list, tuple, int, float, np.generic)):
        _check_cpu(x, param)
        if _torch_type(x) and "torch" in sys.modules and hasattr(x, "detach"):
            return _torch_numpy(x, codes=True)
    a = np.asarray(x)
    if is_ml_dtype(a.dtype) or a.dtype.kind == "f":
        return a.view(f"u{a.dtype.itemsize}")
    return to_numpy(a, param)

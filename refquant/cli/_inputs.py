"""The input tensors of ``refquant compare``: .npy and .npz files, each header checked
against the file and the memory budget before anything is loaded, or the package's data."""
from __future__ import annotations

import math
import os
import zipfile
from typing import IO, Any

import numpy as np

from .. import data as _data
from ._common import UsageError

__all__ = ["load_inputs", "MAX_INPUT_BYTES"]

MAX_INPUT_BYTES = 2 ** 32  # default --max-bytes: working memory for one input tensor
_WORK_BYTES = 40   # compare's float64 working copies per element (x, x_hat, error, ...)


def _npy_header(fh: IO[bytes], nbytes_available: int, label: str, max_bytes: int
                ) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Check the .npy header at fh's position against the bytes that follow it and
    against max_bytes, before anything is allocated; returns (shape, dtype).
    Raises UsageError naming ``label`` and the claimed size."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, OSError, EOFError) as exc:
        raise UsageError(f"{label}: not a valid .npy file ({exc})") from None
    if dtype.hasobject:
        raise UsageError(f"{label}: holds Python objects (dtype {dtype}); expected real numbers")
    count = math.prod(shape)
    need = count * dtype.itemsize
    have = nbytes_available - fh.tell()
    if need > have:
        raise UsageError(f"{label}: the header claims shape {tuple(shape)} of {dtype} "
                         f"({need} bytes) but the file holds {max(have, 0)} bytes of data")
    work = count * (dtype.itemsize + _WORK_BYTES)
    if work > max_bytes:
        raise UsageError(f"{label}: shape {tuple(shape)} of {dtype} needs about {work} bytes "
                         f"of working memory, above --max-bytes={max_bytes}; pass a larger "
                         "--max-bytes to allow it")
    return shape, dtype


def load_inputs(paths: list[str] | None, tensor_names: list[str] | None,
                max_bytes: int = MAX_INPUT_BYTES) -> list[tuple[str, np.ndarray]]:
    """[(name, array)] from --input files (.npy, .npz: each header checked before
    loading, see ``_npy_header``), --tensors names, or the package's data."""
    tensors: list[tuple[str, np.ndarray]] = []
    for p in paths or []:
        if not os.path.exists(p):
            raise UsageError(f"--input {p!r}: no such file")
        if not os.path.isfile(p):
            raise UsageError(f"--input {p!r}: not a file")
        stem = os.path.splitext(os.path.basename(p))[0]
        with open(p, "rb") as fh:
            magic = fh.read(6)
        if magic.startswith(b"PK"):
            try:
                with zipfile.ZipFile(p) as zf:
                    for info in zf.infolist():
                        if not info.filename.endswith(".npy"):
                            raise UsageError(f"--input {p!r}: member {info.filename!r} is "
                                             "not a .npy array")
                        with zf.open(info) as fh:
                            _npy_header(fh, info.file_size, f"--input {p!r} member "
                                        f"{info.filename!r}", max_bytes)
                with np.load(p, allow_pickle=False) as obj:
                    tensors += [(f"{stem}:{k}", np.asarray(obj[k])) for k in obj.files]
            except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
                raise UsageError(f"--input {p!r}: not a valid .npz file ({exc})") from None
        elif magic == b"\x93NUMPY":
            with open(p, "rb") as fh:
                _npy_header(fh, os.path.getsize(p), f"--input {p!r}", max_bytes)
            try:
                tensors.append((stem, np.asarray(np.load(p, allow_pickle=False))))
            except (ValueError, OSError, EOFError) as exc:
                raise UsageError(f"--input {p!r}: not a valid .npy file ({exc})") from None
        else:
            raise UsageError(f"--input {p!r}: not a .npy or .npz file")
    if tensor_names:
        tensors += [(n, _data.load(n)) for n in tensor_names]
    if not paths and not tensor_names:
        tensors = [(n, _data.load(n)) for n in _data.names()]
    for name, t in tensors:
        if t.dtype.kind not in "iuf" or t.dtype.kind == "f" and t.dtype.itemsize > 8:
            raise UsageError(f"tensor {name!r} has dtype {t.dtype}; expected real numbers")
    return tensors

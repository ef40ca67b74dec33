"""Networks on the systolic array: convolutions as GEMMs (im2col), layer lists and
SCALE-Sim topology files, and the runner that takes a network through the array."""
from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any, Union

import numpy as np
import numpy.typing as npt

from .. import intops as _intops
from .._progress import Progress
from .._validate import check_bool, check_int, format_bytes
from ._timing import MAX_BYTES, MAX_DIM, conv_output_size
from ._vcd import vcd_size_estimate, write_array_vcd, write_vcd

if TYPE_CHECKING:
    from ._systolic import SystolicArray

__all__ = ["im2col", "load_layers", "run_layers"]

Layers = Union[str, os.PathLike[str], Iterable[Any]]


def im2col(x: npt.ArrayLike, kh: int, kw: int, stride: int = 1, padding: int = 0, *,
           max_bytes: int | None = MAX_BYTES) -> tuple[np.ndarray, int, int]:
    """Patches of x (N, C, H, W) as GEMM rows: (N*OH*OW, C*kh*kw), columns ordered
    (c, i, j) like ``w.reshape(F, -1)`` of a (F, C, kh, kw) kernel; zero padding on every
    side; OH = (H + 2*padding - kh) // stride + 1 (the same for W). Returns (cols, OH, OW).
    The patches are ``refquant.intops.im2col``'s, transposed to one row per output pixel;
    ``max_bytes`` bounds their memory as there (None: no limit)."""
    stride = check_int(stride, "stride", lo=1)
    padding = check_int(padding, "padding", lo=0)
    cols, oh, ow = _intops.im2col(x, kh, kw, stride=stride, padding=padding, max_bytes=max_bytes)
    n, ckk = cols.shape[:2]
    return cols.transpose(0, 2, 3, 1).reshape(n * oh * ow, ckk), oh, ow


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _int_field(v: str, lineno: int, fields: list[str]) -> int:
    try:
        return int(v)
    except ValueError:
        pass
    if not _is_number(v):
        raise ValueError(f"layer line {lineno}: non-numeric field {v!r} in {fields!r}")
    f = float(v)
    if not math.isfinite(f) or f != math.floor(f):
        raise ValueError(f"layer line {lineno}: field {v!r} is not an integer (in {fields!r})")
    return int(f)


def _layer_from_fields(fields: list[str], lineno: int) -> dict[str, Any]:
    name = fields[0]
    nums = [_int_field(v, lineno, fields) for v in fields[1:]]
    if len(nums) in (3, 4):   # GEMM: name, M, N, K[, sparsity ratio dropped above]
        M, N, K = nums[:3]
        sM = M
        kind = "gemm"
    elif len(nums) >= 7:      # conv: name, H, W, fh, fw, C, F, stride
        H, Wd, fh, fw, ch, nf, st = nums[:7]
        if min(H, Wd, fh, fw, ch, nf, st) < 1 or fh > H or fw > Wd:
            raise ValueError(f"layer line {lineno}: invalid conv dimensions {nums[:7]} "
                             "(all >= 1, filter no larger than the input)")
        M = conv_output_size(H, fh, st) * conv_output_size(Wd, fw, st)
        sM = conv_output_size(H, fh, st, "scalesim") * conv_output_size(Wd, fw, st, "scalesim")
        N, K = nf, fh * fw * ch
        kind = "conv"
    else:
        raise ValueError(f"layer line {lineno}: expected 'name, M, N, K' or "
                         f"'name, H, W, fh, fw, C, F, stride', got {fields!r}")
    if min(M, N, K) < 1 or max(M, N, K) > MAX_DIM:
        raise ValueError(f"layer line {lineno}: M, N, K must be in 1..2**62, got {M}, {N}, {K}")
    return {"name": name, "M": M, "N": N, "K": K, "kind": kind, "scalesim_M": sM}


def load_layers(layers: Layers) -> list[dict[str, Any]]:
    """Layers as dicts {name, M, N, K, kind, scalesim_M}.

    ``layers``: a path (str or os.PathLike) to a CSV file, CSV text, or a list of dicts
    (keys M, N, K, optional name) or tuples (name, M, N, K) / (name, H, W, fh, fw, C, F,
    stride). A str is read as a file when such a file exists; a str without a newline
    and without a comma is a path, and FileNotFoundError says when it does not exist;
    any other str is CSV text. CSV rows follow SCALE-Sim's topology files: GEMM
    "name, M, N, K," (a fifth N:M sparsity field is ignored) or conv "name, IFMAP H,
    IFMAP W, filter H, filter W, channels, filters, stride," (no padding). Fields are
    integers (an integer-valued float such as 6.0 is accepted). A conv layer's M is
    OH * OW by ``conv_output_size(..., rule="floor")`` (the frameworks' rule) and its
    scalesim_M by rule="scalesim" (SCALE-Sim's), N = filters, K = fh*fw*channels; for
    a GEMM layer scalesim_M = M. The first non-empty row is a header when one of its
    fields after the name is not a number; empty fields (trailing commas) are dropped.
    Any other malformed row raises ValueError naming its line.
    """
    if isinstance(layers, (os.PathLike, str)):
        if isinstance(layers, os.PathLike) or ("\n" not in layers and os.path.isfile(layers)):
            path = os.fspath(layers)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"layers={path!r}: no such file")
            with open(path) as fh:
                text = fh.read()
        elif "\n" not in layers and "," not in layers:
            raise FileNotFoundError(f"layers={layers!r}: no such file")
        else:
            text = layers
        out: list[dict[str, Any]] = []
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
            fields = [f.strip() for f in row if f.strip()]
            if not fields:
                continue
            if len(fields) == 5 and ":" in fields[4]:
                fields = fields[:4]
            if not out and not any(_is_number(f) for f in fields[1:]) and len(fields) > 1:
                continue   # header
            out.append(_layer_from_fields(fields, n))
        if not out:
            raise ValueError("layers holds no layer rows")
        return out
    if isinstance(layers, (bytes, dict)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a path, CSV text or a list of layers, got "
                        f"{type(layers).__name__}")
    out = []
    for n, item in enumerate(layers, 1):
        if isinstance(item, dict):
            missing = [k for k in ("M", "N", "K") if k not in item]
            if missing:
                raise ValueError(f"layer {n}: missing key {missing[0]!r} (a dict layer needs "
                                 f"M, N, K and optionally name)")
            fields = [str(item.get("name", f"layer{n}"))] + [str(item[k]) for k in ("M", "N", "K")]
        elif isinstance(item, (list, tuple)):
            fields = [str(v) for v in item]
        else:
            raise TypeError(f"layer {n} must be a dict or a tuple, got {type(item).__name__}")
        out.append(_layer_from_fields(fields, n))
    if not out:
        raise ValueError("layers holds no layer rows")
    return out


def _vcd_paths(vcd: str | os.PathLike[str], names: list[str]) -> list[str]:
    """One VCD path per layer: stem + "_" + sanitised name + suffix (see run_layers)."""
    path = os.fspath(vcd)
    if not isinstance(path, str) or not path:
        raise TypeError(f"vcd must be a path, got {vcd!r}")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"vcd={path!r}: no such folder {folder!r}")
    stem, suffix = os.path.splitext(path)
    seen: dict[str, int] = {}
    out = []
    for name in names:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(name)) or "layer"
        n = seen.get(safe, 0) + 1
        seen[safe] = n
        out.append(f"{stem}_{safe}{'' if n == 1 else f'_{n}'}{suffix}")
    return out


def run_layers(array: SystolicArray, layers: Layers, simulate: bool = False, seed: int = 0,
               progress: bool = True, stream: IO[str] | None = None, *,
               vcd: str | os.PathLike[str] | None = None, max_bytes: int | None = None,
               max_work: int | None = None) -> list[dict[str, Any]]:
    """``array.run_layers(...)``: see ``SystolicArray.run_layers``."""
    simulate = check_bool(simulate, "simulate")
    progress = check_bool(progress, "progress")
    seed = check_int(seed, "seed", lo=0)
    specs = load_layers(layers)
    if vcd is not None and not simulate:
        raise ValueError("vcd= needs simulate=True (a VCD holds the registers of a "
                         "cycle-accurate run)")
    if not simulate and array.pe != "mac":
        raise ValueError(f"pe={array.pe!r}: the cycles depend on the operand values; "
                         "run the layers with simulate=True")
    paths = _vcd_paths(vcd, [sp["name"] for sp in specs]) if vcd is not None else None
    width = array.vcd_width()
    if simulate:
        for spec in specs:
            M, N, K = spec["M"], spec["N"], spec["K"]
            est = array.check_run(M, N, K, vcd is not None, max_bytes, max_work,
                                  extra_bytes=8 * (M * K + K * N),
                                  what=f"layer {spec['name']!r} (M={M}, N={N}, K={K})")
            if vcd is not None:
                vbytes = vcd_size_estimate(est["cycles"], 3 * array.rows * array.cols, width)
                lim = MAX_BYTES if max_bytes is None else max_bytes
                if vbytes > lim:
                    raise ValueError(f"the VCD of layer {spec['name']!r} would be up to "
                                     f"{format_bytes(vbytes)}, above max_bytes={lim}; pass a "
                                     f"larger max_bytes (--max-bytes) to allow it")
    bar = Progress(len(specs), stream=stream, enabled=progress, delay=0.0)
    rng = np.random.default_rng(seed)
    rows = []
    try:
        for i, spec in enumerate(specs):
            M, N, K = spec["M"], spec["N"], spec["K"]
            path = None
            if simulate:
                alo, ahi = array.a_range
                blo, bhi = array.b_range
                A = rng.integers(alo, ahi, (M, K), endpoint=True)
                B = rng.integers(blo, bhi, (K, N), endpoint=True)
                res = array.run(A, B, trace=vcd is not None, max_bytes=max_bytes,
                                max_work=max_work)
                st = res.stats
                if paths is not None and res.trace is not None:
                    path = paths[i]
                    comment = f"layer {spec['name']} M={M} N={N} K={K} {array!r}"
                    if array.dataflow in ("os", "ws") and array.pe == "mac":
                        # the RTL's names, hierarchy and widths (rtl/os_array.v, ws_array.v)
                        write_array_vcd(path, res, array, comment=comment)
                    else:
                        write_vcd(path, res.trace, width=width, comment=comment)
                del A, B, res
            else:
                st = array.model(M, N, K)
            row = {"name": spec["name"], "M": M, "N": N, "K": K,
                   "scalesim_M": spec["scalesim_M"], "cycles": st["cycles"],
                   "macs": st["macs"], "utilization": st["utilization"],
                   "mapping_efficiency": st["mapping_efficiency"],
                   "sram_reads": st["sram_reads"], "sram_writes": st["sram_writes"],
                   "scalesim": array.scalesim_report(spec["scalesim_M"], N, K)}
            if path is not None:
                row["vcd"] = path
            rows.append(row)
            bar.step(spec["name"])
    finally:
        bar.close()
    return rows

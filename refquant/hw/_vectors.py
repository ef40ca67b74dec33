"""``$readmemh`` test vectors: inputs and refquant's expected outputs as hex files, one
value per line, for format encode / decode, requantization and GEMM (with the cycle
schedule of the reference arrays), read back by ``rtl/tb_vectors.v``."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import check_int
from ..floats import BlockFormat
from ..modes import Overflow, as_overflow
from ..registry import format as _format
from ..sim import SystolicArray
from ._schedule import array_schedule
from ._units import requant_expected, requant_inputs

__all__ = ["write_vectors", "VECTOR_OPS"]

VECTOR_OPS = ("encode", "decode", "requant", "gemm")


def _write_hex(path: Path, values: Any, width: int) -> dict[str, Any]:
    digits = (width + 3) // 4
    mask = (1 << width) - 1
    with open(path, "w") as fh:
        for v in values:
            fh.write(f"{int(v) & mask:0{digits}x}\n")
    return {"file": path.name, "width": width, "count": len(values)}


def _fields_word(fields: list[tuple[list[int], int]], t: int) -> int:
    word, pos = 0, 0
    for vals, width in fields:
        word |= (int(vals[t]) & ((1 << width) - 1)) << pos
        pos += width
    return word


def _encode_vectors(folder: Path, fmt_name: str, count: int, seed: int,
                    overflow: str | None) -> dict[str, Any]:
    fmt = _format(fmt_name)
    if isinstance(fmt, BlockFormat):
        raise ValueError(f"format {fmt_name!r} is a block format (codes share scales); vectors "
                         "cover element formats")
    rng = np.random.default_rng(seed)
    cand: list[np.ndarray] = []
    try:
        vals = np.asarray(fmt.values(), dtype=np.float64)
        fin = vals[np.isfinite(vals)]
        mids = (fin[:-1] + fin[1:]) / 2 if fin.size > 1 else fin
        cand += [fin, mids]
        top = float(np.max(np.abs(fin))) if fin.size else 1.0
    except (ValueError, NotImplementedError, MemoryError):
        top = float(getattr(fmt, "max", 1.0))
    cand.append(rng.standard_normal(count) * min(top, 1e30) / 3)
    cand.append(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, top * 2, -top * 2]))
    with np.errstate(over="ignore"):
        x = np.concatenate(cand).astype(np.float32)
    kw: dict[str, Any] = {}
    if overflow is not None:
        kw["overflow"] = as_overflow(overflow)
    keep = np.ones(x.size, bool)
    for i, v in enumerate(x):          # drop the inputs the format refuses (NaN in int8, ...)
        if not np.isfinite(v) or abs(float(v)) > top:
            try:
                fmt.encode(np.array([v], np.float32), **kw)
            except (ValueError, OverflowError):
                keep[i] = False
    x = x[keep]
    codes = np.asarray(fmt.encode(x, **kw)).astype(np.int64)
    files = {"x": _write_hex(folder / "x.hex", x.view(np.uint32), 32),
             "expected": _write_hex(folder / "expected.hex", codes, fmt.bits)}
    ov = kw.get("overflow")
    return {"format": fmt.name, "bits": fmt.bits, "count": int(x.size),
            "overflow": None if ov is None else ov.name.lower(), "files": files}


def _decode_vectors(folder: Path, fmt_name: str, count: int, seed: int) -> dict[str, Any]:
    fmt = _format(fmt_name)
    if isinstance(fmt, BlockFormat):
        raise ValueError(f"format {fmt_name!r} is a block format (codes share scales); vectors "
                         "cover element formats")
    bits = fmt.bits
    if bits <= 16:
        codes = np.arange(1 << bits, dtype=np.int64)
    else:
        codes = np.random.default_rng(seed).integers(0, 1 << bits, count, dtype=np.int64)
    dt = getattr(fmt, "code_dtype", None)
    arg = codes
    if dt is not None and np.dtype(dt).kind == "i":     # integer formats: signed codes
        arg = np.where(codes >= 1 << (bits - 1), codes - (1 << bits), codes)
    vals = np.asarray(fmt.decode(np.asarray(arg).astype(dt) if dt is not None else arg),
                      dtype=np.float64)
    files = {"codes": _write_hex(folder / "codes.hex", codes, bits),
             "expected": _write_hex(folder / "expected.hex", vals.view(np.uint64).astype(object), 64)}
    return {"format": fmt.name, "bits": bits, "count": int(codes.size), "files": files}


def _requant_vectors(folder: Path, count: int, seed: int) -> dict[str, Any]:
    d = requant_inputs(count, seed)
    exp = requant_expected(d["acc"], d["q"], d["shift"], d["zero_point"])
    files = {"acc": _write_hex(folder / "acc.hex", d["acc"], 32),
             "q": _write_hex(folder / "q.hex", d["q"], 32),
             "shift": _write_hex(folder / "shift.hex", d["shift"], 6),
             "zero_point": _write_hex(folder / "zero_point.hex", d["zero_point"], 32),
             "expected": _write_hex(folder / "expected.hex", exp, 8)}
    return {"count": int(exp.size), "out_bits": 8, "qmin": -128, "qmax": 127, "files": files}


def _gemm_vectors(folder: Path, array: SystolicArray, M: int, N: int, K: int,
                  seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    lo_a, hi_a = array.a_range
    lo_b, hi_b = array.b_range
    A = rng.integers(lo_a, hi_a, (M, K), endpoint=True)
    B = rng.integers(lo_b, hi_b, (K, N), endpoint=True)
    s = array_schedule(array, A, B)
    R, C = array.rows, array.cols
    files = {"A": _write_hex(folder / "A.hex", A.reshape(-1), array.a_bits),
             "B": _write_hex(folder / "B.hex", B.reshape(-1), array.b_bits),
             "C": _write_hex(folder / "C.hex", s.result.output.reshape(-1), array.acc_bits)}
    if array.dataflow == "os":
        names = [("start", 1), ("drain", 1), ("a_valid", R), ("a_in", R * array.a_bits),
                 ("b_valid", C), ("b_in", C * array.b_bits)]
    else:
        names = [("load", 1), ("a_valid", R), ("a_in", R * array.a_bits), ("psum_valid", C),
                 ("psum_in", C * array.acc_bits), ("w_in", C * array.b_bits)]
    fields = [(s.inputs[n], w) for n, w in names]
    steps = s.cycles + 1
    in_w = sum(w for _, w in names)
    files["schedule_in"] = _write_hex(folder / "schedule_in.hex",
                                      [_fields_word(fields, t) for t in range(steps)], in_w)
    out_w = C + C * array.acc_bits
    files["schedule_out"] = _write_hex(
        folder / "schedule_out.hex",
        [s.out_valid[t] | (s.out_data[t] << C) for t in range(steps)], out_w)
    layout, pos = [], 0
    for n, w in names:
        layout.append({"name": n, "lsb": pos, "width": w})
        pos += w
    return {"M": M, "N": N, "K": K, "rows": R, "cols": C, "dataflow": array.dataflow,
            "parameters": s.parameters, "steps": steps, "cycles": s.cycles,
            "outputs": int(sum(bin(v).count("1") for v in s.out_valid)),
            "schedule_in_layout": layout,
            "schedule_out_layout": [{"name": "out_valid", "lsb": 0, "width": C},
                                    {"name": "out_data", "lsb": C, "width": C * array.acc_bits}],
            "files": files}


def write_vectors(folder: str | os.PathLike[str], op: str, *, fmt: str | None = None,
                  count: int = 256, seed: int = 0, overflow: str | None = None,
                  array: SystolicArray | None = None, M: int | None = None,
                  N: int | None = None, K: int | None = None) -> dict[str, Any]:
    """Write ``$readmemh`` files of inputs and refquant's expected outputs into ``folder``
    (created if missing) and a ``manifest.json`` describing them; returns the manifest.

    Every file holds one value per line in hex, lowest address first, each value masked
    to its width (two's complement) and zero-padded to whole hex digits.

    op "encode": ``fmt`` any element format name (``refquant.format``); x.hex holds
    float32 bit patterns (the format's values and the midpoints between neighbours when
    it has a value list, ``count`` seeded random values, zeros, ±inf, NaN, ±2 max; inputs
    the format refuses are left out) and expected.hex the codes of
    ``format(fmt).encode(x, overflow=overflow)`` (``overflow`` None: the format's
    default). op "decode": codes.hex (every code of formats up to 16 bits, else ``count``
    random codes) and expected.hex the float64 bit patterns of ``decode``. op "requant":
    acc.hex, q.hex, shift.hex (6-bit two's complement), zero_point.hex
    (``requant_inputs``) and expected.hex (int8, ``requant_expected``). op "gemm": random
    A (M x K) and B (K x N) of ``array``'s operand ranges, A.hex, B.hex (row-major), C.hex
    (``array.run(A, B).output``), and the reference array's cycle schedule:
    schedule_in.hex (one line per cycle: every input bus, fields as the manifest's
    schedule_in_layout) and schedule_out.hex (out_valid in the low C bits, then
    out_data; data of lanes not valid is 0 and is not compared).
    ValueError for an unknown op or format."""
    folder = Path(folder)
    count = check_int(count, "count", 0, 1 << 24)
    seed = check_int(seed, "seed", 0, (1 << 63) - 1)
    if op not in VECTOR_OPS:
        raise ValueError(f"op={op!r} unknown; allowed: {', '.join(VECTOR_OPS)}")
    needs_fmt = op in ("encode", "decode")
    if needs_fmt and fmt is None:
        raise ValueError(f"op={op!r} needs fmt (a format name)")
    if not needs_fmt and fmt is not None:
        raise ValueError(f"fmt applies to ops 'encode' and 'decode', not {op!r}")
    if overflow is not None and op != "encode":
        raise ValueError(f"overflow applies to op 'encode', not {op!r}")
    if (op == "gemm") != (array is not None):
        raise ValueError("array (a SystolicArray) is needed by op 'gemm' and applies to it only")
    if op != "gemm" and any(v is not None for v in (M, N, K)):
        raise ValueError(f"M, N, K apply to op 'gemm', not {op!r}")
    if fmt is not None:
        _format(fmt)      # ValueError naming close names for an unknown format
    folder.mkdir(parents=True, exist_ok=True)
    if op == "encode":
        assert fmt is not None
        body = _encode_vectors(folder, fmt, count, seed, overflow)
    elif op == "decode":
        assert fmt is not None
        body = _decode_vectors(folder, fmt, count, seed)
    elif op == "requant":
        body = _requant_vectors(folder, count, seed)
    else:
        assert array is not None
        dims = [check_int(v if v is not None else 8, name, 1, 4096)
                for v, name in ((M, "M"), (N, "N"), (K, "K"))]
        body = _gemm_vectors(folder, array, dims[0], dims[1], dims[2], seed)
    manifest = {"op": op, "seed": seed, **body}
    with open(folder / "manifest.json", "w") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest



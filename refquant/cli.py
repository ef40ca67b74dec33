"""The ``refquant`` command.

``refquant compare``
    Quantizes tensors (the package's default data, or ``--input`` files) under a set of
    formats through ``refquant.quantize`` and prints, per tensor and format: bits per
    element (including the scales), SQNR in dB, MSE, the largest absolute error and the
    share of clipped elements. Every format comes from the registry
    (``refquant.formats()`` / ``refquant.format(name)``); the command has no code of its
    own for any format, so formats registered later appear without changes here.
``refquant formats``
    Lists every registered format name with its bit width and its smallest and largest
    finite value.

Both take ``--json`` for machine-readable output. See ``compare_tensor`` for the exact
definition of every figure. ``refquant systolic`` and ``refquant tensorcore`` are in
``refquant.sim.systolic_cli`` and ``refquant.sim.tensorcore_cli``.

Exit status of every command: 0 done as asked; 1 ran and found failures or mismatches
(a ``compare`` row whose quantization raised or whose figures are not finite, marked
"error: ..." in its row); 2 usage or input error, reported as one line
"refquant CMD: error: MESSAGE" on stderr (no traceback). An option that does not apply
to the chosen mode is a usage error, never ignored: for ``compare``, --axis needs
--granularity axis or block, --block-size needs --granularity block, --percentile needs
--calibration percentile; the scaling options (--granularity, --axis, --block-size,
--calibration, --percentile) do not apply to block formats (MX, NVFP4) and --asymmetric
applies to integer formats only, so naming such a format in --formats is a usage error
while the default set and --bits leave it out and say so ("# left out (...)" line,
"left_out" in the JSON settings). ``--input`` files are checked before loading: the
.npy header (of each .npz member too) must match the bytes in the file, and the tensor's
estimated working memory must stay within --max-bytes (default 4 GiB).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import zipfile
from dataclasses import replace

import numpy as np

from . import calibrate as _calibrate
from . import data as _data
from .formats.base import format as _format
from .formats.base import formats as _formats
from .modes import Rounding
from .quantize import GRANULARITIES, quantize

__all__ = ["main", "compare_tensor", "default_formats", "select_formats", "Progress",
           "UsageError", "ArgumentParser", "SCALE_BITS", "DEFAULT_BITS", "MAX_INPUT_BYTES"]

class UsageError(Exception):
    """A usage or input error of a ``refquant`` command: the command prints
    "refquant CMD: error: MESSAGE" as one line on stderr and exits with status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad argument raises ``UsageError`` (the command
    turns it into exit status 2) instead of printing the usage and exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def report_error(err, prog, exc) -> int:
    """Write "PROG: error: MESSAGE" on one line of ``err``; returns 2."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        msg = f"{exc.filename}: {exc.strerror}"
    err.write(f"{prog}: error: {msg}\n")
    return 2


SCALE_BITS = 32      # refquant.quantize stores scales as float32
DEFAULT_BITS = (4, 8)  # widths of the default cross-family format set
PROGRESS_DELAY = 0.5  # seconds of work before the progress bar appears
MAX_INPUT_BYTES = 2 ** 32  # default --max-bytes: working memory for one input tensor


class Progress:
    """A one-line progress bar on ``stream`` (stderr by default).

    It stays invisible until ``delay`` seconds have passed since it was created, so quick
    runs print nothing; then each ``step`` redraws ``\\r[#####.....] k/n label``.
    ``close`` erases the line if anything was drawn. ``enabled=False`` draws nothing.
    """

    def __init__(self, total, stream=None, enabled=True, delay=PROGRESS_DELAY, width=24,
                 clock=time.monotonic):
        self.total = max(int(total), 1)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(enabled)
        self.delay = float(delay)
        self.width = int(width)
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.drawn_len = 0

    def step(self, label=""):
        """Count one unit of work done and redraw if the bar is due."""
        self.done = min(self.done + 1, self.total)
        if not self.enabled or self.clock() - self.start < self.delay:
            return
        filled = self.width * self.done // self.total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} {label}"
        pad = " " * max(self.drawn_len - len(line), 0)
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self.drawn_len = len(line)

    def close(self):
        """Erase the bar (if drawn)."""
        if self.drawn_len:
            self.stream.write("\r" + " " * self.drawn_len + "\r")
            self.stream.flush()
            self.drawn_len = 0


# --------------------------------------------------------------------------- formats

def _family(fmt) -> str:
    return type(fmt).__name__


def registered():
    """[(name, Format or None, error message or None)] for every registered name."""
    out = []
    for name in _formats():
        try:
            out.append((name, _format(name), None))
        except Exception as exc:  # a broken factory is reported, not fatal
            out.append((name, None, f"{type(exc).__name__}: {exc}"))
    return out


def default_formats(bits=DEFAULT_BITS) -> list[str]:
    """A cross-family subset of the registered formats: for every format class (family)
    and every width in ``bits``, one registered name. Among the family's signed members
    of that width (all members if none is signed; weights are centred on 0) it is the
    one of median range: members sorted by (max_value, name), the lower median taken
    (so a family of several 8-bit variants contributes its middle-range one, not its
    extremes). Ordered by width, then family name."""
    groups = {}
    for name, fmt, err in registered():
        if err is not None or fmt.bits not in bits:
            continue
        groups.setdefault((fmt.bits, _family(fmt)), []).append((name, fmt))
    chosen = []
    for key in sorted(groups):
        members = groups[key]
        signed = [m for m in members if float(m[1].min_value) < 0]
        pool = sorted(signed or members, key=lambda m: (float(m[1].max_value), m[0]))
        chosen.append(pool[(len(pool) - 1) // 2][0])
    return chosen


def select_formats(names=None, bits=None) -> list[str]:
    """The format names ``compare`` runs. ``names``: explicit names (resolved by
    ``refquant.format``, ValueError for an unknown one); ``bits``: keep formats of these
    widths (with no names: every registered format of these widths). Neither: the
    ``default_formats()`` subset."""
    if names:
        out = []
        for n in names:
            fmt = _format(n)  # raises ValueError naming the known formats
            if bits is None or fmt.bits in bits:
                out.append(n)
        return out
    if bits is not None:
        return [n for n, fmt, err in registered() if err is None and fmt.bits in bits]
    return default_formats()


# --------------------------------------------------------------------------- metrics

def _scale_bits(fmt) -> int:
    sf = getattr(fmt, "scale_format", None)
    b = getattr(sf, "bits", None)
    return int(b) if isinstance(b, (int, np.integer)) else SCALE_BITS


def _end_values(qt, value, toward):
    """The dequantized tensor whose every element is ``value``'s code, and the one of its
    inner neighbour (the next representable value toward ``toward``; equal to the end
    itself when the format cannot round toward it)."""
    fmt = qt.fmt

    def filled(v, rounding):
        code = np.asarray(fmt.encode(np.array([float(v)]), rounding))[0]
        return replace(qt, codes=np.full(qt.codes.shape, code, dtype=qt.codes.dtype)
                       ).dequantize(np.float64)
    end = filled(value, Rounding.NEAREST_EVEN)
    try:
        inner = filled(np.nextafter(float(value), toward),
                       Rounding.DOWN if toward < value else Rounding.UP)
    except Exception:
        inner = end
    return end, inner


def _clipped(qt, x64):
    """Share (%) of elements that saturation changed: x more than half a step above the
    largest value (hi + (hi - hi_inner) / 2) or below the smallest one, the ends and their
    inner neighbours dequantized at that element's scale. None when not computable."""
    try:
        fmt = qt.fmt
        hi, hi_in = _end_values(qt, fmt.max_value, -math.inf)
        lo, lo_in = _end_values(qt, fmt.min_value, math.inf)
        over = x64 > hi + (hi - hi_in) / 2
        under = x64 < lo - (lo_in - lo) / 2
        n = int(np.count_nonzero(over | under))
        return 100.0 * n / max(x64.size, 1)
    except Exception:
        return None


def compare_tensor(x, fmt, *, granularity=None, axis=None, block_size=None,
                   calibration=None, symmetric=None, rounding=None,
                   **calibration_options) -> dict:
    """Quantize ``x`` with ``fmt`` via ``refquant.quantize`` and measure the error.

    Returns a dict with
      format            the format's name;
      bits              fmt.bits;
      bits_per_element  fmt.bits + overhead / x.size, overhead = (number of scales) x
                        (scale width: 32 for the float32 scales ``refquant.quantize``
                        stores, or ``fmt.scale_format.bits`` where a format declares its
                        scale format) + (number of zero points) x fmt.bits when any zero
                        point is nonzero;
      sqnr_db           10 log10(sum x^2 / sum (x - x_hat)^2), x_hat the float64
                        dequantized tensor; +inf when the error is 0;
      mse               mean (x - x_hat)^2;
      max_abs_error     max |x - x_hat|;
      clipped_pct       100 x (clipped elements) / x.size: elements beyond the largest
                        (smallest) representable value at their scale by more than half
                        the step to its inner neighbour, i.e. those that saturation moved
                        (values that round to the end value anyway do not count; the
                        neighbour is found by encoding the next float64 inward with
                        Rounding.DOWN / UP); None if not computable;
      error             None, or why the row failed (the numeric fields are then None):
                        "ExceptionType: message" when quantization raised, or
                        "non-finite result: ..." when the dequantized tensor holds NaN or
                        inf, or a figure is not finite (a sum that overflows float64).
                        sqnr_db = +inf (exact result, mse = 0) is not a failure.
    All sums are formed in float64 from x converted exactly to float64.
    granularity (default "tensor"), axis, block_size (default 32, with granularity
    "block"), calibration (default "minmax"), symmetric and calibration_options are
    passed to ``refquant.quantize``; for a block format (``fmt.is_block``: MX, NVFP4),
    which scales each block itself, giving any of them except axis raises ValueError.
    A tensor of more than two dimensions is seen as (shape[0], rest) when no ``axis`` is
    given: output channels by fan-in, as a weight is quantized, so per-axis scales follow
    the output channels and blocks (block granularity, block formats) the fan-in.
    """
    fmt = _format(fmt)
    x = np.asarray(x)
    if x.ndim > 2 and axis is None:
        x = x.reshape(x.shape[0], -1)
    row = {"format": fmt.name, "bits": int(fmt.bits), "bits_per_element": None,
           "sqnr_db": None, "mse": None, "max_abs_error": None, "clipped_pct": None,
           "error": None}
    x64 = np.asarray(x, dtype=np.float64)
    if fmt.is_block:
        given = [n for n, v in (("granularity", granularity), ("block_size", block_size),
                                ("calibration", calibration), ("symmetric", symmetric))
                 if v is not None] + sorted(calibration_options)
        if given:
            raise ValueError(f"{given[0]} does not apply to the block format {fmt.name} "
                             "(it scales each block itself)")
        kw = dict(rounding=rounding)
        if axis is not None:
            kw["axis"] = axis
    else:
        granularity = "tensor" if granularity is None else granularity
        kw = dict(granularity=granularity, symmetric=symmetric, rounding=rounding,
                  calibration="minmax" if calibration is None else calibration,
                  **calibration_options)
        if granularity != "tensor":
            kw["axis"] = (0 if granularity == "axis" else -1) if axis is None else axis
        if granularity == "block":
            kw["block_size"] = 32 if block_size is None else block_size
    try:
        qt = quantize(x, fmt, **kw)
        xh = np.asarray(qt.dequantize(np.float64), dtype=np.float64)
    except Exception as exc:  # reported in the row, never fatal
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    bad = _nonfinite(xh, "the dequantized tensor")
    if bad is not None:
        row["error"] = bad
        return row
    with np.errstate(over="ignore", invalid="ignore"):
        err = xh - x64
        n = max(x64.size, 1)
        e2 = float(np.sum(err * err))
        s2 = float(np.sum(x64 * x64))
        max_err = float(np.max(np.abs(err))) if err.size else 0.0
    overhead = np.size(qt.scale) * _scale_bits(fmt)
    zp = np.asarray(qt.zero_point)
    if zp.size and np.any(zp != 0):
        overhead += zp.size * int(fmt.bits)
    for what, v in (("the error x_hat - x", max_err), ("the sum of squared errors", e2),
                    ("the sum of x^2", s2)):
        if not math.isfinite(v):
            row["error"] = f"non-finite result: {what} overflows float64 ({v})"
            return row
    row.update(
        bits_per_element=int(fmt.bits) + overhead / n,
        sqnr_db=math.inf if e2 == 0.0 else (10.0 * math.log10(s2 / e2) if s2 > 0 else -math.inf),
        mse=e2 / n,
        max_abs_error=max_err,
        clipped_pct=_clipped(qt, x64),
    )
    return row


def _nonfinite(a, what):
    """None when every element of float array a is finite, else the failure message."""
    fin = np.isfinite(a)
    if fin.all():
        return None
    nan = int(np.count_nonzero(np.isnan(a)))
    inf = int(a.size - np.count_nonzero(fin) - nan)
    return f"non-finite result: {what} holds {nan} NaN and {inf} inf of {a.size} values"


# --------------------------------------------------------------------------- output

def _fmt_num(v, spec):
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, spec)


def _table(header, rows, right):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _json_safe(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# --------------------------------------------------------------------------- commands

def _parse_list(text, param):
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"{param} is empty; give a comma-separated list")
    return items


_WORK_BYTES = 40   # compare's float64 working copies per element (x, x_hat, error, ...)


def _npy_header(fh, nbytes_available, label, max_bytes):
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


def _load_inputs(paths, tensor_names, max_bytes=MAX_INPUT_BYTES):
    """[(name, array)] from --input files (.npy, .npz: each header checked before
    loading, see ``_npy_header``), --tensors names, or the package's data."""
    tensors = []
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


_SCALING = ("granularity", "axis", "block_size", "calibration", "percentile")


def _option(name):
    return "--" + name.replace("_", "-")


def _resolve_formats(args, names, bits):
    """(format names to run, {left-out name: reason}) after the applicability rules:
    scaling options do not apply to block formats and --asymmetric applies to integer
    formats only; explicit --formats naming such a format is a usage error, the default
    set and --bits leave it out."""
    fmt_names = select_formats(names, bits)
    if not fmt_names:
        raise UsageError("no format selected (check --formats / --bits against "
                         "`refquant formats`)")
    scaling = [_option(o) for o in _SCALING if getattr(args, o) is not None]
    fmts = {n: _format(n) for n in fmt_names}
    block = [n for n in fmt_names if fmts[n].is_block] if scaling else []
    nonint = [n for n in fmt_names if not fmts[n].is_integer] if args.asymmetric else []
    if names:
        if block:
            raise UsageError(f"{scaling[0]} does not apply to the block formats "
                             f"{', '.join(block)} (they scale each block themselves); drop "
                             "them from --formats")
        if nonint:
            raise UsageError(f"--asymmetric applies to integer formats only; not to "
                             f"{', '.join(nonint)}")
        return fmt_names, {}
    left = {}
    for n in block:
        left[n] = "block formats scale each block themselves"
    for n in nonint:
        left.setdefault(n, "--asymmetric applies to integer formats only")
    keep = [n for n in fmt_names if n not in left]
    if not keep:
        raise UsageError(f"no selected format takes {(scaling + ['--asymmetric'])[0]} "
                         f"(left out: {', '.join(left)})")
    return keep, left


def _cmd_compare(args, out, err):
    bits = None
    if args.bits is not None:
        try:
            bits = [int(b) for b in _parse_list(args.bits, "--bits")]
        except ValueError:
            raise UsageError(f"--bits={args.bits!r}; expected comma-separated integers") from None
    names = None if args.formats is None else _parse_list(args.formats, "--formats")
    tensor_names = None if args.tensors is None else _parse_list(args.tensors, "--tensors")
    granularity = args.granularity or "tensor"
    calibration = args.calibration or "minmax"
    if calibration not in _calibrate.METHODS:
        raise UsageError(f"--calibration={calibration!r}; allowed: "
                         f"{', '.join(_calibrate.METHODS)}")
    if args.axis is not None and granularity == "tensor":
        raise UsageError("--axis applies to --granularity axis or block only")
    if args.block_size is not None and granularity != "block":
        raise UsageError("--block-size applies to --granularity block only")
    if args.block_size is not None and args.block_size < 1:
        raise UsageError(f"--block-size={args.block_size}; allowed: an integer >= 1")
    if args.percentile is not None:
        if calibration != "percentile":
            raise UsageError("--percentile applies to --calibration percentile only")
        if not 0 < args.percentile <= 100:
            raise UsageError(f"--percentile={args.percentile!r} out of range; allowed (0, 100]")
    if args.max_bytes < 1:
        raise UsageError(f"--max-bytes={args.max_bytes} out of range; allowed >= 1")
    rounding = None if args.rounding is None else Rounding[args.rounding.upper()]
    fmt_names, left_out = _resolve_formats(args, names, bits)
    tensors = _load_inputs(args.input, tensor_names, args.max_bytes)
    if args.axis is not None:
        for tname, x in tensors:
            if x.ndim and not -x.ndim <= args.axis < x.ndim:
                raise UsageError(f"--axis={args.axis} out of range for tensor {tname!r} of "
                                 f"shape {x.shape}; allowed {-x.ndim}..{x.ndim - 1}")
    cal_opts = {}
    if args.percentile is not None:
        cal_opts["percentile"] = args.percentile
    symmetric = False if args.asymmetric else None
    show = {"auto": err.isatty() if hasattr(err, "isatty") else False,
            "always": True, "never": False}[args.progress]
    bar = Progress(len(tensors) * len(fmt_names), stream=err, enabled=show)
    results = []
    try:
        for tname, x in tensors:
            for fname in fmt_names:
                if _format(fname).is_block:
                    row = compare_tensor(x, fname, rounding=rounding)
                else:
                    row = compare_tensor(x, fname, granularity=granularity, axis=args.axis,
                                         block_size=args.block_size, calibration=calibration,
                                         symmetric=symmetric, rounding=rounding, **cal_opts)
                row = {"tensor": tname, **row}
                results.append(row)
                bar.step(f"{tname} {fname}")
    finally:
        bar.close()
    failed = sum(r["error"] is not None for r in results)
    status = 1 if failed else 0
    block_size = (32 if args.block_size is None else args.block_size) \
        if granularity == "block" else None
    settings = {"granularity": granularity, "axis": args.axis,
                "block_size": block_size,
                "calibration": calibration, "percentile": args.percentile,
                "symmetric": None if symmetric is None else False,
                "rounding": None if rounding is None else rounding.name,
                "formats": fmt_names, "left_out": left_out}
    if failed:
        err.write(f"refquant compare: {failed} of {len(results)} rows failed\n")
    if args.json:
        doc = {"command": "compare", "settings": settings,
               "tensors": [{"name": n, "shape": list(t.shape), "dtype": str(t.dtype)}
                           for n, t in tensors],
               "results": [{k: _json_safe(v) for k, v in r.items()} for r in results]}
        out.write(json.dumps(doc, indent=2) + "\n")
        return status
    header = ["tensor", "format", "bits/elem", "SQNR dB", "MSE", "max|err|", "clipped %"]
    rows = []
    for r in results:
        if r["error"] is not None:
            rows.append([r["tensor"], r["format"], "-", "error: " + r["error"], "", "", ""])
            continue
        rows.append([r["tensor"], r["format"], _fmt_num(r["bits_per_element"], ".4f"),
                     _fmt_num(r["sqnr_db"], ".2f"), _fmt_num(r["mse"], ".4e"),
                     _fmt_num(r["max_abs_error"], ".4e"), _fmt_num(r["clipped_pct"], ".3f")])
    desc = f"granularity={granularity}"
    if granularity != "tensor":
        desc += f" axis={args.axis if args.axis is not None else (0 if granularity == 'axis' else -1)}"
    if granularity == "block":
        desc += f" block_size={block_size}"
    desc += f" calibration={calibration}"
    if args.percentile is not None:
        desc += f" percentile={args.percentile:g}"
    if symmetric is False:
        desc += " asymmetric"
    out.write(f"# refquant compare: {desc}\n")
    reasons = {}
    for n, why in left_out.items():
        reasons.setdefault(why, []).append(n)
    for why, ns in reasons.items():
        out.write(f"# left out ({why}): {', '.join(ns)}\n")
    # errors span the numeric columns: print them unpadded after the table columns
    ok = [r for r in rows if not r[3].startswith("error: ")]
    table = _table(header, ok, right={2, 3, 4, 5, 6}).split("\n")
    it = iter(table[2:])
    lines = table[:2]
    for r in rows:
        if r[3].startswith("error: "):
            lines.append(f"{r[0]}  {r[1]}  {r[3]}")
        else:
            lines.append(next(it))
    out.write("\n".join(lines) + "\n")
    return status


def _cmd_formats(args, out, err):
    entries = []
    for name, fmt, e in registered():
        if e is not None:
            entries.append({"name": name, "family": None, "bits": None, "min_value": None,
                            "max_value": None, "error": e})
        else:
            entries.append({"name": name, "family": _family(fmt), "bits": int(fmt.bits),
                            "min_value": float(fmt.min_value),
                            "max_value": float(fmt.max_value), "error": None})
    entries.sort(key=lambda d: (d["family"] or "~", d["bits"] or 0, d["name"]))
    if args.json:
        out.write(json.dumps({"command": "formats", "formats": entries}, indent=2) + "\n")
        return 0
    rows = []
    for d in entries:
        if d["error"]:
            rows.append([d["name"], "-", "-", "-", "error: " + d["error"]])
        else:
            rows.append([d["name"], d["family"], str(d["bits"]), repr(d["min_value"]),
                         repr(d["max_value"])])
    out.write(_table(["format", "family", "bits", "min", "max"], rows, right={2, 3, 4}) + "\n")
    out.write(f"{len(entries)} registered formats; other widths by name through "
              f"refquant.format (e.g. int7, uint5, q3.4)\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``refquant`` command (errors raise ``UsageError``)."""
    ap = ArgumentParser(
        prog="refquant",
        description="Bit-exact reference for neural-network number formats. Exit status: "
                    "0 done as asked, 1 ran and found failures or mismatches, 2 usage or "
                    "input error.")
    sub = ap.add_subparsers(dest="command", metavar="{compare,formats,systolic,tensorcore}")
    c = sub.add_parser("compare", help="quantize tensors under formats and tabulate the error",
                       description="Quantize tensors under formats through refquant.quantize and "
                       "tabulate bits per element (scales included), SQNR (dB), MSE, "
                       "max |error| and % clipped. Exact definitions: "
                       "refquant.cli.compare_tensor. Exit status 1 when a row failed "
                       "(quantization raised, or a figure is not finite: the row says why). "
                       "Scaling options (--granularity, --axis, --block-size, --calibration, "
                       "--percentile) do not apply to block formats (MX, NVFP4), which scale "
                       "each block themselves, and --asymmetric applies to integer formats "
                       "only: naming such a format with --formats is a usage error, while "
                       "the default set and --bits leave those formats out (and say so).")
    c.add_argument("--input", action="append", metavar="FILE",
                   help=".npy or .npz file of real numbers (repeatable); default: the "
                        "package's data (see --tensors)")
    c.add_argument("--tensors", metavar="A,B",
                   help=f"built-in tensors ({', '.join(_data.names())}); default all "
                        "when no --input")
    c.add_argument("--formats", metavar="A,B", help="format names (see `refquant formats`); "
                   "default: one per family at 4 and 8 bits")
    c.add_argument("--bits", metavar="4,8", help="keep formats of these bit widths")
    c.add_argument("--granularity", choices=GRANULARITIES, default=None,
                   help="scale per tensor (default), per axis or per block")
    c.add_argument("--axis", type=int, default=None,
                   help="axis for axis/block granularity (default 0 for axis, -1 for block)")
    c.add_argument("--block-size", type=int, default=None, metavar="B",
                   help="--granularity block: elements per scale (default 32)")
    c.add_argument("--calibration", default=None,
                   help=f"calibration method ({', '.join(_calibrate.METHODS)}; default minmax)")
    c.add_argument("--percentile", type=float, default=None,
                   help="percentile for --calibration percentile, in (0, 100] (default 99.99)")
    c.add_argument("--asymmetric", action="store_true",
                   help="asymmetric (zero point) quantization; integer formats only")
    c.add_argument("--rounding", choices=[m.name.lower() for m in Rounding if m.name != "STOCHASTIC"]
                   + ["stochastic"], default=None)
    c.add_argument("--max-bytes", type=int, default=MAX_INPUT_BYTES, metavar="N",
                   help="largest working memory for one input tensor, estimated from its "
                        f"file header before loading (default {MAX_INPUT_BYTES}, 4 GiB)")
    c.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr (auto: when stderr is a terminal)")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    f = sub.add_parser("formats", help="list every registered format")
    f.add_argument("--json", action="store_true", help="machine-readable output")
    # These two own their argument parsers (refquant.sim.*_cli); main() hands them argv.
    sub.add_parser("systolic", add_help=False,
                   help="run a GEMM or a layer file on the cycle-accurate systolic array")
    sub.add_parser("tensorcore", add_help=False,
                   help="replay recorded tensor-core data or compare an emulated GEMM with float64")
    return ap


def main(argv=None, stdout=None, stderr=None) -> int:
    """Run the ``refquant`` command with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status: 0 done as asked; 1 ran and found failures (a ``compare`` row whose
    quantization raised or whose figures are not finite; a simulator mismatch); 2 usage
    or input error, reported as one line "refquant CMD: error: MESSAGE" on stderr.
    ``--help`` prints the help and returns 0."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "systolic":
        from .sim.systolic_cli import systolic_main
        return systolic_main(argv[1:], stdout=out, stderr=err)
    if argv and argv[0] == "tensorcore":
        from .sim.tensorcore_cli import tensorcore_main
        return tensorcore_main(argv[1:], stdout=out, stderr=err)
    prog = "refquant"
    try:
        ap = build_parser()
        if argv and argv[0] in ("compare", "formats"):
            prog = f"refquant {argv[0]}"
        elif not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
            argv = ["compare"] + argv   # the default command
            prog = "refquant compare"
        try:
            args = ap.parse_args(argv)
        except SystemExit as exc:   # --help
            return 0 if exc.code in (0, None) else 2
        if args.command == "compare":
            return _cmd_compare(args, out, err)
        return _cmd_formats(args, out, err)
    except (UsageError, ValueError, TypeError, OSError) as exc:
        return report_error(err, prog, exc)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

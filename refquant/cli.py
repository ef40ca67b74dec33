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
definition of every figure.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import replace

import numpy as np

from . import calibrate as _calibrate
from . import data as _data
from .formats.base import format as _format
from .formats.base import formats as _formats
from .modes import Rounding
from .quantize import GRANULARITIES, quantize

__all__ = ["main", "compare_tensor", "default_formats", "select_formats", "Progress",
           "SCALE_BITS", "DEFAULT_BITS"]

SCALE_BITS = 32      # refquant.quantize stores scales as float32
DEFAULT_BITS = (4, 8)  # widths of the default cross-family format set
PROGRESS_DELAY = 0.5  # seconds of work before the progress bar appears


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


def compare_tensor(x, fmt, *, granularity="tensor", axis=None, block_size=32,
                   calibration="minmax", symmetric=None, rounding=None,
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
      error             None, or "ExceptionType: message" when quantization raised (the
                        numeric fields are then None).
    All sums are formed in float64 from x converted exactly to float64.
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
    kw = dict(granularity=granularity, calibration=calibration, symmetric=symmetric,
              rounding=rounding, **calibration_options)
    if granularity != "tensor":
        kw["axis"] = (0 if granularity == "axis" else -1) if axis is None else axis
    if granularity == "block":
        kw["block_size"] = block_size
    try:
        qt = quantize(x, fmt, **kw)
        xh = np.asarray(qt.dequantize(np.float64), dtype=np.float64)
    except Exception as exc:  # reported in the row, never fatal
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    err = xh - x64
    n = max(x64.size, 1)
    e2 = float(np.sum(err * err))
    s2 = float(np.sum(x64 * x64))
    overhead = np.size(qt.scale) * _scale_bits(fmt)
    zp = np.asarray(qt.zero_point)
    if zp.size and np.any(zp != 0):
        overhead += zp.size * int(fmt.bits)
    row.update(
        bits_per_element=int(fmt.bits) + overhead / n,
        sqnr_db=math.inf if e2 == 0.0 else (10.0 * math.log10(s2 / e2) if s2 > 0 else -math.inf),
        mse=e2 / n,
        max_abs_error=float(np.max(np.abs(err))) if err.size else 0.0,
        clipped_pct=_clipped(qt, x64),
    )
    return row


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


def _load_inputs(paths, tensor_names):
    tensors = []
    for p in paths or []:
        if not os.path.exists(p):
            raise ValueError(f"--input {p!r}: no such file")
        stem = os.path.splitext(os.path.basename(p))[0]
        obj = np.load(p, allow_pickle=False)
        if isinstance(obj, np.lib.npyio.NpzFile):
            with obj:
                tensors += [(f"{stem}:{k}", np.asarray(obj[k])) for k in obj.files]
        else:
            tensors.append((stem, np.asarray(obj)))
    if tensor_names:
        tensors += [(n, _data.load(n)) for n in tensor_names]
    if not paths and not tensor_names:
        tensors = [(n, _data.load(n)) for n in _data.names()]
    for name, t in tensors:
        if t.dtype.kind not in "iuf" or t.dtype.kind == "f" and t.dtype.itemsize > 8:
            raise ValueError(f"tensor {name!r} has dtype {t.dtype}; expected real numbers")
    return tensors


def _cmd_compare(args, out, err):
    bits = None if args.bits is None else [int(b) for b in _parse_list(args.bits, "--bits")]
    names = None if args.formats is None else _parse_list(args.formats, "--formats")
    tensor_names = None if args.tensors is None else _parse_list(args.tensors, "--tensors")
    if args.calibration not in _calibrate.METHODS:
        raise ValueError(f"--calibration={args.calibration!r}; allowed: "
                         f"{', '.join(_calibrate.METHODS)}")
    if args.block_size < 1:
        raise ValueError(f"--block-size={args.block_size}; allowed: an integer >= 1")
    rounding = None if args.rounding is None else Rounding[args.rounding.upper()]
    fmt_names = select_formats(names, bits)
    if not fmt_names:
        raise ValueError("no format selected (check --formats / --bits against `refquant formats`)")
    tensors = _load_inputs(args.input, tensor_names)
    cal_opts = {}
    if args.percentile is not None:
        if args.calibration != "percentile":
            raise ValueError("--percentile applies to --calibration percentile only")
        cal_opts["percentile"] = args.percentile
    symmetric = False if args.asymmetric else None
    show = {"auto": err.isatty() if hasattr(err, "isatty") else False,
            "always": True, "never": False}[args.progress]
    bar = Progress(len(tensors) * len(fmt_names), stream=err, enabled=show)
    results = []
    try:
        for tname, x in tensors:
            for fname in fmt_names:
                row = compare_tensor(x, fname, granularity=args.granularity, axis=args.axis,
                                     block_size=args.block_size, calibration=args.calibration,
                                     symmetric=symmetric, rounding=rounding, **cal_opts)
                row = {"tensor": tname, **row}
                results.append(row)
                bar.step(f"{tname} {fname}")
    finally:
        bar.close()
    settings = {"granularity": args.granularity, "axis": args.axis,
                "block_size": args.block_size if args.granularity == "block" else None,
                "calibration": args.calibration, "percentile": args.percentile,
                "symmetric": None if symmetric is None else False,
                "rounding": None if rounding is None else rounding.name,
                "formats": fmt_names}
    if args.json:
        doc = {"command": "compare", "settings": settings,
               "tensors": [{"name": n, "shape": list(t.shape), "dtype": str(t.dtype)}
                           for n, t in tensors],
               "results": [{k: _json_safe(v) for k, v in r.items()} for r in results]}
        out.write(json.dumps(doc, indent=2) + "\n")
        return 0
    header = ["tensor", "format", "bits/elem", "SQNR dB", "MSE", "max|err|", "clipped %"]
    rows = []
    for r in results:
        if r["error"] is not None:
            rows.append([r["tensor"], r["format"], "-", "error: " + r["error"], "", "", ""])
            continue
        rows.append([r["tensor"], r["format"], _fmt_num(r["bits_per_element"], ".4f"),
                     _fmt_num(r["sqnr_db"], ".2f"), _fmt_num(r["mse"], ".4e"),
                     _fmt_num(r["max_abs_error"], ".4e"), _fmt_num(r["clipped_pct"], ".3f")])
    desc = f"granularity={args.granularity}"
    if args.granularity != "tensor":
        desc += f" axis={settings['axis'] if args.axis is not None else (0 if args.granularity == 'axis' else -1)}"
    if args.granularity == "block":
        desc += f" block_size={args.block_size}"
    desc += f" calibration={args.calibration}"
    if args.percentile is not None:
        desc += f" percentile={args.percentile:g}"
    out.write(f"# refquant compare: {desc}\n")
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
    return 0


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
    """The argument parser of the ``refquant`` command."""
    ap = argparse.ArgumentParser(
        prog="refquant",
        description="Bit-exact reference for neural-network number formats.")
    sub = ap.add_subparsers(dest="command", metavar="{compare,formats,systolic,tensorcore}")
    c = sub.add_parser("compare", help="quantize tensors under formats and tabulate the error",
                       description="Quantize tensors under formats through refquant.quantize and "
                       "tabulate bits per element (scales included), SQNR (dB), MSE, "
                       "max |error| and % clipped. Exact definitions: "
                       "refquant.cli.compare_tensor.")
    c.add_argument("--input", action="append", metavar="FILE",
                   help=".npy or .npz file of real numbers (repeatable); default: the "
                        "package's data (see --tensors)")
    c.add_argument("--tensors", metavar="A,B",
                   help=f"built-in tensors ({', '.join(_data.names())}); default all "
                        "when no --input")
    c.add_argument("--formats", metavar="A,B", help="format names (see `refquant formats`); "
                   "default: one per family at 4 and 8 bits")
    c.add_argument("--bits", metavar="4,8", help="keep formats of these bit widths")
    c.add_argument("--granularity", choices=GRANULARITIES, default="tensor")
    c.add_argument("--axis", type=int, default=None,
                   help="axis for axis/block granularity (default 0 for axis, -1 for block)")
    c.add_argument("--block-size", type=int, default=32, metavar="B")
    c.add_argument("--calibration", default="minmax",
                   help=f"calibration method ({', '.join(_calibrate.METHODS)})")
    c.add_argument("--percentile", type=float, default=None,
                   help="percentile for --calibration percentile (default 99.99)")
    c.add_argument("--asymmetric", action="store_true",
                   help="asymmetric (zero point) quantization for integer formats")
    c.add_argument("--rounding", choices=[m.name.lower() for m in Rounding if m.name != "STOCHASTIC"]
                   + ["stochastic"], default=None)
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
    exit status: 0 on success (rows whose quantization raised are reported in the output,
    not fatal), 2 for invalid arguments (message on stderr)."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "systolic":
        from .sim.systolic_cli import systolic_main
        return systolic_main(argv[1:], stdout=out)
    if argv and argv[0] == "tensorcore":
        from .sim.tensorcore_cli import tensorcore_main
        return tensorcore_main(argv[1:])
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        args = ap.parse_args(["compare"] + list(argv or []))
    try:
        if args.command == "compare":
            return _cmd_compare(args, out, err)
        return _cmd_formats(args, out, err)
    except (ValueError, TypeError) as exc:
        err.write(f"refquant {args.command}: error: {exc}\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

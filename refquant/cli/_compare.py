"""``refquant compare``: quantize tensors under a set of formats and tabulate the error of
each (bits per element, SQNR, MSE, largest error, share clipped)."""
from __future__ import annotations

import argparse
import math
from dataclasses import replace
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from .. import calibrate as _calibrate
from .. import data as _data  # --tensors help
from .._progress import Progress
from ..registry import format as _format
from ..modes import Rounding
from .._groups import GRANULARITIES
from .._quantize import quantize
from ._common import EXIT_FAILED, EXIT_OK, UsageError, add_json_option, table, write_json
from ._formats import family, registered
from ._inputs import MAX_INPUT_BYTES, load_inputs

__all__ = ["compare_tensor", "default_formats", "select_formats", "add_parser", "run",
           "SCALE_BITS", "DEFAULT_BITS", "MAX_INPUT_BYTES"]

SCALE_BITS = 32      # refquant.quantize stores scales as float32
DEFAULT_BITS = (4, 8)  # widths of the default cross-family format set


# --------------------------------------------------------------------------- formats

def default_formats(bits: tuple[int, ...] | list[int] = DEFAULT_BITS) -> list[str]:
    """A cross-family subset of the registered formats: for every format class (family)
    and every width in ``bits``, one registered name. Among the family's signed members
    of that width (all members if none is signed; weights are centred on 0) it is the
    one of median range: members sorted by (max, name), the lower median taken
    (so a family of several 8-bit variants contributes its middle-range one, not its
    extremes). Ordered by width, then family name."""
    groups: dict[tuple[int, str], list[tuple[str, Any]]] = {}
    for name, fmt, err in registered():
        if err is not None or fmt.bits not in bits:
            continue
        groups.setdefault((fmt.bits, family(fmt)), []).append((name, fmt))
    chosen = []
    for key in sorted(groups):
        members = groups[key]
        signed = [m for m in members if float(m[1].min) < 0]
        pool = sorted(signed or members, key=lambda m: (float(m[1].max), m[0]))
        chosen.append(pool[(len(pool) - 1) // 2][0])
    return chosen


def select_formats(names: list[str] | None = None, bits: list[int] | None = None
                   ) -> list[str]:
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

def _scale_bits(fmt: Any) -> int:
    sf = getattr(fmt, "scale_format", None)
    b = getattr(sf, "bits", None)
    return int(b) if isinstance(b, (int, np.integer)) else SCALE_BITS


def _end_values(qt: Any, value: float, toward: float) -> tuple[np.ndarray, np.ndarray]:
    """The dequantized tensor whose every element is ``value``'s code, and the one of its
    inner neighbour (the next representable value toward ``toward``; equal to the end
    itself when the format cannot round toward it). Formats up to 16 bits take both codes
    from the table of every code (``fmt.codes()``, ``fmt.decode``): the first code of
    ``value`` and the first of the nearest finite value beyond it toward ``toward``, the
    codes ``fmt.encode`` gives; wider formats encode ``value`` and the next float64 toward
    ``toward`` (Rounding.DOWN / UP)."""
    fmt = qt.fmt

    def filled(code: Any) -> np.ndarray:
        return replace(qt, codes=np.full(qt.codes.shape, code, dtype=qt.codes.dtype)
                       ).dequantize(np.float64)
    if fmt.bits <= 16:  # a table of at most 2^16 values: no encode kernel to compile
        codes = np.asarray(fmt.codes())
        vals = np.asarray(fmt.decode(codes), dtype=np.float64)
        beyond = np.isfinite(vals) & ((vals < value) if toward < value else (vals > value))
        end = filled(codes[np.flatnonzero(vals == value)[0]])
        if not beyond.any():
            return end, end
        near = vals[beyond].max() if toward < value else vals[beyond].min()
        return end, filled(codes[np.flatnonzero(vals == near)[0]])

    def encoded(v: float, rounding: Rounding) -> Any:
        return np.asarray(fmt.encode(np.array([float(v)]), rounding))[0]
    end = filled(encoded(value, Rounding.NEAREST_EVEN))
    try:
        inner = filled(encoded(np.nextafter(float(value), toward),
                               Rounding.DOWN if toward < value else Rounding.UP))
    except Exception:
        inner = end
    return end, inner


def _clipped(qt: Any, x64: np.ndarray) -> float | None:
    """Share (%) of elements that saturation changed: x more than half a step above the
    largest value (hi + (hi - hi_inner) / 2) or below the smallest one, the ends and their
    inner neighbours dequantized at that element's scale. None when not computable."""
    try:
        fmt = qt.fmt
        hi, hi_in = _end_values(qt, fmt.max, -math.inf)
        lo, lo_in = _end_values(qt, fmt.min, math.inf)
        over = x64 > hi + (hi - hi_in) / 2
        under = x64 < lo - (lo_in - lo) / 2
        n = int(np.count_nonzero(over | under))
        return 100.0 * n / max(x64.size, 1)
    except Exception:
        return None


def compare_tensor(x: npt.ArrayLike, fmt: Any, *, granularity: str | None = None,
                   axis: int | None = None, block_size: int | None = None,
                   calibration: str | None = None, symmetric: bool | None = None,
                   rounding: Rounding | str | None = None,
                   **calibration_options: Any) -> dict[str, Any]:
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
                        neighbour is the format's next finite value inward: from its
                        table of codes up to 16 bits, else by encoding the next float64
                        inward with Rounding.DOWN / UP); None if not computable;
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
        kw: dict[str, Any] = dict(rounding=rounding)
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


def _nonfinite(a: np.ndarray, what: str) -> str | None:
    """None when every element of float array a is finite, else the failure message."""
    fin = np.isfinite(a)
    if fin.all():
        return None
    nan = int(np.count_nonzero(np.isnan(a)))
    inf = int(a.size - np.count_nonzero(fin) - nan)
    return f"non-finite result: {what} holds {nan} NaN and {inf} inf of {a.size} values"


# --------------------------------------------------------------------------- output

def _fmt_num(v: Any, spec: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, spec)


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# --------------------------------------------------------------------------- commands

def _parse_list(text: str, param: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"{param} is empty; give a comma-separated list")
    return items


_SCALING = ("granularity", "axis", "block_size", "calibration", "percentile")


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _resolve_formats(args: argparse.Namespace, names: list[str] | None, bits: list[int] | None
                     ) -> tuple[list[str], dict[str, str]]:
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


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Run ``refquant compare``; exit status 0, or 1 when a row failed."""
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
    tensors = load_inputs(args.input, tensor_names, args.max_bytes)
    if args.axis is not None:
        for tname, x in tensors:
            if x.ndim and not -x.ndim <= args.axis < x.ndim:
                raise UsageError(f"--axis={args.axis} out of range for tensor {tname!r} of "
                                 f"shape {x.shape}; allowed {-x.ndim}..{x.ndim - 1}")
    cal_opts = {}
    if args.percentile is not None:
        cal_opts["percentile"] = args.percentile
    symmetric = False if args.asymmetric else None
    # auto: a bar on a terminal only; always: on any stream (asked for); never: none
    bar = Progress(len(tensors) * len(fmt_names), stream=err,
                   enabled=args.progress != "never", force=args.progress == "always")
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
    status = EXIT_FAILED if failed else EXIT_OK
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
        write_json(out, doc)
        return status
    header = ["tensor", "format", "bits/elem", "SQNR dB", "MSE", "max|err|", "clipped %"]
    rows: list[list[str]] = []
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
    reasons: dict[str, list[str]] = {}
    for n, why in left_out.items():
        reasons.setdefault(why, []).append(n)
    for why, ns in reasons.items():
        out.write(f"# left out ({why}): {', '.join(ns)}\n")
    # errors span the numeric columns: print them unpadded after the table columns
    ok = [cells for cells in rows if not cells[3].startswith("error: ")]
    text = table(header, ok, right={2, 3, 4, 5, 6}).split("\n")
    it = iter(text[2:])
    lines = text[:2]
    for cells in rows:
        if cells[3].startswith("error: "):
            lines.append(f"{cells[0]}  {cells[1]}  {cells[3]}")
        else:
            lines.append(next(it))
    out.write("\n".join(lines) + "\n")
    return status


HELP = "quantize tensors under formats and tabulate the error"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``compare`` subcommand to the subparsers ``sub``."""
    c = sub.add_parser("compare", help=HELP,
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
    c.add_argument("--bits", metavar="4,8", help="keep formats of these bit widths (default: "
                   "every width of the selected formats)")
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
                   help="asymmetric (zero point) quantization; integer formats only (default: "
                        "symmetric, except unsigned integer formats)")
    c.add_argument("--rounding", choices=[m.name.lower() for m in Rounding if m.name != "STOCHASTIC"]
                   + ["stochastic"], default=None,
                   help="rounding of x / scale (default nearest_even, as refquant.quantize)")
    c.add_argument("--max-bytes", type=int, default=MAX_INPUT_BYTES, metavar="N",
                   help="largest working memory for one input tensor, estimated from its "
                        f"file header before loading (default {MAX_INPUT_BYTES}, 4 GiB)")
    c.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr (auto: only when stderr is a terminal; "
                        "always: on any stderr)")
    add_json_option(c)
    c.set_defaults(run=run)
    return c

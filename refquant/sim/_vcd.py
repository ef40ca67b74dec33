"""Value change dump (VCD, IEEE 1364-2005 section 18) files of systolic-array register
traces, for waveform viewers such as GTKWave and for comparison with RTL simulations."""
from __future__ import annotations

import datetime
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import check_int

__all__ = ["write_vcd", "write_array_vcd", "vcd_identifier", "vcd_size_estimate", "RTL_NAMES"]


def vcd_identifier(n: int) -> str:
    """The n-th short identifier code: printable ASCII 33..126, base 94, little-endian."""
    if n < 0:
        raise ValueError(f"n={n} must be >= 0")
    chars = []
    while True:
        chars.append(chr(33 + n % 94))
        n //= 94
        if n == 0:
            return "".join(chars)
        n -= 1


def _bin(v: int, width: int) -> str:
    if width == 1:
        return str(v & 1)
    return "b" + format(v & ((1 << width) - 1), "b")


def _check_header(timescale: str, comment: str | None) -> None:
    """ValueError unless ``timescale`` is a VCD timescale and ``comment`` can stand in a
    $comment block."""
    if not isinstance(timescale, str) or not re.fullmatch(r"(1|10|100) ?(s|ms|us|ns|ps|fs)",
                                                          timescale.strip()):
        raise ValueError(f"timescale={timescale!r}; allowed: 1, 10 or 100 followed by "
                         "s, ms, us, ns, ps or fs (IEEE 1364 18.2.3.8)")
    if comment is not None and (not isinstance(comment, str) or "$end" in comment):
        raise ValueError("comment must be a str without '$end' (it ends the VCD $comment)")


def write_vcd(path: str | os.PathLike[str], trace: dict[str, Any],
              signals: Sequence[tuple[str, int, int]] | None = None, width: int = 32,
              timescale: str = "1ns", comment: str | None = None) -> list[str]:
    """Write ``trace`` (a dict plane -> array (cycles, rows, cols), as in
    ``SystolicResult.trace``) to a VCD file at ``path``; returns the list of wire names
    in file order.

    signals: None (every register of every plane) or a list of (plane, row, col).
    width: bits per register wire (1..64); every traced value must fit the signed or
    unsigned range of ``width`` bits.

    The file holds a header ($date, $version, $timescale, and ``comment`` as $comment),
    one module scope ``systolic`` with a 1-bit ``clk``, a 32-bit ``cycle`` counter and
    one ``wire`` per chosen register, named ``<plane>_r<i>_c<j>`` (e.g. ``acc_r0_c1``),
    of ``width`` bits. Cycle t of the trace occupies times 2t (clk rising, the register
    values at the end of cycle t) and 2t + 1 (clk falling). Vector values are written
    in binary as ``b<bits> <id>``, two's complement in ``width`` bits (negative values
    keep their low ``width`` bits), leading zeros dropped as the standard allows. Only
    changes are dumped after the initial $dumpvars block.
    """
    if not isinstance(trace, dict) or not trace:
        raise ValueError("trace must be a non-empty dict of per-cycle register planes")
    width = check_int(width, "width", 1, 64)
    _check_header(timescale, comment)
    planes = {k: np.asarray(v) for k, v in trace.items()}
    for k, v in planes.items():
        if v.dtype.kind not in "iub":
            raise TypeError(f"trace plane {k!r} must hold integers, got dtype {v.dtype}")
    cycles = {v.shape[0] if v.ndim else -1 for v in planes.values()}
    if len(cycles) != 1 or any(v.ndim != 3 for v in planes.values()):
        raise ValueError("every trace plane must be (cycles, rows, cols) with the same cycles")
    ncyc = cycles.pop()
    if signals is None:
        signals = [(p, i, j) for p, v in planes.items()
                   for i in range(v.shape[1]) for j in range(v.shape[2])]
    sigs = []
    for s in signals:
        if not isinstance(s, (tuple, list)) or len(s) != 3:
            raise ValueError(f"signals entries must be (plane, row, col), got {s!r}")
        p, i, j = s
        if p not in planes:
            raise ValueError(f"signals names plane {p!r}; trace has {sorted(planes)}")
        v = planes[p]
        if not (0 <= i < v.shape[1] and 0 <= j < v.shape[2]):
            raise ValueError(f"signals names register ({i}, {j}) outside {v.shape[1]}x{v.shape[2]}")
        col = v[:, i, j].astype(np.int64)
        lo, hi = -(1 << (width - 1)), (1 << width) - 1
        if col.size and (col.min() < lo or col.max() > hi):
            raise ValueError(f"{p}[{i}, {j}] holds values that do not fit width={width} bits")
        sigs.append((f"{p}_r{i}_c{j}", col))
    head = [f"$date {datetime.date.today().isoformat()} $end",
            "$version refquant systolic simulator $end"]
    if comment:
        head.append(f"$comment {comment} $end")
    head += [f"$timescale {timescale} $end", "$scope module systolic $end",
             f"$var wire 1 {vcd_identifier(0)} clk $end",
             f"$var wire 32 {vcd_identifier(1)} cycle $end"]
    ids = [vcd_identifier(n + 2) for n in range(len(sigs))]
    for n, (name, _) in enumerate(sigs):
        head.append(f"$var wire {width} {ids[n]} {name} $end")
    head += ["$upscope $end", "$enddefinitions $end"]
    sep = "" if width == 1 else " "
    clk, cyc = vcd_identifier(0), vcd_identifier(1)
    prev: list[int | None] = [None] * len(sigs)
    # written cycle by cycle: memory does not grow with the number of cycles
    with open(path, "w") as fh:
        fh.write("\n".join(head) + "\n")
        for t in range(ncyc):
            lines = [f"#{2 * t}"]
            if t == 0:
                lines.append("$dumpvars")
            lines.append(f"1{clk}")
            lines.append(f"{_bin(t, 32)} {cyc}")
            for n, (_, col) in enumerate(sigs):
                value = int(col[t])
                if value != prev[n]:
                    lines.append(f"{_bin(value, width)}{sep}{ids[n]}")
                    prev[n] = value
            if t == 0:
                lines.append("$end")
            lines.append(f"#{2 * t + 1}")
            lines.append(f"0{clk}")
            fh.write("\n".join(lines) + "\n")
        fh.write(f"#{2 * ncyc}\n")
    return ["clk", "cycle"] + [name for name, _ in sigs]


def vcd_size_estimate(cycles: int, signals: int, width: int) -> int:
    """Upper bound in bytes of a ``write_vcd`` file of ``signals`` register wires of
    ``width`` bits over ``cycles`` cycles: every value written every cycle (the file
    holds only changes, so it is usually much smaller)."""
    ident = len(vcd_identifier(int(signals) + 1))
    line = int(width) + ident + 3                     # "b<bits> <id>\n"
    header = 200 + int(signals) * (40 + ident)
    return header + int(cycles) * (int(signals) * line + 64)


#: dataflow -> (RTL module, [(trace plane, PE register name, operand width key)])
RTL_NAMES: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "os": ("os_array", [("a", "a", "a_bits"), ("b", "b", "b_bits"), ("acc", "acc", "acc_bits")]),
    "ws": ("ws_array", [("stationary", "w", "b_bits"), ("stream", "a", "a_bits"),
                        ("psum", "psum", "acc_bits")]),
}


def _var(width: int, ident: str, name: str) -> str:
    if width == 1:
        return f"$var reg 1 {ident} {name} $end"
    return f"$var reg {width} {ident} {name} [{width - 1}:0] $end"


def write_array_vcd(path: str | os.PathLike[str], result: Any, array: Any, *,
                    valid: dict[str, np.ndarray] | None = None,
                    top_signals: dict[str, tuple[int, np.ndarray]] | None = None,
                    period: int = 10, offset: int | None = None, timescale: str = "1ns",
                    comment: str | None = None) -> list[str]:
    """Write a run's register trace as a VCD laid out like the reference RTL's own dump
    (``rtl/os_array.v`` / ``rtl/ws_array.v`` under Icarus): returns the signal paths.

    result: a ``SystolicResult`` with a trace (``run(..., trace=True)``; dataflow "os" or
    "ws"); array: the ``SystolicArray`` that ran it (its widths). Scopes: module
    ``os_array`` / ``ws_array`` holding ``clk`` (and ``top_signals``: name -> (width,
    per-cycle values), e.g. start, drain, out_valid), then for PE (i, j) the scopes
    ``g_row[i]`` > ``g_col[j]`` (generate blocks) > module ``u_pe`` with the PE's
    registers at their declared widths: OS ``a`` (a_bits), ``b`` (b_bits), ``acc``
    (acc_bits); WS ``w`` (b_bits), ``a`` (a_bits), ``psum`` (acc_bits); and the valid
    bits given in ``valid`` (name -> (cycles, rows, cols) of 0/1, e.g. ``a_v``, ``acc_v``;
    ``refquant.hw.valid_planes`` computes the RTL's). Values are two's complement in
    their width. Cycle t's register values appear at the rising clock edge at time
    offset + t * period (the edge that ends cycle t), the clock falling half a period
    later; before the first edge every signal is x. ``period`` (even, >= 2) and
    ``offset`` (>= 1, default ``period``) are in ``timescale`` units, so a model dump can
    be placed on the times of an RTL simulation's edges."""
    if getattr(result, "trace", None) is None:
        raise ValueError("result has no trace; run with trace=True")
    df = result.dataflow
    if df not in RTL_NAMES:
        raise ValueError(f"the reference RTL has dataflows 'os' and 'ws'; this run is {df!r}")
    period = check_int(period, "period", 2)
    if period % 2:
        raise ValueError(f"period must be even (the clock falls half-way), got {period}")
    offset = period if offset is None else check_int(offset, "offset", 1)
    _check_header(timescale, comment)
    module, regs = RTL_NAMES[df]
    R, C = result.rows, result.cols
    n = int(result.cycles)
    sigs: list[tuple[str, int, np.ndarray]] = []    # (path, width, values per cycle)
    head_top: list[tuple[str, int]] = []
    for name, (width, vals) in (top_signals or {}).items():
        v = np.asarray(vals, dtype=np.int64).reshape(-1)
        if v.shape[0] < n:
            raise ValueError(f"top signal {name!r} has {v.shape[0]} values for {n} cycles")
        head_top.append((name, int(width)))
        sigs.append((f"{module}.{name}", int(width), v[:n]))
    valid = valid or {}
    for k, v in valid.items():
        if np.shape(v) != (n, R, C):
            raise ValueError(f"valid plane {k!r} has shape {np.shape(v)}, expected {(n, R, C)}")
    per_pe: list[tuple[str, int, str]] = []        # (PE register name, width, plane or valid key)
    for plane, reg, wkey in regs:
        per_pe.append((reg, int(getattr(array, wkey)), plane))
    for k in valid:
        per_pe.append((k, 1, "valid:" + k))
    ids = iter(range(1, 10 ** 9))
    clk_id = vcd_identifier(0)
    head = [f"$date {datetime.date.today().isoformat()} $end",
            "$version refquant systolic simulator $end"]
    if comment:
        head.append(f"$comment {comment} $end")
    head += [f"$timescale {timescale} $end", f"$scope module {module} $end",
             _var(1, clk_id, "clk")]
    sig_ids: list[str] = []
    for name, width in head_top:
        ident = vcd_identifier(next(ids))
        sig_ids.append(ident)
        head.append(_var(width, ident, name))
    for i in range(R):
        head.append(f"$scope begin g_row[{i}] $end")
        for j in range(C):
            head += [f"$scope begin g_col[{j}] $end", "$scope module u_pe $end"]
            for reg, width, src in per_pe:
                ident = vcd_identifier(next(ids))
                sig_ids.append(ident)
                head.append(_var(width, ident, reg))
                vals = (np.asarray(valid[src[6:]])[:, i, j] if src.startswith("valid:")
                        else np.asarray(result.trace[src])[:, i, j])
                sigs.append((f"{module}.g_row[{i}].g_col[{j}].u_pe.{reg}", width,
                             vals.astype(np.int64)))
            head += ["$upscope $end", "$upscope $end"]
        head.append("$upscope $end")
    head += ["$upscope $end", "$enddefinitions $end"]
    prev: list[int | None] = [None] * len(sigs)
    half = period // 2
    with open(path, "w") as fh:
        fh.write("\n".join(head) + "\n")
        fh.write("#0\n$dumpvars\n" + "\n".join(
            [f"0{clk_id}"] + [("x" if w == 1 else "bx ") + sid for (_, w, _), sid in zip(sigs, sig_ids)])
            + "\n$end\n")
        for t in range(n):
            lines = [f"#{offset + t * period}", f"1{clk_id}"]
            for idx, ((_, width, vals), sid) in enumerate(zip(sigs, sig_ids)):
                value = int(vals[t])
                if value != prev[idx]:
                    lines.append(f"{_bin(value, width)}{'' if width == 1 else ' '}{sid}")
                    prev[idx] = value
            lines += [f"#{offset + t * period + half}", f"0{clk_id}"]
            fh.write("\n".join(lines) + "\n")
        fh.write(f"#{offset + n * period}\n")
    return [f"{module}.clk"] + [p for p, _, _ in sigs]

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

__all__ = ["write_vcd", "vcd_identifier", "vcd_size_estimate"]


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
    if not isinstance(timescale, str) or not re.fullmatch(r"(1|10|100) ?(s|ms|us|ns|ps|fs)",
                                                          timescale.strip()):
        raise ValueError(f"timescale={timescale!r}; allowed: 1, 10 or 100 followed by "
                         "s, ms, us, ns, ps or fs (IEEE 1364 18.2.3.8)")
    if comment is not None and (not isinstance(comment, str) or "$end" in comment):
        raise ValueError("comment must be a str without '$end' (it ends the VCD $comment)")
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

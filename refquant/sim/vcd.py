"""Value change dump (VCD, IEEE 1364-2005 section 18) output of systolic-array traces, for
waveform viewers such as GTKWave and for comparison with RTL simulations.

Layout of the file written by ``write_vcd``: a header ($date, $version, $timescale), one
module scope ``systolic`` holding a 1-bit ``clk``, a 32-bit ``cycle`` counter and one
``wire`` per chosen register, named ``<plane>_r<i>_c<j>`` (e.g. ``acc_r0_c1``), of
``width`` bits. Cycle t of the trace occupies times 2t (clk rising, the register values
at the end of cycle t) and 2t + 1 (clk falling). Vector values are written in binary as
``b<bits> <id>``, two's complement in ``width`` bits (negative values keep their low
``width`` bits; a value that does not fit raises ValueError), leading zeros dropped
as the standard allows. Only changes are dumped after the initial $dumpvars block.
"""
from __future__ import annotations

import datetime
import re

import numpy as np

__all__ = ["write_vcd", "vcd_identifier"]


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


def write_vcd(path, trace, signals=None, width=32, timescale="1ns", comment=None):
    """Write ``trace`` (a dict plane -> array (cycles, rows, cols), as in
    ``SystolicResult.trace``) to a VCD file at ``path``.

    signals: None (every register of every plane) or a list of (plane, row, col).
    width: bits per register wire (1..64); every traced value must fit the signed or
    unsigned range of ``width`` bits. Returns the list of wire names in file order.
    """
    if not isinstance(trace, dict) or not trace:
        raise ValueError("trace must be a non-empty dict of per-cycle register planes")
    if not isinstance(width, (int, np.integer)) or isinstance(width, (bool, np.bool_)):
        raise TypeError(f"width must be an int, got {type(width).__name__}")
    if not 1 <= int(width) <= 64:
        raise ValueError(f"width={width} out of range; allowed 1..64")
    width = int(width)
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
    ncyc = {v.shape[0] if v.ndim else -1 for v in planes.values()}
    if len(ncyc) != 1 or any(v.ndim != 3 for v in planes.values()):
        raise ValueError("every trace plane must be (cycles, rows, cols) with the same cycles")
    ncyc = ncyc.pop()
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
    prev = [None] * len(sigs)
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
                v = int(col[t])
                if v != prev[n]:
                    lines.append(f"{_bin(v, width)}{sep}{ids[n]}")
                    prev[n] = v
            if t == 0:
                lines.append("$end")
            lines.append(f"#{2 * t + 1}")
            lines.append(f"0{clk}")
            fh.write("\n".join(lines) + "\n")
        fh.write(f"#{2 * ncyc}\n")
    return ["clk", "cycle"] + [name for name, _ in sigs]

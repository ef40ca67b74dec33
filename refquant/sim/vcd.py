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
    if not 1 <= int(width) <= 64:
        raise ValueError(f"width={width} out of range; allowed 1..64")
    planes = {k: np.asarray(v) for k, v in trace.items()}
    ncyc = {v.shape[0] for v in planes.values()}
    if len(ncyc) != 1 or any(v.ndim != 3 for v in planes.values()):
        raise ValueError("every trace plane must be (cycles, rows, cols) with the same cycles")
    ncyc = ncyc.pop()
    if signals is None:
        signals = [(p, i, j) for p, v in planes.items()
                   for i in range(v.shape[1]) for j in range(v.shape[2])]
    sigs = []
    for s in signals:
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
    lines = [f"$date {datetime.date.today().isoformat()} $end",
             "$version refquant systolic simulator $end"]
    if comment:
        lines.append(f"$comment {comment} $end")
    lines += [f"$timescale {timescale} $end", "$scope module systolic $end",
              f"$var wire 1 {vcd_identifier(0)} clk $end",
              f"$var wire 32 {vcd_identifier(1)} cycle $end"]
    for n, (name, _) in enumerate(sigs):
        lines.append(f"$var wire {width} {vcd_identifier(n + 2)} {name} $end")
    lines += ["$upscope $end", "$enddefinitions $end"]
    prev = [None] * len(sigs)
    for t in range(ncyc):
        lines.append(f"#{2 * t}")
        changes = []
        if t == 0:
            changes.append("$dumpvars")
        changes.append(f"1{vcd_identifier(0)}")
        changes.append(f"{_bin(t, 32)} {vcd_identifier(1)}")
        for n, (_, col) in enumerate(sigs):
            v = int(col[t])
            if v != prev[n]:
                changes.append(f"{_bin(v, width)}" + ("" if width == 1 else " ") + vcd_identifier(n + 2))
                prev[n] = v
        if t == 0:
            changes.append("$end")
        lines += changes
        lines.append(f"#{2 * t + 1}")
        lines.append(f"0{vcd_identifier(0)}")
    lines.append(f"#{2 * ncyc}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return ["clk", "cycle"] + [name for name, _ in sigs]

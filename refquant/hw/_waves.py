"""Waveforms that line up with the reference RTL: the model's VCD in the RTL's hierarchy
(with the valid bits and control signals the RTL has) and a GTKWave save file that
shows the same signals of either dump."""
from __future__ import annotations

import os

import numpy as np

from ..sim._vcd import RTL_NAMES, write_array_vcd
from ._bits import unpack_lanes
from ._schedule import ArraySchedule, valid_planes

__all__ = ["write_model_vcd", "write_gtkw"]


def write_model_vcd(path: str | os.PathLike[str], schedule: ArraySchedule, *,
                    period: int = 10, offset: int | None = None, timescale: str = "1ns",
                    comment: str | None = None) -> list[str]:
    """Write the model's side of a bench run as a VCD in the reference RTL's hierarchy
    (``refquant.sim.write_array_vcd``): every PE register of the simulator's trace, the
    PE valid bits (``valid_planes``) and the top-level control signals and out_valid of
    ``schedule`` (OS start, drain; WS load), which after the edge that ends cycle t show
    their values of cycle t + 1, as in the RTL's dump. period / offset / timescale place cycle t's edge at offset + t * period;
    ``BenchResult.cases[i]["t0_ns"]`` is where the bench's run of case i put cycle 0's
    edge (pass it as offset with timescale "1ns" to overlay the RTL's own dump)."""
    s = schedule
    n = s.cycles
    top: dict[str, tuple[int, np.ndarray]] = {}
    names = ("start", "drain") if s.dataflow == "os" else ("load",)
    # the control inputs and out_valid as the RTL shows them after the edge that ends
    # cycle t: the inputs of cycle t + 1 (a driver changes them right after the edge)
    for name in names:
        top[name] = (1, np.asarray(s.inputs[name][1:n + 1], dtype=np.int64))
    ov = unpack_lanes(s.out_valid, s.cols, 1, False)[1:n + 1]
    top["out_valid"] = (s.cols, (ov * (1 << np.arange(s.cols))).sum(axis=1))
    return write_array_vcd(path, s.result, _Widths(s), valid=valid_planes(s), top_signals=top,
                           period=period, offset=offset, timescale=timescale, comment=comment)


class _Widths:
    """The operand widths of a schedule, as write_array_vcd reads them from an array."""

    def __init__(self, s: ArraySchedule):
        self.a_bits = s.parameters["A_W"]
        self.b_bits = s.parameters["B_W"]
        self.acc_bits = s.parameters["ACC_W"]


def write_gtkw(path: str | os.PathLike[str], dataflow: str, rows: int, cols: int,
               widths: dict[str, int], dumpfile: str | None = None) -> None:
    """Write a GTKWave save file that shows, for every PE, its registers (signed
    decimal) and valid bits, after clk and the control signals. The signal paths are
    those of the reference RTL's dump and of ``write_model_vcd``, so the one file opens
    either: ``gtkwave rtl.vcd view.gtkw`` and ``gtkwave model.vcd view.gtkw`` side by
    side. widths: "a_bits", "b_bits", "acc_bits"; dumpfile: the VCD to name in the file
    (optional: GTKWave takes the one on its command line)."""
    if dataflow not in RTL_NAMES:
        raise ValueError(f"dataflow={dataflow!r}; the reference RTL has 'os' and 'ws'")
    module, regs = RTL_NAMES[dataflow]
    lines = []
    if dumpfile:
        lines.append(f'[dumpfile] "{dumpfile}"')
    lines += ["[timestart] 0", f"[treeopen] {module}.", "@28", f"{module}.clk", f"{module}.rst"]
    ctl = ("start", "drain") if dataflow == "os" else ("load",)
    lines += [f"{module}.{c}" for c in ctl]
    lines += ["@22", f"{module}.out_valid[{cols - 1}:0]" if cols > 1 else f"{module}.out_valid"]
    valid = ("a_v", "b_v", "acc_v") if dataflow == "os" else ("a_v", "ps_v")
    for i in range(rows):
        for j in range(cols):
            pe = f"{module}.g_row[{i}].g_col[{j}].u_pe"
            lines.append(f"-PE ({i}, {j})")
            lines.append("@420")
            for _, reg, wkey in regs:
                w = int(widths[wkey])
                lines.append(f"{pe}.{reg}[{w - 1}:0]" if w > 1 else f"{pe}.{reg}")
            lines.append("@28")
            lines += [f"{pe}.{v}" for v in valid]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")

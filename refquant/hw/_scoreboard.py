"""Scoreboards: compare what a monitor saw on the RTL with refquant, cycle by cycle, and
name the first disagreement (cycle, PE or output lane, register, both values)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._bits import unpack_lanes
from ._schedule import ARRAY_PLANES, ArraySchedule

__all__ = ["Mismatch", "ArrayScoreboard", "StreamScoreboard"]


class Mismatch(AssertionError):
    """The RTL disagreed with refquant; ``cycle`` is the first cycle that disagreed and
    the message names the PE (or output lane / input index) and both values."""

    def __init__(self, message: str, cycle: int):
        super().__init__(message)
        self.cycle = cycle


def _show(v: int | None) -> str:
    return "x (unresolved)" if v is None else str(v)


@dataclass
class ArrayScoreboard:
    """Checks one ``ArraySchedule``: ``check_registers(t, observed)`` (state at the end of
    cycle t: port -> packed int, None for X/Z bits) and ``check_outputs(t, valid, data)``
    (the output lanes sampled in step t) raise ``Mismatch`` at the first difference.
    Equal packed words are accepted without unpacking, so a passing check is one integer
    comparison per bus."""

    schedule: ArraySchedule
    checks: int = 0

    def check_registers(self, t: int, observed: dict[str, int | None]) -> None:
        s = self.schedule
        for plane, (port, reg) in ARRAY_PLANES[s.dataflow].items():
            want = s.registers[port][t]
            got = observed[port]
            self.checks += 1
            if got == want:
                continue
            w = s.plane_width(plane)
            lanes = s.rows * s.cols
            model = unpack_lanes([want], lanes, w, True)[0]
            if got is None:
                raise Mismatch(f"cycle {t}: {port} holds X/Z bits; model PE (0, 0) {reg} = "
                               f"{int(model[0])}", t)
            rtl = unpack_lanes([got], lanes, w, True)[0]
            lane = int(np.flatnonzero(rtl != model)[0])
            i, j = divmod(lane, s.cols)
            raise Mismatch(f"cycle {t}: PE ({i}, {j}) register {reg} ({port}, trace plane "
                           f"{plane!r}): RTL {int(rtl[lane])}, model {int(model[lane])}", t)

    def check_outputs(self, t: int, valid: int | None, data: int | None) -> None:
        s = self.schedule
        want_v = s.out_valid[t]
        self.checks += 1
        if valid != want_v:
            if valid is None:
                raise Mismatch(f"cycle {t}: out_valid holds X/Z bits; model {want_v:0{s.cols}b}", t)
            j = next(j for j in range(s.cols) if (valid ^ want_v) >> j & 1)
            raise Mismatch(f"cycle {t}: out_valid[{j}]: RTL {valid >> j & 1}, model "
                           f"{want_v >> j & 1}", t)
        if not want_v:
            return
        mask = s.lane_mask(want_v)
        if data is not None and (data & mask) == s.out_data[t]:
            return
        w = s.acc_bits
        model = unpack_lanes([s.out_data[t]], s.cols, w, True)[0]
        for j in range(s.cols):
            if want_v >> j & 1:
                m, n = (int(x) for x in s.out_index[t, j])
                if data is None:
                    raise Mismatch(f"cycle {t}: out_data lane {j} (out[{m}, {n}]) holds X/Z "
                                   f"bits; model {int(model[j])}", t)
                rtl = unpack_lanes([data], s.cols, w, True)[0]
                if rtl[j] != model[j]:
                    raise Mismatch(f"cycle {t}: out_data lane {j} (out[{m}, {n}]): RTL "
                                   f"{int(rtl[j])}, model {int(model[j])}", t)


@dataclass
class StreamScoreboard:
    """Checks a pipelined unit that takes one input per cycle: ``expected`` holds the
    output code of every input in order; ``check(index, cycle, got)`` raises ``Mismatch``
    naming the input, the cycle it left the unit and both values."""

    expected: list[int]
    describe: list[str]
    width: int
    seen: int = 0

    def check(self, cycle: int, got: int | None) -> None:
        k = self.seen
        if k >= len(self.expected):
            raise Mismatch(f"cycle {cycle}: out_valid with no input left to answer", cycle)
        want = self.expected[k]
        self.seen += 1
        if got != want:
            raise Mismatch(f"cycle {cycle}: output {k} for input {self.describe[k]}: RTL "
                           f"{_show(got) if got is None else f'0x{got:0{(self.width + 3) // 4}x}'}, "
                           f"model 0x{want:0{(self.width + 3) // 4}x}", cycle)

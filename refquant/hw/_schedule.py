"""The cycle schedule of the reference arrays: what a driver presents on every input of
``rtl/os_array.v`` / ``rtl/ws_array.v`` in each cycle, and what a monitor must see on
every output and every PE register, both taken from ``refquant.sim.SystolicArray``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..modes import Overflow
from ..sim import SystolicArray, SystolicResult
from ._bits import pack_lanes

__all__ = ["ArraySchedule", "array_schedule", "array_parameters", "ARRAY_PLANES"]

#: trace plane of ``SystolicResult.trace`` -> (register port of the RTL, register name in a PE)
ARRAY_PLANES: dict[str, dict[str, tuple[str, str]]] = {
    "os": {"a": ("tr_a", "a"), "b": ("tr_b", "b"), "acc": ("tr_acc", "acc")},
    "ws": {"stationary": ("tr_w", "w"), "stream": ("tr_a", "a"), "psum": ("tr_psum", "psum")},
}


def array_parameters(array: SystolicArray) -> dict[str, int]:
    """The Verilog parameters of the reference array matching ``array``: R, C, A_W
    (width of A, the operand entering the left edge), B_W, ACC_W, SIGNED, SATURATE."""
    if array.dataflow not in ("os", "ws") or array.pe != "mac":
        raise ValueError(f"the reference RTL has dataflows 'os' and 'ws' with pe='mac'; got "
                         f"dataflow={array.dataflow!r}, pe={array.pe!r}")
    if array.overflow not in (Overflow.WRAP, Overflow.SATURATE):
        raise ValueError("the reference RTL accumulates with overflow 'wrap' or 'saturate'; "
                         f"got {array.overflow.name.lower()!r}")
    return {"R": array.rows, "C": array.cols, "A_W": array.a_bits, "B_W": array.b_bits,
            "ACC_W": array.acc_bits, "SIGNED": int(array.signed),
            "SATURATE": int(array.overflow == Overflow.SATURATE)}


@dataclass
class ArraySchedule:
    """Everything a bench needs to drive and check one GEMM on a reference array.

    Steps t = 0 .. cycles: in step t < cycles the driver presents ``inputs[port][t]`` (the
    packed bus value) before the clock edge that ends cycle t; in every step the monitor
    samples before that edge (after the values settle), where the PE registers hold the
    state at the end of cycle t - 1 (``registers[port][t - 1]``, the simulator's trace)
    and the outputs show ``out_valid[t]`` and, in valid lanes, ``out_data[t]``.
    ``out_index[t, j]`` is the (m, n) of out = A @ B that lane j carries (-1 when not
    valid; in WS the outputs of a K-fold before the last are partial sums).
    """

    dataflow: str
    rows: int
    cols: int
    parameters: dict[str, int]
    cycles: int
    inputs: dict[str, list[int]]
    registers: dict[str, list[int]]
    out_valid: list[int]
    out_data: list[int]
    out_index: np.ndarray
    result: SystolicResult
    widths: dict[str, int] = field(default_factory=dict)

    @property
    def acc_bits(self) -> int:
        return self.parameters["ACC_W"]

    def lane_mask(self, valid: int) -> int:
        """The bits of out_data that belong to the lanes set in ``valid``."""
        w = self.acc_bits
        m = 0
        for j in range(self.cols):
            if valid >> j & 1:
                m |= ((1 << w) - 1) << (j * w)
        return m

    def plane_width(self, plane: str) -> int:
        """Bits per PE of a trace plane's register."""
        return self.widths[ARRAY_PLANES[self.dataflow][plane][0]] // (self.rows * self.cols)


def _bits_of(valid: np.ndarray) -> list[int]:
    return pack_lanes(valid.astype(np.int64), 1)


def array_schedule(array: SystolicArray, A: npt.ArrayLike, B: npt.ArrayLike) -> ArraySchedule:
    """The schedule of out = A @ B on the reference array matching ``array`` (dataflow
    "os" or "ws", pe "mac", overflow wrap or saturate): runs ``array.run(A, B,
    trace=True)`` and lays its folds out cycle by cycle as ``rtl/os_array.v`` and
    ``rtl/ws_array.v`` expect them (their header comments state the protocol)."""
    params = array_parameters(array)
    res = array.run(A, B, trace=True)
    a = np.asarray(A, dtype=np.int64)
    b = np.asarray(B, dtype=np.int64)
    R, C = array.rows, array.cols
    n = res.cycles
    assert res.trace is not None
    steps = n + 1
    out_valid = np.zeros((steps, C), np.int64)
    out_data = np.zeros((steps, C), np.int64)
    out_index = np.full((steps, C, 2), -1, np.int64)
    folds = res.stats["per_fold"]
    if array.dataflow == "os":
        M, K = a.shape
        start = np.zeros((steps, 1), np.int64)
        drain = np.zeros((steps, 1), np.int64)
        a_in = np.zeros((steps, R), np.int64)
        a_v = np.zeros((steps, R), np.int64)
        b_in = np.zeros((steps, C), np.int64)
        b_v = np.zeros((steps, C), np.int64)
        acc = res.trace["acc"]
        for f in folds:
            g0, r0, mr, c0, nc = f["start"], f["row0"], f["rows"], f["col0"], f["cols"]
            start[g0] = 1
            a_in[g0:g0 + K, :mr] = a[r0:r0 + mr, :].T
            a_v[g0:g0 + K, :mr] = 1
            b_in[g0:g0 + K, :nc] = b[:, c0:c0 + nc]
            b_v[g0:g0 + K, :nc] = 1
            d0 = g0 + K + mr + nc - 2
            drain[d0:d0 + R] = 1
            for d in range(R):
                orow = R - 1 - d
                if orow < mr:
                    t = d0 + d
                    out_valid[t, :nc] = 1
                    out_data[t, :nc] = acc[t - 1, R - 1, :nc]
                    out_index[t, :nc, 0] = r0 + orow
                    out_index[t, :nc, 1] = np.arange(c0, c0 + nc)
        inputs = {"start": start, "drain": drain, "a_in": a_in, "a_valid": a_v,
                  "b_in": b_in, "b_valid": b_v}
        widths = {"start": 1, "drain": 1, "a_in": R * array.a_bits, "a_valid": R,
                  "b_in": C * array.b_bits, "b_valid": C}
        lane_w = {"a_in": array.a_bits, "b_in": array.b_bits}
    else:
        T, K = a.shape
        load = np.zeros((steps, 1), np.int64)
        w_in = np.zeros((steps, C), np.int64)
        a_in = np.zeros((steps, R), np.int64)
        a_v = np.zeros((steps, R), np.int64)
        ps_in = np.zeros((steps, C), np.int64)
        ps_v = np.zeros((steps, C), np.int64)
        psum = res.trace["psum"]
        partial = np.zeros((T, b.shape[1]), np.int64)   # the latest K-fold's outputs
        for f in folds:
            g0, k0, kr, c0, nc = f["start"], f["row0"], f["rows"], f["col0"], f["cols"]
            load[g0:g0 + R] = 1
            for p in range(R):
                row = R - 1 - p
                if row < kr:
                    w_in[g0 + p, :nc] = b[k0 + row, c0:c0 + nc]
            s0 = g0 + R
            a_in[s0:s0 + T, :kr] = a[:, k0:k0 + kr]
            a_v[s0:s0 + T, :kr] = 1
            if k0 > 0:
                ps_in[s0:s0 + T, :nc] = partial[:, c0:c0 + nc]
            ps_v[s0:s0 + T, :nc] = 1
            for s in range(f["cycles"] - R):
                cyc = s0 + s
                for j in range(nc):
                    m = s - (R - 1) - j
                    if 0 <= m < T:
                        out_valid[cyc + 1, j] = 1
                        out_data[cyc + 1, j] = psum[cyc, R - 1, j]
                        out_index[cyc + 1, j] = (m, c0 + j)
                        partial[m, c0 + j] = psum[cyc, R - 1, j]
        inputs = {"load": load, "w_in": w_in, "a_in": a_in, "a_valid": a_v,
                  "psum_in": ps_in, "psum_valid": ps_v}
        widths = {"load": 1, "w_in": C * array.b_bits, "a_in": R * array.a_bits,
                  "a_valid": R, "psum_in": C * array.acc_bits, "psum_valid": C}
        lane_w = {"w_in": array.b_bits, "a_in": array.a_bits, "psum_in": array.acc_bits}
    packed = {k: (pack_lanes(v, lane_w[k]) if k in lane_w else _bits_of(v))
              for k, v in inputs.items()}
    regs: dict[str, list[int]] = {}
    plane_w = {"a": array.a_bits, "b": array.b_bits, "acc": array.acc_bits,
               "stationary": array.b_bits, "stream": array.a_bits, "psum": array.acc_bits}
    for plane, (port, _) in ARRAY_PLANES[array.dataflow].items():
        regs[port] = pack_lanes(res.trace[plane].reshape(n, R * C), plane_w[plane])
        widths[port] = R * C * plane_w[plane]
    widths["out_data"] = C * array.acc_bits
    widths["out_valid"] = C
    widths["clk"] = 1
    widths["rst"] = 1
    return ArraySchedule(array.dataflow, R, C, params, n, packed, regs, _bits_of(out_valid),
                         pack_lanes(out_data, array.acc_bits), out_index, res, widths)


def valid_planes(sched: ArraySchedule) -> dict[str, np.ndarray]:
    """The valid bits of every PE at the end of every cycle (cycles x rows x cols, uint8),
    as the reference RTL holds them: OS "a_v", "b_v", "acc_v"; WS "a_v", "ps_v". They
    are not part of the simulator's trace; they follow from the schedule's inputs."""
    from ._bits import unpack_lanes
    R, C, n = sched.rows, sched.cols, sched.cycles
    first = "start" if sched.dataflow == "os" else "load"
    ctl = np.array(sched.inputs[first][:n], dtype=np.int64)
    av_in = unpack_lanes(sched.inputs["a_valid"][:n], R, 1, False)
    other = "b_valid" if sched.dataflow == "os" else "psum_valid"
    ov_in = unpack_lanes(sched.inputs[other][:n], C, 1, False)
    drain = (np.array(sched.inputs["drain"][:n], dtype=np.int64) if sched.dataflow == "os"
             else np.zeros(n, np.int64))
    # skew: row i / column j delayed by i / j cycles
    a_edge = np.zeros((n, R), np.int64)
    for i in range(R):
        a_edge[i:, i] = av_in[:n - i, i] if i < n else 0
    o_edge = np.zeros((n, C), np.int64)
    for j in range(C):
        o_edge[j:, j] = ov_in[:n - j, j] if j < n else 0
    av = np.zeros((R, C), np.int64)
    ov = np.zeros((R, C), np.int64)
    accv = np.zeros((R, C), np.int64)
    out = {k: np.zeros((n, R, C), np.uint8) for k in
           (("a_v", "b_v", "acc_v") if sched.dataflow == "os" else ("a_v", "ps_v"))}
    for t in range(n):
        c = ctl[t]
        if sched.dataflow == "os":
            a_src = np.concatenate([a_edge[t][:, None], av[:, :-1] * (1 - c)], axis=1)
            b_src = np.concatenate([o_edge[t][None, :], ov[:-1, :] * (1 - c)], axis=0)
            if drain[t]:
                accv = np.concatenate([np.zeros((1, C), np.int64), accv[:-1, :]], axis=0)
            else:
                accv = (accv * (1 - c)) | (a_src & b_src)
            av, ov = a_src, b_src
            out["a_v"][t], out["b_v"][t], out["acc_v"][t] = av, ov, accv
        else:
            if c:
                av = np.zeros((R, C), np.int64)
                ov = np.zeros((R, C), np.int64)
            else:
                av = np.concatenate([a_edge[t][:, None], av[:, :-1]], axis=1)
                ov = np.concatenate([o_edge[t][None, :], ov[:-1, :]], axis=0)
            out["a_v"][t], out["ps_v"][t] = av, ov
    return out



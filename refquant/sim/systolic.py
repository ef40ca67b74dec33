"""Cycle-accurate systolic-array simulator: output-, weight- and input-stationary
dataflows, integer MAC PEs with a declared accumulator width and overflow policy, tiling
into folds, conv through im2col, column-combined and term-serial PE variants,
per-cycle register traces, and SCALE-Sim-compatible reporting.

Timing convention (exact; the analytical model ``cycle_model`` equals the simulated
count for every shape, which the tests check)
--------------------------------------------------------------------------------
A GEMM out = A @ B with A: M x K and B: K x N on an R x C array. One cycle = every
register of the array loads its next value at once. Folds run one after another without
overlap (no double buffering), column folds outer, row folds inner.

* OS (output stationary): spatial rows M, spatial columns N, temporal K. Row i of the
  left edge gets A[., k] at cycle k + i, column j of the top edge gets B[k, .] at
  cycle k + j (the skew); PE (i, j) multiplies at cycle k + i + j. After the last MAC
  the accumulators drain down the columns, one row per cycle, into the output SRAM.
  Fold cycles = K + rows + cols - 2 (fill + compute) + R (drain).
* WS (weight stationary): spatial rows K, spatial columns N, temporal M. Weights are
  preloaded through the columns in R cycles; activations enter row i with skew i,
  partial sums flow down and leave the bottom row; a K-fold after the first reads the
  previous fold's partial sums back into the top of the columns.
  Fold cycles = R (preload) + M + R + cols - 2.
* IS (input stationary): spatial rows K, spatial columns M, temporal N; the WS timing
  with A stationary and B streamed. Fold cycles = R + N + R + cols - 2.
* Term-serial / bit-serial PEs (WS and IS): a PE spends one cycle per term of its
  stationary operand; the lockstep array stretches every beat of a fold to
  tau = max(1, max terms in the fold). Fold cycles = R + tau * (T + R + cols - 2).

Arithmetic: every output is accumulated in ascending k, acc = policy(acc + a * b) at
every addition, with a two's-complement accumulator of ``acc_bits`` bits: WRAP keeps the
low bits, SATURATE clamps to [-2^(acc_bits-1), 2^(acc_bits-1) - 1], RAISE raises
OverflowError at the first addition that leaves the range (naming output element, k and
cycle). Products are exact. WRAP and SATURATE are the GEMM rule of
``refquant.intops.gemm`` (saturation after every addition, ascending k; the tests
compare with it and with a Python-int reference). RAISE differs on purpose: it models a
hardware overflow flag and stops at the first addition that leaves the range, while
``intops.gemm(overflow="raise")`` checks the exact final sums; every input that
``intops.gemm`` rejects is rejected here too, but a sum that leaves the range and comes
back raises here only. Without overflow the result equals the exact integer GEMM.

SCALE-Sim (ARM-software/SCALE-Sim, scalesim-project/scale-sim-v2, PyPI scalesim 3.0.0)
--------------------------------------------------------------------------------------
Read from scalesim 3.0.0's compute/systolic_compute_{os,ws,is}.py, single_layer_sim.py
and memory/double_buffered_scratchpad_mem.py; ``scalesim_report`` reproduces:
* mapping (Sr, Sc, T): OS (M, N, K), WS (K, N, M), IS (K, M, N); folds =
  ceil(Sr/R) * ceil(Sc/C), column folds outer.
* per-fold cycles (length of the per-fold demand matrices): OS R + C + T - 2, WS and IS
  2R + C + T - 2 (the paper, Samajdar et al. 2018/2020, gives 2R + C + T - 2 for OS too);
  "compute_cycles" = folds * per-fold - 1 (the simulator reports the last serviced
  cycle index, not a count).
* "overall_util" = 100 * M*N*K / (compute_cycles * R * C) (percent).
* "mapping_efficiency" = 100 * mean over folds of rows_used * cols_used / (R * C).
* "compute_util" = 100 * mean over folds of rows_used*cols_used*T / (R*C*c_f) with
  c_f = (demand rows + demand columns - 1) of the fold's last operand matrix:
  OS R + C + T - 2, WS and IS 2R + 2C + T - 3 (a second quirk: not the per-fold cycles).
* SRAM requests: OS ifmap ceil(N/C)*M*K, filter ceil(M/R)*K*N, ofmap M*N plus
  (R + C) per fold (the code adds rows + columns of the padded fold once more);
  WS ifmap ceil(N/C)*M*K, filter K*N, ofmap ceil(K/R)*M*N; IS ifmap M*K,
  filter ceil(M/C)*K*N, ofmap ceil(K/R)*M*N. Average bandwidths = requests /
  compute_cycles.

Column combining follows Kung, McDanel & Zhang, "Packing Sparse Convolutional Neural
Networks for Efficient Systolic Array Implementations: Column Combining Under Joint
Optimization" (ASPLOS 2019): each cell holds one packed weight and a multiplexer index
that selects one of the alpha input channels streamed into its row.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._lazy import kernels as _lazy_kernels
_k = _lazy_kernels("systolic")
from .. import intops as _intops
from .. import pow2 as _pow2
from ..modes import Overflow, as_overflow

__all__ = ["SystolicArray", "SystolicResult", "cycle_model", "scalesim_report", "im2col",
           "load_layers", "term_counts", "conv_output_size", "FoldCycles", "DATAFLOWS",
           "ENCODINGS", "MAX_BYTES", "MAX_WORK"]

DATAFLOWS = ("os", "ws", "is")
ENCODINGS = {"binary": 0, "csd": 1, "bits": 2}
PE_KINDS = ("mac", "term_serial", "bit_serial")
MAX_DIM = 2 ** 62          # largest GEMM dimension or array side (int64 arithmetic)
MAX_BYTES = 2 ** 32        # default memory limit of a register-level run (4 GiB)
MAX_WORK = 10 ** 10        # default work limit of a register-level run (``estimate``)
CYCLE_COST = 100           # fixed cost of a simulated cycle, in PE-cycle units (about 5 ns each)
FOLD_COST = 10_000         # fixed cost of a simulated fold, in PE-cycle units


def _check_int(value, name, lo=1, hi=None):
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        top = "2**62" if hi == MAX_DIM else hi
        rng = f"{lo}..{top}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name}={value} out of range; allowed {rng}")
    return int(value)


def _size(nbytes, exact=True):
    """A byte count for messages: '7.28 TiB (8000000000000 bytes)' ('7.28 TiB' with
    exact=False)."""
    v, unit = float(nbytes), "bytes"
    for u in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if v < 1024:
            break
        v, unit = v / 1024, u
    if unit == "bytes":
        return f"{nbytes} bytes"
    return f"{v:.3g} {unit} ({nbytes} bytes)" if exact else f"{v:.3g} {unit}"


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def _check_dataflow(dataflow):
    df = str(dataflow).lower() if isinstance(dataflow, str) else dataflow
    if df not in DATAFLOWS:
        raise ValueError(f"dataflow={dataflow!r} unknown; allowed: 'os', 'ws', 'is'")
    return df


def _mapping(dataflow, M, N, K):
    """(spatial rows, spatial cols, temporal) of a GEMM under a dataflow."""
    return {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]


def _fold_groups(Sr, Sc, R, C):
    """The folds of an Sr x Sc spatial mapping on an R x C array as at most four groups
    ((rows_used, cols_used), count): full folds, the short last row fold, the short last
    column fold and their corner. Memory and time do not depend on the number of folds."""
    nfr, nfc = -(-Sr // R), -(-Sc // C)
    rl, cl = Sr - (nfr - 1) * R, Sc - (nfc - 1) * C   # rows / cols of the last folds
    groups = {}
    for r, nr in ((R, nfr - 1), (rl, 1)):
        for c, nc in ((C, nfc - 1), (cl, 1)):
            if nr * nc:
                groups[(r, c)] = groups.get((r, c), 0) + nr * nc
    return list(groups.items())


class FoldCycles(Sequence):
    """Per-fold cycle counts of a GEMM in fold order (column folds outer, row folds
    inner), computed on access: a read-only sequence of ints whose memory does not grow
    with the number of folds. Compares equal to any sequence of the same ints; slicing
    gives a list."""

    def __init__(self, nfr, nfc, R, C, Sr, Sc, cycles_of):
        self._nfr, self._nfc, self._R, self._C, self._Sr, self._Sc = nfr, nfc, R, C, Sr, Sc
        self._f = cycles_of

    def __len__(self):
        return self._nfr * self._nfc

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"fold index must be an int, got {type(i).__name__}")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"fold index out of range (there are {n} folds)")
        fc, fr = divmod(int(i), self._nfr)
        return self._f(min(self._R, self._Sr - fr * self._R), min(self._C, self._Sc - fc * self._C))

    def __eq__(self, other):
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other))

    __hash__ = None

    def __repr__(self):
        head = ", ".join(str(v) for v in self[:8])
        return f"FoldCycles([{head}{', ...' if len(self) > 8 else ''}], folds={len(self)})"


def _layout(M, N, K, rows, cols, dataflow):
    """Validated (M, N, K, R, C, dataflow, Sr, Sc, T, fold groups) of a GEMM on an array."""
    M, N, K = (_check_int(v, n, hi=MAX_DIM) for v, n in ((M, "M"), (N, "N"), (K, "K")))
    R = _check_int(rows, "rows", hi=MAX_DIM)
    C = _check_int(cols, "cols", hi=MAX_DIM)
    df = _check_dataflow(dataflow)
    Sr, Sc, T = _mapping(df, M, N, K)
    return M, N, K, R, C, df, Sr, Sc, T, _fold_groups(Sr, Sc, R, C)


def _check_beats(beats, nfolds, df):
    """beats as None (all 1), an int, or a list with one int >= 1 per fold."""
    def one(b, what):
        if not isinstance(b, (int, np.integer)) or isinstance(b, (bool, np.bool_)):
            raise TypeError(f"{what} must be an int >= 1, got {type(b).__name__}")
        if b < 1:
            raise ValueError(f"{what}={int(b)} out of range; allowed >= 1")
        return int(b)
    if beats is None:
        return None
    if np.ndim(beats) == 0:
        b = one(beats, "beats")
        if df == "os" and b != 1:
            raise ValueError("beats other than 1 apply to the 'ws' and 'is' dataflows only")
        return b
    beats = [one(b, "beats[i]") for b in beats]
    if len(beats) != nfolds:
        raise ValueError(f"beats has {len(beats)} entries; the GEMM has {nfolds} folds")
    if df == "os" and any(b != 1 for b in beats):
        raise ValueError("beats other than 1 apply to the 'ws' and 'is' dataflows only")
    return beats


def cycle_model(M, N, K, rows, cols, dataflow="os", beats=None):
    """Analytical cycle count of ``SystolicArray.run`` (see the module's timing convention).

    Returns (total cycles, per-fold cycles in fold order). ``beats``: cycles per systolic
    beat (ints >= 1), one int for every fold or a list with one per fold (term-serial
    PEs; WS/IS only); default 1. Without a per-fold list the per-fold cycles come as a
    ``FoldCycles`` sequence and the total is formed from the (at most four) distinct fold
    shapes, so time and memory do not depend on the number of folds.
    OS fold: K + rows + cols - 2 + R. WS fold: R + beat * (M + R + cols - 2).
    IS fold: R + beat * (N + R + cols - 2).
    """
    M, N, K, R, C, df, Sr, Sc, T, groups = _layout(M, N, K, rows, cols, dataflow)
    nf = sum(n for _, n in groups)
    beats = _check_beats(beats, nf, df)
    if df == "os":
        def per(r, c, b=1):
            return T + r + c - 2 + R
    else:
        def per(r, c, b=1):
            return R + b * (T + R + c - 2)
    if isinstance(beats, list):
        nfr = -(-Sr // R)
        out = []
        for i, b in enumerate(beats):
            fc, fr = divmod(i, nfr)
            out.append(per(min(R, Sr - fr * R), min(C, Sc - fc * C), b))
        return sum(out), out
    b = 1 if beats is None else beats
    total = sum(n * per(r, c, b) for (r, c), n in groups)
    return total, FoldCycles(-(-Sr // R), -(-Sc // C), R, C, Sr, Sc, lambda r, c: per(r, c, b))


def scalesim_report(M, N, K, rows, cols, dataflow="os"):
    """The figures SCALE-Sim (scalesim 3.0.0, no stalls) reports for a GEMM layer
    "name, M, N, K," on a rows x cols array; formulas and quirks in the module docstring.
    (For a convolution layer pass SCALE-Sim's M, ``load_layers``' "scalesim_M".)

    Keys: compute_cycles, per_fold_cycles, folds, overall_util, mapping_efficiency,
    compute_util (percent), ifmap_sram_reads, filter_sram_reads, ofmap_sram_writes,
    avg_ifmap_sram_bw, avg_filter_sram_bw, avg_ofmap_sram_bw (words per cycle),
    paper_compute_cycles (folds * (2R + C + T - 2) - 1, the paper's per-fold formula).
    Ratios are formed from exact integer sums (one rounding each).
    """
    M, N, K, R, C, df, Sr, Sc, T, groups = _layout(M, N, K, rows, cols, dataflow)
    nf = sum(n for _, n in groups)
    used = sum(r * c * n for (r, c), n in groups)   # PEs used, summed over folds
    fr, fcn = -(-Sr // R), -(-Sc // C)
    per = R + C + T - 2 if df == "os" else 2 * R + C + T - 2
    cf = R + C + T - 2 if df == "os" else 2 * R + 2 * C + T - 3
    cycles = nf * per - 1
    if df == "os":
        ifr, flr, ofw = fcn * M * K, fr * K * N, M * N + nf * (R + C)
    elif df == "ws":
        ifr, flr, ofw = fcn * M * K, K * N, fr * M * N
    else:
        ifr, flr, ofw = M * K, fcn * K * N, fr * M * N
    return {"compute_cycles": cycles, "per_fold_cycles": per, "folds": nf,
            "overall_util": 100 * M * N * K / (cycles * R * C),
            "mapping_efficiency": 100 * used / (R * C * nf),
            "compute_util": 100 * used * T / (R * C * cf * nf),
            "ifmap_sram_reads": ifr, "filter_sram_reads": flr, "ofmap_sram_writes": ofw,
            "avg_ifmap_sram_bw": ifr / cycles, "avg_filter_sram_bw": flr / cycles,
            "avg_ofmap_sram_bw": ofw / cycles,
            "paper_compute_cycles": nf * (2 * R + C + T - 2) - 1}


def term_counts(values, encoding="csd", bits=8):
    """Cycles a term-serial PE spends on each integer: "binary" the set bits of |v|,
    "csd" the nonzero digits of v's canonical signed-digit (non-adjacent) form,
    "bits" ``bits`` for every value (bit-serial). Returns int64 of values' shape.
    The counts are those of ``refquant.pow2.term_counts`` ("csd" is its "naf")."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding={encoding!r} unknown; allowed: {', '.join(ENCODINGS)}")
    v = np.asarray(values)
    if encoding == "bits":
        return np.full(v.shape, int(bits), dtype=np.int64)
    return _pow2.term_counts(v, "naf" if encoding == "csd" else "binary")


def im2col(x, kh, kw, stride=1, padding=0, *, max_bytes=_intops.MAX_BYTES):
    """Patches of x (N, C, H, W) as GEMM rows: (N*OH*OW, C*kh*kw), columns ordered
    (c, i, j) like ``w.reshape(F, -1)`` of a (F, C, kh, kw) kernel; zero padding on every
    side; OH = (H + 2*padding - kh) // stride + 1 (the same for W). Returns (cols, OH, OW).
    The patches are ``refquant.intops.im2col``'s, transposed to one row per output pixel;
    ``max_bytes`` bounds their memory as there (None: no limit)."""
    stride = _check_int(stride, "stride")
    padding = _check_int(padding, "padding", lo=0)
    cols, oh, ow = _intops.im2col(x, kh, kw, stride=stride, padding=padding, max_bytes=max_bytes)
    n, ckk = cols.shape[:2]
    return cols.transpose(0, 2, 3, 1).reshape(n * oh * ow, ckk), oh, ow


@dataclass
class SystolicResult:
    """Result of ``SystolicArray.run``.

    output: int64 array (M x N for a GEMM; N x F x OH x OW for a conv).
    cycles: total cycles of the run (the convention in the module docstring).
    stats: dict — cycles, macs, folds, pe_cycles (cycles * rows * cols), utilization
      (macs / pe_cycles), mapping_efficiency (mean over folds of used PEs / all PEs),
      busy_pe_cycles (term-serial: PE-cycles spent on terms; else = macs),
      sram_reads {"A", "B", "psum"}, sram_writes {"out"}, per_fold: list of dicts
      (row0, rows, col0, cols in the dataflow's spatial dimensions, start, cycles, macs,
      beat, busy, utilization, mapping_efficiency, reads_A, reads_B, reads_psum,
      writes_out).
    trace: None, or a dict of per-cycle register planes (cycles x rows x cols; OS:
      "a", "b", "acc"; WS/IS: "stationary", "stream", "psum"; column-combined:
      "stationary", "selected", "psum"), the state at the end of every cycle.
    """

    output: np.ndarray
    cycles: int
    stats: dict
    trace: dict | None = None
    dataflow: str = "os"
    rows: int = 1
    cols: int = 1


def _stats(folds, cycles, R, C, names):
    per = []
    for row in folds:
        d = {"row0": int(row[_k.FOLD_ROW0]), "rows": int(row[_k.FOLD_ROWS]),
             "col0": int(row[_k.FOLD_COL0]), "cols": int(row[_k.FOLD_COLS]),
             "start": int(row[_k.FOLD_START]), "cycles": int(row[_k.FOLD_CYCLES]),
             "macs": int(row[_k.FOLD_MACS]), "beat": int(row[_k.FOLD_BEAT]),
             "busy": int(row[_k.FOLD_BUSY]), "reads_psum": int(row[_k.FOLD_PSUM_READS]),
             "writes_out": int(row[_k.FOLD_OUT_WRITES])}
        d[f"reads_{names[0]}"] = int(row[_k.FOLD_A_READS])
        d[f"reads_{names[1]}"] = int(row[_k.FOLD_B_READS])
        d["utilization"] = d["macs"] / (d["cycles"] * R * C)
        d["mapping_efficiency"] = d["rows"] * d["cols"] / (R * C)
        per.append(d)
    macs = sum(d["macs"] for d in per)
    return {"cycles": int(cycles), "macs": macs, "folds": len(per),
            "pe_cycles": int(cycles) * R * C, "utilization": macs / (cycles * R * C),
            "mapping_efficiency": sum(d["rows"] * d["cols"] for d in per) / (R * C * len(per)),
            "busy_pe_cycles": sum(d["busy"] for d in per),
            "sram_reads": {"A": sum(d["reads_A"] for d in per),
                           "B": sum(d["reads_B"] for d in per),
                           "psum": sum(d["reads_psum"] for d in per)},
            "sram_writes": {"out": sum(d["writes_out"] for d in per)},
            "per_fold": per}


class SystolicArray:
    """An R x C systolic array of integer MAC processing elements, simulated register by
    register, cycle by cycle (Numba kernels step the register arrays).

    rows, cols: array size (>= 1). dataflow: "os", "ws" or "is". a_bits, b_bits (1..32)
    and signed: the operand widths; values outside [-2^(b-1), 2^(b-1)-1] (signed) or
    [0, 2^b - 1] (unsigned) raise ValueError (no truncation); unsigned widths need
    a_bits + b_bits <= 62. acc_bits (1..62): the two's-complement accumulator / partial
    sum width. overflow: "wrap", "saturate" or "raise" (see the module docstring).
    pe: "mac" (single-cycle MAC), "term_serial" (one cycle per nonzero term of the
    stationary operand in ``encoding`` "csd" or "binary"; dataflows ws/is) or
    "bit_serial" (one cycle per bit of the stationary operand's width). encoding
    applies to pe="term_serial" only (default "csd"); giving it with another pe raises
    ValueError.
    Timing, statistics and SCALE-Sim conventions: module docstring of
    ``refquant.sim.systolic``.

    Register-level runs (``run``, ``run_conv``, ``run_column_combined``,
    ``run_layers(simulate=True)``) first estimate what they need (``estimate``) and
    raise ValueError, naming the estimate, when it exceeds ``max_bytes`` (default
    ``MAX_BYTES``, 4 GiB: operands, output, trace) or ``max_work`` (default
    ``MAX_WORK`` = 10^10 PE-cycle units of about 5 ns, under a minute); pass larger
    values to allow such runs. ``model`` and ``scalesim_report`` are analytical: constant time and
    memory for any size.
    """

    def __init__(self, rows, cols, dataflow="os", a_bits=8, b_bits=8, signed=True,
                 acc_bits=32, overflow="wrap", pe="mac", encoding=None):
        self.rows = _check_int(rows, "rows", hi=MAX_DIM)
        self.cols = _check_int(cols, "cols", hi=MAX_DIM)
        self.dataflow = _check_dataflow(dataflow)
        self.a_bits = _check_int(a_bits, "a_bits", 1, 32)
        self.b_bits = _check_int(b_bits, "b_bits", 1, 32)
        if not isinstance(signed, (bool, np.bool_)):
            raise TypeError(f"signed must be a bool, got {type(signed).__name__}")
        self.signed = bool(signed)
        if not self.signed and self.a_bits + self.b_bits > 62:
            raise ValueError(f"a_bits + b_bits = {self.a_bits + self.b_bits} out of range for "
                             "unsigned operands; allowed <= 62 (exact int64 products)")
        self.acc_bits = _check_int(acc_bits, "acc_bits", 1, 62)
        ov = as_overflow(overflow)
        if ov not in (Overflow.WRAP, Overflow.SATURATE, Overflow.RAISE):
            raise ValueError(f"overflow={overflow!r} not allowed; allowed: 'wrap', 'saturate', 'raise'")
        self.overflow = ov
        if pe not in PE_KINDS:
            raise ValueError(f"pe={pe!r} unknown; allowed: {', '.join(PE_KINDS)}")
        if pe != "mac" and self.dataflow == "os":
            raise ValueError(f"pe={pe!r} needs a stationary operand; allowed dataflows 'ws', 'is'")
        if encoding is not None and encoding not in ("csd", "binary"):
            raise ValueError(f"encoding={encoding!r} unknown; allowed: 'csd', 'binary'")
        if encoding is not None and pe != "term_serial":
            raise ValueError(f"encoding={encoding!r} applies to pe='term_serial' only "
                             f"(pe={pe!r})")
        self.pe = pe
        self.encoding = {"mac": None, "bit_serial": "bits"}.get(pe, encoding or "csd")

    def __repr__(self):
        return (f"SystolicArray({self.rows}, {self.cols}, dataflow={self.dataflow!r}, "
                f"a_bits={self.a_bits}, b_bits={self.b_bits}, signed={self.signed}, "
                f"acc_bits={self.acc_bits}, overflow={self.overflow.name.lower()!r}, pe={self.pe!r})")

    # ---------------------------------------------------------------- validation
    def _range(self, bits):
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)

    def _operand(self, x, name, bits):
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind not in "iub":
            if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                pass
            else:
                raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
        if arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"{name} has an empty dimension: shape {arr.shape}")
        lo, hi = self._range(bits)
        mn, mx = arr.min(), arr.max()
        if mn < lo or mx > hi:
            bad = mn if mn < lo else mx
            raise ValueError(f"{name} holds {int(bad)}, outside the {'signed' if self.signed else 'unsigned'} "
                             f"{bits}-bit operand range [{lo}, {hi}] ({name[0].lower()}_bits={bits})")
        return np.ascontiguousarray(arr, dtype=np.int64)

    def _operands(self, A, B):
        A = self._operand(A, "A", self.a_bits)
        B = self._operand(B, "B", self.b_bits)
        if A.shape[1] != B.shape[0]:
            raise ValueError(f"B has {B.shape[0]} rows but A has {A.shape[1]} columns (K must match)")
        return A, B

    def _fits_int32(self):
        """Whether every operand and accumulator value fits int32: the kernels then keep
        their register planes in int32 (half the memory traffic) and still form every
        sum in int64, so results and overflow behaviour are the same."""
        return self.acc_bits <= 32 and max(self.a_bits, self.b_bits) <= (32 if self.signed else 31)

    def _acc(self):
        return -(1 << (self.acc_bits - 1)), (1 << (self.acc_bits - 1)) - 1, int(self.overflow)

    def _trace_buf(self, ncycles, trace):
        if not trace:
            return np.zeros((0, 3, 1, 1), np.int64)
        return np.zeros((ncycles, 3, self.rows, self.cols), np.int64)

    def estimate(self, M, N, K, trace=False, cycles=None):
        """What a register-level run of an (M x K) by (K x N) GEMM needs, from the
        analytical model, allocating nothing: a dict with "cycles" (``cycle_model`` with
        one cycle per beat, or ``cycles`` if given), "folds", "pe_cycles" (cycles x rows
        x cols), "work" (the simulation's cost in PE-cycle units of about 5 ns: pe_cycles
        + CYCLE_COST x cycles + FOLD_COST x folds, the kernels' fixed costs per cycle and
        per fold), "trace_bytes" (trace=True: cycles x 3 planes x rows x cols int64
        registers, else 0) and "bytes" (16 (M K + K N) for the operand copies, 16 M N
        for the output, 128 per fold for the fold table, plus trace_bytes)."""
        total = self.cycle_model(M, N, K) if cycles is None else int(cycles)
        R, C = self.rows, self.cols
        Sr, Sc, _ = _mapping(self.dataflow, M, N, K)
        folds = -(-Sr // R) * -(-Sc // C)
        trace_bytes = 24 * total * R * C if trace else 0
        nbytes = 16 * (M * K + K * N) + 16 * M * N + 128 * folds + trace_bytes
        return {"cycles": total, "folds": folds, "pe_cycles": total * R * C,
                "work": total * (R * C + CYCLE_COST) + FOLD_COST * folds,
                "trace_bytes": trace_bytes, "bytes": nbytes}

    def check_run(self, M, N, K, trace=False, max_bytes=None, max_work=None,
                  cycles=None, what=None, extra_bytes=0):
        """Raise ValueError if a register-level run of this GEMM would need more than
        ``max_bytes`` (default ``MAX_BYTES``) or ``max_work`` (default
        ``MAX_WORK``) by ``estimate`` (plus ``extra_bytes`` the caller allocates
        for it); the message names the estimate and the keyword that allows it.
        Returns the estimate."""
        max_bytes = MAX_BYTES if max_bytes is None else _check_int(max_bytes, "max_bytes")
        max_work = MAX_WORK if max_work is None else _check_int(max_work, "max_work")
        est = self.estimate(M, N, K, trace=trace, cycles=cycles)
        est["bytes"] += int(extra_bytes)
        what = what or f"a register-level run of the GEMM M={M}, N={N}, K={K}"
        R, C = self.rows, self.cols
        if est["bytes"] > max_bytes:
            part = (f", of which the trace {_size(est['trace_bytes'])}"
                    if est["trace_bytes"] else "")
            raise ValueError(
                f"{what} needs about {_size(est['bytes'])}{part}, above "
                f"max_bytes={max_bytes} ({_size(max_bytes, False)}); pass a larger max_bytes "
                f"(--max-bytes) to allow it")
        if est["work"] > max_work:
            raise ValueError(
                f"{what} takes {est['cycles']} cycles in {est['folds']} folds on the {R}x{C} "
                f"array, an estimated work of {est['work']:.3g} PE-cycle units (about "
                f"{est['work'] * 5e-9:.3g} s), above max_work={max_work:.3g}; pass a larger "
                f"max_work (--max-work) to allow it, or use the analytical model for the "
                f"statistics")
        return est

    def _raise(self, err, what="A @ B"):
        m, n, k = int(err[3]), int(err[4]), int(err[5])
        if self.dataflow == "is" and what == "A @ B":
            m, n = n, m
        raise OverflowError(f"{self.acc_bits}-bit accumulator overflow in {what}: output "
                            f"[{m}, {n}] at k={k}, cycle {int(err[1])} (fold {int(err[2])})")

    # ---------------------------------------------------------------- models
    def beats(self, A, B):
        """Cycles per beat of each fold: 1 for MAC PEs; term-serial PEs: max(1, max term
        count of the fold's stationary operand)."""
        if self.pe == "mac":
            return None
        A, B = self._operands(A, B)
        W = B if self.dataflow == "ws" else A.T
        nt = term_counts(W, self.encoding, self.b_bits if self.dataflow == "ws" else self.a_bits)
        R, C = self.rows, self.cols
        out = []
        for fc in range(-(-W.shape[1] // C)):
            for fr in range(-(-W.shape[0] // R)):
                blk = nt[fr * R:(fr + 1) * R, fc * C:(fc + 1) * C]
                out.append(max(1, int(blk.max())))
        return out

    def cycle_model(self, M, N, K, beats=None):
        """Analytical total cycles of a run of an M x K by K x N GEMM (``cycle_model``)."""
        return cycle_model(M, N, K, self.rows, self.cols, self.dataflow, beats)[0]

    def model(self, M, N, K):
        """Analytical statistics of a dense run with single-cycle PEs (no zero operand
        skipped): the same keys as ``run(...).stats`` except per_fold, whose cycles come
        as "per_fold_cycles" (a ``FoldCycles`` sequence). Constant time and memory for
        any M, N, K (closed forms over the at most four distinct fold shapes)."""
        total, per = cycle_model(M, N, K, self.rows, self.cols, self.dataflow)
        R, C = self.rows, self.cols
        Sr, Sc, T = _mapping(self.dataflow, M, N, K)
        groups = _fold_groups(Sr, Sc, R, C)
        nfold = sum(n for _, n in groups)
        nfr, nfc = -(-Sr // R), -(-Sc // C)
        macs = M * N * K
        if self.dataflow == "os":
            reads = {"A": nfc * M * K, "B": nfr * K * N, "psum": 0}
            writes = M * N
        elif self.dataflow == "ws":
            reads = {"A": nfc * M * K, "B": K * N, "psum": (nfr - 1) * M * N}
            writes = nfr * M * N
        else:
            reads = {"A": M * K, "B": nfc * K * N, "psum": (nfr - 1) * M * N}
            writes = nfr * M * N
        return {"cycles": total, "macs": macs, "folds": nfold, "pe_cycles": total * R * C,
                "utilization": macs / (total * R * C),
                "mapping_efficiency": sum(r * c * n for (r, c), n in groups) / (R * C * nfold),
                "busy_pe_cycles": macs, "sram_reads": reads, "sram_writes": {"out": writes},
                "per_fold_cycles": per}

    def scalesim_report(self, M, N, K):
        """SCALE-Sim's figures for this array and dataflow (``scalesim_report``)."""
        return scalesim_report(M, N, K, self.rows, self.cols, self.dataflow)

    # ---------------------------------------------------------------- runs
    def run(self, A, B, trace=False, *, max_bytes=None, max_work=None):
        """Simulate out = A @ B (A: M x K, B: K x N integer matrices) cycle by cycle.

        Returns a ``SystolicResult``; ``trace=True`` also records every register
        (cycles x 3 planes x rows x cols int64). Before allocating, the run's needs are
        checked against ``max_bytes`` and ``max_work`` (``check_run``; defaults
        ``MAX_BYTES``, ``MAX_WORK``): ValueError naming the estimate if exceeded."""
        trace = _check_bool(trace, "trace")
        A, B = self._operands(A, B)
        M, K = A.shape
        N = B.shape[1]
        beats = self.beats(A, B)
        total = self.cycle_model(M, N, K, beats)
        self.check_run(M, N, K, trace, max_bytes, max_work, cycles=total)
        lo, hi, pol = self._acc()
        R, C = self.rows, self.cols
        err = np.zeros(6, np.int64)
        tr = self._trace_buf(total, trace)
        if self._fits_int32():
            A, B = A.astype(np.int32), B.astype(np.int32)
        if self.dataflow == "os":
            nf = -(-M // R) * -(-N // C)
            folds = np.zeros((nf, _k.NFOLD), np.int64)
            out = np.zeros((M, N), np.int64)
            cyc = _k.os_gemm(A, B, R, C, lo, hi, pol, out, folds, tr, err)
            names, planes = ("A", "B"), ("a", "b", "acc")
        else:
            S, W = (A, B) if self.dataflow == "ws" else (np.ascontiguousarray(B.T), np.ascontiguousarray(A.T))
            nf = -(-W.shape[0] // R) * -(-W.shape[1] // C)
            folds = np.zeros((nf, _k.NFOLD), np.int64)
            out = np.zeros((S.shape[0], W.shape[1]), np.int64)
            if self.pe == "mac":
                nt, mode = np.zeros((1, 1), np.int64), 0
            else:
                bits = self.b_bits if self.dataflow == "ws" else self.a_bits
                nt, mode = term_counts(W, self.encoding, bits), 1
            cyc = _k.ws_gemm(S, W, nt, mode, R, C, lo, hi, pol, out, folds, tr, err)
            names = ("A", "B") if self.dataflow == "ws" else ("B", "A")
            planes = ("stationary", "stream", "psum")
            if self.dataflow == "is":
                out = out.T.copy()
        if err[0]:
            self._raise(err)
        stats = _stats(folds, cyc, R, C, names)
        trd = None
        if trace:
            trd = {p: tr[:cyc, i].copy() for i, p in enumerate(planes)}
        return SystolicResult(out, int(cyc), stats, trd, self.dataflow, R, C)

    def run_conv(self, x, w, stride=1, padding=0, trace=False, *, max_bytes=None,
                 max_work=None):
        """Convolution (cross-correlation, as in deep-learning frameworks) of x (N, C, H, W)
        with w (F, C, kh, kw) through im2col: A = im2col(x) (N*OH*OW x C*kh*kw),
        B = w.reshape(F, -1).T; output reshaped to (N, F, OH, OW). Zero padding. The
        GEMM's needs (and the im2col matrix's 8 N OH OW C kh kw bytes) are checked as in
        ``run`` before anything is allocated."""
        trace = _check_bool(trace, "trace")
        x = np.asarray(x)
        w = np.asarray(w)
        if w.ndim != 4:
            raise ValueError(f"w must be (F, C, kh, kw), got shape {w.shape}")
        if x.ndim != 4 or x.shape[1] != w.shape[1]:
            raise ValueError(f"x must be (N, C, H, W) with C = {w.shape[1]} (w's channels), got {x.shape}")
        stride = _check_int(stride, "stride")
        padding = _check_int(padding, "padding", lo=0)
        F, ch, kh, kw = w.shape
        oh = (x.shape[2] + 2 * padding - kh) // stride + 1
        ow = (x.shape[3] + 2 * padding - kw) // stride + 1
        if min(oh, ow, x.shape[0], F, ch * kh * kw) >= 1:
            M, K = x.shape[0] * oh * ow, ch * kh * kw
            if self.pe == "mac":   # term-serial cycles need the operands; run checks them
                self.check_run(M, F, K, trace, max_bytes, max_work, extra_bytes=8 * M * K,
                               what=f"the convolution as GEMM M={M}, N={F}, K={K} "
                                    f"(im2col matrix included)")
        cols, oh, ow = im2col(x, kh, kw, stride, padding,
                              max_bytes=MAX_BYTES if max_bytes is None else max_bytes)
        res = self.run(cols, w.reshape(w.shape[0], -1).T, trace=trace, max_bytes=max_bytes,
                       max_work=max_work)
        res.output = res.output.reshape(x.shape[0], oh, ow, w.shape[0]).transpose(0, 3, 1, 2).copy()
        return res

    def run_column_combined(self, A, packed, select=None, trace=False, *, max_bytes=None,
                            max_work=None):
        """Column-combined weight-stationary run (dataflow "ws", pe "mac").

        ``packed``: (N filters x G groups) packed weights, or an object with ``.packed``
        and ``.select`` (``refquant.sparse.column_combine``'s result); ``select``: (N x G)
        original input-channel index of each packed weight (-1: empty). The array's rows
        are the groups: row g streams the input channels of group g (the distinct
        channels its column selects, ascending; at most alpha of them), cell (g, n) holds
        packed[n, g] and its multiplexer picks channel select[n, g]. The result equals
        A @ W.T with W the (N x K) pruned dense matrix W[n, select[n, g]] = packed[n, g].
        Statistics as ``run``; "macs" counts non-empty cells with a valid input. Limits
        (``max_bytes``, ``max_work``) as in ``run``.
        """
        trace = _check_bool(trace, "trace")
        if self.dataflow != "ws" or self.pe != "mac":
            raise ValueError("run_column_combined needs dataflow='ws' and pe='mac'")
        if select is None:
            if not (hasattr(packed, "packed") and hasattr(packed, "select")):
                raise TypeError("packed must have .packed and .select, or pass select")
            packed, select = packed.packed, packed.select
        A = self._operand(A, "A", self.a_bits)
        P = self._operand(packed, "packed", self.b_bits)
        sel = np.asarray(select)
        if sel.shape != P.shape:
            raise ValueError(f"select has shape {sel.shape}; packed has {P.shape}")
        if sel.dtype.kind not in "iu":
            raise TypeError(f"select must hold integers, got dtype {sel.dtype}")
        sel = sel.astype(np.int64)
        K = A.shape[1]
        if sel.size and (sel.min() < -1 or sel.max() >= K):
            raise ValueError(f"select holds channel indices outside [-1, {K - 1}] (A has K={K})")
        n, G = P.shape
        chans = [np.unique(sel[:, g][sel[:, g] >= 0]) for g in range(G)]
        alpha = max(1, max((len(c) for c in chans), default=1))
        chan = np.full((G, alpha), -1, np.int64)
        mux = np.full((G, n), -1, np.int64)
        for g, c in enumerate(chans):
            chan[g, :len(c)] = c
            for f in range(n):
                if sel[f, g] >= 0:
                    mux[g, f] = int(np.searchsorted(c, sel[f, g]))
        Pt = np.ascontiguousarray(np.where(sel >= 0, P, 0).T)
        R, C = self.rows, self.cols
        total = cycle_model(A.shape[0], n, G, R, C, "ws")[0]
        self.check_run(A.shape[0], n, G, trace, max_bytes, max_work, cycles=total,
                       what=f"the column-combined run (M={A.shape[0]}, N={n}, G={G})")
        tr = self._trace_buf(total, trace)
        nf = -(-G // R) * -(-n // C)
        folds = np.zeros((nf, _k.NFOLD), np.int64)
        out = np.zeros((A.shape[0], n), np.int64)
        err = np.zeros(6, np.int64)
        lo, hi, pol = self._acc()
        cyc = _k.ws_cc_gemm(A, Pt, mux, chan, R, C, lo, hi, pol, out, folds, tr, err)
        if err[0]:
            self._raise(err, "the column-combined product")
        stats = _stats(folds, cyc, R, C, ("A", "B"))
        stats["alpha"] = alpha
        trd = None
        if trace:
            trd = {p: tr[:cyc, i].copy() for i, p in enumerate(("stationary", "selected", "psum"))}
        return SystolicResult(out, int(cyc), stats, trd, "ws", R, C)

    # ---------------------------------------------------------------- networks
    def vcd_width(self):
        """Bits per register wire in this array's VCD files: one more than the widest of
        the operands and the accumulator (so every register value fits), at most 64."""
        return min(64, max(self.acc_bits, self.a_bits, self.b_bits) + 1)

    def run_layers(self, layers, simulate=False, seed=0, progress=True, stream=None, *,
                   vcd=None, max_bytes=None, max_work=None):
        """Run a network's layers (``load_layers`` input: a CSV path/text or a list) and
        return one dict per layer: name, M, N, K, scalesim_M, cycles, macs, utilization,
        mapping_efficiency, sram_reads, sram_writes, and "scalesim": SCALE-Sim's figures
        for the layer, which for a strided convolution use SCALE-Sim's output size
        (``load_layers``' scalesim_M, ``conv_output_size(..., rule="scalesim")``) while
        every other figure uses the frameworks' rule (M).

        simulate=False uses the analytical model (``model``: MAC PEs only, constant time
        for any layer size; term-serial PEs raise ValueError, their cycles depend on the
        operand values); simulate=True runs the cycle-accurate kernels on seeded random
        operands of the declared widths (uniform over each width's range); both give the
        same figures for MAC PEs. A progress bar (``refquant.cli.Progress``) is drawn on
        stderr (or ``stream``) when ``progress``.

        vcd: None, or a path such as "run.vcd" (needs simulate=True): every layer runs
        with a register trace written to its own VCD file (``write_vcd``, width
        ``vcd_width()``), named by inserting "_" and the layer's name before the suffix
        (run_fc1.vcd; characters other than letters, digits, ".", "-" and "_" become
        "_", and a name met again gets "_2", "_3", ...). The row's "vcd" key holds the
        path written.

        Before anything runs, each simulated layer's needs (``check_run``, the random
        operands and, with vcd, the trace and the VCD file's estimated size) are checked
        against ``max_bytes`` and ``max_work``; ValueError names the layer and the
        estimate.
        """
        simulate = _check_bool(simulate, "simulate")
        progress = _check_bool(progress, "progress")
        seed = _check_int(seed, "seed", lo=0)
        specs = load_layers(layers)
        if vcd is not None and not simulate:
            raise ValueError("vcd= needs simulate=True (a VCD holds the registers of a "
                             "cycle-accurate run)")
        if not simulate and self.pe != "mac":
            raise ValueError(f"pe={self.pe!r}: the cycles depend on the operand values; "
                             "run the layers with simulate=True")
        paths = _vcd_paths(vcd, [sp["name"] for sp in specs]) if vcd is not None else None
        if simulate:
            width = self.vcd_width()
            for spec in specs:
                M, N, K = spec["M"], spec["N"], spec["K"]
                est = self.check_run(M, N, K, vcd is not None, max_bytes, max_work,
                                     extra_bytes=8 * (M * K + K * N),
                                     what=f"layer {spec['name']!r} (M={M}, N={N}, K={K})")
                if vcd is not None:
                    vbytes = vcd_size_estimate(est["cycles"], 3 * self.rows * self.cols, width)
                    lim = MAX_BYTES if max_bytes is None else max_bytes
                    if vbytes > lim:
                        raise ValueError(f"the VCD of layer {spec['name']!r} would be up to "
                                         f"{_size(vbytes)}, above max_bytes={lim}; pass a "
                                         f"larger max_bytes (--max-bytes) to allow it")
        from ..cli import Progress
        bar = Progress(len(specs), stream=stream, enabled=progress, delay=0.0)
        rng = np.random.default_rng(seed)
        rows = []
        try:
            for i, spec in enumerate(specs):
                M, N, K = spec["M"], spec["N"], spec["K"]
                path = None
                if simulate:
                    alo, ahi = self._range(self.a_bits)
                    blo, bhi = self._range(self.b_bits)
                    A = rng.integers(alo, ahi, (M, K), endpoint=True)
                    B = rng.integers(blo, bhi, (K, N), endpoint=True)
                    res = self.run(A, B, trace=vcd is not None, max_bytes=max_bytes,
                                   max_work=max_work)
                    st = res.stats
                    if vcd is not None:
                        from .vcd import write_vcd
                        path = paths[i]
                        write_vcd(path, res.trace, width=self.vcd_width(),
                                  comment=f"layer {spec['name']} M={M} N={N} K={K} {self!r}")
                    del A, B, res
                else:
                    st = self.model(M, N, K)
                row = {"name": spec["name"], "M": M, "N": N, "K": K,
                       "scalesim_M": spec["scalesim_M"], "cycles": st["cycles"],
                       "macs": st["macs"], "utilization": st["utilization"],
                       "mapping_efficiency": st["mapping_efficiency"],
                       "sram_reads": st["sram_reads"], "sram_writes": st["sram_writes"],
                       "scalesim": self.scalesim_report(spec["scalesim_M"], N, K)}
                if path is not None:
                    row["vcd"] = path
                rows.append(row)
                bar.step(spec["name"])
        finally:
            bar.close()
        return rows


def vcd_size_estimate(cycles, signals, width):
    """Upper bound in bytes of a ``write_vcd`` file of ``signals`` register wires of
    ``width`` bits over ``cycles`` cycles: every value written every cycle (the file
    holds only changes, so it is usually much smaller)."""
    from .vcd import vcd_identifier
    ident = len(vcd_identifier(int(signals) + 1))
    line = int(width) + ident + 3                     # "b<bits> <id>\n"
    header = 200 + int(signals) * (40 + ident)
    return header + int(cycles) * (int(signals) * line + 64)


def _vcd_paths(vcd, names):
    """One VCD path per layer: stem + "_" + sanitised name + suffix (see run_layers)."""
    path = os.fspath(vcd)
    if not isinstance(path, str) or not path:
        raise TypeError(f"vcd must be a path, got {vcd!r}")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"vcd={path!r}: no such folder {folder!r}")
    stem, suffix = os.path.splitext(path)
    seen, out = {}, []
    for name in names:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(name)) or "layer"
        n = seen.get(safe, 0) + 1
        seen[safe] = n
        out.append(f"{stem}_{safe}{'' if n == 1 else f'_{n}'}{suffix}")
    return out


def conv_output_size(size, kernel, stride=1, rule="floor"):
    """Output length along one axis of an unpadded convolution of ``size`` inputs with a
    ``kernel``-long window moved by ``stride``.

    rule="floor": (size - kernel) // stride + 1, the windows that fit entirely (the rule
    of deep-learning frameworks, of ``im2col`` and ``SystolicArray.run_conv``).
    rule="scalesim": ceil((size - kernel + stride) / stride), the rule of SCALE-Sim 3.0's
    topology reader (ofmap height and width), which also counts a last window that
    overhangs the input when stride does not divide size - kernel. The two agree when
    it does. All arguments are ints >= 1 with kernel <= size.
    """
    size = _check_int(size, "size", hi=MAX_DIM)
    kernel = _check_int(kernel, "kernel", hi=MAX_DIM)
    stride = _check_int(stride, "stride", hi=MAX_DIM)
    if kernel > size:
        raise ValueError(f"kernel={kernel} is larger than size={size}")
    if rule == "floor":
        return (size - kernel) // stride + 1
    if rule == "scalesim":
        return -(-(size - kernel + stride) // stride)
    raise ValueError(f"rule={rule!r} unknown; allowed: 'floor', 'scalesim'")


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _int_field(v, lineno, fields):
    try:
        return int(v)
    except ValueError:
        pass
    if not _is_number(v):
        raise ValueError(f"layer line {lineno}: non-numeric field {v!r} in {fields!r}")
    f = float(v)
    if not math.isfinite(f) or f != math.floor(f):
        raise ValueError(f"layer line {lineno}: field {v!r} is not an integer (in {fields!r})")
    return int(f)


def _layer_from_fields(fields, lineno):
    name = fields[0]
    nums = [_int_field(v, lineno, fields) for v in fields[1:]]
    if len(nums) in (3, 4):   # GEMM: name, M, N, K[, sparsity ratio dropped above]
        M, N, K = nums[:3]
        sM = M
        kind = "gemm"
    elif len(nums) >= 7:      # conv: name, H, W, fh, fw, C, F, stride
        H, Wd, fh, fw, ch, nf, st = nums[:7]
        if min(H, Wd, fh, fw, ch, nf, st) < 1 or fh > H or fw > Wd:
            raise ValueError(f"layer line {lineno}: invalid conv dimensions {nums[:7]} "
                             "(all >= 1, filter no larger than the input)")
        M = conv_output_size(H, fh, st) * conv_output_size(Wd, fw, st)
        sM = conv_output_size(H, fh, st, "scalesim") * conv_output_size(Wd, fw, st, "scalesim")
        N, K = nf, fh * fw * ch
        kind = "conv"
    else:
        raise ValueError(f"layer line {lineno}: expected 'name, M, N, K' or "
                         f"'name, H, W, fh, fw, C, F, stride', got {fields!r}")
    if min(M, N, K) < 1 or max(M, N, K) > MAX_DIM:
        raise ValueError(f"layer line {lineno}: M, N, K must be in 1..2**62, got {M}, {N}, {K}")
    return {"name": name, "M": M, "N": N, "K": K, "kind": kind, "scalesim_M": sM}


def load_layers(layers):
    """Layers as dicts {name, M, N, K, kind, scalesim_M}.

    ``layers``: a path (str or os.PathLike) to a CSV file, CSV text, or a list of dicts
    (keys M, N, K, optional name) or tuples (name, M, N, K) / (name, H, W, fh, fw, C, F,
    stride). A str is read as a file when such a file exists; a str without a newline
    and without a comma is a path, and FileNotFoundError says when it does not exist;
    any other str is CSV text. CSV rows follow SCALE-Sim's topology files: GEMM
    "name, M, N, K," (a fifth N:M sparsity field is ignored) or conv "name, IFMAP H,
    IFMAP W, filter H, filter W, channels, filters, stride," (no padding). Fields are
    integers (an integer-valued float such as 6.0 is accepted). A conv layer's M is
    OH * OW by ``conv_output_size(..., rule="floor")`` (the frameworks' rule) and its
    scalesim_M by rule="scalesim" (SCALE-Sim's), N = filters, K = fh*fw*channels; for
    a GEMM layer scalesim_M = M. The first non-empty row is a header when one of its
    fields after the name is not a number; empty fields (trailing commas) are dropped.
    Any other malformed row raises ValueError naming its line.
    """
    if isinstance(layers, os.PathLike) or isinstance(layers, str):
        if isinstance(layers, os.PathLike) or ("\n" not in layers and os.path.isfile(layers)):
            path = os.fspath(layers)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"layers={path!r}: no such file")
            with open(path) as fh:
                text = fh.read()
        elif "\n" not in layers and "," not in layers:
            raise FileNotFoundError(f"layers={layers!r}: no such file")
        else:
            text = layers
        out = []
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
            fields = [f.strip() for f in row if f.strip()]
            if not fields:
                continue
            if len(fields) == 5 and ":" in fields[4]:
                fields = fields[:4]
            if not out and not any(_is_number(f) for f in fields[1:]) and len(fields) > 1:
                continue   # header
            out.append(_layer_from_fields(fields, n))
        if not out:
            raise ValueError("layers holds no layer rows")
        return out
    if isinstance(layers, (bytes, dict)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a path, CSV text or a list of layers, got "
                        f"{type(layers).__name__}")
    out = []
    for n, item in enumerate(layers, 1):
        if isinstance(item, dict):
            missing = [k for k in ("M", "N", "K") if k not in item]
            if missing:
                raise ValueError(f"layer {n}: missing key {missing[0]!r} (a dict layer needs "
                                 f"M, N, K and optionally name)")
            fields = [str(item.get("name", f"layer{n}"))] + [str(item[k]) for k in ("M", "N", "K")]
        elif isinstance(item, (list, tuple)):
            fields = [str(v) for v in item]
        else:
            raise TypeError(f"layer {n} must be a dict or a tuple, got {type(item).__name__}")
        out.append(_layer_from_fields(fields, n))
    if not out:
        raise ValueError("layers holds no layer rows")
    return out

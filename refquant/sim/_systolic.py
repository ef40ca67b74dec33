"""The register-level systolic array: ``SystolicArray`` runs integer GEMMs, convolutions
and column-combined products cycle by cycle, and ``SystolicResult`` holds what a run gives."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from .._lazy import kernels
from .._validate import check_bool, check_int, format_bytes
from ..modes import Overflow, as_overflow
from ._layers import Layers, im2col, run_layers
from ._timing import (CYCLE_COST, FOLD_COST, MAX_BYTES, MAX_WORK, PE_KINDS, TERM_ENCODINGS,
                      check_dataflow, check_dim, check_encoding, cycle_model, fold_groups,
                      mapping, scalesim_report, term_counts)

_k = kernels("systolic")

__all__ = ["SystolicArray", "SystolicResult"]

@dataclass
class SystolicResult:
    """Result of ``SystolicArray.run``.

    output: int64 array (M x N for a GEMM; N x F x OH x OW for a conv).
    cycles: total cycles of the run (the convention of ``cycle_model``).
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
    stats: dict[str, Any]
    trace: dict[str, np.ndarray] | None = None
    dataflow: str = "os"
    rows: int = 1
    cols: int = 1


def _stats(folds: np.ndarray, cycles: int, R: int, C: int, names: tuple[str, str]
           ) -> dict[str, Any]:
    per = []
    for row in folds:
        d: dict[str, Any] = {"row0": int(row[_k.FOLD_ROW0]), "rows": int(row[_k.FOLD_ROWS]),
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
    sum width. overflow: ``Overflow.WRAP``, ``SATURATE`` or ``RAISE`` (or their names).
    pe: "mac" (single-cycle MAC), "term_serial" (one cycle per nonzero term of the
    stationary operand in ``encoding`` "naf", "binary" or "hese"; dataflows ws/is) or
    "bit_serial" (one cycle per bit of the stationary operand's width). encoding
    applies to pe="term_serial" only (default "naf"; "csd" is its deprecated name);
    giving it with another pe raises ValueError.

    Arithmetic: every output is accumulated in ascending k, acc = policy(acc + a * b) at
    every addition, with a two's-complement accumulator of ``acc_bits`` bits: WRAP keeps
    the low bits, SATURATE clamps to [-2^(acc_bits-1), 2^(acc_bits-1) - 1], RAISE raises
    OverflowError at the first addition that leaves the range (naming output element, k
    and cycle). Products are exact. WRAP and SATURATE are the GEMM rule of
    ``refquant.intops.gemm`` (saturation after every addition, ascending k). RAISE
    models a hardware overflow flag and stops at the first addition that leaves the
    range, while ``intops.gemm(overflow="raise")`` checks the exact final sums: every
    input that ``intops.gemm`` rejects is rejected here too, but a sum that leaves the
    range and comes back raises here only. Without overflow the result equals the exact
    integer GEMM. Timing: ``cycle_model``; SCALE-Sim's figures: ``scalesim_report``.

    Register-level runs (``run``, ``run_conv``, ``run_column_combined``,
    ``run_layers(simulate=True)``) first estimate what they need (``estimate``) and
    raise ValueError, naming the estimate, when it exceeds ``max_bytes`` (default
    ``MAX_BYTES``, 4 GiB: operands, output, trace) or ``max_work`` (default
    ``MAX_WORK`` = 10^10 PE-cycle units of about 5 ns, under a minute); pass larger
    values to allow such runs. ``model`` and ``scalesim_report`` are analytical:
    constant time and memory for any size.
    """

    def __init__(self, rows: int, cols: int, dataflow: str = "os", a_bits: int = 8,
                 b_bits: int = 8, signed: bool = True, acc_bits: int = 32,
                 overflow: Overflow | str = "wrap", pe: str = "mac",
                 encoding: str | None = None):
        self.rows = check_dim(rows, "rows")
        self.cols = check_dim(cols, "cols")
        self.dataflow = check_dataflow(dataflow)
        self.a_bits = check_int(a_bits, "a_bits", 1, 32)
        self.b_bits = check_int(b_bits, "b_bits", 1, 32)
        self.signed = check_bool(signed, "signed")
        if not self.signed and self.a_bits + self.b_bits > 62:
            raise ValueError(f"a_bits + b_bits = {self.a_bits + self.b_bits} out of range for "
                             "unsigned operands; allowed <= 62 (exact int64 products)")
        self.acc_bits = check_int(acc_bits, "acc_bits", 1, 62)
        ov = as_overflow(overflow)
        if ov not in (Overflow.WRAP, Overflow.SATURATE, Overflow.RAISE):
            raise ValueError(f"overflow={overflow!r} not allowed; allowed: 'wrap', 'saturate', 'raise'")
        self.overflow = ov
        if pe not in PE_KINDS:
            raise ValueError(f"pe={pe!r} unknown; allowed: {', '.join(PE_KINDS)}")
        if pe != "mac" and self.dataflow == "os":
            raise ValueError(f"pe={pe!r} needs a stationary operand; allowed dataflows 'ws', 'is'")
        if encoding is not None:
            encoding = check_encoding(encoding, TERM_ENCODINGS, quoted=True)
            if pe != "term_serial":
                raise ValueError(f"encoding={encoding!r} applies to pe='term_serial' only "
                                 f"(pe={pe!r})")
        self.pe = pe
        self.encoding = {"mac": None, "bit_serial": "bits"}.get(pe, encoding or "naf")

    def __repr__(self) -> str:
        return (f"SystolicArray({self.rows}, {self.cols}, dataflow={self.dataflow!r}, "
                f"a_bits={self.a_bits}, b_bits={self.b_bits}, signed={self.signed}, "
                f"acc_bits={self.acc_bits}, overflow={self.overflow.name.lower()!r}, pe={self.pe!r})")

    # ---------------------------------------------------------------- validation
    def _range(self, bits: int) -> tuple[int, int]:
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)

    @property
    def a_range(self) -> tuple[int, int]:
        """(smallest, largest) value of an A operand: a_bits wide, signed or unsigned."""
        return self._range(self.a_bits)

    @property
    def b_range(self) -> tuple[int, int]:
        """(smallest, largest) value of a B operand: b_bits wide, signed or unsigned."""
        return self._range(self.b_bits)

    def _operand(self, x: npt.ArrayLike, name: str, bits: int) -> np.ndarray:
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

    def _operands(self, A: npt.ArrayLike, B: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        a = self._operand(A, "A", self.a_bits)
        b = self._operand(B, "B", self.b_bits)
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"B has {b.shape[0]} rows but A has {a.shape[1]} columns (K must match)")
        return a, b

    def _fits_int32(self) -> bool:
        """Whether every operand and accumulator value fits int32: the kernels then keep
        their register planes in int32 (half the memory traffic) and still form every
        sum in int64, so results and overflow behaviour are the same."""
        return self.acc_bits <= 32 and max(self.a_bits, self.b_bits) <= (32 if self.signed else 31)

    def _acc(self) -> tuple[int, int, int]:
        return -(1 << (self.acc_bits - 1)), (1 << (self.acc_bits - 1)) - 1, int(self.overflow)

    def _trace_buf(self, ncycles: int, trace: bool) -> np.ndarray:
        if not trace:
            return np.zeros((0, 3, 1, 1), np.int64)
        return np.zeros((ncycles, 3, self.rows, self.cols), np.int64)

    def estimate(self, M: int, N: int, K: int, trace: bool = False, cycles: int | None = None
                 ) -> dict[str, int]:
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
        Sr, Sc, _ = mapping(self.dataflow, M, N, K)
        folds = -(-Sr // R) * -(-Sc // C)
        trace_bytes = 24 * total * R * C if trace else 0
        nbytes = 16 * (M * K + K * N) + 16 * M * N + 128 * folds + trace_bytes
        return {"cycles": total, "folds": folds, "pe_cycles": total * R * C,
                "work": total * (R * C + CYCLE_COST) + FOLD_COST * folds,
                "trace_bytes": trace_bytes, "bytes": nbytes}

    def check_run(self, M: int, N: int, K: int, trace: bool = False,
                  max_bytes: int | None = None, max_work: int | None = None,
                  cycles: int | None = None, what: str | None = None, extra_bytes: int = 0
                  ) -> dict[str, int]:
        """Raise ValueError if a register-level run of this GEMM would need more than
        ``max_bytes`` (default ``MAX_BYTES``) or ``max_work`` (default
        ``MAX_WORK``) by ``estimate`` (plus ``extra_bytes`` the caller allocates
        for it); the message names the estimate and the keyword that allows it.
        Returns the estimate."""
        max_bytes = MAX_BYTES if max_bytes is None else check_int(max_bytes, "max_bytes", lo=1)
        max_work = MAX_WORK if max_work is None else check_int(max_work, "max_work", lo=1)
        est = self.estimate(M, N, K, trace=trace, cycles=cycles)
        est["bytes"] += int(extra_bytes)
        what = what or f"a register-level run of the GEMM M={M}, N={N}, K={K}"
        R, C = self.rows, self.cols
        if est["bytes"] > max_bytes:
            part = (f", of which the trace {format_bytes(est['trace_bytes'])}"
                    if est["trace_bytes"] else "")
            raise ValueError(
                f"{what} needs about {format_bytes(est['bytes'])}{part}, above "
                f"max_bytes={max_bytes}; pass a larger max_bytes (--max-bytes) to allow it")
        if est["work"] > max_work:
            raise ValueError(
                f"{what} takes {est['cycles']} cycles in {est['folds']} folds on the {R}x{C} "
                f"array, an estimated work of {est['work']:.3g} PE-cycle units (about "
                f"{est['work'] * 5e-9:.3g} s), above max_work={max_work:.3g}; pass a larger "
                f"max_work (--max-work) to allow it, or use the analytical model for the "
                f"statistics")
        return est

    def _raise(self, err: np.ndarray, what: str = "A @ B") -> None:
        m, n, k = int(err[3]), int(err[4]), int(err[5])
        if self.dataflow == "is" and what == "A @ B":
            m, n = n, m
        raise OverflowError(f"{self.acc_bits}-bit accumulator overflow in {what}: output "
                            f"[{m}, {n}] at k={k}, cycle {int(err[1])} (fold {int(err[2])})")

    # ---------------------------------------------------------------- models
    def beats(self, A: npt.ArrayLike, B: npt.ArrayLike) -> list[int] | None:
        """Cycles per beat of each fold: None (1 each) for MAC PEs; term-serial PEs:
        max(1, max term count of the fold's stationary operand)."""
        if self.pe == "mac":
            return None
        a, b = self._operands(A, B)
        W = b if self.dataflow == "ws" else a.T
        bits = self.b_bits if self.dataflow == "ws" else self.a_bits
        nt = term_counts(W, str(self.encoding), bits)
        R, C = self.rows, self.cols
        out = []
        for fc in range(-(-W.shape[1] // C)):
            for fr in range(-(-W.shape[0] // R)):
                blk = nt[fr * R:(fr + 1) * R, fc * C:(fc + 1) * C]
                out.append(max(1, int(blk.max())))
        return out

    def cycle_model(self, M: int, N: int, K: int, beats: int | list[int] | None = None) -> int:
        """Analytical total cycles of a run of an M x K by K x N GEMM (``cycle_model``)."""
        return cycle_model(M, N, K, self.rows, self.cols, self.dataflow, beats)[0]

    def model(self, M: int, N: int, K: int) -> dict[str, Any]:
        """Analytical statistics of a dense run with single-cycle PEs (no zero operand
        skipped): the same keys as ``run(...).stats`` except per_fold, whose cycles come
        as "per_fold_cycles" (a ``FoldCycles`` sequence). Constant time and memory for
        any M, N, K (closed forms over the at most four distinct fold shapes)."""
        total, per = cycle_model(M, N, K, self.rows, self.cols, self.dataflow)
        R, C = self.rows, self.cols
        Sr, Sc, T = mapping(self.dataflow, M, N, K)
        groups = fold_groups(Sr, Sc, R, C)
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

    def scalesim_report(self, M: int, N: int, K: int) -> dict[str, int | float]:
        """SCALE-Sim's figures for this array and dataflow (``scalesim_report``)."""
        return scalesim_report(M, N, K, self.rows, self.cols, self.dataflow)

    # ---------------------------------------------------------------- runs
    def run(self, A: npt.ArrayLike, B: npt.ArrayLike, trace: bool = False, *,
            max_bytes: int | None = None, max_work: int | None = None) -> SystolicResult:
        """Simulate out = A @ B (A: M x K, B: K x N integer matrices) cycle by cycle.

        Returns a ``SystolicResult``; ``trace=True`` also records every register
        (cycles x 3 planes x rows x cols int64). Before allocating, the run's needs are
        checked against ``max_bytes`` and ``max_work`` (``check_run``; defaults
        ``MAX_BYTES``, ``MAX_WORK``): ValueError naming the estimate if exceeded."""
        trace = check_bool(trace, "trace")
        a, b = self._operands(A, B)
        M, K = a.shape
        N = b.shape[1]
        beats = self.beats(a, b)
        total = self.cycle_model(M, N, K, beats)
        self.check_run(M, N, K, trace, max_bytes, max_work, cycles=total)
        lo, hi, pol = self._acc()
        R, C = self.rows, self.cols
        err = np.zeros(6, np.int64)
        tr = self._trace_buf(total, trace)
        if self._fits_int32():
            a, b = a.astype(np.int32), b.astype(np.int32)
        if self.dataflow == "os":
            nf = -(-M // R) * -(-N // C)
            folds = np.zeros((nf, _k.NFOLD), np.int64)
            out = np.zeros((M, N), np.int64)
            cyc = _k.os_gemm(a, b, R, C, lo, hi, pol, out, folds, tr, err)
            names, planes = ("A", "B"), ("a", "b", "acc")
        else:
            S, W = (a, b) if self.dataflow == "ws" else (np.ascontiguousarray(b.T), np.ascontiguousarray(a.T))
            nf = -(-W.shape[0] // R) * -(-W.shape[1] // C)
            folds = np.zeros((nf, _k.NFOLD), np.int64)
            out = np.zeros((S.shape[0], W.shape[1]), np.int64)
            if self.pe == "mac":
                nt, mode = np.zeros((1, 1), np.int64), 0
            else:
                bits = self.b_bits if self.dataflow == "ws" else self.a_bits
                nt, mode = term_counts(W, str(self.encoding), bits), 1
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

    def run_conv(self, x: npt.ArrayLike, w: npt.ArrayLike, stride: int = 1, padding: int = 0,
                 trace: bool = False, *, max_bytes: int | None = None,
                 max_work: int | None = None) -> SystolicResult:
        """Convolution (cross-correlation, as in deep-learning frameworks) of x (N, C, H, W)
        with w (F, C, kh, kw) through im2col: A = im2col(x) (N*OH*OW x C*kh*kw),
        B = w.reshape(F, -1).T; output reshaped to (N, F, OH, OW). Zero padding. The
        GEMM's needs (and the im2col matrix's 8 N OH OW C kh kw bytes) are checked as in
        ``run`` before anything is allocated."""
        trace = check_bool(trace, "trace")
        x = np.asarray(x)
        w = np.asarray(w)
        if w.ndim != 4:
            raise ValueError(f"w must be (F, C, kh, kw), got shape {w.shape}")
        if x.ndim != 4 or x.shape[1] != w.shape[1]:
            raise ValueError(f"x must be (N, C, H, W) with C = {w.shape[1]} (w's channels), got {x.shape}")
        stride = check_int(stride, "stride", lo=1)
        padding = check_int(padding, "padding", lo=0)
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

    def run_column_combined(self, A: npt.ArrayLike, packed: Any,
                            select: npt.ArrayLike | None = None, trace: bool = False, *,
                            max_bytes: int | None = None, max_work: int | None = None
                            ) -> SystolicResult:
        """Column-combined weight-stationary run (dataflow "ws", pe "mac"), the array of
        Kung, McDanel & Zhang, "Packing Sparse Convolutional Neural Networks for
        Efficient Systolic Array Implementations: Column Combining Under Joint
        Optimization" (ASPLOS 2019): each cell holds one packed weight and a multiplexer
        index that selects one of the alpha input channels streamed into its row.

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
        trace = check_bool(trace, "trace")
        if self.dataflow != "ws" or self.pe != "mac":
            raise ValueError("run_column_combined needs dataflow='ws' and pe='mac'")
        if select is None:
            if not (hasattr(packed, "packed") and hasattr(packed, "select")):
                raise TypeError("packed must have .packed and .select, or pass select")
            packed, select = packed.packed, packed.select
        a = self._operand(A, "A", self.a_bits)
        P = self._operand(packed, "packed", self.b_bits)
        sel = np.asarray(select)
        if sel.shape != P.shape:
            raise ValueError(f"select has shape {sel.shape}; packed has {P.shape}")
        if sel.dtype.kind not in "iu":
            raise TypeError(f"select must hold integers, got dtype {sel.dtype}")
        sel = sel.astype(np.int64)
        K = a.shape[1]
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
        total = cycle_model(a.shape[0], n, G, R, C, "ws")[0]
        self.check_run(a.shape[0], n, G, trace, max_bytes, max_work, cycles=total,
                       what=f"the column-combined run (M={a.shape[0]}, N={n}, G={G})")
        tr = self._trace_buf(total, trace)
        nf = -(-G // R) * -(-n // C)
        folds = np.zeros((nf, _k.NFOLD), np.int64)
        out = np.zeros((a.shape[0], n), np.int64)
        err = np.zeros(6, np.int64)
        lo, hi, pol = self._acc()
        cyc = _k.ws_cc_gemm(a, Pt, mux, chan, R, C, lo, hi, pol, out, folds, tr, err)
        if err[0]:
            self._raise(err, "the column-combined product")
        stats = _stats(folds, cyc, R, C, ("A", "B"))
        stats["alpha"] = alpha
        trd = None
        if trace:
            trd = {p: tr[:cyc, i].copy() for i, p in enumerate(("stationary", "selected", "psum"))}
        return SystolicResult(out, int(cyc), stats, trd, "ws", R, C)

    # ---------------------------------------------------------------- networks
    def vcd_width(self) -> int:
        """Bits per register wire in this array's VCD files: one more than the widest of
        the operands and the accumulator (so every register value fits), at most 64."""
        return min(64, max(self.acc_bits, self.a_bits, self.b_bits) + 1)

    def run_layers(self, layers: Layers, simulate: bool = False, seed: int = 0,
                   progress: bool = True, stream: IO[str] | None = None, *,
                   vcd: str | os.PathLike[str] | None = None, max_bytes: int | None = None,
                   max_work: int | None = None) -> list[dict[str, Any]]:
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
        same figures for MAC PEs. A one-line progress bar (the layer done last) is drawn
        on stderr (or ``stream``) when ``progress`` and that stream is a terminal.

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
        return run_layers(self, layers, simulate, seed, progress, stream, vcd=vcd,
                          max_bytes=max_bytes, max_work=max_work)

"""Analytical models of the systolic array: the cycle count of a run, its folds, the terms
a term-serial PE spends per operand, the figures SCALE-Sim reports, the output size of a
convolution and the cost of a simulation."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from .. import pow2 as _pow2
from .._deprecate import warn
from .._validate import check_int, is_int

__all__ = ["cycle_model", "scalesim_report", "conv_output_size", "term_counts", "FoldCycles",
           "DATAFLOWS", "ENCODINGS", "PE_KINDS", "MAX_DIM", "MAX_BYTES", "MAX_WORK",
           "CYCLE_COST", "FOLD_COST"]

DATAFLOWS = ("os", "ws", "is")
MAX_DIM = 2 ** 62          # largest GEMM dimension or array side (int64 arithmetic)
MAX_BYTES = 2 ** 32        # default memory limit of a register-level run (4 GiB)
MAX_WORK = 10 ** 10        # default work limit of a register-level run (``estimate``)
CYCLE_COST = 100           # fixed cost of a simulated cycle, in PE-cycle units (about 5 ns each)
FOLD_COST = 10_000         # fixed cost of a simulated fold, in PE-cycle units


ENCODINGS = ("binary", "hese", "naf", "bits")   # term_counts; "bits": bit-serial
TERM_ENCODINGS = ("binary", "hese", "naf")       # encodings of pe="term_serial"
PE_KINDS = ("mac", "term_serial", "bit_serial")


def check_encoding(encoding: object, allowed: tuple[str, ...], quoted: bool) -> str:
    """``encoding`` checked against ``allowed``; the deprecated "csd" becomes "naf" with a
    DeprecationWarning pointing at the caller's caller."""
    if isinstance(encoding, str) and encoding == "csd":
        warn('encoding="csd"', 'encoding="naf" (the same non-adjacent form)', stacklevel=4)
        return "naf"
    if not isinstance(encoding, str) or encoding not in allowed:
        names = ", ".join(repr(e) if quoted else e for e in allowed)
        raise ValueError(f"encoding={encoding!r} unknown; allowed: {names}")
    return encoding


def term_counts(values: npt.ArrayLike, encoding: str = "naf", bits: int = 8) -> np.ndarray:
    """Cycles a term-serial PE spends on each integer: "binary" the set bits of |v|,
    "naf" the nonzero digits of v's non-adjacent form (the canonical signed-digit form),
    "hese" its HESE terms, "bits" ``bits`` for every value (bit-serial). Returns int64 of
    values' shape. The counts are those of ``refquant.pow2.term_counts``. "csd" is a
    deprecated name of "naf"."""
    encoding = check_encoding(encoding, ENCODINGS, quoted=False)
    v = np.asarray(values)
    if encoding == "bits":
        return np.full(v.shape, int(bits), dtype=np.int64)
    return _pow2.term_counts(v, encoding)


def check_dim(value: object, name: str) -> int:
    """A GEMM dimension or array side: an int in [1, 2**62]."""
    return check_int(value, name, 1, MAX_DIM)


def check_dataflow(dataflow: object) -> str:
    """The dataflow name ("os", "ws" or "is", any case); ValueError for anything else."""
    df = dataflow.lower() if isinstance(dataflow, str) else dataflow
    if df not in DATAFLOWS:
        raise ValueError(f"dataflow={dataflow!r} unknown; allowed: 'os', 'ws', 'is'")
    return str(df)


def mapping(dataflow: str, M: int, N: int, K: int) -> tuple[int, int, int]:
    """(spatial rows, spatial cols, temporal) of a GEMM under a dataflow."""
    return {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]


def fold_groups(Sr: int, Sc: int, R: int, C: int) -> list[tuple[tuple[int, int], int]]:
    """The folds of an Sr x Sc spatial mapping on an R x C array as at most four groups
    ((rows_used, cols_used), count): full folds, the short last row fold, the short last
    column fold and their corner. Memory and time do not depend on the number of folds."""
    nfr, nfc = -(-Sr // R), -(-Sc // C)
    rl, cl = Sr - (nfr - 1) * R, Sc - (nfc - 1) * C   # rows / cols of the last folds
    groups: dict[tuple[int, int], int] = {}
    for r, nr in ((R, nfr - 1), (rl, 1)):
        for c, nc in ((C, nfc - 1), (cl, 1)):
            if nr * nc:
                groups[(r, c)] = groups.get((r, c), 0) + nr * nc
    return list(groups.items())


class FoldCycles(Sequence[int]):
    """Per-fold cycle counts of a GEMM in fold order (column folds outer, row folds
    inner), computed on access: a read-only sequence of ints whose memory does not grow
    with the number of folds. Compares equal to any sequence of the same ints; slicing
    gives a list."""

    def __init__(self, nfr: int, nfc: int, R: int, C: int, Sr: int, Sc: int,
                 cycles_of: Callable[[int, int], int]):
        self._nfr, self._nfc, self._R, self._C, self._Sr, self._Sc = nfr, nfc, R, C, Sr, Sc
        self._f = cycles_of

    def __len__(self) -> int:
        return self._nfr * self._nfc

    @overload
    def __getitem__(self, i: int) -> int: ...

    @overload
    def __getitem__(self, i: slice) -> list[int]: ...

    def __getitem__(self, i: int | slice) -> int | list[int]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if not is_int(i):
            raise TypeError(f"fold index must be an int, got {type(i).__name__}")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"fold index out of range (there are {n} folds)")
        fc, fr = divmod(int(i), self._nfr)
        return self._f(min(self._R, self._Sr - fr * self._R), min(self._C, self._Sc - fc * self._C))

    def __iter__(self) -> Iterator[int]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(str(v) for v in self[:8])
        return f"FoldCycles([{head}{', ...' if len(self) > 8 else ''}], folds={len(self)})"


def layout(M: object, N: object, K: object, rows: object, cols: object, dataflow: object
           ) -> tuple[int, int, int, int, int, str, int, int, int,
                      list[tuple[tuple[int, int], int]]]:
    """Validated (M, N, K, R, C, dataflow, Sr, Sc, T, fold groups) of a GEMM on an array."""
    m, n, k = check_dim(M, "M"), check_dim(N, "N"), check_dim(K, "K")
    R = check_dim(rows, "rows")
    C = check_dim(cols, "cols")
    df = check_dataflow(dataflow)
    Sr, Sc, T = mapping(df, m, n, k)
    return m, n, k, R, C, df, Sr, Sc, T, fold_groups(Sr, Sc, R, C)


def _check_beats(beats: Any, nfolds: int, df: str) -> int | list[int] | None:
    """beats as None (all 1), an int, or a list with one int >= 1 per fold."""
    if beats is None:
        return None
    if np.ndim(beats) == 0:
        b = check_int(beats, "beats", lo=1)
        if df == "os" and b != 1:
            raise ValueError("beats other than 1 apply to the 'ws' and 'is' dataflows only")
        return b
    out = [check_int(b, "beats[i]", lo=1) for b in beats]
    if len(out) != nfolds:
        raise ValueError(f"beats has {len(out)} entries; the GEMM has {nfolds} folds")
    if df == "os" and any(b != 1 for b in out):
        raise ValueError("beats other than 1 apply to the 'ws' and 'is' dataflows only")
    return out


def cycle_model(M: int, N: int, K: int, rows: int, cols: int, dataflow: str = "os",
                beats: int | Sequence[int] | None = None) -> tuple[int, Sequence[int]]:
    """Analytical cycle count of ``SystolicArray.run``: (total cycles, per-fold cycles in
    fold order). It equals the simulated count for every shape (the tests check it).

    A GEMM out = A @ B with A: M x K and B: K x N runs on an R x C array (R = rows,
    C = cols). One cycle = every register of the array loads its next value at once.
    The spatial mapping of a dataflow is cut into folds of at most R x C, which run
    one after another without overlap (no double buffering), column folds outer, row
    folds inner; "rows" and "cols" below are the rows and columns a fold uses.

    * OS (output stationary): spatial rows M, spatial columns N, temporal K. Row i of
      the left edge gets A[., k] at cycle k + i, column j of the top edge gets B[k, .]
      at cycle k + j (the skew); PE (i, j) multiplies at cycle k + i + j. After the last
      MAC the accumulators drain down the columns, one row per cycle, into the output
      SRAM. Fold cycles = K + rows + cols - 2 (fill + compute) + R (drain).
    * WS (weight stationary): spatial rows K, spatial columns N, temporal M. Weights are
      preloaded through the columns in R cycles; activations enter row i with skew i,
      partial sums flow down and leave the bottom row; a K-fold after the first reads
      the previous fold's partial sums back into the top of the columns.
      Fold cycles = R (preload) + M + R + cols - 2.
    * IS (input stationary): spatial rows K, spatial columns M, temporal N; the WS
      timing with A stationary and B streamed. Fold cycles = R + N + R + cols - 2.
    * Term-serial / bit-serial PEs (WS and IS): a PE spends one cycle per term of its
      stationary operand; the lockstep array stretches every beat of a fold to
      tau = max(1, max terms in the fold). Fold cycles = R + tau * (T + R + cols - 2),
      T the temporal dimension.

    ``beats``: cycles per systolic beat (ints >= 1), one int for every fold or a list
    with one per fold (term-serial PEs; WS/IS only); default 1. Without a per-fold list
    the per-fold cycles come as a ``FoldCycles`` sequence and the total is formed from
    the (at most four) distinct fold shapes, so time and memory do not depend on the
    number of folds.
    """
    M, N, K, R, C, df, Sr, Sc, T, groups = layout(M, N, K, rows, cols, dataflow)
    nf = sum(n for _, n in groups)
    checked = _check_beats(beats, nf, df)
    if df == "os":
        def per(r: int, c: int, b: int = 1) -> int:
            return T + r + c - 2 + R
    else:
        def per(r: int, c: int, b: int = 1) -> int:
            return R + b * (T + R + c - 2)
    if isinstance(checked, list):
        nfr = -(-Sr // R)
        out = []
        for i, b in enumerate(checked):
            fc, fr = divmod(i, nfr)
            out.append(per(min(R, Sr - fr * R), min(C, Sc - fc * C), b))
        return sum(out), out
    b = 1 if checked is None else checked
    total = sum(n * per(r, c, b) for (r, c), n in groups)
    return total, FoldCycles(-(-Sr // R), -(-Sc // C), R, C, Sr, Sc, lambda r, c: per(r, c, b))


def scalesim_report(M: int, N: int, K: int, rows: int, cols: int, dataflow: str = "os"
                    ) -> dict[str, int | float]:
    """The figures SCALE-Sim (scalesim 3.0.0, no stalls) reports for a GEMM layer
    "name, M, N, K," on a rows x cols array (R x C). For a convolution layer pass
    SCALE-Sim's M, ``load_layers``' "scalesim_M".

    * mapping (Sr, Sc, T): OS (M, N, K), WS (K, N, M), IS (K, M, N); folds =
      ceil(Sr/R) * ceil(Sc/C), column folds outer.
    * "per_fold_cycles" (the length of SCALE-Sim's per-fold demand matrices): OS
      R + C + T - 2, WS and IS 2R + C + T - 2 (the SCALE-Sim paper, Samajdar et al.
      2018/2020, gives 2R + C + T - 2 for OS too: "paper_compute_cycles" =
      folds * (2R + C + T - 2) - 1); "compute_cycles" = folds * per_fold_cycles - 1
      (SCALE-Sim reports the last serviced cycle index, not a count).
    * "overall_util" = 100 * M*N*K / (compute_cycles * R * C) (percent).
    * "mapping_efficiency" = 100 * mean over folds of rows_used * cols_used / (R * C).
    * "compute_util" = 100 * mean over folds of rows_used*cols_used*T / (R*C*c_f) with
      c_f = (demand rows + demand columns - 1) of the fold's last operand matrix:
      OS R + C + T - 2, WS and IS 2R + 2C + T - 3 (not the per-fold cycles).
    * SRAM requests: OS "ifmap_sram_reads" ceil(N/C)*M*K, "filter_sram_reads"
      ceil(M/R)*K*N, "ofmap_sram_writes" M*N plus (R + C) per fold (SCALE-Sim adds rows
      + columns of the padded fold once more); WS ifmap ceil(N/C)*M*K, filter K*N,
      ofmap ceil(K/R)*M*N; IS ifmap M*K, filter ceil(M/C)*K*N, ofmap ceil(K/R)*M*N.
      "avg_ifmap_sram_bw", "avg_filter_sram_bw", "avg_ofmap_sram_bw" = requests /
      compute_cycles (words per cycle).

    Also "folds". Ratios are formed from exact integer sums (one rounding each).
    """
    M, N, K, R, C, df, Sr, Sc, T, groups = layout(M, N, K, rows, cols, dataflow)
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


def conv_output_size(size: int, kernel: int, stride: int = 1, rule: str = "floor") -> int:
    """Output length along one axis of an unpadded convolution of ``size`` inputs with a
    ``kernel``-long window moved by ``stride``.

    rule="floor": (size - kernel) // stride + 1, the windows that fit entirely (the rule
    of deep-learning frameworks, of ``im2col`` and ``SystolicArray.run_conv``).
    rule="scalesim": ceil((size - kernel + stride) / stride), the rule of SCALE-Sim 3.0's
    topology reader (ofmap height and width), which also counts a last window that
    overhangs the input when stride does not divide size - kernel. The two agree when
    it does. All arguments are ints >= 1 with kernel <= size.
    """
    size = check_dim(size, "size")
    kernel = check_dim(kernel, "kernel")
    stride = check_dim(stride, "stride")
    if kernel > size:
        raise ValueError(f"kernel={kernel} is larger than size={size}")
    if rule == "floor":
        return (size - kernel) // stride + 1
    if rule == "scalesim":
        return -(-(size - kernel + stride) // stride)
    raise ValueError(f"rule={rule!r} unknown; allowed: 'floor', 'scalesim'")

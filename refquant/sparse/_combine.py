"""Column combining: packing a sparse filter matrix into fewer systolic-array columns
(Kung, McDanel, Zhang, ASPLOS 2019)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._deprecate import renamed_kwargs
from .._lazy import kernels
from .._validate import check_int, check_real, native
from ..modes import Overflow
from ._common import (absmax, check_acc, check_exact_bound, check_exact_for, check_factor,
                      dense_rhs, exact_sub, finish_int, int_array, int_rhs, kernel_mode,
                      raise_status, row_zero)
from ._nm import magnitudes

_k = kernels("sparse")

__all__ = ["ColumnCombining", "column_combine", "combine_groups", "conflicts"]


def _as_matrix(w: Any) -> np.ndarray:
    w = native(np.asarray(w))
    if w.dtype.kind not in "iubf":
        raise TypeError(f"w must be real, got dtype {w.dtype}")
    if w.ndim == 4:
        w = w.reshape(w.shape[0], -1)
    if w.ndim != 2:
        raise ValueError(f"w must be 2-d (filters x inputs) or 4-d convolution weights, "
                         f"got {w.ndim} dimensions")
    return w


def _check_params(alpha: Any, gamma: Any) -> tuple[int, float]:
    a = check_int(alpha, "alpha", lo=1)
    g = check_real(gamma, "gamma")
    if not np.isfinite(g) or g < 0:
        raise ValueError(f"gamma={gamma!r}; must be a finite number >= 0 (conflicts per row)")
    return a, g


def _kernel_limits(alpha: int, gamma: float, rows: int, cols: int) -> tuple[int, int]:
    """(alpha, max_overlap) for the grouping kernel, clamped to what can matter -- a
    group never holds more than cols columns nor more than rows * cols conflicts -- so
    huge parameters give the grouping of unlimited ones instead of leaving int64."""
    return min(alpha, max(cols, 1)), int(min(gamma * rows, rows * cols))


def combine_groups(w: npt.ArrayLike, alpha: int, gamma: float) -> list[np.ndarray]:
    """The column groups of column combining: a list of int64 arrays of original column
    indices (ascending inside a group), groups ordered by their first column.

    w: the filter matrix (rows = filters, columns = input channels x kernel positions;
    4-d convolution weights (filters, channels, kh, kw) are flattened to that). The
    greedy of the reference code (BradMcDanel/column-combine, packing.py), decided on
    the non-zero pattern of w:

    * groups start as the non-empty columns, in ascending order (all-zero columns get
      no group and no array column);
    * conflicts of a group G = sum over rows r of max(0, d_G[r] - 1), d_G[r] = number
      of non-zeros of row r inside G (the weights column-combine pruning will remove);
    * two groups g, h may merge when len(g) + len(h) <= alpha and conflicts(g u h) <=
      max_overlap = int(gamma * rows);
    * repeatedly, the first group (in order) that has a mergeable partner absorbs the
      partner with the fewest rows empty in both groups (ties: the lowest index, as the
      first minimum); the partner's columns are appended to the group's list;
    * stop when no pair can merge.
    """
    wa = _as_matrix(w)
    a, g = _check_params(alpha, gamma)
    rows, cols = wa.shape
    bits, nnz = _column_bits(wa)
    group_of = np.empty(cols, dtype=np.int64)
    k_alpha, max_overlap = _kernel_limits(a, g, rows, cols)
    ng = _k.cc_group(bits, nnz, k_alpha, max_overlap, group_of)
    return _groups_from_labels(group_of, int(ng))


def _column_bits(wa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero pattern of wa (rows, cols) as one row bit set per column: int64
    words (cols, ceil(rows / 64)), bit r % 64 of word r // 64 for row r; and the
    non-zeros per column (int64)."""
    rows, cols = wa.shape
    nwords = max(1, -(-rows // 64))
    packed = np.zeros((cols, nwords * 8), dtype=np.uint8)
    packed[:, :-(-rows // 8)] = np.packbits(wa != 0, axis=0, bitorder="little").T
    bits = np.ascontiguousarray(packed.view("<i8").astype(np.int64, copy=False))
    return bits, np.bitwise_count(bits.view(np.uint64)).sum(axis=1, dtype=np.int64)


def _groups_from_labels(group_of: np.ndarray, ng: int) -> list[np.ndarray]:
    groups: list[list[int]] = [[] for _ in range(ng)]
    for c in np.flatnonzero(group_of >= 0):
        groups[group_of[c]].append(int(c))
    return [np.array(g, dtype=np.int64) for g in groups]


def conflicts(w: npt.ArrayLike, group: npt.ArrayLike) -> int:
    """Conflicts of one column group: sum over rows of max(0, non-zeros in the group - 1).
    group: column indices, integers in [0, columns)."""
    wa = _as_matrix(w)
    g = int_array(group, "group")
    if g.size and (int(g.min()) < 0 or int(g.max()) >= wa.shape[1]):
        raise ValueError(f"group indices must lie in [0, {wa.shape[1]}), got "
                         f"[{int(g.min())}, {int(g.max())}]")
    d = (wa[:, g] != 0).sum(axis=1)
    return int(np.maximum(d - 1, 0).sum())


@dataclass
class ColumnCombining:
    """Result of column_combine: one systolic-array column serves each group of up to
    ``alpha`` original columns.

    ``groups``: list of original-column arrays (``combine_groups``); ``packed``
    (rows, groups): the surviving weight of row r in group g, 0 where none; ``select``
    (rows, groups): its original column index (the multiplexer select of that cell), -1
    where the cell is empty (the reference code's control bits use the group's first
    column there instead; the weight is 0); ``group_of``: group of every original column
    (-1: empty column); ``shape``: the (rows, columns) of the flattened W. Rows are all
    rows of W (the reference drops all-zero rows; keeping them keeps outputs aligned).
    refquant.sim's systolic array consumes ``packed`` and ``select``."""

    groups: list
    packed: np.ndarray
    select: np.ndarray
    group_of: np.ndarray
    shape: tuple
    alpha: int
    gamma: float

    @property
    def efficiency(self) -> float:
        """non-zeros of packed / (rows x groups); 1.0 for an empty packing."""
        return float(np.count_nonzero(self.packed)) / self.packed.size if self.packed.size else 1.0

    @property
    def max_overlap(self) -> int:
        """Conflicts allowed when merging two groups: int(gamma * rows), as the reference code."""
        return int(self.gamma * self.shape[0])

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(packed, select) checked against each other and the shape: select int64 of
        packed's shape (rows, groups) with entries in [-1, columns). ValueError otherwise
        (the fields are plain attributes a caller may have changed)."""
        rows, cols = self.shape
        packed = native(np.asarray(self.packed))
        select = int_array(self.select, "ColumnCombining.select")
        if packed.ndim != 2 or packed.shape[0] != rows or select.shape != packed.shape:
            raise ValueError(f"ColumnCombining.packed {packed.shape} and select {select.shape} "
                             f"must both have shape ({rows}, groups)")
        if packed.dtype.kind not in "iubf":
            raise TypeError(f"ColumnCombining.packed must be real, got dtype {packed.dtype}")
        if select.size and (int(select.min()) < -1 or int(select.max()) >= cols):
            raise ValueError(f"ColumnCombining.select must lie in [-1, {cols}) (-1: empty "
                             f"cell), got [{int(select.min())}, {int(select.max())}]")
        return packed, np.ascontiguousarray(select)

    def unpack(self) -> np.ndarray:
        """The column-combine-pruned W (rows, columns): packed[r, g] at (r, select[r, g])."""
        packed, select = self._arrays()
        out = np.zeros(self.shape, dtype=packed.dtype)
        r, g = np.nonzero(select >= 0)
        out[r, select[r, g]] = packed[r, g]
        return out

    @renamed_kwargs(a_zero="a_zero_point", x_zero="x_zero_point")
    def matmul(self, x: npt.ArrayLike, *, a_zero_point: npt.ArrayLike = 0,
               x_zero_point: npt.ArrayLike = 0, acc_bits: int = 32,
               overflow: Overflow | str = Overflow.WRAP) -> np.ndarray:
        """pruned W @ x computed from the packed form: row r sums packed[r, g] *
        x[select[r, g]] over its non-empty cells in ascending select (ascending k).
        Integer packed and x: (packed - a_zero_point[r]) * (x - x_zero_point) (zero
        points: a scalar, or one per row of W / per column of x) with ``acc_bits`` and
        ``overflow`` EXACT | WRAP | SATURATE | RAISE and the result dtype of the dense
        integer GEMM refquant.intops.gemm (empty cells contribute nothing; see
        ``CSR.matmul``). Otherwise float64, summed in ascending k. Equals the dense GEMM
        of unpack() under the same rules."""
        ov, bits = check_acc(acc_bits, overflow)
        x2, vec = dense_rhs(x, self.shape[1], "x")
        packed, select = self._arrays()
        order = np.ascontiguousarray(np.argsort(np.where(select < 0, np.iinfo(np.int64).max,
                                                         select), axis=1, kind="stable"))
        rows = self.shape[0]
        if packed.dtype.kind in "iub" and x2.dtype.kind in "iub":
            bb = int_rhs(x2, x_zero_point, "x", "x_zero_point")
            az = row_zero(a_zero_point, rows)
            live = select >= 0
            # the exact packed - a_zero_point of the live cells (by value: no uint64 is
            # reinterpreted), handed to the kernel with zero zero points
            p = np.zeros(packed.shape, dtype=np.int64)
            if live.any():
                shifted = exact_sub(packed, az[:, None])[live]
                check_factor(shifted, "packed - a_zero_point")
                if check_exact_for(ov):
                    check_exact_bound(absmax(shifted), absmax(bb), packed.shape[1], ov)
                p[live] = shifted.astype(np.int64)
            out = np.empty((rows, x2.shape[1]), dtype=np.int64)
            raise_status(_k.packed_gemm_int(p, select, order, np.zeros(rows, dtype=np.int64), bb,
                                            kernel_mode(ov), bits, out), "ColumnCombining")
            out = finish_int(out, ov, bits)
        else:
            if np.any(np.asarray(a_zero_point) != 0) or np.any(np.asarray(x_zero_point) != 0):
                raise ValueError("a_zero_point / x_zero_point apply to integer products only")
            out = np.empty((rows, x2.shape[1]), dtype=np.float64)
            raise_status(_k.packed_gemm_float(np.ascontiguousarray(packed, dtype=np.float64),
                                              select, order,
                                              np.ascontiguousarray(x2, dtype=np.float64), out),
                         "ColumnCombining")
        return out[:, 0] if vec else out


def column_combine(w: npt.ArrayLike, alpha: int, gamma: float) -> ColumnCombining:
    """Column combining (Kung, McDanel, Zhang, "Packing Sparse Convolutional Neural
    Networks for Efficient Systolic Array Implementations: Column Combining Under Joint
    Optimization", ASPLOS 2019): group the columns of w (2-d, or 4-d convolution weights
    flattened to (filters, rest)) as ``combine_groups`` does, apply column-combine
    pruning and pack (see ``ColumnCombining``). alpha >= 1: columns per group;
    gamma >= 0: allowed conflicts per row (max_overlap = int(gamma * rows)).

    Column-combine pruning keeps, in every (row, group), only the non-zero weight of
    largest magnitude (ties: lowest original column index; the reference code's argsort
    leaves ties unspecified). Packing efficiency = non-zeros of packed / (rows x groups).
    """
    wa = _as_matrix(w)
    a, g = _check_params(alpha, gamma)
    if wa.dtype in (np.float32, np.float64):
        mag = np.empty((0, 0))  # the kernel compares abs(w) itself (exact)
        nan = bool(np.isnan(wa).any())
    else:
        mag = magnitudes(wa)
        nan = mag.dtype.kind == "f" and bool(np.isnan(mag).any())
    if nan:
        raise ValueError("w contains NaN; magnitudes must be comparable")
    groups = combine_groups(wa, a, g)
    group_of = np.full(wa.shape[1], -1, dtype=np.int64)
    for i, cols in enumerate(groups):
        group_of[cols] = i
    packed = np.zeros((wa.shape[0], len(groups)), dtype=wa.dtype)
    select = np.full((wa.shape[0], len(groups)), -1, dtype=np.int64)
    _k.cc_pack(np.ascontiguousarray(wa), np.ascontiguousarray(mag), group_of, packed, select)
    return ColumnCombining(groups=groups, packed=packed, select=select, group_of=group_of,
                           shape=tuple(wa.shape), alpha=a, gamma=g)

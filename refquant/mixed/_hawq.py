"""HAWQ-style mixed-precision selection: sensitivities, costs, the ILP and the frontier."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._quantize import quantize
from .._validate import check_int, check_real, float64_array
from ..protocol import Format
from ..sim import SystolicArray

__all__ = ["sensitivity", "sensitivity_table", "layer_costs", "select_bits",
           "pareto_frontier", "Assignment", "ParetoPoint"]


def sensitivity(weights: npt.ArrayLike, fmt: Format | str, hessian_trace: float,
                **quantize_options: Any) -> float:
    """HAWQ-V2 / HAWQ-V3 sensitivity of one layer quantized with ``fmt``:

        Omega = hessian_trace * || Q(W) - W ||_2^2,

    Q(W) = ``refquant.quantize(W, fmt, **quantize_options).dequantize()`` (any registered
    format or Format object; default per-tensor min-max scale). HAWQ-V2 and V3 use the
    average Hessian trace Tr(H) / n of the layer's n weights: pass that (refquant does not
    compute Hessians). hessian_trace must be finite and >= 0."""
    t = check_real(hessian_trace, "hessian_trace", finite=True)
    if t < 0:
        raise ValueError(f"hessian_trace must be >= 0, got {t}")
    w = float64_array(weights, "weights")
    if w.size == 0:
        raise ValueError("weights must not be empty")
    dq = quantize(w, fmt, **quantize_options).dequantize()
    return t * float(np.sum((np.asarray(dq, np.float64) - w) ** 2))


def sensitivity_table(weights: Sequence[npt.ArrayLike], fmts: Sequence[Format | str],
                      hessian_traces: Sequence[float], **quantize_options: Any) -> np.ndarray:
    """``sensitivity`` of every layer (rows, one weight array and trace each) under every
    format (columns): a float64 array (layers x formats)."""
    if len(weights) != len(hessian_traces):
        raise ValueError(f"weights has {len(weights)} layers but hessian_traces has "
                         f"{len(hessian_traces)}")
    if not fmts:
        raise ValueError("fmts must name at least one format")
    return np.array([[sensitivity(w, f, t, **quantize_options) for f in fmts]
                     for w, t in zip(weights, hessian_traces)], dtype=np.float64)


def layer_costs(layers: Sequence[Mapping[str, int]], bits: Sequence[int], *, act_bits: int = 8,
                array: SystolicArray | None = None) -> dict[str, np.ndarray]:
    """Costs of each layer (rows) at each weight width in ``bits`` (columns).

    A layer is a GEMM {"M": output rows (tokens or output pixels), "K": inputs per output,
    "N": outputs} with K N weights. Returns float64 arrays (layers x len(bits)):
      "size": K N b / 8 bytes of weights;
      "bops": M N K b act_bits (bit operations, HAWQ-V3's BOPs);
      "latency" (with ``array``): cycles of the GEMM on the array by its cycle model
        (``SystolicArray.cycle_model``). Bit-serial PEs (pe="bit_serial") spend one cycle
        per bit of the stationary operand: the weight width b on "ws", act_bits on "is";
        MAC PEs take the same cycles at every width. pe="term_serial" depends on the
        values, not the width, and is refused (ValueError).
    """
    ab = check_int(act_bits, "act_bits", 1, 32)
    bl = [check_int(b, "bits[i]", 1, 32) for b in bits]
    if not bl:
        raise ValueError("bits must list at least one width")
    if array is not None:
        if not isinstance(array, SystolicArray):
            raise TypeError(f"array must be a SystolicArray, got {type(array).__name__}")
        if array.pe == "term_serial":
            raise ValueError("array.pe='term_serial' has value-dependent cycles; use 'mac' "
                             "or 'bit_serial'")
    size = np.zeros((len(layers), len(bl)))
    bops = np.zeros_like(size)
    lat = np.zeros_like(size)
    for i, layer in enumerate(layers):
        try:
            M, K, N = (check_int(layer[k], f"layers[{i}][{k!r}]", 1) for k in ("M", "K", "N"))
        except KeyError as exc:
            raise ValueError(f"layers[{i}] lacks the key {exc.args[0]!r} (need M, K, N)") from None
        for j, b in enumerate(bl):
            size[i, j] = K * N * b / 8
            bops[i, j] = M * N * K * b * ab
            if array is not None:
                beats = None
                if array.pe == "bit_serial":
                    beats = b if array.dataflow == "ws" else ab
                lat[i, j] = array.cycle_model(M, N, K, beats)
    out = {"size": size, "bops": bops}
    if array is not None:
        out["latency"] = lat
    return out


@dataclass(frozen=True)
class Assignment:
    """A choice of one option per layer: ``choice`` (option index per layer), ``bits``
    (the width of each choice, when widths were given), the total ``sensitivity`` and the
    total of every cost."""

    choice: tuple[int, ...]
    bits: tuple[int, ...] | None
    sensitivity: float
    costs: dict[str, float]


def _table(a: npt.ArrayLike, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    t = float64_array(a, name)
    if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
        raise ValueError(f"{name} must be a nonempty (layers x options) table, got shape {t.shape}")
    if shape is not None and t.shape != shape:
        raise ValueError(f"{name} has shape {t.shape}; the sensitivities have {shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name} must be finite")
    return t


def _assignment(choice: Sequence[int], sens: np.ndarray, costs: Mapping[str, np.ndarray],
                bits: Sequence[int] | None) -> Assignment:
    rows = np.arange(len(choice))
    ch = np.asarray(choice, np.int64)
    return Assignment(tuple(int(c) for c in ch),
                      None if bits is None else tuple(int(bits[c]) for c in ch),
                      float(sens[rows, ch].sum()),
                      {k: float(v[rows, ch].sum()) for k, v in costs.items()})


def select_bits(sensitivity: npt.ArrayLike, costs: Mapping[str, npt.ArrayLike],
                budgets: Mapping[str, float], *, bits: Sequence[int] | None = None) -> Assignment:
    """HAWQ-V3's integer linear program: one option j per layer l (x_lj in {0, 1},
    sum_j x_lj = 1) minimising sum_lj Omega_lj x_lj subject to sum_lj cost_lj x_lj <= budget
    for every budget given, solved exactly by ``scipy.optimize.milp`` (HiGHS).

    sensitivity: (layers x options) table; costs: name -> table of the same shape (e.g.
    ``layer_costs``); budgets: name -> limit, each name a key of costs. bits: the width of
    each option (reported in the result). A budget below the smallest total its cost can
    reach raises ValueError naming the budget and that minimum; budgets that can each be
    met but not together raise ValueError naming them all. The returned assignment meets
    every budget (checked on the exact sums)."""
    from scipy.optimize import LinearConstraint, milp

    sens = _table(sensitivity, "sensitivity")
    L, B = sens.shape
    ct = {str(k): _table(v, f"costs[{k!r}]", sens.shape) for k, v in costs.items()}
    if bits is not None and len(bits) != B:
        raise ValueError(f"bits has {len(bits)} widths; the tables have {B} options")
    lim: dict[str, float] = {}
    for name, value in budgets.items():
        if name not in ct:
            raise ValueError(f"budget {name!r} has no cost table; costs: {sorted(ct)}")
        lim[name] = check_real(value, f"budgets[{name!r}]", finite=True)
        need = float(ct[name].min(axis=1).sum())
        if need > lim[name]:
            raise ValueError(f"budget {name}={lim[name]:g} cannot be met: the smallest total "
                             f"{name} of any assignment is {need:g}")
    n = L * B
    rows = [LinearConstraint(np.kron(np.eye(L), np.ones(B)), 1, 1)]
    for name, value in lim.items():
        rows.append(LinearConstraint(ct[name].reshape(1, n), -np.inf, value))
    r = milp(sens.reshape(-1), constraints=rows, integrality=np.ones(n),
             bounds=(0, 1))
    if r.x is None:
        mins = ", ".join(f"{k}={v:g} (alone needs {ct[k].min(axis=1).sum():g})"
                         for k, v in lim.items())
        raise ValueError(f"budgets {mins} cannot be met together ({r.message})")
    choice = np.argmax(np.round(r.x).reshape(L, B), axis=1)
    out = _assignment(choice, sens, ct, bits)
    for name, value in lim.items():
        if out.costs[name] > value:
            raise ValueError(f"budget {name}={value:g}: the solver's assignment needs "
                             f"{out.costs[name]:g} (tolerance); tighten the cost scale")
    return out


@dataclass(frozen=True)
class ParetoPoint:
    """One point of the frontier: total ``cost``, total ``sensitivity``, the option index
    per layer (``choice``) and its widths (``bits``, when given)."""

    cost: float
    sensitivity: float
    choice: tuple[int, ...]
    bits: tuple[int, ...] | None


def pareto_frontier(sensitivity: npt.ArrayLike, cost: npt.ArrayLike, *,
                    bits: Sequence[int] | None = None) -> list[ParetoPoint]:
    """The exact Pareto frontier of (total cost, total sensitivity) over every assignment
    of one option per layer (HAWQ-V2's frontier): the assignments that no other beats in
    both (ties: the lower cost; at equal cost the lower sensitivity, then the first found).
    Built layer by layer, keeping only non-dominated partial sums (exact: a dominated
    partial sum cannot start a frontier point). Returned sorted by increasing cost with
    strictly decreasing sensitivity."""
    sens = _table(sensitivity, "sensitivity")
    ct = _table(cost, "cost", sens.shape)
    if bits is not None and len(bits) != sens.shape[1]:
        raise ValueError(f"bits has {len(bits)} widths; the tables have {sens.shape[1]} options")
    front: list[tuple[float, float, tuple[int, ...]]] = [(0.0, 0.0, ())]
    for layer in range(sens.shape[0]):
        cand = [(c + ct[layer, j], s + sens[layer, j], ch + (j,))
                for c, s, ch in front for j in range(sens.shape[1])]
        cand.sort(key=lambda t: (t[0], t[1]))
        front = []
        best = math.inf
        for c, s, ch in cand:
            if s < best:
                front.append((c, s, ch))
                best = s
    return [ParetoPoint(float(c), float(s), ch,
                        None if bits is None else tuple(int(bits[j]) for j in ch))
            for c, s, ch in front]

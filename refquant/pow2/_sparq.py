"""SPARQ trimming of 8-bit activations (Shomron et al., NeurIPS 2021, arXiv 2105.11010)
and its exact dot product."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import numpy as np
import numpy.typing as npt

from .. import _deprecate
from .._lazy import kernels
from .._validate import check_bool, norm_axis
from ..modes import Rounding, as_rounding
from ._common import LIMIT, int_values

_k = kernels("pow2")

__all__ = ["SPARQ_WINDOWS", "sparq", "sparq_dot"]

#: The bSPARQ window options and the number of window placements of each.
SPARQ_WINDOWS = {"5opt": 5, "3opt": 3, "2opt": 2}

F = TypeVar("F", bound=Callable[..., Any])


def _bool_rounding(flag: bool) -> Rounding:
    return Rounding.NEAREST_EVEN if flag else Rounding.TOWARD_ZERO


def _old_round(position: int) -> Callable[[F], F]:
    """Serve the deprecated ``round=True/False`` (keyword, or a bool in the position of
    ``rounding``) as rounding=NEAREST_EVEN / TOWARD_ZERO, with a DeprecationWarning."""
    def deco(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            name = func.__name__
            if "round" in kwargs:
                if "rounding" in kwargs:
                    raise TypeError(f"{name}() got both round= (deprecated) and rounding=")
                _deprecate.warn(f"{name}(round=...)", "rounding=Rounding.NEAREST_EVEN or "
                                "Rounding.TOWARD_ZERO")
                kwargs["rounding"] = _bool_rounding(check_bool(kwargs.pop("round"), "round"))
            elif len(args) > position and isinstance(args[position], (bool, np.bool_)):
                _deprecate.warn(f"{name}() with a bool rounding argument",
                                "rounding=Rounding.NEAREST_EVEN or Rounding.TOWARD_ZERO")
                args = args[:position] + (_bool_rounding(bool(args[position])),) + \
                    args[position + 1:]
            elif isinstance(kwargs.get("rounding"), (bool, np.bool_)):
                _deprecate.warn(f"{name}(rounding=True/False)",
                                "rounding=Rounding.NEAREST_EVEN or Rounding.TOWARD_ZERO")
                kwargs["rounding"] = _bool_rounding(bool(kwargs["rounding"]))
            return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return deco


def _sparq_args(values: npt.ArrayLike, window: Any, rounding: Rounding | str, vsparq: Any,
                axis: Any) -> tuple[np.ndarray, int, bool, bool, int]:
    a = int_values(values, "values")
    if a.size and (a.min() < 0 or a.max() > 255):
        raise ValueError("values must be unsigned 8-bit activations (0..255)")
    if not isinstance(window, str) or window not in SPARQ_WINDOWS:
        raise ValueError(f"window={window!r}; allowed: {', '.join(SPARQ_WINDOWS)}")
    mode = as_rounding(rounding)
    if mode not in (Rounding.NEAREST_EVEN, Rounding.TOWARD_ZERO, Rounding.DOWN):
        raise ValueError(f"rounding={mode.name}; SPARQ rounds NEAREST_EVEN or truncates "
                         "(TOWARD_ZERO, the same as DOWN for these non-negative values)")
    vsparq = check_bool(vsparq, "vsparq")
    if a.ndim == 0:
        a = a.reshape(1)
    ax = norm_axis(axis, a.ndim)
    return a, SPARQ_WINDOWS[window], mode == Rounding.NEAREST_EVEN, vsparq, ax


@_old_round(2)
def sparq(values: npt.ArrayLike, window: str = "5opt",
          rounding: Rounding | str = Rounding.NEAREST_EVEN, vsparq: bool = True,
          axis: int = -1) -> np.ndarray:
    """SPARQ trimming of unsigned 8-bit activations (Shomron et al., NeurIPS 2021).

    bSPARQ keeps a 4-bit window placed by the leading one: window '5opt' (masks 0xF0,
    0x78, 0x3C, 0x1E, 0x0F), '3opt' (0xF0, 0x3C, 0x0F) or '2opt' (0xF0, 0x0F), the lowest
    window that holds the leading one. rounding=TOWARD_ZERO (or DOWN) truncates to the
    window; NEAREST_EVEN adds one window LSB when the bit below the window is set and
    (the window LSB or any lower bit) is set (round half to even), and a result equal to
    the next power of two saturates to the mask. vsparq=True pairs consecutive values
    along ``axis`` (the reduction axis): a value whose partner is zero keeps all 8 bits
    (an odd tail pairs with zero). Returns int64 of values' shape."""
    a, opt, rnd, pair, ax = _sparq_args(values, window, rounding, vsparq, axis)
    mv = np.ascontiguousarray(np.moveaxis(a, ax, -1))
    rows = mv.reshape(-1, mv.shape[-1])
    out = np.empty_like(rows)
    _k.sparq_trim(rows, opt, rnd, pair, out)
    return np.moveaxis(out.reshape(mv.shape), -1, ax).reshape(np.shape(values))


@_old_round(3)
def sparq_dot(x: npt.ArrayLike, w: npt.ArrayLike, window: str = "5opt",
              rounding: Rounding | str = Rounding.NEAREST_EVEN,
              vsparq: bool = True) -> np.ndarray:
    """x @ w with SPARQ-trimmed activations: x (R, K) or (K,) unsigned 8-bit, w (K, C) or
    (K,) integers; trimming along K as ``sparq``. Exact int64 (R, C), dimensions of 1-d
    operands dropped; OverflowError when the result could exceed int64."""
    xa, opt, rnd, pair, _ = _sparq_args(x, window, rounding, vsparq, -1)
    wa = int_values(w, "w")
    x1, w1 = xa.ndim == 1, wa.ndim == 1
    xa = xa.reshape(1, -1) if x1 else xa
    wa = wa.reshape(-1, 1) if w1 else wa
    if xa.ndim != 2 or wa.ndim != 2 or xa.shape[1] != wa.shape[0]:
        raise ValueError(f"shapes {np.shape(x)} and {np.shape(w)} do not chain along K")
    if wa.size and float(np.abs(wa).max()) * 255.0 * xa.shape[1] >= LIMIT:
        raise OverflowError("sparq_dot: result may exceed int64")
    out = np.empty((xa.shape[0], wa.shape[1]), np.int64)
    _k.sparq_matmul(np.ascontiguousarray(xa), np.ascontiguousarray(wa), opt, rnd, pair, out)
    if x1:
        out = out[0]
    if w1:
        out = out[..., 0]
    return out

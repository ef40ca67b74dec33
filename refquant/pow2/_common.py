"""Helpers shared by the power-of-two modules: integer operands and the int64
accumulator bound."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validate import int_array

__all__ = ["LIMIT", "check_bound", "int_values"]

#: Exact results must stay below this bound (int64 accumulators with headroom).
LIMIT = 2.0 ** 62


def int_values(x: npt.ArrayLike, param: str) -> np.ndarray:
    """``x`` as an int64 array by value: integer dtypes of any byte order only (TypeError
    for other dtypes; uint64 above 2^63 - 1 raises ValueError)."""
    return int_array(x, param, floats=False)


def check_bound(bound: float, what: str) -> None:
    """OverflowError when an upper bound of an exact result reaches ``LIMIT``."""
    if not bound < LIMIT:
        raise OverflowError(f"{what}: the exact result may exceed the int64 accumulator "
                            f"(bound {bound:.3g} >= 2^62)")

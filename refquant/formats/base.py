"""Transitional: the protocol moved to ``refquant.protocol``, the registry to
``refquant.registry`` and the argument checks to ``refquant._validate``; this module
re-exports them until every family has moved into its package."""
from __future__ import annotations

import numpy as np

from ..protocol import Format
from ..registry import as_format, format, formats, register, register_pattern
from .._validate import native

__all__ = ["Format", "register", "register_pattern", "format", "formats", "as_format",
           "check_int", "native_order"]


def check_int(value, lo, hi, param):
    """``value`` as a Python int, or TypeError (not an int; bool is refused) / ValueError
    (outside lo..hi) naming ``param`` and the allowed range."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{param} must be an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{param}={value} out of range; allowed {lo}..{hi}")
    return int(value)


def native_order(a, param="codes") -> np.ndarray:
    """``refquant._validate.native``."""
    return native(a, param)

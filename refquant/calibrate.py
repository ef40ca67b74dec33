"""Calibration: choosing the clipping range [lo, hi] that a scale is derived from.

Every method works per group: ``group_range(table, method, symmetric, fmt)`` takes a 2-D
table whose rows are the groups (per tensor: one row; per axis: one row per index; per
block: one row per block, NaN-padded) and returns (lo, hi) arrays with one entry per row.
Symmetric methods return lo = -hi.
"""
from __future__ import annotations

import numpy as np

__all__ = ["group_range", "minmax", "percentile", "METHODS"]


def minmax(table, symmetric=True, fmt=None):
    """lo = min, hi = max of each row (NaN ignored; an all-NaN row gives 0, 0).
    Symmetric: hi = max|x|, lo = -hi."""
    t = np.asarray(table, dtype=np.float64)
    if symmetric:
        hi = _nanmax(np.abs(t))
        return -hi, hi
    return -_nanmax(-t), _nanmax(t)


def percentile(table, symmetric=True, fmt=None, percentile=99.99):
    """Clip at a percentile: symmetric: hi = the ``percentile`` of |x| per row (NumPy's
    linear interpolation), lo = -hi; asymmetric: lo and hi are the (100 - p) and p
    percentiles of x. ``percentile`` in (0, 100]."""
    p = float(percentile)
    if not 0.0 < p <= 100.0:
        raise ValueError(f"percentile={percentile!r} out of range; allowed (0, 100]")
    t = np.asarray(table, dtype=np.float64)
    empty = np.all(np.isnan(t), axis=1)
    t = np.where(empty[:, None], 0.0, t)
    if symmetric:
        hi = np.nanpercentile(np.abs(t), p, axis=1)
        return -hi, hi
    return np.nanpercentile(t, 100.0 - p, axis=1), np.nanpercentile(t, p, axis=1)


def _nanmax(t):
    t = np.where(np.isnan(t), -np.inf, t)
    m = t.max(axis=1) if t.shape[1] else np.full(t.shape[0], -np.inf)
    return np.where(np.isfinite(m), m, 0.0)


METHODS = {"minmax": minmax, "percentile": percentile}


def group_range(table, method="minmax", *, symmetric=True, fmt=None, **options):
    """(lo, hi) per row of ``table`` by ``method`` (a name in METHODS or a callable
    ``f(table, symmetric, fmt, **options) -> (lo, hi)``)."""
    if callable(method):
        f = method
    else:
        if method not in METHODS:
            raise ValueError(f"calibration={method!r}; allowed: {', '.join(METHODS)}")
        f = METHODS[method]
    lo, hi = f(np.asarray(table, dtype=np.float64), symmetric, fmt, **options)
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (len(table),))
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (len(table),))
    return lo, hi

"""The grouped views that scaling shares: a tensor seen as (P, D, Q) around an axis, its
groups (one per tensor, per index of the axis, or per block of ``block_size`` along it)
and the broadcast of per-group arrays over the view."""
from __future__ import annotations

import math

import numpy as np

from ._validate import check_int

__all__ = ["GRANULARITIES", "check_block_size", "view", "group_broadcast",
           "group_table", "user_shape"]

GRANULARITIES = ("tensor", "axis", "block")


def check_block_size(block_size):
    """block_size as an int >= 1 (TypeError for other types, None and bool included;
    ValueError below 1). Blocks longer than their axis are one block per row."""
    return check_int(block_size, "block_size", 1)


def view(shape, granularity, axis, block):
    """(P, D, Q) view, block length along D, and the (Ps, nb, Qs) group shape."""
    if granularity == "tensor":
        n = math.prod(shape)
        return (1, n, 1), max(n, 1), (1, 1, 1)
    P = math.prod(shape[:axis])
    D = shape[axis]
    Q = math.prod(shape[axis + 1:])
    if granularity == "axis":
        return (P, D, Q), 1, (1, D, 1)
    nb = -(-D // block)
    return (P, D, Q), block, (P, nb, Q)


def group_table(x3, block, gshape):
    """Rows = groups in (Ps, nb, Qs) order, columns = members, padded with NaN. A block
    longer than the axis is one block of the axis' length (no padding)."""
    P, D, Q = x3.shape
    Ps, nb, Qs = gshape
    if gshape == (1, 1, 1):
        return x3.reshape(1, -1)
    if Ps == 1 and Qs == 1 and block == 1:  # per axis
        return np.moveaxis(x3, 1, 0).reshape(D, P * Q)
    block = min(block, max(D, 1))
    pad = nb * block - D
    if pad:
        x3 = np.concatenate([x3, np.full((P, pad, Q), np.nan, dtype=x3.dtype)], axis=1)
    t = x3.reshape(P, nb, block, Q).transpose(0, 1, 3, 2)
    return t.reshape(P * nb * Q, block)


def user_shape(shape, granularity, axis, block):
    if granularity == "tensor":
        return ()
    if granularity == "axis":
        return (shape[axis],)
    return tuple(-(-d // block) if i == axis else d for i, d in enumerate(shape))


def group_broadcast(g3, view, block):
    """The per-group array g3 (Ps, nb, Qs) broadcast over the (P, D, Q) view with blocks of
    ``block`` along D (a read-only view; ``block`` >= D means one block)."""
    P, D, Q = view
    b = int(min(block, max(D, 1)))
    return np.broadcast_to(np.repeat(g3, b, axis=1)[:, :D, :], view)

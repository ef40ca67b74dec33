"""Pruning keep-masks (magnitude, global, structured, block) and the gradual pruning
schedule of Zhu & Gupta."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._deprecate import renamed_kwargs
from .._validate import check_int, check_real, native, norm_axis
from ._common import check_block_size

__all__ = ["magnitude_prune", "global_magnitude_prune", "structured_prune", "block_prune",
           "gradual_sparsity"]

NORMS = ("l1", "l2")


def _check_sparsity(s: Any, name: str = "sparsity") -> float:
    s = check_real(s, name)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"{name}={s}; allowed 0 <= {name} <= 1")
    return s


def _real(w: Any, name: str = "w") -> tuple[np.ndarray, np.ndarray]:
    wa = np.asarray(w)
    if wa.dtype.kind not in "iubf":
        raise TypeError(f"{name} must be real, got dtype {wa.dtype}")
    a = np.abs(wa.astype(np.float64))
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN; magnitudes must be comparable")
    return wa, a


def _keep_top(scores: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean mask over a 1-d score array: keep all but the floor(s * c) lowest-ranked
    (rank: score descending, ties to the lower index)."""
    c = scores.size
    n_prune = int(np.floor(sparsity * c))
    order = np.argsort(-scores, kind="stable")
    keep = np.zeros(c, dtype=bool)
    keep[order[:c - n_prune]] = True
    return keep


def magnitude_prune(w: npt.ArrayLike, sparsity: float) -> np.ndarray:
    """Keep-mask (True = keep) of w, same shape, pruning the floor(sparsity * w.size)
    smallest |w| (unstructured magnitude pruning, Han et al. 2015).

    Every pruning function here prunes a count, not a threshold: pruning a fraction s of
    c candidates removes floor(s * c) of them (exactly that many, whatever the ties).
    Candidates are ranked by magnitude (or norm) descending, ties to the lower flat
    index; the top c - floor(s * c) are kept. Magnitudes are float64 |w|; NaN is
    rejected."""
    wa, a = _real(w)
    return _keep_top(a.reshape(-1), _check_sparsity(sparsity)).reshape(wa.shape)


def global_magnitude_prune(weights: Iterable[npt.ArrayLike],
                           sparsity: float) -> list[np.ndarray]:
    """Keep-masks for a list of arrays ranked together: floor(sparsity * total size)
    smallest magnitudes across all layers are pruned (ties: earlier layer, then lower
    flat index, kept first; see ``magnitude_prune``)."""
    if isinstance(weights, np.ndarray) or isinstance(weights, (str, bytes)):
        raise TypeError("weights must be a non-empty list of arrays")
    try:
        layers = list(weights)
    except TypeError:
        raise TypeError(f"weights must be a non-empty list of arrays, got "
                        f"{type(weights).__name__}") from None
    if not layers:
        raise TypeError("weights must be a non-empty list of arrays")
    mags = [_real(w, f"weights[{i}]")[1] for i, w in enumerate(layers)]
    keep = _keep_top(np.concatenate([m.reshape(-1) for m in mags]), _check_sparsity(sparsity))
    out, start = [], 0
    for m in mags:
        out.append(keep[start:start + m.size].reshape(m.shape))
        start += m.size
    return out


def _norm(a: np.ndarray, axes: Any, norm: Any) -> np.ndarray:
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r}; allowed: {', '.join(NORMS)}")
    if norm == "l1":
        return a.sum(axis=axes)
    return np.sqrt((a * a).sum(axis=axes))


def structured_prune(w: npt.ArrayLike, sparsity: float, axis: int = 0,
                     norm: str = "l1") -> np.ndarray:
    """Keep-mask (w's shape) removing whole slices along ``axis`` (0: filters, 1: input
    channels of a conv weight (out, in, kh, kw) or linear weight (out, in)): the
    floor(sparsity * w.shape[axis]) slices of smallest L1 / L2 norm (float64) go (Li et
    al. 2017 rank filters by L1; counts and ties as ``magnitude_prune``)."""
    wa, a = _real(w)
    if wa.ndim < 1:
        raise ValueError("w must have at least one axis")
    ax = norm_axis(axis, wa.ndim)
    other = tuple(i for i in range(wa.ndim) if i != ax)
    keep = _keep_top(_norm(a, other, norm), _check_sparsity(sparsity))
    shape = [1] * wa.ndim
    shape[ax] = wa.shape[ax]
    return np.broadcast_to(keep.reshape(shape), wa.shape).copy()


@renamed_kwargs(blocksize="block_size")
def block_prune(w: npt.ArrayLike, sparsity: float, block_size: tuple[int, int],
                norm: str = "l1") -> np.ndarray:
    """Keep-mask of a 2-d w removing the floor(sparsity * number of blocks) (R, C)
    blocks (block_size = (R, C), dividing w's shape) of smallest L1 / L2 norm; blocks
    ranked in row-major block order on ties (counts as ``magnitude_prune``). BSR stores
    the result."""
    wa, a = _real(w)
    if wa.ndim != 2:
        raise ValueError(f"w must be 2-d, got {wa.ndim} dimensions")
    R, C = check_block_size(block_size, wa.shape)
    nbr, nbc = wa.shape[0] // R, wa.shape[1] // C
    blocks = a.reshape(nbr, R, nbc, C)
    keep = _keep_top(_norm(blocks, (1, 3), norm).reshape(-1), _check_sparsity(sparsity))
    keep = keep.reshape(nbr, 1, nbc, 1)
    return np.broadcast_to(keep, (nbr, R, nbc, C)).reshape(wa.shape).copy()


def gradual_sparsity(t: npt.ArrayLike, s_i: float = 0.0, s_f: float = 0.9, t0: int = 0,
                     n: int = 100, dt: int = 1) -> np.ndarray | float:
    """Zhu & Gupta's target sparsity ("To prune, or not to prune", arXiv 1710.01878)
    s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3 at training step(s) t (scalar or
    array), n the number of pruning steps:
    s_i before t0; s_f from t0 + n*dt on; in between the value at the last pruning step
    t0 + j*dt <= t (the mask is updated every dt steps), i.e.
    s_f + (s_i - s_f) * (1 - j / n)^3 with j = floor((t - t0) / dt), evaluated in that
    order in float64; j = 0 and j = n return s_i and s_f exactly. t (any integer dtype)
    and t0 (any int) are taken by value: no step wraps around. n * dt <= 2**62."""
    n = check_int(n, "n", lo=1)
    dt = check_int(dt, "dt", lo=1)
    if n * dt > 2 ** 62:
        raise ValueError(f"n * dt = {n * dt}; allowed n * dt <= 2**62")
    t0 = check_int(t0, "t0")
    s_i = _check_sparsity(s_i, "s_i")
    s_f = _check_sparsity(s_f, "s_f")
    ta = np.asarray(t)
    if ta.dtype.kind not in "iu":
        raise TypeError(f"t must be integer training steps, got dtype {ta.dtype}")
    j = _steps(ta, t0, n, dt)
    s = np.where(j == 0, s_i, np.where(j == n, s_f, s_f + (s_i - s_f) * (1.0 - j / n) ** 3))
    return s if s.ndim else float(s)


def _steps(t: np.ndarray, t0: int, n: int, dt: int) -> np.ndarray:
    """j = clip(floor((t - t0) / dt), 0, n) exactly for any integer t and t0: t is first
    clipped (in its own dtype) to [t0 - dt, t0 + n dt], which leaves j unchanged and
    keeps t - t0 within [-dt, n dt]; that difference is then formed modulo 2^64, exact
    because it fits int64."""
    info = np.iinfo(t.dtype)
    lo, hi = t0 - dt, t0 + n * dt
    if lo > info.max:
        return np.zeros(t.shape, dtype=np.int64)
    if hi < info.min:
        return np.full(t.shape, n, dtype=np.int64)
    t1 = native(t).reshape(-1)          # 1-d: array arithmetic wraps without warnings
    tc = np.clip(t1, t.dtype.type(max(lo, info.min)), t.dtype.type(min(hi, info.max)))
    d = (tc.astype(np.uint64) - np.full(tc.shape, t0 % 2 ** 64, np.uint64)).astype(np.int64)
    return np.clip(np.floor_divide(d, dt), 0, n).reshape(t.shape)
